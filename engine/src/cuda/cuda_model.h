// The CUDA backend's model: fp16 weight matrices and fp32 vectors in one device allocation, the
// forward pass over T tokens (T == 1: the decoding step, batched GEMVs, captured as a CUDA graph
// by each session; T > 1: a prefill chunk, cuBLAS matrix products), and its fixed workspaces.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include <cuda_fp16.h>

#include "cuda/cuda_common.h"
#include "gander/gander.h"
#include "gander/sampler.h"
#include "kernels/gemv_quant.h"
#include "kernels/sample.h"
#include "model/weights.h"

namespace gander::cuda {

// Rows of a prefill chunk: the workspace holds this many tokens whatever the prompt length.
constexpr int kPrefillChunk = 1024;

// A quantized matrix on the card (model/quantize.h formats); q == nullptr when it is fp16.
struct QuantDev {
    const std::uint8_t* q = nullptr;
    const __half* scales = nullptr;
    kernels::QuantKind kind = kernels::QuantKind::Int8Row;
};

struct LayerDev {
    const float *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
    const float *x_r = nullptr, *x_w = nullptr, *x_k = nullptr, *x_v = nullptr, *x_a = nullptr,
                *x_g = nullptr;
    const float *w0 = nullptr, *a0 = nullptr, *v0 = nullptr, *k_k = nullptr, *k_a = nullptr,
                *r_k = nullptr;
    const float *ln_x_w = nullptr, *ln_x_b = nullptr, *ffn_x_k = nullptr;
    // [out, in] row-major; the LoRA matrices are stored transposed from the file's [in, out].
    const __half *Wr = nullptr, *Wk = nullptr, *Wv = nullptr, *Wo = nullptr;
    const __half *w1 = nullptr, *w2 = nullptr, *a1 = nullptr, *a2 = nullptr, *v1 = nullptr,
                 *v2 = nullptr, *g1 = nullptr, *g2 = nullptr;
    const __half* ffn_k = nullptr;
    // ffn.value is stored transposed, [F, C]: the sparse decoding step reads whole rows of it
    // (kernels/ffn_sparse.h).
    const __half* ffn_vt = nullptr;
    // Set instead of the fp16 pointers above when the weights are int8/int4.
    QuantDev qr, qk, qv, qo, qffn_k;
    // int8: the bytes transposed (scales per C as in the file); int4: the nibbles transposed and
    // the scales to [F / 64, C].
    QuantDev qffn_vt;
    LoraRanks ranks;
};

// GANDER_MEASURE_SKIP=lnmix,down,up,wkv,out,ffnk,ffnv leaves those launches out of a decoding
// step (and of a batched step), =scan the WKV scan out of prefill, =token / =logits the decoding
// graph's copy of the token in / the logits out. For measurement only (docs/performance.md: the
// time each part takes in the whole step, launch gaps included, without a profiler): the output is
// wrong while it is set.
enum SkipBit : unsigned {
    kSkipLnMix = 1,
    kSkipDown = 2,
    kSkipUp = 4,
    kSkipWkv = 8,
    kSkipOut = 16,
    kSkipFfnK = 32,
    kSkipFfnV = 64,
    kSkipScan = 128, // prefill
    kSkipToken = 256,
    kSkipLogits = 512,
};
unsigned measure_skip();
// GANDER_LOGITS_OUT=copy: logits leave the card by copy-engine copies (cudaMemcpyAsync), as before
// the twentieth session; by default by a kernel's stores into the pinned host buffers
// (kernels/copy_out.h).
bool logits_by_copy_engine();
// Greedy steps (Session::feed_greedy, feed_batch_greedy) pick on the card and keep the logits there
// until logits() asks (kernels/sample.h argmax_rows; twenty-first session: a step of 32 int4
// sessions 5.85 -> 5.43 ms on an H200, docs/performance.md). GANDER_CARD_PICK=0: they feed and pick
// on the host, as before.
bool card_pick();
// Sampled steps (Session::feed_sampled, feed_batch_sampled) draw on the card where the sampler's
// settings allow (Sampler::can_plan: top-k off, at most kDrawMaxPenalties penalised tokens) and
// keep the logits there until logits() asks (kernels/sample.h draw_rows; twenty-second session:
// on an H200 a draw is ~135 us on the card against ~175-270 us on its host for a trained model's
// kind of logits, and a step of 32 sampled int4 sessions 6.7x -> 9.5x one session's rate).
// `batched`: for feed_batch_sampled's steps, else feed_sampled's. GANDER_CARD_DRAW=0: they feed
// on the card and draw on the host, as before; =batch: only batched steps draw on the card.
bool card_draw(bool batched);

// Activations for up to `rows` tokens.
struct Workspace {
    int rows = 0;
    DeviceBuffer mem;
    std::int32_t* ids = nullptr;
    float *x = nullptr, *r = nullptr, *k = nullptr, *v = nullptr, *wl = nullptr, *al = nullptr,
          *vl = nullptr, *gl = nullptr, *neg_kk = nullptr, *y = nullptr, *v_first = nullptr,
          *prev = nullptr, *ffn_f = nullptr, *logits = nullptr;
    __half *xm[6] = {}, *yg = nullptr, *hw = nullptr, *ha = nullptr, *hv = nullptr, *hg = nullptr,
           *ffn_h = nullptr, *xo = nullptr;
    __half* deq = nullptr; // prefill with quantized weights: one matrix dequantised for cuBLAS
    float* partial = nullptr; // decoding: the sparse FFN's per-chunk sums
};

class CudaModel final : public Model {
public:
    // Uploads `weights` (weights == nullptr: random weights of `shape` made on the card).
    CudaModel(const ModelShape& shape, const model::Weights* weights, std::uint64_t seed,
              ModelInfo info, const Progress& progress);
    ~CudaModel() override;

    const ModelInfo& info() const override { return m_info; }
    std::unique_ptr<Session> new_session() override;

    // Bytes the model needs on the card besides one session's state: weights and workspaces.
    // `weights` null: fp16 weights of `shape` (random models).
    static std::size_t bytes_needed(const ModelShape& shape,
                                    const model::Weights* weights = nullptr);

    // --- used by CudaSession, under mutex() ---
    std::mutex& mutex() { return m_mutex; }
    cudaStream_t stream() const { return m_stream; }
    Workspace& decode_workspace() { return m_decode; }
    Workspace& prefill_workspace(); // allocated on first use; throws Error on OOM
    std::int32_t* pinned_token() const { return m_pin_token.as<std::int32_t>(); }
    // kMaxBatch ids the card writes: greedy steps' picks (read after the step's sync).
    std::int32_t* pinned_picks() const { return m_pin_picks.as<std::int32_t>(); }
    // Sampled steps' draws (draw_rows): row r of the pinned table of settings and penalty lists
    // that the card reads, filled from `sampler`'s plan for a draw over `below` logits. False
    // (the row then draws nothing, and nothing was taken from the sampler) where the draw cannot
    // be made on the card: no sampler, or settings that Sampler::can_plan refuses.
    bool plan_draw_row(int r, Sampler* sampler, std::int32_t below);
    const kernels::DrawRow* draw_rows_table() const { return m_draw_rows.as<kernels::DrawRow>(); }
    const kernels::DrawPenalty* draw_penalties() const {
        return m_draw_pen.as<kernels::DrawPenalty>();
    }
    // The draws' scratch on the card (2 V floats a row): one row for the decoding graphs, or
    // kMaxBatch for step_batch; made on first need, never moved after (graphs name it).
    float* draw_scratch(bool batch);
    // Runs T tokens (ids already in ws.ids) through the model, updating `state` (reference
    // layout); leaves the last token's logits in ws.logits when `logits` is set. T == 1 uses only
    // graph-capturable kernels (no cuBLAS).
    void forward(int T, float* state, Workspace& ws, bool logits);

    // Batched decoding: one token for each of states.size() sessions (at most kMaxBatch), every
    // session with its own state (reference layout, on the card); the logits of row b go to
    // logits[b] (vocab floats), written once the step has finished: copied there by the card when
    // logits[b] is pinned host memory (CUDA sessions' logits), else through pinned staging. Uses
    // the prefill workspace (the weights are read once for the whole batch). A failure part-way
    // leaves the states partly advanced.
    static constexpr int kMaxBatch = 64;
    // Over the decoding steps so far (every precision): {non-zero FFN activations, all of them}.
    std::pair<std::uint64_t, std::uint64_t> ffn_activity();
    // A step that picks (`pick` set) leaves row b's logits in pick->dst[b] (V floats on the card)
    // instead of `logits`, and its pick in pick->picks[b]: the largest of the first `below`, or
    // with `draw` the draw of row b of the pinned draw table (plan_draw_row; -1 where that row
    // draws nothing, whose dst[b] is then null and its logits go to `logits`).
    struct BatchPicks {
        std::span<float* const> dst;
        std::span<std::int32_t> picks;
        std::int32_t below = 0;
        bool draw = false;
    };
    void step_batch(const std::vector<float*>& states, const std::int32_t* tokens,
                    std::span<const std::span<float>> logits, const BatchPicks* pick = nullptr);
    // The card's time for the last batched step (its graph alone, ms; 0 before the first): with
    // the host's share of the step, what gander-bench reports next to the batched rates.
    double last_batch_ms();

    // The most tokens a matrix product goes to the tensor-core kernel with (gemv_tc.h) before
    // cuBLAS takes it (cuda_model.cpp); sessions: in a batched step of sessions (0 by default:
    // the wide kernels take those).
    int tc_tokens(bool sessions = false) const;
    // Whether products of more tokens than that go to gemv_tc_wide (quantized weights, by default)
    // rather than cuBLAS.
    bool wide_for(bool quantized) const;

private:
    struct Job;
    void forward_batch(int B, float* const* states, Workspace& ws, float* logits);
    // sessions: the T rows are a batch of sessions' decoding step (forward_batch), which may take
    // the wide kernels; a sequence's rows (prefill) never do: their slices meet by atomic adds,
    // whose order varies, and one session's output stays the same from run to run.
    void ffn_value_rows(const LayerDev& L, int T, Workspace& ws, bool sessions = false);
    void place(const model::Weights* weights, std::uint64_t seed, const Progress& progress);
    void linear(const Job* jobs, int n_jobs, int T, Workspace& ws, bool sessions = false);
    void lora_down_batch(Job* down, int n_lora, int B, Workspace& ws, const LoraRanks& R);
    bool wide_lora() const;
    int attention_jobs(const LayerDev& L, Workspace& ws, bool first, bool step, Job* down,
                       Job* up) const;

    ModelInfo m_info;
    ModelShape m_shape;
    std::mutex m_mutex;
    cudaStream_t m_stream = nullptr;
    cublasHandle_t m_cublas = nullptr;
    DeviceBuffer m_cublas_ws;
    DeviceBuffer m_arena;
    const __half *m_emb = nullptr, *m_head = nullptr;
    QuantDev m_qhead;
    bool m_quantized = false;
    PinnedBuffer m_host_emb; // int8/int4: the embedding stays in host memory
    const float *m_ln0_w = nullptr, *m_ln0_b = nullptr, *m_ln_out_w = nullptr,
                *m_ln_out_b = nullptr;
    std::vector<LayerDev> m_layers;
    Workspace m_decode;
    std::unique_ptr<Workspace> m_prefill;
    PinnedBuffer m_pin_token;
    PinnedBuffer m_pin_picks;                  // pinned_picks()
    PinnedBuffer m_draw_rows, m_draw_pen;      // plan_draw_row: kMaxBatch rows, made on first use
    DeviceBuffer m_draw_scratch[2];            // draw_scratch(false / true)
    DrawPlan m_plan;                           // plan_draw_row's, reused
    DeviceBuffer m_batch_ptrs, m_batch_logits; // step_batch: allocated on first use
    PinnedBuffer m_batch_host; // step_batch: staging for logits not in pinned memory (first use)
    cudaEvent_t m_batch_ev[2] = {};            // around the batched graph (last_batch_ms)
    // step_batch: forward_batch for B rows recorded once as a graph (index B) and replayed; the
    // buffers it names (prefill workspace, m_batch_ptrs, m_batch_logits) never move once made.
    std::array<cudaGraphExec_t, kMaxBatch + 1> m_batch_graphs{};
    DeviceBuffer m_ffn_counts; // decoding steps: FFN activations non-zero / all
    std::size_t m_ffn_value_bytes = 0; // the FFN value matrices on the card (place())
};

} // namespace gander::cuda
