// The hand-off chains of handoff.h.
#include "kernels/handoff.h"

#include "kernels/common.cuh"

namespace gander::kernels {
namespace {

__device__ __forceinline__ unsigned load_acquire(const unsigned* p) {
    unsigned v;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 700
    asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
#else
    v = *reinterpret_cast<const volatile unsigned*>(p);
    __threadfence();
#endif
    return v;
}

// Launch i: in = values + i, out = values + i + 1; done_prev: launch i - 1's flag (null for the
// first), done: its own.
template <HandoffMode M>
__global__ void __launch_bounds__(256)
    handoff_kernel(const float* in, float* out, const unsigned* done_prev, unsigned* done) {
    if constexpr (M != HandoffMode::Stream) detail::grid_dep_launch();
    if constexpr (M == HandoffMode::Pdl) detail::grid_dep_wait();
    if constexpr (M == HandoffMode::Flag) {
        if (done_prev && threadIdx.x == 0)
            while (load_acquire(done_prev) < gridDim.x) __nanosleep(32); // spare the flag's line
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const float v = *reinterpret_cast<const volatile float*>(in) + 1.0f;
        if (blockIdx.x == 0) *out = v;
        if constexpr (M == HandoffMode::Flag) {
            __threadfence(); // the store above before the count (release)
            atomicAdd(done, 1u);
        }
    }
}

} // namespace

cudaError_t handoff_chain(HandoffMode mode, int launches, int blocks, float* values,
                          unsigned* flags, cudaStream_t stream) {
    if (launches < 1 || blocks < 1 || blocks > 1024 || !values || !flags)
        return cudaErrorInvalidValue;
    cudaError_t e = cudaMemsetAsync(values, 0, sizeof(float), stream);
    if (e == cudaSuccess) e = cudaMemsetAsync(flags, 0, sizeof(unsigned) * launches, stream);
    for (int i = 0; i < launches && e == cudaSuccess; ++i) {
        const unsigned* prev = i > 0 ? flags + i - 1 : nullptr;
        switch (mode) {
        case HandoffMode::Stream:
            handoff_kernel<HandoffMode::Stream>
                <<<blocks, 256, 0, stream>>>(values + i, values + i + 1, prev, flags + i);
            e = cudaGetLastError();
            break;
        case HandoffMode::Pdl:
            e = detail::launch_pdl(handoff_kernel<HandoffMode::Pdl>, dim3(blocks), dim3(256), 0,
                                   stream, values + i, values + i + 1, prev, flags + i);
            break;
        case HandoffMode::Flag:
            e = detail::launch_pdl(handoff_kernel<HandoffMode::Flag>, dim3(blocks), dim3(256), 0,
                                   stream, values + i, values + i + 1, prev, flags + i);
            break;
        }
    }
    return e;
}

} // namespace gander::kernels
