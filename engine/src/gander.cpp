// The engine's entry points: names of enums, the real RWKV-7 shapes, and load_model(), which picks
// the backend (CUDA when a usable card is there and the caller allows it, else the CPU, with the
// reason kept in ModelInfo::backend_note).
#include <cmath>
#include <filesystem>

#include "backend.h"
#include "gander/gander.h"
#include "model/quantize.h"

namespace gander {

std::string_view to_string(BackendKind kind) {
    switch (kind) {
    case BackendKind::Auto:
        return "auto";
    case BackendKind::Cpu:
        return "cpu";
    case BackendKind::Cuda:
        return "cuda";
    }
    return "?";
}

std::string_view to_string(Precision p) {
    switch (p) {
    case Precision::Fp32:
        return "fp32";
    case Precision::Fp16:
        return "fp16";
    case Precision::Bf16:
        return "bf16";
    case Precision::Int8:
        return "int8";
    case Precision::Int4:
        return "int4";
    }
    return "?";
}

std::optional<BackendKind> parse_backend(std::string_view t) {
    if (t == "auto") return BackendKind::Auto;
    if (t == "cpu") return BackendKind::Cpu;
    if (t == "cuda" || t == "gpu") return BackendKind::Cuda;
    return std::nullopt;
}

std::optional<Precision> parse_precision(std::string_view t) {
    for (Precision p :
         {Precision::Fp32, Precision::Fp16, Precision::Bf16, Precision::Int8, Precision::Int4})
        if (t == to_string(p)) return p;
    return std::nullopt;
}

namespace {
// LoRA ranks of the official RWKV-7 models, by the rule of BlinkDL's training script
// (multiples of 32 of 1.8*sqrt(C), 1.8*sqrt(C), 1.3*sqrt(C), 0.6*C^0.8).
int rank_rule(double x) {
    return std::max(32, int(std::lround(x / 32.0)) * 32);
}

ModelShape shape_of(int layers, int C) {
    ModelShape s;
    s.n_layer = layers;
    s.n_embd = C;
    s.head_size = 64;
    s.vocab = 65536;
    s.ffn_dim = 4 * C;
    const double r = std::sqrt(double(C));
    LoraRanks k{rank_rule(1.8 * r), rank_rule(1.8 * r), rank_rule(1.3 * r),
                rank_rule(0.6 * std::pow(double(C), 0.8))};
    s.ranks.assign(std::size_t(layers), k);
    return s;
}
} // namespace

ModelShape model_shape_named(std::string_view name) {
    if (name == "0.1b") return shape_of(12, 768);
    if (name == "0.4b") return shape_of(24, 1024);
    if (name == "1.5b") return shape_of(24, 2048);
    if (name == "2.9b") return shape_of(32, 2560);
    if (name == "7.2b") return shape_of(32, 4096);
    throw Error("unknown model shape '" + std::string(name) +
                "' (known: 0.1b, 0.4b, 1.5b, 2.9b, 7.2b)");
}

std::int64_t parameter_count(const ModelShape& s) {
    const std::int64_t C = s.n_embd, V = s.vocab, F = s.ffn_dim;
    std::int64_t n = 2 * V * C + 4 * C; // emb, head, ln0, ln_out
    for (int i = 0; i < s.n_layer; ++i) {
        const LoraRanks& r = s.ranks[std::size_t(i)];
        n += 4 * C;                      // ln1, ln2
        n += 6 * C;                      // x_r .. x_g
        n += C + 2 * C * r.w;            // w0, w1, w2
        n += C + 2 * C * r.a;            // a0, a1, a2
        if (i > 0) n += C + 2 * C * r.v; // v0, v1, v2
        n += 2 * C * r.g;                // g1, g2
        n += 3 * C;                      // k_k, k_a, r_k
        n += 4 * C * C + 2 * C;          // r, k, v, o; ln_x
        n += C + 2 * C * F;              // ffn
    }
    return n;
}

std::size_t state_size_f32(const ModelShape& s) {
    return std::size_t(s.n_layer) *
           (2 * std::size_t(s.n_embd) + std::size_t(s.n_head()) * s.head_size * s.head_size) * 4;
}

namespace detail {

ModelInfo base_model_info(const model::Weights& w) {
    ModelInfo info;
    info.shape = w.shape;
    info.path = w.path;
    info.file_dtype = w.file_dtype;
    info.fingerprint = w.fingerprint;
    info.n_params = parameter_count(w.shape);
    return info;
}

} // namespace detail

namespace {

bool is_quantized(Precision p) {
    return p == Precision::Int8 || p == Precision::Int4;
}

// The weights at the requested precision: as stored when none is asked for, from the cache when
// a valid one exists, else converted now (and cached when the caller gave a cache folder).
std::shared_ptr<const model::Weights> at_precision(std::shared_ptr<const model::Weights> w,
                                                   const LoadOptions& o, const Progress& progress) {
    if (!o.precision || w->file_dtype == to_string(*o.precision)) return w;
    const Precision p = *o.precision;
    if (w->file_dtype == "int8" || w->file_dtype == "int4")
        throw Error(w->path + ": holds " + w->file_dtype +
                    " weights; open the original model to use " + std::string(to_string(p)));
    if (is_quantized(p) && !o.cache_dir.empty()) {
        const std::string path = model::weight_cache_path(o.cache_dir, *w, p);
        if (auto cached = model::load_weight_cache(path, *w, p)) return cached;
        auto q = model::convert_weights(w, p, progress);
        std::error_code ec;
        std::filesystem::create_directories(o.cache_dir, ec);
        model::write_weight_cache(*q, p, path, *w); // throws with the path if the disk refuses
        return q;
    }
    return model::convert_weights(std::move(w), p, progress);
}

std::unique_ptr<Model> on_cpu(std::shared_ptr<const model::Weights> w, const LoadOptions& o,
                              std::string note) {
    return detail::make_cpu_model(at_precision(std::move(w), o, o.progress), o, std::move(note));
}

// The CUDA backend takes the weights as stored and converts them on the card itself.
std::unique_ptr<Model> on_backend(std::shared_ptr<const model::Weights> w,
                                  const LoadOptions& options) {
#ifdef GANDER_HAVE_CUDA
    if (options.backend != BackendKind::Cpu) {
        std::string device;
        std::string why = detail::cuda_probe(&device);
        if (why.empty()) {
            try {
                // int8/int4 are made (or read from the cache) on the host, then uploaded as is;
                // other precisions go up as stored and are converted on the card.
                if (options.precision && is_quantized(*options.precision))
                    return detail::make_cuda_model(at_precision(w, options, options.progress),
                                                   options);
                return detail::make_cuda_model(w, options);
            } catch (const Cancelled&) {
                throw;
            } catch (const Error& e) {
                if (options.backend == BackendKind::Cuda) throw;
                why = e.what();
            }
        } else if (options.backend == BackendKind::Cuda) {
            throw Error("CUDA backend unavailable: " + why);
        }
        return on_cpu(std::move(w), options, "CPU: " + why);
    }
    return on_cpu(std::move(w), options, "CPU: chosen in settings");
#else
    if (options.backend == BackendKind::Cuda)
        throw Error("CUDA backend unavailable: this build of Gander has no CUDA support");
    return on_cpu(std::move(w), options,
                  options.backend == BackendKind::Cpu ? "CPU: chosen in settings"
                                                      : "CPU: this build has no CUDA support");
#endif
}

} // namespace

std::unique_ptr<Model> load_model(const std::string& path, const LoadOptions& options) {
    if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
    // Reading and checking the file is the first half of the progress; the backend the second.
    LoadOptions o = options;
    Progress outer = options.progress;
    auto w = model::load_weights(path, outer ? Progress([&](double d) { return outer(0.5 * d); })
                                             : Progress{});
    if (outer) o.progress = [&](double d) { return outer(0.5 + 0.5 * d); };
    auto m = on_backend(std::move(w), o);
    if (outer && !outer(1.0)) throw Cancelled();
    return m;
}

std::unique_ptr<Model> make_random_model(const ModelShape& shape, std::uint64_t seed,
                                         const LoadOptions& options) {
#ifdef GANDER_HAVE_CUDA
    if (options.backend == BackendKind::Cuda)
        return detail::make_cuda_random_model(shape, seed, options);
#endif
    if (options.backend == BackendKind::Cuda)
        throw Error("CUDA backend unavailable: this build of Gander has no CUDA support");
    io::DType dt = io::DType::BF16;
    if (options.precision == Precision::Fp32) dt = io::DType::F32;
    if (options.precision == Precision::Fp16) dt = io::DType::F16;
    auto w = model::make_random_weights(shape, seed, dt);
    if (options.precision && is_quantized(*options.precision))
        w = model::convert_weights(std::move(w), *options.precision);
    return detail::make_cpu_model(std::move(w), options, "CPU: random weights");
}

} // namespace gander
