// Picks the next token from logits the way ChatRWKV does, fast enough for V = 65,536 every step.
//
// Order of operations (ChatRWKV's `sample_logits` after its occurrence penalties):
//   1. logit[t] -= presence + frequency * count[t] for every token seen so far;
//   2. p = softmax(logits); top-p keeps every token whose p is at least the p at which the
//      descending cumulative sum first reaches top_p (ties at the cut are all kept);
//   3. top-k keeps the k most probable of those (ties broken by the lower id);
//   4. temperature: the kept p are raised to 1/T and renormalised, i.e. softmax(logits / T) over
//      the kept set;
//   5. one uniform draw picks the token, walking the kept tokens in id order; then every count
//      decays and the token's count grows by 1.
//
// Sorting 65,536 probabilities every step would cost more than the rest together. Instead each
// token goes into a bucket by its distance d = max_logit - logit (1/64 nat wide), and the buckets'
// masses and counts say in which bucket the top-p or top-k cut falls; only that bucket's tokens
// get sorted. In a nearly flat distribution that bucket may hold every token (sorting 65,536 took
// 5-12 ms): it is narrowed by finer buckets first (keep_by_mass), and top-k takes nth_element.
//
// exp() is our own (a Cody-Waite reduction and a short polynomial, ~2 ulp): the library's costs
// about as much as everything else here, and ours gives the same bits on every platform, which the
// seeded reproducibility promise needs as much as our own uniform conversion does.
#include "gander/sampler.h"
#include "gander/gander.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <thread>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gander {

namespace {

// The per-token passes get an AVX2 copy beside the baseline one where the toolchain can pick
// between them at load time (GCC / Clang on x86-64 ELF): 8 lanes instead of 4. AVX2 alone, not
// FMA: the same IEEE operations in the same order, so the same bits either way.
#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__))
#define GANDER_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GANDER_AVX2_CLONES
#endif

constexpr int kBuckets = 4096;
constexpr float kBucketsPerNat = 64.0f;    // buckets cover d in [0, 64); the last takes the rest
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// A double in [0, 1) from the top 53 bits, so results do not depend on the standard library's
// distribution code (which differs between libstdc++, libc++ and MSVC).
double uniform01(std::mt19937_64& rng) {
    return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

// e^-d for d >= 0 (d may be +inf). Below e^-87 the result is 0: such a token is 1e-38 times less
// likely than the best one. The clamp and the cut are done on the bits (for d >= 0 their integer
// order is the float order): float compares and selects would stop the compiler from vectorising
// loops over this function, as it must assume that they can trap.
inline float exp_neg(float d) {
    const auto limit = std::bit_cast<std::int32_t>(87.0f);
    const auto bits = std::bit_cast<std::int32_t>(d);
    const float x = -std::bit_cast<float>(std::min(bits, limit));
    // n = round(x / ln 2) by the 1.5 * 2^23 trick (exact for |x / ln 2| < 2^22).
    const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    // r = x - n ln 2 with ln 2 split in two so that n * hi is exact.
    const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-6f;
    const float p =
        1.0f +
        r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r / 720)))));
    const auto scale = std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
    const std::int32_t keep = -static_cast<std::int32_t>(bits < limit);
    return std::bit_cast<float>(std::bit_cast<std::int32_t>(p * scale) & keep);
}

// e[i] = e^((l[i] - max) * inv_t) for all i; returns their sum. This pass is most of the sampler's
// time: the fixed 8-wide inner loop over restrict pointers is what the compiler vectorises at -O2,
// and the sum runs in four independent chains (in a fixed order, so it is reproducible).
GANDER_AVX2_CLONES double exp_all(const float* __restrict l, float* __restrict e, std::size_t V,
                                  float max, float inv_t) {
    std::size_t i = 0;
    for (; i + 8 <= V; i += 8)
        for (std::size_t j = 0; j < 8; ++j) e[i + j] = exp_neg((max - l[i + j]) * inv_t);
    for (; i < V; ++i) e[i] = exp_neg((max - l[i]) * inv_t);

    double chains[4] = {};
    for (i = 0; i + 4 <= V; i += 4)
        for (std::size_t j = 0; j < 4; ++j) chains[j] += e[i + j];
    for (; i < V; ++i) chains[0] += e[i];
    return (chains[0] + chains[1]) + (chains[2] + chains[3]);
}

// Token ids best first: the larger logit (after penalties), then the lower id; a total order.
struct Better {
    const float* logits;
    bool operator()(std::int32_t a, std::int32_t b) const {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    }
};

std::uint16_t bucket_of(float d) {
    return d < kBuckets / kBucketsPerNat ? static_cast<std::uint16_t>(d * kBucketsPerNat)
                                         : static_cast<std::uint16_t>(kBuckets - 1);
}

// The ids i with max - w[i] < limit, in id order, into out (room for V); returns how many.
// Most tokens are far from the best: the test runs four at a time and only hits go one by one.
std::size_t near_tokens(const float* w, std::size_t V, float max, float limit, std::int32_t* out) {
    std::size_t n = 0, i = 0;
#if defined(__SSE2__)
    const __m128 mx = _mm_set1_ps(max), lim = _mm_set1_ps(limit);
    for (; i + 4 <= V; i += 4) {
        int hit = _mm_movemask_ps(_mm_cmplt_ps(_mm_sub_ps(mx, _mm_loadu_ps(w + i)), lim));
        while (hit) {
            out[n++] = static_cast<std::int32_t>(i + std::size_t(std::countr_zero(unsigned(hit))));
            hit &= hit - 1;
        }
    }
#endif
    for (; i < V; ++i)
        if (max - w[i] < limit) out[n++] = static_cast<std::int32_t>(i);
    return n;
}

// logits with NaN as -inf into w. On the bits (NaN: exponent all ones, mantissa not zero), as
// exp_neg does: a float compare would keep the compiler from vectorising the loop.
GANDER_AVX2_CLONES void without_nan(const float* __restrict l, float* __restrict w, std::size_t V) {
    const auto one = [](float v) {
        const auto bits = std::bit_cast<std::uint32_t>(v);
        return std::bit_cast<float>((bits & 0x7FFFFFFFu) > 0x7F800000u ? 0xFF800000u : bits);
    };
    std::size_t i = 0;
    for (; i + 8 <= V; i += 8) // fixed 8-wide, as in exp_all: vectorised at -O2 too
        for (std::size_t j = 0; j < 8; ++j) w[i + j] = one(l[i + j]);
    for (; i < V; ++i) w[i] = one(l[i]);
}

void check_params(const SamplerParams& p) {
    if (!(p.temperature >= 0.0f) || !std::isfinite(p.temperature))
        throw Error("sampler: temperature must be a finite number >= 0, got " +
                    std::to_string(p.temperature));
    if (std::isnan(p.top_p)) throw Error("sampler: top_p is NaN");
    if (p.top_k < 0) throw Error("sampler: top_k must be >= 0, got " + std::to_string(p.top_k));
    if (!std::isfinite(p.presence_penalty) || !std::isfinite(p.frequency_penalty))
        throw Error("sampler: penalties must be finite");
    if (!(p.penalty_decay >= 0.0f && p.penalty_decay <= 1.0f))
        throw Error("sampler: penalty_decay must be in [0, 1], got " +
                    std::to_string(p.penalty_decay));
}

} // namespace

Sampler::Sampler(const SamplerParams& params) : m_params(params), m_rng(params.seed) {
    check_params(params);
}

void Sampler::reset() {
    m_counts.clear();
}

void Sampler::accept(std::int32_t token) {
    for (auto& [t, count] : m_counts) count *= m_params.penalty_decay;
    m_counts[token] += 1.0f;
}

int sampling_threads() {
    return int(std::clamp(std::thread::hardware_concurrency(), 1u, 8u));
}

std::int32_t argmax(std::span<const float> values) {
    if (values.empty()) return -1;
    // Pass 1: the maximum over independent lanes (max(v, lane) keeps the lane when v is NaN, so
    // NaN never enters); pass 2: the first index holding it. SSE where the compiler has it (every
    // x86-64): the compilers left the plain lanes scalar (GCC 12, -O3), ~3x slower.
    const float* p = values.data();
    const std::size_t n = values.size();
    std::size_t i = 0;
    float max = kNegInf;
#if defined(__SSE2__)
    if (n >= 16) {
        __m128 l0 = _mm_set1_ps(kNegInf), l1 = l0, l2 = l0, l3 = l0;
        for (; i + 16 <= n; i += 16) {
            l0 = _mm_max_ps(_mm_loadu_ps(p + i), l0);
            l1 = _mm_max_ps(_mm_loadu_ps(p + i + 4), l1);
            l2 = _mm_max_ps(_mm_loadu_ps(p + i + 8), l2);
            l3 = _mm_max_ps(_mm_loadu_ps(p + i + 12), l3);
        }
        alignas(16) float lane[16];
        _mm_store_ps(lane, l0);
        _mm_store_ps(lane + 4, l1);
        _mm_store_ps(lane + 8, l2);
        _mm_store_ps(lane + 12, l3);
        for (float v : lane) max = v > max ? v : max;
    }
#endif
    for (; i < n; ++i) max = p[i] > max ? p[i] : max;
    std::size_t j = 0;
#if defined(__SSE2__)
    const __m128 m = _mm_set1_ps(max);
    for (; j + 4 <= n; j += 4)
        if (const int hit = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(p + j), m)))
            return std::int32_t(j + std::size_t(std::countr_zero(unsigned(hit))));
#endif
    for (; j < n; ++j)
        if (p[j] == max) return std::int32_t(j);
    return 0; // every value NaN
}

std::int32_t Sampler::sample(std::span<const float> logits) {
    if (logits.empty()) throw Error("sampler: empty logits");
    const std::size_t V = logits.size();

    // NaN is treated as "never this token".
    m_work.resize(V);
    without_nan(logits.data(), m_work.data(), V);
    for (const auto& [t, count] : m_counts)
        if (t >= 0 && static_cast<std::size_t>(t) < V)
            m_work[static_cast<std::size_t>(t)] -= penalty(count);

    const std::int32_t best = argmax(m_work);
    float max = m_work[std::size_t(best)];
    if (max == kNegInf) throw Error("sampler: every logit is -inf or NaN");
    if (max == std::numeric_limits<float>::infinity()) {
        // The limit of softmax as those logits grow: the +inf tokens share all the probability.
        for (float& l : m_work) l = l == max ? 0.0f : kNegInf;
        max = 0.0f;
    }

    const std::int32_t token = greedy() ? best : draw(max);
    accept(token);
    return token;
}

bool Sampler::greedy() const {
    // A temperature so small that 1/T overflows is greedy too (and would make 0 * inf = NaN).
    return !(m_params.temperature > 0.0f && std::isfinite(1.0f / m_params.temperature));
}

float Sampler::penalty(float count) const {
    return m_params.presence_penalty + m_params.frequency_penalty * count;
}

bool Sampler::can_plan(std::size_t vocab, std::size_t max_penalties) const {
    if (greedy() || (m_params.top_k > 0 && static_cast<std::size_t>(m_params.top_k) < vocab))
        return false;
    if (m_params.presence_penalty == 0.0f && m_params.frequency_penalty == 0.0f) return true;
    std::size_t n = 0;
    for (const auto& entry : m_counts)
        n += entry.first >= 0 && static_cast<std::size_t>(entry.first) < vocab;
    return n <= max_penalties;
}

void Sampler::plan_draw(std::size_t vocab, DrawPlan& plan) {
    plan.top_p = m_params.top_p;
    plan.temperature_one = m_params.temperature == 1.0f;
    plan.inv_temperature = 1.0f / m_params.temperature;
    plan.penalties.clear();
    // Penalties of 0 change no logit (x - 0 is x): none to send.
    if (m_params.presence_penalty != 0.0f || m_params.frequency_penalty != 0.0f)
        for (const auto& [t, count] : m_counts)
            if (t >= 0 && static_cast<std::size_t>(t) < vocab)
                plan.penalties.emplace_back(t, penalty(count));
    plan.u = uniform01(m_rng); // as draw() takes it, once a draw
}

bool Sampler::picks_argmax() const {
    return greedy() && m_params.presence_penalty == 0.0f && m_params.frequency_penalty == 0.0f;
}

std::int32_t Sampler::draw(float max) {
    const std::size_t V = m_work.size();
    const bool use_top_p = m_params.top_p < 1.0f;
    const bool use_top_k = m_params.top_k > 0 && static_cast<std::size_t>(m_params.top_k) < V;

    m_probs.resize(V);
    const double total = exp_pass(max, 1.0f);
    if ((use_top_p || use_top_k) && !keep_top_near(max, total, use_top_p, use_top_k)) {
        // The cut lies far from the best token: every token gets its bucket. Only the buckets the
        // last call used are cleared: with a small vocabulary, clearing all
        // 4096 would cost more than the rest of the call.
        if (m_bucket_mass.size() != kBuckets) {
            m_bucket_mass.assign(kBuckets, 0.0);
            m_bucket_count.assign(kBuckets, 0);
            m_buckets_used = 0;
        }
        std::fill_n(m_bucket_mass.begin(), m_buckets_used, 0.0);
        std::fill_n(m_bucket_count.begin(), m_buckets_used, 0u);
        m_bucket.resize(V);
        std::uint16_t last = 0;
        for (std::size_t i = 0; i < V; ++i) {
            const std::uint16_t b = bucket_of(max - m_work[i]);
            m_bucket[i] = b;
            m_bucket_mass[b] += m_probs[i];
            ++m_bucket_count[b];
            last = std::max(last, b);
        }
        m_buckets_used = static_cast<std::size_t>(last) + 1;
        keep_top({nullptr, m_bucket.data(), V, m_bucket_mass.data(), m_bucket_count.data(),
                  int(m_buckets_used), false},
                 total, use_top_p, use_top_k);
    } else if (!use_top_p && !use_top_k) {
        m_order.resize(V);
        for (std::size_t i = 0; i < V; ++i) m_order[i] = static_cast<std::int32_t>(i);
    }

    // Temperature over the kept set: p^(1/T), computed from the logits to keep precision.
    double sum = 0.0;
    if (m_params.temperature == 1.0f) {
        for (const std::int32_t t : m_order) sum += m_probs[static_cast<std::size_t>(t)];
    } else {
        const float inv_t = 1.0f / m_params.temperature;
        for (const std::int32_t t : m_order) {
            const auto i = static_cast<std::size_t>(t);
            m_probs[i] = exp_neg((max - m_work[i]) * inv_t);
            sum += m_probs[i];
        }
    }
    const double target = uniform01(m_rng) * sum;
    double acc = 0.0;
    std::int32_t last_nonzero = m_order.front();
    for (const std::int32_t t : m_order) {
        const float w = m_probs[static_cast<std::size_t>(t)];
        if (w <= 0.0f) continue;
        acc += w;
        last_nonzero = t;
        if (acc > target) return t;
    }
    return last_nonzero; // rounding left `acc` a hair short of `target`
}

double Sampler::exp_pass(float max, float inv_t) {
    return exp_all(m_work.data(), m_probs.data(), m_work.size(), max, inv_t);
}

// When the cut falls within kNear buckets (4 nats) of the best token, as it does for the chat
// default (top-p 0.3) on a trained model's logits, only the tokens that close need a bucket: the
// bucket sums there are those of the full pass (the same tokens added in the same order), so the
// decision is the same. Returns false, having decided nothing, when the cut lies further out (a
// flat distribution, top-p 0.9, a large top-k); the full pass then runs (~15 us more for this).
// V = 65,536, top-p 0.3, logits N(0, 3), here: 250 us a call before (the bucket pass over every
// token was ~100 of it), ~85 with this and the AVX2 passes.
bool Sampler::keep_top_near(float max, double total, bool use_top_p, bool use_top_k) {
    constexpr int kNear = 256;
    constexpr float kNearD = kNear / kBucketsPerNat; // bucket_of(d) < kNear exactly when d < this
    const std::size_t V = m_work.size();
    m_near.resize(V);
    const std::size_t n = near_tokens(m_work.data(), V, max, kNearD, m_near.data());
    m_near_bucket.resize(n);
    std::array<double, kNear> mass{};
    std::array<std::uint32_t, kNear> count{};
    for (std::size_t j = 0; j < n; ++j) {
        const auto i = static_cast<std::size_t>(m_near[j]);
        const std::uint16_t b = bucket_of(max - m_work[i]);
        m_near_bucket[j] = b;
        mass[b] += m_probs[i];
        ++count[b];
    }
    return keep_top({m_near.data(), m_near_bucket.data(), n, mass.data(), count.data(), kNear, true},
                    total, use_top_p, use_top_k);
}

// Leaves in m_order the ids that top-p and top-k keep, in id order, from the bucket sums of the
// listed tokens. Every token of a lower bucket is more probable than every token of a higher one,
// so the kept set is "all buckets below the boundary bucket, and the best few of it". A near list
// gives up (false) where the boundary would lie past its buckets.
bool Sampler::keep_top(const Buckets& in, double total, bool use_top_p, bool use_top_k) {
    const auto id = [&](std::size_t j) { return in.ids ? in.ids[j] : static_cast<std::int32_t>(j); };
    const Better better{m_work.data()};
    // m_order := the tokens of bucket b, in id order. Stores without branches: in a nearly flat
    // distribution whether a token is taken is a coin toss, which a branch pays for.
    const auto gather = [&](int b) {
        m_order.resize(in.n);
        std::size_t n = 0;
        for (std::size_t j = 0; j < in.n; ++j) {
            m_order[n] = id(j);
            n += in.bucket[j] == b;
        }
        m_order.resize(n);
    };

    int boundary = in.n_buckets;
    std::size_t keep_in_boundary = 0; // m_order's first this many: the boundary bucket's kept
    std::size_t kept = m_work.size();
    if (use_top_p) {
        const double p_mass = static_cast<double>(std::max(m_params.top_p, 0.0f)) * total;
        double cum = 0.0;
        std::size_t before = 0;
        int b = 0;
        // The full list stops at its last bucket, should rounding keep the sum short of p_mass.
        const int last = in.near ? in.n_buckets : in.n_buckets - 1;
        for (; b < last; ++b) {
            if (cum + in.mass[b] >= p_mass && in.count[b] > 0) break;
            cum += in.mass[b];
            before += in.count[b];
        }
        if (b == in.n_buckets) return false;
        gather(b);
        boundary = b;
        keep_in_boundary = keep_by_mass(p_mass, cum);
        kept = before + keep_in_boundary;
    }
    const auto k = static_cast<std::size_t>(m_params.top_k);
    if (use_top_k && kept > k) {
        // Top-k's set is then a prefix of top-p's: the k best overall.
        std::size_t before = 0;
        int b = 0;
        while (b < in.n_buckets && before + in.count[b] < k) before += in.count[b++];
        if (b == in.n_buckets) return false;
        gather(b);
        boundary = b;
        keep_in_boundary = k - before;
        // The best keep_in_boundary first (exactly the sorted order's prefix: `better` is total).
        std::nth_element(m_order.begin(), m_order.begin() + std::ptrdiff_t(keep_in_boundary),
                         m_order.end(), better);
    }
    // The kept, by id: every listed token of a bucket below the boundary, and the boundary's
    // marked ones (one pass in id order: a flat distribution keeps tens of thousands).
    m_mark.resize(m_work.size());
    for (std::size_t j = 0; j < keep_in_boundary; ++j) m_mark[std::size_t(m_order[j])] = 1;
    m_order.resize(in.n);
    std::size_t n = 0;
    for (std::size_t j = 0; j < in.n; ++j) {
        const std::int32_t t = id(j);
        const int b = in.bucket[j];
        m_order[n] = t;
        n += std::size_t(b < boundary) | (std::size_t(b == boundary) & m_mark[std::size_t(t)]);
        m_mark[std::size_t(t)] = 0;
    }
    m_order.resize(n);
    return true;
}

// Top-p's cut in the boundary bucket, whose tokens are in m_order and whose better buckets hold
// `cum` of the mass: walking its tokens best first, the cut is the first at which the sum reaches
// p_mass; that token, every better one and every one tied with it are kept. Moves them to the
// front of m_order and returns how many. A bucket of up to kSortAll tokens (every bucket of a
// trained model's logits seen so far) is sorted whole, as before. A larger one (a nearly flat
// distribution: 1/64 nat may hold every token) is narrowed first: its range of logits in kSub
// finer buckets, whose masses say which holds the cut; the better ones are kept, the worse
// dropped, again until the cut's is small or all its tokens are tied (then all are kept; tied
// tokens always share a finer bucket). Only the summation order of the narrowed bucket's masses
// differs from a sort's walk, within double rounding.
std::size_t Sampler::keep_by_mass(double p_mass, double cum) {
    constexpr std::size_t kSortAll = 512;
    constexpr int kSub = 1024;
    const float* l = m_work.data(); // the logits: larger is better
    const Better better{l};
    const auto first = m_order.begin();
    std::size_t lo = 0, hi = m_order.size(); // the cut lies in [lo, hi); [0, lo) is better
    std::array<double, kSub> mass;
    std::array<std::uint32_t, kSub> count;
    while (hi - lo > kSortAll) {
        float l_min = l[m_order[lo]], l_max = l_min;
        for (std::size_t j = lo; j < hi; ++j) {
            l_min = std::min(l_min, l[m_order[j]]);
            l_max = std::max(l_max, l[m_order[j]]);
        }
        if (l_min == l_max) return hi; // all tied: the cut's ties are all of them
        // Sub-bucket 0 holds the best: by the distance below l_max, kSub over [l_min, l_max].
        // (-inf logits, mass 0, only in the last bucket: with l_min = -inf, per is 0, the finite
        // ones go to sub-bucket 0 and the -inf ones, at inf * 0 = NaN, to the last.)
        const double top = l_max, per = kSub / ((double(l_max) - double(l_min)) * (1.0 + 1e-9));
        const auto sub = [&](std::int32_t t) {
            const double x = (top - l[t]) * per;
            return x < kSub ? int(x) : kSub - 1;
        };
        mass.fill(0.0);
        count.fill(0);
        m_sub.resize(hi - lo);
        for (std::size_t j = lo; j < hi; ++j) {
            const auto sb = static_cast<std::uint16_t>(sub(m_order[j]));
            m_sub[j - lo] = sb;
            mass[sb] += m_probs[static_cast<std::size_t>(m_order[j])];
            ++count[sb];
        }
        int cut_sb = 0;
        std::size_t better_n = 0;
        for (; cut_sb < kSub - 1; ++cut_sb) {
            const auto sb = static_cast<std::size_t>(cut_sb);
            if (cum + mass[sb] >= p_mass && count[sb] > 0) break;
            cum += mass[sb];
            better_n += count[sb];
        }
        // [lo, hi) := the cut's sub-bucket, after the better ones; the worse ones past hi. One
        // pass into m_regions by region (0 better, 1 the cut's, 2 worse), without branches.
        const std::size_t cut_n = count[std::size_t(cut_sb)];
        m_regions.resize(hi - lo);
        std::size_t at[3] = {0, better_n, better_n + cut_n};
        for (std::size_t j = lo; j < hi; ++j) {
            const int sb = m_sub[j - lo];
            m_regions[at[int(sb >= cut_sb) + int(sb > cut_sb)]++] = m_order[j];
        }
        std::copy(m_regions.begin(), m_regions.end(), first + std::ptrdiff_t(lo));
        lo += better_n;
        hi = lo + cut_n;
    }
    std::sort(first + std::ptrdiff_t(lo), first + std::ptrdiff_t(hi), better);
    std::size_t cut = hi - 1;
    for (std::size_t j = lo; j < hi; ++j) {
        cum += m_probs[static_cast<std::size_t>(m_order[j])];
        if (cum >= p_mass) {
            cut = j;
            break;
        }
    }
    // Tokens tied with the cut are kept too; sorted, they follow it.
    std::size_t keep = cut + 1;
    while (keep < hi && l[m_order[keep]] == l[m_order[cut]]) ++keep;
    return keep;
}

} // namespace gander
