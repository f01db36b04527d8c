// Normalisations of RWKV-7: LayerNorm over rows (optionally gathering rows of an fp16 table, for
// the embedding), LayerNorm fused with the token shift and its lerps, and the per-head GroupNorm
// of the attention output fused with the r_k bonus and the gate. Row-major [T, C] activations.
#pragma once

#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace gander::kernels {

// out[t] = LayerNorm(in[row(t)]) * w + b, row(t) = ids ? ids[t] : t; with w == nullptr a plain
// copy (a model without blocks.0.ln0). Either output may be null.
cudaError_t layer_norm(const float* in, const std::int32_t* ids, const float* w, const float* b,
                       float* out, __half* out_h, int T, int n, float eps, cudaStream_t stream);
cudaError_t layer_norm(const __half* in, const std::int32_t* ids, const float* w, const float* b,
                       float* out, __half* out_h, int T, int n, float eps, cudaStream_t stream);

// The token shift: xn[t] = LayerNorm(x[t]) * w + b; prev = t == 0 ? prev_in : xn[t-1];
// out[m][t] = fp16(xn[t] + (prev - xn[t]) * mix[m]) for m < n_mix (1..6); prev_out = xn[T-1].
// prev_out may equal prev_in only when T == 1.
constexpr int kMaxMix = 6;
struct ShiftMix {
    const float* mix[kMaxMix];
    __half* out[kMaxMix];
    int n_mix;
};
cudaError_t ln_shift_mix(const float* x, const float* w, const float* b, const float* prev_in,
                         float* prev_out, const ShiftMix& mixes, int T, int C, float eps,
                         cudaStream_t stream);

// Batched decoding: row t of x [T, C] is one token of its own session, whose token-shift state is
// states[t] + offset (device array of T pointers, each to C floats): the lerps use it as the
// previous token, and it is replaced by row t's LayerNorm.
cudaError_t ln_shift_mix_rows(const float* x, const float* w, const float* b, float* const* states,
                              std::size_t offset, const ShiftMix& mixes, int T, int C, float eps,
                              cudaStream_t stream);

// Per-head GroupNorm of y [T, H*N] (groups of N), then, when r is given, the bonus
// + (sum over the head of r * k * r_k) * v, then, when g is given, * g. Output fp32 or fp16.
cudaError_t group_norm(const float* y, const float* w, const float* b, const float* r,
                       const float* k, const float* r_k, const float* v, const float* g, float* out,
                       __half* out_h, int T, int H, int N, float eps, cudaStream_t stream);

} // namespace gander::kernels
