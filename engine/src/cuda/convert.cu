// Load-time conversion and random generation (see convert.h).
#include "cuda/convert.h"

#include "model/random_init.h"

namespace gander::cuda {
namespace {

__device__ __forceinline__ float read_src(const void* src, SrcType type, long long i) {
    switch (type) {
    case SrcType::F32:
        return static_cast<const float*>(src)[i];
    case SrcType::F16:
        return __half2float(static_cast<const __half*>(src)[i]);
    default: {
        const unsigned bits = unsigned(static_cast<const unsigned short*>(src)[i]) << 16;
        return __uint_as_float(bits);
    }
    }
}

__device__ __forceinline__ void write_dst(__half* h, float* f, long long i, float v) {
    if (h) {
        if (fabsf(v) > 65504.0f) v = copysignf(65504.0f, v);
        h[i] = __float2half_rn(v);
    } else {
        f[i] = v;
    }
}

// Layout: grid-stride over destination elements; the transposed read is uncoalesced, which is
// fine for the small LoRA matrices that need it. Bytes: the tensor read once and written once.
__global__ void convert_kernel(const void* src, SrcType type, __half* dh, float* df, long long rows,
                               long long cols, bool transpose) {
    const long long n = rows * cols;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const long long s = transpose ? (i % cols) * rows + i / cols : i;
        write_dst(dh, df, i, read_src(src, type, s));
    }
}

// Layout: grid-stride over destination elements. Bytes: the tensor written once.
__global__ void random_kernel(std::uint64_t seed, int layer, int role, int fan_in, __half* dh,
                              float* df, long long rows, long long cols, bool transpose) {
    namespace ri = gander::model::random_init;
    const long long n = rows * cols;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        const long long s = transpose ? (i % cols) * rows + i / cols : i;
        write_dst(dh, df, i, ri::value(seed, layer, ri::Role(role), fan_in, std::uint64_t(s)));
    }
}

int grid_for(long long n) {
    const long long b = (n + 255) / 256;
    return int(b < 32768 ? (b > 0 ? b : 1) : 32768);
}

} // namespace

cudaError_t convert_tensor(const void* src, SrcType type, __half* dst_h, float* dst_f,
                           long long rows, long long cols, bool transpose, cudaStream_t stream) {
    if ((dst_h == nullptr) == (dst_f == nullptr)) return cudaErrorInvalidValue;
    if (rows * cols == 0) return cudaSuccess;
    convert_kernel<<<grid_for(rows * cols), 256, 0, stream>>>(src, type, dst_h, dst_f, rows, cols,
                                                              transpose);
    return cudaGetLastError();
}

cudaError_t random_tensor(std::uint64_t seed, int layer, int role, int fan_in, __half* dst_h,
                          float* dst_f, long long rows, long long cols, bool transpose,
                          cudaStream_t stream) {
    if ((dst_h == nullptr) == (dst_f == nullptr)) return cudaErrorInvalidValue;
    if (rows * cols == 0) return cudaSuccess;
    random_kernel<<<grid_for(rows * cols), 256, 0, stream>>>(seed, layer, role, fan_in, dst_h,
                                                             dst_f, rows, cols, transpose);
    return cudaGetLastError();
}

} // namespace gander::cuda
