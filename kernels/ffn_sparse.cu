// Sparse FFN value projection (see ffn_sparse.h).
//
// Layout: blocks (f-chunk of 256 rows, c-chunk of 1,024 fp16 or 2,048 int8 columns), 256
// threads. The block first lists the non-zero h of its chunk in shared memory (warp ballots, in
// row order), then each thread streams 8 bytes (4 fp16 or 8 int8 columns) of every listed row, 16
// rows in flight, accumulating in registers; its sums go to partial[f-chunk][c] (int8: before the
// column scale, which the second pass applies). A second pass adds the f-chunks' partials to y
// in a fixed order (deterministic, no atomics). Bytes: (non-zero rows) x C x 2 of Wt, h once,
// partial written and read once (F / 256 x C x 4 x 2; 2 MB on the 7.2B shape).
#include <algorithm>
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/ffn_sparse.h"

namespace gander::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kInFlight = 16;

// Columns per thread: fp16 4 (8 bytes), int8 8 (8 bytes). Rows per block: int8 takes half as
// many, so that its launch (each block twice as wide) still has ~2 blocks per SM in flight: with
// 256 rows it streamed at 58 % of the copy bandwidth in dense mode (H100), 1 block per SM.
template <bool kI8> constexpr int kVals = kI8 ? 8 : 4;
template <bool kI8> constexpr int kRows = kI8 ? kSparseRowsPerBlock / 2 : kSparseRowsPerBlock;

// int8 -> fp32 without the int-to-float unit (an eighth of the fp32 rate): the byte, offset by 128,
// becomes the low mantissa bits of 2^23; subtracting 2^23 + 128 leaves the value, exactly.
__device__ __forceinline__ float i8_at(std::uint32_t offset_word, int b) {
    return __uint_as_float(__byte_perm(offset_word, 0x4B000000u, 0x7650u | unsigned(b))) -
           8388736.0f;
}

template <bool kI8>
__global__ void __launch_bounds__(kThreads)
    sparse_rows_kernel(const __half* h, const void* Wt, int F, int C, float* partial, bool dense,
                       unsigned long long* counts) {
    constexpr int V = kVals<kI8>;
    __shared__ int rows[kSparseRowsPerBlock];
    __shared__ float vals[kSparseRowsPerBlock];
    __shared__ int warp_count[kThreads / 32];
    const int t = threadIdx.x, lane = t & 31, warp = t >> 5;
    const int f0 = blockIdx.x * kRows<kI8>;
    const int f = f0 + t;
    const bool mine = t < kRows<kI8> && f < F; // threads past the block's rows only stream
    const __half hv = mine ? h[f] : __float2half(0.0f);
    const float hf = __half2float(hv);
    const bool keep = mine && (dense || hf != 0.0f);
    const unsigned ballot = __ballot_sync(0xffffffffu, keep);
    if (lane == 0) warp_count[warp] = __popc(ballot);
    if (counts && blockIdx.y == 0) { // one warp-level tally per warp of the first column block
        const unsigned nz = __ballot_sync(0xffffffffu, mine && hf != 0.0f);
        const unsigned in = __ballot_sync(0xffffffffu, mine);
        if (lane == 0 && in) {
            atomicAdd(counts, (unsigned long long)__popc(nz));
            atomicAdd(counts + 1, (unsigned long long)__popc(in));
        }
    }
    __syncthreads();
    int before = 0, n = 0;
#pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) {
        before += w < warp ? warp_count[w] : 0;
        n += warp_count[w];
    }
    if (keep) {
        const int pos = before + __popc(ballot & ((1u << lane) - 1u));
        rows[pos] = f;
        vals[pos] = hf;
    }
    __syncthreads();

    const int c = blockIdx.y * (V * kThreads) + V * t;
    float acc[V];
#pragma unroll
    for (int i = 0; i < V; ++i) acc[i] = 0.0f;
    if (c < C) {
        const std::size_t row_bytes = std::size_t(C) * (kI8 ? 1 : 2);
        const auto* base = static_cast<const std::uint8_t*>(Wt) + std::size_t(c) * (kI8 ? 1 : 2);
        for (int i = 0; i < n; i += kInFlight) {
            uint2 w[kInFlight];
#pragma unroll
            for (int u = 0; u < kInFlight; ++u)
                if (i + u < n)
                    w[u] = __ldcs(reinterpret_cast<const uint2*>(base + std::size_t(rows[i + u]) * row_bytes));
#pragma unroll
            for (int u = 0; u < kInFlight; ++u) {
                if (i + u < n) {
                    const float v = vals[i + u];
                    if constexpr (kI8) {
                        const std::uint32_t lo = w[u].x ^ 0x80808080u, hi = w[u].y ^ 0x80808080u;
#pragma unroll
                        for (int b = 0; b < 4; ++b) {
                            acc[b] = fmaf(v, i8_at(lo, b), acc[b]);
                            acc[4 + b] = fmaf(v, i8_at(hi, b), acc[4 + b]);
                        }
                    } else {
                        const __half2* p = reinterpret_cast<const __half2*>(&w[u]);
                        const float2 a = __half22float2(p[0]), b = __half22float2(p[1]);
                        acc[0] = fmaf(v, a.x, acc[0]);
                        acc[1] = fmaf(v, a.y, acc[1]);
                        acc[2] = fmaf(v, b.x, acc[2]);
                        acc[3] = fmaf(v, b.y, acc[3]);
                    }
                }
            }
        }
        float* out = partial + std::size_t(blockIdx.x) * C + c;
#pragma unroll
        for (int i = 0; i < V; i += 4)
            *reinterpret_cast<float4*>(out + i) = make_float4(acc[i], acc[i + 1], acc[i + 2], acc[i + 3]);
    }
}

__global__ void add_partials_kernel(const float* partial, int chunks, int C, const __half* scales,
                                    float* y) {
    const int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float s = 0.0f;
    for (int b = 0; b < chunks; ++b) s += partial[std::size_t(b) * C + c];
    y[c] += scales ? s * __half2float(scales[c]) : s;
}

__global__ void transpose_bytes_kernel(const std::uint8_t* in, int rows, int cols,
                                       std::uint8_t* out) {
    __shared__ std::uint8_t tile[32][33];
    const int c = blockIdx.x * 32 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        const int r = blockIdx.y * 32 + j;
        if (r < rows && c < cols) tile[j][threadIdx.x] = in[std::size_t(r) * cols + c];
    }
    __syncthreads();
    const int r = blockIdx.y * 32 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        const int cc = blockIdx.x * 32 + j;
        if (cc < cols && r < rows) out[std::size_t(cc) * rows + r] = tile[threadIdx.x][j];
    }
}

__global__ void dequantize_cols_kernel(const std::int8_t* Wt, const __half* scales, int F, int C,
                                       __half* out) {
    const std::size_t n = std::size_t(F) * C;
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x)
        out[i] = __float2half_rn(float(Wt[i]) * __half2float(scales[i % C]));
}

template <bool kI8> int chunks_of(int F) {
    return (F + kRows<kI8> - 1) / kRows<kI8>;
}

template <bool kI8>
cudaError_t launch_sparse(const __half* h, const void* Wt, const __half* scales, int F, int C,
                          float* y, float* partial, bool dense, cudaStream_t stream,
                          unsigned long long* counts) {
    constexpr int V = kVals<kI8>;
    if (!h || !Wt || !y || !partial || F < 1 || C < V || C % V != 0 ||
        (reinterpret_cast<std::uintptr_t>(Wt) & 7) || (kI8 && !scales))
        return cudaErrorInvalidValue;
    const dim3 grid(unsigned(chunks_of<kI8>(F)),
                    unsigned((C + V * kThreads - 1) / (V * kThreads)));
    sparse_rows_kernel<kI8><<<grid, kThreads, 0, stream>>>(h, Wt, F, C, partial, dense, counts);
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    add_partials_kernel<<<(C + 255) / 256, 256, 0, stream>>>(partial, chunks_of<kI8>(F), C,
                                                             kI8 ? scales : nullptr, y);
    return cudaGetLastError();
}

} // namespace

std::size_t ffn_value_sparse_scratch(int F, int C) {
    return std::size_t(chunks_of<true>(F)) * std::size_t(C) * sizeof(float); // the larger
}

cudaError_t ffn_value_sparse(const __half* h, const __half* Wt, int F, int C, float* y,
                             float* partial, bool dense, cudaStream_t stream,
                             unsigned long long* counts) {
    return launch_sparse<false>(h, Wt, nullptr, F, C, y, partial, dense, stream, counts);
}

cudaError_t ffn_value_sparse_i8(const __half* h, const std::int8_t* Wt, const __half* scales, int F,
                                int C, float* y, float* partial, bool dense, cudaStream_t stream,
                                unsigned long long* counts) {
    return launch_sparse<true>(h, Wt, scales, F, C, y, partial, dense, stream, counts);
}

cudaError_t transpose_bytes(const std::uint8_t* in, int rows, int cols, std::uint8_t* out,
                            cudaStream_t stream) {
    if (!in || !out || rows < 1 || cols < 1) return cudaErrorInvalidValue;
    const dim3 grid(unsigned((cols + 31) / 32), unsigned((rows + 31) / 32));
    transpose_bytes_kernel<<<grid, dim3(32, 8), 0, stream>>>(in, rows, cols, out);
    return cudaGetLastError();
}

cudaError_t dequantize_cols_i8(const std::int8_t* Wt, const __half* scales, int F, int C,
                               __half* out, cudaStream_t stream) {
    if (!Wt || !scales || !out || F < 1 || C < 1) return cudaErrorInvalidValue;
    const std::size_t n = std::size_t(F) * C;
    const int blocks = int(std::min<std::size_t>((n + 255) / 256, 65535));
    dequantize_cols_kernel<<<blocks, 256, 0, stream>>>(Wt, scales, F, C, out);
    return cudaGetLastError();
}

} // namespace gander::kernels
