// The WKV-7 scan (see wkv7.h).
#include "kernels/common.cuh"
#include "kernels/wkv7.h"

namespace gander::kernels {
namespace {

// Layout: one block per head, 4 threads per state row: thread (i, q) holds the 16 columns
// [16q, 16q + 16) of row i in registers; the two dot products of a step (S @ neg_kk, S @ r) are
// 16-term partial sums finished by two shuffles among the row's 4 lanes. The step's key-indexed
// vectors and v go through shared memory, double-buffered (one barrier per step); the first 64
// threads load the next step's values while this one computes. The scan is sequential in t, so
// what matters is the latency of one step: 4 threads per row cut each thread's shared-memory
// reads and dependent FMAs by 4 against one thread per row.
// Bytes per launch: state read and written once (2 x H x N x N x 4), six [T, H*N] fp32 inputs
// read once, y written once.
template <int N>
__global__ void __launch_bounds__(4 * N)
    wkv7_seq_kernel(float* state, const float* r, const float* decay, const float* k,
                    const float* v, const float* neg_kk, const float* kka, float* y, int T, int C) {
    constexpr int Q = N / 4; // columns per thread
    const int h = blockIdx.x, tid = threadIdx.x;
    const int i = tid >> 2, q = tid & 3;
    float* srow = state + (std::size_t(h) * N + i) * N + q * Q;
    float s[Q];
#pragma unroll
    for (int j = 0; j < Q; j += 4) {
        float4 f = *reinterpret_cast<const float4*>(srow + j);
        s[j] = f.x, s[j + 1] = f.y, s[j + 2] = f.z, s[j + 3] = f.w;
    }
    __shared__ __align__(16) float sh[2][6][N]; // r, decay, k, neg_kk, kka, v

    const bool loader = tid < N;
    const std::size_t col = std::size_t(h) * N + (tid & (N - 1));
    float nr = 0, nw = 0, nk = 0, na = 0, nb = 0, nv = 0;
    if (loader && T > 0)
        nr = r[col], nw = decay[col], nk = k[col], na = neg_kk[col], nb = kka[col], nv = v[col];
    for (int t = 0; t < T; ++t) {
        const int buf = t & 1;
        if (loader) {
            sh[buf][0][tid] = nr, sh[buf][1][tid] = nw, sh[buf][2][tid] = nk;
            sh[buf][3][tid] = na, sh[buf][4][tid] = nb, sh[buf][5][tid] = nv;
        }
        __syncthreads();
        if (loader && t + 1 < T) {
            const std::size_t o = std::size_t(t + 1) * C + col;
            nr = r[o], nw = decay[o], nk = k[o], na = neg_kk[o], nb = kka[o], nv = v[o];
        }
        const float* rr = sh[buf][0] + q * Q;
        const float* ww = sh[buf][1] + q * Q;
        const float* kk = sh[buf][2] + q * Q;
        const float* aa = sh[buf][3] + q * Q;
        const float* bb = sh[buf][4] + q * Q;
        const float vi = sh[buf][5][i];
        float sa0 = 0, sa1 = 0;
#pragma unroll
        for (int j = 0; j < Q; j += 2) {
            sa0 = fmaf(s[j], aa[j], sa0);
            sa1 = fmaf(s[j + 1], aa[j + 1], sa1);
        }
        float sa = sa0 + sa1;
        sa += __shfl_xor_sync(0xffffffffu, sa, 1);
        sa += __shfl_xor_sync(0xffffffffu, sa, 2);
        float y0 = 0, y1 = 0;
#pragma unroll
        for (int j = 0; j < Q; j += 2) {
            s[j] = fmaf(s[j], ww[j], fmaf(sa, bb[j], vi * kk[j]));
            s[j + 1] = fmaf(s[j + 1], ww[j + 1], fmaf(sa, bb[j + 1], vi * kk[j + 1]));
            y0 = fmaf(s[j], rr[j], y0);
            y1 = fmaf(s[j + 1], rr[j + 1], y1);
        }
        float yy = y0 + y1;
        yy += __shfl_xor_sync(0xffffffffu, yy, 1);
        yy += __shfl_xor_sync(0xffffffffu, yy, 2);
        if (q == 0) y[std::size_t(t) * C + std::size_t(h) * N + i] = yy;
        // No second barrier: the buffer written next step is the other one, and this one is
        // rewritten only after every thread has passed the next step's barrier.
    }
#pragma unroll
    for (int j = 0; j < Q; j += 4)
        *reinterpret_cast<float4*>(srow + j) = make_float4(s[j], s[j + 1], s[j + 2], s[j + 3]);
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
__global__ void __launch_bounds__(64) wkv7_step_kernel(Wkv7Step p) {
    constexpr int N = 64;
    const int h = blockIdx.x, i = threadIdx.x, c = h * N + i;
    __shared__ float buf[2];
    __shared__ __align__(16) float sh[5][N];
    // Every global load is issued here, before the first barrier (loads do not move across
    // barriers, and each would otherwise be a round trip of its own).
    const float k = p.k[c], r = p.r[c], k_k = p.k_k[c], a0 = p.a0[c], a_lora = p.a_lora[c],
                k_a = p.k_a[c], w0 = p.w0[c], w_lora = p.w_lora[c], v_in = p.v[c], r_k = p.r_k[c],
                ln_w = p.ln_w[c], ln_b = p.ln_b[c], g = p.g[c];
    const float vf = p.first_layer ? 0.0f : p.v_first[c];
    const float v0 = p.first_layer ? 0.0f : p.v0[c];
    const float v_lora = p.first_layer ? 0.0f : p.v_lora[c];
    float* srow = p.state + (std::size_t(h) * N + i) * N;
    float s[N];
#pragma unroll
    for (int j = 0; j < N; j += 4) {
        float4 q = *reinterpret_cast<const float4*>(srow + j);
        s[j] = q.x, s[j + 1] = q.y, s[j + 2] = q.z, s[j + 3] = q.w;
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
#pragma unroll
    for (int j = 0; j < N; j += 4)
        *reinterpret_cast<float4*>(srow + j) = make_float4(s[j], s[j + 1], s[j + 2], s[j + 3]);
    const float mean = sum64(y, buf) / float(N);
    const float d = y - mean;
    const float rstd = rsqrtf(sum64(d * d, buf) / float(N) + p.eps);
    const float bonus = sum64(r * kp * r_k, buf);
    const float o = (d * rstd * ln_w + ln_b + bonus * v) * g;
    p.out[c] = detail::to_half_sat(o);
}

} // namespace

cudaError_t wkv7_step(const Wkv7Step& p, int H, int N, cudaStream_t stream) {
    if (N != 64 || H < 1) return cudaErrorInvalidValue;
    wkv7_step_kernel<<<H, 64, 0, stream>>>(p);
    return cudaGetLastError();
}

cudaError_t wkv7_seq(float* state, const float* r, const float* decay, const float* k,
                     const float* v, const float* neg_kk, const float* kka, float* y, int T, int H,
                     int N, cudaStream_t stream) {
    if (N != 64 || H < 1 || T < 0) return cudaErrorInvalidValue;
    if (T == 0) return cudaSuccess;
    wkv7_seq_kernel<64><<<H, 4 * 64, 0, stream>>>(state, r, decay, k, v, neg_kk, kka, y, T, H * N);
    return cudaGetLastError();
}

} // namespace gander::kernels
