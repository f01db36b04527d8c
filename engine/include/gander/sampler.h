// Sampling the next token from logits, with the RWKV penalty semantics.
//
// Penalties act on the logits before sampling: logit[t] -= presence + frequency * count[t], where
// count[t] is the decayed number of times t was sampled (each step every count is multiplied by
// `penalty_decay`, then the chosen token's count grows by 1). Then, as in ChatRWKV: top-p on the
// softmax (every token at least as probable as the one where the descending cumulative sum reaches
// top_p is kept), top-k (0 or >= V: off), and temperature applied to the kept tokens
// (softmax(logits / T) over them). Temperature 0 is greedy: the argmax after penalties, the lowest
// id on a tie. top_p >= 1 is off; top_p <= 0 keeps only the most probable token(s).
// NaN logits count as -inf; if some logits are +inf, those tokens share all the probability; if
// every logit is -inf or NaN, sample() throws Error.
// Threads: a Sampler belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gander {

// Threads to sample a batch of sessions side by side (the server's pool, the benchmark's picks):
// one a core, at most 8 (a step's sampling then stays well under the card's share of it).
int sampling_threads();

// The greedy pick: the index of the largest value, the lowest on a tie; NaN is never picked
// (with every value NaN or -inf, index 0). Two passes over SSE lanes (std::max_element is one
// dependent chain: ~10x slower at -O2), for the Sampler's greedy pass and the benchmark's picks.
// Empty input: -1.
std::int32_t argmax(std::span<const float> values);

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

// What a draw made where the logits are (Session::feed_sampled: the CUDA backend draws on the
// card, kernels/sample.h draw_rows) needs to pick the token sample() would: the settings, the
// draw's uniform from the sampler's stream, and the penalties to subtract first.
struct DrawPlan {
    double u = 0.0;     // in [0, 1)
    float top_p = 1.0f; // >= 1: off
    float inv_temperature = 1.0f;
    bool temperature_one = true; // the weights are the probabilities themselves
    std::vector<std::pair<std::int32_t, float>> penalties; // (token, amount), each token once
};

class Sampler {
public:
    // Throws Error on a negative or non-finite temperature, top_k < 0, NaN top_p, non-finite
    // penalties or a decay outside [0, 1].
    explicit Sampler(const SamplerParams& params);
    // Picks a token and records it for the penalties. Throws Error on empty logits.
    std::int32_t sample(std::span<const float> logits);
    // Records a token that was fed without being sampled (e.g. a forced token), exactly as a
    // sampled one: every count decays, then the token's count grows by 1.
    void accept(std::int32_t token);
    void reset(); // forget penalties; the random stream continues
    const SamplerParams& params() const { return m_params; }
    // Whether sample(logits) is argmax(logits), whatever came before: greedy (temperature 0, or
    // so small that 1/T overflows) without penalties. Such a pick may then be made where the
    // logits are (Session::feed_greedy) instead of by sample(): its record of tokens is only for
    // the penalties. (sample() throws where every logit is -inf or NaN; argmax gives 0.)
    bool picks_argmax() const;
    // Whether the next draw over `vocab` logits may be made elsewhere by plan_draw: a temperature
    // above 0 (not greedy), top-k off (0 or >= vocab) and at most max_penalties penalised tokens
    // below vocab.
    bool can_plan(std::size_t vocab, std::size_t max_penalties) const;
    // The next draw's plan (only when can_plan): takes the draw's uniform from the random stream
    // as sample() does; the caller then records the token it picks with accept(). A draw that finds
    // every logit -inf or NaN has nothing to pick: sample() over those logits says so (and draws no
    // uniform).
    void plan_draw(std::size_t vocab, DrawPlan& plan);

private:
    bool greedy() const;                // temperature 0: the argmax after penalties
    float penalty(float count) const;   // subtracted from the logit of a token seen `count` times
    std::int32_t draw(float max_logit); // temperature > 0: top-p, top-k, then one uniform draw
    double exp_pass(float max_logit, float inv_temperature);
    // Tokens with their buckets (ids null: every token, in id order) and the sums of buckets
    // [0, n_buckets); near: a list of the tokens close to the best only (keep_top may give up).
    struct Buckets {
        const std::int32_t* ids;
        const std::uint16_t* bucket;
        std::size_t n;
        const double* mass;
        const std::uint32_t* count;
        int n_buckets;
        bool near;
    };
    bool keep_top(const Buckets& in, double total_mass, bool use_top_p, bool use_top_k);
    std::size_t keep_by_mass(double p_mass, double cum);
    bool keep_top_near(float max_logit, double total_mass, bool use_top_p, bool use_top_k);

    SamplerParams m_params;
    std::mt19937_64 m_rng;
    std::unordered_map<std::int32_t, float> m_counts;
    std::vector<float> m_work;                 // the logits after penalties
    std::vector<float> m_probs;                // unnormalised probabilities, then sampling weights
    std::vector<std::int32_t> m_order;         // candidate, then kept, token ids
    std::vector<std::uint16_t> m_bucket;       // per token: bucket of max_logit - logit
    std::vector<double> m_bucket_mass;         // per bucket: sum of unnormalised p
    std::vector<std::uint32_t> m_bucket_count; // per bucket: number of tokens
    std::size_t m_buckets_used = 0;            // buckets [0, this) may be non-zero
    std::vector<std::int32_t> m_near;          // keep_top_near: tokens within 4 nats of the best
    std::vector<std::uint16_t> m_near_bucket;  // and their buckets
    std::vector<std::uint8_t> m_mark;          // keep_top: the boundary bucket's kept tokens
    std::vector<std::uint16_t> m_sub;          // keep_by_mass: each candidate's finer bucket
    std::vector<std::int32_t> m_regions;       // keep_by_mass: the candidates by region
};

} // namespace gander
