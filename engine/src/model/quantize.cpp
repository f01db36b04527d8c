// See quantize.h. The conversions here are the reference: the CPU backend runs them as they are,
// and the CUDA kernels must dequantise to the same values.
#include "model/quantize.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "model/half.h"

namespace gander::model {
namespace {

std::uint16_t to_half_scale(float s) {
    // A zero scale (an all-zero row or group) dequantises to zeros; keep it finite and positive.
    return f32_to_f16(std::max(s, 1e-8f));
}

Tensor to_float_dtype(const Tensor& t, io::DType dtype, Weights& owner) {
    if (t.empty() || (t.dtype == dtype && !t.quantized())) return t;
    const std::int64_t n = t.numel();
    std::vector<float> f(static_cast<std::size_t>(n));
    t.to_f32(f.data());
    auto& buf = owner.owned.emplace_back(std::size_t(n) * io::dtype_size(dtype));
    for (std::int64_t i = 0; i < n; ++i) {
        if (dtype == io::DType::F32) {
            std::memcpy(buf.data() + i * 4, &f[std::size_t(i)], 4);
        } else {
            const std::uint16_t h = dtype == io::DType::F16 ? f32_to_f16(f[std::size_t(i)])
                                                            : f32_to_bf16(f[std::size_t(i)]);
            std::memcpy(buf.data() + i * 2, &h, 2);
        }
    }
    return Tensor{dtype, t.shape, buf.data(), buf.size()};
}

Tensor quantize_int8(const Tensor& t, Weights& owner) {
    const std::int64_t rows = t.rows(), cols = t.cols();
    // Both buffers first: a second emplace_back may move the first one's vector object.
    owner.owned.emplace_back(std::size_t(rows * cols));
    owner.owned.emplace_back(std::size_t(rows) * 2);
    auto& q = owner.owned[owner.owned.size() - 2];
    auto& sc = owner.owned.back();
    std::vector<float> row(static_cast<std::size_t>(cols));
    for (std::int64_t r = 0; r < rows; ++r) {
        t.row_to_f32(r, row.data());
        float amax = 0;
        for (float v : row) amax = std::max(amax, std::fabs(v));
        const std::uint16_t hs = to_half_scale(amax / 127.0f);
        const float s = f16_to_f32(hs);
        std::memcpy(sc.data() + r * 2, &hs, 2);
        for (std::int64_t c = 0; c < cols; ++c) {
            const float v = std::clamp(std::nearbyint(row[std::size_t(c)] / s), -127.0f, 127.0f);
            q[std::size_t(r * cols + c)] = std::byte(std::uint8_t(std::int8_t(v)));
        }
    }
    Tensor out{io::DType::I8, {rows, cols}, q.data(), q.size()};
    out.scales = sc.data();
    out.group = int(cols);
    return out;
}

Tensor quantize_int4(const Tensor& t, Weights& owner) {
    const std::int64_t rows = t.rows(), cols = t.cols();
    const std::int64_t groups = (cols + kInt4Group - 1) / kInt4Group;
    const std::size_t row_bytes = std::size_t(cols + 1) / 2;
    owner.owned.emplace_back(std::size_t(rows) * row_bytes);
    owner.owned.emplace_back(std::size_t(rows * groups) * 2);
    auto& q = owner.owned[owner.owned.size() - 2];
    auto& sc = owner.owned.back();
    std::vector<float> row(static_cast<std::size_t>(cols));
    std::vector<int> best_q(kInt4Group), try_q(kInt4Group);
    for (std::int64_t r = 0; r < rows; ++r) {
        t.row_to_f32(r, row.data());
        for (std::int64_t g = 0; g < groups; ++g) {
            const std::int64_t b = g * kInt4Group, e = std::min(cols, b + kInt4Group);
            float amax = 0;
            for (std::int64_t c = b; c < e; ++c)
                amax = std::max(amax, std::fabs(row[std::size_t(c)]));
            // Clipping the largest values a little often lowers the error of all the others.
            double best_err = INFINITY;
            std::uint16_t best_hs = 0;
            for (float clip : {1.0f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f}) {
                const std::uint16_t hs = to_half_scale(clip * amax / 7.0f);
                const float s = f16_to_f32(hs);
                double err = 0;
                for (std::int64_t c = b; c < e; ++c) {
                    const float v = row[std::size_t(c)];
                    const int qi = int(std::clamp(std::nearbyint(v / s), -8.0f, 7.0f));
                    try_q[std::size_t(c - b)] = qi;
                    err += double(v - float(qi) * s) * double(v - float(qi) * s);
                }
                if (err < best_err) {
                    best_err = err;
                    best_hs = hs;
                    best_q = try_q;
                }
            }
            std::memcpy(sc.data() + (r * groups + g) * 2, &best_hs, 2);
            for (std::int64_t c = b; c < e; ++c) {
                const auto nib = std::uint8_t(best_q[std::size_t(c - b)] + 8);
                auto& byte = q[std::size_t(r) * row_bytes + std::size_t(c / 2)];
                byte = c & 1 ? std::byte((std::uint8_t(byte) & 0x0f) | (nib << 4))
                             : std::byte((std::uint8_t(byte) & 0xf0) | nib);
            }
        }
    }
    Tensor out{io::DType::U8, {rows, cols}, q.data(), q.size()};
    out.scales = sc.data();
    out.group = kInt4Group;
    return out;
}

io::DType float_dtype(Precision p) {
    switch (p) {
    case Precision::Fp32:
        return io::DType::F32;
    case Precision::Bf16:
        return io::DType::BF16;
    default:
        return io::DType::F16;
    }
}

} // namespace

std::string precision_scheme(Precision p) {
    switch (p) {
    case Precision::Int8:
        return "int8-row";
    case Precision::Int4:
        return "int4-g64";
    default:
        return std::string(to_string(p));
    }
}

std::shared_ptr<const Weights> convert_weights(std::shared_ptr<const Weights> source, Precision p,
                                               const Progress& progress) {
    auto w = std::make_shared<Weights>();
    w->shape = source->shape;
    w->path = source->path;
    w->fingerprint = source->fingerprint;
    w->file = source->file;
    w->file_dtype = p == Precision::Int8   ? "int8"
                    : p == Precision::Int4 ? "int4"
                                           : std::string(to_string(p));
    const io::DType fd = float_dtype(p);
    auto conv_into = [&](const Tensor& t, Weights& owner) { return to_float_dtype(t, fd, owner); };
    auto big_into = [&](const Tensor& t, Weights& owner) {
        if (p == Precision::Int8) return quantize_int8(t, owner);
        if (p == Precision::Int4) return quantize_int4(t, owner);
        return conv_into(t, owner);
    };
    w->emb = conv_into(source->emb, *w);
    w->ln0_w = conv_into(source->ln0_w, *w), w->ln0_b = conv_into(source->ln0_b, *w);
    w->ln_out_w = conv_into(source->ln_out_w, *w), w->ln_out_b = conv_into(source->ln_out_b, *w);
    w->head = p == Precision::Int4 ? quantize_int8(source->head, *w) : big_into(source->head, *w);

    // Layers in parallel (a 7B model is 32 layers of ~200M weights): each worker owns the
    // buffers of the layers it converts; they move into `w` afterwards (moving a vector keeps its
    // data where it is, so the tensors' pointers stay valid).
    const std::size_t L = source->layers.size();
    w->layers.resize(L);
    std::vector<Weights> owners(L);
    std::atomic<std::size_t> next{0}, finished{0};
    std::atomic<bool> cancelled{false};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (std::size_t i; !cancelled && (i = next++) < L;) {
            try {
                const LayerWeights& s = source->layers[i];
                LayerWeights& l = w->layers[i];
                Weights& owner = owners[i];
                for (auto [dst, src] : {std::pair{&l.ln1_w, &s.ln1_w},
                                        {&l.ln1_b, &s.ln1_b},
                                        {&l.ln2_w, &s.ln2_w},
                                        {&l.ln2_b, &s.ln2_b},
                                        {&l.x_r, &s.x_r},
                                        {&l.x_w, &s.x_w},
                                        {&l.x_k, &s.x_k},
                                        {&l.x_v, &s.x_v},
                                        {&l.x_a, &s.x_a},
                                        {&l.x_g, &s.x_g},
                                        {&l.w0, &s.w0},
                                        {&l.w1, &s.w1},
                                        {&l.w2, &s.w2},
                                        {&l.a0, &s.a0},
                                        {&l.a1, &s.a1},
                                        {&l.a2, &s.a2},
                                        {&l.v0, &s.v0},
                                        {&l.v1, &s.v1},
                                        {&l.v2, &s.v2},
                                        {&l.g1, &s.g1},
                                        {&l.g2, &s.g2},
                                        {&l.k_k, &s.k_k},
                                        {&l.k_a, &s.k_a},
                                        {&l.r_k, &s.r_k},
                                        {&l.ln_x_w, &s.ln_x_w},
                                        {&l.ln_x_b, &s.ln_x_b},
                                        {&l.ffn_x_k, &s.ffn_x_k}})
                    *dst = conv_into(*src, owner);
                for (auto [dst, src] : {std::pair{&l.receptance, &s.receptance},
                                        {&l.key, &s.key},
                                        {&l.value, &s.value},
                                        {&l.output, &s.output},
                                        {&l.ffn_key, &s.ffn_key},
                                        {&l.ffn_value, &s.ffn_value}})
                    *dst = big_into(*src, owner);
                ++finished;
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
                cancelled = true;
            }
        }
    };
    const std::size_t n_threads =
        std::min<std::size_t>(L, std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < n_threads; ++t) threads.emplace_back(work);
    // The calling thread reports progress (callbacks run on the caller's thread) and works.
    while (!cancelled && finished < L) {
        if (progress && !progress(double(finished) / double(L))) cancelled = true;
        if (n_threads == 1) {
            if (!cancelled) work();
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (auto& t : threads) t.join();
    if (error) std::rethrow_exception(error);
    if (cancelled) throw Cancelled();
    for (auto& o : owners)
        for (auto& b : o.owned) w->owned.push_back(std::move(b));
    // Tensors left as views may point into the source's own buffers (a random model).
    w->keep_alive = std::move(source);
    if (progress && !progress(1.0)) throw Cancelled();
    return w;
}

std::string weight_cache_path(const std::string& cache_dir, const Weights& source, Precision p) {
    std::string stem = std::filesystem::path(source.path).stem().string();
    if (stem.empty()) stem = "model";
    return (std::filesystem::path(cache_dir) /
            (stem + "-" + source.fingerprint + "-" + precision_scheme(p) + ".safetensors"))
        .string();
}

void write_weight_cache(const Weights& w, Precision p, const std::string& path,
                        const Weights& source) {
    std::vector<io::TensorToWrite> out;
    std::vector<std::string> names; // keep the ".scales" names alive
    names.reserve(512);
    auto add = [&](const std::string& name, const Tensor& t) {
        if (t.empty()) return;
        std::vector<std::int64_t> stored = t.shape;
        if (t.dtype == io::DType::U8) stored[1] = (stored[1] + 1) / 2;
        out.push_back({name, t.dtype, stored, t.data, t.nbytes});
        if (t.quantized()) {
            const std::int64_t groups = (t.cols() + t.group - 1) / t.group;
            names.push_back(name + ".scales");
            out.push_back({names.back(),
                           io::DType::F16,
                           {t.rows(), groups},
                           t.scales,
                           std::size_t(t.rows() * groups) * 2});
        }
    };
    add("emb.weight", w.emb);
    add("blocks.0.ln0.weight", w.ln0_w);
    add("blocks.0.ln0.bias", w.ln0_b);
    for (std::size_t i = 0; i < w.layers.size(); ++i) {
        const LayerWeights& l = w.layers[i];
        const std::string b = "blocks." + std::to_string(i) + ".";
        const std::string a = b + "att.";
        add(b + "ln1.weight", l.ln1_w), add(b + "ln1.bias", l.ln1_b);
        add(b + "ln2.weight", l.ln2_w), add(b + "ln2.bias", l.ln2_b);
        add(a + "x_r", l.x_r), add(a + "x_w", l.x_w), add(a + "x_k", l.x_k);
        add(a + "x_v", l.x_v), add(a + "x_a", l.x_a), add(a + "x_g", l.x_g);
        add(a + "w0", l.w0), add(a + "w1", l.w1), add(a + "w2", l.w2);
        add(a + "a0", l.a0), add(a + "a1", l.a1), add(a + "a2", l.a2);
        add(a + "v0", l.v0), add(a + "v1", l.v1), add(a + "v2", l.v2);
        add(a + "g1", l.g1), add(a + "g2", l.g2);
        add(a + "k_k", l.k_k), add(a + "k_a", l.k_a), add(a + "r_k", l.r_k);
        add(a + "receptance.weight", l.receptance), add(a + "key.weight", l.key);
        add(a + "value.weight", l.value), add(a + "output.weight", l.output);
        add(a + "ln_x.weight", l.ln_x_w), add(a + "ln_x.bias", l.ln_x_b);
        add(b + "ffn.x_k", l.ffn_x_k);
        add(b + "ffn.key.weight", l.ffn_key), add(b + "ffn.value.weight", l.ffn_value);
    }
    add("ln_out.weight", w.ln_out_w);
    add("ln_out.bias", w.ln_out_b);
    add("head.weight", w.head);
    std::error_code ec;
    const auto size = std::filesystem::file_size(source.path, ec);
    io::write_safetensors(
        path, out,
        {{"gander.format", "gander-weights"},
         {"gander.version", "1"},
         {"gander.scheme", precision_scheme(p)},
         {"gander.int4_group", std::to_string(kInt4Group)},
         {"gander.source_fingerprint", source.fingerprint},
         {"gander.source_file", std::filesystem::path(source.path).filename().string()},
         {"gander.source_size", ec ? "0" : std::to_string(size)}});
}

std::shared_ptr<const Weights> load_weight_cache(const std::string& path, const Weights& source,
                                                 Precision p) {
    if (!std::filesystem::exists(path)) return nullptr;
    try {
        auto file = io::TensorFile::open(path);
        const auto& md = file->metadata();
        auto is = [&](const char* key, const std::string& want) {
            auto it = md.find(key);
            return it != md.end() && it->second == want;
        };
        if (!is("gander.format", "gander-weights") || !is("gander.version", "1") ||
            !is("gander.scheme", precision_scheme(p)) ||
            !is("gander.source_fingerprint", source.fingerprint) ||
            !is("gander.int4_group", std::to_string(kInt4Group)))
            return nullptr;
        file.reset();
        auto w = load_weights(path);
        if (!(w->shape == source.shape)) return nullptr;
        return w;
    } catch (const Error&) {
        return nullptr; // unreadable or damaged: rebuilt by the caller
    }
}

} // namespace gander::model
