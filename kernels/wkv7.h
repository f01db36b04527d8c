// The WKV-7 recurrence over T tokens (T == 1 is the decoding step), state in fp32.
// For each head h and token t, with S = state[h] [N][N] (row i = value, column j = key):
//   sa = S @ neg_kk ;  S = S * diag(decay) + sa kka^T + v k^T ;  y = S @ r
// Inputs are [T, H*N] fp32 rows, already prepared by mix.h's wkv_prep: decay =
// exp(-0.606531 * sigmoid(w)), neg_kk = -kk, kka = kk * a, k scaled by (1 + (a - 1) * k_a).
#pragma once

#include <cstddef>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace gander::kernels {

// `C` is the row stride of the inputs and of y (H * N). Only N == 64 is built; other head sizes
// return cudaErrorInvalidValue. `variant` picks one of the built thread layouts (0 to
// wkv7_seq_variants() - 1, for tests and measurements); -1 takes the default, or the one named by
// the environment variable GANDER_WKV_SEQ.
cudaError_t wkv7_seq(float* state, const float* r, const float* decay, const float* k,
                     const float* v, const float* neg_kk, const float* kka, float* y, int T, int H,
                     int N, cudaStream_t stream, int variant = -1);
int wkv7_seq_variants();

// The whole attention core of one decoding step (T == 1) in one launch: what mix.h's wkv_prep,
// wkv7_seq and norm.h's group_norm (with bonus and gate) do one after the other, from the raw
// projections to the fp16 input of the output projection. Same math, same order per element.
struct Wkv7Step {
    float* state;                                              // [H][N][N]
    const float *r, *k, *v, *w_lora, *a_lora, *v_lora, *g;     // [C]; v_lora unused in layer 0
    float* v_first;                                            // written in layer 0, read after
    const float *w0, *a0, *v0, *k_k, *k_a, *r_k, *ln_w, *ln_b; // [C]
    __half* out;                                               // [C]
    bool first_layer;
    float eps; // GroupNorm eps (64e-5)
    // Batched decoding (rows > 1): one token of each of `rows` sessions. The [C] vectors above
    // become [rows, C]; row b's state is states[b] + state_offset (device array of pointers), and
    // `state` is unused.
    float* const* states = nullptr;
    std::size_t state_offset = 0;
};
cudaError_t wkv7_step(const Wkv7Step& p, int H, int N, cudaStream_t stream, int rows = 1);

} // namespace gander::kernels
