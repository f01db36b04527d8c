// The CUDA backend's sessions (state on the card, decoding as a CUDA graph, chunked prefill with a
// fixed workspace) and its entry points in backend.h.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "backend.h"
#include "cuda/cuda_model.h"
#include "kernels/copy_out.h"
#include "kernels/sample.h"
#include "model/half.h"
#include "model/quantize.h"
#include "model/random_init.h"

namespace gander::cuda {
namespace {

class CudaSession final : public Session {
public:
    explicit CudaSession(CudaModel& m)
        : Session(m.info()), m_model(m), m_bytes(state_size_f32(m.info().shape)),
          m_state(m_bytes, "a session's state"), m_backup(m_bytes, "a session's state backup"),
          m_pinned_logits(std::size_t(m.info().shape.vocab) * sizeof(float), "a session's logits") {
        std::lock_guard lock(m_model.mutex());
        GANDER_CUDA(cudaMemsetAsync(m_state.get(), 0, m_bytes, m_model.stream()));
        GANDER_CUDA(cudaStreamSynchronize(m_model.stream()));
    }
    ~CudaSession() override {
        if (m_exec) cudaGraphExecDestroy(m_exec);
        if (m_exec_greedy) cudaGraphExecDestroy(m_exec_greedy);
        if (m_exec_sampled) cudaGraphExecDestroy(m_exec_sampled);
        for (cudaEvent_t e : m_split_ev)
            if (e) cudaEventDestroy(e);
    }

protected:
    void do_feed(std::int32_t token, std::span<float> logits) override {
        std::lock_guard lock(m_model.mutex());
        step_locked(token, logits);
    }

    // The step's graph picks on the card and keeps the logits there (cuda_model.h card_pick;
    // GANDER_CARD_PICK=0: as Session's default, a step with its logits out, picked on the host).
    bool do_feed_greedy(std::int32_t token, std::int32_t below, std::span<float> logits,
                        std::int32_t& pick) override {
        if (!card_pick()) return Session::do_feed_greedy(token, below, logits, pick);
        std::lock_guard lock(m_model.mutex());
        pick = step_greedy_locked(token, below);
        return true;
    }

    bool do_feed_batch_greedy(std::span<Session* const> sessions,
                              std::span<const std::int32_t> tokens,
                              std::span<const std::span<float>> logits,
                              std::span<std::int32_t> picks, std::int32_t below) override {
        if (!card_pick())
            return Session::do_feed_batch_greedy(sessions, tokens, logits, picks, below);
        std::lock_guard lock(m_model.mutex());
        batch_locked(sessions, tokens, logits, picks, below);
        return true;
    }

    // The step's graph draws on the card and keeps the logits there (cuda_model.h card_draw;
    // where the sampler's settings do not allow it, or GANDER_CARD_DRAW=0, as Session's default).
    void do_feed_sampled(std::int32_t token, std::int32_t below, Sampler& sampler,
                         std::span<float> logits, std::int32_t& pick) override {
        if (!card_draw(false)) return Session::do_feed_sampled(token, below, sampler, logits, pick);
        std::lock_guard lock(m_model.mutex());
        if (!m_model.plan_draw_row(0, &sampler, below)) {
            step_locked(token, logits);
            pick = -1;
            return;
        }
        pick = step_sampled_locked(token, sampler, logits);
    }

    void do_feed_batch_sampled(std::span<Session* const> sessions,
                               std::span<const std::int32_t> tokens,
                               std::span<const std::span<float>> logits,
                               std::span<Sampler* const> samplers, std::span<std::int32_t> picks,
                               std::int32_t below) override {
        if (!card_draw(true))
            return Session::do_feed_batch_sampled(sessions, tokens, logits, samplers, picks, below);
        std::lock_guard lock(m_model.mutex());
        batch_locked(sessions, tokens, logits, picks, below, samplers);
    }

    // A greedy or sampled step's logits, from this session's buffer on the card.
    void do_fetch_logits(std::span<float> logits) const override {
        std::lock_guard lock(m_model.mutex());
        fetch_locked(logits);
    }
    void fetch_locked(std::span<float> logits) const {
        GANDER_CUDA(cudaMemcpyAsync(logits.data(), m_card_logits.get(), logits.size_bytes(),
                                    cudaMemcpyDeviceToHost, m_model.stream()));
        GANDER_CUDA(cudaStreamSynchronize(m_model.stream()));
    }

    // Below this many sessions a batch is fed one session at a time. Through cuBLAS alone the
    // batched path needs a dequantised copy of every int8/int4 matrix and measured slower than
    // the per-session graphs at B = 8 (int4: 243 vs 317 tok/s; int8 266 vs 268, H100). With the
    // tensor-core kernel and ffn_value_tokens (GANDER_BATCH_TC, on by default) the packed weights
    // are read once: int4 B = 3 585 tok/s against 384 one at a time, B = 2 352 against 385 (H100,
    // fifth session), so int8/int4 batched from 3. Through the wide kernels (seventh session, H100)
    // B = 2 is 1.5x one session for every precision (int4 585 against 392 tok/s, int8 480 against
    // 316, fp16 302 against 208): every batch of 2 or more goes through step_batch.
    std::size_t min_batch() const {
        if (m_model.info().precision == Precision::Fp16 || m_model.wide_for(true)) return 2;
        return m_model.tc_tokens(true) >= 3 ? 3 : 16;
    }

    // Pinned: the decoding graph and step_batch copy the logits straight in (no staging).
    std::span<float> logits_storage() override {
        return {m_pinned_logits.as<float>(), std::size_t(m_model.info().shape.vocab)};
    }

    // One decoding step of this session; the model's mutex is held by the caller. The graph
    // leaves the logits in logits_storage(), which Session hands down as `logits`.
    void step_locked(std::int32_t token, std::span<float> logits) {
        if (!m_exec) capture();
        *m_model.pinned_token() = token;
        run_step(m_exec);
        if (logits.data() != m_pinned_logits.as<float>())
            std::memcpy(logits.data(), m_pinned_logits.as<float>(), logits.size_bytes());
    }

    void do_prefill(std::span<const std::int32_t> tokens, std::span<float> logits,
                    const Progress& progress) override {
        std::lock_guard lock(m_model.mutex());
        Workspace& ws = m_model.prefill_workspace(); // may throw (out of memory): state untouched
        cudaStream_t st = m_model.stream();
        GANDER_CUDA(
            cudaMemcpyAsync(m_backup.get(), m_state.get(), m_bytes, cudaMemcpyDeviceToDevice, st));
        try {
            for (std::size_t done = 0; done < tokens.size();) {
                const int n =
                    int(std::min<std::size_t>(std::size_t(ws.rows), tokens.size() - done));
                const bool last = done + std::size_t(n) == tokens.size();
                GANDER_CUDA(cudaMemcpyAsync(ws.ids, tokens.data() + done, std::size_t(n) * 4,
                                            cudaMemcpyHostToDevice, st));
                m_model.forward(n, m_state.as<float>(), ws, last);
                if (last)
                    GANDER_CUDA(cudaMemcpyAsync(logits.data(), ws.logits, logits.size_bytes(),
                                                cudaMemcpyDeviceToHost, st));
                GANDER_CUDA(cudaStreamSynchronize(st));
                done += std::size_t(n);
                if (progress && !progress(double(done) / double(tokens.size()))) throw Cancelled();
            }
        } catch (...) {
            cudaStreamSynchronize(st);
            cudaMemcpyAsync(m_state.get(), m_backup.get(), m_bytes, cudaMemcpyDeviceToDevice, st);
            cudaStreamSynchronize(st);
            throw;
        }
    }

    void do_feed_batch(std::span<Session* const> sessions, std::span<const std::int32_t> tokens,
                       std::span<const std::span<float>> logits) override {
        std::lock_guard lock(m_model.mutex());
        batch_locked(sessions, tokens, logits, {}, 0);
    }

    // A batched step in launches of up to kMaxBatch sessions; below min_batch() each session's
    // own graph. Its picks: none (`picks` empty: do_feed_batch), greedy (do_feed_batch_greedy),
    // or drawn with `samplers` where each allows (do_feed_batch_sampled: picks[i] = -1 and the
    // logits out where not). The model's mutex is held by the caller.
    void batch_locked(std::span<Session* const> sessions, std::span<const std::int32_t> tokens,
                      std::span<const std::span<float>> logits, std::span<std::int32_t> picks,
                      std::int32_t below, std::span<Sampler* const> samplers = {}) {
        const bool sampled = !samplers.empty(), greedy = !picks.empty() && !sampled;
        std::vector<float*> states, dst;
        for (std::size_t done = 0; done < sessions.size();) {
            const std::size_t n =
                std::min<std::size_t>(CudaModel::kMaxBatch, sessions.size() - done);
            // Session::feed_batch checked that every session belongs to this model.
            if (n < min_batch()) { // each session's own decoding graph is faster here
                for (std::size_t i = done; i < done + n; ++i) {
                    auto* s = static_cast<CudaSession*>(sessions[i]);
                    if (greedy)
                        picks[i] = s->step_greedy_locked(tokens[i], below);
                    else if (sampled && m_model.plan_draw_row(0, samplers[i], below))
                        picks[i] = s->step_sampled_locked(tokens[i], *samplers[i], logits[i]);
                    else
                        s->step_locked(tokens[i], logits[i]);
                }
                done += n;
                continue;
            }
            states.clear();
            dst.clear();
            bool any = greedy;
            for (std::size_t i = done; i < done + n; ++i) {
                auto* s = static_cast<CudaSession*>(sessions[i]);
                states.push_back(s->m_state.as<float>());
                const bool draws =
                    sampled && m_model.plan_draw_row(int(i - done), samplers[i], below);
                any = any || draws;
                if (greedy || draws)
                    dst.push_back(s->card_logits());
                else if (sampled)
                    dst.push_back(nullptr);
            }
            const auto rows = picks.empty() ? picks : picks.subspan(done, n);
            const CudaModel::BatchPicks card{dst, rows, below, sampled};
            m_model.step_batch(states, tokens.data() + done, logits.subspan(done, n),
                               any ? &card : nullptr);
            for (std::size_t i = done; sampled && i < done + n; ++i)
                if (dst[i - done])
                    static_cast<CudaSession*>(sessions[i])
                        ->drawn(picks[i], *samplers[i], logits[i]);
            done += n;
        }
    }

    void do_reset() override {
        std::lock_guard lock(m_model.mutex());
        GANDER_CUDA(cudaMemsetAsync(m_state.get(), 0, m_bytes, m_model.stream()));
        GANDER_CUDA(cudaStreamSynchronize(m_model.stream()));
    }

    void do_read_state(std::span<float> out) const override {
        std::lock_guard lock(m_model.mutex());
        GANDER_CUDA(cudaMemcpyAsync(out.data(), m_state.get(), m_bytes, cudaMemcpyDeviceToHost,
                                    m_model.stream()));
        GANDER_CUDA(cudaStreamSynchronize(m_model.stream()));
    }

    void do_write_state(std::span<const float> in) override {
        std::lock_guard lock(m_model.mutex());
        GANDER_CUDA(cudaMemcpyAsync(m_state.get(), in.data(), m_bytes, cudaMemcpyHostToDevice,
                                    m_model.stream()));
        GANDER_CUDA(cudaStreamSynchronize(m_model.stream()));
    }

public:
    // gander-bench's decode split (backend.h, cuda_step_split): the sums so far; from now on each
    // step is timed in parts (two event records a step more) while `on`.
    detail::StepSplit take_split(bool on) {
        std::lock_guard lock(m_model.mutex());
        const detail::StepSplit was = m_split;
        m_split = {};
        m_split.on = on;
        return was;
    }

private:
    // Runs one decoding step's graph (`exec`: logits out or greedy pick) to its end. While the
    // split is on (take_split), with its parts timed: the launch call and the wait on the host,
    // the graph between two events on the card.
    void run_step(cudaGraphExec_t exec) {
        using Clock = std::chrono::steady_clock;
        cudaStream_t st = m_model.stream();
        if (!m_split.on) {
            GANDER_CUDA(cudaGraphLaunch(exec, st));
            GANDER_CUDA(cudaStreamSynchronize(st));
            return;
        }
        if (!m_split_ev[0])
            for (cudaEvent_t& e : m_split_ev) GANDER_CUDA(cudaEventCreate(&e));
        const auto t0 = Clock::now();
        GANDER_CUDA(cudaEventRecord(m_split_ev[0], st));
        GANDER_CUDA(cudaGraphLaunch(exec, st));
        GANDER_CUDA(cudaEventRecord(m_split_ev[1], st));
        const auto t1 = Clock::now();
        GANDER_CUDA(cudaStreamSynchronize(st));
        const auto t2 = Clock::now();
        float ms = 0;
        GANDER_CUDA(cudaEventElapsedTime(&ms, m_split_ev[0], m_split_ev[1]));
        ++m_split.steps;
        m_split.launch_s += std::chrono::duration<double>(t1 - t0).count();
        m_split.wait_s += std::chrono::duration<double>(t2 - t1).count();
        m_split.card_s += double(ms) / 1e3;
    }

    // V floats on the card for a greedy step's logits, made on first need.
    float* card_logits() {
        if (!m_card_logits.get())
            m_card_logits = DeviceBuffer(std::size_t(m_model.info().shape.vocab) * sizeof(float),
                                         "a session's logits on the card");
        return m_card_logits.as<float>();
    }

    // One greedy decoding step of this session (the model's mutex held): its own graph, which
    // picks among the first `below` logits into pinned memory and keeps the logits in
    // card_logits(); recorded again when `below` changes.
    std::int32_t step_greedy_locked(std::int32_t token, std::int32_t below) {
        if (!m_exec_greedy || m_greedy_below != below) {
            float* keep = card_logits();
            cudaGraphExec_t exec = record_step([&](const float* logits, int V, cudaStream_t st) {
                GANDER_CUDA(kernels::argmax_rows(logits, below, V, 1, m_model.pinned_picks(), st));
                GANDER_CUDA(kernels::copy_row_out(logits, V, keep, st));
            });
            if (m_exec_greedy) cudaGraphExecDestroy(m_exec_greedy);
            m_exec_greedy = exec;
            m_greedy_below = below;
        }
        *m_model.pinned_token() = token;
        run_step(m_exec_greedy);
        return *m_model.pinned_picks();
    }

    // One sampled decoding step of this session (the model's mutex held, its draw planned in row
    // 0 of the model's draw table): its own graph, which draws into pinned memory and keeps the
    // logits in card_logits(). Returns the pick (recorded by the sampler), or -1 with the logits
    // in `logits` where every logit was -inf or NaN.
    std::int32_t step_sampled_locked(std::int32_t token, Sampler& sampler,
                                     std::span<float> logits) {
        if (!m_exec_sampled) {
            float* keep = card_logits();
            float* scratch = m_model.draw_scratch(false);
            m_exec_sampled = record_step([&](const float* out, int V, cudaStream_t st) {
                GANDER_CUDA(kernels::draw_rows(out, V, 1, m_model.draw_rows_table(),
                                               m_model.draw_penalties(), scratch,
                                               m_model.pinned_picks(), st));
                GANDER_CUDA(kernels::copy_row_out(out, V, keep, st));
            });
        }
        *m_model.pinned_token() = token;
        run_step(m_exec_sampled);
        std::int32_t pick = *m_model.pinned_picks();
        drawn(pick, sampler, logits);
        return pick;
    }

    // After a draw on the card: the sampler records the pick; where there was none (every logit
    // -inf or NaN), the logits go to `logits` and the pick stays -1, so that the host's sampler
    // draws from them and says what is wrong.
    void drawn(std::int32_t& pick, Sampler& sampler, std::span<float> logits) {
        if (pick >= 0)
            sampler.accept(pick);
        else
            fetch_locked(logits);
    }

    // Records one decoding step (token in from pinned memory, logits out to this session's pinned
    // logits by a kernel's stores, or GANDER_LOGITS_OUT=copy a copy engine's copy) as a graph bound
    // to this session's state and logits; each feed replays it.
    void capture() {
        m_exec = record_step([&](const float* logits, int V, cudaStream_t st) {
            if (measure_skip() & kSkipLogits) return; // timing only: wrong output
            float* host = m_pinned_logits.as<float>();
            if (logits_by_copy_engine())
                GANDER_CUDA(
                    cudaMemcpyAsync(host, logits, std::size_t(V) * 4, cudaMemcpyDeviceToHost, st));
            else
                GANDER_CUDA(kernels::copy_row_out(logits, V, host, st));
        });
    }

    // One decoding step of this session as a graph: the token in from pinned memory (left out
    // with GANDER_MEASURE_SKIP=token: timing only), the forward pass, then `out`, given the
    // step's V logits on the card.
    template <typename Out> cudaGraphExec_t record_step(const Out& out) {
        cudaStream_t st = m_model.stream();
        Workspace& ws = m_model.decode_workspace();
        const bool token = !(measure_skip() & kSkipToken);
        return capture_graph(st, [&] {
            if (token)
                GANDER_CUDA(
                    cudaMemcpyAsync(ws.ids, m_model.pinned_token(), 4, cudaMemcpyHostToDevice, st));
            m_model.forward(1, m_state.as<float>(), ws, true);
            out(static_cast<const float*>(ws.logits), m_model.info().shape.vocab, st);
        });
    }

    CudaModel& m_model;
    std::size_t m_bytes;
    DeviceBuffer m_state, m_backup;
    PinnedBuffer m_pinned_logits; // logits_storage(): V floats
    cudaGraphExec_t m_exec = nullptr;
    DeviceBuffer m_card_logits;              // card_logits()
    cudaGraphExec_t m_exec_greedy = nullptr; // step_greedy_locked
    cudaGraphExec_t m_exec_sampled = nullptr; // step_sampled_locked
    std::int32_t m_greedy_below = 0;
    detail::StepSplit m_split;      // take_split
    cudaEvent_t m_split_ev[2] = {}; // run_step
};

// The fingerprint model/weights.cpp gives the same random weights stored as fp16 (so that a state
// saved from a CUDA random model loads into the CPU one made with precision fp16, and back):
// FNV-1a over each fingerprinted tensor's dims and 64 sampled values. tests/gpu checks that the two
// agree.
std::string random_fingerprint(const ModelShape& s, std::uint64_t seed) {
    namespace ri = gander::model::random_init;
    std::uint64_t h = 0xcbf29ce484222325ull;
    auto add = [&](const void* p, std::size_t n) {
        auto* b = static_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
    };
    auto tensor = [&](int layer, ri::Role role, std::vector<std::int64_t> dims, int fan_in) {
        std::int64_t n = 1;
        for (auto d : dims) {
            add(&d, sizeof d);
            n *= d;
        }
        const std::int64_t step = std::max<std::int64_t>(1, n / 64);
        for (std::int64_t i = 0; i < n; i += step) {
            float v = model::f16_to_f32(
                model::f32_to_f16(ri::value(seed, layer, role, fan_in, std::uint64_t(i))));
            add(&v, 4);
        }
    };
    const std::int64_t C = s.n_embd, V = s.vocab, F = s.ffn_dim;
    tensor(-1, ri::Emb, {V, C}, 0);
    tensor(-1, ri::Ln0W, {C}, 0);
    tensor(-1, ri::Head, {V, C}, int(C));
    for (int i = 0; i < s.n_layer; ++i) {
        const LoraRanks& r = s.ranks[std::size_t(i)];
        tensor(i, ri::Receptance, {C, C}, int(C));
        tensor(i, ri::Key, {C, C}, int(C));
        tensor(i, ri::Value, {C, C}, int(C));
        tensor(i, ri::Output, {C, C}, int(C));
        tensor(i, ri::FfnKey, {F, C}, int(C));
        tensor(i, ri::FfnValue, {C, F}, int(F));
        tensor(i, ri::W1, {C, r.w}, int(C));
        tensor(i, ri::A1, {C, r.a}, int(C));
        tensor(i, ri::G1, {C, r.g}, int(C));
        tensor(i, ri::RK, {C}, 0);
        tensor(i, ri::XR, {C}, 0);
        tensor(i, ri::LnXW, {C}, 0);
    }
    static const char* digits = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i, h >>= 4) out[std::size_t(i)] = digits[h & 15];
    return out;
}

// fp16 always; int8/int4 when the weights come quantized (load_model converts or reads the cache
// on the host first).
void check_options(const LoadOptions& options, const model::Weights* weights) {
    if (!options.precision || *options.precision == Precision::Fp16) return;
    const bool quantized =
        *options.precision == Precision::Int8 || *options.precision == Precision::Int4;
    if (quantized && (!weights || weights->file_dtype == to_string(*options.precision))) return;
    throw Error("CUDA backend: precision " + std::string(to_string(*options.precision)) +
                " is not available (fp16, int8 or int4 on the card)");
}

// Throws when the card cannot hold the model, one session and the workspaces.
void check_fits(const ModelShape& shape, const model::Weights* weights, const std::string& device) {
    const std::size_t need = CudaModel::bytes_needed(shape, weights) + 2 * state_size_f32(shape) +
                             (std::size_t(256) << 20); // context, cuBLAS kernels, graphs
    std::size_t free_b = 0, total_b = 0;
    GANDER_CUDA(cudaSetDevice(0));
    GANDER_CUDA(cudaMemGetInfo(&free_b, &total_b));
    if (need > free_b)
        throw Error(device + " has " + format_gb(free_b) + " free, model needs " + format_gb(need));
}

ModelInfo cuda_info(ModelInfo info, const std::string& device) {
    info.backend = BackendKind::Cuda;
    info.precision = info.file_dtype == "int8"   ? Precision::Int8
                     : info.file_dtype == "int4" ? Precision::Int4
                                                 : Precision::Fp16;
    info.device = device;
    info.backend_note = "CUDA: " + device;
    return info;
}

} // namespace

std::unique_ptr<Session> CudaModel::new_session() {
    return std::make_unique<CudaSession>(*this);
}

} // namespace gander::cuda

namespace gander::detail {

std::unique_ptr<Model> make_cuda_model(std::shared_ptr<const model::Weights> weights,
                                       const LoadOptions& options) {
    cuda::check_options(options, weights.get());
    std::string device;
    if (std::string why = cuda_probe(&device); !why.empty())
        throw Error("CUDA backend unavailable: " + why);
    cuda::check_fits(weights->shape, weights.get(), device);
    return std::make_unique<cuda::CudaModel>(weights->shape, weights.get(), 0,
                                             cuda::cuda_info(base_model_info(*weights), device),
                                             options.progress);
}

std::unique_ptr<Model> make_cuda_random_model(const ModelShape& shape, std::uint64_t seed,
                                              const LoadOptions& options) {
    cuda::check_options(options, nullptr);
    if (options.precision &&
        (*options.precision == Precision::Int8 || *options.precision == Precision::Int4)) {
        // Quantized random weights are made and quantized on the host (in parallel), then
        // uploaded as they are: the card runs exactly the CPU reference's int8/int4 values.
        auto w = model::convert_weights(model::make_random_weights(shape, seed, io::DType::F16),
                                        *options.precision);
        return make_cuda_model(std::move(w), options);
    }
    if (shape.n_layer <= 0 || shape.n_embd <= 0 || shape.head_size <= 0 ||
        shape.n_embd % shape.head_size != 0 || shape.vocab <= 0 || shape.ffn_dim <= 0 ||
        int(shape.ranks.size()) != shape.n_layer)
        throw Error("random weights: inconsistent shape");
    std::string device;
    if (std::string why = cuda_probe(&device); !why.empty())
        throw Error("CUDA backend unavailable: " + why);
    cuda::check_fits(shape, nullptr, device);
    ModelInfo info;
    info.shape = shape;
    info.file_dtype = "fp16";
    info.fingerprint = cuda::random_fingerprint(shape, seed);
    info.n_params = parameter_count(shape);
    return std::make_unique<cuda::CudaModel>(shape, nullptr, seed, cuda::cuda_info(info, device),
                                             options.progress);
}

} // namespace gander::detail

namespace gander::detail {

std::pair<std::uint64_t, std::uint64_t> cuda_ffn_activity(Model& model) {
    auto* m = dynamic_cast<cuda::CudaModel*>(&model);
    return m ? m->ffn_activity() : std::pair<std::uint64_t, std::uint64_t>{0, 0};
}

bool cuda_card_pick() {
    return cuda::card_pick();
}

bool cuda_card_draw(bool batched) {
    return cuda::card_draw(batched);
}

StepSplit cuda_step_split(Session& session, bool on) {
    auto* s = dynamic_cast<cuda::CudaSession*>(&session);
    return s ? s->take_split(on) : StepSplit{};
}

double cuda_last_batch_ms(Model& model) {
    auto* m = dynamic_cast<cuda::CudaModel*>(&model);
    return m ? m->last_batch_ms() : 0.0;
}

} // namespace gander::detail
