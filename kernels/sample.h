// Picking the next token on the card, so that only the chosen id crosses to the host: the greedy
// pick (argmax_rows) and the Sampler's draw (draw_rows).
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace gander::kernels {

// The greedy pick of each of `rows` rows: out[r] = the index i < n of the largest
// x[r * pitch + i], the lowest on a tie; NaN is never picked (a row of NaN and -inf gives its first
// -inf, a row of NaN only 0), as gander::argmax on the host. One block a row; `out` may be pinned
// host memory (the card writes the ids across the link). rows <= 65,535.
cudaError_t argmax_rows(const float* x, long long n, long long pitch, int rows, std::int32_t* out,
                        cudaStream_t stream);

// One row's draw, as gander::Sampler::plan_draw gives it (gander/sampler.h).
struct DrawRow {
    double u = 0.0;     // the draw's uniform in [0, 1), from the sampler's stream
    float top_p = 1.0f; // >= 1: off
    float inv_temperature = 1.0f;
    std::int32_t temperature_one = 1; // temperature 1: the weights are the probabilities
    std::int32_t n = 0;               // draw among logits [0, n); 0: no draw in this row (out -1)
    std::int32_t penalties = 0;       // entries of the row's penalty list
    std::int32_t unused = 0;
};
struct DrawPenalty {
    std::int32_t token; // < n, each at most once a list
    float amount;       // subtracted from the token's logit (after NaN became -inf)
};
constexpr int kDrawMaxPenalties = 4096; // entries a row's list holds
constexpr int kDrawMaxVocab = 1 << 17;  // the largest n

// For each of `rows` rows (logits at x + r * pitch, pitch >= every row's n): the token
// gander::Sampler::sample() would draw from its first params[r].n logits, with top-k off and a
// temperature > 0, given the draw's uniform and the penalty list pen[r * kDrawMaxPenalties ...].
// The same token, up to sums that land within rounding of a boundary (sample.cu says which).
// out[r] = the token; -1 when the row has n = 0 or every one of its logits is -inf or NaN (the
// host's sampler then reports the latter). `params`, `pen` and `out` may be pinned host memory;
// `scratch` holds 2 * pitch floats a row on the card. One block a row, launched so that it may
// start while the kernel before it runs (it reads the settings and penalties before it waits).
// rows <= 65,535.
cudaError_t draw_rows(const float* x, long long pitch, int rows, const DrawRow* params,
                      const DrawPenalty* pen, float* scratch, std::int32_t* out,
                      cudaStream_t stream);

} // namespace gander::kernels
