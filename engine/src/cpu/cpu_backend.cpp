// The CPU backend: the RWKV-7 forward pass in fp32 arithmetic over weights kept as stored (fp32,
// fp16 or bf16, memory-mapped). One code path serves decoding (T = 1) and prefill (a chunk of T
// tokens: matrix products over the chunk, the WKV recurrence stepped token by token inside it), so
// prefill and token-by-token feeding compute the same thing. The math follows
// shared/fixtures/README.md (BlinkDL's rwkv_v7_demo_rnn.py).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "backend.h"
#include "cpu/ops.h"
#include "gander/thread_pool.h"

namespace gander::cpu {
namespace {

constexpr float kLayerNormEps = 1e-5f;
constexpr float kGroupNormEps = 64e-5f;
constexpr float kDecayScale = -0.606531f; // -exp(-0.5)
constexpr int kChunk = 64;                // prefill tokens per pass: fixes the workspace size

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

std::vector<float> f32(const model::Tensor& t) {
    std::vector<float> v(std::size_t(t.numel()));
    if (!t.empty()) t.to_f32(v.data());
    return v;
}

// The per-layer vectors converted to fp32 once at load (they are read for every token).
struct LayerVectors {
    std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b, x_r, x_w, x_k, x_v, x_a, x_g, w0, a0, v0, k_k,
        k_a, r_k, ln_x_w, ln_x_b, ffn_x_k;
};

class CpuModel final : public Model {
public:
    CpuModel(std::shared_ptr<const model::Weights> w, const LoadOptions& options, std::string note)
        : m_w(std::move(w)), m_pool(options.threads) {
        m_info = detail::base_model_info(*m_w);
        m_info.backend_note = std::move(note);
        m_info.backend = BackendKind::Cpu;
        m_info.precision = parse_precision(m_w->file_dtype).value_or(Precision::Fp32);
        m_info.device = "CPU, " + std::to_string(m_pool.size()) + " threads";
        m_info.weight_bytes = 0;
        auto add = [&](const model::Tensor& t) { m_info.weight_bytes += t.nbytes; };
        add(m_w->emb);
        add(m_w->head);
        for (const auto& l : m_w->layers) {
            for (const model::Tensor* t :
                 {&l.receptance, &l.key, &l.value, &l.output, &l.ffn_key, &l.ffn_value, &l.w1,
                  &l.w2, &l.a1, &l.a2, &l.v1, &l.v2, &l.g1, &l.g2})
                add(*t);
            LayerVectors v;
            v.ln1_w = f32(l.ln1_w), v.ln1_b = f32(l.ln1_b), v.ln2_w = f32(l.ln2_w);
            v.ln2_b = f32(l.ln2_b), v.x_r = f32(l.x_r), v.x_w = f32(l.x_w), v.x_k = f32(l.x_k);
            v.x_v = f32(l.x_v), v.x_a = f32(l.x_a), v.x_g = f32(l.x_g), v.w0 = f32(l.w0);
            v.a0 = f32(l.a0), v.v0 = f32(l.v0), v.k_k = f32(l.k_k), v.k_a = f32(l.k_a);
            v.r_k = f32(l.r_k), v.ln_x_w = f32(l.ln_x_w), v.ln_x_b = f32(l.ln_x_b);
            v.ffn_x_k = f32(l.ffn_x_k);
            m_vec.push_back(std::move(v));
        }
        m_info.decode_bytes_per_token =
            m_info.weight_bytes - m_w->emb.nbytes + m_w->emb.row_bytes();
        m_ln0_w = f32(m_w->ln0_w), m_ln0_b = f32(m_w->ln0_b);
        m_ln_out_w = f32(m_w->ln_out_w), m_ln_out_b = f32(m_w->ln_out_b);
    }

    const ModelInfo& info() const override { return m_info; }
    std::unique_ptr<Session> new_session() override;

    const model::Weights& w() const { return *m_w; }
    const LayerVectors& vec(int i) const { return m_vec[std::size_t(i)]; }
    ThreadPool& pool() { return m_pool; }
    const std::vector<float>& ln0_w() const { return m_ln0_w; }
    const std::vector<float>& ln0_b() const { return m_ln0_b; }
    const std::vector<float>& ln_out_w() const { return m_ln_out_w; }
    const std::vector<float>& ln_out_b() const { return m_ln_out_b; }
    std::mutex& mutex() { return m_mutex; }

private:
    std::shared_ptr<const model::Weights> m_w;
    ModelInfo m_info;
    ThreadPool m_pool;
    std::vector<LayerVectors> m_vec;
    std::vector<float> m_ln0_w, m_ln0_b, m_ln_out_w, m_ln_out_b;
    std::mutex m_mutex; // the pool runs one parallel_for at a time: sessions take turns
};

class CpuSession final : public Session {
public:
    explicit CpuSession(CpuModel& m) : Session(m.info()), m_model(m) {
        const auto& s = m.w().shape;
        m_C = s.n_embd, m_N = s.head_size, m_H = s.n_head(), m_F = s.ffn_dim;
        m_layer_floats = std::size_t(2 * m_C + m_H * m_N * m_N);
        m_state.assign(m_layer_floats * std::size_t(s.n_layer), 0.0f);
        int max_rank = 1;
        for (const auto& r : s.ranks) max_rank = std::max({max_rank, r.w, r.a, r.v, r.g});
        const std::size_t tc = std::size_t(kChunk) * std::size_t(m_C);
        for (auto* b : {&m_x, &m_xa, &m_xr, &m_xw, &m_xk, &m_xv, &m_xaa, &m_xg, &m_r, &m_k, &m_v,
                        &m_vfirst, &m_decay, &m_a, &m_g, &m_kk, &m_y, &m_tmpc})
            b->assign(tc, 0.0f);
        m_lora.assign(std::size_t(kChunk) * std::size_t(max_rank), 0.0f);
        m_ffn.assign(std::size_t(kChunk) * std::size_t(m_F), 0.0f);
        m_row.assign(std::size_t(std::max(max_rank, m_C)), 0.0f);
    }

protected:
    void do_feed(std::int32_t token, std::span<float> logits) override {
        std::lock_guard lock(m_model.mutex());
        run_chunk(&token, 1, logits.data());
    }

    void do_prefill(std::span<const std::int32_t> tokens, std::span<float> logits,
                    const Progress& progress) override {
        std::lock_guard lock(m_model.mutex());
        const std::vector<float> backup = m_state; // a cancelled prefill leaves the state as it was
        try {
            for (std::size_t done = 0; done < tokens.size();) {
                const int n = int(std::min<std::size_t>(kChunk, tokens.size() - done));
                const bool last = done + std::size_t(n) == tokens.size();
                run_chunk(tokens.data() + done, n, last ? logits.data() : nullptr);
                done += std::size_t(n);
                if (progress && !progress(double(done) / double(tokens.size())))
                    throw Cancelled();
            }
        } catch (...) {
            m_state = backup;
            throw;
        }
    }

    void do_feed_batch(std::span<Session* const> sessions, std::span<const std::int32_t> tokens,
                       std::span<const std::span<float>> logits) override {
        std::lock_guard lock(m_model.mutex());
        const std::size_t V = std::size_t(m_model.w().shape.vocab);
        for (std::size_t done = 0; done < sessions.size();) {
            const std::size_t n = std::min<std::size_t>(kChunk, sessions.size() - done);
            m_batch.clear();
            for (std::size_t i = 0; i < n; ++i)
                m_batch.push_back(static_cast<CpuSession*>(sessions[done + i]));
            m_batch_logits.resize(n * V);
            try {
                run_chunk(tokens.data() + done, int(n), m_batch_logits.data());
            } catch (...) {
                m_batch.clear();
                throw;
            }
            m_batch.clear();
            for (std::size_t i = 0; i < n; ++i)
                std::copy_n(m_batch_logits.data() + i * V, V, logits[done + i].data());
            done += n;
        }
    }

    void do_reset() override { std::fill(m_state.begin(), m_state.end(), 0.0f); }
    void do_read_state(std::span<float> out) const override {
        std::copy(m_state.begin(), m_state.end(), out.begin());
    }
    void do_write_state(std::span<const float> in) override {
        std::copy(in.begin(), in.end(), m_state.begin());
    }

private:
    float* shift_state(int part, int l) { return part == 0 ? att_x_prev(l) : ffn_x_prev(l); }
    float* att_x_prev(int l) { return m_state.data() + m_layer_floats * std::size_t(l); }
    float* att_kv(int l) { return att_x_prev(l) + m_C; }
    float* ffn_x_prev(int l) { return att_kv(l) + std::size_t(m_H) * m_N * m_N; }

    void project(const model::Tensor& W, const float* X, float* Y, int T) {
        if (T == 1) matvec(W, X, Y, &m_model.pool());
        else matmul(W, X, Y, T, &m_model.pool());
    }

    // OUT[t, :] = X[t, :] @ M for M [rows, cols] (LoRA matrices, official orientation).
    void vecmat(const model::Tensor& M, const float* X, float* OUT, int T) {
        const int rows = int(M.rows()), cols = int(M.cols());
        std::fill(OUT, OUT + std::size_t(T) * cols, 0.0f);
        for (int c = 0; c < rows; ++c) {
            M.row_to_f32(c, m_row.data());
            for (int t = 0; t < T; ++t) {
                const float xc = X[std::size_t(t) * rows + c];
                float* o = OUT + std::size_t(t) * cols;
                for (int d = 0; d < cols; ++d) o[d] += xc * m_row[d];
            }
        }
    }

    // The previous token's normalised input of row t for layer li (part 0: attention, 1: FFN):
    // the row before in a sequence, or the row's own session state in a batch.
    const float* prev_row(const float* Xn, int part, int li, int t) {
        if (!m_batch.empty()) return m_batch[std::size_t(t)]->shift_state(part, li);
        return t == 0 ? shift_state(part, li) : Xn + std::size_t(t - 1) * m_C;
    }

    // Token shift: D[t] = Xn[t] + (prev(t) - Xn[t]) * mix.
    void shift_mix(const float* Xn, int part, int li, const std::vector<float>& mix, float* D, int T) {
        for (int t = 0; t < T; ++t) {
            const float* x = Xn + std::size_t(t) * m_C;
            const float* p = prev_row(Xn, part, li, t);
            float* d = D + std::size_t(t) * m_C;
            for (int c = 0; c < m_C; ++c) d[c] = x[c] + (p[c] - x[c]) * mix[std::size_t(c)];
        }
    }

    // After a pass the shift state holds the last normalised input (each row's, in a batch).
    void save_shift(const float* Xn, int part, int li, int T) {
        if (m_batch.empty()) {
            std::copy_n(Xn + std::size_t(T - 1) * m_C, m_C, shift_state(part, li));
            return;
        }
        for (int t = 0; t < T; ++t)
            std::copy_n(Xn + std::size_t(t) * m_C, m_C, m_batch[std::size_t(t)]->shift_state(part, li));
    }

    void time_mix(int li, int T) {
        const auto& L = m_model.w().layers[std::size_t(li)];
        const auto& v = m_model.vec(li);
        const std::size_t C = std::size_t(m_C);
        for (int t = 0; t < T; ++t)
            layer_norm(&m_x[t * C], v.ln1_w.data(), v.ln1_b.data(), &m_xa[t * C], m_C,
                       kLayerNormEps);
        shift_mix(m_xa.data(), 0, li, v.x_r, m_xr.data(), T);
        shift_mix(m_xa.data(), 0, li, v.x_w, m_xw.data(), T);
        shift_mix(m_xa.data(), 0, li, v.x_k, m_xk.data(), T);
        shift_mix(m_xa.data(), 0, li, v.x_v, m_xv.data(), T);
        shift_mix(m_xa.data(), 0, li, v.x_a, m_xaa.data(), T);
        shift_mix(m_xa.data(), 0, li, v.x_g, m_xg.data(), T);
        save_shift(m_xa.data(), 0, li, T);

        project(L.receptance, m_xr.data(), m_r.data(), T);
        project(L.key, m_xk.data(), m_k.data(), T);
        project(L.value, m_xv.data(), m_v.data(), T);

        // decay = exp(-0.606531 * sigmoid(w0 + tanh(xw @ w1) @ w2))
        vecmat(L.w1, m_xw.data(), m_lora.data(), T);
        for (std::size_t i = 0; i < std::size_t(T) * L.w1.cols(); ++i) m_lora[i] = std::tanh(m_lora[i]);
        vecmat(L.w2, m_lora.data(), m_decay.data(), T);
        for (int t = 0; t < T; ++t)
            for (std::size_t c = 0; c < C; ++c) {
                float& d = m_decay[t * C + c];
                d = std::exp(kDecayScale * sigmoid(v.w0[c] + d));
            }
        // a = sigmoid(a0 + (xa @ a1) @ a2)
        vecmat(L.a1, m_xaa.data(), m_lora.data(), T);
        vecmat(L.a2, m_lora.data(), m_a.data(), T);
        for (int t = 0; t < T; ++t)
            for (std::size_t c = 0; c < C; ++c) m_a[t * C + c] = sigmoid(v.a0[c] + m_a[t * C + c]);
        // g = sigmoid(xg @ g1) @ g2
        vecmat(L.g1, m_xg.data(), m_lora.data(), T);
        for (std::size_t i = 0; i < std::size_t(T) * L.g1.cols(); ++i) m_lora[i] = sigmoid(m_lora[i]);
        vecmat(L.g2, m_lora.data(), m_g.data(), T);

        // Value residual: layer 0 sets v_first, later layers mix towards it.
        if (li == 0) {
            std::copy_n(m_v.data(), std::size_t(T) * C, m_vfirst.data());
        } else {
            vecmat(L.v1, m_xv.data(), m_lora.data(), T);
            vecmat(L.v2, m_lora.data(), m_tmpc.data(), T);
            for (int t = 0; t < T; ++t)
                for (std::size_t c = 0; c < C; ++c) {
                    const std::size_t i = t * C + c;
                    m_v[i] += (m_vfirst[i] - m_v[i]) * sigmoid(v.v0[c] + m_tmpc[i]);
                }
        }
        // kk = normalize(k * k_k) per head; k = k * (1 + (a - 1) * k_a)
        for (int t = 0; t < T; ++t) {
            for (int h = 0; h < m_H; ++h) {
                const std::size_t o = t * C + std::size_t(h) * m_N;
                double ss = 0;
                for (int j = 0; j < m_N; ++j) {
                    const float q = m_k[o + j] * v.k_k[h * m_N + j];
                    m_kk[o + j] = q;
                    ss += double(q) * q;
                }
                const float inv = 1.0f / std::max(float(std::sqrt(ss)), 1e-12f);
                for (int j = 0; j < m_N; ++j) m_kk[o + j] *= inv;
            }
            for (std::size_t c = 0; c < C; ++c) {
                const std::size_t i = t * C + c;
                m_k[i] *= 1.0f + (m_a[i] - 1.0f) * v.k_a[c];
            }
        }

        // The recurrence, token by token; heads are independent.
        for (int t = 0; t < T; ++t) {
            const std::size_t o = t * C;
            float* S = m_batch.empty() ? att_kv(li) : m_batch[std::size_t(t)]->att_kv(li);
            m_model.pool().parallel_for(m_H, 1, [&](std::int64_t b, std::int64_t e) {
                for (std::int64_t h = b; h < e; ++h) {
                    const std::size_t ho = o + std::size_t(h) * m_N;
                    wkv7_step(S + std::size_t(h) * m_N * m_N, &m_r[ho], &m_decay[ho], &m_k[ho],
                              &m_v[ho], &m_kk[ho], &m_a[ho], &m_y[ho], 1, m_N);
                }
            });
        }
        // Output: GroupNorm per head, the r_k bonus, the gate, the output projection.
        for (int t = 0; t < T; ++t) {
            const std::size_t o = t * C;
            group_norm(&m_y[o], v.ln_x_w.data(), v.ln_x_b.data(), &m_y[o], m_H, m_N,
                       kGroupNormEps);
            for (int h = 0; h < m_H; ++h) {
                const std::size_t ho = o + std::size_t(h) * m_N;
                float s = 0;
                for (int j = 0; j < m_N; ++j) s += m_r[ho + j] * m_k[ho + j] * v.r_k[h * m_N + j];
                for (int j = 0; j < m_N; ++j) m_y[ho + j] += s * m_v[ho + j];
            }
            for (std::size_t c = 0; c < C; ++c) m_y[o + c] *= m_g[o + c];
        }
        project(L.output, m_y.data(), m_tmpc.data(), T);
        for (std::size_t i = 0; i < std::size_t(T) * C; ++i) m_x[i] += m_tmpc[i];
    }

    void channel_mix(int li, int T) {
        const auto& L = m_model.w().layers[std::size_t(li)];
        const auto& v = m_model.vec(li);
        const std::size_t C = std::size_t(m_C);
        for (int t = 0; t < T; ++t)
            layer_norm(&m_x[t * C], v.ln2_w.data(), v.ln2_b.data(), &m_xa[t * C], m_C,
                       kLayerNormEps);
        shift_mix(m_xa.data(), 1, li, v.ffn_x_k, m_xk.data(), T);
        save_shift(m_xa.data(), 1, li, T);
        project(L.ffn_key, m_xk.data(), m_ffn.data(), T);
        for (std::size_t i = 0; i < std::size_t(T) * m_F; ++i) {
            const float r = std::max(m_ffn[i], 0.0f);
            m_ffn[i] = r * r;
        }
        project(L.ffn_value, m_ffn.data(), m_tmpc.data(), T);
        for (std::size_t i = 0; i < std::size_t(T) * C; ++i) m_x[i] += m_tmpc[i];
    }

    // Runs T <= kChunk tokens through the model; writes the last token's logits if asked.
    void run_chunk(const std::int32_t* tokens, int T, float* logits) {
        const auto& W = m_model.w();
        const std::size_t C = std::size_t(m_C);
        for (int t = 0; t < T; ++t) {
            W.emb.row_to_f32(tokens[t], &m_tmpc[t * C]);
            if (!W.ln0_w.empty())
                layer_norm(&m_tmpc[t * C], m_model.ln0_w().data(), m_model.ln0_b().data(),
                           &m_x[t * C], m_C, kLayerNormEps);
            else
                std::copy_n(&m_tmpc[t * C], C, &m_x[t * C]);
        }
        for (int li = 0; li < W.shape.n_layer; ++li) {
            time_mix(li, T);
            channel_mix(li, T);
        }
        if (!logits) return;
        // A sequence needs the last row's logits; a batch needs every row's ([T, V]).
        const int first = m_batch.empty() ? T - 1 : 0;
        for (int t = first; t < T; ++t)
            layer_norm(&m_x[t * C], m_model.ln_out_w().data(), m_model.ln_out_b().data(),
                       &m_xa[(t - first) * C], m_C, kLayerNormEps);
        project(W.head, m_xa.data(), logits, T - first);
    }

    CpuModel& m_model;
    int m_C = 0, m_N = 0, m_H = 0, m_F = 0;
    std::size_t m_layer_floats = 0;
    std::vector<float> m_state;
    std::vector<CpuSession*> m_batch; // the sessions of the rows during a batched step
    // Workspace for one chunk: its size depends on kChunk, never on the prompt length.
    std::vector<float> m_x, m_xa, m_xr, m_xw, m_xk, m_xv, m_xaa, m_xg, m_r, m_k, m_v, m_vfirst,
        m_decay, m_a, m_g, m_kk, m_y, m_tmpc, m_lora, m_ffn, m_row;
    std::vector<float> m_batch_logits; // a batched step's [n, V] before they go to each session
};

std::unique_ptr<Session> CpuModel::new_session() { return std::make_unique<CpuSession>(*this); }

} // namespace
} // namespace gander::cpu

namespace gander::detail {

std::unique_ptr<Model> make_cpu_model(std::shared_ptr<const model::Weights> weights,
                                      const LoadOptions& options, std::string note) {
    return std::make_unique<cpu::CpuModel>(std::move(weights), options, std::move(note));
}

} // namespace gander::detail
