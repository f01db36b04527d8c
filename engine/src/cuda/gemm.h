// The matrix products of prefill through cuBLAS: Y [T, rows] = X [T, cols] W^T (or Y +=, the
// residual), W [rows, cols] fp16 row-major as the backend stores it, X fp16, fp32 accumulation,
// Y fp32 or fp16. Throws Error on a cuBLAS failure.
#pragma once

#include <cublas_v2.h>
#include <cuda_fp16.h>

namespace gander::cuda {

enum class GemmOut { StoreF32, AddF32, StoreF16 };

// ldy: the row stride of Y (0: rows), to write a slice of a wider Y.
void gemm_rows(cublasHandle_t handle, const __half* W, int rows, int cols, const __half* X, int T,
               void* Y, GemmOut out, int ldy = 0);

// Y [T, cols] = X [T, rows] Wt (or Y +=) for Wt [rows, cols] fp16 row-major: the product with a
// matrix stored transposed (the FFN value projection: fp16, or int8 / int4 dequantised first).
void gemm_cols(cublasHandle_t handle, const __half* Wt, int rows, int cols, const __half* X, int T,
               void* Y, GemmOut out);

} // namespace gander::cuda
