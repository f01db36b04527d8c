// cuBLAS call for the backend's row-major products (see gemm.h).
#include "cuda/gemm.h"

#include "cuda/cuda_common.h"

namespace gander::cuda {

void gemm_rows(cublasHandle_t handle, const __half* W, int rows, int cols, const __half* X, int T,
               void* Y, GemmOut out, int ldy) {
    // cuBLAS is column-major: Y^T [rows, T] = W X^T, with W read as the column-major [cols, rows]
    // matrix transposed and X^T as column-major [cols, T]. beta = 1 adds to Y (the residual).
    const float one = 1.0f, zero = 0.0f;
    const float* beta = out == GemmOut::AddF32 ? &one : &zero;
    const cudaDataType_t ct = out == GemmOut::StoreF16 ? CUDA_R_16F : CUDA_R_32F;
    GANDER_CUBLAS(cublasGemmEx(handle, CUBLAS_OP_T, CUBLAS_OP_N, rows, T, cols, &one, W, CUDA_R_16F,
                               cols, X, CUDA_R_16F, cols, beta, Y, ct, ldy > 0 ? ldy : rows,
                               CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
}

void gemm_cols(cublasHandle_t handle, const __half* Wt, int rows, int cols, const __half* X, int T,
               void* Y, GemmOut out) {
    // Column-major: Y^T [cols, T] = Wt^T X^T, Wt read as the column-major [cols, rows] matrix
    // (no transpose) and X^T as column-major [rows, T].
    const float one = 1.0f, zero = 0.0f;
    const float* beta = out == GemmOut::AddF32 ? &one : &zero;
    const cudaDataType_t ct = out == GemmOut::StoreF16 ? CUDA_R_16F : CUDA_R_32F;
    GANDER_CUBLAS(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, cols, T, rows, &one, Wt, CUDA_R_16F,
                               cols, X, CUDA_R_16F, rows, beta, Y, ct, cols, CUBLAS_COMPUTE_32F,
                               CUBLAS_GEMM_DEFAULT));
}

} // namespace gander::cuda
