// Helpers for the GPU tests: fresh random numbers (a new seed every run, printed so that a failure
// can be replayed with GANDER_TEST_SEED), device buffers, golden-data reading and the error
// measures of shared/fixtures/README.md.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "check.h"
#include "gander/gander.h"
#include "io/tensor_file.h"

namespace gander::gputest {

inline std::uint64_t run_seed() {
    static const std::uint64_t seed = []() -> std::uint64_t {
        if (const char* s = std::getenv("GANDER_TEST_SEED"); s && *s) return std::stoull(s);
        std::uint64_t v = std::random_device{}();
        v = (v << 32) ^ std::random_device{}();
        return v;
    }();
    static bool printed = false;
    if (!printed) {
        std::fprintf(stderr, "random inputs: GANDER_TEST_SEED=%llu\n", (unsigned long long)seed);
        printed = true;
    }
    return seed;
}

inline std::mt19937_64& rng() {
    static std::mt19937_64 g(run_seed());
    return g;
}

inline std::vector<float> uniform(std::size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng());
    return v;
}

inline void cuda_ok(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw Error(std::string(what) + ": " + cudaGetErrorString(e));
}

template <typename T> struct Dev {
    T* p = nullptr;
    std::size_t n = 0;
    explicit Dev(std::size_t count) : n(count) {
        cuda_ok(cudaMalloc(&p, std::max<std::size_t>(1, n) * sizeof(T)), "cudaMalloc");
        // Poison: every output the kernel should write is checked, never left as zeros.
        cuda_ok(cudaMemset(p, 0xff, std::max<std::size_t>(1, n) * sizeof(T)), "cudaMemset");
    }
    explicit Dev(const std::vector<T>& h) : Dev(h.size()) { put(h); }
    ~Dev() { cudaFree(p); }
    Dev(const Dev&) = delete;
    void put(const std::vector<T>& h) {
        cuda_ok(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice), "upload");
    }
    std::vector<T> get() const {
        std::vector<T> h(n);
        cuda_ok(cudaDeviceSynchronize(), "kernel");
        cuda_ok(cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost), "download");
        return h;
    }
};

inline std::vector<__half> to_half(const std::vector<float>& v) {
    std::vector<__half> h(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) h[i] = __float2half_rn(v[i]);
    return h;
}
inline std::vector<float> to_float(const std::vector<__half>& v) {
    std::vector<float> f(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) f[i] = __half2float(v[i]);
    return f;
}
// Rounds through fp16, as the card's storage does.
inline std::vector<float> round_half(const std::vector<float>& v) {
    return to_float(to_half(v));
}

inline bool all_finite(const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

inline double std_of(const float* v, std::size_t n) {
    double m = 0, q = 0;
    for (std::size_t i = 0; i < n; ++i) m += v[i];
    m /= double(n);
    for (std::size_t i = 0; i < n; ++i) q += (v[i] - m) * (v[i] - m);
    return std::sqrt(q / double(n));
}

// max |a - b| / std(b): the measure of the fixtures' README. NaN anywhere gives infinity.
inline double rel_err(const float* a, const float* b, std::size_t n) {
    double m = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = std::fabs(double(a[i]) - double(b[i]));
        if (!std::isfinite(d)) return INFINITY;
        m = std::max(m, d);
    }
    const double s = std_of(b, n);
    return s > 0 ? m / s : m;
}
inline double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    return rel_err(a.data(), b.data(), a.size());
}
// n tokens drawn uniformly from [0, V) (the run's seed).
inline std::vector<std::int32_t> random_tokens(std::size_t n, int V) {
    std::uniform_int_distribution<int> d(0, V - 1);
    std::vector<std::int32_t> t(n);
    for (auto& x : t) x = d(rng());
    return t;
}

// Feeds `tokens` to both sessions one at a time; the worst rel_err of a's logits against b's.
inline double worst_step_err(Session& a, Session& b, const std::vector<std::int32_t>& tokens) {
    double worst = 0;
    for (auto t : tokens) {
        a.feed(t);
        b.feed(t);
        worst = std::max(worst, rel_err(a.logits().data(), b.logits().data(), a.logits().size()));
    }
    return worst;
}
// max |a - b| / max |b|: for outputs whose spread says little (states, norms).
inline double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
    if (a.size() != b.size()) return INFINITY;
    double m = 0, s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(double(a[i]) - double(b[i]));
        if (!std::isfinite(d)) return INFINITY;
        m = std::max(m, d);
        s = std::max(s, std::fabs(double(b[i])));
    }
    return s > 0 ? m / s : m;
}

inline int argmax(const float* v, std::size_t n) {
    return int(std::max_element(v, v + n) - v);
}

// The golden outputs of a fixture model.
struct Golden {
    std::vector<std::int32_t> tokens;
    std::vector<float> logits; // [T, V]
    int V = 0;
    int split = 0;
    std::vector<float> state_split, state_final; // reference layout
};

inline std::vector<float> tensor_f32(const io::TensorFile& f, const std::string& name) {
    const io::TensorView* t = f.find(name);
    if (!t) throw Error(f.path() + ": no tensor " + name);
    if (t->dtype != io::DType::F32) throw Error(f.path() + ": " + name + " is not F32");
    std::vector<float> v(std::size_t(t->numel()));
    std::memcpy(v.data(), t->data, v.size() * 4);
    return v;
}

// Interleaves [L, C], [L, H*N*N], [L, C] into the per-layer reference layout.
inline std::vector<float> reference_state(const io::TensorFile& f, const std::string& prefix,
                                          int L) {
    auto ax = tensor_f32(f, prefix + ".att_x_prev");
    auto kv = tensor_f32(f, prefix + ".att_kv");
    auto fx = tensor_f32(f, prefix + ".ffn_x_prev");
    const std::size_t C = ax.size() / std::size_t(L), S = kv.size() / std::size_t(L);
    std::vector<float> out;
    for (int l = 0; l < L; ++l) {
        out.insert(out.end(), ax.begin() + l * C, ax.begin() + (l + 1) * C);
        out.insert(out.end(), kv.begin() + l * S, kv.begin() + (l + 1) * S);
        out.insert(out.end(), fx.begin() + l * C, fx.begin() + (l + 1) * C);
    }
    return out;
}

inline Golden load_golden(const std::string& path, int n_layer) {
    auto f = io::TensorFile::open(path);
    Golden g;
    const io::TensorView* t = f->find("tokens");
    if (!t) throw Error(path + ": no tokens");
    g.tokens.resize(std::size_t(t->numel()));
    std::memcpy(g.tokens.data(), t->data, g.tokens.size() * 4);
    g.logits = tensor_f32(*f, "logits");
    g.V = int(g.logits.size() / g.tokens.size());
    auto it = f->metadata().find("split");
    g.split = it != f->metadata().end() ? std::stoi(it->second) : 10;
    g.state_split = reference_state(*f, "state_after_split", n_layer);
    g.state_final = reference_state(*f, "state_final", n_layer);
    return g;
}

} // namespace gander::gputest
