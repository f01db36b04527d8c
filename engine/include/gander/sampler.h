// Sampling the next token from logits, with the RWKV penalty semantics.
//
// Penalties act on the logits before sampling: logit[t] -= presence + frequency * count[t], where
// count[t] is the decayed number of times t was sampled (each step every count is multiplied by
// `penalty_decay`, then the chosen token's count grows by 1). Temperature 0 is greedy.
// Threads: a Sampler belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace gander {

struct SamplerParams {
    // RWKV-7 G1 chat defaults.
    float temperature = 1.0f;
    float top_p = 0.3f;
    int top_k = 0; // 0: off
    float presence_penalty = 0.5f;
    float frequency_penalty = 0.5f;
    float penalty_decay = 0.996f;
    std::uint64_t seed = 0; // same seed, same logits -> same tokens
};

class Sampler {
public:
    explicit Sampler(const SamplerParams& params);
    // Picks a token and records it for the penalties. Throws Error on empty logits.
    std::int32_t sample(std::span<const float> logits);
    // Records a token that was fed without being sampled (e.g. a forced token).
    void accept(std::int32_t token);
    void reset(); // forget penalties; the random stream continues
    const SamplerParams& params() const { return m_params; }

private:
    SamplerParams m_params;
    std::mt19937_64 m_rng;
    std::unordered_map<std::int32_t, float> m_counts;
    std::vector<float> m_work;
    std::vector<std::int32_t> m_order;
};

} // namespace gander
