// Load-time kernels of the CUDA backend: converting checkpoint tensors (fp32/fp16/bf16) to the
// card's storage (fp16 matrices, fp32 vectors), with an optional transpose, and generating random
// weights on the card with the recipe of model/random_init.h.
#pragma once

#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace gander::cuda {

enum class SrcType : int { F32 = 0, F16 = 1, BF16 = 2 };

// dst is [rows, cols]. Without transpose, src holds the same layout; with it, src is [cols, rows]
// (dst[r][c] = src[c][r]). Exactly one of dst_h, dst_f is non-null. Values beyond the fp16 range
// saturate to +-65504.
cudaError_t convert_tensor(const void* src, SrcType type, __half* dst_h, float* dst_f,
                           long long rows, long long cols, bool transpose, cudaStream_t stream);

// dst [rows, cols] = random_init::value(seed, layer, role, fan_in, index), index taken in the
// source layout as for convert_tensor (transposed when `transpose`).
cudaError_t random_tensor(std::uint64_t seed, int layer, int role, int fan_in, __half* dst_h,
                          float* dst_f, long long rows, long long cols, bool transpose,
                          cudaStream_t stream);

} // namespace gander::cuda
