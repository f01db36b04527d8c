// Helpers shared by the kernel files (not part of any launcher's interface): reductions within a
// warp and a block, and fp16 <-> fp32 conversions of 16-byte vectors.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace gander::kernels::detail {

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block; every thread gets the result. `scratch` holds 32 floats. Safe to call
// repeatedly with the same scratch (the leading barrier protects the previous call's reads).
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int n_warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < n_warps ? scratch[lane] : 0.0f;
    return warp_sum(t);
}

__device__ __forceinline__ float sigmoidf_(float x) {
    return 1.0f / (1.0f + expf(-x));
}

// Eight halves packed in a uint4, to fp32.
__device__ __forceinline__ void unpack8(const uint4& u, float* f) {
    const __half2* h = reinterpret_cast<const __half2*>(&u);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 p = __half22float2(h[i]);
        f[2 * i] = p.x;
        f[2 * i + 1] = p.y;
    }
}

// fp32 -> fp16 with saturation: a value beyond the fp16 range becomes +-65504, never inf.
__device__ __forceinline__ __half to_half_sat(float x) {
    if (fabsf(x) > 65504.0f) x = copysignf(65504.0f, x); // NaN stays NaN
    return __float2half_rn(x);
}

} // namespace gander::kernels::detail
