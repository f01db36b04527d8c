// The CPU backend against the golden outputs of the float64 reference (shared/fixtures/rwkv7):
// logits at every step, prefill == token by token, state after `split` tokens and at the end,
// save/restore, and the same model under other file layouts (safetensors, fla-hub names).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "check.h"
#include "gander/gander.h"
#include "gander/sampler.h"
#include "io/tensor_file.h"

using namespace gander;

namespace {

struct Golden {
    std::vector<std::int32_t> tokens;
    std::vector<float> logits; // [T, V]
    int V = 0;
    int split = 0;
    std::vector<float> state_split, state_final; // reference layout, as Session::state_f32()
};

std::vector<float> floats(const io::TensorFile& f, const std::string& name) {
    const io::TensorView* t = f.find(name);
    REQUIRE(t != nullptr);
    REQUIRE(t->dtype == io::DType::F32);
    std::vector<float> v(std::size_t(t->numel()));
    std::memcpy(v.data(), t->data, t->nbytes);
    return v;
}

// The golden file keeps the three parts of the state in separate tensors; the engine's layout
// interleaves them per layer.
std::vector<float> state_of(const io::TensorFile& f, const std::string& prefix, int L, int C) {
    auto ax = floats(f, prefix + ".att_x_prev");
    auto kv = floats(f, prefix + ".att_kv");
    auto fx = floats(f, prefix + ".ffn_x_prev");
    const std::size_t per = kv.size() / std::size_t(L);
    std::vector<float> s;
    for (int l = 0; l < L; ++l) {
        s.insert(s.end(), ax.begin() + l * C, ax.begin() + (l + 1) * C);
        s.insert(s.end(), kv.begin() + std::ptrdiff_t(l * per), kv.begin() + std::ptrdiff_t((l + 1) * per));
        s.insert(s.end(), fx.begin() + l * C, fx.begin() + (l + 1) * C);
    }
    return s;
}

Golden golden(const std::string& name) {
    auto f = io::TensorFile::open(test::fixture("rwkv7/" + name + ".golden.safetensors"));
    Golden g;
    const io::TensorView* t = f->find("tokens");
    REQUIRE(t && t->dtype == io::DType::I32);
    g.tokens.resize(std::size_t(t->numel()));
    std::memcpy(g.tokens.data(), t->data, t->nbytes);
    g.logits = floats(*f, "logits");
    g.V = int(g.logits.size() / g.tokens.size());
    g.split = std::stoi(f->metadata().at("split"));
    const int L = std::stoi(f->metadata().at("n_layer"));
    const int C = std::stoi(f->metadata().at("n_embd"));
    g.state_split = state_of(*f, "state_after_split", L, C);
    g.state_final = state_of(*f, "state_final", L, C);
    return g;
}

double stddev(std::span<const float> v) {
    double m = 0, s = 0;
    for (float x : v) m += x;
    m /= double(v.size());
    for (float x : v) s += (x - m) * (x - m);
    return std::sqrt(s / double(v.size()));
}

// max |a - b| / std(b)
double rel_err(std::span<const float> a, std::span<const float> b) {
    REQUIRE(a.size() == b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!std::isfinite(a[i])) return INFINITY;
        worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    }
    return worst / std::max(stddev(b), 1e-12);
}

std::size_t first_max(std::span<const float> v) {
    return std::size_t(std::max_element(v.begin(), v.end()) - v.begin());
}

std::span<const float> row(const Golden& g, std::size_t t) {
    return std::span<const float>(g.logits).subspan(t * std::size_t(g.V), std::size_t(g.V));
}

constexpr double kTol = 1e-4; // fp32 CPU path (fixtures README)

void check_model_file(const std::string& path, const Golden& g) {
    LoadOptions o;
    o.backend = BackendKind::Cpu;
    auto model = load_model(path, o);
    REQUIRE(model->info().shape.vocab == g.V);
    auto s = model->new_session();
    REQUIRE(s->logits().empty());
    double worst = 0;
    for (std::size_t t = 0; t < g.tokens.size(); ++t) {
        s->feed(g.tokens[t]);
        const double e = rel_err(s->logits(), row(g, t));
        worst = std::max(worst, e);
        CHECK_MSG(e <= kTol, path << " step " << t << ": rel err " << e);
        CHECK_MSG(first_max(s->logits()) == first_max(row(g, t)),
                  path << " step " << t << ": argmax");
        if (t + 1 == std::size_t(g.split)) {
            const double es = rel_err(s->state_f32(), g.state_split);
            CHECK_MSG(es <= kTol, "state after split: rel err " << es);
        }
    }
    const double ef = rel_err(s->state_f32(), g.state_final);
    CHECK_MSG(ef <= kTol, "final state: rel err " << ef);
    std::fprintf(stderr, "  %s: worst step rel err %.3g, final state %.3g\n",
                 std::filesystem::path(path).filename().c_str(), worst, ef);
}

} // namespace

TEST_CASE("rand-a: token by token matches the golden logits and states") {
    check_model_file(test::fixture("rwkv7/rand-a.pth"), golden("rand-a"));
}

TEST_CASE("rand-b: token by token matches the golden logits and states") {
    check_model_file(test::fixture("rwkv7/rand-b.pth"), golden("rand-b"));
}

TEST_CASE("prefill equals token by token (last logits and final state)") {
    for (const char* name : {"rand-a", "rand-b"}) {
        const Golden g = golden(name);
        auto model = load_model(test::fixture(std::string("rwkv7/") + name + ".pth"),
                                {BackendKind::Cpu});
        auto s = model->new_session();
        std::vector<double> progress;
        s->prefill(g.tokens, [&](double d) {
            progress.push_back(d);
            return true;
        });
        CHECK(!progress.empty() && progress.back() == 1.0);
        CHECK(s->tokens_absorbed() == std::int64_t(g.tokens.size()));
        const double e = rel_err(s->logits(), row(g, g.tokens.size() - 1));
        CHECK_MSG(e <= kTol, name << ": prefill last logits rel err " << e);
        CHECK(first_max(s->logits()) == first_max(row(g, g.tokens.size() - 1)));
        const double es = rel_err(s->state_f32(), g.state_final);
        CHECK_MSG(es <= kTol, name << ": prefill final state rel err " << es);
    }
}

TEST_CASE("state saved after split and restored in a fresh session reproduces the rest") {
    for (const char* name : {"rand-a", "rand-b"}) {
        const Golden g = golden(name);
        auto model = load_model(test::fixture(std::string("rwkv7/") + name + ".pth"),
                                {BackendKind::Cpu});
        auto a = model->new_session();
        a->prefill(std::span(g.tokens).first(std::size_t(g.split)));
        const auto blob = a->save_state();
        CHECK(blob.size() == a->state_blob_size());
        auto b = model->new_session();
        b->load_state(blob);
        CHECK(b->tokens_absorbed() == g.split);
        CHECK(rel_err(b->state_f32(), g.state_split) <= kTol);
        for (std::size_t t = std::size_t(g.split); t < g.tokens.size(); ++t) {
            b->feed(g.tokens[t]);
            const double e = rel_err(b->logits(), row(g, t));
            CHECK_MSG(e <= kTol, name << " restored step " << t << ": rel err " << e);
            CHECK(first_max(b->logits()) == first_max(row(g, t)));
        }
        CHECK(rel_err(b->state_f32(), g.state_final) <= kTol);
    }
}

TEST_CASE("half-size fp16 state: error measured, continuation keeps the argmax") {
    const Golden g = golden("rand-a");
    auto model = load_model(test::fixture("rwkv7/rand-a.pth"), {BackendKind::Cpu});
    auto a = model->new_session();
    a->prefill(std::span(g.tokens).first(std::size_t(g.split)));
    const auto blob = a->save_state(StateDtype::F16);
    CHECK(blob.size() == a->state_blob_size(StateDtype::F16));
    CHECK(blob.size() < a->state_blob_size(StateDtype::F32) / 2 + 128);
    auto b = model->new_session();
    b->load_state(blob);
    const double es = rel_err(b->state_f32(), g.state_split);
    double worst = 0;
    int same = 0;
    for (std::size_t t = std::size_t(g.split); t < g.tokens.size(); ++t) {
        b->feed(g.tokens[t]);
        worst = std::max(worst, rel_err(b->logits(), row(g, t)));
        same += first_max(b->logits()) == first_max(row(g, t));
    }
    std::fprintf(stderr, "  fp16 state: state rel err %.3g, logits rel err %.3g, argmax %d/%zu\n",
                 es, worst, same, g.tokens.size() - std::size_t(g.split));
    CHECK(es < 5e-3); // fp16 keeps 11 significant bits: about 5e-4 of each value
    CHECK(worst < 1e-2);
    CHECK(same == int(g.tokens.size()) - g.split);
}

TEST_CASE("a bad state blob is refused with a message and leaves the session untouched") {
    const Golden g = golden("rand-a");
    auto model = load_model(test::fixture("rwkv7/rand-a.pth"), {BackendKind::Cpu});
    auto s = model->new_session();
    s->prefill(std::span(g.tokens).first(5));
    const auto good = s->save_state();
    const auto before = s->state_f32();

    auto corrupt = good;
    corrupt[corrupt.size() / 2] ^= 0x40;
    CHECK_THROWS_WITH(s->load_state(corrupt), Error, "checksum");
    auto truncated = std::vector<std::uint8_t>(good.begin(), good.end() - 10);
    CHECK_THROWS_WITH(s->load_state(truncated), Error, "truncated");
    CHECK_THROWS_WITH(s->load_state(std::vector<std::uint8_t>(10, 0)), Error, "too short");
    auto magic = good;
    magic[0] = 'X';
    CHECK_THROWS_WITH(s->load_state(magic), Error, "not a Gander state");
    auto version = good;
    version[8] = 9;
    CHECK_THROWS_WITH(s->load_state(version), Error, "version 9");

    auto other = load_model(test::fixture("rwkv7/rand-b.pth"), {BackendKind::Cpu});
    auto os = other->new_session();
    os->feed(1);
    CHECK_THROWS_WITH(s->load_state(os->save_state()), Error, "another model");

    CHECK(s->state_f32() == before);
    CHECK(s->tokens_absorbed() == 5);
}

TEST_CASE("cancelling a prefill leaves state and logits as they were") {
    const Golden g = golden("rand-b");
    auto model = load_model(test::fixture("rwkv7/rand-b.pth"), {BackendKind::Cpu});
    auto s = model->new_session();
    s->feed(g.tokens[0]);
    const auto state = s->state_f32();
    const std::vector<float> logits(s->logits().begin(), s->logits().end());
    std::vector<std::int32_t> many(300, g.tokens[1]);
    CHECK_THROWS_WITH(s->prefill(many, [](double d) { return d < 0.3; }), Cancelled, "cancelled");
    CHECK(s->state_f32() == state);
    CHECK(std::ranges::equal(s->logits(), logits));
    CHECK(s->tokens_absorbed() == 1);
}

TEST_CASE("token ids out of range are refused, not read out of bounds") {
    auto model = load_model(test::fixture("rwkv7/rand-a.pth"), {BackendKind::Cpu});
    auto s = model->new_session();
    CHECK_THROWS_WITH(s->feed(512), Error, "out of range");
    CHECK_THROWS_WITH(s->feed(-1), Error, "out of range");
    const std::int32_t seq[] = {1, 2, 100000};
    CHECK_THROWS_WITH(s->prefill(seq), Error, "position 2");
    CHECK(s->tokens_absorbed() == 0);
}

TEST_CASE("trained-tiny: bits per byte on GPL-3 match the float64 reference (5.54)") {
    const std::string gpl = "/usr/share/common-licenses/GPL-3";
    REQUIRE(std::filesystem::exists(gpl));
    std::ifstream f(gpl, std::ios::binary);
    std::string text(1500, '\0');
    f.read(text.data(), 1500);
    REQUIRE(f.gcount() == 1500);
    auto model = load_model(test::fixture("rwkv7/trained-tiny.pth"), {BackendKind::Cpu});
    CHECK(model->info().shape.vocab == 256);
    CHECK(model->info().shape.n_layer == 12);
    auto s = model->new_session();
    double bits = 0;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        s->feed(std::uint8_t(text[i]));
        auto l = s->logits();
        const float mx = *std::max_element(l.begin(), l.end());
        double z = 0;
        for (float v : l) z += std::exp(double(v - mx));
        const double lp = double(l[std::uint8_t(text[i + 1])] - mx) - std::log(z);
        bits -= lp / std::log(2.0);
    }
    const double bpb = bits / double(text.size() - 1);
    std::fprintf(stderr, "  trained-tiny: %.4f bits/byte over 1,499 predictions\n", bpb);
    CHECK(std::fabs(bpb - 5.54) < 0.006);
}
namespace {
// 70 sessions of `model` (more than one internal chunk of 64): session i has absorbed i % 23 of the
// golden tokens; next[i] is the golden token after them.
struct Staggered {
    std::vector<std::unique_ptr<Session>> owned;
    std::vector<Session*> batch;
    std::vector<std::int32_t> next;
};
Staggered staggered(Model& model, const Golden& g) {
    Staggered st;
    for (int i = 0; i < 70; ++i) {
        auto s = model.new_session();
        const std::size_t n = std::size_t(i % 23);
        if (n) s->prefill(std::span(g.tokens).first(n));
        st.next.push_back(g.tokens[n]);
        st.batch.push_back(s.get());
        st.owned.push_back(std::move(s));
    }
    return st;
}
} // namespace

TEST_CASE("a batched step over sessions at different positions equals feeding each") {
    const Golden g = golden("rand-a");
    auto model = load_model(test::fixture("rwkv7/rand-a.pth"), {BackendKind::Cpu});
    Staggered st = staggered(*model, g);
    const std::vector<Session*>& batch = st.batch;
    Session::feed_batch(batch, st.next);
    for (int i = 0; i < 70; ++i) {
        const std::size_t n = std::size_t(i % 23);
        const double e = rel_err(batch[std::size_t(i)]->logits(), row(g, n));
        CHECK_MSG(e <= kTol, "batch row " << i << ": rel err " << e);
        CHECK(batch[std::size_t(i)]->tokens_absorbed() == std::int64_t(n + 1));
        if (n + 1 == std::size_t(g.split))
            CHECK(rel_err(batch[std::size_t(i)]->state_f32(), g.state_split) <= kTol);
    }
    CHECK_THROWS_WITH(Session::feed_batch(std::vector<Session*>{batch[0], batch[0]},
                                          std::vector<std::int32_t>{1, 2}),
                      Error, "appears twice");
    auto other = load_model(test::fixture("rwkv7/rand-b.pth"), {BackendKind::Cpu});
    auto os = other->new_session();
    CHECK_THROWS_WITH(Session::feed_batch(std::vector<Session*>{batch[0], os.get()},
                                          std::vector<std::int32_t>{1, 2}),
                      Error, "another model");
}

TEST_CASE("greedy steps pick the golden argmax and keep logits() as feed does") {
    // The pick of each step is the argmax of the float64 reference's logits for it (below the
    // whole vocabulary and below a limit), and logits() afterwards hold that step's output.
    const Golden g = golden("rand-a");
    auto model = load_model(test::fixture("rwkv7/rand-a.pth"), {BackendKind::Cpu});
    const auto golden_pick = [&](std::size_t t, std::size_t below) {
        const auto r = row(g, t).first(below);
        return std::int32_t(std::max_element(r.begin(), r.end()) - r.begin());
    };
    const std::int32_t below = g.V / 3;
    auto s = model->new_session();
    for (std::size_t t = 0; t < g.tokens.size(); ++t) {
        const bool limited = t % 2 == 1;
        const std::int32_t pick = s->feed_greedy(g.tokens[t], limited ? below : 0);
        CHECK_MSG(pick == golden_pick(t, limited ? std::size_t(below) : std::size_t(g.V)),
                  "step " << t << ": picked " << pick);
        CHECK(rel_err(s->logits(), row(g, t)) <= kTol);
    }
    CHECK(s->tokens_absorbed() == std::int64_t(g.tokens.size()));

    // 70 sessions at different positions in one greedy batched step.
    Staggered st = staggered(*model, g);
    const std::vector<Session*>& batch = st.batch;
    std::vector<std::int32_t> picks(batch.size(), -1);
    Session::feed_batch_greedy(batch, st.next, picks, below);
    for (int i = 0; i < 70; ++i) {
        const std::size_t n = std::size_t(i % 23);
        CHECK_MSG(picks[std::size_t(i)] == golden_pick(n, std::size_t(below)), "batch row " << i);
        CHECK(rel_err(batch[std::size_t(i)]->logits(), row(g, n)) <= kTol);
    }
    picks.pop_back();
    CHECK_THROWS_WITH(Session::feed_batch_greedy(batch, st.next, picks), Error, "picks");
}

TEST_CASE("sampled steps draw what feed and a Sampler draw, and keep logits() as feed does") {
    // On the CPU the session feeds and Session draws on the host (feed_sampled), or leaves the draw
    // to the caller (feed_batch_sampled: -1); either way the tokens are a host Sampler's of the
    // same settings and seed over the same logits.
    const Golden g = golden("rand-a");
    auto model = load_model(test::fixture("rwkv7/rand-a.pth"), {BackendKind::Cpu});
    SamplerParams p;
    p.seed = 5;
    p.top_p = 0.9f;
    Sampler drawn(p), host(p);
    auto a = model->new_session(), b = model->new_session();
    const std::int32_t below = g.V / 3;
    std::int32_t next = g.tokens[0];
    for (int t = 0; t < 12; ++t) {
        const std::int32_t lim = t % 2 ? below : 0;
        const std::int32_t pick = a->feed_sampled(next, drawn, lim);
        b->feed(next);
        const std::int32_t want =
            host.sample(b->logits().first(lim ? std::size_t(lim) : std::size_t(g.V)));
        CHECK_MSG(pick == want, "step " << t << ": " << pick << " against " << want);
        CHECK(rel_err(a->logits(), b->logits()) == 0.0);
        next = pick;
    }
    CHECK(a->tokens_absorbed() == 12);

    Staggered st = staggered(*model, g);
    std::vector<Sampler> samplers(st.batch.size(), Sampler(p));
    std::vector<Sampler*> ptrs;
    for (auto& s : samplers) ptrs.push_back(&s);
    std::vector<std::int32_t> picks(st.batch.size(), 7);
    Session::feed_batch_sampled(st.batch, st.next, ptrs, picks);
    for (std::size_t i = 0; i < st.batch.size(); ++i) {
        CHECK(picks[i] == -1);
        CHECK(rel_err(st.batch[i]->logits(), row(g, i % 23)) <= kTol);
    }
    picks.pop_back();
    CHECK_THROWS_WITH(Session::feed_batch_sampled(st.batch, st.next, ptrs, picks), Error, "picks");
}

GANDER_TEST_MAIN
