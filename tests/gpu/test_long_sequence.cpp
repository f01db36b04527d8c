// A long sequence through the trained tiny model: 16,384+ tokens prefilled on the card, the GPU
// state compared with the CPU reference at several points (no drift beyond the fp16 bounds, no
// NaN or Inf), then decoding on from there.
#include "gpu_test_util.h"

using namespace gander;
using namespace gander::gputest;

namespace {

// Byte-level text that looks like prose (the model is byte-level, V = 256).
std::vector<std::int32_t> prose(std::size_t n) {
    static const char* words[] = {
        "the ",  "license ", "program ", "free ",    "software ", "of ",       "and ",  "to ",
        "you ",  "copy ",    "source ",  "code ",    "work ",     "any ",      "that ", "is ",
        "this ", "under ",   "terms ",   "with ",    "may ",      "not ",      "a ",    "or ",
        "by ",   "in ",      "for ",     "General ", "Public ",   "version.\n"};
    std::uniform_int_distribution<int> d(0, int(std::size(words)) - 1);
    std::vector<std::int32_t> t;
    while (t.size() < n)
        for (const char* p = words[d(rng())]; *p && t.size() < n; ++p)
            t.push_back(std::int32_t(static_cast<unsigned char>(*p)));
    return t;
}

} // namespace

TEST_CASE("16K+ tokens: GPU state follows the CPU reference, no drift, no NaN") {
    const std::string path = test::fixture("rwkv7/trained-tiny.pth");
    LoadOptions g, c;
    g.backend = BackendKind::Cuda;
    c.backend = BackendKind::Cpu;
    auto gm = load_model(path, g);
    auto cm = load_model(path, c);
    const std::size_t V = std::size_t(gm->info().shape.vocab);
    const auto toks = prose(16384 + 1000);
    auto gs = gm->new_session(), cs = cm->new_session();
    // Uneven pieces, so that chunk boundaries fall in different places on each side.
    const std::size_t pieces[] = {1, 4095, 3000, 5000, 4288, 1000};
    std::size_t done = 0;
    std::vector<double> errs;
    for (std::size_t n : pieces) {
        auto part = std::span(toks).subspan(done, n);
        gs->prefill(part);
        cs->prefill(part);
        done += n;
        const auto sg = gs->state_f32(), sc = cs->state_f32();
        REQUIRE(all_finite(sg));
        const double se = rel_err(sg, sc);
        const double le = rel_err(gs->logits().data(), cs->logits().data(), V);
        errs.push_back(se);
        std::fprintf(stderr, "  after %6zu tokens: state err %.2e, logits err %.2e\n", done, se,
                     le);
        CHECK_MSG(se <= 2e-2, "state at " << done);
        CHECK_MSG(le <= 2e-2, "logits at " << done);
    }
    REQUIRE(done == toks.size());
    // No drift: the error at the end is of the same order as after the first thousands.
    CHECK_MSG(errs.back() <= 4 * std::max(errs[1], 1e-3),
              "drift: " << errs[1] << " -> " << errs.back());
    // Decoding on from the long state: 64 greedy steps agree with the CPU.
    int same = 0;
    for (int i = 0; i < 64; ++i) {
        const int next = argmax(cs->logits().data(), V);
        same += argmax(gs->logits().data(), V) == next;
        gs->feed(next);
        cs->feed(next);
        CHECK(rel_err(gs->logits().data(), cs->logits().data(), V) <= 2e-2);
    }
    CHECK(same >= 61);
    CHECK(all_finite(gs->state_f32()));
}

GANDER_TEST_MAIN
