// Matrix-vector products over quantized weights for decoding one token, with the dequantisation
// fused into the loads, and the dequantisation of whole rows for prefill (then cuBLAS). The formats
// are the CPU reference's (engine/src/model/quantize.h, docs/quantization.md):
//   Int8Row: W int8 [rows, cols], one fp16 scale per row:         w = q * scale[row]
//   Int4G64: W packed [rows, ceil(cols/2)] bytes, low nibble first, one fp16 scale per 64 values
//            of a row: w = (nibble - 8) * scale[row * ceil(cols/64) + col/64]
// x is fp16, accumulation fp32; outputs as in gemv.h.
#pragma once

#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/gemv.h"

namespace gander::kernels {

enum class QuantKind : int { Int8Row, Int4G64 };

struct QGemvJob {
    const std::uint8_t* W = nullptr;
    const __half* scales = nullptr;
    const __half* x = nullptr;
    void* y = nullptr; // float* or __half* as `out` says
    int rows = 0, cols = 0;
    QuantKind kind = QuantKind::Int8Row;
    GemvOut out = GemvOut::StoreF32;
};

struct QGemvBatch {
    QGemvJob jobs[kMaxGemvJobs];
    int n_jobs = 0;
    void add(const QGemvJob& job) { jobs[n_jobs++] = job; }
};

// Runs every job of the batch in one launch (cudaErrorInvalidValue on a bad batch).
cudaError_t gemv_quant(const QGemvBatch& batch, cudaStream_t stream);

// out [rows, cols] fp16 = dequantised W; for prefill, a layer's matrix at a time into a scratch
// buffer that cuBLAS then reads.
cudaError_t dequantize(QuantKind kind, const std::uint8_t* W, const __half* scales, int rows,
                       int cols, __half* out, cudaStream_t stream);

} // namespace gander::kernels
