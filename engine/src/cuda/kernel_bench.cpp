// gander-bench --kernels: each decoding matrix-vector kernel alone on the card, on the 7.2B
// model's shapes, against the copy bandwidth measured in the same run (backend.h).
//
// Method: random weights (never zeros) in enough copies that one pass over them is several times
// the L2 cache; a CUDA graph of launches cycling through the copies (no launch gaps from the host),
// replayed several times; the median replay over the launches in it gives the time of one. Bytes:
// the weights and scales each launch reads once (x and the outputs are under 0.1 % of that).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <vector>

#include "backend.h"
#include "cuda/convert.h"
#include "cuda/cuda_common.h"
#include "gander/sampler.h"
#include "kernels/ffn_sparse.h"
#include "kernels/gemv.h"
#include "kernels/gemv_quant.h"
#include "kernels/gemv_tc.h"
#include "kernels/handoff.h"
#include "kernels/sample.h"

namespace gander::detail {
namespace {

namespace k = gander::kernels;

struct Raw {
    void* p = nullptr;
    Raw() = default;
    explicit Raw(std::size_t bytes) {
        GANDER_CUDA(cudaMalloc(&p, std::max<std::size_t>(bytes, 16)));
    }
    Raw(Raw&& o) noexcept : p(o.p) { o.p = nullptr; }
    Raw& operator=(Raw&& o) noexcept {
        std::swap(p, o.p);
        return *this;
    }
    ~Raw() {
        if (p) cudaFree(p);
    }
    template <typename T> T* as() const { return static_cast<T*>(p); }
};

// Random bytes: random fp16 values, read as whatever the kernel wants.
void fill(Raw& r, std::size_t bytes, std::uint64_t seed, cudaStream_t s) {
    const long long halves = static_cast<long long>((bytes + 1) / 2);
    GANDER_CUDA(cuda::random_tensor(seed, 0, 0, 0, r.as<__half>(), nullptr, 1, halves, false, s));
}

struct Mat {
    int rows, cols;
    k::GemvOut out;
};

std::size_t weight_bytes(const Mat& m, k::WeightKind kind) {
    const std::size_t n = std::size_t(m.rows) * m.cols;
    switch (kind) {
    case k::WeightKind::F16:
        return n * 2;
    case k::WeightKind::Int8Row:
        return n + std::size_t(m.rows) * 2;
    case k::WeightKind::Int4G64:
        return n / 2 + n / 64 * 2;
    }
    return 0;
}

// Copies of a launch's weights to cycle through: at least 512 MB in all (~10x the L2), at least 2.
int copies_for(std::size_t launch_bytes) {
    return int(
        std::max<std::size_t>(2, ((std::size_t(512) << 20) + launch_bytes - 1) / launch_bytes));
}

// Microseconds of one launch: `per_graph` calls of launch(i) captured in a CUDA graph (no host
// gaps), replayed once to warm up and 7 times more, the median replay over per_graph. launch(0)
// runs once before, outside.
template <typename Launch>
double time_launches(cudaStream_t s, cudaEvent_t e0, cudaEvent_t e1, int per_graph, Launch&& launch) {
    GANDER_CUDA(cudaStreamSynchronize(s));
    GANDER_CUDA(launch(0)); // warm-up
    GANDER_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    cudaError_t err = cudaSuccess;
    for (int i = 0; i < per_graph && err == cudaSuccess; ++i) err = launch(i);
    cudaGraph_t graph = nullptr;
    const cudaError_t end = cudaStreamEndCapture(s, &graph);
    GANDER_CUDA(err);
    GANDER_CUDA(end);
    cudaGraphExec_t exec = nullptr;
    err = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    GANDER_CUDA(err);
    const double ms =
        cuda::median_event_ms(s, e0, e1, 7, [&] { GANDER_CUDA(cudaGraphLaunch(exec, s)); });
    cudaGraphExecDestroy(exec);
    return ms * 1e3 / per_graph;
}

} // namespace

const std::vector<std::string>& cuda_kernel_sections() {
    static const std::vector<std::string> names = {
        "one", "one-once", "chain", "sparse", "dequant", "wide", "wide-once", "handoff", "draw"};
    return names;
}

std::vector<KernelFigure> cuda_bench_kernels(double copy_bytes_per_s, const std::string& only) {
    if (!only.empty() && std::find(cuda_kernel_sections().begin(), cuda_kernel_sections().end(),
                                   only) == cuda_kernel_sections().end())
        throw Error("no section \"" + only + "\" in the kernel table");
    const int C = 4096, F = 16384, V = 65536;
    // The table's sections (gander-bench --kernels-only NAME): all of them when `only` is empty.
    // "one-once" / "wide-once": that section's tensor-core cases launched once each, untimed (for
    // a profiler: one launch of each case, nothing else).
    const bool once = only == "one-once" || only == "wide-once";
    auto want = [&](const char* section) {
        return only.empty() || only == section || only == std::string(section) + "-once";
    };
    // "handoff" only when asked for by name: its flag chain spins, which a table run by default
    // should not risk.
    const bool handoff = only == "handoff";
    struct Case {
        const char* name;
        std::vector<Mat> mats; // one launch
    };
    const std::vector<Case> cases = {
        {"r,k,v 3x4096x4096",
         {{C, C, k::GemvOut::StoreF32}, {C, C, k::GemvOut::StoreF32}, {C, C, k::GemvOut::StoreF32}}},
        {"output 4096x4096", {{C, C, k::GemvOut::AddF32}}},
        {"ffn key 16384x4096", {{F, C, k::GemvOut::Relu2F16}}},
        {"ffn value 4096x16384", {{C, F, k::GemvOut::AddF32}}},
        {"head 65536x4096", {{V, C, k::GemvOut::StoreF32}}},
    };
    const k::WeightKind kinds[] = {k::WeightKind::F16, k::WeightKind::Int8Row,
                                   k::WeightKind::Int4G64};
    const char* kind_names[] = {"fp16", "int8", "int4"};

    cudaStream_t s = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr;
    GANDER_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    GANDER_CUDA(cudaEventCreate(&e0));
    GANDER_CUDA(cudaEventCreate(&e1));
    struct Cleanup {
        cudaStream_t s;
        cudaEvent_t a, b;
        ~Cleanup() {
            cudaEventDestroy(a);
            cudaEventDestroy(b);
            cudaStreamDestroy(s);
        }
    } cleanup{s, e0, e1};

    // x (fp16, as wide as the widest input) and y (fp32, as tall as the tallest output).
    Raw x(std::size_t(F) * 2), y(std::size_t(V) * 4 * 3);
    fill(x, std::size_t(F) * 2, 7, s);
    GANDER_CUDA(cudaMemsetAsync(y.p, 0, std::size_t(V) * 4 * 3, s));

    std::vector<KernelFigure> out;
    // A row of the table. A read-only stream against a copy's read + write: the fraction of the
    // copy bandwidth, as issue 7 asks for.
    auto add = [&](std::string name, std::string kind, std::string kernel, double bytes, double us) {
        const double per_s = bytes / (us * 1e-6);
        out.push_back({std::move(name), std::move(kind), std::move(kernel), bytes, us, per_s,
                       copy_bytes_per_s > 0 ? per_s / copy_bytes_per_s : 0});
    };
    for (const Case& c : cases) {
        if (!want("one")) break;
        for (int ki = 0; ki < 3; ++ki) {
            const k::WeightKind kind = kinds[ki];
            std::size_t launch_bytes = 0;
            for (const Mat& m : c.mats) launch_bytes += weight_bytes(m, kind);
            const int copies = copies_for(launch_bytes);
            std::vector<std::vector<Raw>> W(static_cast<std::size_t>(copies)),
                S(static_cast<std::size_t>(copies));
            for (int cp = 0; cp < copies; ++cp) {
                for (std::size_t mi = 0; mi < c.mats.size(); ++mi) {
                    const Mat& m = c.mats[mi];
                    const std::size_t n = std::size_t(m.rows) * m.cols;
                    const std::size_t wb = kind == k::WeightKind::F16       ? n * 2
                                           : kind == k::WeightKind::Int8Row ? n
                                                                            : n / 2;
                    const std::size_t sb = kind == k::WeightKind::Int8Row   ? std::size_t(m.rows) * 2
                                           : kind == k::WeightKind::Int4G64 ? n / 64 * 2
                                                                            : 0;
                    W[std::size_t(cp)].emplace_back(wb);
                    fill(W[std::size_t(cp)].back(), wb, 100 + std::uint64_t(cp * 8 + int(mi)), s);
                    S[std::size_t(cp)].emplace_back(sb);
                    if (sb) fill(S[std::size_t(cp)].back(), sb, 900 + std::uint64_t(cp), s);
                }
            }
            // One launch over copy `cp` with the tensor-core kernel or the classic one.
            auto launch = [&](int cp, bool tc) {
                if (tc) {
                    k::TcBatch b;
                    for (std::size_t mi = 0; mi < c.mats.size(); ++mi) {
                        const Mat& m = c.mats[mi];
                        b.add({W[std::size_t(cp)][mi].p, S[std::size_t(cp)][mi].as<__half>(),
                               x.as<__half>(), y.as<float>() + mi * std::size_t(V), m.rows, m.cols,
                               kind, m.out});
                    }
                    return k::gemv_tc(b, s);
                }
                if (kind == k::WeightKind::F16) {
                    k::GemvBatch b;
                    for (std::size_t mi = 0; mi < c.mats.size(); ++mi) {
                        const Mat& m = c.mats[mi];
                        b.add({W[std::size_t(cp)][mi].as<__half>(), x.as<__half>(),
                               y.as<float>() + mi * std::size_t(V), m.rows, m.cols,
                               k::GemvIn::Plain, m.out});
                    }
                    return k::gemv(b, s);
                }
                k::QGemvBatch b;
                for (std::size_t mi = 0; mi < c.mats.size(); ++mi) {
                    const Mat& m = c.mats[mi];
                    b.add({W[std::size_t(cp)][mi].as<std::uint8_t>(),
                           S[std::size_t(cp)][mi].as<__half>(), x.as<__half>(),
                           y.as<float>() + mi * std::size_t(V), m.rows, m.cols,
                           kind == k::WeightKind::Int8Row ? k::QuantKind::Int8Row
                                                          : k::QuantKind::Int4G64,
                           m.out});
                }
                return k::gemv_quant(b, s);
            };
            if (once) {
                GANDER_CUDA(launch(0, true));
                GANDER_CUDA(cudaStreamSynchronize(s));
                continue;
            }
            for (bool tc : {false, true}) {
                const double us = time_launches(s, e0, e1, std::max(copies, 24),
                                                [&](int i) { return launch(i % copies, tc); });
                add(c.name, kind_names[ki], tc ? "tensor-core" : "classic", double(launch_bytes),
                    us);
            }
        }
    }

    // The long one-token products of a decoding step (per layer: r, k, v in one launch, output,
    // FFN key) for 32 layers of distinct weights as launches, each waiting for the one before
    // (programmatic dependent launch), as the model runs them. Per layer: us and the rate of its
    // weight bytes. (Until the seventeenth session two more rows ran the same products as the
    // phases of one cooperative kernel, with and without grid barriers between them: they lost to
    // the launches, docs/performance.md, twelfth session, and the kernel was removed.)
    for (const k::WeightKind kind : {k::WeightKind::Int8Row, k::WeightKind::Int4G64}) {
        if (!want("chain")) break;
        const int layers = 32;
        const std::vector<Mat> mats = {{C, C, k::GemvOut::StoreF32},
                                       {C, C, k::GemvOut::StoreF32},
                                       {C, C, k::GemvOut::StoreF32},
                                       {C, C, k::GemvOut::AddF32},
                                       {F, C, k::GemvOut::Relu2F16}};
        double layer_bytes = 0;
        for (const Mat& m : mats) layer_bytes += double(weight_bytes(m, kind));
        const bool i8 = kind == k::WeightKind::Int8Row;
        std::vector<Raw> W, S;
        std::vector<k::TcBatch> phases;
        Raw key_out(std::size_t(F) * 2);
        for (int l = 0; l < layers; ++l) {
            k::TcBatch b[3];
            for (std::size_t mi = 0; mi < mats.size(); ++mi) {
                const Mat& m = mats[mi];
                const std::size_t n = std::size_t(m.rows) * m.cols;
                const std::size_t wb = i8 ? n : n / 2,
                                  sb = i8 ? std::size_t(m.rows) * 2 : n / 64 * 2;
                W.emplace_back(wb);
                fill(W.back(), wb, 3000 + std::uint64_t(l * 8) + mi, s);
                S.emplace_back(sb);
                fill(S.back(), sb, 5000 + std::uint64_t(l * 8) + mi, s);
                void* yo =
                    m.out == k::GemvOut::Relu2F16
                        ? key_out.p
                        : static_cast<void*>(y.as<float>() + std::min<std::size_t>(mi, 3) * C);
                b[mi < 3 ? 0 : mi - 2].add({W.back().p, S.back().as<__half>(), x.as<__half>(), yo,
                                            m.rows, m.cols, kind, m.out});
            }
            for (const k::TcBatch& one : b) phases.push_back(one);
        }
        const double launches_us = time_launches(s, e0, e1, 1,
                                                 [&](int) {
                                                     cudaError_t err = cudaSuccess;
                                                     for (const k::TcBatch& ph : phases)
                                                         if (err == cudaSuccess)
                                                             err = k::gemv_tc(ph, s);
                                                     return err;
                                                 }) /
                                   layers;
        add("32 layers: r,k,v; output; ffn key", i8 ? "int8" : "int4", "launches", layer_bytes,
            launches_us);
    }

    // What a dependency between two launches costs with nothing else to do (kernels/handoff.h):
    // chains of 64 launches of 16 blocks (as a LayerNorm launch) or two an SM (as the bulk
    // products), each waiting for the one before by stream order, by programmatic dependent launch
    // (as the decoding step) or on a flag its blocks count on; us a launch.
    if (handoff) {
        const int launches = 64;
        Raw values(sizeof(float) * (launches + 1)), flags(sizeof(unsigned) * launches);
        const std::pair<k::HandoffMode, const char*> modes[] = {{k::HandoffMode::Stream, "stream"},
                                                                {k::HandoffMode::Pdl, "pdl"},
                                                                {k::HandoffMode::Flag, "flag"}};
        int sms = 0;
        GANDER_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
        for (const int blocks : {16, 2 * sms}) {
            for (const auto& [mode, name] : modes) {
                const double us = time_launches(s, e0, e1, 1, [&](int) {
                    return k::handoff_chain(mode, launches, blocks, values.as<float>(),
                                            flags.as<unsigned>(), s);
                });
                float last = 0;
                GANDER_CUDA(cudaMemcpy(&last, values.as<float>() + launches, sizeof last,
                                       cudaMemcpyDeviceToHost));
                if (last != float(launches))
                    throw Error(std::string("handoff chain (") + name + ") ended at " +
                                std::to_string(last) + ", not " + std::to_string(launches));
                add("handoff, " + std::to_string(blocks) + " blocks", name, "a launch", 0,
                    us / launches);
            }
        }
    }

    // A sampled step's draw (gander-bench --kernels-only draw): draw_rows over one row and over 32
    // rows of V logits at the chat defaults (top-p 0.3, 100 tokens' penalties), against the host's
    // Sampler over the same row (its logits already on the host). Rows: a trained model's kind of
    // spread, N(0, 3) (the host's near-list case), and the random 7.2B model's kind, N(0, 0.01)
    // (flat). us a row (the 32 rows: us for all of them).
    if (only == "draw") {
        std::mt19937_64 rng(7);
        k::DrawRow* rows = nullptr;
        k::DrawPenalty* pen = nullptr;
        std::int32_t* picks = nullptr;
        GANDER_CUDA(cudaMallocHost(&rows, sizeof(k::DrawRow) * 32));
        GANDER_CUDA(cudaMallocHost(&pen, sizeof(k::DrawPenalty) * k::kDrawMaxPenalties * 32));
        GANDER_CUDA(cudaMallocHost(&picks, sizeof(std::int32_t) * 32));
        Raw dx(sizeof(float) * V * 32), scratch(sizeof(float) * 2 * V * 32);
        for (const auto& [name, sigma] :
             {std::pair{"trained-like N(0,3)", 3.0f}, std::pair{"flat N(0,0.01)", 0.01f}}) {
            std::normal_distribution<float> nd(0.0f, sigma);
            std::vector<float> x(std::size_t(V) * 32);
            for (auto& v : x) v = nd(rng);
            GANDER_CUDA(cudaMemcpy(dx.p, x.data(), x.size() * 4, cudaMemcpyHostToDevice));
            Sampler host{SamplerParams{}};
            std::uniform_int_distribution<int> tok(0, V - 1);
            for (int i = 0; i < 100; ++i) host.accept(tok(rng));
            for (int r = 0; r < 32; ++r) {
                Sampler planner = host;
                DrawPlan plan;
                planner.plan_draw(std::size_t(V), plan);
                rows[r] = {plan.u,
                           plan.top_p,
                           plan.inv_temperature,
                           plan.temperature_one ? 1 : 0,
                           V,
                           int(plan.penalties.size()),
                           0};
                for (std::size_t j = 0; j < plan.penalties.size(); ++j)
                    pen[std::size_t(r) * k::kDrawMaxPenalties + j] = {plan.penalties[j].first,
                                                                      plan.penalties[j].second};
            }
            for (const int n : {1, 32}) {
                const double us = time_launches(s, e0, e1, 10, [&](int) {
                    return k::draw_rows(dx.as<float>(), V, n, rows, pen, scratch.as<float>(), picks,
                                        s);
                });
                add("draw " + std::string(name), n == 1 ? "1 row" : "32 rows", "draw_rows", 0, us);
            }
            std::vector<double> us;
            for (int i = 0; i < 32; ++i) {
                Sampler one = host;
                // Once first, so that the timed draw finds its buffers made, as in a reply.
                (void)one.sample(
                    std::span<const float>(x.data() + std::size_t((i + 1) % 32) * V, V));
                const auto t0 = std::chrono::steady_clock::now();
                (void)one.sample(std::span<const float>(x.data() + std::size_t(i) * V, V));
                us.push_back(
                    std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                        .count());
            }
            std::nth_element(us.begin(), us.begin() + 16, us.end());
            add("draw " + std::string(name), "1 row", "host Sampler", 0, us[16]);
        }
        cudaFreeHost(rows);
        cudaFreeHost(pen);
        cudaFreeHost(picks);
    }

    // The sparse FFN value step (transposed weights, fp16, int8 and int4) at several fractions of
    // zero activations; 0 % runs the kernel's dense mode (every row). Bytes: the dense matrix
    // (int4: and its scales), so the "of copy" column is the effective rate and dense time / time
    // the gain. 100 % lists no row: what the step costs whatever it reads (the list, the partial
    // sums and their addition), the floor a trained model's 90-97 % zeros approach.
    for (const k::WeightKind kind : kinds) {
        if (!want("sparse")) break;
        const bool i8 = kind == k::WeightKind::Int8Row, i4 = kind == k::WeightKind::Int4G64;
        const std::size_t wbytes = std::size_t(F) * C * (i8 ? 2 : i4 ? 1 : 4) / 2;
        const std::size_t sbytes = i4 ? std::size_t(F) / 64 * C * 2 : std::size_t(C) * 2;
        const int copies = 4;
        std::vector<Raw> W;
        for (int cp = 0; cp < copies; ++cp) {
            W.emplace_back(wbytes);
            fill(W.back(), wbytes, 500 + std::uint64_t(cp), s);
        }
        Raw partial(k::ffn_value_sparse_scratch(F, C)), h(std::size_t(F) * 2), sc(sbytes);
        fill(sc, sbytes, 77, s);
        std::vector<__half> hh(static_cast<std::size_t>(F));
        std::uint64_t state = 12345;
        auto next = [&] { // xorshift: a fresh pattern of zeros, values in (0, 4]
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            return double(state >> 11) / double(1ull << 53);
        };
        for (double zeros : {0.0, 0.5, 0.75, 0.9, 0.95, 0.97, 1.0}) {
            for (auto& v : hh) v = __float2half(next() < zeros ? 0.0f : float(4.0 * next() + 1e-3));
            GANDER_CUDA(cudaMemcpyAsync(h.p, hh.data(), hh.size() * 2, cudaMemcpyHostToDevice, s));
            const bool dense = zeros == 0.0;
            const double us = time_launches(s, e0, e1, 24, [&](int i) {
                const void* w = W[std::size_t(i % copies)].p;
                if (i4)
                    return k::ffn_value_sparse_i4(h.as<__half>(), static_cast<const std::uint8_t*>(w),
                                                  sc.as<__half>(), F, C, y.as<float>(),
                                                  partial.as<float>(), dense, s);
                return i8 ? k::ffn_value_sparse_i8(h.as<__half>(), static_cast<const std::int8_t*>(w),
                                                   sc.as<__half>(), F, C, y.as<float>(),
                                                   partial.as<float>(), dense, s)
                          : k::ffn_value_sparse(h.as<__half>(), static_cast<const __half*>(w), F, C,
                                                y.as<float>(), partial.as<float>(), dense, s);
            });
            add("ffn value^T 16384x4096", i4 ? "int4" : i8 ? "int8" : "fp16",
                dense ? "sparse, dense" : std::to_string(int(zeros * 100 + 0.5)) + "% zeros",
                double(wbytes + (i4 ? sbytes : 0)), us);
        }
    }
    // Dequantisation for cuBLAS (prefill, batched decoding): a 16384 x 4096 matrix to fp16,
    // row-major (every matrix but ffn.value) and transposed (ffn.value). Bytes: packed weights and
    // scales read plus fp16 written, like the copy's read + write.
    if (want("dequant")) {
        const std::size_t n = std::size_t(F) * C;
        Raw deq(n * 2);
        for (const k::WeightKind kind : kinds) {
            const bool i8 = kind == k::WeightKind::Int8Row, i4 = kind == k::WeightKind::Int4G64;
            if (!i8 && !i4) continue;
            const std::size_t wbytes = i8 ? n : n / 2;
            Raw W(wbytes), S(std::size_t(F) / 64 * C * 2);
            fill(W, wbytes, 600, s);
            fill(S, std::size_t(F) / 64 * C * 2, 601, s);
            for (bool cols : {false, true}) {
                const double us = time_launches(s, e0, e1, 12, [&](int) {
                    const auto* w = W.as<std::uint8_t>();
                    if (!cols)
                        return k::dequantize(i8 ? k::QuantKind::Int8Row : k::QuantKind::Int4G64, w,
                                             S.as<__half>(), F, C, deq.as<__half>(), s);
                    return i8 ? k::dequantize_cols_i8(reinterpret_cast<const std::int8_t*>(w),
                                                      S.as<__half>(), F, C, deq.as<__half>(), s)
                              : k::dequantize_cols_i4(w, S.as<__half>(), F, C, deq.as<__half>(), s);
                });
                add(cols ? "dequantise^T 16384x4096" : "dequantise 16384x4096", i4 ? "int4" : "int8",
                    "to fp16", double(wbytes + (i4 ? n / 32 : i8 && !cols ? F * 2 : C * 2) + n * 2),
                    us);
            }
            // The batched step's FFN value product, 8 tokens (ffn_value_tokens; random activations:
            // every row has a non-zero one). Bytes: the packed matrix and scales, read once.
            Raw h(std::size_t(8) * F * 2), y(std::size_t(8) * C * 4),
                partial(k::ffn_value_tokens_scratch(F, C));
            fill(h, std::size_t(8) * F * 2, 602, s);
            const double us = time_launches(s, e0, e1, 12, [&](int) {
                const auto* w = W.as<std::uint8_t>();
                return i8 ? k::ffn_value_tokens_i8(
                                h.as<__half>(), 8, reinterpret_cast<const std::int8_t*>(w),
                                S.as<__half>(), F, C, y.as<float>(), partial.as<float>(), s)
                          : k::ffn_value_tokens_i4(h.as<__half>(), 8, w, S.as<__half>(), F, C,
                                                   y.as<float>(), partial.as<float>(), s);
            });
            add("ffn value^T x8 16384x4096", i4 ? "int4" : "int8", "8 tokens",
                double(wbytes + (i4 ? n / 32 : C * 2)), us);
        }
    }
    // The products of a batched step of 32 sessions (int8 / int4; fp16 goes to cuBLAS there): per
    // layer r, k, v in one launch, output, FFN key (gemv_tc_wide; the model's key launch stores
    // fp32, zeroed first when slices meet) and FFN value (ffn_value_wide, transposed weights).
    // Bytes: the weights and scales, read once from memory (x and y are ~2-8 % of them here, from
    // L2).
    if (want("wide")) {
        const int T = 32;
        Raw xw(std::size_t(T) * F * 2), yw(std::size_t(T) * F * 4 * 3);
        fill(xw, std::size_t(T) * F * 2, 11, s);
        GANDER_CUDA(cudaMemsetAsync(yw.p, 0, std::size_t(T) * F * 4 * 3, s));
        const std::vector<Case> wide_cases = {
            {"r,k,v 3x4096x4096 x32",
             {{C, C, k::GemvOut::StoreF32},
              {C, C, k::GemvOut::StoreF32},
              {C, C, k::GemvOut::StoreF32}}},
            {"output 4096x4096 x32", {{C, C, k::GemvOut::AddF32}}},
            {"ffn key 16384x4096 x32", {{F, C, k::GemvOut::StoreF32}}},
            {"ffn value^T 16384x4096 x32", {{F, C, k::GemvOut::AddF32}}}, // Wt [F, C]
        };
        for (const Case& c : wide_cases) {
            const bool value = std::string(c.name).find("value") != std::string::npos;
            for (const k::WeightKind kind : {k::WeightKind::Int8Row, k::WeightKind::Int4G64}) {
                const bool i4 = kind == k::WeightKind::Int4G64;
                // Scales: per row (int8) or per 64 columns of a row (int4); the transposed
                // value matrix: per column c (int8) or per (64 rows f, column c) (int4).
                auto bytes_of = [&](const Mat& m, bool scales) {
                    const std::size_t n = std::size_t(m.rows) * m.cols;
                    if (!scales) return i4 ? n / 2 : n;
                    return i4 ? n / 64 * 2 : std::size_t(value ? m.cols : m.rows) * 2;
                };
                std::size_t launch_bytes = 0;
                for (const Mat& m : c.mats) launch_bytes += bytes_of(m, false) + bytes_of(m, true);
                const int copies = copies_for(launch_bytes);
                std::vector<std::vector<Raw>> W(static_cast<std::size_t>(copies)),
                    S(static_cast<std::size_t>(copies));
                for (int cp = 0; cp < copies; ++cp)
                    for (std::size_t mi = 0; mi < c.mats.size(); ++mi) {
                        const Mat& m = c.mats[mi];
                        const std::size_t wb = bytes_of(m, false), sb = bytes_of(m, true);
                        auto& w = W[std::size_t(cp)];
                        w.emplace_back(wb);
                        fill(w.back(), wb, 7000 + std::uint64_t(cp * 8) + mi, s);
                        S[std::size_t(cp)].emplace_back(sb);
                        fill(S[std::size_t(cp)].back(), sb, 8000 + std::uint64_t(cp), s);
                    }
                auto launch = [&](int cp, bool lean) {
                    const auto& w = W[std::size_t(cp)];
                    const auto& sc = S[std::size_t(cp)];
                    if (value)
                        return k::ffn_value_wide(i4, w[0].p, sc[0].as<__half>(), xw.as<__half>(), T,
                                                 F, C, yw.as<float>(), s);
                    k::TcBatch b;
                    b.tokens = T;
                    b.lean = lean;
                    for (std::size_t mi = 0; mi < c.mats.size(); ++mi) {
                        const Mat& m = c.mats[mi];
                        b.add({w[mi].p, sc[mi].as<__half>(), xw.as<__half>(),
                               yw.as<float>() + mi * std::size_t(T) * F, m.rows, m.cols, kind,
                               m.out});
                    }
                    return k::gemv_tc_wide(b, s);
                };
                if (once) {
                    GANDER_CUDA(launch(0, i4));
                    GANDER_CUDA(cudaStreamSynchronize(s));
                    continue;
                }
                // As an int4 model's batched step (lean) or an int8 one's; for int4's
                // gemv_tc_wide also the default kernel alone and the two launch by launch
                // (fifteenth session: a step gained from the lean kernels only when all of its
                // launches took them; "alt" above the mean of the two would be the cost of
                // switching kernels, e.g. their code leaving the instruction caches).
                const int n = std::max(copies, 24);
                auto time_with = [&](auto lean_of) {
                    return time_launches(s, e0, e1, n,
                                         [&](int i) { return launch(i % copies, lean_of(i)); });
                };
                add(c.name, i4 ? "int4" : "int8", value ? "value_wide" : "tc_wide",
                    double(launch_bytes), time_with([&](int) { return i4; }));
                if (i4 && !value) {
                    add(c.name, "int4", "tc_wide plain", double(launch_bytes),
                        time_with([](int) { return false; }));
                    add(c.name, "int4", "tc_wide alt", double(launch_bytes),
                        time_with([](int i) { return i % 2 == 0; }));
                }
            }
        }
    }
    return out;
}

} // namespace gander::detail
