// The CUDA backend as a whole: random models equal to the CPU ones, out-of-memory errors that
// leave the process usable, prefill cancel and progress, fixed prefill memory, sessions sharing
// one model, and where a batched step's logits go.
#include <algorithm>
#include <mutex>

#include "backend.h"
#include "cuda/cuda_common.h"
#include "cuda/cuda_model.h"
#include "gpu_test_util.h"

using namespace gander;
using namespace gander::gputest;

namespace {

ModelShape small_shape(int layers, int C, int V) {
    ModelShape s;
    s.n_layer = layers;
    s.n_embd = C;
    s.head_size = 64;
    s.vocab = V;
    s.ffn_dim = 4 * C;
    s.ranks.assign(std::size_t(layers), LoraRanks{32, 32, 32, 64});
    return s;
}

} // namespace

TEST_CASE("a random model made on the card equals the CPU one (fp16) and shares its fingerprint") {
    const ModelShape shape = small_shape(3, 256, 1000);
    const std::uint64_t seed = run_seed() % 1000;
    LoadOptions g, c;
    g.backend = BackendKind::Cuda;
    c.backend = BackendKind::Cpu;
    c.precision = Precision::Fp16;
    auto gm = make_random_model(shape, seed, g);
    auto cm = make_random_model(shape, seed, c);
    CHECK(gm->info().fingerprint == cm->info().fingerprint);
    CHECK(gm->info().n_params == cm->info().n_params);
    auto gs = gm->new_session(), cs = cm->new_session();
    const double worst = worst_step_err(*gs, *cs, random_tokens(40, shape.vocab));
    std::fprintf(stderr, "  worst step err vs CPU: %.2e\n", worst);
    CHECK(worst <= 2e-2);
    CHECK(rel_err(gs->state_f32(), cs->state_f32()) <= 2e-2);
    // A blob made on the card loads on the CPU model (same fingerprint).
    auto cs2 = cm->new_session();
    cs2->load_state(gs->save_state());
    CHECK(cs2->tokens_absorbed() == 40);
}

TEST_CASE("out of device memory is an Error naming the sizes; the process stays usable") {
    ModelShape huge = model_shape_named("7.2b");
    huge.n_layer = 400; // ~180 GB of fp16 weights
    huge.ranks.assign(400, huge.ranks[0]);
    LoadOptions o;
    o.backend = BackendKind::Cuda;
    CHECK_THROWS_WITH(make_random_model(huge, 1, o), Error, "GB");
    // A failed allocation itself (past the fit check) is an Error too, and is not sticky.
    CHECK_THROWS_WITH(cuda::DeviceBuffer(std::size_t(1) << 50, "a test buffer"), Error,
                      "out of device memory for a test buffer");
    // And a model that fits still works afterwards.
    auto m = make_random_model(small_shape(2, 128, 300), 7, o);
    auto s = m->new_session();
    s->feed(3);
    CHECK(all_finite(std::vector<float>(s->logits().begin(), s->logits().end())));
    // Auto falls back to the CPU with the reason.
    LoadOptions a;
    std::string note;
    try {
        auto fm = detail::make_cuda_random_model(huge, 1, a);
    } catch (const Error& e) {
        note = e.what();
    }
    std::fprintf(stderr, "  refusal: %s\n", note.c_str());
    CHECK(note.find("free") != std::string::npos);
}

TEST_CASE("prefill: progress per chunk, cancel leaves state and logits as they were") {
    LoadOptions o;
    o.backend = BackendKind::Cuda;
    auto m = make_random_model(small_shape(2, 128, 500), 3, o);
    auto s = m->new_session();
    s->feed(1);
    const auto state0 = s->state_f32();
    const std::vector<float> logits0(s->logits().begin(), s->logits().end());
    const auto toks = random_tokens(3000, 500);
    int calls = 0;
    CHECK_THROWS_WITH(s->prefill(toks, [&](double) { return ++calls < 2; }), Cancelled,
                      "cancelled");
    CHECK(calls == 2);
    CHECK(s->state_f32() == state0);
    CHECK(std::ranges::equal(s->logits(), logits0));
    CHECK(s->tokens_absorbed() == 1);
    std::vector<double> seen;
    s->prefill(toks, [&](double d) {
        seen.push_back(d);
        return true;
    });
    CHECK(seen.size() == 3); // 1024-token chunks
    CHECK(!seen.empty() && seen.back() == 1.0);
    CHECK(s->tokens_absorbed() == 3001);
}

TEST_CASE("prefill memory does not grow with the prompt") {
    LoadOptions o;
    o.backend = BackendKind::Cuda;
    auto m = make_random_model(small_shape(2, 128, 500), 4, o);
    auto s = m->new_session();
    s->prefill(random_tokens(1500, 500));
    detail::cuda_reset_peak_memory();
    const std::size_t before = detail::cuda_peak_memory();
    s->prefill(random_tokens(9000, 500));
    CHECK(detail::cuda_peak_memory() == before);
    CHECK(all_finite(std::vector<float>(s->logits().begin(), s->logits().end())));
}

TEST_CASE("sessions of one model are independent, also interleaved") {
    LoadOptions o;
    o.backend = BackendKind::Cuda;
    auto m = make_random_model(small_shape(2, 128, 400), 5, o);
    const auto ta = random_tokens(12, 400), tb = random_tokens(12, 400);
    auto solo = m->new_session();
    for (auto t : ta) solo->feed(t);
    const std::vector<float> ref(solo->logits().begin(), solo->logits().end());
    auto a = m->new_session(), b = m->new_session();
    for (std::size_t i = 0; i < ta.size(); ++i) {
        a->feed(ta[i]);
        b->feed(tb[i]);
    }
    CHECK(std::ranges::equal(a->logits(), ref));
    a->reset();
    CHECK(a->tokens_absorbed() == 0);
    for (auto t : ta) a->feed(t);
    CHECK(std::ranges::equal(a->logits(), ref));
}

TEST_CASE("out of memory at a session's first prefill: an Error, the session and process go on") {
    LoadOptions o;
    o.backend = BackendKind::Cuda;
    auto m = make_random_model(small_shape(2, 256, 500), 9, o); // no prefill workspace yet
    auto s = m->new_session();
    s->feed(1);
    const auto state0 = s->state_f32();
    const auto toks = random_tokens(100, 500);
    {
        // Fill the card until less than the workspace (~25 MB here) is left.
        std::vector<cuda::DeviceBuffer> fill;
        for (std::size_t piece : {std::size_t(1) << 30, std::size_t(64) << 20, std::size_t(4) << 20,
                                  std::size_t(1) << 20}) {
            try {
                for (;;) fill.emplace_back(piece, "filler");
            } catch (const Error&) {
            }
        }
        std::fprintf(stderr, "  card filled with %zu buffers\n", fill.size());
        CHECK_THROWS_WITH(s->prefill(toks), Error,
                          "out of device memory for the prefill workspace");
        CHECK(s->state_f32() == state0);
        CHECK(s->tokens_absorbed() == 1);
        s->feed(2); // decoding still works (its workspace exists)
    }
    s->prefill(toks); // memory back: the same call now succeeds
    CHECK(s->tokens_absorbed() == 102);
    CHECK(all_finite(std::vector<float>(s->logits().begin(), s->logits().end())));
}

TEST_CASE("step_batch: logits straight into pinned spans, through the staging into pageable ones") {
    LoadOptions o;
    o.backend = BackendKind::Cuda;
    const ModelShape shape = small_shape(2, 128, 400);
    auto m = make_random_model(shape, 11, o);
    auto& cm = dynamic_cast<cuda::CudaModel&>(*m);
    constexpr std::size_t B = 4, V = 400;
    const auto toks = random_tokens(B, int(V));
    // Through the public API: each session's logits are its own pinned memory (the direct copies).
    std::vector<std::unique_ptr<Session>> own;
    std::vector<Session*> ss;
    for (std::size_t i = 0; i < B; ++i) {
        own.push_back(m->new_session());
        ss.push_back(own.back().get());
    }
    Session::feed_batch(ss, toks);
    // The same step on zero states of its own, rows 0 and 2 into pageable memory (the staging),
    // rows 1 and 3 into pinned memory, in one call.
    const std::size_t bytes = state_size_f32(shape);
    std::vector<cuda::DeviceBuffer> states;
    std::vector<float*> ptrs;
    for (std::size_t i = 0; i < B; ++i) {
        states.emplace_back(bytes, "a test state");
        cuda_ok(cudaMemset(states.back().get(), 0, bytes), "cudaMemset");
        ptrs.push_back(states.back().as<float>());
    }
    cuda_ok(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    std::vector<float> pageable0(V), pageable2(V);
    cuda::PinnedBuffer pinned(2 * V * sizeof(float), "the test's logits");
    const std::span<float> out[B] = {
        pageable0, {pinned.as<float>(), V}, pageable2, {pinned.as<float>() + V, V}};
    {
        std::lock_guard lock(cm.mutex());
        cm.step_batch(ptrs, toks.data(), out);
    }
    // The same graph on the same inputs: every row equal to its session's (a bound rather than
    // equality in case a kernel's atomic adds meet in another order).
    for (std::size_t i = 0; i < B; ++i) {
        const double e = rel_err(out[i].data(), ss[i]->logits().data(), V);
        CHECK_MSG(e <= 1e-5, "row " << i << " err " << e);
    }
}

GANDER_TEST_MAIN
