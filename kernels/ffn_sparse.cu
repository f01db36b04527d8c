// Sparse FFN value projection (see ffn_sparse.h).
//
// Layout: blocks (f-chunk of 256 rows, c-chunk of 1,024 columns), 256 threads. The block first
// lists the non-zero h of its chunk in shared memory (warp ballots, in row order), then each
// thread streams 8 bytes (4 columns) of every listed row, 16 rows in flight, accumulating in
// registers; its 4 sums go to partial[f-chunk][c]. A second pass adds the f-chunks' partials to y
// in a fixed order (deterministic, no atomics). Bytes: (non-zero rows) x C x 2 of Wt, h once,
// partial written and read once (F / 256 x C x 4 x 2; 2 MB on the 7.2B shape).
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/ffn_sparse.h"

namespace gander::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kCols = 4 * kThreads; // columns per block
constexpr int kInFlight = 16;

__global__ void __launch_bounds__(kThreads)
    sparse_rows_kernel(const __half* h, const __half* Wt, int F, int C, float* partial,
                       bool dense, unsigned long long* counts) {
    __shared__ int rows[kSparseRowsPerBlock];
    __shared__ float vals[kSparseRowsPerBlock];
    __shared__ int warp_count[kThreads / 32];
    const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
    const int f0 = blockIdx.x * kSparseRowsPerBlock;
    const int f = f0 + t;
    const __half hv = f < F ? h[f] : __float2half(0.0f);
    const float hf = __half2float(hv);
    const bool keep = f < F && (dense || hf != 0.0f);
    const unsigned ballot = __ballot_sync(0xffffffffu, keep);
    if (lane == 0) warp_count[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, n = 0;
#pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) {
        before += w < warp ? warp_count[w] : 0;
        n += warp_count[w];
    }
    if (counts && blockIdx.y == 0) { // one warp-level tally per warp of the first column block
        const unsigned nz = __ballot_sync(0xffffffffu, f < F && hf != 0.0f);
        const unsigned in = __ballot_sync(0xffffffffu, f < F);
        if (lane == 0 && in) {
            atomicAdd(counts, (unsigned long long)__popc(nz));
            atomicAdd(counts + 1, (unsigned long long)__popc(in));
        }
    }
    if (keep) {
        const int pos = before + __popc(ballot & ((1u << lane) - 1u));
        rows[pos] = f;
        vals[pos] = hf;
    }
    __syncthreads();

    const int c = blockIdx.y * kCols + 4 * t;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (c < C) {
        for (int i = 0; i < n; i += kInFlight) {
            uint2 w[kInFlight];
#pragma unroll
            for (int u = 0; u < kInFlight; ++u)
                if (i + u < n)
                    w[u] = __ldcs(reinterpret_cast<const uint2*>(Wt + std::size_t(rows[i + u]) * C + c));
#pragma unroll
            for (int u = 0; u < kInFlight; ++u) {
                if (i + u < n) {
                    const float v = vals[i + u];
                    const __half2* p = reinterpret_cast<const __half2*>(&w[u]);
                    const float2 a = __half22float2(p[0]), b = __half22float2(p[1]);
                    acc[0] = fmaf(v, a.x, acc[0]);
                    acc[1] = fmaf(v, a.y, acc[1]);
                    acc[2] = fmaf(v, b.x, acc[2]);
                    acc[3] = fmaf(v, b.y, acc[3]);
                }
            }
        }
        *reinterpret_cast<float4*>(partial + std::size_t(blockIdx.x) * C + c) =
            make_float4(acc[0], acc[1], acc[2], acc[3]);
    }
}

__global__ void add_partials_kernel(const float* partial, int chunks, int C, float* y) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float s = 0.0f;
    for (int b = 0; b < chunks; ++b) s += partial[std::size_t(b) * C + c];
    y[c] += s;
}

int chunks_of(int F) {
    return (F + kSparseRowsPerBlock - 1) / kSparseRowsPerBlock;
}

} // namespace

std::size_t ffn_value_sparse_scratch(int F, int C) {
    return std::size_t(chunks_of(F)) * std::size_t(C) * sizeof(float);
}

cudaError_t ffn_value_sparse(const __half* h, const __half* Wt, int F, int C, float* y,
                             float* partial, bool dense, cudaStream_t stream,
                             unsigned long long* counts) {
    if (!h || !Wt || !y || !partial || F < 1 || C < 4 || C % 4 != 0 ||
        (reinterpret_cast<std::uintptr_t>(Wt) & 7))
        return cudaErrorInvalidValue;
    const dim3 grid(unsigned(chunks_of(F)), unsigned((C + kCols - 1) / kCols));
    sparse_rows_kernel<<<grid, kThreads, 0, stream>>>(h, Wt, F, C, partial, dense, counts);
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    add_partials_kernel<<<(C + 255) / 256, 256, 0, stream>>>(partial, chunks_of(F), C, y);
    return cudaGetLastError();
}

} // namespace gander::kernels
