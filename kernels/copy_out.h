// Rows of floats copied out by a kernel's stores rather than by the copy engines: the logits of a
// decoding step, or of a batched step's sessions in one launch, to pinned host memory (which the
// card addresses directly). Measured on an H200 (twentieth session): ~6 us of the card's time for
// a step's 256 KB against the copy engine's ~10, and a batched step of 32 sessions +1-3 % (one
// launch instead of 32 copies).
#pragma once

#include <cuda_runtime.h>

namespace gander::kernels {

constexpr int kMaxRowsOut = 64;

// dst[r]: where row r goes (pinned host memory, or the card's); rows <= kMaxRowsOut.
struct RowsOut {
    float* dst[kMaxRowsOut];
    int rows;
};

// out.dst[r][i] = src[r * n + i] for i < n, r < out.rows. Rows of a multiple of 4 floats at 16-byte
// aligned addresses go 16 bytes a store; any others one float at a time.
cudaError_t copy_rows_out(const float* src, long long n, const RowsOut& out, cudaStream_t stream);

// One row: dst[i] = src[i] for i < n.
inline cudaError_t copy_row_out(const float* src, long long n, float* dst, cudaStream_t stream) {
    RowsOut out{};
    out.dst[0] = dst;
    out.rows = 1;
    return copy_rows_out(src, n, out, stream);
}

} // namespace gander::kernels
