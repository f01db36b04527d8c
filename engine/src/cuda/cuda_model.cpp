// The CUDA model: weight placement (upload with bf16/fp32 -> fp16 conversion, or generation on the
// card), workspaces, and the forward pass. See cuda_model.h; docs/cuda.md has the data flow.
#include "cuda/cuda_model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda/convert.h"
#include "cuda/gemm.h"
#include "kernels/copy_out.h"
#include "kernels/env.h"
#include "kernels/ffn_sparse.h"
#include "kernels/gemv.h"
#include "kernels/gemv_tc.h"
#include "kernels/mix.h"
#include "kernels/norm.h"
#include "kernels/sample.h"
#include "kernels/wkv7.h"
#include "model/random_init.h"

namespace gander::cuda {

namespace ri = gander::model::random_init;
namespace k = gander::kernels;

namespace {
bool sparse_ffn(); // below, with the other switches

constexpr float kLayerNormEps = 1e-5f;
constexpr float kGroupNormEps = 64e-5f;
constexpr std::size_t kStagingBytes = std::size_t(64) << 20;
constexpr std::size_t kCublasWorkspace = std::size_t(32) << 20;

// One tensor to put on the card: its device shape [rows, cols], where it comes from (a file
// tensor, or the random recipe), and the field that receives its address.
struct Placement {
    const model::Tensor* src = nullptr;
    int layer = -1;
    ri::Role role{};
    std::int64_t rows = 1, cols = 1;
    bool transpose = false; // the file holds [cols, rows]
    int fan_in = 0;
    const __half** dst_h = nullptr;
    const float** dst_f = nullptr;
    QuantDev* dst_q = nullptr; // set when the source is an int8/int4 matrix: uploaded as it is
    bool host = false;         // kept in pinned host memory that the card reads (the embedding)
};

// With int8/int4 weights the fp16 embedding (537 MB on the 7.2B shape, 14 % of an int4 model)
// stays in pinned host memory: a token reads one row of it, over the bus.
void mark_host_embedding(std::vector<Placement>& list, bool quantized) {
    for (Placement& p : list)
        if (quantized && p.role == ri::Emb && p.layer == -1) p.host = true;
}

int max_rank(const ModelShape& s) {
    int m = 1;
    for (const auto& r : s.ranks) m = std::max({m, r.w, r.a, r.v, r.g});
    return m;
}

// Carves a workspace out of `base` (nullptr: only measures). Returns the bytes used.
std::size_t carve_workspace(const ModelShape& s, int rows, bool prefill, bool quantized, void* base,
                            Workspace* ws) {
    Workspace tmp;
    Workspace& w = ws ? *ws : tmp;
    Carver c(base);
    const std::size_t T = std::size_t(rows), C = std::size_t(s.n_embd), F = std::size_t(s.ffn_dim),
                      D = std::size_t(max_rank(s));
    w.rows = rows;
    w.ids = c.take<std::int32_t>(T);
    for (float** p :
         {&w.x, &w.r, &w.k, &w.v, &w.wl, &w.al, &w.vl, &w.gl, &w.neg_kk, &w.y, &w.v_first})
        *p = c.take<float>(T * C);
    w.prev = c.take<float>(C);
    w.ffn_f = prefill ? c.take<float>(T * F) : nullptr;
    w.logits = c.take<float>(std::size_t(s.vocab));
    for (auto& p : w.xm) p = c.take<__half>(T * C);
    w.yg = c.take<__half>(T * C);
    for (__half** p : {&w.hw, &w.ha, &w.hv, &w.hg}) *p = c.take<__half>(T * D);
    w.ffn_h = c.take<__half>(T * F);
    w.xo = c.take<__half>(C);
    // Prefill from int8/int4: the largest layer matrix dequantised at a time (F x C).
    w.deq = prefill && quantized ? c.take<__half>(std::max(F, C) * C) : nullptr;
    // Both workspaces: a one-token prefill takes the decoding step's path too.
    w.partial = c.take<float>(k::ffn_value_sparse_scratch(int(F), int(C)) / sizeof(float));
    return c.used();
}

std::vector<Placement> placements(const ModelShape& s, const model::Weights* W, const __half** emb,
                                  const __half** head, QuantDev* qhead, const float** ln0_w,
                                  const float** ln0_b, const float** ln_out_w,
                                  const float** ln_out_b, std::vector<LayerDev>& layers) {
    const std::int64_t C = s.n_embd, V = s.vocab, F = s.ffn_dim;
    std::vector<Placement> out;
    auto vec = [&](const model::Tensor* t, int layer, ri::Role role, const float** dst) {
        if (W && t->empty()) return; // optional in the file (ln0; layer 0's v0/v1/v2)
        out.push_back({t, layer, role, 1, C, false, 0, nullptr, dst});
    };
    auto mat = [&](const model::Tensor* t, int layer, ri::Role role, std::int64_t rows,
                   std::int64_t cols, bool transpose, const __half** dst, QuantDev* q = nullptr) {
        if (W && t->empty()) return;
        if (W && t->quantized()) {
            if (!q || transpose)
                throw Error("CUDA backend: tensor of role " + std::to_string(int(role)) +
                            " cannot be quantized");
            out.push_back({t, layer, role, rows, cols, false, int(cols), nullptr, nullptr, q});
            return;
        }
        out.push_back({t, layer, role, rows, cols, transpose, int(cols), dst, nullptr});
    };
    static const model::Tensor none;
    auto T = [&](const model::Tensor& t) { return W ? &t : &none; };
    const model::Weights empty;
    const model::Weights& w = W ? *W : empty;

    mat(T(w.emb), -1, ri::Emb, V, C, false, emb);
    out.back().fan_in = 0;
    vec(T(w.ln0_w), -1, ri::Ln0W, ln0_w);
    vec(T(w.ln0_b), -1, ri::Ln0B, ln0_b);
    vec(T(w.ln_out_w), -1, ri::LnOutW, ln_out_w);
    vec(T(w.ln_out_b), -1, ri::LnOutB, ln_out_b);
    mat(T(w.head), -1, ri::Head, V, C, false, head, qhead);
    layers.assign(std::size_t(s.n_layer), LayerDev{});
    for (int i = 0; i < s.n_layer; ++i) {
        static const model::LayerWeights no_layer;
        const model::LayerWeights& l = W ? W->layers[std::size_t(i)] : no_layer;
        LayerDev& d = layers[std::size_t(i)];
        const LoraRanks r = s.ranks[std::size_t(i)];
        d.ranks = r;
        vec(T(l.ln1_w), i, ri::Ln1W, &d.ln1_w);
        vec(T(l.ln1_b), i, ri::Ln1B, &d.ln1_b);
        vec(T(l.ln2_w), i, ri::Ln2W, &d.ln2_w);
        vec(T(l.ln2_b), i, ri::Ln2B, &d.ln2_b);
        vec(T(l.x_r), i, ri::XR, &d.x_r);
        vec(T(l.x_w), i, ri::XW, &d.x_w);
        vec(T(l.x_k), i, ri::XK, &d.x_k);
        vec(T(l.x_v), i, ri::XV, &d.x_v);
        vec(T(l.x_a), i, ri::XA, &d.x_a);
        vec(T(l.x_g), i, ri::XG, &d.x_g);
        vec(T(l.w0), i, ri::W0, &d.w0);
        // LoRA down [C, D] -> [D, C] (fan-in C), up [D, C] -> [C, D] (fan-in D).
        mat(T(l.w1), i, ri::W1, r.w, C, true, &d.w1);
        mat(T(l.w2), i, ri::W2, C, r.w, true, &d.w2);
        vec(T(l.a0), i, ri::A0, &d.a0);
        mat(T(l.a1), i, ri::A1, r.a, C, true, &d.a1);
        mat(T(l.a2), i, ri::A2, C, r.a, true, &d.a2);
        if (i > 0) {
            vec(T(l.v0), i, ri::V0, &d.v0);
            mat(T(l.v1), i, ri::V1, r.v, C, true, &d.v1);
            mat(T(l.v2), i, ri::V2, C, r.v, true, &d.v2);
        }
        mat(T(l.g1), i, ri::G1, r.g, C, true, &d.g1);
        mat(T(l.g2), i, ri::G2, C, r.g, true, &d.g2);
        vec(T(l.k_k), i, ri::KK, &d.k_k);
        vec(T(l.k_a), i, ri::KA, &d.k_a);
        vec(T(l.r_k), i, ri::RK, &d.r_k);
        mat(T(l.receptance), i, ri::Receptance, C, C, false, &d.Wr, &d.qr);
        mat(T(l.key), i, ri::Key, C, C, false, &d.Wk, &d.qk);
        mat(T(l.value), i, ri::Value, C, C, false, &d.Wv, &d.qv);
        mat(T(l.output), i, ri::Output, C, C, false, &d.Wo, &d.qo);
        vec(T(l.ln_x_w), i, ri::LnXW, &d.ln_x_w);
        vec(T(l.ln_x_b), i, ri::LnXB, &d.ln_x_b);
        vec(T(l.ffn_x_k), i, ri::FfnXK, &d.ffn_x_k);
        mat(T(l.ffn_key), i, ri::FfnKey, F, C, false, &d.ffn_k, &d.qffn_k);
        // ffn.value goes up transposed, [F, C], for the sparse decoding step: int8 bytes, int4
        // nibbles and scales (transpose_on_card), fp16 values.
        if (W && l.ffn_value.quantized()) {
            if (l.ffn_value.dtype == io::DType::U8 && (l.ffn_value.group != 64 || F % 64 != 0))
                throw Error("CUDA backend: int4 ffn.value of " + std::to_string(F) +
                            " columns in groups of " + std::to_string(l.ffn_value.group) +
                            " (64, and a multiple of 64 columns, only)");
            out.push_back({&l.ffn_value, i, ri::FfnValue, F, C, true, int(F), nullptr, nullptr,
                           &d.qffn_vt});
        } else { // fan-in stays F
            mat(T(l.ffn_value), i, ri::FfnValue, F, C, true, &d.ffn_vt);
            out.back().fan_in = int(F);
        }
    }
    return out;
}

std::size_t scale_count(const model::Tensor& t) {
    return t.dtype == io::DType::I8 ? std::size_t(t.rows())
                                    : std::size_t(t.rows() * ((t.cols() + t.group - 1) / t.group));
}

// Carves a placement's device memory (values, then scales when quantized); base null: measures.
void carve(Carver& c, const Placement& p) {
    if (p.host) return;
    if (p.dst_q) {
        p.dst_q->q = c.take<std::uint8_t>(p.src->nbytes);
        p.dst_q->scales = c.take<__half>(scale_count(*p.src));
        p.dst_q->kind = p.src->dtype == io::DType::I8 ? kernels::QuantKind::Int8Row
                                                      : kernels::QuantKind::Int4G64;
    } else if (p.dst_h) {
        *p.dst_h = c.take<__half>(std::size_t(p.rows * p.cols));
    } else {
        *p.dst_f = c.take<float>(std::size_t(p.rows * p.cols));
    }
}

std::size_t placed_bytes(const Placement& p) {
    if (p.dst_q) return p.src->nbytes + scale_count(*p.src) * 2;
    return std::size_t(p.rows * p.cols) * (p.dst_h ? 2 : 4);
}

SrcType src_type(const model::Tensor& t) {
    switch (t.dtype) {
    case io::DType::F32:
        return SrcType::F32;
    case io::DType::F16:
        return SrcType::F16;
    case io::DType::BF16:
        return SrcType::BF16;
    default:
        throw Error("CUDA backend: tensor of unsupported dtype " +
                    std::string(io::dtype_name(t.dtype)));
    }
}

bool is_quantized(const model::Weights* W) {
    return W && (W->file_dtype == "int8" || W->file_dtype == "int4");
}

std::size_t weight_bytes(const ModelShape& s, const model::Weights* W) {
    const __half *e, *h;
    QuantDev qh;
    const float *a, *b, *c, *d;
    std::vector<LayerDev> layers;
    Carver carver;
    auto list = placements(s, W, &e, &h, &qh, &a, &b, &c, &d, layers);
    mark_host_embedding(list, is_quantized(W));
    for (const Placement& p : list) carve(carver, p);
    return carver.used();
}

} // namespace

struct CudaModel::Job {
    const __half* W;
    const __half* x;
    void* y;
    int rows, cols;
    k::GemvIn in;
    k::GemvOut out;
    const QuantDev* q = nullptr; // used instead of W when q->q is set
    bool wide = false; // a batched step's LoRA product: the wide kernels whatever the precision
};

// A layer's attention projections: down[] the receptance, key and value products and the four
// LoRA down-projections (the first layer has no value LoRA: 6 jobs, else 7), up[] the LoRA
// up-projections (3 or 4). In a decoding step the up-projections apply tanh / sigmoid to their
// input themselves; prefill and batches run lora_activation over the hidden rows first.
int CudaModel::attention_jobs(const LayerDev& L, Workspace& ws, bool first, bool step, Job* down,
                              Job* up) const {
    using k::GemvIn;
    using k::GemvOut;
    const int C = m_shape.n_embd;
    const LoraRanks& R = L.ranks;
    const Job d[7] = {
        {L.Wr, ws.xm[0], ws.r, C, C, GemvIn::Plain, GemvOut::StoreF32, &L.qr},
        {L.Wk, ws.xm[2], ws.k, C, C, GemvIn::Plain, GemvOut::StoreF32, &L.qk},
        {L.Wv, ws.xm[3], ws.v, C, C, GemvIn::Plain, GemvOut::StoreF32, &L.qv},
        {L.w1, ws.xm[1], ws.hw, R.w, C, GemvIn::Plain, GemvOut::StoreF16},
        {L.a1, ws.xm[4], ws.ha, R.a, C, GemvIn::Plain, GemvOut::StoreF16},
        {L.g1, ws.xm[5], ws.hg, R.g, C, GemvIn::Plain, GemvOut::StoreF16},
        {L.v1, ws.xm[3], ws.hv, R.v, C, GemvIn::Plain, GemvOut::StoreF16},
    };
    const Job u[4] = {
        {L.w2, ws.hw, ws.wl, C, R.w, step ? GemvIn::Tanh : GemvIn::Plain, GemvOut::StoreF32},
        {L.a2, ws.ha, ws.al, C, R.a, GemvIn::Plain, GemvOut::StoreF32},
        {L.g2, ws.hg, ws.gl, C, R.g, step ? GemvIn::Sigmoid : GemvIn::Plain, GemvOut::StoreF32},
        {L.v2, ws.hv, ws.vl, C, R.v, GemvIn::Plain, GemvOut::StoreF32},
    };
    std::copy(d, d + 7, down);
    std::copy(u, u + 4, up);
    return first ? 1 : 0; // how many jobs fewer (the value LoRA)
}

std::size_t CudaModel::bytes_needed(const ModelShape& s, const model::Weights* W) {
    const bool q = is_quantized(W);
    return weight_bytes(s, W) + carve_workspace(s, 1, false, q, nullptr, nullptr) +
           carve_workspace(s, kPrefillChunk, true, q, nullptr, nullptr) + kCublasWorkspace +
           kStagingBytes;
}

CudaModel::CudaModel(const ModelShape& shape, const model::Weights* weights, std::uint64_t seed,
                     ModelInfo info, const Progress& progress)
    : m_info(std::move(info)), m_shape(shape) {
    if (shape.head_size != 64)
        throw Error("CUDA backend: head size " + std::to_string(shape.head_size) +
                    " is not supported (64 only)");
    GANDER_CUDA(cudaSetDevice(0));
    try {
        GANDER_CUDA(cudaStreamCreateWithFlags(&m_stream, cudaStreamNonBlocking));
        GANDER_CUBLAS(cublasCreate(&m_cublas));
        GANDER_CUBLAS(cublasSetStream(m_cublas, m_stream));
        m_cublas_ws = DeviceBuffer(kCublasWorkspace, "the cuBLAS workspace");
        GANDER_CUBLAS(cublasSetWorkspace(m_cublas, m_cublas_ws.get(), m_cublas_ws.bytes()));
        m_quantized = is_quantized(weights);
        place(weights, seed, progress);
        m_decode.mem = DeviceBuffer(carve_workspace(shape, 1, false, m_quantized, nullptr, nullptr),
                                    "the decoding workspace");
        carve_workspace(shape, 1, false, m_quantized, m_decode.mem.get(), &m_decode);
        m_pin_token = PinnedBuffer(sizeof(std::int32_t), "the token");
        m_pin_picks = PinnedBuffer(sizeof(std::int32_t) * kMaxBatch, "the greedy picks");
        m_ffn_counts = DeviceBuffer(2 * sizeof(unsigned long long), "the FFN counters");
        GANDER_CUDA(cudaMemsetAsync(m_ffn_counts.get(), 0, m_ffn_counts.bytes(), m_stream));
        GANDER_CUDA(cudaStreamSynchronize(m_stream));
    } catch (...) {
        if (m_cublas) cublasDestroy(m_cublas);
        if (m_stream) cudaStreamDestroy(m_stream);
        throw;
    }
    m_info.weight_bytes = m_arena.bytes();
    // Decoding reads every weight once except the embedding, of which it reads one fp16 row.
    const std::size_t emb_on_card =
        m_host_emb.as<void>() ? 0 : std::size_t(shape.vocab) * shape.n_embd * 2;
    m_info.decode_bytes_per_token = m_arena.bytes() - emb_on_card + std::size_t(shape.n_embd) * 2;
    m_info.sparse_bytes_per_token = sparse_ffn() ? m_ffn_value_bytes : 0;
}

CudaModel::~CudaModel() {
    if (m_stream) cudaStreamSynchronize(m_stream);
    for (cudaGraphExec_t g : m_batch_graphs)
        if (g) cudaGraphExecDestroy(g);
    for (cudaEvent_t e : m_batch_ev)
        if (e) cudaEventDestroy(e);
    if (m_cublas) cublasDestroy(m_cublas);
    if (m_stream) cudaStreamDestroy(m_stream);
}

namespace {
// A quantized ffn.value, [C, F] in the file, to [F, C] on the card through `staging`: int8 bytes
// (the row scales stay as they are), int4 nibbles and the [C, F / 64] scales to [F / 64, C].
void transpose_on_card(const Placement& p, DeviceBuffer& staging, cudaStream_t stream) {
    const int rows = int(p.cols), cols = int(p.rows); // the file's [C, F]
    auto* q = const_cast<std::uint8_t*>(p.dst_q->q);
    auto* scales = const_cast<__half*>(p.dst_q->scales);
    const auto* st = static_cast<const std::uint8_t*>(staging.get());
    GANDER_CUDA(cudaMemcpyAsync(staging.get(), p.src->data, p.src->nbytes, cudaMemcpyHostToDevice,
                                stream));
    if (p.src->dtype == io::DType::I8) {
        GANDER_CUDA(k::transpose_bytes(st, rows, cols, q, stream));
        GANDER_CUDA(cudaMemcpyAsync(scales, p.src->scales, scale_count(*p.src) * 2,
                                    cudaMemcpyHostToDevice, stream));
    } else {
        GANDER_CUDA(k::transpose_nibbles(st, rows, cols, q, stream));
        GANDER_CUDA(cudaStreamSynchronize(stream)); // staging takes the scales next
        GANDER_CUDA(cudaMemcpyAsync(staging.get(), p.src->scales, scale_count(*p.src) * 2,
                                    cudaMemcpyHostToDevice, stream));
        GANDER_CUDA(k::transpose_u16(reinterpret_cast<const std::uint16_t*>(st), rows, cols / 64,
                                     reinterpret_cast<std::uint16_t*>(scales), stream));
    }
    GANDER_CUDA(cudaStreamSynchronize(stream));
}

} // namespace

void CudaModel::place(const model::Weights* W, std::uint64_t seed, const Progress& progress) {
    std::vector<Placement> list = placements(m_shape, W, &m_emb, &m_head, &m_qhead, &m_ln0_w,
                                             &m_ln0_b, &m_ln_out_w, &m_ln_out_b, m_layers);
    mark_host_embedding(list, m_quantized);
    Carver sizing;
    std::size_t largest_transposed = 0, total = 0;
    m_ffn_value_bytes = 0;
    for (const Placement& p : list) {
        carve(sizing, p);
        total += placed_bytes(p);
        if (p.role == ri::FfnValue) m_ffn_value_bytes += placed_bytes(p);
        if (p.transpose && W) largest_transposed = std::max(largest_transposed, p.src->nbytes);
    }
    m_arena = DeviceBuffer(sizing.used(), "the weights");
    Carver carver(m_arena.get());
    for (const Placement& p : list) {
        carve(carver, p);
        if (p.host) { // pinned host memory is mapped into the card's address space (UVA)
            m_host_emb = PinnedBuffer(std::size_t(p.rows * p.cols) * 2, "the embedding");
            *p.dst_h = m_host_emb.as<__half>();
        }
    }
    DeviceBuffer staging;
    if (W) staging = DeviceBuffer(std::max(kStagingBytes, largest_transposed), "staging");
    std::size_t done = 0;
    for (const Placement& p : list) {
        __half* dh = const_cast<__half*>(p.dst_h ? *p.dst_h : nullptr);
        float* df = const_cast<float*>(p.dst_f ? *p.dst_f : nullptr);
        if (p.dst_q && p.transpose) { // ffn.value [C, F] -> [F, C]
            transpose_on_card(p, staging, m_stream);
        } else if (p.dst_q) { // int8/int4: the bytes and scales go up as they are
            GANDER_CUDA(cudaMemcpyAsync(const_cast<std::uint8_t*>(p.dst_q->q), p.src->data,
                                        p.src->nbytes, cudaMemcpyHostToDevice, m_stream));
            GANDER_CUDA(cudaMemcpyAsync(const_cast<__half*>(p.dst_q->scales), p.src->scales,
                                        scale_count(*p.src) * 2, cudaMemcpyHostToDevice, m_stream));
            GANDER_CUDA(cudaStreamSynchronize(m_stream));
        } else if (!W) {
            GANDER_CUDA(random_tensor(seed, p.layer, int(p.role), p.fan_in, dh, df, p.rows, p.cols,
                                      p.transpose, m_stream));
        } else {
            const model::Tensor& t = *p.src;
            if (t.numel() != p.rows * p.cols)
                throw Error("CUDA backend: tensor of role " + std::to_string(int(p.role)) +
                            " in layer " + std::to_string(p.layer) + " has " +
                            std::to_string(t.numel()) + " values, expected " +
                            std::to_string(p.rows * p.cols));
            const SrcType type = src_type(t);
            const std::size_t es = io::dtype_size(t.dtype);
            // Whole rows per piece (a transposed tensor always fits in one piece).
            const std::int64_t rows_per_piece =
                p.transpose ? p.rows
                            : std::max<std::int64_t>(
                                  1, std::int64_t(staging.bytes() / (std::size_t(p.cols) * es)));
            for (std::int64_t r0 = 0; r0 < p.rows; r0 += rows_per_piece) {
                const std::int64_t n = std::min(rows_per_piece, p.rows - r0);
                const std::size_t bytes = std::size_t(n * p.cols) * es;
                GANDER_CUDA(cudaMemcpyAsync(staging.get(), t.data + std::size_t(r0 * p.cols) * es,
                                            bytes, cudaMemcpyHostToDevice, m_stream));
                GANDER_CUDA(convert_tensor(staging.get(), type, dh ? dh + r0 * p.cols : nullptr,
                                           df ? df + r0 * p.cols : nullptr, n, p.cols, p.transpose,
                                           m_stream));
                GANDER_CUDA(cudaStreamSynchronize(m_stream)); // staging is reused next
            }
        }
        done += placed_bytes(p);
        if (progress && !progress(double(done) / double(total))) {
            cudaStreamSynchronize(m_stream);
            throw Cancelled();
        }
    }
    GANDER_CUDA(cudaStreamSynchronize(m_stream));
}

Workspace& CudaModel::prefill_workspace() {
    if (!m_prefill) {
        auto ws = std::make_unique<Workspace>();
        ws->mem = DeviceBuffer(
            carve_workspace(m_shape, kPrefillChunk, true, m_quantized, nullptr, nullptr),
            "the prefill workspace");
        carve_workspace(m_shape, kPrefillChunk, true, m_quantized, ws->mem.get(), ws.get());
        m_prefill = std::move(ws);
    }
    return *m_prefill;
}

namespace {
// GANDER_GEMV=classic keeps decoding on the warp-per-row GEMVs (gemv.cu, gemv_quant.cu) instead of
// the tensor-core ones (gemv_tc.cu); kept as a switch to measure one against the other.
bool use_tc_gemv() {
    static const bool on = !k::detail::env_is("GANDER_GEMV", "classic");
    return on;
}
// GANDER_SPARSE_FFN=0 reads every row of the FFN value matrix in a decoding step (the
// dense-equivalent figure); by default rows whose activation is zero are skipped.
bool sparse_ffn() {
    static const bool on = !k::detail::env_is("GANDER_SPARSE_FFN", "0");
    return on;
}
} // namespace

// Products of 2 to tc_tokens() tokens (a batch of sessions' decoding step, short prefills) go to
// gemv_tc's several-token kernel (16 rows a block, the weights read once per 8 tokens, L2 serving
// the repeats). A batched step of more sessions, up to 64: int8 / int4 through gemv_tc_wide (128
// rows a block, each weight dequantised once for up to 32 tokens; the FFN value product through
// ffn_value_wide), fp16 through cuBLAS (which reads fp16 weights once anyway). Everything else
// (longer prefill chunks, and int8 / int4 with GANDER_WIDE=0): cuBLAS, each quantized matrix
// dequantised first. The wide kernels' column slices meet by atomic adds, so a prefill never
// takes them: one session's output stays the same from run to run. Measured (H100, sixth
// session): int4 B = 16 through the wide kernel 8.13 ms on the card against 9.48 through the
// several-token one; at 32, 7.5 against 14.0 for dequantise + cuBLAS (docs/performance.md).
// Since the seventh session a batched step of sessions takes the wide kernels from 2 sessions
// (tc_tokens(true) is 0). GANDER_BATCH_TC=N moves the first threshold for both (0: none to
// gemv_tc); GANDER_WIDE=all sends fp16 to the wide kernel too.
bool CudaModel::wide_for(bool quantized) const {
    static const int mode = k::detail::env_is("GANDER_WIDE", "0")     ? 0
                            : k::detail::env_is("GANDER_WIDE", "all") ? 2
                                                                      : 1;
    return use_tc_gemv() && (mode == 2 || (mode == 1 && quantized));
}

int CudaModel::tc_tokens(bool sessions) const {
    static const int env = [] {
        const int n = k::detail::env_int("GANDER_BATCH_TC", -1);
        return n < 0 ? -1 : std::min(n, k::kMaxTcTokens);
    }();
    if (env >= 0) return env;
    // A batched step of 2-8 sessions: the wide kernels beat the several-token one there too
    // (H100, seventh session, card ms a step, int4 B = 4 / 8: 3.40 / 3.62 against 4.72 / 5.62;
    // int8 4.18 / 4.39 against 5.08 / 5.87; fp16 B = 8, its LoRA products wide and the rest
    // through cuBLAS: 6.59 against 7.50).
    return sessions && wide_for(true) ? 0 : 8;
}

namespace {
// The tensor-core kernel's job for a product (fp16 or quantized weights).
k::TcJob tc_job(const __half* W, const QuantDev* q, const __half* x, void* y, int rows, int cols,
                k::GemvOut out, k::GemvIn in) {
    if (!q || !q->q) return k::TcJob{W, nullptr, x, y, rows, cols, k::WeightKind::F16, out, in};
    const k::WeightKind kind = q->kind == k::QuantKind::Int8Row ? k::WeightKind::Int8Row
                                                                : k::WeightKind::Int4G64;
    return k::TcJob{q->q, q->scales, x, y, rows, cols, kind, out, in};
}
} // namespace

void CudaModel::linear(const Job* jobs, int n_jobs, int T, Workspace& ws, bool sessions) {
    if (T == 1) { // tensor-core products in one launch; the rest (odd shapes, LoRA up with its
                  // input activation) fp16 in another, quantized in a third
        k::TcBatch tb;
        k::GemvBatch b;
        k::QGemvBatch qb;
        // fp16 products join the tensor-core launch only when it runs anyway (the classic fp16
        // kernel streams as fast or faster alone: docs/performance.md, kernel table).
        bool tc_batch = false; // a quantized product or an input activation in the batch
        for (int i = 0; i < n_jobs; ++i)
            tc_batch = tc_batch || (jobs[i].q && jobs[i].q->q) || jobs[i].in != k::GemvIn::Plain;
        for (int i = 0; i < n_jobs; ++i) {
            const Job& j = jobs[i];
            const bool q = j.q && j.q->q;
            // The LoRA up-projections (short rows, two of them with an input activation) go
            // together: the classic kernel gives a warp a whole short row and ran them at a fifth
            // of the bandwidth (ncu, H100).
            if (use_tc_gemv() && tc_batch) {
                const k::TcJob tj = tc_job(j.W, j.q, j.x, j.y, j.rows, j.cols, j.out, j.in);
                if (k::gemv_tc_fits(tj)) {
                    tb.add(tj);
                    continue;
                }
            }
            if (q)
                qb.add({j.q->q, j.q->scales, j.x, j.y, j.rows, j.cols, j.q->kind, j.out});
            else
                b.add({j.W, j.x, j.y, j.rows, j.cols, j.in, j.out});
        }
        if (tb.n_jobs) GANDER_CUDA(k::gemv_tc(tb, m_stream));
        if (b.n_jobs) GANDER_CUDA(k::gemv(b, m_stream));
        if (qb.n_jobs) GANDER_CUDA(k::gemv_quant(qb, m_stream));
        return;
    }
    // 2 to 64 tokens (a batch of sessions, a short prompt): the tensor-core kernel reads each
    // matrix once for all of them, int8 / int4 dequantised in registers; cuBLAS would need every
    // quantized matrix dequantised into memory first (docs/performance.md, fifth session).
    if (n_jobs > k::kMaxGemvJobs)
        throw Error("CUDA backend: internal error: too many products in one launch");
    bool done[k::kMaxGemvJobs] = {};
    if (T <= tc_tokens(sessions) && use_tc_gemv()) {
        k::TcBatch tb;
        tb.tokens = T;
        for (int i = 0; i < n_jobs; ++i) {
            const Job& j = jobs[i];
            const k::TcJob tj = tc_job(j.W, j.q, j.x, j.y, j.rows, j.cols, j.out, j.in);
            if (k::gemv_tc_fits(tj, T)) {
                tb.add(tj);
                done[i] = true;
            }
        }
        if (tb.n_jobs) GANDER_CUDA(k::gemv_tc(tb, m_stream));
    } else if (sessions && T <= k::kMaxTcTokens) {
        k::TcBatch wb;
        wb.tokens = T;
        // An int4 model's step takes the lean wide kernels in every launch (the head's too): a
        // step of 32 sessions 5.42 -> 5.28 ms on an H200; with only its int4 products lean the
        // gain was gone, and int8 products gain nothing from them (docs/performance.md,
        // fifteenth session).
        wb.lean = m_info.precision == Precision::Int4;
        for (int i = 0; i < n_jobs; ++i) {
            const Job& j = jobs[i];
            if (!wide_for(j.q && j.q->q) && !(j.wide && use_tc_gemv())) continue;
            const k::TcJob tj = tc_job(j.W, j.q, j.x, j.y, j.rows, j.cols, j.out, j.in);
            if (k::gemv_tc_wide_fits(tj, T)) {
                wb.add(tj);
                done[i] = true;
            }
        }
        if (wb.n_jobs) GANDER_CUDA(k::gemv_tc_wide(wb, m_stream));
    }
    for (int i = 0; i < n_jobs; ++i) {
        const Job& j = jobs[i];
        if (done[i]) continue;
        const __half* W = j.W;
        if (j.q && j.q->q) {
            if (!ws.deq) throw Error("CUDA backend: internal error: no dequantisation buffer");
            GANDER_CUDA(
                k::dequantize(j.q->kind, j.q->q, j.q->scales, j.rows, j.cols, ws.deq, m_stream));
            W = ws.deq;
        }
        if (j.in != k::GemvIn::Plain || j.out == k::GemvOut::Relu2F16)
            throw Error("CUDA backend: internal error: epilogue not available for prefill");
        const GemmOut out = j.out == k::GemvOut::AddF32     ? GemmOut::AddF32
                            : j.out == k::GemvOut::StoreF16 ? GemmOut::StoreF16
                                                            : GemmOut::StoreF32;
        gemm_rows(m_cublas, W, j.rows, j.cols, j.x, T, j.y, out);
    }
}

namespace {
// The token-shift lerps of a layer's attention (xm: 0 r, 1 w, 2 k, 3 v, 4 a, 5 g) and of its FFN
// (xm[0]), into the workspace's mixed inputs (every row of them).
k::ShiftMix attention_mixes(const LayerDev& L, const Workspace& ws) {
    return {{L.x_r, L.x_w, L.x_k, L.x_v, L.x_a, L.x_g},
            {ws.xm[0], ws.xm[1], ws.xm[2], ws.xm[3], ws.xm[4], ws.xm[5]},
            6};
}
k::ShiftMix ffn_mixes(const LayerDev& L, const Workspace& ws) {
    return {{L.ffn_x_k}, {ws.xm[0]}, 1};
}
} // namespace

bool card_pick() {
    static const bool on = !k::detail::env_is("GANDER_CARD_PICK", "0");
    return on;
}

bool card_draw(bool batched) {
    // GANDER_CARD_DRAW=0: never; =batch: batched steps only.
    static const bool none = k::detail::env_is("GANDER_CARD_DRAW", "0");
    static const bool batch_only = k::detail::env_is("GANDER_CARD_DRAW", "batch");
    return !none && (batched || !batch_only);
}

bool CudaModel::plan_draw_row(int r, Sampler* sampler, std::int32_t below) {
    if (!m_draw_rows.as<void>()) {
        m_draw_rows = PinnedBuffer(sizeof(k::DrawRow) * kMaxBatch, "the draws' settings");
        m_draw_pen = PinnedBuffer(sizeof(k::DrawPenalty) * k::kDrawMaxPenalties * kMaxBatch,
                                  "the draws' penalties");
    }
    k::DrawRow& row = m_draw_rows.as<k::DrawRow>()[r];
    row = k::DrawRow{}; // n = 0: no draw
    const auto n = std::size_t(below);
    if (!sampler || below < 1 || below > k::kDrawMaxVocab ||
        !sampler->can_plan(n, std::size_t(k::kDrawMaxPenalties)))
        return false;
    sampler->plan_draw(n, m_plan);
    row.u = m_plan.u;
    row.top_p = m_plan.top_p;
    row.inv_temperature = m_plan.inv_temperature;
    row.temperature_one = m_plan.temperature_one ? 1 : 0;
    row.n = below;
    row.penalties = int(m_plan.penalties.size());
    k::DrawPenalty* pen =
        m_draw_pen.as<k::DrawPenalty>() + std::size_t(r) * std::size_t(k::kDrawMaxPenalties);
    for (const auto& [t, amount] : m_plan.penalties) *pen++ = {t, amount};
    return true;
}

float* CudaModel::draw_scratch(bool batch) {
    DeviceBuffer& b = m_draw_scratch[batch ? 1 : 0];
    if (!b.get())
        b = DeviceBuffer(sizeof(float) * 2 * std::size_t(m_shape.vocab) *
                             std::size_t(batch ? kMaxBatch : 1),
                         "the draws' scratch");
    return b.as<float>();
}

bool logits_by_copy_engine() {
    static const bool on = k::detail::env_is("GANDER_LOGITS_OUT", "copy");
    return on;
}

unsigned measure_skip() {
    static const unsigned bits = [] {
        const char* e = std::getenv("GANDER_MEASURE_SKIP");
        if (!e) return 0u;
        const std::string v = std::string(",") + e + ",";
        unsigned b = 0;
        const char* names[] = {"lnmix", "down", "up",   "wkv",   "out",
                               "ffnk",  "ffnv", "scan", "token", "logits"};
        for (unsigned i = 0; i < 10; ++i)
            if (v.find(std::string(",") + names[i] + ",") != std::string::npos) b |= 1u << i;
        return b;
    }();
    return bits;
}

void CudaModel::forward(int T, float* state, Workspace& ws, bool want_logits) {
    using k::GemvIn;
    using k::GemvOut;
    const ModelShape& s = m_shape;
    const int C = s.n_embd, H = s.n_head(), N = s.head_size, F = s.ffn_dim;
    const bool step = T == 1;
    const unsigned skip = step ? measure_skip() & ~unsigned(kSkipScan) : measure_skip() & kSkipScan;
    const std::size_t per_layer = std::size_t(2 * C + H * N * N);
    cudaStream_t st = m_stream;

    GANDER_CUDA(
        k::layer_norm(m_emb, ws.ids, m_ln0_w, m_ln0_b, ws.x, nullptr, T, C, kLayerNormEps, st));
    for (int li = 0; li < s.n_layer; ++li) {
        const LayerDev& L = m_layers[std::size_t(li)];
        const LoraRanks& R = L.ranks;
        float* att_prev = state + std::size_t(li) * per_layer;
        float* kv = att_prev + C;
        float* ffn_prev = kv + std::size_t(H) * N * N;

        // Time mixing. xm: 0 r, 1 w, 2 k, 3 v, 4 a, 5 g.
        const float* prev_in = att_prev;
        if (!step) {
            GANDER_CUDA(cudaMemcpyAsync(ws.prev, att_prev, std::size_t(C) * 4,
                                        cudaMemcpyDeviceToDevice, st));
            prev_in = ws.prev;
        }
        const k::ShiftMix sm = attention_mixes(L, ws);
        if (!(skip & kSkipLnMix))
            GANDER_CUDA(k::ln_shift_mix(ws.x, L.ln1_w, L.ln1_b, prev_in, att_prev, sm, T, C,
                                        kLayerNormEps, st));
        const bool first = li == 0;
        Job down[7], up[4];
        const int fewer = attention_jobs(L, ws, first, step, down, up);
        if (!(skip & kSkipDown)) linear(down, 7 - fewer, T, ws);
        if (!step) {
            GANDER_CUDA(k::lora_activation(ws.hw, std::int64_t(T) * R.w, k::Activation::Tanh, st));
            GANDER_CUDA(
                k::lora_activation(ws.hg, std::int64_t(T) * R.g, k::Activation::Sigmoid, st));
        }
        if (!(skip & kSkipUp)) linear(up, 4 - fewer, T, ws);
        if (step) { // one launch for the whole attention core of a decoding step
            k::Wkv7Step ws1{kv,    ws.r,       ws.k,     ws.v,  ws.wl, ws.al,        ws.vl,
                            ws.gl, ws.v_first, L.w0,     L.a0,  L.v0,  L.k_k,        L.k_a,
                            L.r_k, L.ln_x_w,   L.ln_x_b, ws.yg, first, kGroupNormEps};
            if (!(skip & kSkipWkv)) GANDER_CUDA(k::wkv7_step(ws1, H, N, st));
        } else {
            k::WkvPrep prep{ws.k, ws.v, ws.wl, ws.al, ws.vl, ws.v_first, ws.neg_kk,
                            L.w0, L.a0, L.v0,  L.k_k, L.k_a, first};
            GANDER_CUDA(k::wkv_prep(prep, T, H, N, st));
            if (!(skip & kSkipScan))
                GANDER_CUDA(
                    k::wkv7_seq(kv, ws.r, ws.wl, ws.k, ws.v, ws.neg_kk, ws.al, ws.y, T, H, N, st));
            GANDER_CUDA(k::group_norm(ws.y, L.ln_x_w, L.ln_x_b, ws.r, ws.k, L.r_k, ws.v, ws.gl,
                                      nullptr, ws.yg, T, H, N, kGroupNormEps, st));
        }
        Job out{L.Wo, ws.yg, ws.x, C, C, GemvIn::Plain, GemvOut::AddF32, &L.qo};
        if (!(skip & kSkipOut)) linear(&out, 1, T, ws);

        // Channel mixing.
        prev_in = ffn_prev;
        if (!step) {
            GANDER_CUDA(cudaMemcpyAsync(ws.prev, ffn_prev, std::size_t(C) * 4,
                                        cudaMemcpyDeviceToDevice, st));
            prev_in = ws.prev;
        }
        const k::ShiftMix fm = ffn_mixes(L, ws);
        if (!(skip & kSkipLnMix))
            GANDER_CUDA(k::ln_shift_mix(ws.x, L.ln2_w, L.ln2_b, prev_in, ffn_prev, fm, T, C,
                                        kLayerNormEps, st));
        if (step) {
            Job key{L.ffn_k, ws.xm[0], ws.ffn_h, F, C, GemvIn::Plain, GemvOut::Relu2F16, &L.qffn_k};
            if (!(skip & kSkipFfnK)) linear(&key, 1, T, ws);
        } else {
            Job key{L.ffn_k, ws.xm[0], ws.ffn_f, F, C, GemvIn::Plain, GemvOut::StoreF32, &L.qffn_k};
            linear(&key, 1, T, ws);
            GANDER_CUDA(k::relu2(ws.ffn_f, ws.ffn_h, std::int64_t(T) * F, st));
        }
        if (step && (skip & kSkipFfnV)) {
        } else if (L.ffn_vt && step) {
            GANDER_CUDA(k::ffn_value_sparse(ws.ffn_h, L.ffn_vt, F, C, ws.x, ws.partial,
                                            !sparse_ffn(), st,
                                            m_ffn_counts.as<unsigned long long>()));
        } else if (L.qffn_vt.q && step) {
            auto* counts = m_ffn_counts.as<unsigned long long>();
            if (L.qffn_vt.kind == k::QuantKind::Int8Row)
                GANDER_CUDA(k::ffn_value_sparse_i8(
                    ws.ffn_h, reinterpret_cast<const std::int8_t*>(L.qffn_vt.q), L.qffn_vt.scales,
                    F, C, ws.x, ws.partial, !sparse_ffn(), st, counts));
            else
                GANDER_CUDA(k::ffn_value_sparse_i4(ws.ffn_h, L.qffn_vt.q, L.qffn_vt.scales, F, C,
                                                   ws.x, ws.partial, !sparse_ffn(), st, counts));
        } else {
            ffn_value_rows(L, T, ws);
        }
    }
    if (want_logits) {
        GANDER_CUDA(k::layer_norm(ws.x + std::size_t(T - 1) * C, nullptr, m_ln_out_w, m_ln_out_b,
                                  nullptr, ws.xo, 1, C, kLayerNormEps, st));
        Job head{m_head, ws.xo, ws.logits, s.vocab, C, GemvIn::Plain, GemvOut::StoreF32, &m_qhead};
        linear(&head, 1, 1, ws);
    }
}

// x += ffn_h W_value for T rows from the transposed matrix (fp16, or int8 dequantised into the
// scratch matrix first).
void CudaModel::ffn_value_rows(const LayerDev& L, int T, Workspace& ws, bool sessions) {
    const int C = m_shape.n_embd, F = m_shape.ffn_dim;
    const __half* Wt = L.ffn_vt;
    const bool i8 = L.qffn_vt.kind == k::QuantKind::Int8Row;
    if (!Wt && sessions && T > tc_tokens(true) && wide_for(true) &&
        k::ffn_value_wide_fits(!i8, L.qffn_vt.q, L.qffn_vt.scales, ws.ffn_h, T, F, C, ws.x)) {
        // Many tokens: every row read once for up to 32 of them on the tensor cores.
        GANDER_CUDA(k::ffn_value_wide(!i8, L.qffn_vt.q, L.qffn_vt.scales, ws.ffn_h, T, F, C, ws.x,
                                      m_stream));
        return;
    }
    if (!Wt && T <= tc_tokens(sessions)) {
        // A few tokens: every row read once from the packed matrix for up to 8 tokens at a time
        // (ffn_sparse.h), the scratch for the partial sums in the dequantisation buffer it spares.
        if (!ws.deq || k::ffn_value_tokens_scratch(F, C) > std::size_t(F) * C * sizeof(__half))
            throw Error("CUDA backend: internal error: no scratch for the FFN value step");
        float* scratch = reinterpret_cast<float*>(ws.deq);
        for (int t0 = 0; t0 < T; t0 += k::kSparseTokens) {
            const int n = std::min(k::kSparseTokens, T - t0);
            const __half* h = ws.ffn_h + std::size_t(t0) * F;
            float* y = ws.x + std::size_t(t0) * C;
            GANDER_CUDA(
                i8 ? k::ffn_value_tokens_i8(h, n, reinterpret_cast<const std::int8_t*>(L.qffn_vt.q),
                                            L.qffn_vt.scales, F, C, y, scratch, m_stream)
                   : k::ffn_value_tokens_i4(h, n, L.qffn_vt.q, L.qffn_vt.scales, F, C, y, scratch,
                                            m_stream));
        }
        return;
    }
    if (!Wt) {
        if (!ws.deq) throw Error("CUDA backend: internal error: no dequantisation buffer");
        if (L.qffn_vt.kind == k::QuantKind::Int8Row)
            GANDER_CUDA(k::dequantize_cols_i8(reinterpret_cast<const std::int8_t*>(L.qffn_vt.q),
                                              L.qffn_vt.scales, F, C, ws.deq, m_stream));
        else
            GANDER_CUDA(k::dequantize_cols_i4(L.qffn_vt.q, L.qffn_vt.scales, F, C, ws.deq,
                                              m_stream));
        Wt = ws.deq;
    }
    gemm_cols(m_cublas, Wt, F, C, ws.ffn_h, T, ws.x, GemmOut::AddF32);
}

namespace {
// Whether the card can write into `p` directly, without the driver's bounce buffer or staging:
// page-locked host memory (cudaMallocHost, or registered with cudaHostRegister) that the card
// addresses at the same pointer.
bool is_pinned(const void* p) {
    cudaPointerAttributes a{};
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        (void)cudaGetLastError(); // a pointer CUDA does not know: not pinned
        return false;
    }
    // Host memory the card addresses at the same pointer (copy_rows_out stores into it).
    return a.type == cudaMemoryTypeHost && a.devicePointer == p;
}
} // namespace

void CudaModel::step_batch(const std::vector<float*>& states, const std::int32_t* tokens,
                           std::span<const std::span<float>> logits, const BatchPicks* pick) {
    const int B = int(states.size());
    if (B < 1 || B > kMaxBatch || logits.size() != states.size())
        throw Error("CUDA backend: a batch of " + std::to_string(B) + " sessions (1 to " +
                    std::to_string(kMaxBatch) + ")");
    Workspace& ws = prefill_workspace(); // may throw (out of memory): nothing changed yet
    const std::size_t V = std::size_t(m_shape.vocab);
    if (!m_batch_ptrs.get()) {
        DeviceBuffer ptrs(sizeof(float*) * kMaxBatch, "the batch's state pointers");
        DeviceBuffer dev_logits(sizeof(float) * V * kMaxBatch, "the batch's logits");
        for (cudaEvent_t& e : m_batch_ev)
            if (!e) GANDER_CUDA(cudaEventCreate(&e));
        m_batch_ptrs = std::move(ptrs);
        m_batch_logits = std::move(dev_logits);
    }
    // Rows whose logits are pinned (CUDA sessions' own, Session::logits_storage) are copied there
    // by the card: no staging and no 8 MB of memcpy on the host a step at B = 32. Others go
    // through a pinned staging buffer (a copy into pageable memory goes through the driver's
    // bounce buffer, ~1 ms for 8 MB at B = 32), made on first need.
    const std::size_t n = std::size_t(B);
    std::array<bool, kMaxBatch> direct{}, out_host{};
    bool staged = false;
    for (std::size_t b = 0; b < n; ++b) {
        out_host[b] = !pick || !pick->dst[b];
        direct[b] = out_host[b] && is_pinned(logits[b].data());
        staged = staged || (out_host[b] && !direct[b]);
    }
    if (staged && !m_batch_host.as<void>())
        m_batch_host = PinnedBuffer(sizeof(float) * V * kMaxBatch, "the batch's logits");
    cudaStream_t st = m_stream;
    GANDER_CUDA(cudaMemcpyAsync(m_batch_ptrs.get(), states.data(), sizeof(float*) * n,
                                cudaMemcpyHostToDevice, st));
    GANDER_CUDA(
        cudaMemcpyAsync(ws.ids, tokens, sizeof(std::int32_t) * n, cudaMemcpyHostToDevice, st));
    // The step's ~500 launches and cuBLAS calls cost the host more than the card takes to run
    // them; recorded once per batch size, a step is one graph launch.
    cudaGraphExec_t& exec = m_batch_graphs[std::size_t(B)];
    if (!exec)
        exec = capture_graph(st, [&] {
            forward_batch(B, m_batch_ptrs.as<float*>(), ws, m_batch_logits.as<float>());
        });
    GANDER_CUDA(cudaEventRecord(m_batch_ev[0], st));
    GANDER_CUDA(cudaGraphLaunch(exec, st));
    GANDER_CUDA(cudaEventRecord(m_batch_ev[1], st));
    const float* dev = m_batch_logits.as<float>();
    static_assert(kMaxBatch <= k::kMaxRowsOut);
    // Where each row of logits goes: a picked row's to its session's card buffer (the picks go
    // across the link), otherwise to the session's pinned logits or the staging buffer.
    float* host = m_batch_host.as<float>();
    k::RowsOut out{};
    out.rows = B;
    for (std::size_t b = 0; b < n; ++b)
        out.dst[b] = !out_host[b] ? pick->dst[b] : direct[b] ? logits[b].data() : host + b * V;
    if (pick && pick->draw)
        GANDER_CUDA(k::draw_rows(dev, std::int64_t(V), B, draw_rows_table(), draw_penalties(),
                                 draw_scratch(true), pinned_picks(), st));
    else if (pick)
        GANDER_CUDA(k::argmax_rows(dev, pick->below, std::int64_t(V), B, pinned_picks(), st));
    if (!pick && logits_by_copy_engine()) {
        for (std::size_t b = 0; b < n; ++b)
            GANDER_CUDA(cudaMemcpyAsync(out.dst[b], dev + b * V, sizeof(float) * V,
                                        cudaMemcpyDeviceToHost, st));
    } else { // one launch for every row
        GANDER_CUDA(k::copy_rows_out(dev, std::int64_t(V), out, st));
    }
    GANDER_CUDA(cudaStreamSynchronize(st));
    if (pick) std::copy_n(pinned_picks(), n, pick->picks.begin());
    for (std::size_t b = 0; b < n; ++b)
        if (out_host[b] && !direct[b])
            std::memcpy(logits[b].data(), host + b * V, sizeof(float) * V);
}

double CudaModel::last_batch_ms() {
    std::lock_guard lock(m_mutex);
    if (!m_batch_ev[0]) return 0.0;
    float ms = 0.0f;
    return cudaEventElapsedTime(&ms, m_batch_ev[0], m_batch_ev[1]) == cudaSuccess ? double(ms)
                                                                                  : 0.0;
}

// GANDER_WIDE_LORA=0 gives a batched step's LoRA products to cuBLAS, one call each (for the A/B).
// A rank above the width would not fit the zeroed rows lora_down_batch sums into (no RWKV-7 has
// one; such a model takes the cuBLAS path).
bool CudaModel::wide_lora() const {
    static const bool on = !k::detail::env_is("GANDER_WIDE_LORA", "0");
    return on && use_tc_gemv() && max_rank(m_shape) <= m_shape.n_embd;
}

// A batched step's down-projections in one launch: the n_lora LoRA down-projections (w, a, g, v
// in down[3..]) with the receptance, key and value products (down[0..2]). cuBLAS took a call for
// each LoRA product (8 a layer with the up-projections, 2.5 ms of the 6.9 ms step of 32 int4
// sessions on an H100 with r, k, v). The LoRA sums go in f32 to the buffers of the up-projections'
// outputs (free until then) and meet by adds, zeroed with r, k and v by one memset (the workspace
// carves r, k, v, wl, al, vl, gl evenly spaced); lora_finish then applies tanh / sigmoid into the
// fp16 hidden rows the up-projections read. The LoRA jobs go first: their blocks (fp16, short and
// wide) take longest.
void CudaModel::lora_down_batch(Job* down, int n_lora, int B, Workspace& ws, const LoraRanks& R) {
    cudaStream_t st = m_stream;
    const std::ptrdiff_t pitch = ws.k - ws.r;
    float* const zeroed[] = {ws.r, ws.k, ws.v, ws.wl, ws.al, ws.vl, ws.gl};
    for (int i = 1; i < 7; ++i)
        if (zeroed[i] - zeroed[i - 1] != pitch)
            throw Error("CUDA backend: internal error: workspace rows not evenly spaced");
    const int C = m_shape.n_embd;
    GANDER_CUDA(cudaMemset2DAsync(ws.r, std::size_t(pitch) * sizeof(float), 0,
                                  std::size_t(B) * std::size_t(C) * sizeof(float), 7, st));
    // down[3..6]: w1, a1, g1, v1 (attention_jobs' order; v1 absent in the first layer).
    float* const sums[4] = {ws.wl, ws.al, ws.gl, ws.vl};
    Job jobs[7];
    for (int i = 0; i < n_lora; ++i) {
        jobs[i] = down[3 + i];
        jobs[i].y = sums[i];
        jobs[i].out = k::GemvOut::AddF32;
        jobs[i].wide = true;
    }
    for (int i = 0; i < 3; ++i) {
        jobs[n_lora + i] = down[i];
        jobs[n_lora + i].out = k::GemvOut::AddF32;
    }
    linear(jobs, n_lora + 3, B, ws, true);
    k::LoraFinish f{};
    const int ranks[4] = {R.w, R.a, R.g, R.v};
    __half* const hidden[4] = {ws.hw, ws.ha, ws.hg, ws.hv};
    const k::Activation act[4] = {k::Activation::Tanh, k::Activation::None, k::Activation::Sigmoid,
                                  k::Activation::None};
    for (int i = 0; i < n_lora; ++i) {
        f.in[i] = sums[i];
        f.out[i] = hidden[i];
        f.n[i] = std::int64_t(B) * ranks[i];
        f.act[i] = act[i];
    }
    f.jobs = n_lora;
    GANDER_CUDA(k::lora_finish(f, st));
}

// forward() for B tokens of B different sessions: the prefill path's matrix products (B rows),
// with the token shift and the WKV step taken per row from each session's own state.
void CudaModel::forward_batch(int B, float* const* states, Workspace& ws, float* logits) {
    using k::GemvIn;
    using k::GemvOut;
    const ModelShape& s = m_shape;
    const int C = s.n_embd, H = s.n_head(), N = s.head_size, F = s.ffn_dim;
    const std::size_t per_layer = std::size_t(2 * C + H * N * N);
    cudaStream_t st = m_stream;
    const unsigned skip = measure_skip() & ~unsigned(kSkipScan); // measurement only, as forward()

    GANDER_CUDA(
        k::layer_norm(m_emb, ws.ids, m_ln0_w, m_ln0_b, ws.x, nullptr, B, C, kLayerNormEps, st));
    for (int li = 0; li < s.n_layer; ++li) {
        const LayerDev& L = m_layers[std::size_t(li)];
        const LoraRanks& R = L.ranks;
        const std::size_t att_prev = std::size_t(li) * per_layer, kv = att_prev + std::size_t(C),
                          ffn_prev = kv + std::size_t(H) * N * N;
        const k::ShiftMix sm = attention_mixes(L, ws);
        if (!(skip & kSkipLnMix))
            GANDER_CUDA(k::ln_shift_mix_rows(ws.x, L.ln1_w, L.ln1_b, states, att_prev, sm, B, C,
                                             kLayerNormEps, st));
        const bool first = li == 0;
        Job down[7], up[4];
        const int fewer = attention_jobs(L, ws, first, false, down, up);
        if (wide_lora()) {
            if (!(skip & kSkipDown)) lora_down_batch(down, 4 - fewer, B, ws, R);
            if (!(skip & kSkipUp)) {
                for (int i = 0; i < 4 - fewer; ++i) up[i].wide = true;
                linear(up, 4 - fewer, B, ws, true);
            }
        } else {
            if (!(skip & kSkipDown)) linear(down, 7 - fewer, B, ws, true);
            if (!(skip & kSkipUp)) {
                GANDER_CUDA(
                    k::lora_activation(ws.hw, std::int64_t(B) * R.w, k::Activation::Tanh, st));
                GANDER_CUDA(
                    k::lora_activation(ws.hg, std::int64_t(B) * R.g, k::Activation::Sigmoid, st));
                linear(up, 4 - fewer, B, ws, true);
            }
        }
        k::Wkv7Step w{nullptr, ws.r,       ws.k,     ws.v,  ws.wl, ws.al,        ws.vl,
                      ws.gl,   ws.v_first, L.w0,     L.a0,  L.v0,  L.k_k,        L.k_a,
                      L.r_k,   L.ln_x_w,   L.ln_x_b, ws.yg, first, kGroupNormEps};
        w.states = states;
        w.state_offset = kv;
        if (!(skip & kSkipWkv)) GANDER_CUDA(k::wkv7_step(w, H, N, st, B));
        Job out{L.Wo, ws.yg, ws.x, C, C, GemvIn::Plain, GemvOut::AddF32, &L.qo};
        if (!(skip & kSkipOut)) linear(&out, 1, B, ws, true);

        const k::ShiftMix fm = ffn_mixes(L, ws);
        if (!(skip & kSkipLnMix))
            GANDER_CUDA(k::ln_shift_mix_rows(ws.x, L.ln2_w, L.ln2_b, states, ffn_prev, fm, B, C,
                                             kLayerNormEps, st));
        Job key{L.ffn_k, ws.xm[0], ws.ffn_f, F, C, GemvIn::Plain, GemvOut::StoreF32, &L.qffn_k};
        if (!(skip & kSkipFfnK)) {
            linear(&key, 1, B, ws, true);
            GANDER_CUDA(k::relu2(ws.ffn_f, ws.ffn_h, std::int64_t(B) * F, st));
        }
        if (!(skip & kSkipFfnV)) ffn_value_rows(L, B, ws, true);
    }
    // Logits of every row: the final LayerNorm into xm[0] (free by now), then the head; a
    // quantized head is dequantised a slice of rows at a time into the scratch matrix.
    GANDER_CUDA(k::layer_norm(ws.x, nullptr, m_ln_out_w, m_ln_out_b, nullptr, ws.xm[0], B, C,
                              kLayerNormEps, st));
    const int V = s.vocab;
    const bool tc = B <= tc_tokens(true) && use_tc_gemv();
    if (tc || wide_for(m_qhead.q != nullptr)) {
        k::TcBatch tb;
        tb.tokens = B;
        tb.lean = m_info.precision == Precision::Int4; // as linear() sets it
        k::TcJob head =
            tc_job(m_head, &m_qhead, ws.xm[0], logits, V, C, GemvOut::StoreF32, GemvIn::Plain);
        if (tc ? k::gemv_tc_fits(head, B) : k::gemv_tc_wide_fits(head, B)) {
            tb.add(head);
            GANDER_CUDA(tc ? k::gemv_tc(tb, st) : k::gemv_tc_wide(tb, st));
            return;
        }
    }
    if (!m_qhead.q) {
        gemm_rows(m_cublas, m_head, V, C, ws.xm[0], B, logits, GemmOut::StoreF32);
        return;
    }
    if (!ws.deq) throw Error("CUDA backend: internal error: no dequantisation buffer");
    const bool i8 = m_qhead.kind == k::QuantKind::Int8Row;
    const std::size_t row_bytes = i8 ? std::size_t(C) : std::size_t(C + 1) / 2;
    const std::size_t row_scales = i8 ? 1 : std::size_t(C + 63) / 64;
    const int slice = std::min(V, std::max(F, C)); // rows of C that ws.deq holds
    for (int r0 = 0; r0 < V; r0 += slice) {
        const int n = std::min(slice, V - r0);
        GANDER_CUDA(k::dequantize(m_qhead.kind, m_qhead.q + std::size_t(r0) * row_bytes,
                                  m_qhead.scales + std::size_t(r0) * row_scales, n, C, ws.deq, st));
        gemm_rows(m_cublas, ws.deq, n, C, ws.xm[0], B, logits + r0, GemmOut::StoreF32, V);
    }
}

std::pair<std::uint64_t, std::uint64_t> CudaModel::ffn_activity() {
    std::lock_guard lock(m_mutex);
    unsigned long long c[2] = {0, 0};
    GANDER_CUDA(cudaMemcpyAsync(c, m_ffn_counts.get(), sizeof c, cudaMemcpyDeviceToHost, m_stream));
    GANDER_CUDA(cudaStreamSynchronize(m_stream));
    return {c[0], c[1]};
}

} // namespace gander::cuda
