// Sampling the next token on the card, so that only the chosen id crosses to the host.
// Semantics follow gander/sampler.h and the official RWKV sampler: penalties first
// (logit -= presence + frequency * count for tokens with count > 0), then the top-k / top-p cut on
// the softmax at temperature 1, then the kept probabilities raised to 1/temperature, then a draw.
// Temperature <= 0 is greedy (lowest id among equal maxima). The draw walks the kept tokens in id
// order, so the same `u` picks a token with the right probability but not necessarily the token
// the CPU sampler (which walks by descending probability) would pick.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace gander::kernels {

struct SampleParams {
    float temperature = 1.0f;
    float top_p = 1.0f;
    int top_k = 0; // 0: off
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    float penalty_decay = 1.0f;
};

// logits [V] fp32 on the card; counts [V] (may be null: no penalties) is updated in place
// (counts *= penalty_decay, then counts[chosen] += 1); u uniform in [0, 1); *out_id written on the
// card.
cudaError_t sample(const float* logits, int V, float* counts, const SampleParams& params, float u,
                   std::int32_t* out_id, cudaStream_t stream);

// The greedy pick of each of `rows` rows: out[r] = the index i < n of the largest
// x[r * pitch + i], the lowest on a tie; NaN is never picked (a row of NaN and -inf gives its first
// -inf, a row of NaN only 0), as gander::argmax on the host. One block a row; `out` may be pinned
// host memory (the card writes the ids across the link). rows <= 65,535.
cudaError_t argmax_rows(const float* x, long long n, long long pitch, int rows, std::int32_t* out,
                        cudaStream_t stream);

} // namespace gander::kernels
