// The WKV-7 scan (see wkv7.h).
#include "kernels/common.cuh"
#include "kernels/env.h"
#include "kernels/wkv7.h"

namespace gander::kernels {
namespace {

// Layout: G blocks per head, each with N / G of the head's state rows (rows are independent: only
// the per-token vectors, which every block reads, couple them); R threads per row, and each thread
// holds RPT rows (rows i, i + N / G / RPT, ...): thread (i, q) keeps the N/R columns
// [q N/R, (q + 1) N/R) of its rows in registers, and the per-token vectors it reads from shared
// memory serve all its rows (shared-memory reads, not arithmetic, bound a step: 5 x N floats per
// row and step with RPT = 1). With R > 1 the two dot products of a step (S @ neg_kk, S @ r) are
// partial sums finished by shuffles among the row's R lanes.
// The inputs go through shared memory in blocks of kSteps tokens, double-buffered: while the
// block computes steps [t, t + kSteps) from one buffer, every thread holds its share of the next
// kSteps tokens' loads in registers, so the global-memory latency (about a microsecond, longer
// than a step) is paid once per kSteps steps and hidden behind them; there is one barrier per
// kSteps steps and none inside. Each part of a shared vector is padded by 4 floats so that the R
// addresses a warp reads at once fall in different banks.
// Bytes per launch: state read and written once (2 x H x N x N x 4), six [T, H*N] fp32 inputs
// read G times (mostly from L2), y written once.
constexpr int kSteps = 8;

template <int N, int R, int RPT, int G>
__global__ void __launch_bounds__(R * N / G / RPT)
    wkv7_seq_kernel(float* state, const float* r, const float* decay, const float* k,
                    const float* v, const float* neg_kk, const float* kka, float* y, int T, int C) {
    constexpr int Q = N / R;              // columns per thread
    constexpr int P = R == 1 ? Q : Q + 4; // padded part
    constexpr int L = R * P;              // padded vector
    constexpr int NR = N / G;             // rows of this block
    constexpr int RS = NR / RPT;          // distance between a thread's rows
    constexpr int kThreads = R * RS;
    constexpr int kLoads = 6 * kSteps * N / 4 / kThreads; // float4s each thread carries per block
    static_assert(N % (R * 4) == 0 && NR % RPT == 0 && (6 * kSteps * N / 4) % kThreads == 0);
    const int h = blockIdx.x, tid = threadIdx.x;
    const int i0 = int(blockIdx.y) * NR + tid / R, q = tid % R;
    float s[RPT][Q];
#pragma unroll
    for (int m = 0; m < RPT; ++m) {
        const float* srow = state + (std::size_t(h) * N + i0 + m * RS) * N + q * Q;
#pragma unroll
        for (int j = 0; j < Q; j += 4) {
            float4 f = *reinterpret_cast<const float4*>(srow + j);
            s[m][j] = f.x, s[m][j + 1] = f.y, s[m][j + 2] = f.z, s[m][j + 3] = f.w;
        }
    }
    // [buffer][step][r, decay, k, neg_kk, kka, v][padded element]
    __shared__ __align__(16) float sh[2][kSteps][6][L];

    // float4 m of this thread in a block: flat f = tid + kThreads * m -> (array, step, element).
    auto load_block = [&](int t0, float4(&regs)[kLoads]) {
#pragma unroll
        for (int m = 0; m < kLoads; ++m) {
            const int f = (tid + kThreads * m) * 4;
            const int a = f / (kSteps * N), st = (f / N) % kSteps, e = f % N;
            const int t = t0 + st;
            // (a select chain, not an array of pointers: a dynamic index would go to the stack)
            const float* src = a == 0   ? r
                               : a == 1 ? decay
                               : a == 2 ? k
                               : a == 3 ? neg_kk
                               : a == 4 ? kka
                                        : v;
            regs[m] = t < T ? *reinterpret_cast<const float4*>(
                                  src + std::size_t(t) * C + std::size_t(h) * N + e)
                            : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        }
    };
    auto store_block = [&](int buf, const float4(&regs)[kLoads]) {
#pragma unroll
        for (int m = 0; m < kLoads; ++m) {
            const int f = (tid + kThreads * m) * 4;
            const int a = f / (kSteps * N), st = (f / N) % kSteps, e = f % N;
            *reinterpret_cast<float4*>(&sh[buf][st][a][(e / Q) * P + e % Q]) = regs[m];
        }
    };
    float4 regs[kLoads];
    load_block(0, regs);
    store_block(0, regs);
    __syncthreads();
    int vslot[RPT];
#pragma unroll
    for (int m = 0; m < RPT; ++m) {
        const int i = i0 + m * RS;
        vslot[m] = (i / Q) * P + i % Q;
    }
    for (int t0 = 0; t0 < T; t0 += kSteps) {
        const int buf = (t0 / kSteps) & 1;
        const bool more = t0 + kSteps < T;
        if (more) load_block(t0 + kSteps, regs); // in flight during the steps below
        const int steps = min(kSteps, T - t0);
        for (int st = 0; st < steps; ++st) {
            const float* rr = sh[buf][st][0] + q * P;
            const float* ww = sh[buf][st][1] + q * P;
            const float* kk = sh[buf][st][2] + q * P;
            const float* aa = sh[buf][st][3] + q * P;
            const float* bb = sh[buf][st][4] + q * P;
            float sa[RPT][4], vi[RPT];
#pragma unroll
            for (int m = 0; m < RPT; ++m) {
                vi[m] = sh[buf][st][5][vslot[m]];
                sa[m][0] = sa[m][1] = sa[m][2] = sa[m][3] = 0.0f;
            }
#pragma unroll
            for (int j = 0; j < Q; j += 4)
#pragma unroll
                for (int u = 0; u < 4; ++u) {
                    const float a_ = aa[j + u];
#pragma unroll
                    for (int m = 0; m < RPT; ++m) sa[m][u] = fmaf(s[m][j + u], a_, sa[m][u]);
                }
            float sum[RPT];
#pragma unroll
            for (int m = 0; m < RPT; ++m) {
                sum[m] = (sa[m][0] + sa[m][1]) + (sa[m][2] + sa[m][3]);
#pragma unroll
                for (int o = 1; o < R; o <<= 1) sum[m] += __shfl_xor_sync(0xffffffffu, sum[m], o);
                sa[m][0] = sa[m][1] = sa[m][2] = sa[m][3] = 0.0f; // now the y partial sums
            }
#pragma unroll
            for (int j = 0; j < Q; j += 4)
#pragma unroll
                for (int u = 0; u < 4; ++u) {
                    const float w_ = ww[j + u], b_ = bb[j + u], k_ = kk[j + u], r_ = rr[j + u];
#pragma unroll
                    for (int m = 0; m < RPT; ++m) {
                        s[m][j + u] = fmaf(s[m][j + u], w_, fmaf(sum[m], b_, vi[m] * k_));
                        sa[m][u] = fmaf(s[m][j + u], r_, sa[m][u]);
                    }
                }
#pragma unroll
            for (int m = 0; m < RPT; ++m) {
                float yy = (sa[m][0] + sa[m][1]) + (sa[m][2] + sa[m][3]);
#pragma unroll
                for (int o = 1; o < R; o <<= 1) yy += __shfl_xor_sync(0xffffffffu, yy, o);
                if (q == 0) y[std::size_t(t0 + st) * C + std::size_t(h) * N + i0 + m * RS] = yy;
            }
        }
        // The other buffer was last read in the previous block, before the previous barrier.
        if (more) store_block(buf ^ 1, regs);
        __syncthreads();
    }
#pragma unroll
    for (int m = 0; m < RPT; ++m) {
        float* srow = state + (std::size_t(h) * N + i0 + m * RS) * N + q * Q;
#pragma unroll
        for (int j = 0; j < Q; j += 4)
            *reinterpret_cast<float4*>(srow + j) =
                make_float4(s[m][j], s[m][j + 1], s[m][j + 2], s[m][j + 3]);
    }
}

// Sum over the 64 threads of a block (two warps); every thread gets it.
__device__ __forceinline__ float sum64(float v, float* buf) {
    v = detail::warp_sum(v);
    if ((threadIdx.x & 31) == 0) buf[threadIdx.x >> 5] = v;
    __syncthreads();
    const float r = buf[0] + buf[1];
    __syncthreads();
    return r;
}

// Layout: one block per head, 64 threads; thread i owns element i of the head's vectors and row i
// of its state (in registers, loaded first so that its latency hides behind the element-wise
// work). Reductions over the head (key norm, GroupNorm statistics, bonus) go through shared
// memory. Bytes per launch: the state read and written once (2 x H x 16 KB), eight [C] fp32
// inputs and the [C] parameters read once, C halves written.
// kPrefetch (the default since the eighteenth session; GANDER_WKV_PREFETCH=0 to compare): before
// its wait the block asks L2 for its head's state and parameters (by then far out of L2, behind a
// step's weights), so that the loads after the wait find them there (5.5 against 5.9 us of a
// decoding layer's chain, H200). A hint: it holds no registers and cannot change what is read.
template <bool kStaged, bool kPrefetch = false>
__global__ void __launch_bounds__(64) wkv7_step_kernel(Wkv7Step p) {
    GANDER_TRACE_BLOCK(Wkv7Step);
    constexpr int N = 64;
    // Row blockIdx.y of a batch: its own state and its own [C] vectors (row stride gridDim.x * N).
    const int h = blockIdx.x, i = threadIdx.x;
    const int c = int(blockIdx.y) * int(gridDim.x) * N + h * N + i; // index into the [rows, C] vectors
    const int pc = h * N + i;                                        // into the [C] parameters
    float* const state = p.states ? p.states[blockIdx.y] + p.state_offset : p.state;
    if constexpr (kPrefetch) {
        // The head's 16 KB of state, two 128-byte lines a thread; its eight parameters' 256
        // bytes, a line each for threads 0-15.
        const auto* st = reinterpret_cast<const char*>(state + std::size_t(h) * N * N) + i * 256;
        asm volatile("prefetch.global.L2 [%0];" ::"l"(st));
        asm volatile("prefetch.global.L2 [%0];" ::"l"(st + 128));
        const int j = i / 2;
        const float* const q = j == 0   ? p.k_k
                               : j == 1 ? p.a0
                               : j == 2 ? p.k_a
                               : j == 3 ? p.w0
                               : j == 4 ? p.r_k
                               : j == 5 ? p.ln_w
                               : j == 6 ? p.ln_b
                                        : (p.first_layer ? p.k_k : p.v0);
        if (i < 16) asm volatile("prefetch.global.L2 [%0];" ::"l"(q + h * N + 32 * (i % 2)));
    }
    detail::grid_dep_begin(); // launched with launch_pdl (common.cuh)
    __shared__ float buf[2];
    __shared__ __align__(16) float sh[5][N];
    // Every global load is issued here, before the first barrier (loads do not move across
    // barriers, and each would otherwise be a round trip of its own).
    const float k = p.k[c], r = p.r[c], k_k = p.k_k[pc], a0 = p.a0[pc], a_lora = p.a_lora[c],
                k_a = p.k_a[pc], w0 = p.w0[pc], w_lora = p.w_lora[c], v_in = p.v[c],
                r_k = p.r_k[pc], ln_w = p.ln_w[pc], ln_b = p.ln_b[pc], g = p.g[c];
    const float vf = p.first_layer ? 0.0f : p.v_first[c];
    const float v0 = p.first_layer ? 0.0f : p.v0[pc];
    const float v_lora = p.first_layer ? 0.0f : p.v_lora[c];
    float* srow = state + (std::size_t(h) * N + i) * N;
    float s[N];
    // kStaged: the head's state goes through shared memory so that every global access is a
    // whole 1 KB run of the block (thread i's own row is 256 B apart from its neighbours').
    __shared__ float st_sh[kStaged ? N : 1][kStaged ? N + 1 : 1];
    if constexpr (kStaged) {
        const float4* src = reinterpret_cast<const float4*>(state + std::size_t(h) * N * N);
        float4 f[N / 4];
#pragma unroll
        for (int m = 0; m < N / 4; ++m) f[m] = src[m * N + i];
#pragma unroll
        for (int m = 0; m < N / 4; ++m) {
            const int e = (m * N + i) * 4, row = e / N, col = e % N;
            st_sh[row][col] = f[m].x, st_sh[row][col + 1] = f[m].y;
            st_sh[row][col + 2] = f[m].z, st_sh[row][col + 3] = f[m].w;
        }
    } else {
#pragma unroll
        for (int j = 0; j < N; j += 4) {
            float4 q = *reinterpret_cast<const float4*>(srow + j);
            s[j] = q.x, s[j + 1] = q.y, s[j + 2] = q.z, s[j + 3] = q.w;
        }
    }
    const float kraw = k * k_k;
    const float kk = kraw / fmaxf(sqrtf(sum64(kraw * kraw, buf)), 1e-12f);
    const float a = detail::sigmoidf_(a0 + a_lora);
    const float kp = k * (1.0f + (a - 1.0f) * k_a);
    const float decay = expf(-0.606531f * detail::sigmoidf_(w0 + w_lora));
    float v = v_in;
    if (p.first_layer)
        p.v_first[c] = v;
    else
        v = v + (vf - v) * detail::sigmoidf_(v0 + v_lora);
    sh[0][i] = r, sh[1][i] = decay, sh[2][i] = kp, sh[3][i] = -kk, sh[4][i] = kk * a;
    __syncthreads();
    if constexpr (kStaged) {
#pragma unroll
        for (int j = 0; j < N; ++j) s[j] = st_sh[i][j];
    }
    float sa0 = 0, sa1 = 0, sa2 = 0, sa3 = 0;
#pragma unroll
    for (int j = 0; j < N; j += 4) {
        sa0 = fmaf(s[j], sh[3][j], sa0);
        sa1 = fmaf(s[j + 1], sh[3][j + 1], sa1);
        sa2 = fmaf(s[j + 2], sh[3][j + 2], sa2);
        sa3 = fmaf(s[j + 3], sh[3][j + 3], sa3);
    }
    const float sa = (sa0 + sa1) + (sa2 + sa3);
    float y0 = 0, y1 = 0, y2 = 0, y3 = 0;
#pragma unroll
    for (int j = 0; j < N; j += 4) {
#pragma unroll
        for (int u = 0; u < 4; ++u)
            s[j + u] = fmaf(s[j + u], sh[1][j + u], fmaf(sa, sh[4][j + u], v * sh[2][j + u]));
        y0 = fmaf(s[j], sh[0][j], y0);
        y1 = fmaf(s[j + 1], sh[0][j + 1], y1);
        y2 = fmaf(s[j + 2], sh[0][j + 2], y2);
        y3 = fmaf(s[j + 3], sh[0][j + 3], y3);
    }
    const float y = (y0 + y1) + (y2 + y3);
    if constexpr (kStaged) {
#pragma unroll
        for (int j = 0; j < N; ++j) st_sh[i][j] = s[j]; // each thread its own row
        __syncthreads();
        float4* dst = reinterpret_cast<float4*>(state + std::size_t(h) * N * N);
#pragma unroll
        for (int m = 0; m < N / 4; ++m) {
            const int e = (m * N + i) * 4, row = e / N, col = e % N;
            dst[m * N + i] = make_float4(st_sh[row][col], st_sh[row][col + 1], st_sh[row][col + 2],
                                         st_sh[row][col + 3]);
        }
    } else {
#pragma unroll
        for (int j = 0; j < N; j += 4)
            *reinterpret_cast<float4*>(srow + j) = make_float4(s[j], s[j + 1], s[j + 2], s[j + 3]);
    }
    const float mean = sum64(y, buf) / float(N);
    const float d = y - mean;
    const float rstd = rsqrtf(sum64(d * d, buf) / float(N) + p.eps);
    const float bonus = sum64(r * kp * r_k, buf);
    const float o = (d * rstd * ln_w + ln_b + bonus * v) * g;
    p.out[c] = detail::to_half_sat(o);
}

} // namespace

cudaError_t wkv7_step(const Wkv7Step& p, int H, int N, cudaStream_t stream, int rows) {
    if (N != 64 || H < 1 || rows < 1 || (rows > 1 && !p.states)) return cudaErrorInvalidValue;
    // The state goes through shared memory (H100, int4 decode: 344.9 against 322.3 tok/s with
    // each thread loading its own row); GANDER_WKV_STEP=rows keeps the direct loads, to measure.
    static const bool staged = !detail::env_is("GANDER_WKV_STEP", "rows");
    static const bool prefetch = !detail::env_is("GANDER_WKV_PREFETCH", "0");
    return detail::launch_pdl(staged
                                  ? prefetch ? wkv7_step_kernel<true, true> : wkv7_step_kernel<true>
                                  : wkv7_step_kernel<false>,
                              dim3(unsigned(H), unsigned(rows)), dim3(64), 0, stream, p);
}

namespace {
template <int R, int RPT, int G>
void launch_seq(float* state, const float* r, const float* decay, const float* k, const float* v,
                const float* neg_kk, const float* kka, float* y, int T, int H, cudaStream_t stream) {
    wkv7_seq_kernel<64, R, RPT, G><<<dim3(unsigned(H), G), R * 64 / G / RPT, 0, stream>>>(
        state, r, decay, k, v, neg_kk, kka, y, T, H * 64);
}

// The built layouts (threads per row R, rows per thread RPT, blocks per head G).
constexpr int kSeqVariants[][3] = {{4, 1, 1}, {4, 1, 2}, {8, 1, 2}, {8, 2, 2},
                                   {8, 2, 4}, {16, 2, 2}, {8, 4, 2}, {16, 2, 4}};
constexpr int kSeqDefault = 3; // H100: 25,510 tok/s fp16 prefill at T = 4,096 against 22,833 (variant 0)

int seq_variant_from_env() {
    static const int v = [] {
        const int n = detail::env_int("GANDER_WKV_SEQ", -1);
        return n >= 0 && n < wkv7_seq_variants() ? n : kSeqDefault;
    }();
    return v;
}
} // namespace

int wkv7_seq_variants() {
    return int(sizeof(kSeqVariants) / sizeof(kSeqVariants[0]));
}

cudaError_t wkv7_seq(float* state, const float* r, const float* decay, const float* k,
                     const float* v, const float* neg_kk, const float* kka, float* y, int T, int H,
                     int N, cudaStream_t stream, int variant) {
    if (N != 64 || H < 1 || T < 0 || variant >= wkv7_seq_variants()) return cudaErrorInvalidValue;
    if (T == 0) return cudaSuccess;
    switch (variant < 0 ? seq_variant_from_env() : variant) {
    case 0: launch_seq<4, 1, 1>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    case 1: launch_seq<4, 1, 2>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    case 2: launch_seq<8, 1, 2>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    case 3: launch_seq<8, 2, 2>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    case 4: launch_seq<8, 2, 4>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    case 5: launch_seq<16, 2, 2>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    case 6: launch_seq<8, 4, 2>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    default: launch_seq<16, 2, 4>(state, r, decay, k, v, neg_kk, kka, y, T, H, stream); break;
    }
    return cudaGetLastError();
}

} // namespace gander::kernels
