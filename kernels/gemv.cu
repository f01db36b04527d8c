// Batched fp16 matrix-vector products (see gemv.h). Bandwidth-bound: the target is to stream W at
// the card's copy bandwidth.
#include <algorithm>
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/gemv.h"

namespace gander::kernels {
namespace {

using detail::sigmoidf_;
using detail::unpack8;
using detail::warp_sum;

constexpr int kWarpsPerBlock = 8;

struct Params {
    GemvJob jobs[kMaxGemvJobs];
    int row_start[kMaxGemvJobs + 1]; // prefix sums of rows
    int n_jobs;
};

__device__ __forceinline__ float act(float v, GemvIn in) {
    if (in == GemvIn::Tanh) return tanhf(v);
    if (in == GemvIn::Sigmoid) return sigmoidf_(v);
    return v;
}

// Streaming 16-byte load of weights: read once per token, so keep them out of L1.
__device__ __forceinline__ uint4 load_stream(const __half* p) {
    return __ldcs(reinterpret_cast<const uint4*>(p));
}

// Dot product of one fp16 row with x, the lane's share: 16-byte loads, kBatch of them issued
// before any is used so that enough bytes are in flight to cover the memory latency.
template <int kBatch>
__device__ __forceinline__ float row_dot(const __half* w, const __half* x, int cols, int lane,
                                         GemvIn in) {
    float a0 = 0.0f, a1 = 0.0f;
    int c = lane * 8;
    for (; c + (kBatch - 1) * 256 < cols; c += kBatch * 256) {
        uint4 wv[kBatch], xv[kBatch];
#pragma unroll
        for (int u = 0; u < kBatch; ++u) wv[u] = load_stream(w + c + u * 256);
#pragma unroll
        for (int u = 0; u < kBatch; ++u)
            xv[u] = __ldg(reinterpret_cast<const uint4*>(x + c + u * 256));
#pragma unroll
        for (int u = 0; u < kBatch; ++u) {
            float wf[8], xf[8];
            unpack8(wv[u], wf);
            unpack8(xv[u], xf);
            if (in != GemvIn::Plain) {
#pragma unroll
                for (int i = 0; i < 8; ++i) xf[i] = act(xf[i], in);
            }
#pragma unroll
            for (int i = 0; i < 8; i += 2) {
                a0 = fmaf(wf[i], xf[i], a0);
                a1 = fmaf(wf[i + 1], xf[i + 1], a1);
            }
        }
    }
    for (; c < cols; c += 256) {
        float wf[8], xf[8];
        unpack8(load_stream(w + c), wf);
        unpack8(__ldg(reinterpret_cast<const uint4*>(x + c)), xf);
#pragma unroll
        for (int i = 0; i < 8; i += 2) {
            a0 = fmaf(wf[i], act(xf[i], in), a0);
            a1 = fmaf(wf[i + 1], act(xf[i + 1], in), a1);
        }
    }
    return a0 + a1;
}

// Layout: a persistent grid (as many blocks as fit on the card at once); each warp takes output
// rows gw, gw + n_warps, ... over all jobs (row_start maps a row to its job), so no wave of
// blocks ends half-empty. With cols a multiple of 8 a lane reads 16 bytes of W and of x per
// step, 8 steps issued together; other widths take a scalar loop. x is small and read through
// L1/L2. Bytes per launch: sum over jobs of rows x cols x 2 (W, once) + the outputs (4 or 2 bytes
// a row); x comes from cache.
// kBatch: 16-byte loads in flight per lane on rows of 2048+ columns. Batches whose rows are all
// shorter use kBatch 2, whose smaller register footprint lets three times more warps stay
// resident (short rows are latency-bound, not bandwidth-bound).
template <int kBatch> __global__ void __launch_bounds__(32 * kWarpsPerBlock) gemv_kernel(Params p) {
    GANDER_TRACE_BLOCK(Gemv);
    detail::grid_dep_begin(); // launched with launch_pdl (common.cuh)
    const int lane = threadIdx.x & 31;
    const int total = p.row_start[p.n_jobs];
    const int n_warps = gridDim.x * kWarpsPerBlock;
    for (int gw = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5); gw < total; gw += n_warps) {
        int j = 0;
        while (gw >= p.row_start[j + 1]) ++j;
        const GemvJob& job = p.jobs[j];
        const int row = gw - p.row_start[j];
        const int cols = job.cols;
        const __half* w = job.W + std::size_t(row) * cols;
        float acc = 0.0f;
        if ((cols & 7) == 0) {
            acc = kBatch > 2 && cols >= 2048 ? row_dot<kBatch>(w, job.x, cols, lane, job.in)
                                             : row_dot<2>(w, job.x, cols, lane, job.in);
        } else {
            for (int c = lane; c < cols; c += 32)
                acc = fmaf(__half2float(w[c]), act(__half2float(job.x[c]), job.in), acc);
        }
        acc = warp_sum(acc);
        if (lane == 0) detail::store_out(job.out, job.y, row, acc);
    }
}

// Blocks of gemv_kernel<kBatch> that fit on the card at once (computed once per process).
template <int kBatch> int resident_blocks() {
    static const int n = [] {
        const int sms = detail::sm_count();
        int per_sm = 0;
        if (sms < 1 || cudaOccupancyMaxActiveBlocksPerMultiprocessor(
                           &per_sm, gemv_kernel<kBatch>, 32 * kWarpsPerBlock, 0) != cudaSuccess) {
            (void)cudaGetLastError();
            return 1024;
        }
        return std::max(1, sms * per_sm);
    }();
    return n;
}

} // namespace

cudaError_t gemv(const GemvBatch& batch, cudaStream_t stream) {
    if (batch.n_jobs < 1 || batch.n_jobs > kMaxGemvJobs) return cudaErrorInvalidValue;
    Params p{};
    p.n_jobs = batch.n_jobs;
    p.row_start[0] = 0;
    for (int j = 0; j < batch.n_jobs; ++j) {
        const GemvJob& job = batch.jobs[j];
        if (!job.W || !job.x || !job.y || job.rows < 0 || job.cols < 1)
            return cudaErrorInvalidValue;
        // The vector path needs 16-byte aligned rows.
        if ((job.cols & 7) == 0 &&
            ((reinterpret_cast<std::uintptr_t>(job.W) | reinterpret_cast<std::uintptr_t>(job.x)) &
             15))
            return cudaErrorMisalignedAddress;
        p.jobs[j] = job;
        p.row_start[j + 1] = p.row_start[j] + job.rows;
    }
    const int rows = p.row_start[batch.n_jobs];
    if (rows == 0) return cudaSuccess;
    int max_cols = 0;
    for (int j = 0; j < batch.n_jobs; ++j) max_cols = std::max(max_cols, batch.jobs[j].cols);
    const int wanted = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
    if (max_cols >= 2048)
        return detail::launch_pdl(gemv_kernel<8>, dim3(std::min(resident_blocks<8>(), wanted)),
                                  dim3(32 * kWarpsPerBlock), 0, stream, p);
    return detail::launch_pdl(gemv_kernel<2>, dim3(std::min(resident_blocks<2>(), wanted)),
                              dim3(32 * kWarpsPerBlock), 0, stream, p);
}

} // namespace gander::kernels
