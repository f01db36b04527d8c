// gander-bench: decode and prefill speed of a random-weight model of a real RWKV-7 shape, made in
// memory (no file), with the machine's memory bandwidth measured in the same run so that the
// decode figure can be read as a fraction of its roofline (bytes of weights per token over
// bandwidth). Prints a table; --json FILE writes the figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gander/gander.h"
#include "gander/sampler.h"
#include "gander/thread_pool.h"
#ifdef GANDER_HAVE_CUDA
#include "backend.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Options {
    gander::BackendKind backend = gander::BackendKind::Cpu;
    std::string shape = "0.1b";
    std::optional<gander::Precision> precision;
    int decode_tokens = 256;
    std::vector<int> prefill = {512};
    int threads = 0;
    std::string json;
    std::uint64_t seed = 1;
    bool kernels = false; // --kernels: the decoding GEMV kernels alone (CUDA), no model
    std::string kernels_only;  // --kernels-only NAME: one section of that table
    bool profile_step = false; // --profile-step: one decoding step between cudaProfilerStart/Stop
    std::string trace;         // --trace FILE: a decoding step's launches (CUDA, trace build)
    std::vector<int> batch;  // --batch B1,B2,...: batched decoding, aggregate tok/s
    bool batch_given = false;
    std::vector<int> batch_sampled; // --batch-sampled B1,...: the same, sampled as the server does
    bool batch_sampled_given = false;
};

// The kernel table's sections (--kernels-only), comma-separated.
std::string kernel_sections() {
#ifdef GANDER_HAVE_CUDA
    std::string list;
    for (const std::string& n : gander::detail::cuda_kernel_sections())
        list += (list.empty() ? "" : ", ") + n;
    return list;
#else
    return "the sections of a CUDA build";
#endif
}

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "gander-bench: %s\nusage: gander-bench [--backend cpu|cuda] [--shape "
                 "0.1b|0.4b|1.5b|2.9b|7.2b] [--precision fp16|bf16|fp32|int8|int4]\n"
                 "                    [--decode-tokens N] [--prefill T1,T2,...] [--threads N] "
                 "[--json FILE]\n"
                 "       gander-bench --backend cuda --kernels [--kernels-only SECTION] [--json "
                 "FILE]\n",
                 why.c_str());
    std::exit(2);
}

Options parse(int argc, char** argv) {
    Options o;
    bool prefill_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            return argv[++i];
        };
        try {
            if (a == "--backend") {
                auto b = gander::parse_backend(value());
                if (!b) usage("unknown backend");
                o.backend = *b;
            } else if (a == "--shape") {
                o.shape = value();
            } else if (a == "--precision") {
                o.precision = gander::parse_precision(value());
                if (!o.precision) usage("unknown precision");
            } else if (a == "--decode-tokens") {
                o.decode_tokens = std::stoi(value());
            } else if (a == "--prefill") {
                o.prefill.clear();
                prefill_given = true;
                std::stringstream ss(value());
                for (std::string t; std::getline(ss, t, ',');)
                    if (!t.empty()) o.prefill.push_back(std::stoi(t));
            } else if (a == "--threads") {
                o.threads = std::stoi(value());
            } else if (a == "--json") {
                o.json = value();
            } else if (a == "--batch" || a == "--batch-sampled") {
                const bool sampled = a == "--batch-sampled";
                std::vector<int>& list = sampled ? o.batch_sampled : o.batch;
                list.clear();
                (sampled ? o.batch_sampled_given : o.batch_given) = true;
                std::stringstream ss(value());
                for (std::string t; std::getline(ss, t, ',');)
                    if (!t.empty() && std::stoi(t) > 0) list.push_back(std::stoi(t)); // 0: none
            } else if (a == "--kernels") {
                o.kernels = true;
            } else if (a == "--kernels-only") {
                o.kernels = true;
                o.kernels_only = value();
#ifdef GANDER_HAVE_CUDA
                const auto& names = gander::detail::cuda_kernel_sections();
                if (std::find(names.begin(), names.end(), o.kernels_only) == names.end())
                    usage("--kernels-only takes one of: " + kernel_sections());
#endif
            } else if (a == "--profile-step") {
                o.profile_step = true;
            } else if (a == "--trace") {
                o.trace = value();
            } else if (a == "--seed") {
                o.seed = std::stoull(value());
            } else if (a == "--help" || a == "-h") {
                std::printf(
                    "gander-bench: decode and prefill speed of a random-weight model of a real "
                    "RWKV-7 shape\n"
                    "usage: gander-bench [--backend cpu|cuda] [--shape 0.1b|0.4b|1.5b|2.9b|7.2b]\n"
                    "  [--precision fp16|bf16|fp32|int8|int4] [--decode-tokens N] "
                    "[--prefill T1,T2,...]\n"
                    "  [--batch B1,B2,... (0: none)] [--batch-sampled B1,B2,... (0: none)]\n"
                    "  [--threads N] [--seed S] [--json FILE]\n"
                    "  --batch: batched greedy steps (picks on the card where the backend can); "
                    "--batch-sampled:\n    batched steps each session sampled at the chat defaults "
                    "(with the step where the backend can), as the local server\n"
                    "  --kernels: time each decoding matrix-vector kernel alone (CUDA) against "
                    "the copy bandwidth\n"
                    "  --kernels-only SECTION: one section of it, SECTION one of %s\n"
                    "    (one-once, wide-once: each tensor-core case of that section launched "
                    "once, "
                    "untimed, for a\n    profiler; handoff: what a dependency between two launches "
                    "costs, three ways, not in the\n    whole table)\n"
                    "  --profile-step: one decoding step after the warm-up between "
                    "cudaProfilerStart and Stop\n"
                    "    (for ncu --profile-from-start off)\n"
                    "  --trace FILE: for the last of 132 decoding steps after the warm-up, when "
                    "each block of its\n    launches reached its wait for the kernels before, "
                    "when that returned and when it ended,\n    to FILE, then stop (CUDA, kernels "
                    "built with -DGANDER_TRACE; tests/gpu/trace_summary.py\n    reads it)\n",
                    kernel_sections().c_str());
                std::exit(0);
            } else {
                usage("unknown option " + a);
            }
        } catch (const std::logic_error&) {
            usage("bad value for " + a);
        }
    }
    if (!prefill_given && o.backend == gander::BackendKind::Cuda) o.prefill = {512, 4096, 65536};
    if (!o.batch_given && o.backend == gander::BackendKind::Cuda) o.batch = {8, 32, 64};
    if (!o.batch_sampled_given && o.backend == gander::BackendKind::Cuda) o.batch_sampled = {32};
    return o;
}

// Read bandwidth of this machine's memory with `threads` threads: a sum over a buffer far larger
// than the caches, the best of several passes (decoding reads weights, it does not copy them).
double measure_host_read_bandwidth(int threads) {
    const std::size_t n = std::size_t(1) << 30; // bytes: far beyond any cache
    std::vector<float> buf(n / 4, 1.0f);
    if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
    double best = 0;
    for (int pass = 0; pass < 5; ++pass) {
        std::vector<double> sums(static_cast<std::size_t>(threads));
        auto t0 = Clock::now();
        std::vector<std::thread> ts;
        for (int t = 0; t < threads; ++t)
            ts.emplace_back([&, t] {
                const std::size_t b = buf.size() * std::size_t(t) / std::size_t(threads);
                const std::size_t e = buf.size() * std::size_t(t + 1) / std::size_t(threads);
                float s[16] = {};
                for (std::size_t i = b; i + 16 <= e; i += 16)
                    for (int j = 0; j < 16; ++j) s[j] += buf[i + std::size_t(j)];
                double total = 0;
                for (float v : s) total += v;
                sums[std::size_t(t)] = total;
            });
        for (auto& t : ts) t.join();
        const double dt = seconds_since(t0);
        if (sums[0] < 0) std::printf(" "); // keep the sums alive
        best = std::max(best, double(buf.size() * 4) / dt);
    }
    return best;
}

long peak_rss_bytes() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
    return 0;
}

using gander::argmax; // the greedy pick (sampler.h), as fast as a server's would be

#ifdef GANDER_HAVE_CUDA
// --kernels: the table of gander::detail::cuda_bench_kernels.
int bench_kernels(const gander::detail::CudaDeviceFigures& d, const std::string& only,
                  const std::string& json) {
    const auto rows = gander::detail::cuda_bench_kernels(d.copy_bytes_per_s, only);
    std::printf("\ngander-bench --kernels  device %s\ncopy bandwidth %.1f GB/s (read+write)\n",
                d.name.c_str(), d.copy_bytes_per_s / 1e9);
    std::printf("%-22s %-5s %-12s %9s %9s %9s %7s\n", "matrices", "kind", "kernel", "MB", "us",
                "GB/s", "of copy");
    for (const auto& r : rows)
        std::printf("%-22s %-5s %-12s %9.1f %9.1f %9.1f %6.1f%%\n", r.name.c_str(), r.kind.c_str(),
                    r.kernel.c_str(), r.bytes / 1e6, r.us, r.bytes_per_s / 1e9,
                    100.0 * r.fraction_of_copy);
    if (!json.empty()) {
        std::ofstream f(json);
        f << "{\n  \"device\": \"" << d.name << "\",\n  \"copy_bytes_s\": " << d.copy_bytes_per_s
          << ",\n  \"kernels\": [";
        for (std::size_t i = 0; i < rows.size(); ++i)
            f << (i ? "," : "") << "\n    {\"matrices\": \"" << rows[i].name << "\", \"kind\": \""
              << rows[i].kind << "\", \"kernel\": \"" << rows[i].kernel
              << "\", \"bytes\": " << rows[i].bytes << ", \"us\": " << rows[i].us
              << ", \"fraction_of_copy\": " << rows[i].fraction_of_copy << "}";
        f << "\n  ]\n}\n";
        if (!f) throw gander::Error(json + ": cannot write");
    }
    return 0;
}
#endif

} // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    try {
        const gander::ModelShape shape = gander::model_shape_named(opt.shape);
        gander::LoadOptions lo;
        lo.backend = opt.backend;
        lo.precision = opt.precision;
        lo.threads = opt.threads;

        std::map<std::string, double> fig;
        std::string device;
        double bandwidth = 0, matrix_flops = 0;
#ifdef GANDER_HAVE_CUDA
        if (opt.backend == gander::BackendKind::Cuda) {
            auto d = gander::detail::cuda_measure_device();
            device = d.name;
            bandwidth = d.copy_bytes_per_s;
            matrix_flops = d.fp16_flops_per_s;
            gander::detail::cuda_reset_peak_memory();
            if (opt.kernels) return bench_kernels(d, opt.kernels_only, opt.json);
        }
#endif
        if (opt.kernels) usage("--kernels needs --backend cuda (and a CUDA build)");
        if (!opt.trace.empty() && opt.backend != gander::BackendKind::Cuda)
            usage("--trace needs --backend cuda (and a CUDA build)");
        auto t0 = Clock::now();
        auto model = gander::make_random_model(shape, opt.seed, lo);
        fig["load_s"] = seconds_since(t0);
        const auto& info = model->info();
        if (opt.backend != gander::BackendKind::Cuda) {
            device = info.device;
            bandwidth = measure_host_read_bandwidth(opt.threads);
            // The bandwidth buffer is gone: restart the peak-RSS count so the figure is the
            // model's and the session's (Linux: writing 5 to clear_refs resets VmHWM).
            std::ofstream("/proc/self/clear_refs") << "5";
        }
        auto session = model->new_session();
        std::mt19937 rng(1234);
        std::uniform_int_distribution<int> tok(1, shape.vocab - 1);

        // Greedy decoding steps; every timed run of them comes after kWarmup untimed ones. Each
        // step feeds the pick of the one before (Session::feed_greedy: on the card by default for
        // the CUDA backend, on the host with GANDER_CARD_PICK=0 or on the CPU); after a prefill the
        // pick comes from its logits.
        std::int32_t next = 0;
        bool card_picks = false, card_draws = false, card_batch_draws = false;
#ifdef GANDER_HAVE_CUDA
        card_picks = opt.backend == gander::BackendKind::Cuda && gander::detail::cuda_card_pick();
        card_draws =
            opt.backend == gander::BackendKind::Cuda && gander::detail::cuda_card_draw(false);
        card_batch_draws =
            opt.backend == gander::BackendKind::Cuda && gander::detail::cuda_card_draw(true);
#endif
        auto greedy = [&](int n) {
            for (int i = 0; i < n; ++i) next = session->feed_greedy(next);
        };
        constexpr int kWarmup = 9;

        // Decode: warm up, then time greedy steps.
        next = session->feed_greedy(tok(rng));
        greedy(kWarmup - 1);
#ifdef GANDER_HAVE_CUDA
        if (opt.profile_step && opt.backend == gander::BackendKind::Cuda) {
            gander::detail::cuda_profile(true);
            greedy(1);
            gander::detail::cuda_profile(false);
        }
        if (!opt.trace.empty()) { // a step as the card runs it, then nothing else
            // A step is one graph whose replays reuse their launches' ids, and so their slots of
            // the trace: what is kept is the last of these 132 steps (the eighteenth session's
            // traces, of the 4 steps right after the warm-up, ran 5-8 % slower than the bench's
            // steps: docs/performance.md).
            gander::detail::cuda_trace_begin();
            greedy(132);
            std::printf("%s\n", gander::detail::cuda_trace_end(opt.trace).c_str());
            return 0;
        }
#endif
        t0 = Clock::now();
        greedy(opt.decode_tokens);
        const double decode_tps = opt.decode_tokens / seconds_since(t0);
        // Where a step's time goes between the card and the host: 128 more steps timed in parts
        // (events around each graph; not part of the figure above).
        std::string split_line;
#ifdef GANDER_HAVE_CUDA
        if (opt.backend == gander::BackendKind::Cuda && opt.decode_tokens > 0) {
            constexpr int kSplitSteps = 128;
            gander::detail::cuda_step_split(*session, true);
            t0 = Clock::now();
            greedy(kSplitSteps);
            const double step_us = 1e6 * seconds_since(t0) / kSplitSteps;
            const auto sp = gander::detail::cuda_step_split(*session, false);
            const double n = double(std::max<std::int64_t>(sp.steps, 1));
            const double card = 1e6 * sp.card_s / n, launch = 1e6 * sp.launch_s / n,
                         wait = 1e6 * sp.wait_s / n;
            fig["decode_split_step_us"] = step_us;
            fig["decode_split_card_us"] = card;
            fig["decode_split_launch_us"] = launch;
            fig["decode_split_wait_us"] = wait;
            char buf[256];
            std::snprintf(buf, sizeof buf,
                          "%.1f us = card %.1f + idle %.1f (launch call %.1f, host after the "
                          "wait %.1f)",
                          step_us, card, step_us - card, launch, step_us - launch - wait);
            split_line = buf;
        }
#endif
        // As the app decodes a chat reply (Session::feed_sampled): each step's next token drawn by
        // a Sampler at the chat defaults (top-p 0.3, penalties), on the card by default for CUDA
        // (GANDER_CARD_DRAW=0: the logits to the host and the draw there); 128 steps at most.
        double sampled_tps = 0;
        if (opt.decode_tokens > 0) {
            const int n = std::min(opt.decode_tokens, 128);
            gander::Sampler sampler{gander::SamplerParams{}};
            std::int32_t t = next;
            t0 = Clock::now();
            for (int i = 0; i < n; ++i) t = session->feed_sampled(t, sampler);
            sampled_tps = n / seconds_since(t0);
            fig["decode_sampled_tok_s"] = sampled_tps;
        }
        // Bytes of weights one decoded token reads (every matrix and vector once, one embedding
        // row), as the backend holds them.
        const double bpt = double(info.decode_bytes_per_token);
#ifdef GANDER_HAVE_CUDA
        if (opt.backend == gander::BackendKind::Cuda) {
            const auto [nonzero, all] = gander::detail::cuda_ffn_activity(*model);
            if (all > 0) fig["ffn_nonzero_fraction"] = double(nonzero) / double(all);
        }
#endif
        // The bytes a token actually read: the sparse step skips the FFN value rows of zero
        // activations (issue 5's roofline is bytes actually read over the bandwidth).
        double read_bpt = bpt;
        if (fig.count("ffn_nonzero_fraction") && info.sparse_bytes_per_token > 0)
            read_bpt -= (1.0 - fig["ffn_nonzero_fraction"]) * double(info.sparse_bytes_per_token);
        fig["decode_bytes_read_per_token"] = read_bpt;
        fig["decode_fraction_of_bytes_read"] = decode_tps * read_bpt / bandwidth;
        fig["decode_tok_s"] = decode_tps;
        fig["decode_bytes_per_token"] = bpt;
        fig["bandwidth_bytes_s"] = bandwidth;
        fig["decode_roofline_tok_s"] = bandwidth / bpt;
        fig["decode_fraction_of_roofline"] = decode_tps * bpt / bandwidth;

        std::vector<std::pair<int, double>> prefill;
#ifdef GANDER_HAVE_CUDA
        // CUDA: the first prefill allocates the chunk workspace and makes cuBLAS load its kernels
        // (lazily, per shape); warm up once so that T=512 is not charged for it.
        if (opt.backend == gander::BackendKind::Cuda) {
            std::vector<std::int32_t> warm(1024 + 512);
            for (auto& id : warm) id = tok(rng);
            session->prefill(warm);
        }
#endif
        for (int T : opt.prefill) {
            std::vector<std::int32_t> ids(static_cast<std::size_t>(T));
            for (auto& id : ids) id = tok(rng);
            session->reset();
            t0 = Clock::now();
            session->prefill(ids);
            const double tps = T / seconds_since(t0);
            prefill.emplace_back(T, tps);
            fig["prefill_tok_s_T" + std::to_string(T)] = tps;
            if (matrix_flops > 0)
                fig["prefill_fraction_of_matrix_T" + std::to_string(T)] =
                    tps * 2.0 * double(info.n_params - std::int64_t(shape.vocab) * shape.n_embd) /
                    matrix_flops;
        }
        // Decoding right after the longest prompt: RWKV's state does not grow with the context,
        // so this should match the decode figure above (issue 7: within 3 %). Timed as that
        // figure is: after the same kWarmup tokens (until the eighth session the first of
        // these 128 tokens came straight after the prompt, which the figure above never has).
        double decode_after = 0;
        if (!prefill.empty() && opt.decode_tokens > 0) {
            const int n = std::min(opt.decode_tokens, 128);
            next = argmax(session->logits());
            greedy(kWarmup);
            t0 = Clock::now();
            greedy(n);
            decode_after = n / seconds_since(t0);
            fig["decode_tok_s_after_prompt"] = decode_after;
            fig["decode_after_prompt_tokens"] = prefill.back().first;
        }
        // The peak of one session's decoding and prefill (issue 5's memory bar), before the
        // batched part adds B sessions' states.
        double peak = double(peak_rss_bytes());
#ifdef GANDER_HAVE_CUDA
        if (opt.backend == gander::BackendKind::Cuda)
            peak = double(gander::detail::cuda_peak_memory());
#endif
        fig["peak_memory_bytes"] = peak;

        // Batched decoding (Session::feed_batch): B sessions, one token each per step, greedy
        // (--batch) or sampled (--batch-sampled); the aggregate rate over 24 timed steps after 2
        // warm-up steps. Picks made on the host run side by side as the server samples a batch
        // (Scheduler's m_sampling.parallel_for in server/scheduler.cpp), on as many threads.
        gander::ThreadPool picks(gander::sampling_threads());
        struct Batched {
            int B;
            bool sampled;
            double tps, step_ms, feed_ms, card_ms; // feed_batch; its batched graph alone (CUDA)
        };
        std::vector<Batched> batched;
        // sampled: each session's token drawn by its own Sampler at the chat defaults (top-p 0.3,
        // penalties), as the server does for a request that sends no sampling fields.
        auto run_batched = [&](int B, bool sampled) {
            std::vector<std::unique_ptr<gander::Session>> own;
            std::vector<gander::Session*> ss;
            std::vector<gander::Sampler> samplers;
            std::vector<gander::Sampler*> drawing;
            std::vector<std::int32_t> ids(static_cast<std::size_t>(B));
            for (int i = 0; i < B; ++i) {
                own.push_back(model->new_session());
                ss.push_back(own.back().get());
                ids[std::size_t(i)] = tok(rng);
                gander::SamplerParams sp;
                sp.seed = std::uint64_t(i) + 1;
                if (sampled) samplers.emplace_back(sp);
            }
            for (auto& sampler : samplers) drawing.push_back(&sampler);
            const bool on_card = card_picks && !sampled;
            double card_ms = 0, feed_s = 0;
            std::vector<std::int32_t> picked(ids.size());
            auto step = [&] {
                const auto f0 = Clock::now();
                if (on_card) { // the picks come with the step
                    gander::Session::feed_batch_greedy(ss, ids, picked);
                    ids.swap(picked);
                } else if (sampled) { // drawn with the step where the backend does (CUDA)
                    gander::Session::feed_batch_sampled(ss, ids, drawing, picked);
                    ids.swap(picked);
                } else {
                    gander::Session::feed_batch(ss, ids);
                }
                feed_s += seconds_since(f0);
#ifdef GANDER_HAVE_CUDA
                if (opt.backend == gander::BackendKind::Cuda)
                    card_ms += gander::detail::cuda_last_batch_ms(*model);
#endif
                // Every draw made with the step (on the card): nothing for the host to do.
                if (on_card || (sampled && std::all_of(ids.begin(), ids.end(),
                                                       [](std::int32_t t) { return t >= 0; })))
                    return;
                picks.parallel_for(B, 1, [&](std::int64_t b, std::int64_t e) {
                    for (auto i = std::size_t(b); i < std::size_t(e); ++i)
                        if (!sampled)
                            ids[i] = argmax(ss[i]->logits());
                        else if (ids[i] < 0) // left to the caller: drawn on the host
                            ids[i] = samplers[i].sample(ss[i]->logits());
                });
            };
            step();
            step();
            const int steps = 24; // 8 moved the B = 8 figure by up to 20 % between runs (H100)
            card_ms = 0;
            feed_s = 0;
            t0 = Clock::now();
            for (int i = 0; i < steps; ++i) step();
            const double secs = seconds_since(t0);
            const double tps = double(B) * steps / secs;
            batched.push_back(
                {B, sampled, tps, 1e3 * secs / steps, 1e3 * feed_s / steps, card_ms / steps});
            const std::string key = (sampled ? "_sampled_B" : "_B") + std::to_string(B);
            fig["batch_decode_tok_s" + key] = tps;
            fig["batch_step_ms" + key] = 1e3 * secs / steps;
            if (card_ms > 0) fig["batch_card_ms" + key] = card_ms / steps;
        };
        for (int B : opt.batch) run_batched(B, false);
        for (int B : opt.batch_sampled) run_batched(B, true);
        double peak_batched = 0;
        if (!batched.empty()) {
            peak_batched = double(peak_rss_bytes());
#ifdef GANDER_HAVE_CUDA
            if (opt.backend == gander::BackendKind::Cuda)
                peak_batched = double(gander::detail::cuda_peak_memory());
#endif
            fig["peak_memory_bytes_with_batches"] = peak_batched;
        }

        std::printf("\ngander-bench  shape %s  backend %s  precision %s\n", opt.shape.c_str(),
                    std::string(gander::to_string(info.backend)).c_str(),
                    std::string(gander::to_string(info.precision)).c_str());
        std::printf("device        %s\n", device.c_str());
        std::printf("parameters    %.3f B, state %.1f MiB\n", double(info.n_params) / 1e9,
                    double(gander::state_size_f32(shape)) / (1 << 20));
        std::printf("bandwidth     %.1f GB/s (%s)\n", bandwidth / 1e9,
                    opt.backend == gander::BackendKind::Cuda ? "device copy, read+write"
                                                             : "host read, measured");
        if (opt.backend == gander::BackendKind::Cuda)
            std::printf("greedy picks  %s; sampled draws on the %s, batched on the %s\n",
                        card_picks ? "card" : "host (GANDER_CARD_PICK=0)",
                        card_draws ? "card" : "host", card_batch_draws ? "card" : "host");
        std::printf("%-28s %12s\n", "figure", "value");
        std::printf("%-28s %12.2f\n", "decode tok/s", decode_tps);
        if (sampled_tps > 0)
            std::printf("%-28s %12.2f  (chat defaults, draws on the %s: +%.0f us a token)\n",
                        "decode sampled tok/s", sampled_tps, card_draws ? "card" : "host",
                        1e6 / sampled_tps - 1e6 / decode_tps);
        std::printf("%-28s %12.1f\n", "weights MB per token", bpt / 1e6);
        std::printf("%-28s %12.2f\n", "roofline tok/s", bandwidth / bpt);
        if (fig.count("ffn_nonzero_fraction"))
            std::printf("%-28s %11.1f%%\n", "FFN activations non-zero",
                        100.0 * fig["ffn_nonzero_fraction"]);
        std::printf("%-28s %11.1f%%\n", "decode / roofline", 100.0 * decode_tps * bpt / bandwidth);
        if (!split_line.empty()) std::printf("%-28s %s\n", "decode step split", split_line.c_str());
        if (fig["decode_bytes_read_per_token"] < bpt) // the sparse step read fewer bytes
            std::printf("%-28s %11.1f%%  (%.1f MB read a token)\n", "decode / bytes read",
                        100.0 * fig["decode_fraction_of_bytes_read"],
                        fig["decode_bytes_read_per_token"] / 1e6);
        for (auto [T, tps] : prefill) {
            std::printf("%-28s %12.1f\n", ("prefill tok/s T=" + std::to_string(T)).c_str(), tps);
            if (matrix_flops > 0)
                std::printf("%-28s %11.1f%%\n", ("  of matrix peak T=" + std::to_string(T)).c_str(),
                            100.0 * fig["prefill_fraction_of_matrix_T" + std::to_string(T)]);
        }
        if (decode_after > 0)
            std::printf("%-28s %12.2f\n",
                        ("decode tok/s after T=" + std::to_string(prefill.back().first)).c_str(),
                        decode_after);
        // A step's time: the feed_batch call ("feed") and the greedy pick from each session's
        // logits (what a server does per step); "card": the batched graph alone.
        for (const Batched& b : batched) {
            std::printf(
                "%-28s %12.1f  (%.1fx batch 1; step %.2f ms, feed %.2f",
                ((b.sampled ? "batched sampled B=" : "batched decode B=") + std::to_string(b.B))
                    .c_str(),
                b.tps, b.tps / decode_tps, b.step_ms, b.feed_ms);
            if (b.card_ms > 0) std::printf(", card %.2f", b.card_ms);
            std::printf(")\n");
        }
        std::printf("%-28s %12.1f\n", "peak memory MB", peak / 1e6);
        if (peak_batched > 0)
            std::printf("%-28s %12.1f\n", "  with the batched sessions", peak_batched / 1e6);

        if (!opt.json.empty()) {
            std::ofstream f(opt.json);
            f << "{\n  \"shape\": \"" << opt.shape << "\",\n  \"backend\": \""
              << gander::to_string(info.backend) << "\",\n  \"precision\": \""
              << gander::to_string(info.precision) << "\",\n  \"device\": \"" << device << "\"";
            for (const auto& [k, v] : fig) f << ",\n  \"" << k << "\": " << v;
            f << "\n}\n";
            if (!f) throw gander::Error(opt.json + ": cannot write");
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gander-bench: %s\n", e.what());
        return 1;
    }
}
