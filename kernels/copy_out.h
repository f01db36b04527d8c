// Rows of floats copied out by a kernel's stores rather than by the copy engines: a decoding
// step's logits to pinned host memory (which the card addresses directly). In a step's graph a
// copy-engine copy of 256 KB took ~22 us of the card's time and made the graph's launch dearer
// (twentieth session, H200); stores from the SMs cost the transfer and one hand-off.
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

} // namespace gander::kernels
