// Quantized matrix-vector products and row dequantisation (see gemv_quant.h).
//
// gemv_quant: one warp per output row, rows of all jobs in one grid-stride range. On the vector
// path (cols a multiple of 32, rows 16-byte aligned) a lane reads 16 bytes of W per step: 16 int8
// weights (one row scale, applied once at the end) or 32 int4 weights (half a group: one scale per
// load), and the matching 32 or 64 bytes of fp16 x from cache; 4 loads are issued before use.
// Bytes per launch: sum of rows x cols (int8) or rows x cols / 2 + rows x cols / 32 (int4, scales)
// + outputs; x comes from L1/L2.
#include <algorithm>
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/gemv_quant.h"

namespace gander::kernels {
namespace {

using detail::unpack8;
using detail::warp_sum;

constexpr int kWarps = 8;
constexpr int kInFlight = 4;

struct Params {
    QGemvJob jobs[kMaxGemvJobs];
    int row_start[kMaxGemvJobs + 1];
    int n_jobs;
};

__device__ __forceinline__ uint4 load_stream(const std::uint8_t* p) {
    return __ldcs(reinterpret_cast<const uint4*>(p));
}

__device__ __forceinline__ float dot16_i8(const uint4& w, const __half* x) {
    float xf[16];
    unpack8(__ldg(reinterpret_cast<const uint4*>(x)), xf);
    unpack8(__ldg(reinterpret_cast<const uint4*>(x + 8)), xf + 8);
    const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
    float a = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k)
#pragma unroll
        for (int b = 0; b < 4; ++b)
            a = fmaf(float(std::int8_t(words[k] >> (8 * b))), xf[4 * k + b], a);
    return a;
}

__device__ __forceinline__ float dot32_i4(const uint4& w, const __half* x) {
    const std::uint32_t words[4] = {w.x, w.y, w.z, w.w};
    float a = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        float xf[8];
        unpack8(__ldg(reinterpret_cast<const uint4*>(x + 8 * k)), xf);
#pragma unroll
        for (int n = 0; n < 8; ++n) a = fmaf(float(int((words[k] >> (4 * n)) & 15u) - 8), xf[n], a);
    }
    return a;
}

__device__ __forceinline__ float weight_at(const QGemvJob& job, int row, int c) {
    if (job.kind == QuantKind::Int8Row) {
        const auto q = std::int8_t(job.W[std::size_t(row) * job.cols + c]);
        return float(q) * __half2float(job.scales[row]);
    }
    const std::size_t row_bytes = std::size_t(job.cols + 1) / 2;
    const std::uint8_t b = job.W[std::size_t(row) * row_bytes + c / 2];
    const int q = int(c & 1 ? b >> 4 : b & 15) - 8;
    const int groups = (job.cols + 63) / 64;
    return float(q) * __half2float(job.scales[std::size_t(row) * groups + c / 64]);
}

__global__ void __launch_bounds__(32 * kWarps) gemv_quant_kernel(Params p) {
    GANDER_TRACE_BLOCK(GemvQuant);
    detail::grid_dep_begin(); // launched with launch_pdl (common.cuh)
    const int lane = threadIdx.x & 31;
    const int total = p.row_start[p.n_jobs];
    const int n_warps = gridDim.x * kWarps;
    for (int gw = blockIdx.x * kWarps + (threadIdx.x >> 5); gw < total; gw += n_warps) {
        int j = 0;
        while (gw >= p.row_start[j + 1]) ++j;
        const QGemvJob& job = p.jobs[j];
        const int row = gw - p.row_start[j];
        const int cols = job.cols;
        float acc = 0.0f;
        if ((cols & 31) == 0 && job.kind == QuantKind::Int8Row) {
            const std::uint8_t* w = job.W + std::size_t(row) * cols;
            int c = lane * 16;
            for (; c + (kInFlight - 1) * 512 < cols; c += kInFlight * 512) {
                uint4 wv[kInFlight];
#pragma unroll
                for (int u = 0; u < kInFlight; ++u) wv[u] = load_stream(w + c + u * 512);
#pragma unroll
                for (int u = 0; u < kInFlight; ++u) acc += dot16_i8(wv[u], job.x + c + u * 512);
            }
            for (; c < cols; c += 512) acc += dot16_i8(load_stream(w + c), job.x + c);
            acc *= __half2float(job.scales[row]);
        } else if ((cols & 63) == 0 && job.kind == QuantKind::Int4G64) {
            const std::uint8_t* w = job.W + std::size_t(row) * (cols / 2);
            const __half* s = job.scales + std::size_t(row) * (cols / 64);
            int c = lane * 32; // values; bytes at c / 2
            for (; c + (kInFlight - 1) * 1024 < cols; c += kInFlight * 1024) {
                uint4 wv[kInFlight];
#pragma unroll
                for (int u = 0; u < kInFlight; ++u) wv[u] = load_stream(w + (c + u * 1024) / 2);
#pragma unroll
                for (int u = 0; u < kInFlight; ++u)
                    acc += dot32_i4(wv[u], job.x + c + u * 1024) *
                           __half2float(s[(c + u * 1024) / 64]);
            }
            for (; c < cols; c += 1024)
                acc += dot32_i4(load_stream(w + c / 2), job.x + c) * __half2float(s[c / 64]);
        } else {
            for (int c = lane; c < cols; c += 32)
                acc = fmaf(weight_at(job, row, c), __half2float(job.x[c]), acc);
        }
        acc = warp_sum(acc);
        if (lane == 0) detail::store_out(job.out, job.y, row, acc);
    }
}

// One thread per output value; rows x cols fp16 written, the packed weights read once. For shapes
// dequantize8_kernel cannot take (cols not a multiple of 8, unaligned pointers).
__global__ void dequantize_kernel(QuantKind kind, const std::uint8_t* W, const __half* scales,
                                  int rows, int cols, __half* out) {
    const std::size_t n = std::size_t(rows) * cols;
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x) {
        const int row = int(i / cols), c = int(i % cols);
        float v;
        if (kind == QuantKind::Int8Row) {
            v = float(std::int8_t(W[i])) * __half2float(scales[row]);
        } else {
            const std::uint8_t b = W[std::size_t(row) * ((cols + 1) / 2) + c / 2];
            v = float(int(c & 1 ? b >> 4 : b & 15) - 8) *
                __half2float(scales[std::size_t(row) * ((cols + 63) / 64) + c / 64]);
        }
        out[i] = __float2half_rn(v);
    }
}

// Eight columns a thread (8 bytes of int8, one 32-bit word of int4; one scale, as 8 divides 64),
// one 16-byte store; the grid's y is the row (deq8_grid), so no division. The one-value kernel
// above spent ~100 instructions a weight on 64-bit divisions and byte accesses: issue-bound, it
// took longer than the matrix products it fed (prefill, batched decoding).
__global__ void dequantize8_kernel(QuantKind kind, const std::uint8_t* W, const __half* scales,
                                   int rows, int cols, __half* out) {
    const int c = (int(blockIdx.x) * int(blockDim.x) + int(threadIdx.x)) * 8;
    if (c >= cols) return;
    for (int r = int(blockIdx.y); r < rows; r += int(gridDim.y)) {
        float v[8];
        if (kind == QuantKind::Int8Row)
            detail::dequant_i8x8(*reinterpret_cast<const uint2*>(W + std::size_t(r) * cols + c),
                                 __half2float(scales[r]), v);
        else
            detail::dequant_i4x8(
                *reinterpret_cast<const std::uint32_t*>(W + std::size_t(r) * (cols / 2) + c / 2),
                __half2float(scales[std::size_t(r) * ((cols + 63) / 64) + c / 64]), v);
        *reinterpret_cast<uint4*>(out + std::size_t(r) * cols + c) = detail::pack8(v);
    }
}

} // namespace

cudaError_t gemv_quant(const QGemvBatch& batch, cudaStream_t stream) {
    if (batch.n_jobs < 1 || batch.n_jobs > kMaxGemvJobs) return cudaErrorInvalidValue;
    Params p{};
    p.n_jobs = batch.n_jobs;
    for (int j = 0; j < batch.n_jobs; ++j) {
        const QGemvJob& job = batch.jobs[j];
        if (!job.W || !job.scales || !job.x || !job.y || job.rows < 0 || job.cols < 1)
            return cudaErrorInvalidValue;
        if ((job.cols & 31) == 0 &&
            ((reinterpret_cast<std::uintptr_t>(job.W) | reinterpret_cast<std::uintptr_t>(job.x)) &
             15))
            return cudaErrorMisalignedAddress;
        p.jobs[j] = job;
        p.row_start[j + 1] = p.row_start[j] + job.rows;
    }
    const int rows = p.row_start[batch.n_jobs];
    if (rows == 0) return cudaSuccess;
    static const int resident = [] {
        const int sms = detail::sm_count();
        int per_sm = 0;
        if (sms < 1 || cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                           &per_sm, gemv_quant_kernel, 32 * kWarps, 0) != cudaSuccess) {
            (void)cudaGetLastError();
            return 1024;
        }
        return std::max(1, sms * per_sm);
    }();
    return detail::launch_pdl(gemv_quant_kernel, dim3(std::min(resident, (rows + kWarps - 1) / kWarps)),
                              dim3(32 * kWarps), 0, stream, p);
}

cudaError_t dequantize(QuantKind kind, const std::uint8_t* W, const __half* scales, int rows,
                       int cols, __half* out, cudaStream_t stream) {
    if (!W || !scales || !out || rows < 0 || cols < 1) return cudaErrorInvalidValue;
    const std::size_t n = std::size_t(rows) * cols;
    if (n == 0) return cudaSuccess;
    if (cols % 8 == 0 && ((reinterpret_cast<std::uintptr_t>(W) & 7) |
                          (reinterpret_cast<std::uintptr_t>(out) & 15)) == 0) {
        dequantize8_kernel<<<detail::deq8_grid(rows, cols, 256), 256, 0, stream>>>(kind, W, scales,
                                                                                   rows, cols, out);
        return cudaGetLastError();
    }
    const int blocks = int(std::min<std::size_t>((n + 255) / 256, 65535));
    dequantize_kernel<<<blocks, 256, 0, stream>>>(kind, W, scales, rows, cols, out);
    return cudaGetLastError();
}

} // namespace gander::kernels
