// Matrix-vector products for decoding one token: y = W x with W [rows, cols] fp16 row-major and x
// fp16, fp32 accumulation. Several products (different W, x, y) go in one launch, so that the
// independent projections of a layer cost one launch and fill the card together.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace gander::kernels {

enum class GemvIn : int { Plain, Tanh, Sigmoid };                  // applied to x as it is read
enum class GemvOut : int { StoreF32, AddF32, StoreF16, Relu2F16 }; // y = ., y += ., fp16 ., relu^2

struct GemvJob {
    const __half* W = nullptr;
    const __half* x = nullptr;
    void* y = nullptr; // float* or __half* as `out` says
    int rows = 0, cols = 0;
    GemvIn in = GemvIn::Plain;
    GemvOut out = GemvOut::StoreF32;
};

constexpr int kMaxGemvJobs = 8;
struct GemvBatch {
    GemvJob jobs[kMaxGemvJobs];
    int n_jobs = 0;
    void add(const GemvJob& job) { jobs[n_jobs++] = job; }
};

// Runs every job of the batch in one launch (cudaErrorInvalidValue on a bad batch).
cudaError_t gemv(const GemvBatch& batch, cudaStream_t stream);

} // namespace gander::kernels
