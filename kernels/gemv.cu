// Batched fp16 matrix-vector products (see gemv.h). Bandwidth-bound: the target is to stream W at
// the card's copy bandwidth.
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

// Layout: one warp per output row over all jobs (row_start maps a warp to its job); with cols a
// multiple of 8 each lane reads 16 bytes of W and of x per step, 4 steps unrolled so that several
// loads are in flight; other widths take a scalar loop. x is small and read through L1/L2.
// Bytes per launch: sum over jobs of rows x cols x 2 (W, once) + x per warp from cache + the
// outputs (4 or 2 bytes a row).
__global__ void __launch_bounds__(32 * kWarpsPerBlock) gemv_kernel(Params p) {
    const int gw = blockIdx.x * kWarpsPerBlock + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (gw >= p.row_start[p.n_jobs]) return;
    int j = 0;
    while (gw >= p.row_start[j + 1]) ++j;
    const GemvJob& job = p.jobs[j];
    const int row = gw - p.row_start[j];
    const int cols = job.cols;
    const __half* w = job.W + std::size_t(row) * cols;
    float acc = 0.0f;
    if ((cols & 7) == 0) {
        float a0 = 0.0f, a1 = 0.0f;
        int c = lane * 8;
#pragma unroll 4
        for (; c < cols; c += 256) {
            uint4 wv = load_stream(w + c);
            uint4 xv = __ldg(reinterpret_cast<const uint4*>(job.x + c));
            float wf[8], xf[8];
            unpack8(wv, wf);
            unpack8(xv, xf);
            if (job.in != GemvIn::Plain) {
#pragma unroll
                for (int i = 0; i < 8; ++i) xf[i] = act(xf[i], job.in);
            }
#pragma unroll
            for (int i = 0; i < 8; i += 2) {
                a0 = fmaf(wf[i], xf[i], a0);
                a1 = fmaf(wf[i + 1], xf[i + 1], a1);
            }
        }
        acc = a0 + a1;
    } else {
        for (int c = lane; c < cols; c += 32)
            acc = fmaf(__half2float(w[c]), act(__half2float(job.x[c]), job.in), acc);
    }
    acc = warp_sum(acc);
    if (lane == 0) {
        switch (job.out) {
        case GemvOut::StoreF32:
            static_cast<float*>(job.y)[row] = acc;
            break;
        case GemvOut::AddF32:
            static_cast<float*>(job.y)[row] += acc;
            break;
        case GemvOut::StoreF16:
            static_cast<__half*>(job.y)[row] = detail::to_half_sat(acc);
            break;
        case GemvOut::Relu2F16: {
            float r = fmaxf(acc, 0.0f);
            static_cast<__half*>(job.y)[row] = detail::to_half_sat(r * r);
            break;
        }
        }
    }
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
    const int blocks = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
    gemv_kernel<<<blocks, 32 * kWarpsPerBlock, 0, stream>>>(p);
    return cudaGetLastError();
}

} // namespace gander::kernels
