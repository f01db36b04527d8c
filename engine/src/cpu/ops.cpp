// The CPU reference operations (see ops.h). Everything is plain fp32 loops except the dot
// products under matvec/matmul, which have an AVX2/F16C path picked at run time (the release
// binary must run on any x86-64) and a portable path that the tests compare it with.
#include "cpu/ops.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gander/thread_pool.h"
#include "model/half.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define GANDER_X86 1
#endif

namespace gander::cpu {

void layer_norm(const float* x, const float* w, const float* b, float* out, int n, float eps) {
    double mean = 0;
    for (int i = 0; i < n; ++i) mean += x[i];
    mean /= n;
    double var = 0;
    for (int i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    const float inv = float(1.0 / std::sqrt(var + eps));
    const float m = float(mean);
    for (int i = 0; i < n; ++i) out[i] = (x[i] - m) * inv * w[i] + b[i];
}

void group_norm(const float* x, const float* w, const float* b, float* out, int n_groups,
                int group_size, float eps) {
    for (int g = 0; g < n_groups; ++g) {
        const int o = g * group_size;
        double mean = 0;
        for (int i = 0; i < group_size; ++i) mean += x[o + i];
        mean /= group_size;
        double var = 0;
        for (int i = 0; i < group_size; ++i) var += (x[o + i] - mean) * (x[o + i] - mean);
        var /= group_size;
        const float inv = float(1.0 / std::sqrt(var + eps));
        const float m = float(mean);
        for (int i = 0; i < group_size; ++i)
            out[o + i] = (x[o + i] - m) * inv * w[o + i] + b[o + i];
    }
}

namespace {

// Portable dot products: 8 independent partial sums so the compiler can vectorise them.
float dot_f32_plain(const float* a, const float* x, std::int64_t n) {
    float s[8] = {};
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += a[i + j] * x[i + j];
    float t = 0;
    for (; i < n; ++i) t += a[i] * x[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

float dot_bf16_plain(const std::uint16_t* a, const float* x, std::int64_t n) {
    float s[8] = {};
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += model::bf16_to_f32(a[i + j]) * x[i + j];
    float t = 0;
    for (; i < n; ++i) t += model::bf16_to_f32(a[i]) * x[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

float dot_f16_plain(const std::uint16_t* a, const float* x, std::int64_t n) {
    float t = 0;
    for (std::int64_t i = 0; i < n; ++i) t += model::f16_to_f32(a[i]) * x[i];
    return t;
}

#ifdef GANDER_X86
__attribute__((target("avx2,fma"))) float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) float dot_f32_avx2(const float* a, const float* x,
                                                        std::int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
    }
    float t = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) t += a[i] * x[i];
    return t;
}

__attribute__((target("avx2,fma"))) float dot_bf16_avx2(const std::uint16_t* a, const float* x,
                                                         std::int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i));
        __m256i lo = _mm256_cvtepu16_epi32(_mm256_castsi256_si128(h));
        __m256i hi = _mm256_cvtepu16_epi32(_mm256_extracti128_si256(h, 1));
        __m256 f0 = _mm256_castsi256_ps(_mm256_slli_epi32(lo, 16));
        __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(hi, 16));
        s0 = _mm256_fmadd_ps(f0, _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(f1, _mm256_loadu_ps(x + i + 8), s1);
    }
    float t = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) t += model::bf16_to_f32(a[i]) * x[i];
    return t;
}

__attribute__((target("avx2,fma,f16c"))) float dot_f16_avx2(const std::uint16_t* a, const float* x,
                                                             std::int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 f0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
        __m256 f1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i + 8)));
        s0 = _mm256_fmadd_ps(f0, _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(f1, _mm256_loadu_ps(x + i + 8), s1);
    }
    float t = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) t += model::f16_to_f32(a[i]) * x[i];
    return t;
}

bool have_avx2() {
    static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                            __builtin_cpu_supports("f16c") && !std::getenv("GANDER_NO_AVX2");
    return yes;
}
#endif

using DotFn = float (*)(const std::byte*, const float*, std::int64_t);

DotFn dot_for(io::DType dtype) {
#ifdef GANDER_X86
    if (have_avx2()) {
        switch (dtype) {
        case io::DType::F32:
            return [](const std::byte* a, const float* x, std::int64_t n) {
                return dot_f32_avx2(reinterpret_cast<const float*>(a), x, n);
            };
        case io::DType::BF16:
            return [](const std::byte* a, const float* x, std::int64_t n) {
                return dot_bf16_avx2(reinterpret_cast<const std::uint16_t*>(a), x, n);
            };
        case io::DType::F16:
            return [](const std::byte* a, const float* x, std::int64_t n) {
                return dot_f16_avx2(reinterpret_cast<const std::uint16_t*>(a), x, n);
            };
        default: break;
        }
    }
#endif
    switch (dtype) {
    case io::DType::F32:
        return [](const std::byte* a, const float* x, std::int64_t n) {
            return dot_f32_plain(reinterpret_cast<const float*>(a), x, n);
        };
    case io::DType::BF16:
        return [](const std::byte* a, const float* x, std::int64_t n) {
            return dot_bf16_plain(reinterpret_cast<const std::uint16_t*>(a), x, n);
        };
    case io::DType::F16:
        return [](const std::byte* a, const float* x, std::int64_t n) {
            return dot_f16_plain(reinterpret_cast<const std::uint16_t*>(a), x, n);
        };
    default: throw Error("matvec: unsupported weight dtype");
    }
}

} // namespace

void matvec(const model::Tensor& W, const float* x, float* y, ThreadPool* pool) {
    if (W.quantized()) return matmul(W, x, y, 1, pool); // dequantise a row, then dot
    const std::int64_t out = W.rows(), in = W.cols();
    const std::size_t row_bytes = W.row_bytes();
    const DotFn dot = dot_for(W.dtype);
    auto body = [&](std::int64_t b, std::int64_t e) {
        for (std::int64_t o = b; o < e; ++o) y[o] = dot(W.data + std::size_t(o) * row_bytes, x, in);
    };
    // Waking threads costs microseconds: only split work of at least ~64K multiply-adds a part.
    if (pool) pool->parallel_for(out, std::max<std::int64_t>(1, 65536 / std::max<std::int64_t>(in, 1)), body);
    else body(0, out);
}

namespace {

// out[r][t] = dot(w[r], x[t]) for R weight rows and TT tokens at once: each weight vector loaded
// meets TT tokens and each token vector R rows, so the loop does R*TT multiply-adds per R+TT loads
// instead of one per two.
template <int R, int TT>
#ifdef GANDER_X86
__attribute__((target("avx2,fma")))
#endif
void dot_block(const float* const* w, const float* const* x, std::int64_t n, float (*out)[4]) {
    std::int64_t i = 0;
#ifdef GANDER_X86
    if (have_avx2()) {
        __m256 acc[R][TT];
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
        for (; i + 8 <= n; i += 8) {
            __m256 xv[TT];
            for (int t = 0; t < TT; ++t) xv[t] = _mm256_loadu_ps(x[t] + i);
            for (int r = 0; r < R; ++r) {
                const __m256 wv = _mm256_loadu_ps(w[r] + i);
                for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < TT; ++t) out[r][t] = hsum256(acc[r][t]);
    } else
#endif
    {
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < TT; ++t) out[r][t] = 0;
    }
    for (int r = 0; r < R; ++r)
        for (int t = 0; t < TT; ++t) {
            float s = 0;
            for (std::int64_t j = i; j < n; ++j) s += w[r][j] * x[t][j];
            out[r][t] += s;
        }
}

} // namespace

void matmul(const model::Tensor& W, const float* X, float* Y, int T, ThreadPool* pool) {
    const std::int64_t out = W.rows(), in = W.cols();
    auto body = [&](std::int64_t b, std::int64_t e) {
        // Four weight rows are converted to fp32 once and then meet every token of the chunk.
        std::vector<float> rows(static_cast<std::size_t>(4 * in));
        for (std::int64_t o = b; o < e; o += 4) {
            const int nr = int(std::min<std::int64_t>(4, e - o));
            const float* w[4];
            for (int r = 0; r < nr; ++r) {
                W.row_to_f32(o + r, rows.data() + r * in);
                w[r] = rows.data() + r * in;
            }
            float res[4][4];
            for (int t = 0; t < T;) {
                const int nt = std::min(3, T - t);
                const float* x[3];
                for (int j = 0; j < nt; ++j) x[j] = X + std::size_t(t + j) * in;
                if (nr == 4 && nt == 3) dot_block<4, 3>(w, x, in, res);
                else if (nr == 4 && nt == 2) dot_block<4, 2>(w, x, in, res);
                else if (nr == 4) dot_block<4, 1>(w, x, in, res);
                else
                    for (int r = 0; r < nr; ++r) {
                        const float* wr[1] = {w[r]};
                        for (int j = 0; j < nt; ++j) {
                            const float* xj[1] = {x[j]};
                            float one[4][4];
                            dot_block<1, 1>(wr, xj, in, one);
                            res[r][j] = one[0][0];
                        }
                    }
                for (int r = 0; r < nr; ++r)
                    for (int j = 0; j < nt; ++j) Y[std::size_t(t + j) * out + o + r] = res[r][j];
                t += nt;
            }
        }
    };
    // Waking threads costs microseconds: only split work of at least ~64K multiply-adds a part.
    const std::int64_t grain = std::max<std::int64_t>(4, 65536 / std::max<std::int64_t>(in * T, 1));
    if (pool) pool->parallel_for((out + 3) / 4, std::max<std::int64_t>(1, grain / 4),
                                 [&](std::int64_t b, std::int64_t e) { body(b * 4, std::min(out, e * 4)); });
    else body(0, out);
}

void wkv7_step(float* state, const float* r, const float* decay, const float* k, const float* v,
               const float* kk, const float* a, float* out, int H, int N) {
    std::vector<float> b(static_cast<std::size_t>(N));
    for (int h = 0; h < H; ++h) {
        const int o = h * N;
        float* S = state + std::size_t(h) * N * N;
        for (int j = 0; j < N; ++j) b[j] = kk[o + j] * a[o + j];
        for (int i = 0; i < N; ++i) {
            float* row = S + std::size_t(i) * N;
            float sa = 0; // (S @ -kk)[i], from the state before this step
            for (int j = 0; j < N; ++j) sa -= row[j] * kk[o + j];
            float y = 0;
            for (int j = 0; j < N; ++j) {
                row[j] = row[j] * decay[o + j] + sa * b[j] + v[o + i] * k[o + j];
                y += row[j] * r[o + j];
            }
            out[o + i] = y;
        }
    }
}

} // namespace gander::cpu
