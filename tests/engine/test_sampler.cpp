// The sampler: greedy and seeded sampling, top-k / top-p / temperature against hand computations
// and a plain full-sort reference, the RWKV presence/frequency penalties with decay, and the
// handling of bad logits.
#include "check.h"

#include "gander/gander.h"
#include "gander/sampler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <vector>

namespace {

gander::SamplerParams plain(float temperature, std::uint64_t seed = 1) {
    gander::SamplerParams p;
    p.temperature = temperature;
    p.top_p = 1.0f;
    p.top_k = 0;
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.0f;
    p.penalty_decay = 1.0f;
    p.seed = seed;
    return p;
}

std::vector<float> random_logits(std::size_t n, std::uint64_t seed, float scale = 3.0f) {
    std::mt19937_64 rng(seed);
    std::vector<float> v(n);
    // A Gaussian from 12 uniforms keeps this independent of std::normal_distribution's algorithm.
    for (auto& x : v) {
        double s = 0;
        for (int i = 0; i < 12; ++i) s += static_cast<double>(rng() >> 11) * 0x1.0p-53;
        x = static_cast<float>((s - 6.0) * scale);
    }
    return v;
}

std::int32_t argmax(const std::vector<float>& v) {
    return static_cast<std::int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
    const double m = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p(logits.size());
    double z = 0;
    for (std::size_t i = 0; i < p.size(); ++i) z += p[i] = std::exp((logits[i] - m) / temperature);
    for (auto& x : p) x /= z;
    return p;
}

// Draws n tokens and checks each frequency against `want` within 5 standard deviations.
void check_distribution(gander::Sampler& s, const std::vector<float>& logits,
                        const std::vector<double>& want, int n) {
    std::vector<int> counts(logits.size(), 0);
    for (int i = 0; i < n; ++i) ++counts[static_cast<std::size_t>(s.sample(logits))];
    for (std::size_t t = 0; t < logits.size(); ++t) {
        const double f = static_cast<double>(counts[t]) / n;
        const double sigma = std::sqrt(std::max(want[t] * (1 - want[t]), 1e-12) / n);
        CHECK_MSG(std::abs(f - want[t]) <= 5 * sigma + 1e-12,
                  "token " << t << ": frequency " << f << ", expected " << want[t]);
    }
}

// ChatRWKV's sample_logits written plainly: double precision, a full sort, and the same uniform
// draw walking the kept tokens in id order as the sampler does. The two can only differ when a
// draw lands within float rounding of a boundary, which these few hundred draws do not.
std::int32_t reference_sample(const std::vector<float>& logits, const gander::SamplerParams& p,
                              std::mt19937_64& rng) {
    const std::size_t V = logits.size();
    const double max = *std::max_element(logits.begin(), logits.end());
    std::vector<double> e(V);
    double z = 0;
    for (std::size_t i = 0; i < V; ++i) z += e[i] = std::exp(logits[i] - max);
    std::vector<std::int32_t> order(V);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    std::size_t keep = V;
    if (p.top_p < 1.0f) {
        double cum = 0;
        std::size_t cut = V - 1;
        for (std::size_t j = 0; j < V; ++j)
            if ((cum += e[order[j]]) >= p.top_p * z) {
                cut = j;
                break;
            }
        keep = cut + 1;
        while (keep < V && logits[order[keep]] == logits[order[cut]]) ++keep;
    }
    if (p.top_k > 0) keep = std::min<std::size_t>(keep, p.top_k);
    order.resize(keep);
    std::sort(order.begin(), order.end()); // the walk is in id order
    std::vector<double> w(V);
    double sum = 0;
    for (auto t : order) sum += w[t] = std::exp((logits[t] - max) / p.temperature);
    const double target = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
    double acc = 0;
    for (auto t : order)
        if ((acc += w[t]) > target) return t;
    return order.back();
}

// n draws of a Sampler (top-p, top-k and temperature as given, seeded `seed`) against the
// reference's, step i over logits_of(i); returns how many differ, each printed.
int reference_mismatches(float temperature, float top_p, int top_k, std::uint64_t seed, int n,
                         const std::function<std::vector<float>(int)>& logits_of) {
    auto params = plain(temperature, seed);
    params.top_p = top_p;
    params.top_k = top_k;
    gander::Sampler s(params);
    std::mt19937_64 ref_rng(seed);
    int mismatches = 0;
    for (int step = 0; step < n; ++step) {
        const auto logits = logits_of(step);
        const auto got = s.sample(logits);
        const auto want = reference_sample(logits, params, ref_rng);
        if (got != want) {
            ++mismatches;
            std::fprintf(stderr, "  T %g top-p %g top-k %d step %d: got %d want %d\n", temperature,
                         top_p, top_k, step, got, want);
        }
    }
    return mismatches;
}

} // namespace

TEST_CASE("greedy is the argmax, lowest id on a tie") {
    gander::Sampler s(plain(0.0f));
    CHECK(s.sample(std::vector<float>{1, 5, 3, 5}) == 1);
    const auto logits = random_logits(65536, 7);
    gander::Sampler g(plain(0.0f));
    CHECK(g.sample(logits) == argmax(logits));
    CHECK(g.sample(std::vector<float>{-3}) == 0);
}

TEST_CASE("picks_argmax: greedy without penalties, and then the pick is the argmax") {
    CHECK(gander::Sampler(plain(0.0f)).picks_argmax());
    CHECK(gander::Sampler(plain(1e-45f)).picks_argmax()); // 1/T overflows: greedy
    CHECK(!gander::Sampler(plain(0.7f)).picks_argmax());
    auto pen = plain(0.0f);
    pen.presence_penalty = 0.5f;
    CHECK(!gander::Sampler(pen).picks_argmax());
    pen.presence_penalty = 0.0f;
    pen.frequency_penalty = -0.2f;
    CHECK(!gander::Sampler(pen).picks_argmax());
    // Top-p and top-k change nothing at temperature 0; the record of earlier tokens neither.
    auto p = plain(0.0f);
    p.top_p = 0.3f;
    p.top_k = 5;
    gander::Sampler s(p);
    REQUIRE(s.picks_argmax());
    for (int i = 0; i < 20; ++i) {
        auto logits = random_logits(4096, 100 + i);
        if (i % 3 == 0) logits[std::size_t(i) + 1] = std::numeric_limits<float>::quiet_NaN();
        const std::int32_t want = argmax(logits);
        CHECK(s.sample(logits) == want); // and recorded, for the penalties that are 0
    }
}

TEST_CASE("plan_draw: the settings, the penalties and the draw's uniform, as sample() takes them") {
    // A draw made elsewhere (Session::feed_sampled on the card) from a plan must use the uniform
    // sample() would (the stream's next 53 bits) and subtract what sample() subtracts: checked
    // against a plain recount of the penalties and the seed's own stream, with the plans taken
    // between host draws (the stream stays where sample() would have left it).
    gander::SamplerParams p; // the chat defaults: top-p 0.3, penalties 0.5 / 0.5, decay 0.996
    p.seed = 77;
    p.temperature = 0.8f;
    gander::Sampler planned(p), host(p);
    std::mt19937_64 stream(p.seed);
    std::vector<float> counts(512, 0.0f);
    std::vector<bool> seen(512, false);
    for (int i = 0; i < 30; ++i) {
        const auto logits = random_logits(512, 300 + i);
        if (i % 3 == 2) { // a host draw on both: the planned sampler's stream must be in step
            const std::int32_t t = host.sample(logits);
            CHECK(planned.sample(logits) == t);
            stream();
            for (auto& c : counts) c *= p.penalty_decay;
            counts[std::size_t(t)] += 1.0f;
            seen[std::size_t(t)] = true;
            continue;
        }
        REQUIRE(planned.can_plan(512, 4096));
        gander::DrawPlan plan;
        planned.plan_draw(512, plan);
        CHECK(plan.u == static_cast<double>(stream() >> 11) * 0x1.0p-53);
        CHECK(plan.top_p == 0.3f && plan.inv_temperature == 1.0f / 0.8f && !plan.temperature_one);
        std::size_t n_seen = 0;
        for (std::size_t t = 0; t < 512; ++t) n_seen += seen[t];
        CHECK(plan.penalties.size() == n_seen);
        for (const auto& [t, amount] : plan.penalties) {
            REQUIRE(t >= 0 && t < 512 && seen[std::size_t(t)]);
            CHECK(amount == p.presence_penalty + p.frequency_penalty * counts[std::size_t(t)]);
        }
        const std::int32_t t = host.sample(logits); // the token a card would draw
        planned.accept(t);
        for (auto& c : counts) c *= p.penalty_decay;
        counts[std::size_t(t)] += 1.0f;
        seen[std::size_t(t)] = true;
    }
    // Tokens at or past the vocabulary are not sent; without penalties none are.
    gander::DrawPlan plan;
    planned.plan_draw(100, plan);
    for (const auto& entry : plan.penalties) CHECK(entry.first < 100);
    auto nopen = p;
    nopen.presence_penalty = nopen.frequency_penalty = 0.0f;
    gander::Sampler quiet(nopen);
    quiet.accept(3);
    quiet.plan_draw(512, plan);
    CHECK(plan.penalties.empty() && !plan.temperature_one);
    // Refused: greedy, top-k below the vocabulary, more penalised tokens than the plan may hold.
    CHECK(!gander::Sampler(plain(0.0f)).can_plan(512, 4096));
    auto topk = plain(1.0f);
    topk.top_k = 5;
    CHECK(!gander::Sampler(topk).can_plan(512, 4096));
    CHECK(gander::Sampler(topk).can_plan(5, 4096)); // k >= V is off
    CHECK(!planned.can_plan(512, 3));
    CHECK(planned.can_plan(512, 4096));
    CHECK(quiet.can_plan(512, 0)); // penalties of 0 send nothing
}

TEST_CASE("argmax: the first of the largest, never NaN, at every length and tail") {
    // Reference: one plain pass (the comparison is false for NaN).
    auto reference = [](const std::vector<float>& v) {
        std::int32_t best = 0;
        float m = -std::numeric_limits<float>::infinity();
        for (std::size_t i = 0; i < v.size(); ++i)
            if (v[i] > m) {
                m = v[i];
                best = std::int32_t(i);
            }
        if (m == -std::numeric_limits<float>::infinity()) // the first -inf, or 0 if all NaN
            for (std::size_t i = 0; i < v.size(); ++i)
                if (v[i] == m) return std::int32_t(i);
        return best;
    };
    CHECK(gander::argmax({}) == -1);
    std::mt19937 rng(std::random_device{}());
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    for (std::size_t n : {1u, 2u, 15u, 16u, 17u, 31u, 33u, 100u, 65536u, 65537u}) {
        for (int trial = 0; trial < 20; ++trial) {
            std::vector<float> v(n);
            // Few distinct values (ties), NaN, +-inf; sometimes every value NaN or -inf.
            std::uniform_int_distribution<int> pick(0, 9);
            for (float& x : v) {
                const int k = pick(rng);
                x = k == 0 ? nan : k == 1 ? -inf : k == 2 && trial % 5 == 0 ? inf : float(k % 4);
                if (trial == 7) x = nan;
                if (trial == 8) x = -inf;
            }
            CHECK(gander::argmax(v) == reference(v));
        }
    }
}

TEST_CASE("same seed, same tokens; another seed, other tokens") {
    auto params = gander::SamplerParams{}; // the chat defaults, penalties on
    params.top_p = 0.9f;
    params.seed = 42;
    gander::Sampler a(params), b(params);
    params.seed = 43;
    gander::Sampler c(params);
    std::vector<std::int32_t> ta, tb, tc;
    for (int step = 0; step < 200; ++step) {
        const auto logits = random_logits(1000, 100 + step, 1.0f);
        ta.push_back(a.sample(logits));
        tb.push_back(b.sample(logits));
        tc.push_back(c.sample(logits));
    }
    CHECK(ta == tb);
    CHECK(ta != tc);
    // The sequence for seed 42 is pinned, so that a change of RNG, uniform conversion, exp or
    // walk order shows. If a change is meant, say so in its commit and update the constant.
    std::uint64_t hash = 1469598103934665603ull;
    for (auto t : ta) hash = (hash ^ static_cast<std::uint64_t>(t)) * 1099511628211ull;
    CHECK_MSG(hash == 949507335050182637ull, "sequence hash " << hash);
}

TEST_CASE("the first n logits draw as all of them with the rest at -inf") {
    // What the app, the summariser and the server rely on to keep ids the tokenizer cannot decode
    // out of a draw without copying the logits: sampling from a prefix of the logits gives, token
    // for token and from the same seed, what the whole vector with its tail at -inf gives, with
    // penalties, top-p, top-k (also one between the two lengths) and temperature.
    const float inf = std::numeric_limits<float>::infinity();
    for (int top_k : {0, 40, 65531}) {
        for (float top_p : {0.3f, 1.0f}) {
            auto params = gander::SamplerParams{}; // penalties on
            params.top_p = top_p;
            params.top_k = top_k;
            params.temperature = top_k == 40 ? 0.8f : 1.0f;
            params.seed = 7;
            gander::Sampler prefix(params), masked(params);
            for (int step = 0; step < 60; ++step) {
                auto logits = random_logits(65536, 300 + step, step % 2 ? 3.0f : 0.5f);
                const std::size_t usable = 65530;
                const auto a = prefix.sample(std::span<const float>(logits).first(usable));
                for (std::size_t t = usable; t < logits.size(); ++t) logits[t] = -inf;
                const auto b = masked.sample(logits);
                CHECK_MSG(a == b, "top-k " << top_k << " top-p " << top_p << " step " << step
                                           << ": " << a << " vs " << b);
                CHECK(a < std::int32_t(usable));
            }
        }
    }
}

TEST_CASE("top-k 1 and a tiny top-p are greedy") {
    for (std::uint64_t seed = 0; seed < 20; ++seed) {
        const auto logits = random_logits(5000, seed, 0.5f); // flat: sampling would wander
        auto k1 = plain(1.5f, seed);
        k1.top_k = 1;
        auto p0 = plain(1.5f, seed);
        p0.top_p = 1e-6f;
        auto pz = plain(1.5f, seed);
        pz.top_p = 0.0f;
        gander::Sampler sk(k1), sp(p0), sz(pz);
        for (int i = 0; i < 5; ++i) {
            CHECK(sk.sample(logits) == argmax(logits));
            CHECK(sp.sample(logits) == argmax(logits));
            CHECK(sz.sample(logits) == argmax(logits));
        }
    }
}

TEST_CASE("temperature 1 draws from the softmax; temperature 0.5 from softmax(logits / 0.5)") {
    const std::vector<float> logits{0.0f, 1.0f, 2.0f, -1.0f, 0.5f};
    gander::Sampler t1(plain(1.0f, 5));
    check_distribution(t1, logits, softmax(logits, 1.0), 200000);
    gander::Sampler t05(plain(0.5f, 6));
    check_distribution(t05, logits, softmax(logits, 0.5), 200000);
}

TEST_CASE("top-p and top-k keep the right tokens, renormalised") {
    // p = softmax = [0.0871, 0.2369, 0.6439, 0.0321] for logits [0, 1, 2, -1]
    // (sorted: 2, 1, 0, 3; cumulative 0.644, 0.881, 0.968, 1).
    const std::vector<float> logits{0.0f, 1.0f, 2.0f, -1.0f};
    const auto p = softmax(logits, 1.0);
    auto params = plain(1.0f, 9);
    params.top_p = 0.7f; // reached at token 1: keep {2, 1}
    gander::Sampler s(params);
    const double z = p[1] + p[2];
    check_distribution(s, logits, {0.0, p[1] / z, p[2] / z, 0.0}, 100000);

    params.top_p = 0.95f; // reached at token 0: keep {2, 1, 0}; top-k 2 then drops token 0
    params.top_k = 2;
    gander::Sampler k(params);
    check_distribution(k, logits, {0.0, p[1] / z, p[2] / z, 0.0}, 100000);

    // Temperature applies after the cut: the kept two at T = 2.
    params.top_k = 0;
    params.top_p = 0.7f;
    params.temperature = 2.0f;
    gander::Sampler t(params);
    const double a = std::exp(1.0 / 2), b = std::exp(2.0 / 2);
    check_distribution(t, logits, {0.0, a / (a + b), b / (a + b), 0.0}, 100000);

    // Ties at the cut are all kept (ChatRWKV keeps every p >= cutoff): uniform logits keep all.
    params = plain(1.0f, 11);
    params.top_p = 0.3f;
    gander::Sampler u(params);
    check_distribution(u, std::vector<float>(8, 0.0f), std::vector<double>(8, 0.125), 80000);
}

TEST_CASE("matches a full-sort reference on V = 65536, token for token") {
    struct Setting {
        float temperature, top_p;
        int top_k;
        float scale;
    };
    const Setting settings[] = {{1.0f, 0.3f, 0, 3.0f},   {1.0f, 0.9f, 0, 1.0f},
                                {0.7f, 0.5f, 40, 2.0f},  {1.3f, 1.0f, 0, 3.0f},
                                {1.0f, 1.0f, 100, 0.3f}, {1.0f, 0.99f, 0, 0.2f}};
    constexpr int kSteps = 15;
    std::vector<std::vector<float>> base;
    for (int step = 0; step < kSteps; ++step) base.push_back(random_logits(65536, 5000 + step, 1));
    int mismatches = 0;
    for (const auto& st : settings)
        mismatches +=
            reference_mismatches(st.temperature, st.top_p, st.top_k, 1234, kSteps, [&](int step) {
                auto logits = base[static_cast<std::size_t>(step)];
                for (float& l : logits) l *= st.scale;
                return logits;
            });
    CHECK(mismatches == 0);

    // One sampler on vocabularies of changing size: nothing of a call leaks into the next.
    auto params = plain(1.0f, 99);
    params.top_p = 0.8f;
    params.top_k = 7;
    gander::Sampler s(params);
    std::mt19937_64 ref_rng(99);
    mismatches = 0;
    for (int step = 0; step < 40; ++step) {
        const std::size_t V = step % 3 == 0 ? 65536 : step % 3 == 1 ? 10 : 300;
        const auto logits = random_logits(V, 700 + step, step % 2 ? 4.0f : 0.5f);
        if (s.sample(logits) != reference_sample(logits, params, ref_rng)) ++mismatches;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("flat logits: the same draws as the full-sort reference, without sorting them all") {
    // Nearly flat logits (a random model's, or a bias that flattens them) put thousands of tokens
    // in the top-p cut's bucket (1/64 nat); they are narrowed by finer buckets before any sort.
    // Scales down to 1e-4 nat, all tied but a few, and ties at the cut.
    struct Setting {
        float temperature, top_p;
        int top_k;
    };
    const Setting settings[] = {
        {1.0f, 0.3f, 0}, {1.0f, 0.9f, 0}, {0.7f, 0.5f, 40}, {1.0f, 0.0f, 0}, {1.0f, 0.3f, 5000}};
    const float scales[] = {0.3f, 0.05f, 0.01f, 1e-3f, 1e-4f, 0.0f};
    const auto logits_of = [&](int step) { // three draws a scale
        const float scale = scales[step / 3];
        auto logits = random_logits(65536, 9000 + std::uint64_t(step), scale);
        if (scale == 0.0f) // all tied but every 97th token
            for (std::size_t i = 0; i < logits.size(); i += 97) logits[i] = 0.25f;
        if (step % 3 == 2) // pairs of equal logits: ties wherever the cut falls
            for (std::size_t i = 1; i < logits.size(); i += 2) logits[i] = logits[i - 1];
        return logits;
    };
    int mismatches = 0;
    for (const auto& st : settings)
        mismatches += reference_mismatches(st.temperature, st.top_p, st.top_k, 4321,
                                           int(std::size(scales)) * 3, logits_of);
    CHECK(mismatches == 0);
}

TEST_CASE("penalties and decay, computed by hand") {
    auto params = plain(0.0f);
    params.presence_penalty = 0.5f;
    params.frequency_penalty = 0.5f;
    params.penalty_decay = 0.996f;
    {
        gander::Sampler s(params);
        const std::vector<float> logits{1.0f, 5.0f, 3.0f, 5.0f};
        // Step 1: tie 5/5, lowest id -> 1. count = {1: 1}.
        CHECK(s.sample(logits) == 1);
        // Step 2: 1 -> 5 - (0.5 + 0.5 * 1) = 4, 3 stays 5 -> 3. counts = {1: 0.996, 3: 1}.
        CHECK(s.sample(logits) == 3);
        // Step 3: 1 -> 5 - (0.5 + 0.498) = 4.002; 3 -> 4 -> 1. counts = {1: 1.992016, 3: 0.996}.
        CHECK(s.sample(logits) == 1);
        // Step 4: 1 -> 5 - (0.5 + 0.996008) = 3.503992; 3 -> 5 - 0.998 = 4.002 -> 3.
        CHECK(s.sample(logits) == 3);
    }
    {
        // Three forced tokens: count[0] = (1 * d + 1) * d + 1 = d^2 + d + 1 = 2.988016, so the
        // penalty is 0.5 + 0.5 * 2.988016 = 1.994008 and token 0's logit 2 becomes 0.005992.
        gander::Sampler s(params);
        for (int i = 0; i < 3; ++i) s.accept(0);
        gander::Sampler s2 = s;
        CHECK(s.sample(std::vector<float>{2.0f, 0.0059f}) == 0);
        CHECK(s2.sample(std::vector<float>{2.0f, 0.0061f}) == 1);
    }
    {
        // Presence alone applies to any token seen, however long ago.
        auto pp = params;
        pp.frequency_penalty = 0.0f;
        pp.penalty_decay = 0.5f;
        gander::Sampler s(pp);
        s.accept(0);
        for (int i = 0; i < 30; ++i) s.accept(2); // count[0] decays to 2^-30, still "seen"
        CHECK(s.sample(std::vector<float>{1.0f, 0.51f}) == 1);
        s.reset();
        CHECK(s.sample(std::vector<float>{1.0f, 0.51f}) == 0);
    }
    {
        // A token id beyond the logits (a forced token of a larger vocabulary) is ignored.
        gander::Sampler s(params);
        s.accept(100);
        CHECK(s.sample(std::vector<float>{0.0f, 1.0f}) == 1);
    }
}

TEST_CASE("bad logits and bad parameters") {
    gander::Sampler s(plain(1.0f));
    CHECK_THROWS_WITH(s.sample(std::vector<float>{}), gander::Error, "empty logits");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH(s.sample(std::vector<float>{nan, -inf}), gander::Error, "-inf or NaN");
    for (int i = 0; i < 50; ++i) CHECK(s.sample(std::vector<float>{nan, 1.0f, nan}) == 1);
    // +inf logits share the probability; the finite ones get none.
    gander::Sampler t(plain(1.0f, 3));
    check_distribution(t, {0.0f, inf, 3.0f, inf}, {0.0, 0.5, 0.0, 0.5}, 20000);
    gander::Sampler g(plain(0.0f));
    CHECK(g.sample(std::vector<float>{nan, 2.0f, inf, inf}) == 2);
    // A temperature too small to invert is greedy rather than NaN.
    gander::Sampler tiny(plain(1e-45f));
    CHECK(tiny.sample(std::vector<float>{0.0f, 1.0f, 0.5f}) == 1);

    auto bad = plain(-1.0f);
    CHECK_THROWS_WITH(gander::Sampler{bad}, gander::Error, "temperature");
    bad = plain(1.0f);
    bad.top_k = -2;
    CHECK_THROWS_WITH(gander::Sampler{bad}, gander::Error, "top_k");
    bad = plain(1.0f);
    bad.penalty_decay = 1.5f;
    CHECK_THROWS_WITH(gander::Sampler{bad}, gander::Error, "penalty_decay");
}

TEST_CASE("speed on V = 65536 (informational)") {
    gander::SamplerParams params; // chat defaults: T 1, top-p 0.3, penalties
    gander::Sampler s(params);
    const auto logits = random_logits(65536, 77, 3.0f);
    const int steps = 200;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) s.sample(logits);
    const double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "  %.1f us per sample (V = 65536, top-p 0.3)\n", us / steps);
    CHECK(us / steps < 20000); // a generous bound: this is a smoke test, not a benchmark
}

GANDER_TEST_MAIN
