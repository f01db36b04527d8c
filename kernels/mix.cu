// Element-wise kernels of a layer (see mix.h).
#include <algorithm>

#include "kernels/common.cuh"
#include "kernels/mix.h"

namespace gander::kernels {
namespace {

using detail::sigmoidf_;
using detail::to_half_sat;
using detail::warp_sum;

__device__ __forceinline__ float activate(Activation act, float v) {
    return act == Activation::Tanh ? tanhf(v) : act == Activation::Sigmoid ? sigmoidf_(v) : v;
}

// Layout: a grid-stride loop over n elements. Bytes: 2n read, 2n written.
__global__ void lora_activation_kernel(__half* x, long long n, Activation act) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x)
        x[i] = __float2half_rn(activate(act, __half2float(x[i])));
}

// Layout: blockIdx.y the job, a grid-stride loop over its n values. Bytes: 4n read, 2n written.
__global__ void lora_finish_kernel(const __grid_constant__ LoraFinish f) {
    const int j = int(blockIdx.y);
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < f.n[j];
         i += (long long)gridDim.x * blockDim.x)
        f.out[j][i] = __float2half_rn(activate(f.act[j], f.in[j][i]));
}

// Layout: grid-stride over n. Bytes: 4n read, 2n written.
__global__ void relu2_kernel(const float* x, __half* out, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const float r = fmaxf(x[i], 0.0f);
        out[i] = to_half_sat(r * r);
    }
}

// Layout: one warp per (t, head), lanes stride over the head's N columns (the per-head L2 norm of
// k * k_k is a warp reduction). Bytes per (t, head): reads k, v, w_lora, a_lora, v_lora, v_first
// (N floats each) and five [C] parameter slices (cached), writes k, v, decay, kka, neg_kk.
__global__ void wkv_prep_kernel(WkvPrep p, int T, int H, int N) {
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (warp >= T * H) return;
    const int h = warp % H;
    const std::size_t base = std::size_t(warp) * N;
    float ss = 0.0f;
    for (int j = lane; j < N; j += 32) {
        const float kk = p.k[base + j] * p.k_k[h * N + j];
        ss += kk * kk;
    }
    const float inv = 1.0f / fmaxf(sqrtf(warp_sum(ss)), 1e-12f);
    for (int j = lane; j < N; j += 32) {
        const int c = h * N + j;
        const std::size_t e = base + j;
        const float k = p.k[e];
        const float kk = k * p.k_k[c] * inv;
        const float a = sigmoidf_(p.a0[c] + p.a_lora[e]);
        p.neg_kk[e] = -kk;
        p.a_lora[e] = kk * a;
        p.k[e] = k * (1.0f + (a - 1.0f) * p.k_a[c]);
        p.w_lora[e] = expf(-0.606531f * sigmoidf_(p.w0[c] + p.w_lora[e]));
        const float v = p.v[e];
        if (p.first_layer) {
            p.v_first[e] = v;
        } else {
            p.v[e] = v + (p.v_first[e] - v) * sigmoidf_(p.v0[c] + p.v_lora[e]);
        }
    }
}

int grid_for(long long n, int threads) {
    long long blocks = (n + threads - 1) / threads;
    return int(blocks < 65536 ? (blocks > 0 ? blocks : 1) : 65536);
}

} // namespace

cudaError_t lora_activation(__half* x, long long n, Activation act, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    lora_activation_kernel<<<grid_for(n, 256), 256, 0, stream>>>(x, n, act);
    return cudaGetLastError();
}

cudaError_t lora_finish(const LoraFinish& f, cudaStream_t stream) {
    if (f.jobs < 0 || f.jobs > 4) return cudaErrorInvalidValue;
    long long most = 0;
    for (int j = 0; j < f.jobs; ++j) {
        if (f.n[j] < 0 || (f.n[j] > 0 && (!f.in[j] || !f.out[j]))) return cudaErrorInvalidValue;
        most = std::max(most, f.n[j]);
    }
    if (most == 0) return cudaSuccess;
    lora_finish_kernel<<<dim3(unsigned(grid_for(most, 256)), unsigned(f.jobs)), 256, 0, stream>>>(
        f);
    return cudaGetLastError();
}

cudaError_t relu2(const float* x, __half* out, long long n, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    relu2_kernel<<<grid_for(n, 256), 256, 0, stream>>>(x, out, n);
    return cudaGetLastError();
}

cudaError_t wkv_prep(const WkvPrep& p, int T, int H, int N, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    const int warps = T * H, per_block = 8;
    wkv_prep_kernel<<<(warps + per_block - 1) / per_block, 32 * per_block, 0, stream>>>(p, T, H, N);
    return cudaGetLastError();
}

} // namespace gander::kernels
