// Rows copied out by stores (see copy_out.h).
#include <cstdint>

#include "kernels/copy_out.h"

namespace gander::kernels {
namespace {

constexpr int kThreads = 256;

// Block (x, r) copies a grid-stride share of row r; kVec: 16 bytes a store.
template <bool kVec>
__global__ void __launch_bounds__(kThreads)
    copy_rows_out_kernel(const float* src, long long n, const __grid_constant__ RowsOut out) {
    const int r = int(blockIdx.y);
    const float* s = src + r * n;
    float* d = out.dst[r];
    const long long stride = (long long)gridDim.x * kThreads;
    long long i = (long long)blockIdx.x * kThreads + threadIdx.x;
    if constexpr (kVec) {
        const auto* s4 = reinterpret_cast<const float4*>(s);
        auto* d4 = reinterpret_cast<float4*>(d);
        for (; i < n / 4; i += stride) d4[i] = s4[i];
    } else {
        for (; i < n; i += stride) d[i] = s[i];
    }
}

bool aligned16(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

} // namespace

cudaError_t copy_rows_out(const float* src, long long n, const RowsOut& out, cudaStream_t stream) {
    if (n < 0 || out.rows < 0 || out.rows > kMaxRowsOut || (n > 0 && out.rows > 0 && !src))
        return cudaErrorInvalidValue;
    if (n == 0 || out.rows == 0) return cudaSuccess;
    bool vec = n % 4 == 0 && aligned16(src);
    for (int r = 0; r < out.rows; ++r) {
        if (!out.dst[r]) return cudaErrorInvalidValue;
        vec = vec && aligned16(out.dst[r]);
    }
    // A row of 65,536 floats in 16 blocks of 256 threads, four 16-byte stores a thread: enough
    // stores in flight for the link, few blocks for a step of 64 rows.
    const long long units = vec ? n / 4 : n;
    const long long per_block = 4LL * kThreads;
    const dim3 grid(unsigned((units + per_block - 1) / per_block), unsigned(out.rows));
    if (vec)
        copy_rows_out_kernel<true><<<grid, kThreads, 0, stream>>>(src, n, out);
    else
        copy_rows_out_kernel<false><<<grid, kThreads, 0, stream>>>(src, n, out);
    return cudaGetLastError();
}

} // namespace gander::kernels
