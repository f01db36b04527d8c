// The RWKV-7 operations on the CPU in fp32: the reference that every other backend is checked
// against (shared/fixtures/README.md gives the math). Plain loops a reader can check; the only
// speed work here is in matvec/matmul (vectorised dtype conversion, threads), which the tests pin
// against a plain loop.
#pragma once

#include <cstdint>

#include "model/weights.h"

namespace gander {
class ThreadPool;
}

namespace gander::cpu {

using gander::ThreadPool;

void layer_norm(const float* x, const float* w, const float* b, float* out, int n, float eps);
// Per-group normalisation over `n_groups` groups of `group_size` (RWKV-7's ln_x, eps 64e-5).
void group_norm(const float* x, const float* w, const float* b, float* out, int n_groups,
                int group_size, float eps);

// y[o] = sum_i W[o, i] * x[i] for W [out, in] stored as F32/F16/BF16. `pool` may be null.
void matvec(const model::Tensor& W, const float* x, float* y, ThreadPool* pool);
// Y[t, o] = sum_i W[o, i] * X[t, i] for T rows of X [T, in]; Y [T, out]. `pool` may be null.
void matmul(const model::Tensor& W, const float* X, float* Y, int T, ThreadPool* pool);

// One WKV-7 step for H heads of size N. State S [H][N][N], S[h][i][j]: row i = value, col j = key.
//   S = S * diag(decay) + (S @ (-kk)) (kk * a)^T + v k^T ;   out = S r
// `decay` = exp(-0.606531 * sigmoid(w0 + lora)), `kk` = per-head L2-normalised k * k_k,
// `k` already scaled by (1 + (a - 1) * k_a). All vectors have H*N elements.
void wkv7_step(float* state, const float* r, const float* decay, const float* k, const float* v,
               const float* kk, const float* a, float* out, int H, int N);

} // namespace gander::cpu
