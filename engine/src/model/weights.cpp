// Turns an opened model file into checked Weights: finds every tensor by name (official names or
// the Hugging Face fla-hub ones), derives the hyperparameters from shapes, and checks each shape
// against them so that a wrong file fails here, with the tensor named, and never in a kernel.
#include "model/weights.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <thread>

#include "model/half.h"
#include "model/random_init.h"

namespace gander::model {

std::int64_t Tensor::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

std::size_t Tensor::row_bytes() const {
    const std::size_t c = std::size_t(cols());
    if (dtype == io::DType::U8) return (c + 1) / 2;
    return c * io::dtype_size(dtype);
}

namespace {

float scale_at(const std::byte* scales, std::int64_t i) {
    std::uint16_t h;
    std::memcpy(&h, scales + i * 2, 2);
    return f16_to_f32(h);
}

// Converts n values of a stored row starting at column `first` to fp32.
void convert_row(const Tensor& t, std::int64_t row, std::int64_t first, std::int64_t n,
                 float* out) {
    const std::byte* base = t.data + std::size_t(row) * t.row_bytes();
    switch (t.dtype) {
    case io::DType::F32:
        std::memcpy(out, base + first * 4, std::size_t(n) * 4);
        return;
    case io::DType::F16:
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint16_t h;
            std::memcpy(&h, base + (first + i) * 2, 2);
            out[i] = f16_to_f32(h);
        }
        return;
    case io::DType::BF16:
        for (std::int64_t i = 0; i < n; ++i) {
            std::uint16_t h;
            std::memcpy(&h, base + (first + i) * 2, 2);
            out[i] = bf16_to_f32(h);
        }
        return;
    case io::DType::I8: {
        const float s = scale_at(t.scales, row);
        for (std::int64_t i = 0; i < n; ++i) out[i] = float(std::int8_t(base[first + i])) * s;
        return;
    }
    case io::DType::U8: {
        const std::int64_t groups = (t.cols() + t.group - 1) / t.group;
        std::int64_t g = -1;
        float s = 0;
        for (std::int64_t i = 0; i < n; ++i) {
            const std::int64_t c = first + i;
            if (c / t.group != g) s = scale_at(t.scales, row * groups + (g = c / t.group));
            const auto byte = std::uint8_t(base[c / 2]);
            const int q = (c & 1 ? byte >> 4 : byte & 15) - 8;
            out[i] = float(q) * s;
        }
        return;
    }
    default:
        throw Error("tensor conversion: unsupported dtype");
    }
}

} // namespace

float Tensor::at(std::int64_t i) const {
    const std::int64_t c = cols();
    float v;
    convert_row(*this, shape.size() < 2 ? 0 : i / c, shape.size() < 2 ? i : i % c, 1, &v);
    return v;
}

void Tensor::to_f32(float* out) const {
    if (shape.size() < 2) return convert_row(*this, 0, 0, numel(), out);
    for (std::int64_t r = 0; r < rows(); ++r) convert_row(*this, r, 0, cols(), out + r * cols());
}

void Tensor::row_to_f32(std::int64_t row, float* out) const {
    convert_row(*this, row, 0, cols(), out);
}

namespace {

std::string shape_str(const std::vector<std::int64_t>& s) {
    std::ostringstream os;
    os << '[';
    for (std::size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
    os << ']';
    return os.str();
}

// Resolves tensor roles to file names for one naming scheme and checks shapes.
class Loader {
public:
    Loader(std::shared_ptr<const io::TensorFile> file, Weights& w)
        : m_file(std::move(file)), m_w(w),
          m_name(std::filesystem::path(m_file->path()).filename().string()) {
        m_fla = m_file->find("emb.weight") == nullptr &&
                m_file->find("model.embeddings.weight") != nullptr;
    }

    [[noreturn]] void fail(const std::string& tensor, const std::string& what) const {
        throw Error(m_name + ": tensor " + tensor + ": " + what);
    }

    // Official name -> name in this file.
    std::string file_name(const std::string& official) const {
        if (!m_fla) return official;
        if (official == "emb.weight") return "model.embeddings.weight";
        if (official == "ln_out.weight") return "model.norm.weight";
        if (official == "ln_out.bias") return "model.norm.bias";
        if (official == "head.weight") return "lm_head.weight";
        // blocks.N.part.rest
        auto p1 = official.find('.');
        auto p2 = official.find('.', p1 + 1);
        auto p3 = official.find('.', p2 + 1);
        std::string layer = official.substr(p1 + 1, p2 - p1 - 1);
        std::string part = official.substr(p2 + 1, p3 - p2 - 1);
        std::string rest = official.substr(p3 + 1);
        std::string fpart = part == "att"   ? "attn"
                            : part == "ln0" ? "pre_norm"
                            : part == "ln1" ? "attn_norm"
                            : part == "ln2" ? "ffn_norm"
                                            : part;
        if (part == "att") {
            if (rest.size() == 2 && std::strchr("wavg", rest[0]) && std::strchr("012", rest[1])) {
                std::string lora = std::string(1, rest[0]) + "_lora.lora.";
                rest = lora + (rest[1] == '0'   ? "2.bias"
                               : rest[1] == '1' ? "0.weight"
                                                : "2.weight");
            } else if (rest.rfind("receptance.", 0) == 0) {
                rest = "r_proj." + rest.substr(11);
            } else if (rest.rfind("key.", 0) == 0) {
                rest = "k_proj." + rest.substr(4);
            } else if (rest.rfind("value.", 0) == 0) {
                rest = "v_proj." + rest.substr(6);
            } else if (rest.rfind("output.", 0) == 0) {
                rest = "o_proj." + rest.substr(7);
            } else if (rest.rfind("ln_x.", 0) == 0) {
                rest = "g_norm." + rest.substr(5);
            }
        }
        return "model.layers." + layer + "." + fpart + "." + rest;
    }

    bool has(const std::string& official) const {
        return m_file->find(file_name(official)) != nullptr;
    }

    const io::TensorView& raw(const std::string& official, bool allow_quantized = false) const {
        const std::string name = file_name(official);
        const io::TensorView* t = m_file->find(name);
        if (!t) fail(name, "missing (is this an RWKV-7 model?)");
        const bool quantized = t->dtype == io::DType::I8 || t->dtype == io::DType::U8;
        if (quantized && allow_quantized && m_file->find(name + ".scales")) return *t;
        if (t->dtype != io::DType::F32 && t->dtype != io::DType::F16 && t->dtype != io::DType::BF16)
            fail(name, "unsupported dtype " + std::string(io::dtype_name(t->dtype)) +
                           " (expected F32, F16 or BF16)");
        return *t;
    }

    Tensor view(const io::TensorView& t, std::vector<std::int64_t> shape) const {
        return Tensor{t.dtype, std::move(shape), t.data, t.nbytes};
    }

    // A vector of n elements; any shape whose extra dimensions are 1 ([1,1,C], [C], [H,N]).
    Tensor vec(const std::string& official, std::int64_t n) const {
        const auto& t = raw(official);
        if (t.numel() != n)
            fail(t.name, "expected " + std::to_string(n) + " elements, got " +
                             std::to_string(t.numel()) + " " + shape_str(t.shape));
        return view(t, {n});
    }

    // A matrix [rows, cols] in the official orientation. fla-hub LoRA matrices are stored
    // transposed (nn.Linear weights): they are transposed once, here, into owned memory.
    Tensor mat(const std::string& official, std::int64_t rows, std::int64_t cols,
               bool fla_transposed = false) {
        const auto& t = raw(official, !fla_transposed);
        if (t.dtype == io::DType::I8 || t.dtype == io::DType::U8) return quantized(t, rows, cols);
        const bool transpose = m_fla && fla_transposed;
        std::vector<std::int64_t> want = transpose ? std::vector<std::int64_t>{cols, rows}
                                                   : std::vector<std::int64_t>{rows, cols};
        if (t.shape != want)
            fail(t.name, "expected " + shape_str(want) + " got " + shape_str(t.shape));
        if (!transpose) return view(t, {rows, cols});
        const std::size_t es = io::dtype_size(t.dtype);
        auto& buf = m_w.owned.emplace_back(t.nbytes);
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c)
                std::memcpy(buf.data() + (r * cols + c) * es, t.data + (c * rows + r) * es, es);
        return Tensor{t.dtype, {rows, cols}, buf.data(), buf.size()};
    }

    // A quantized matrix of a Gander weight cache: int8 [rows, cols] or packed int4
    // [rows, ceil(cols/2)], with fp16 scales in "<name>.scales" [rows, groups].
    Tensor quantized(const io::TensorView& t, std::int64_t rows, std::int64_t cols) const {
        int group = int(cols);
        std::int64_t stored = cols;
        if (t.dtype == io::DType::U8) {
            auto it = m_file->metadata().find("gander.int4_group");
            group = it == m_file->metadata().end() ? 64 : std::atoi(it->second.c_str());
            if (group <= 0 || group % 2) fail(t.name, "bad int4 group size in the metadata");
            stored = (cols + 1) / 2;
        }
        if (t.shape != std::vector<std::int64_t>{rows, stored})
            fail(t.name, "expected " + shape_str({rows, stored}) + " got " + shape_str(t.shape));
        const io::TensorView* s = m_file->find(t.name + ".scales");
        const std::int64_t groups = (cols + group - 1) / group;
        if (!s || s->dtype != io::DType::F16 || s->shape != std::vector<std::int64_t>{rows, groups})
            fail(t.name + ".scales", "expected F16 " + shape_str({rows, groups}));
        Tensor q{t.dtype, {rows, cols}, t.data, t.nbytes};
        q.scales = s->data;
        q.group = group;
        return q;
    }

    // Reads dimension `dim` of a tensor, for deriving hyperparameters.
    std::int64_t dim(const std::string& official, std::size_t dim, std::size_t rank) const {
        const auto& t = raw(official, true); // callers read rows only of quantized matrices
        if (t.shape.size() != rank)
            fail(t.name,
                 "expected " + std::to_string(rank) + " dimensions, got " + shape_str(t.shape));
        return t.shape[dim];
    }

    bool fla() const { return m_fla; }
    const std::string& name() const { return m_name; }

private:
    std::shared_ptr<const io::TensorFile> m_file;
    Weights& m_w;
    std::string m_name;
    bool m_fla = false;
};

std::string hex64(std::uint64_t v) {
    static const char* digits = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[std::size_t(i)] = digits[v & 15];
    return s;
}

struct Fnv {
    std::uint64_t h = 0xcbf29ce484222325ull;
    void add(const void* p, std::size_t n) {
        auto* b = static_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
    }
    void add(const std::string& s) { add(s.data(), s.size()); }
};

// Identifies the weights: shapes plus a sample of each tensor's values converted to fp32, so the
// same model stored as .pth or .safetensors, or under fla-hub names, has the same fingerprint,
// while reading only a few KB of a 15 GB file.
std::string fingerprint_of(const Weights& w) {
    Fnv f;
    auto add_tensor = [&](const Tensor& t) {
        if (t.empty()) return;
        for (auto d : t.shape) f.add(&d, sizeof d);
        const std::int64_t n = t.numel();
        const std::int64_t step = std::max<std::int64_t>(1, n / 64);
        for (std::int64_t i = 0; i < n; i += step) {
            float v = t.at(i);
            f.add(&v, 4);
        }
    };
    add_tensor(w.emb);
    add_tensor(w.ln0_w);
    add_tensor(w.head);
    for (const auto& l : w.layers)
        for (const Tensor* t : {&l.receptance, &l.key, &l.value, &l.output, &l.ffn_key,
                                &l.ffn_value, &l.w1, &l.a1, &l.g1, &l.r_k, &l.x_r, &l.ln_x_w})
            add_tensor(*t);
    return hex64(f.h);
}

std::string dtype_label(const Weights& w) {
    io::DType first = w.emb.dtype;
    bool mixed = false;
    auto check = [&](const Tensor& t) {
        if (!t.empty() && t.dtype != first) mixed = true;
    };
    check(w.head);
    for (const auto& l : w.layers) {
        check(l.receptance);
        check(l.ffn_key);
        check(l.ln1_w);
    }
    if (mixed) return "mixed";
    switch (first) {
    case io::DType::F32:
        return "fp32";
    case io::DType::F16:
        return "fp16";
    case io::DType::BF16:
        return "bf16";
    case io::DType::I8:
        return "int8";
    case io::DType::U8:
        return "int4";
    default:
        return "other";
    }
}

} // namespace

std::shared_ptr<const Weights> load_weights(const std::string& path, const Progress& progress) {
    std::shared_ptr<const io::TensorFile> file = io::TensorFile::open(path);
    auto w = std::make_shared<Weights>();
    w->path = path;
    w->file = file;
    Loader ld(file, *w);

    // Hyperparameters from shapes.
    const std::int64_t V = ld.dim("emb.weight", 0, 2);
    const std::int64_t C = ld.dim("emb.weight", 1, 2);
    int L = 0;
    while (ld.has("blocks." + std::to_string(L) + ".ln1.weight")) ++L;
    if (L == 0)
        throw Error(ld.name() + ": no layers found (tensor blocks.0.ln1.weight missing); "
                                "is this an RWKV-7 model?");
    const std::string rk = "blocks.0.att.r_k";
    const auto& rk_raw = ld.raw(rk);
    std::int64_t N = rk_raw.shape.size() == 2 ? rk_raw.shape[1] : 64;
    if (N <= 0 || C % N != 0)
        ld.fail(rk_raw.name,
                "head size " + std::to_string(N) + " does not divide width " + std::to_string(C));
    const std::int64_t H = C / N;
    const std::int64_t F = ld.dim("blocks.0.ffn.key.weight", 0, 2);
    if (V <= 0 || C <= 0 || F <= 0 || V > (1 << 24) || C > (1 << 16) || F > (1 << 18))
        throw Error(ld.name() + ": implausible shape V=" + std::to_string(V) +
                    " C=" + std::to_string(C) + " F=" + std::to_string(F));

    ModelShape& s = w->shape;
    s.n_layer = L;
    s.n_embd = int(C);
    s.head_size = int(N);
    s.vocab = int(V);
    s.ffn_dim = int(F);

    w->emb = ld.mat("emb.weight", V, C);
    if (ld.has("blocks.0.ln0.weight") || !ld.fla()) {
        w->ln0_w = ld.vec("blocks.0.ln0.weight", C);
        w->ln0_b = ld.vec("blocks.0.ln0.bias", C);
    } // fla-hub files may omit pre_norm: their embedding is used as is.
    w->ln_out_w = ld.vec("ln_out.weight", C);
    w->ln_out_b = ld.vec("ln_out.bias", C);
    w->head = ld.mat("head.weight", V, C);

    for (int i = 0; i < L; ++i) {
        if (progress && !progress(double(i) / L)) throw Cancelled();
        const std::string b = "blocks." + std::to_string(i) + ".";
        const std::string a = b + "att.";
        LayerWeights l;
        LoraRanks r;
        r.w = int(ld.dim(a + "w1", ld.fla() ? 0 : 1, 2));
        r.a = int(ld.dim(a + "a1", ld.fla() ? 0 : 1, 2));
        r.g = int(ld.dim(a + "g1", ld.fla() ? 0 : 1, 2));
        if (i > 0) r.v = int(ld.dim(a + "v1", ld.fla() ? 0 : 1, 2));
        l.ln1_w = ld.vec(b + "ln1.weight", C);
        l.ln1_b = ld.vec(b + "ln1.bias", C);
        l.ln2_w = ld.vec(b + "ln2.weight", C);
        l.ln2_b = ld.vec(b + "ln2.bias", C);
        l.x_r = ld.vec(a + "x_r", C);
        l.x_w = ld.vec(a + "x_w", C);
        l.x_k = ld.vec(a + "x_k", C);
        l.x_v = ld.vec(a + "x_v", C);
        l.x_a = ld.vec(a + "x_a", C);
        l.x_g = ld.vec(a + "x_g", C);
        l.w0 = ld.vec(a + "w0", C);
        l.w1 = ld.mat(a + "w1", C, r.w, true);
        l.w2 = ld.mat(a + "w2", r.w, C, true);
        l.a0 = ld.vec(a + "a0", C);
        l.a1 = ld.mat(a + "a1", C, r.a, true);
        l.a2 = ld.mat(a + "a2", r.a, C, true);
        if (i > 0) { // layer 0's v0/v1/v2 may be present but are never used: layer 0 sets v_first
            l.v0 = ld.vec(a + "v0", C);
            l.v1 = ld.mat(a + "v1", C, r.v, true);
            l.v2 = ld.mat(a + "v2", r.v, C, true);
        }
        l.g1 = ld.mat(a + "g1", C, r.g, true);
        l.g2 = ld.mat(a + "g2", r.g, C, true);
        l.k_k = ld.vec(a + "k_k", C);
        l.k_a = ld.vec(a + "k_a", C);
        l.r_k = ld.vec(a + "r_k", H * N);
        l.receptance = ld.mat(a + "receptance.weight", C, C);
        l.key = ld.mat(a + "key.weight", C, C);
        l.value = ld.mat(a + "value.weight", C, C);
        l.output = ld.mat(a + "output.weight", C, C);
        l.ln_x_w = ld.vec(a + "ln_x.weight", C);
        l.ln_x_b = ld.vec(a + "ln_x.bias", C);
        l.ffn_x_k = ld.vec(b + "ffn.x_k", C);
        l.ffn_key = ld.mat(b + "ffn.key.weight", F, C);
        l.ffn_value = ld.mat(b + "ffn.value.weight", C, F);
        s.ranks.push_back(r);
        w->layers.push_back(std::move(l));
    }
    w->file_dtype = dtype_label(*w);
    w->fingerprint = fingerprint_of(*w);
    // A Gander weight cache carries its source's fingerprint: saved states stay valid across
    // precisions of the same model.
    const auto& md = file->metadata();
    if (auto it = md.find("gander.format"); it != md.end() && it->second == "gander-weights") {
        auto fp = md.find("gander.source_fingerprint");
        auto scheme = md.find("gander.scheme");
        if (fp == md.end() || fp->second.size() != 16 || scheme == md.end())
            throw Error(ld.name() + ": Gander weight cache without source fingerprint or scheme");
        w->fingerprint = fp->second;
        w->file_dtype = scheme->second.substr(0, scheme->second.find('-'));
    }
    if (progress && !progress(1.0)) throw Cancelled();
    return w;
}

std::shared_ptr<const Weights> make_random_weights(const ModelShape& shape, std::uint64_t seed,
                                                   io::DType dtype) {
    namespace ri = random_init;
    if (dtype != io::DType::F32 && dtype != io::DType::F16 && dtype != io::DType::BF16)
        throw Error("random weights: dtype must be F32, F16 or BF16");
    if (shape.n_layer <= 0 || shape.n_embd <= 0 || shape.head_size <= 0 ||
        shape.n_embd % shape.head_size != 0 || shape.vocab <= 0 || shape.ffn_dim <= 0 ||
        int(shape.ranks.size()) != shape.n_layer)
        throw Error("random weights: inconsistent shape");
    auto w = std::make_shared<Weights>();
    w->shape = shape;
    w->path = "";
    w->file_dtype = dtype == io::DType::F32 ? "fp32" : dtype == io::DType::F16 ? "fp16" : "bf16";
    const std::size_t es = io::dtype_size(dtype);
    const std::int64_t C = shape.n_embd, V = shape.vocab, F = shape.ffn_dim;

    // Layers are made in parallel (a 7B shape is 7 billion values); each layer's buffers go to its
    // own list first and into `w` at the end, which does not move the data.
    std::vector<std::vector<std::vector<std::byte>>> layer_owned(std::size_t(shape.n_layer) + 1);
    auto make = [&](int layer, ri::Role role, std::vector<std::int64_t> dims, int fan_in) {
        std::int64_t n = 1;
        for (auto d : dims) n *= d;
        auto& buf = layer_owned[std::size_t(layer + 1)].emplace_back(std::size_t(n) * es);
        for (std::int64_t i = 0; i < n; ++i) {
            float v = ri::value(seed, layer, role, fan_in, std::uint64_t(i));
            if (dtype == io::DType::F32) {
                std::memcpy(buf.data() + i * 4, &v, 4);
            } else {
                std::uint16_t h = dtype == io::DType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
                std::memcpy(buf.data() + i * 2, &h, 2);
            }
        }
        return Tensor{dtype, std::move(dims), buf.data(), buf.size()};
    };

    w->emb = make(-1, ri::Emb, {V, C}, 0);
    w->ln0_w = make(-1, ri::Ln0W, {C}, 0);
    w->ln0_b = make(-1, ri::Ln0B, {C}, 0);
    w->ln_out_w = make(-1, ri::LnOutW, {C}, 0);
    w->ln_out_b = make(-1, ri::LnOutB, {C}, 0);
    w->head = make(-1, ri::Head, {V, C}, int(C));
    w->layers.resize(std::size_t(shape.n_layer));
    std::atomic<int> next{0};
    auto make_layers = [&] {
        for (int i; (i = next++) < shape.n_layer;) {
            const LoraRanks& r = shape.ranks[std::size_t(i)];
            LayerWeights& l = w->layers[std::size_t(i)];
            l.ln1_w = make(i, ri::Ln1W, {C}, 0);
            l.ln1_b = make(i, ri::Ln1B, {C}, 0);
            l.ln2_w = make(i, ri::Ln2W, {C}, 0);
            l.ln2_b = make(i, ri::Ln2B, {C}, 0);
            l.x_r = make(i, ri::XR, {C}, 0);
            l.x_w = make(i, ri::XW, {C}, 0);
            l.x_k = make(i, ri::XK, {C}, 0);
            l.x_v = make(i, ri::XV, {C}, 0);
            l.x_a = make(i, ri::XA, {C}, 0);
            l.x_g = make(i, ri::XG, {C}, 0);
            l.w0 = make(i, ri::W0, {C}, 0);
            l.w1 = make(i, ri::W1, {C, r.w}, int(C));
            l.w2 = make(i, ri::W2, {r.w, C}, r.w);
            l.a0 = make(i, ri::A0, {C}, 0);
            l.a1 = make(i, ri::A1, {C, r.a}, int(C));
            l.a2 = make(i, ri::A2, {r.a, C}, r.a);
            if (i > 0) {
                l.v0 = make(i, ri::V0, {C}, 0);
                l.v1 = make(i, ri::V1, {C, r.v}, int(C));
                l.v2 = make(i, ri::V2, {r.v, C}, r.v);
            }
            l.g1 = make(i, ri::G1, {C, r.g}, int(C));
            l.g2 = make(i, ri::G2, {r.g, C}, r.g);
            l.k_k = make(i, ri::KK, {C}, 0);
            l.k_a = make(i, ri::KA, {C}, 0);
            l.r_k = make(i, ri::RK, {C}, 0);
            l.receptance = make(i, ri::Receptance, {C, C}, int(C));
            l.key = make(i, ri::Key, {C, C}, int(C));
            l.value = make(i, ri::Value, {C, C}, int(C));
            l.output = make(i, ri::Output, {C, C}, int(C));
            l.ln_x_w = make(i, ri::LnXW, {C}, 0);
            l.ln_x_b = make(i, ri::LnXB, {C}, 0);
            l.ffn_x_k = make(i, ri::FfnXK, {C}, 0);
            l.ffn_key = make(i, ri::FfnKey, {F, C}, int(C));
            l.ffn_value = make(i, ri::FfnValue, {C, F}, int(F));
        }
    };
    std::vector<std::thread> threads;
    const int n_threads =
        std::min<int>(shape.n_layer, int(std::max(1u, std::thread::hardware_concurrency())));
    for (int t = 1; t < n_threads; ++t) threads.emplace_back(make_layers);
    make_layers();
    for (auto& t : threads) t.join();
    for (auto& list : layer_owned)
        for (auto& b : list) w->owned.push_back(std::move(b));
    w->fingerprint = fingerprint_of(*w);
    return w;
}

} // namespace gander::model
