// Element-wise work of an RWKV-7 layer that is not a norm: the LoRA activations, the preparation
// of the WKV inputs (decay, in-context rate, normalised key, value residual) and ReLU^2.
#pragma once

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace gander::kernels {

enum class Activation : int { Tanh, Sigmoid, None };

// x[i] = act(x[i]) for n fp16 values (LoRA hidden layers of prefill).
cudaError_t lora_activation(__half* x, long long n, Activation act, cudaStream_t stream);

// The LoRA hidden rows of a batched step from their f32 sums, up to 4 of them in one launch:
// out[j][i] = fp16(act[j](in[j][i])) for i < n[j] (rows packed; in and out may not overlap).
struct LoraFinish {
    const float* in[4];
    __half* out[4];
    long long n[4];
    Activation act[4];
    int jobs;
};
cudaError_t lora_finish(const LoraFinish& f, cudaStream_t stream);

// out[i] = fp16(max(x[i], 0)^2) for n values (the FFN hidden layer of prefill).
cudaError_t relu2(const float* x, __half* out, long long n, cudaStream_t stream);

// The WKV inputs of one layer, over [T, C] rows (C = H*N), in place:
//   a      = sigmoid(a0 + a_lora)                 (a_lora becomes kka = kk * a)
//   kk     = normalize_per_head(k * k_k)          (neg_kk gets -kk)
//   k      = k * (1 + (a - 1) * k_a)
//   decay  = exp(-0.606531 * sigmoid(w0 + w_lora)) (w_lora becomes decay)
//   v      = layer 0: v_first = v;  else v + (v_first - v) * sigmoid(v0 + v_lora)
struct WkvPrep {
    float* k;
    float* v;
    float* w_lora;                         // in: tanh(xw @ w1) @ w2; out: decay
    float* a_lora;                         // in: (xa @ a1) @ a2;     out: kk * a
    const float* v_lora;                   // (xv @ v1) @ v2; unused in layer 0
    float* v_first;                        // written in layer 0, read after
    float* neg_kk;                         // out
    const float *w0, *a0, *v0, *k_k, *k_a; // [C]
    bool first_layer;
};
cudaError_t wkv_prep(const WkvPrep& p, int T, int H, int N, cudaStream_t stream);

} // namespace gander::kernels
