// Tensor-core matrix-vector products (see gemv_tc.h).
//
// Layout: one block of 8 warps per tile of 16 rows; the warps split the columns in 8 slices and
// their partial sums meet in shared memory. In a warp, lane (g = lane / 4, t = lane % 4) loads rows
// g and g + 8 of the tile; per "step" the 4 lanes of a group cover 4 x VALS consecutive columns
// (int8: 64 columns, 16 bytes a lane; int4: 128 columns = two scale groups, 16 bytes a lane, the
// halves swapped between lanes so that each mma stays in one group; fp16: 32 columns, 16 bytes a
// lane), and U steps are loaded before the first is used. The mma's k index is
// free to stand for any column as long as A (weights) and B (x) agree, so each lane feeds the
// columns it loaded: no shuffles, and B's 8 columns all hold x (the outputs are equal; column 0 is
// read). x is copied to shared memory by the warp that reads it (its slice only).
// Bytes per launch: every weight byte (and int4/int8 scale) once, x once per block from L2, outputs.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/env.h"
#include "kernels/gemv_tc.h"

namespace gander::kernels {
namespace {

using detail::bits_h2;
using detail::grid_dep_launch;
using detail::grid_dep_wait;
using detail::h2_bits;
using detail::i4x8_to_h2;
using detail::mma16816;

constexpr int kWarps = 8;

struct Params {
    TcJob jobs[kMaxGemvJobs];
    int tile_start[kMaxGemvJobs + 1]; // prefix sums of the jobs' blocks
    int n_jobs;
    int tokens; // tokens per job (kMulti kernels)
    int groups; // groups of 8 tokens: each block of rows comes `groups` times, side by side
};

constexpr int kTok = 8; // tokens an mma takes (its n)

// Shared-memory row of one token's x in the multi-token kernels, in uint4 (8 halves): the width
// padded so that the 8 lanes of a 16-byte access phase (g = 0, 1; t = 0..3) hit distinct banks:
// fp16 lanes read uint4 t of their row (stride = 4 mod 8), int8 / int4 lanes uint4 2t and 2t + 1
// (stride = 1 mod 8).
__host__ __device__ constexpr int x_stride(WeightKind k, int cols) {
    return (cols / 8 + 7) / 8 * 8 + (k == WeightKind::F16 ? 4 : 1);
}

template <WeightKind K> struct Traits;
template <> struct Traits<WeightKind::F16> {
    static constexpr int kVals = 8, kSteps = 4; // columns per lane-load, loads in flight per row
    using Load = uint4;
};
template <> struct Traits<WeightKind::Int8Row> {
    static constexpr int kVals = 16, kSteps = 4;
    using Load = uint4;
};
template <> struct Traits<WeightKind::Int4G64> {
    static constexpr int kVals = 32, kSteps = 4; // two scale groups per step, see tile()
    using Load = uint4;
};

// Four int8 in a word -> two fp16 pairs (bytes 0,1 and 2,3), exact: 0x64xx is 1024 + xx as fp16,
// and the byte is offset by 128 first (xor) so that 1024 + 128 + q comes out; subtract 1152.
__device__ __forceinline__ void i8x4_to_h2(std::uint32_t w, std::uint32_t& lo, std::uint32_t& hi) {
    const std::uint32_t u = w ^ 0x80808080u;
    const __half2 bias = __half2half2(__ushort_as_half(0x6480)); // 1152
    lo = h2_bits(__hsub2(bits_h2(__byte_perm(u, 0x64646464u, 0x4140)), bias));
    hi = h2_bits(__hsub2(bits_h2(__byte_perm(u, 0x64646464u, 0x4342)), bias));
}

// Weight loads: marked streaming (evict first from L2) for one token; for several, the blocks of
// the other token groups read the same rows right after and must find them in L2.
template <bool kKeep, typename T> __device__ __forceinline__ T ld_w(const T* p) {
    if constexpr (kKeep)
        return __ldg(p);
    else
        return __ldcs(p);
}

// The first byte of a lane's load of `row` at `col` (load_w).
template <WeightKind K>
__device__ __forceinline__ const std::uint8_t* w_at(const TcJob& job, int row, int col) {
    const auto* W = static_cast<const std::uint8_t*>(job.W);
    if constexpr (K == WeightKind::F16)
        return W + (std::size_t(row) * job.cols + col) * sizeof(__half);
    else if constexpr (K == WeightKind::Int8Row)
        return W + std::size_t(row) * job.cols + col;
    else
        return W + std::size_t(row) * (job.cols / 2) + col / 2;
}

template <WeightKind K, bool kKeep>
__device__ __forceinline__ typename Traits<K>::Load load_w(const TcJob& job, int row, int col) {
    if constexpr (K != WeightKind::Int4G64) {
        return ld_w<kKeep>(reinterpret_cast<const uint4*>(w_at<K>(job, row, col)));
    } else {
        // `col` is the step's first column plus 16 t: lane t takes 16 columns of each of the
        // step's two scale groups (8 bytes at col / 2 and 8 at col / 2 + 32), so that the four
        // lanes of an mma hold one group and no lane swaps halves with another.
        const std::uint8_t* p = w_at<K>(job, row, col);
        const uint2 lo = ld_w<kKeep>(reinterpret_cast<const uint2*>(p));
        const uint2 hi = ld_w<kKeep>(reinterpret_cast<const uint2*>(p + 32));
        return make_uint4(lo.x, lo.y, hi.x, hi.y);
    }
}

__host__ __device__ constexpr int span_of(WeightKind k) {
    return k == WeightKind::F16 ? 32 : k == WeightKind::Int8Row ? 64 : 128;
}

// The weights of steps s .. s + n - 1 (n <= kSteps) for rows r0 and r1 of this lane (group index
// t), and int4's two scale groups of each step, into registers.
template <WeightKind K, bool kKeep>
__device__ __forceinline__ void load_steps(const TcJob& job, int r0, int r1, int t, int s, int n,
                                           typename Traits<K>::Load (&wa)[Traits<K>::kSteps],
                                           typename Traits<K>::Load (&wb)[Traits<K>::kSteps],
                                           __half2 (&sa)[Traits<K>::kSteps],
                                           __half2 (&sb)[Traits<K>::kSteps]) {
    constexpr int kSpan = 4 * Traits<K>::kVals;
    const int groups = job.cols / 64; // int4 scales per row
#pragma unroll
    for (int u = 0; u < Traits<K>::kSteps; ++u) {
        if (u < n) {
            const int col =
                (s + u) * kSpan + t * (K == WeightKind::Int4G64 ? 16 : Traits<K>::kVals);
            wa[u] = load_w<K, kKeep>(job, r0, col);
            wb[u] = load_w<K, kKeep>(job, r1, col);
            if constexpr (K == WeightKind::Int4G64) {
                sa[u] = *reinterpret_cast<const __half2*>(job.scales + std::size_t(r0) * groups +
                                                          2 * (s + u));
                sb[u] = *reinterpret_cast<const __half2*>(job.scales + std::size_t(r1) * groups +
                                                          2 * (s + u));
            }
        }
    }
}

// Asks L2 for the weights of steps [s0, s1) of rows r0 and r1 of this lane (what load_steps would
// read; int4's scales are left to the loads), holding no registers.
template <WeightKind K>
__device__ __forceinline__ void prefetch_steps(const TcJob& job, int r0, int r1, int t, int s0,
                                               int s1) {
    constexpr int kSpan = 4 * Traits<K>::kVals;
    for (int s = s0; s < s1; ++s) {
        const int col = s * kSpan + t * (K == WeightKind::Int4G64 ? 16 : Traits<K>::kVals);
        asm volatile("prefetch.global.L2 [%0];" ::"l"(w_at<K>(job, r0, col)));
        asm volatile("prefetch.global.L2 [%0];" ::"l"(w_at<K>(job, r1, col)));
    }
}

// Eight values of x from column c, as the kernels keep them in shared memory: int4 in the nibbles'
// pair order, x0..x7 -> (x0,x4) (x1,x5) (x2,x6) (x3,x7); the others as they are.
template <WeightKind K> __device__ __forceinline__ uint4 x_for(const __half* x, int c) {
    uint4 v = __ldg(reinterpret_cast<const uint4*>(x + c));
    if constexpr (K == WeightKind::Int4G64)
        v = make_uint4(__byte_perm(v.x, v.z, 0x5410), __byte_perm(v.x, v.z, 0x7632),
                       __byte_perm(v.y, v.w, 0x5410), __byte_perm(v.y, v.w, 0x7632));
    return v;
}

// One step of a lane: its weights of rows r0 (wa) and r1 (wb) for the step starting at column
// `step_col` of the staged x (int4: sa, sb the step's two group scales), times G groups of 8
// tokens, group q's x rows at xq + q * q_stride (uint4; lane group g's token first). Sums into
// acc[q] (the mma's c0..c3: rows g, g + 8 x columns 2t, 2t + 1; int8 sums still unscaled). Each
// weight is dequantised once for all G groups. kAll: every column is a token (else only column 0
// is read, and int4 skips the other columns' scaling).
template <WeightKind K, int G, bool kAll, bool kLop3 = false, bool kZeroC = false>
__device__ __forceinline__ void
step_mma(const typename Traits<K>::Load& wa, const typename Traits<K>::Load& wb, __half2 sa,
         __half2 sb, const uint4* xq, int q_stride, int step_col, int t, float (&acc)[G][4]) {
    if constexpr (K == WeightKind::F16) {
        const int c8 = (step_col + t * Traits<K>::kVals) / 8;
#pragma unroll
        for (int q = 0; q < G; ++q) {
            const uint4 x = xq[q * q_stride + c8];
            mma16816(acc[q], wa.x, wb.x, wa.y, wb.y, x.x, x.y);
            mma16816(acc[q], wa.z, wb.z, wa.w, wb.w, x.z, x.w);
        }
    } else if constexpr (K == WeightKind::Int8Row) {
        const int c8 = (step_col + t * Traits<K>::kVals) / 8;
        const std::uint32_t wra[4] = {wa.x, wa.y, wa.z, wa.w};
        const std::uint32_t wrb[4] = {wb.x, wb.y, wb.z, wb.w};
        std::uint32_t alo[4], ahi[4], blo[4], bhi[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            i8x4_to_h2(wra[k], alo[k], ahi[k]);
            i8x4_to_h2(wrb[k], blo[k], bhi[k]);
        }
#pragma unroll
        for (int q = 0; q < G; ++q) {
            const uint4 x01 = xq[q * q_stride + c8], x23 = xq[q * q_stride + c8 + 1];
            const std::uint32_t xa[8] = {x01.x, x01.y, x01.z, x01.w, x23.x, x23.y, x23.z, x23.w};
#pragma unroll
            for (int k = 0; k < 4; ++k)
                mma16816(acc[q], alo[k], blo[k], ahi[k], bhi[k], xa[2 * k], xa[2 * k + 1]);
        }
    } else {
        // Lane t holds columns 16t..16t+15 of each group (load_w): words .x, .y of group 0 and
        // .z, .w of group 1, for rows r0 (wa) and r1 (wb). x sits in shared memory in the
        // nibbles' pair order (x_for), one uint4 a word.
        const std::uint32_t ga[2][2] = {{wa.x, wa.y}, {wa.z, wa.w}};
        const std::uint32_t gb[2][2] = {{wb.x, wb.y}, {wb.z, wb.w}};
        const float2 fa = __half22float2(sa), fb = __half22float2(sb);
#pragma unroll
        for (int grp = 0; grp < 2; ++grp) {
            float e[G][4];
            if constexpr (!kZeroC) { // kZeroC: the group's first product starts the sums
#pragma unroll
                for (int q = 0; q < G; ++q) e[q][0] = e[q][1] = e[q][2] = e[q][3] = 0.0f;
            }
            const int c8 = (step_col + 64 * grp + 16 * t) / 8;
#pragma unroll
            for (int j = 0; j < 2; ++j) {
                std::uint32_t pa[4], pb[4];
                i4x8_to_h2<kLop3>(ga[grp][j], pa);
                i4x8_to_h2<kLop3>(gb[grp][j], pb);
#pragma unroll
                for (int q = 0; q < G; ++q) {
                    const uint4 x = xq[q * q_stride + c8 + j]; // (x0,x4) (x1,x5) (x2,x6) (x3,x7)
                    if (kZeroC && j == 0)
                        mma16816<true>(e[q], pa[0], pb[0], pa[1], pb[1], x.x, x.y);
                    else
                        mma16816(e[q], pa[0], pb[0], pa[1], pb[1], x.x, x.y);
                    mma16816(e[q], pa[2], pb[2], pa[3], pb[3], x.z, x.w);
                }
            }
            const float ra = grp ? fa.y : fa.x, rb = grp ? fb.y : fb.x;
#pragma unroll
            for (int q = 0; q < G; ++q) {
                acc[q][0] = fmaf(e[q][0], ra, acc[q][0]);
                acc[q][2] = fmaf(e[q][2], rb, acc[q][2]);
                if constexpr (kAll) {
                    acc[q][1] = fmaf(e[q][1], ra, acc[q][1]);
                    acc[q][3] = fmaf(e[q][3], rb, acc[q][3]);
                }
            }
        }
    }
}

// Warps that share one tile's columns: 8 when a row has at least 8 steps; else 1, and each warp
// of the block takes its own tile (short rows, as the LoRA products: no warp idles).
__host__ __device__ constexpr int k_slices(const TcJob& job) {
    return job.cols / span_of(job.kind) >= kWarps ? kWarps : 1;
}
__host__ __device__ constexpr int blocks_of(const TcJob& job) {
    const int per_block = kWarps / k_slices(job);
    return (job.rows / 16 + per_block - 1) / per_block;
}

__device__ __forceinline__ float act(float v, GemvIn in) {
    if (in == GemvIn::Tanh) return tanhf(v);
    if (in == GemvIn::Sigmoid) return detail::sigmoidf_(v);
    return v;
}

// x[c0, c1) with tanh or sigmoid applied (in fp32, kept as fp16) into xs. Not inlined: its
// registers would otherwise add to those of the weight loads in flight (80 -> 93, a third fewer
// resident blocks).
__device__ __noinline__ void stage_activated(const __half* x, uint4* xs, int c0, int c1, int stride,
                                             GemvIn in) {
    for (int c = c0; c < c1; c += stride) {
        uint4 v = __ldg(reinterpret_cast<const uint4*>(x + c));
        __half2* h = reinterpret_cast<__half2*>(&v);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const float2 f = __half22float2(h[i]);
            h[i] = __floats2half2_rn(act(f.x, in), act(f.y, in));
        }
        xs[c / 8] = v;
    }
}

// One block of `job` (block `blk` of the job): one tile of 16 rows split over the 8 warps' column
// slices, or 8 tiles of a warp each (k_slices); see the file comment.
// kLong: every job of the launch has Plain input and at least 8 steps a row (the model's large
// matrices); the general variant (short rows, activations) costs the long rows 10-20 % of their
// bandwidth when they go through it (H100 kernel bench), so they get their own kernel.
// kMulti: tokens tok0 .. tok0 + n_tok - 1 (at most 8), one per column of the mma's B (lane group
// g reads token g's x); x of 8 tokens in shared memory (x_stride apart), outputs of 16 rows x 8
// tokens summed over the warps in shared memory.
// The block waits for the kernels before it (grid_dep_wait) after its first weight loads.
// kPrefetch (the default since the eighteenth session; GANDER_TC_PREFETCH=0 to compare): a block
// whose input takes an activation asks L2 for its weights before its wait (see below).
template <WeightKind K, bool kLong, bool kMulti, bool kPrefetch = false>
__device__ void tile(const TcJob& job, int blk, uint4* xs, int tok0, int n_tok) {
    using T = Traits<K>;
    constexpr int kSpan = 4 * T::kVals; // columns per step (the 4 lanes of a group)
    constexpr int U = T::kSteps;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int ks = kLong ? kWarps : k_slices(job), per_block = kLong ? 1 : kWarps / ks;
    const int sub = warp / ks, kw = warp % ks;
    const int tile_idx = blk * per_block + sub;
    const bool valid = kLong || tile_idx * 16 < job.rows;
    const int r0 = tile_idx * 16 + g, r1 = r0 + 8;
    const int steps = valid ? job.cols / kSpan : 0;
    const int s_begin = kw * steps / ks, s_end = (kw + 1) * steps / ks;

    typename T::Load wa[U], wb[U];
    __half2 sa[U], sb[U]; // int4: the step's two group scales for rows r0, r1
    auto load = [&](int s, int n) { load_steps<K, kMulti>(job, r0, r1, t, s, n, wa, wb, sa, sb); };

    // x (with the input activation, if any) into shared memory: each warp its own column slice
    // when the warps split the columns (then no block barrier), else the whole block all of it.
    const bool whole = !kLong && ks == 1; // the block stages all of x
    const int c0 = whole ? int(threadIdx.x) * 8 : s_begin * kSpan + lane * 8;
    const int c1 = whole ? job.cols : s_end * kSpan;
    const int stride = whole ? 32 * kWarps * 8 : 256;
    const int xrow = kMulti ? x_stride(K, job.cols) : 0; // uint4 between tokens' rows
    const int ldx = job.ldx ? job.ldx : job.cols;
    auto stage_row = [&](const __half* x, uint4* xr, bool activate) {
        if (activate)
            stage_activated(x, xr, c0, c1, stride, job.in);
        else
            for (int c = c0; c < c1; c += stride) xr[c / 8] = x_for<K>(x, c);
    };
    auto stage_x = [&](bool activate) {
        if constexpr (kMulti) {
            for (int i = 0; i < kTok; ++i) {
                if (i < n_tok)
                    stage_row(job.x + std::size_t(tok0 + i) * ldx, xs + i * xrow, activate);
                else // the mma's unused columns: zeros, their sums are never stored
                    for (int c = c0; c < c1; c += stride)
                        xs[i * xrow + c / 8] = make_uint4(0, 0, 0, 0);
            }
        } else {
            stage_row(job.x, xs, activate);
        }
        if (whole)
            __syncthreads();
        else
            __syncwarp();
    };
    int s = s_begin, n = min(U, s_end - s);
    if (kLong || job.in == GemvIn::Plain) {
        load(s, n); // weights first: nothing earlier in the stream writes them
        grid_dep_wait();
        stage_x(false);
    } else { // the activation's registers are not added to the loads' (the LoRA rows are short)
        // but L2 is asked for the weights before the wait, holding no registers (the LoRA up
        // launch: 4.6 against 5.0 us of a decoding layer's chain; int4 / int8 / fp16 decode with
        // the WKV step's prefetch +0.8-0.9 / +1.5-1.6 / +1.4 %, H200, docs/performance.md).
        if constexpr (kPrefetch) prefetch_steps<K>(job, r0, r1, t, s_begin, s_end);
        grid_dep_wait();
        stage_x(true);
        load(s, n);
    }

    // Rows g, g + 8 x the mma columns 2t, 2t + 1 (int8: before the row scale).
    float sums[1][4] = {{0.0f, 0.0f, 0.0f, 0.0f}};
    const uint4* xt = xs + (kMulti ? g * xrow : 0); // the x of this lane's mma column
    while (n > 0) {
#pragma unroll
        for (int u = 0; u < U; ++u)
            if (u < n)
                step_mma<K, 1, kMulti>(wa[u], wb[u], sa[u], sb[u], xt, 0, (s + u) * kSpan, t, sums);
        s += n;
        n = min(U, s_end - s);
        if (n > 0) load(s, n);
    }
    const float(&acc)[4] = sums[0];

    // Partial sums of the warps: [warp][row in the tile][token] (one token: column 0 only).
    constexpr int kCols = kMulti ? kTok : 1;
    __shared__ float red[kWarps][16][kCols];
    if constexpr (kMulti) {
        red[warp][g][2 * t] = acc[0];
        red[warp][g][2 * t + 1] = acc[1];
        red[warp][g + 8][2 * t] = acc[2];
        red[warp][g + 8][2 * t + 1] = acc[3];
    } else if (t == 0) {
        red[warp][g][0] = acc[0];
        red[warp][g + 8][0] = acc[2];
    }
    __syncthreads();
    const int ldy = job.ldy ? job.ldy : job.rows;
    const bool half_out = job.out == GemvOut::StoreF16 || job.out == GemvOut::Relu2F16;
    for (int o = int(threadIdx.x); o < 16 * kCols * per_block; o += 32 * kWarps) {
        const int my_sub = o / (16 * kCols), i = o / kCols % 16, tk = o % kCols;
        const int row = (blk * per_block + my_sub) * 16 + i;
        if (row >= job.rows || tk >= n_tok) continue;
        float sum = 0.0f;
        if constexpr (kLong) {
#pragma unroll
            for (int w = 0; w < kWarps; ++w) sum += red[w][i][tk];
        } else {
            for (int w = 0; w < ks; ++w) sum += red[my_sub * ks + w][i][tk];
        }
        if constexpr (K == WeightKind::Int8Row) sum *= __half2float(job.scales[row]);
        const std::size_t off = std::size_t(tok0 + tk) * ldy; // 0 for one token
        void* y = half_out ? static_cast<void*>(static_cast<__half*>(job.y) + off)
                           : static_cast<void*>(static_cast<float*>(job.y) + off);
        detail::store_out(job.out, y, row, sum);
    }
}

template <bool kLong, bool kMulti, bool kPrefetch = false>
__global__ void __launch_bounds__(32 * kWarps) gemv_tc_kernel(const __grid_constant__ Params p) {
    GANDER_TRACE_BLOCK(GemvTc);
    extern __shared__ uint4 xs[];
    grid_dep_launch();
    // kMulti: the `groups` blocks of one block of rows are neighbours (block b: rows b / groups,
    // tokens 8 (b % groups) ...), so they run at once and all but one find the weights in L2.
    const int rows_blk = kMulti ? int(blockIdx.x) / p.groups : int(blockIdx.x);
    const int tok0 = kMulti ? int(blockIdx.x) % p.groups * kTok : 0;
    const int n_tok = kMulti ? min(kTok, p.tokens - tok0) : 1;
    int j = 0;
    while (rows_blk >= p.tile_start[j + 1]) ++j;
    const TcJob& job = p.jobs[j];
    const int tile_idx = rows_blk - p.tile_start[j]; // the job's block index
    switch (job.kind) {
    case WeightKind::F16:
        tile<WeightKind::F16, kLong, kMulti, kPrefetch>(job, tile_idx, xs, tok0, n_tok);
        break;
    case WeightKind::Int8Row:
        tile<WeightKind::Int8Row, kLong, kMulti, kPrefetch>(job, tile_idx, xs, tok0, n_tok);
        break;
    case WeightKind::Int4G64:
        tile<WeightKind::Int4G64, kLong, kMulti, kPrefetch>(job, tile_idx, xs, tok0, n_tok);
        break;
    }
}

// ---- Many tokens (gemv_tc_wide, see gemv_tc.h) ----

// A wide block's sums of rows r0, r1 (the mma's c0, c1: row r0, tokens 2t, 2t + 1 of group q;
// c2, c3: row r1) times their row scale into y (token i's row at y + i ldy): atomic adds where
// the column slices of a row meet (slices > 1), else stored (or added: add).
template <int G>
__device__ __forceinline__ void store_sums(const float (&acc)[G][4], const float (&scale)[2],
                                           float* y, int ldy, int r0, int r1, int tok0, int n_tok,
                                           int t, bool atomic, bool add) {
#pragma unroll
    for (int q = 0; q < G; ++q)
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int tk = 8 * q + 2 * t + (c & 1), h = c >> 1;
            if (tk >= n_tok) continue;
            float* p = y + std::size_t(tok0 + tk) * ldy + (h ? r1 : r0);
            const float v = acc[q][c] * scale[h];
            if (atomic)
                atomicAdd(p, v);
            else
                *p = add ? *p + v : v;
        }
}

struct WideParams {
    TcJob jobs[kMaxGemvJobs];
    int block_start[kMaxGemvJobs + 1]; // prefix sums of the jobs' blocks
    int slices[kMaxGemvJobs];          // column slices of each job
    int n_jobs;
    int tokens;       // tokens per job
    int token_blocks; // blocks of 8 G tokens side by side over the same weights
};

// Columns a block of the wide kernels takes at most: kWideCols, or GANDER_WIDE_COLS (a multiple
// of 128 from 128 to 4,096; to measure fewer slices and atomic adds against more shared memory).
int wide_cols() {
    static const int cols = [] {
        const int v = detail::env_int("GANDER_WIDE_COLS", 0);
        return v >= 128 && v <= 4096 && v % 128 == 0 ? v : kWideCols;
    }();
    return cols;
}
int wide_slices(const TcJob& job) {
    return (job.cols + wide_cols() - 1) / wide_cols();
}
// A launch of fewer blocks than the card holds at once (two an SM; 0.48 of that for a batched
// step's output projection) halves its jobs' column slices while the blocks still fit in one such
// wave and a slice keeps at least 256 columns (GANDER_WIDE_FILL=0: not; fourteenth session).
bool wide_fill() {
    static const bool on = !detail::env_is("GANDER_WIDE_FILL", "0");
    return on;
}
// The lean kernels (see wide_block) stage x / h kWideCols apart whatever the slices, so only where
// no slice is wider (GANDER_WIDE_COLS). gemv_tc_wide takes them where the batch asks
// (TcBatch::lean: an int4 model's batched step), ffn_value_wide for int4. GANDER_WIDE_LEAN=0:
// never; =all: every gemv_tc_wide launch (fifteenth session).
int wide_lean_mode() {
    static const int mode = detail::env_is("GANDER_WIDE_LEAN", "0") || wide_cols() > kWideCols ? 0
                            : detail::env_is("GANDER_WIDE_LEAN", "all")                        ? 2
                                                                                               : 1;
    return mode;
}
// Shared memory of a wide block: x of 8 G tokens for its columns.
std::size_t wide_smem(WeightKind kind, int cols, int G) {
    return std::size_t(8 * G) * x_stride(kind, cols) * sizeof(uint4);
}

// One block: rows 128 rb .. + 127 (warp w the tile of 16 at 128 rb + 16 w), columns
// [k0, k0 + kc) of slice `slice`, tokens tok0 .. tok0 + n_tok - 1 (n_tok <= 8 G).
// kLean (TcBatch::lean, see wide_lean_mode; fourteenth session, measured in the fifteenth): x's
// rows kWideCols apart whatever the slice's width (the reads' offsets then known when compiling)
// and int4's group sums started by their first product instead of zeroed first.
template <WeightKind K, int G, bool kLean>
__device__ void wide_block(const TcJob& job, int rb, int slice, int slices, int tok0, int n_tok,
                           uint4* xs) {
    using T = Traits<K>;
    constexpr int kSpan = 4 * T::kVals, U = T::kSteps;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int kc = job.cols / slices, k0 = slice * kc;
    const int tile_row = (rb * kWarps + warp) * 16;
    const bool valid = tile_row < job.rows;
    const int r0 = tile_row + g, r1 = r0 + 8;
    const int s_end = valid ? (k0 + kc) / kSpan : k0 / kSpan;
    int s = k0 / kSpan, n = min(U, s_end - s);

    typename T::Load wa[U], wb[U];
    __half2 sa[U], sb[U];
    // Weights first (nothing earlier in the stream writes them); the blocks of the other tokens
    // read the same rows right after, so they stay in L2.
    load_steps<K, true>(job, r0, r1, t, s, n, wa, wb, sa, sb);
    grid_dep_wait();
    // x of the block's tokens for its columns, every thread a share (unused tokens zero: the
    // mma's columns for them are never stored).
    const int xrow = kLean ? x_stride(K, kWideCols) : x_stride(K, kc), per_row = kc / 8;
    const int ldx = job.ldx ? job.ldx : job.cols;
    if constexpr (kLean) { // a warp a token's row at a time: no division by the row's width
        for (int tk = warp; tk < 8 * G; tk += kWarps)
            for (int c = lane; c < per_row; c += 32)
                xs[tk * xrow + c] = tk < n_tok
                                        ? x_for<K>(job.x + std::size_t(tok0 + tk) * ldx, k0 + 8 * c)
                                        : make_uint4(0, 0, 0, 0);
    } else {
        for (int i = int(threadIdx.x); i < 8 * G * per_row; i += 32 * kWarps) {
            const int tk = i / per_row, c = i - tk * per_row;
            xs[tk * xrow + c] = tk < n_tok
                                    ? x_for<K>(job.x + std::size_t(tok0 + tk) * ldx, k0 + 8 * c)
                                    : make_uint4(0, 0, 0, 0);
        }
    }
    __syncthreads();

    float acc[G][4];
#pragma unroll
    for (int q = 0; q < G; ++q) acc[q][0] = acc[q][1] = acc[q][2] = acc[q][3] = 0.0f;
    const uint4* xq = xs + g * xrow; // group q's token for this lane: row 8 q + g
    while (n > 0) {
#pragma unroll
        for (int u = 0; u < U; ++u)
            if (u < n)
                step_mma<K, G, true, false, kLean>(wa[u], wb[u], sa[u], sb[u], xq, 8 * xrow,
                                                   (s + u) * kSpan - k0, t, acc);
        s += n;
        n = min(U, s_end - s);
        if (n > 0) load_steps<K, true>(job, r0, r1, t, s, n, wa, wb, sa, sb);
    }
    if (!valid) return;

    // c0, c1: row g, tokens 2t, 2t + 1 of the group; c2, c3: row g + 8. The slices of a row meet
    // by atomic adds (gemv_tc_wide zeroed a StoreF32 output first).
    float scale[2] = {1.0f, 1.0f};
    if constexpr (K == WeightKind::Int8Row) {
        scale[0] = __half2float(job.scales[r0]);
        scale[1] = __half2float(job.scales[r1]);
    }
    store_sums<G>(acc, scale, static_cast<float*>(job.y), job.ldy ? job.ldy : job.rows, r0, r1,
                  tok0, n_tok, t, slices > 1, job.out == GemvOut::AddF32);
}

template <int G, bool kLean>
__global__ void __launch_bounds__(32 * kWarps, 2)
    gemv_tc_wide_kernel(const __grid_constant__ WideParams p) {
    extern __shared__ uint4 xs[];
    grid_dep_launch();
    // Block b: job j, then (row block, slice, token block) with the token blocks of the same
    // weights side by side.
    const int b = int(blockIdx.x);
    int j = 0;
    while (b >= p.block_start[j + 1]) ++j;
    const TcJob& job = p.jobs[j];
    const int bi = b - p.block_start[j], slices = p.slices[j];
    const int tb = bi % p.token_blocks, rest = bi / p.token_blocks;
    const int slice = rest % slices, rb = rest / slices;
    const int tok0 = tb * 8 * G, n_tok = min(8 * G, p.tokens - tok0);
    switch (job.kind) {
    case WeightKind::F16:
        wide_block<WeightKind::F16, G, kLean>(job, rb, slice, slices, tok0, n_tok, xs);
        break;
    case WeightKind::Int8Row:
        wide_block<WeightKind::Int8Row, G, kLean>(job, rb, slice, slices, tok0, n_tok, xs);
        break;
    case WeightKind::Int4G64:
        wide_block<WeightKind::Int4G64, G, kLean>(job, rb, slice, slices, tok0, n_tok, xs);
        break;
    }
}

// ---- The transposed FFN value matrix for many tokens (ffn_value_wide, see gemv_tc.h) ----
//
// y[t][c] += sum over f of h[t][f] Wt[f][c]: the mma's rows are 16 columns c of Wt, its k 16 rows
// f. Lane (g, t) feeds output rows c0 + g and c0 + g + 8 and, by the free order of k, rows
// f0 + 4t .. f0 + 4t + 3 of the chunk (the A pairs (4t, 4t + 1) and (4t + 2, 4t + 3); B the same
// four values of h, one 8-byte read). A row f's 16 columns are 8 bytes (int4) or 16 (int8); the
// lane picks its nibble or byte g (and g + 8) of four rows into fp16 pairs. int4 scales are per
// (64 rows f, column c): constant over a group's four chunks, applied to their sum per output row;
// int8 scales per column c, applied at the end.

struct WideTParams {
    const void* Wt;
    const __half* scales;
    const __half* h;
    float* y;
    int F, C, T, slices, token_blocks;
    bool int4;
};

int wide_t_slices(int F) {
    return (F + wide_cols() - 1) / wide_cols();
}
// Shared-memory row of one token's h in 32-bit words: 8 words past a multiple of 32, so that the
// 8-byte reads of lane groups g = 0..3 (a half warp) fall in distinct banks.
__host__ __device__ constexpr int wide_t_stride(int kf) {
    return (kf / 2 + 31) / 32 * 32 + 8;
}

// The fp16 pair (nibble g of a, nibble g of b) - 8, exact; a and b already shifted by 4 g (the
// nibble in bits 0-3): byte 0 of a and byte 0 of b into bytes 0 and 2, under 0x6400 (1024 + n).
__device__ __forceinline__ std::uint32_t nib_pair(std::uint32_t a, std::uint32_t b) {
    const std::uint32_t v = (__byte_perm(a, b, 0x0400) & 0x000F000Fu) | 0x64006400u;
    return h2_bits(__hsub2(bits_h2(v), __half2half2(__ushort_as_half(0x6408)))); // - 1032
}

// The weights go through shared memory: each iteration's tile (64 rows f x the block's 128
// columns: 4 KB int4, 8 KB int8) is copied by the whole block with cp.async, kStages tiles ahead,
// so a block keeps 12-24 KB of weights in flight without holding them in registers (a version that
// loaded into registers held 512 distinct bytes a warp: ~0.55 TB/s; this one cut the step of 32
// int4 sessions by 0.6 ms on the card, of 32 int8 ones by 1.4 ms: H100, seventh session). A tile's
// rows keep their 16-byte chunks in swizzled order (chunk ^ (row / 4) % chunks): the four rows the
// lanes t of a warp read at once then sit in four different banks' groups.
constexpr int kStages = 4;
constexpr int kTileRows = 64; // rows f an iteration (four mma chunks, one int4 scale group)

__host__ __device__ constexpr int wide_t_tile_bytes(bool int4) {
    return kTileRows * (int4 ? kWideRows / 2 : kWideRows);
}

// Shared memory of a block: h of 8 G tokens for kf rows f, then kStages weight tiles.
std::size_t wide_t_smem(bool int4, int kf, int G) {
    return std::size_t(8 * G) * wide_t_stride(kf) * 4 +
           std::size_t(kStages) * wide_t_tile_bytes(int4);
}

using detail::cp_async16;
using detail::cp_async_commit;
using detail::cp_async_wait;

// kLean (int4, as wide_block's): h's rows wide_t_stride(kWideCols) apart whatever
// the slice's height, and each tile's sums started by its first mma instead of zeroed first.
template <int G, bool kInt4, bool kLean>
__device__ void wide_t_block(const WideTParams& p, int cb, int slice, int tok0, int n_tok,
                             std::uint32_t* hs) {
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int kf = p.F / p.slices, f_begin = slice * kf;
    const int c0 = (cb * kWarps + warp) * 16;
    const bool valid = c0 < p.C;
    constexpr int kChunk = 16, U = kTileRows / kChunk;
    constexpr int kRowBytes = kInt4 ? kWideRows / 2 : kWideRows; // the block's columns of a row
    constexpr int kRowChunks = kRowBytes / 16;
    constexpr int kTileBytes = wide_t_tile_bytes(kInt4);
    const int stride = wide_t_stride(kLean ? kWideCols : kf); // h: words a token's row
    const int per_row = kf / 8;                               // uint4 of it
    auto* tiles = reinterpret_cast<std::uint8_t*>(hs + 8 * G * stride);
    const std::size_t row_bytes = kInt4 ? std::size_t(p.C) / 2 : std::size_t(p.C);
    const std::size_t col_byte = std::size_t(cb) * kRowBytes; // the block's first column's byte
    const int iters = kf / kTileRows;

    // Iteration `it`'s tile into buffer it % kStages; every thread commits a group either way, so
    // that wait_group counts the same iterations in every thread. Past the row's end (a last block
    // of columns cut short) the chunk is zero-filled: src_bytes 0.
    auto issue = [&](int it) {
        if (it < iters) {
            std::uint8_t* tile = tiles + (it % kStages) * kTileBytes;
            for (int idx = int(threadIdx.x); idx < kTileRows * kRowChunks; idx += 32 * kWarps) {
                const int r = idx / kRowChunks, ch = idx % kRowChunks;
                const std::size_t off = col_byte + std::size_t(ch) * 16;
                const int src = off >= row_bytes        ? 0
                                : row_bytes - off >= 16 ? 16
                                                        : int(row_bytes - off);
                const std::uint8_t* gp = static_cast<const std::uint8_t*>(p.Wt) +
                                         std::size_t(f_begin + it * kTileRows + r) * row_bytes +
                                         (src ? off : 0);
                cp_async16(tile + r * kRowBytes + ((ch ^ ((r >> 2) & (kRowChunks - 1))) * 16), gp,
                           src);
            }
        }
        cp_async_commit();
    };
#pragma unroll
    for (int it = 0; it < kStages - 1; ++it) issue(it); // weights first: nothing writes them
    grid_dep_wait();
    if constexpr (kLean) { // a warp a token's row at a time: no division by the row's width
        for (int tk = warp; tk < 8 * G; tk += kWarps)
            for (int c = lane; c < per_row; c += 32)
                *reinterpret_cast<uint4*>(hs + tk * stride + 4 * c) =
                    tk < n_tok ? __ldg(reinterpret_cast<const uint4*>(
                                     p.h + std::size_t(tok0 + tk) * p.F + f_begin + 8 * c))
                               : make_uint4(0, 0, 0, 0);
    } else {
        for (int i = int(threadIdx.x); i < 8 * G * per_row; i += 32 * kWarps) {
            const int tk = i / per_row, c = i - tk * per_row;
            const uint4 v = tk < n_tok ? __ldg(reinterpret_cast<const uint4*>(
                                             p.h + std::size_t(tok0 + tk) * p.F + f_begin + 8 * c))
                                       : make_uint4(0, 0, 0, 0);
            *reinterpret_cast<uint4*>(hs + tk * stride + 4 * c) = v;
        }
    }

    float acc[G][4];
#pragma unroll
    for (int q = 0; q < G; ++q) acc[q][0] = acc[q][1] = acc[q][2] = acc[q][3] = 0.0f;
    const std::uint32_t* hq = hs + g * stride + 2 * t; // lane group g's token, its rows 4t..
    // int8: byte g and g + 8 of the warp's 16 (words g / 4 and 2 + g / 4); the selector of byte
    // g % 4 of two words side by side.
    const int sel = (g & 3) | ((4 + (g & 3)) << 4);
    const int shift = 4 * g; // int4: nibble g of a word
    for (int it = 0; it < iters; ++it) {
        issue(it + kStages - 1); // into the buffer the previous iteration finished with
        cp_async_wait<kStages - 1>();
        __syncthreads(); // every thread's part of this tile (and, the first time, h) is in
        const int f0 = f_begin + it * kTileRows;
        float sa = 0.0f, sb = 0.0f; // int4: the group's scales of rows c0 + g, c0 + g + 8
        if (kInt4 && valid) {
            const __half* s = p.scales + std::size_t(f0 / 64) * p.C + c0 + g;
            sa = __half2float(s[0]);
            sb = __half2float(s[8]);
        }
        if (valid) {
            const std::uint8_t* tile = tiles + (it % kStages) * kTileBytes;
            float e[G][4];
            if constexpr (!kLean) {
#pragma unroll
                for (int q = 0; q < G; ++q) e[q][0] = e[q][1] = e[q][2] = e[q][3] = 0.0f;
            }
#pragma unroll
            for (int u = 0; u < U; ++u) {
                std::uint32_t a[4]; // rows c0 + g (pairs 0, 2) and c0 + g + 8 (1, 3)
                std::uint32_t lo[4], hi[4];
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const int r = u * kChunk + 4 * t + i;
                    const int rc = (r >> 2) & (kRowChunks - 1);
                    if constexpr (kInt4) { // 8 bytes at 8 warp: chunk warp / 2
                        const uint2 w = *reinterpret_cast<const uint2*>(
                            tile + r * kRowBytes + (((warp >> 1) ^ rc) * 16) + (warp & 1) * 8);
                        lo[i] = w.x >> shift; // columns c0..c0 + 7
                        hi[i] = w.y >> shift; // c0 + 8..c0 + 15
                    } else {
                        // 16 bytes at 16 warp: chunk warp
                        const uint4 w = *reinterpret_cast<const uint4*>(tile + r * kRowBytes +
                                                                        ((warp ^ rc) * 16));
                        lo[i] = g < 4 ? w.x : w.y;
                        hi[i] = g < 4 ? w.z : w.w;
                    }
                }
                if constexpr (kInt4) {
                    a[0] = nib_pair(lo[0], lo[1]);
                    a[1] = nib_pair(hi[0], hi[1]);
                    a[2] = nib_pair(lo[2], lo[3]);
                    a[3] = nib_pair(hi[2], hi[3]);
                } else {
                    const std::uint32_t rl = __byte_perm(__byte_perm(lo[0], lo[1], sel),
                                                         __byte_perm(lo[2], lo[3], sel), 0x5410);
                    const std::uint32_t rh = __byte_perm(__byte_perm(hi[0], hi[1], sel),
                                                         __byte_perm(hi[2], hi[3], sel), 0x5410);
                    i8x4_to_h2(rl, a[0], a[2]);
                    i8x4_to_h2(rh, a[1], a[3]);
                }
                const int fl = it * kTileRows + u * kChunk; // the chunk's first row in the slice
#pragma unroll
                for (int q = 0; q < G; ++q) {
                    const uint2 b = *reinterpret_cast<const uint2*>(hq + q * 8 * stride + fl / 2);
                    if (kLean && u == 0)
                        mma16816<true>(e[q], a[0], a[1], a[2], a[3], b.x, b.y);
                    else
                        mma16816(e[q], a[0], a[1], a[2], a[3], b.x, b.y);
                }
            }
#pragma unroll
            for (int q = 0; q < G; ++q) {
                if constexpr (kInt4) {
                    acc[q][0] = fmaf(e[q][0], sa, acc[q][0]);
                    acc[q][1] = fmaf(e[q][1], sa, acc[q][1]);
                    acc[q][2] = fmaf(e[q][2], sb, acc[q][2]);
                    acc[q][3] = fmaf(e[q][3], sb, acc[q][3]);
                } else {
#pragma unroll
                    for (int c = 0; c < 4; ++c) acc[q][c] += e[q][c];
                }
            }
        }
        __syncthreads(); // done with this buffer before an iteration to come refills it
    }
    cp_async_wait<0>();
    if (!valid) return;
    float scale[2] = {1.0f, 1.0f};
    if constexpr (!kInt4) {
        scale[0] = __half2float(p.scales[c0 + g]);
        scale[1] = __half2float(p.scales[c0 + g + 8]);
    }
    store_sums<G>(acc, scale, p.y, p.C, c0 + g, c0 + g + 8, tok0, n_tok, t, p.slices > 1, true);
}

template <int G, bool kLean>
__global__ void __launch_bounds__(32 * kWarps, 2)
    ffn_value_wide_kernel(const __grid_constant__ WideTParams p) {
    extern __shared__ std::uint32_t hs[];
    grid_dep_launch();
    // Block b: (column block, slice, token block), the token blocks of the same weights side by
    // side.
    const int b = int(blockIdx.x);
    const int tb = b % p.token_blocks, rest = b / p.token_blocks;
    const int slice = rest % p.slices, cb = rest / p.slices;
    const int tok0 = tb * 8 * G, n_tok = min(8 * G, p.T - tok0);
    if constexpr (kLean) // int4's alone (ffn_value_wide)
        wide_t_block<G, true, true>(p, cb, slice, tok0, n_tok, hs);
    else if (p.int4)
        wide_t_block<G, true, false>(p, cb, slice, tok0, n_tok, hs);
    else
        wide_t_block<G, false, false>(p, cb, slice, tok0, n_tok, hs);
}

// ---- One token, long rows, through bulk copies into shared memory (sm_90 and later) ----
//
// gemv_tc_kernel loads each warp's weights into registers: one round of 16 bytes a lane and step,
// then waits for them, multiplies, meets the other warps and ends; for int4 (4 steps a warp of a
// 4,096-column row) a block holds its bytes in flight only for that one round, and the launches
// stream at 37-68 % of the copy bandwidth (docs/performance.md). Here a block's copy warp keeps
// bulk copies (cp.async.bulk, the copy engine: no registers, no issue slots of the multiplying
// warps) of the next chunks in flight in a ring of shared-memory slots while 8 warps multiply the
// chunk that has landed, with the same lane layout and mma steps as gemv_tc (step_mma).
// A chunk: 16 rows x 2,048 bytes of their columns (int4 4,096 columns, int8 2,048, fp16 1,024),
// copied row by row into a padded slot (row pitch 2,080 for int4, whose lanes read 8 bytes at 8t
// and 32 + 8t; 2,112 for the 16-byte reads of int8 / fp16: no bank conflicts either way), int4's
// 64 scales a row beside it. Each warp takes 4 steps of a chunk (its eighth of the columns), sums
// over a tile's chunks in registers and meets the other warps once a tile. Blocks: two an SM, each
// job a share of them by its chunks, each block a contiguous run of one job's tiles (x staged
// once).

constexpr int kBulkWarps = 8;                       // warps that multiply
constexpr int kBulkThreads = 32 * (kBulkWarps + 1); // and the one that copies
constexpr int kBulkStages = 2;                      // slots a block
constexpr int kChunkRow = 2048;                     // bytes of a row in a chunk
constexpr int kPitchI4 = kChunkRow + 32, kPitch16 = kChunkRow + 64, kScalePitch = 144;
constexpr int kSlotW = 16 * kPitch16;                 // 33,792
constexpr int kSlotBytes = kSlotW + 16 * kScalePitch; // + int4 scales: 36,096
constexpr int kBulkHead = 1152; // mbarriers (2 x kBulkStages x 8 bytes), then the reduction
constexpr int kBulkMaxCols = 8192;
static_assert(8 * 2 * kBulkStages + 2 * kBulkWarps * 16 * sizeof(float) <= kBulkHead,
              "the mbarriers and the two reduction buffers fit before the slots");

struct BulkParams {
    TcJob jobs[kMaxGemvJobs];
    int block_start[kMaxGemvJobs + 1]; // blocks of each job, prefix sums
    int n_jobs;
};

__host__ __device__ constexpr int chunk_cols(WeightKind k) {
    return k == WeightKind::Int4G64   ? 2 * kChunkRow
           : k == WeightKind::Int8Row ? kChunkRow
                                      : kChunkRow / 2;
}
std::size_t bulk_smem(int cols) {
    return kBulkHead + std::size_t(kBulkStages) * kSlotBytes + std::size_t(cols) * sizeof(__half);
}

__device__ __forceinline__ std::uint32_t smem_addr(const void* p) {
    return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void mbar_init(std::uint32_t bar, std::uint32_t count) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(bar), "r"(count) : "memory");
#endif
}
__device__ __forceinline__ void mbar_init_fence() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
#endif
}
__device__ __forceinline__ void mbar_wait(std::uint32_t bar, std::uint32_t parity) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    std::uint32_t done = 0;
    do {
        asm volatile("{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                     " selp.u32 %0, 1, 0, p;\n}\n"
                     : "=r"(done)
                     : "r"(bar), "r"(parity)
                     : "memory");
    } while (!done);
#endif
}
__device__ __forceinline__ void mbar_arrive(std::uint32_t bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(bar) : "memory");
#endif
}
__device__ __forceinline__ void mbar_expect(std::uint32_t bar, std::uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(bar), "r"(bytes)
                 : "memory");
#endif
}
__device__ __forceinline__ void bulk_copy(std::uint32_t dst, const void* src, std::uint32_t bytes,
                                          std::uint32_t bar) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile(
        "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, "
        "[%3];" ::"r"(dst),
        "l"(src), "r"(bytes), "r"(bar)
        : "memory");
#endif
}
__device__ __forceinline__ void bulk_sync() { // the 8 multiplying warps
    asm volatile("bar.sync 1, %0;" ::"n"(32 * kBulkWarps) : "memory");
}

// The copy warp: chunk i of the block's run into slot i % kBulkStages, once the warps have
// released what the slot held (lane l < 16 copies row l, lanes 16-31 int4's scale rows).
template <WeightKind K>
__device__ void bulk_produce(const TcJob& job, int tile0, int items, unsigned char* slots,
                             std::uint32_t full, std::uint32_t empty) {
    const int lane = threadIdx.x & 31;
    const int chunks = job.cols / chunk_cols(K);
    const std::size_t row_bytes = K == WeightKind::Int4G64   ? std::size_t(job.cols) / 2
                                  : K == WeightKind::Int8Row ? std::size_t(job.cols)
                                                             : std::size_t(job.cols) * 2;
    const int pitch = K == WeightKind::Int4G64 ? kPitchI4 : kPitch16;
    const std::uint32_t tx = 16 * kChunkRow + (K == WeightKind::Int4G64 ? 16 * 128 : 0);
    for (int i = 0; i < items; ++i) {
        const int slot = i % kBulkStages, use = i / kBulkStages;
        if (use > 0) mbar_wait(empty + 8 * slot, (use - 1) & 1);
        if (lane == 0) mbar_expect(full + 8 * slot, tx);
        __syncwarp();
        const int tile = tile0 + i / chunks, c = i % chunks;
        unsigned char* dst = slots + std::size_t(slot) * kSlotBytes;
        if (lane < 16) {
            const auto* src = static_cast<const unsigned char*>(job.W) +
                              std::size_t(tile * 16 + lane) * row_bytes +
                              std::size_t(c) * kChunkRow;
            bulk_copy(smem_addr(dst + lane * pitch), src, kChunkRow, full + 8 * slot);
        } else if (K == WeightKind::Int4G64) {
            const int r = lane - 16;
            const __half* src = job.scales + std::size_t(tile * 16 + r) * (job.cols / 64) + c * 64;
            bulk_copy(smem_addr(dst + kSlotW + r * kScalePitch), src, 128, full + 8 * slot);
        }
    }
}

// The multiplying warps: x staged once (after the kernel before has written it), then each chunk
// as it lands; a tile's sums meet in shared memory after its last chunk.
// kEarly (the default since the seventeenth session: int4 / int8 decode +1.1 / +1.4 % on an H200;
// GANDER_BULK_EARLY=0 gives the slot back after the products, to compare): each warp gives its slot
// back as soon as its 4 steps are in registers, before it multiplies them, so that the copy warp
// refills the slot while the warps multiply.
template <WeightKind K, bool kLop3, bool kEarly = false>
__device__ void bulk_consume(const TcJob& job, int tile0, int items, unsigned char* slots,
                             uint4* xs, float* red, std::uint32_t full, std::uint32_t empty) {
    using T = Traits<K>;
    constexpr int kSpan = 4 * T::kVals;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int chunks = job.cols / chunk_cols(K);
    const int pitch = K == WeightKind::Int4G64 ? kPitchI4 : kPitch16;

    grid_dep_wait();
    for (int c = int(threadIdx.x) * 8; c < job.cols; c += 8 * 32 * kBulkWarps)
        xs[c / 8] = x_for<K>(job.x, c);
    bulk_sync();

    float acc[1][4] = {{0.0f, 0.0f, 0.0f, 0.0f}};
    int buf = 0;
    for (int i = 0; i < items; ++i) {
        const int slot = i % kBulkStages, use = i / kBulkStages;
        const int c = i % chunks;
        mbar_wait(full + 8 * slot, use & 1);
        const unsigned char* w = slots + std::size_t(slot) * kSlotBytes;
        typename T::Load wa[4], wb[4];
        __half2 sa[4], sb[4];
#pragma unroll
        for (int s = 0; s < 4; ++s) {
            const int ls = warp * 4 + s; // the step within the chunk
            const unsigned char* ra = w + g * pitch + ls * 64;
            const unsigned char* rb = ra + 8 * pitch;
            if constexpr (K == WeightKind::Int4G64) {
                const uint2 alo = *reinterpret_cast<const uint2*>(ra + 8 * t);
                const uint2 ahi = *reinterpret_cast<const uint2*>(ra + 32 + 8 * t);
                const uint2 blo = *reinterpret_cast<const uint2*>(rb + 8 * t);
                const uint2 bhi = *reinterpret_cast<const uint2*>(rb + 32 + 8 * t);
                wa[s] = make_uint4(alo.x, alo.y, ahi.x, ahi.y);
                wb[s] = make_uint4(blo.x, blo.y, bhi.x, bhi.y);
                sa[s] = *reinterpret_cast<const __half2*>(w + kSlotW + g * kScalePitch + ls * 4);
                sb[s] =
                    *reinterpret_cast<const __half2*>(w + kSlotW + (g + 8) * kScalePitch + ls * 4);
            } else {
                wa[s] = *reinterpret_cast<const uint4*>(ra + 16 * t);
                wb[s] = *reinterpret_cast<const uint4*>(rb + 16 * t);
                sa[s] = sb[s] = __half2{};
            }
        }
        if constexpr (kEarly) { // the loads above are done before the arrival (its release)
            __syncwarp();
            if (lane == 0) mbar_arrive(empty + 8 * slot);
        }
#pragma unroll
        for (int s = 0; s < 4; ++s)
            step_mma<K, 1, false, kLop3>(wa[s], wb[s], sa[s], sb[s], xs, 0,
                                         c * chunk_cols(K) + (warp * 4 + s) * kSpan, t, acc);
        if constexpr (!kEarly) {
            __syncwarp();
            if (lane == 0) mbar_arrive(empty + 8 * slot);
        }
        if (c == chunks - 1) { // the tile's sums: rows g, g + 8 in column 0 (lanes t = 0)
            float* r = red + buf * kBulkWarps * 16;
            if (t == 0) {
                r[warp * 16 + g] = acc[0][0];
                r[warp * 16 + g + 8] = acc[0][2];
            }
            acc[0][0] = acc[0][1] = acc[0][2] = acc[0][3] = 0.0f;
            bulk_sync();
            if (threadIdx.x < 16) {
                const int i16 = int(threadIdx.x);
                float sum = 0.0f;
#pragma unroll
                for (int k = 0; k < kBulkWarps; ++k) sum += r[k * 16 + i16];
                const int row = (tile0 + i / chunks) * 16 + i16;
                if constexpr (K == WeightKind::Int8Row) sum *= __half2float(job.scales[row]);
                detail::store_out(job.out, job.y, row, sum);
            }
            buf ^= 1; // the next tile writes the other half: its barrier orders these reads
        }
    }
}

template <WeightKind K, bool kLop3, bool kEarly = false>
__device__ void bulk_block(const TcJob& job, int tile0, int items, unsigned char* smem) {
    unsigned char* slots = smem + kBulkHead;
    auto* xs = reinterpret_cast<uint4*>(slots + std::size_t(kBulkStages) * kSlotBytes);
    auto* red = reinterpret_cast<float*>(smem + 8 * 2 * kBulkStages);
    const std::uint32_t full = smem_addr(smem), empty = full + 8 * kBulkStages;
    if (threadIdx.x >= 32 * kBulkWarps)
        bulk_produce<K>(job, tile0, items, slots, full, empty);
    else
        bulk_consume<K, kLop3, kEarly>(job, tile0, items, slots, xs, red, full, empty);
}

template <bool kLop3, bool kEarly = false>
__global__ void __launch_bounds__(kBulkThreads, 2)
    gemv_bulk_kernel(const __grid_constant__ BulkParams p) {
    GANDER_TRACE_BLOCK(GemvBulk);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    __trap(); // bulk_fits() keeps older cards away (the copies below are no-ops there)
#endif
    extern __shared__ __align__(128) unsigned char smem[];
    grid_dep_launch();
    const int b = int(blockIdx.x);
    int j = 0;
    while (b >= p.block_start[j + 1]) ++j;
    const TcJob& job = p.jobs[j];
    const int nb = p.block_start[j + 1] - p.block_start[j], bj = b - p.block_start[j];
    const int tiles = job.rows / 16, t0 = bj * tiles / nb, t1 = (bj + 1) * tiles / nb;
    const int items = (t1 - t0) * (job.cols / chunk_cols(job.kind));
    if (threadIdx.x == 0) {
        const std::uint32_t bars = smem_addr(smem);
        for (int i = 0; i < kBulkStages; ++i) {
            mbar_init(bars + 8 * i, 1);                          // full: the copy warp's arrival
            mbar_init(bars + 8 * (kBulkStages + i), kBulkWarps); // empty: each warp's
        }
        mbar_init_fence();
    }
    __syncthreads();
    switch (job.kind) {
    case WeightKind::F16:
        bulk_block<WeightKind::F16, kLop3, kEarly>(job, t0, items, smem);
        break;
    case WeightKind::Int8Row:
        bulk_block<WeightKind::Int8Row, kLop3, kEarly>(job, t0, items, smem);
        break;
    case WeightKind::Int4G64:
        bulk_block<WeightKind::Int4G64, kLop3, kEarly>(job, t0, items, smem);
        break;
    }
}

// Lets each of `kernels` take up to `bytes` of dynamic shared memory, beyond the 48 KB a launch
// gets without asking, but never more than the card allows a block (the fits checks keep jobs that
// need more away).
template <typename... Kernel> cudaError_t opt_in_smem(std::size_t bytes, Kernel*... kernels) {
    const int most = int(std::min(bytes, std::size_t(detail::max_smem_optin())));
    cudaError_t e = cudaSuccess;
    for (const void* k : {reinterpret_cast<const void*>(kernels)...})
        if (e == cudaSuccess)
            e = cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, most);
    return e;
}

bool device_has_mma() {
    return detail::compute_major() >= 8;
}

// Whether every job of a one-token long-rows batch (each past gemv_tc_fits, plain input) can go
// through gemv_bulk_kernel: sm_90 or later (bulk copies) with room for the largest block's shared
// memory (~90 KB; RTX 50: ~99 KB), whole chunks a row, x within the staging, int4 scales 16-byte
// aligned (the weights are: gemv_tc_fits). GANDER_TC_BULK=0: never (gemv_tc_kernel, to compare).
bool bulk_fits(const TcBatch& batch) {
    static const bool on = !detail::env_is("GANDER_TC_BULK", "0") && detail::compute_major() >= 9 &&
                           bulk_smem(kBulkMaxCols) <= std::size_t(detail::max_smem_optin());
    if (!on) return false;
    for (int j = 0; j < batch.n_jobs; ++j) {
        const TcJob& job = batch.jobs[j];
        const bool scales_aligned = job.kind != WeightKind::Int4G64 ||
                                    (reinterpret_cast<std::uintptr_t>(job.scales) & 15) == 0;
        if (job.cols % chunk_cols(job.kind) != 0 || job.cols > kBulkMaxCols || !scales_aligned)
            return false;
    }
    return true;
}

// Two blocks an SM, shared among the jobs by their chunks (each at least one block, at most one a
// tile); a block takes a contiguous run of its job's tiles.
cudaError_t gemv_bulk(const TcBatch& batch, cudaStream_t stream) {
    const int blocks = 2 * detail::sm_count();
    // GANDER_BULK_PAD=KB: that much unused shared memory a block more (a measurement: what the
    // room beside two blocks an SM is worth to the kernels launched early after them; 20 or 33 KB
    // cost int4 and int8 decode ~4 % on an H200, docs/performance.md, thirteenth session). A pad
    // past what the card allows fails the launch.
    static const std::size_t pad =
        std::size_t(std::clamp(detail::env_int("GANDER_BULK_PAD", 0), 0, 228)) * 1024;
    static const cudaError_t opted_in =
        opt_in_smem(bulk_smem(kBulkMaxCols) + pad, gemv_bulk_kernel<true>, gemv_bulk_kernel<false>,
                    gemv_bulk_kernel<true, true>);
    static const bool early = !detail::env_is("GANDER_BULK_EARLY", "0");
    // GANDER_BULK_LOP3=0: int4's nibbles converted as gemv_tc_kernel does (to compare).
    static const bool lop3 = !detail::env_is("GANDER_BULK_LOP3", "0");
    if (opted_in != cudaSuccess) return opted_in;
    if (blocks < 1) return cudaErrorInvalidDevice;
    BulkParams p{};
    p.n_jobs = batch.n_jobs;
    double total = 0;
    int most_cols = 0;
    for (int j = 0; j < batch.n_jobs; ++j)
        total +=
            double(batch.jobs[j].rows / 16) * (batch.jobs[j].cols / chunk_cols(batch.jobs[j].kind));
    // Each job's share of the blocks by its chunks, rounded to the nearest (at least one block, at
    // most one a tile). Should the rounding take the sum past the blocks the card holds at once,
    // the jobs rounded up the most give one back each, so that no block waits for a second wave:
    // int8's r/k/v + LoRA down launch asked for 266 of an H200's 264, and its last two blocks
    // became resident ~7 us after the others and ended the launch late (capped: int8 decode
    // +2.2 %, docs/performance.md, eighteenth session). GANDER_BULK_FIT=0: the rounding alone
    // (to compare).
    static const bool fit = !detail::env_is("GANDER_BULK_FIT", "0");
    double share[kMaxGemvJobs];
    int nb[kMaxGemvJobs], sum = 0;
    for (int j = 0; j < batch.n_jobs; ++j) {
        const TcJob& job = batch.jobs[j];
        const int tiles = job.rows / 16;
        share[j] = double(tiles) * (job.cols / chunk_cols(job.kind)) * blocks / total;
        nb[j] = std::clamp(int(share[j] + 0.5), 1, tiles);
        sum += nb[j];
    }
    while (fit && sum > blocks) {
        int give = -1;
        for (int j = 0; j < batch.n_jobs; ++j)
            if (nb[j] > 1 && (give < 0 || nb[j] - share[j] > nb[give] - share[give])) give = j;
        if (give < 0) break; // a block a job is more than the card holds: waves it is
        --nb[give];
        --sum;
    }
    for (int j = 0; j < batch.n_jobs; ++j) {
        p.jobs[j] = batch.jobs[j];
        p.block_start[j + 1] = p.block_start[j] + nb[j];
        most_cols = std::max(most_cols, batch.jobs[j].cols);
    }
    return detail::launch_pdl(lop3 ? early ? gemv_bulk_kernel<true, true> : gemv_bulk_kernel<true>
                                   : gemv_bulk_kernel<false>,
                              dim3(unsigned(p.block_start[batch.n_jobs])), dim3(kBulkThreads),
                              bulk_smem(most_cols) + pad, stream, p);
}

} // namespace

bool gemv_tc_fits(const TcJob& job, int tokens) {
    const int span = span_of(job.kind);
    const auto addr = reinterpret_cast<std::uintptr_t>(job.W) |
                      reinterpret_cast<std::uintptr_t>(job.x);
    const int ldx = job.ldx ? job.ldx : job.cols;
    // Several tokens: x of 8 in shared memory, within what the card lets a block have (~99 KB on
    // the RTX cards: 8,192 columns would not fit there).
    const bool tokens_fit =
        tokens == 1 || (tokens > 1 && tokens <= kMaxTcTokens && job.cols <= kMaxTcColsTokens &&
                        std::size_t(kTok) * x_stride(job.kind, job.cols) * sizeof(uint4) <=
                            std::size_t(detail::max_smem_optin()) &&
                        ldx >= job.cols && ldx % 8 == 0 && (job.ldy == 0 || job.ldy >= job.rows));
    return device_has_mma() && job.W && job.x && job.y && job.rows > 0 && job.rows % 16 == 0 &&
           job.cols >= span && job.cols % span == 0 && job.cols <= kMaxTcCols && (addr & 15) == 0 &&
           (job.kind == WeightKind::F16 || job.scales) &&
           (job.in == GemvIn::Plain || job.kind == WeightKind::F16) && tokens_fit;
}

cudaError_t gemv_tc(const TcBatch& batch, cudaStream_t stream) {
    if (batch.n_jobs < 1 || batch.n_jobs > kMaxGemvJobs) return cudaErrorInvalidValue;
    const bool multi = batch.tokens > 1;
    Params p{};
    p.n_jobs = batch.n_jobs;
    p.tokens = batch.tokens;
    p.groups = (batch.tokens + kTok - 1) / kTok;
    std::size_t smem = 0;
    for (int j = 0; j < batch.n_jobs; ++j) {
        const TcJob& job = batch.jobs[j];
        if (!gemv_tc_fits(job, batch.tokens)) return cudaErrorInvalidValue;
        p.jobs[j] = job;
        p.tile_start[j + 1] = p.tile_start[j] + blocks_of(job);
        smem =
            std::max(smem, multi ? std::size_t(kTok) * x_stride(job.kind, job.cols) * sizeof(uint4)
                                 : std::size_t(job.cols) * sizeof(__half));
    }
    bool all_long = true;
    for (int j = 0; j < batch.n_jobs; ++j)
        all_long =
            all_long && batch.jobs[j].in == GemvIn::Plain && k_slices(batch.jobs[j]) == kWarps;
    if (!multi && all_long && bulk_fits(batch)) return gemv_bulk(batch, stream);
    const dim3 grid(unsigned(p.tile_start[batch.n_jobs] * p.groups));
    // Blocks with an activated input (the LoRA up products) ask L2 for their weights before their
    // wait (tile); GANDER_TC_PREFETCH=0: not (to compare).
    static const bool prefetch = !detail::env_is("GANDER_TC_PREFETCH", "0");
    if (!multi)
        return detail::launch_pdl(all_long   ? gemv_tc_kernel<true, false>
                                  : prefetch ? gemv_tc_kernel<false, false, true>
                                             : gemv_tc_kernel<false, false>,
                                  grid, dim3(32 * kWarps), smem, stream, p);
    // Several tokens: up to 8 rows of x (kMaxTcColsTokens wide) in shared memory.
    auto* kernel = all_long ? gemv_tc_kernel<true, true> : gemv_tc_kernel<false, true>;
    static const cudaError_t opted_in =
        opt_in_smem(kTok * x_stride(WeightKind::F16, kMaxTcColsTokens) * sizeof(uint4),
                    gemv_tc_kernel<true, true>, gemv_tc_kernel<false, true>);
    if (opted_in != cudaSuccess) return opted_in;
    return detail::launch_pdl(kernel, grid, dim3(32 * kWarps), smem, stream, p);
}

bool gemv_tc_wide_fits(const TcJob& job, int tokens) {
    const int span = span_of(job.kind);
    const auto addr =
        reinterpret_cast<std::uintptr_t>(job.W) | reinterpret_cast<std::uintptr_t>(job.x);
    const int ldx = job.ldx ? job.ldx : job.cols;
    const int slices = job.cols > 0 ? wide_slices(job) : 1;
    return device_has_mma() && job.W && job.x && job.y && job.rows > 0 && job.rows % 16 == 0 &&
           job.cols >= span && job.cols % slices == 0 && job.cols / slices % span == 0 &&
           wide_smem(job.kind, job.cols / slices, 4) <= std::size_t(detail::max_smem_optin()) &&
           (addr & 15) == 0 && (job.kind == WeightKind::F16 || job.scales) &&
           job.in == GemvIn::Plain &&
           (job.out == GemvOut::StoreF32 || job.out == GemvOut::AddF32) && tokens >= 1 &&
           tokens <= kMaxTcTokens && ldx >= job.cols && ldx % 8 == 0 &&
           (job.ldy == 0 || job.ldy >= job.rows);
}

// Blocks of a wide launch for one job: its row blocks times its slices times the token blocks.
int wide_job_blocks(const TcJob& job, int slices, int token_blocks) {
    return (job.rows + kWideRows - 1) / kWideRows * slices * token_blocks;
}
// One of a wide kernel's instantiations by its groups of 8 tokens a block (1, 2 or 4).
template <typename Kernel> Kernel* by_groups(int G, Kernel* g1, Kernel* g2, Kernel* g4) {
    return G == 1 ? g1 : G == 2 ? g2 : g4;
}

// Whether `job` can be cut into `slices` column slices of at least 256 columns and whole steps.
bool can_split(const TcJob& job, int slices) {
    return job.cols % slices == 0 && job.cols / slices >= 256 &&
           job.cols / slices % span_of(job.kind) == 0;
}

cudaError_t gemv_tc_wide(const TcBatch& batch, cudaStream_t stream) {
    if (batch.n_jobs < 1 || batch.n_jobs > kMaxGemvJobs) return cudaErrorInvalidValue;
    // Groups of 8 tokens a block: 1, 2 or 4 (beyond 32 tokens, blocks of 32 side by side).
    const int G = batch.tokens <= 8 ? 1 : batch.tokens <= 16 ? 2 : 4;
    WideParams p{};
    p.n_jobs = batch.n_jobs;
    p.tokens = batch.tokens;
    p.token_blocks = (batch.tokens + 8 * G - 1) / (8 * G);
    for (int j = 0; j < batch.n_jobs; ++j) {
        const TcJob& job = batch.jobs[j];
        if (!gemv_tc_wide_fits(job, batch.tokens)) return cudaErrorInvalidValue;
        p.jobs[j] = job;
        p.slices[j] = wide_slices(job);
    }
    // The launch's blocks with each job's slices times `split` where the job can take it.
    auto blocks = [&](int split) {
        int n = 0;
        for (int j = 0; j < batch.n_jobs; ++j) {
            const TcJob& job = batch.jobs[j];
            const int s = p.slices[j] * (can_split(job, p.slices[j] * split) ? split : 1);
            n += wide_job_blocks(job, s, p.token_blocks);
        }
        return n;
    };
    const int wave = 2 * detail::sm_count();
    while (wide_fill() && blocks(1) < wave && blocks(2) <= wave && blocks(2) > blocks(1))
        for (int j = 0; j < batch.n_jobs; ++j)
            if (can_split(batch.jobs[j], 2 * p.slices[j])) p.slices[j] *= 2;
    for (int j = 0; j < batch.n_jobs; ++j)
        p.block_start[j + 1] =
            p.block_start[j] + wide_job_blocks(batch.jobs[j], p.slices[j], p.token_blocks);
    const bool lean = wide_lean_mode() == 2 || (wide_lean_mode() == 1 && batch.lean);
    std::size_t smem = 0;
    for (int j = 0; j < batch.n_jobs; ++j)
        smem = std::max(smem, wide_smem(batch.jobs[j].kind,
                                        lean ? kWideCols : batch.jobs[j].cols / p.slices[j], G));
    // Slices meet by atomic adds: a StoreF32 output starts from zero (its row gaps untouched).
    for (int j = 0; j < batch.n_jobs; ++j) {
        const TcJob& job = batch.jobs[j];
        if (p.slices[j] > 1 && job.out == GemvOut::StoreF32) {
            const std::size_t ldy = std::size_t(job.ldy ? job.ldy : job.rows);
            const cudaError_t e = cudaMemset2DAsync(job.y, ldy * sizeof(float), 0,
                                                    std::size_t(job.rows) * sizeof(float),
                                                    std::size_t(batch.tokens), stream);
            if (e != cudaSuccess) return e;
        }
    }
    // x of 32 tokens for a slice's columns.
    static const cudaError_t opted_in = opt_in_smem(
        wide_smem(WeightKind::F16, std::max(wide_cols(), kWideCols), 4),
        gemv_tc_wide_kernel<1, false>, gemv_tc_wide_kernel<2, false>, gemv_tc_wide_kernel<4, false>,
        gemv_tc_wide_kernel<1, true>, gemv_tc_wide_kernel<2, true>, gemv_tc_wide_kernel<4, true>);
    if (opted_in != cudaSuccess) return opted_in;
    auto* kernel = lean ? by_groups(G, gemv_tc_wide_kernel<1, true>, gemv_tc_wide_kernel<2, true>,
                                    gemv_tc_wide_kernel<4, true>)
                        : by_groups(G, gemv_tc_wide_kernel<1, false>, gemv_tc_wide_kernel<2, false>,
                                    gemv_tc_wide_kernel<4, false>);
    return detail::launch_pdl(kernel, dim3(unsigned(p.block_start[batch.n_jobs])),
                              dim3(32 * kWarps), smem, stream, p);
}

bool ffn_value_wide_fits(bool int4, const void* Wt, const __half* scales, const __half* h, int T,
                         int F, int C, const float* y) {
    const int slices = F > 0 ? wide_t_slices(F) : 1;
    const auto addr = reinterpret_cast<std::uintptr_t>(Wt) | reinterpret_cast<std::uintptr_t>(h);
    return device_has_mma() && Wt && scales && h && y && T >= 1 && T <= kMaxTcTokens && F > 0 &&
           F % slices == 0 && F / slices % 64 == 0 && C >= 16 && C % (int4 ? 32 : 16) == 0 &&
           (addr & 15) == 0 &&
           wide_t_smem(int4, F / slices, 4) <= std::size_t(detail::max_smem_optin());
}

cudaError_t ffn_value_wide(bool int4, const void* Wt, const __half* scales, const __half* h, int T,
                           int F, int C, float* y, cudaStream_t stream) {
    if (!ffn_value_wide_fits(int4, Wt, scales, h, T, F, C, y)) return cudaErrorInvalidValue;
    const int G = T <= 8 ? 1 : T <= 16 ? 2 : 4;
    WideTParams p{Wt, scales, h, y, F, C, T, wide_t_slices(F), (T + 8 * G - 1) / (8 * G), int4};
    const bool lean = int4 && wide_lean_mode() > 0;
    const std::size_t smem = wide_t_smem(int4, lean ? kWideCols : F / p.slices, G);
    static const cudaError_t opted_in =
        opt_in_smem(wide_t_smem(false, std::max(wide_cols(), kWideCols), 4),
                    ffn_value_wide_kernel<1, false>, ffn_value_wide_kernel<2, false>,
                    ffn_value_wide_kernel<4, false>, ffn_value_wide_kernel<1, true>,
                    ffn_value_wide_kernel<2, true>, ffn_value_wide_kernel<4, true>);
    if (opted_in != cudaSuccess) return opted_in;
    auto* kernel =
        lean ? by_groups(G, ffn_value_wide_kernel<1, true>, ffn_value_wide_kernel<2, true>,
                         ffn_value_wide_kernel<4, true>)
             : by_groups(G, ffn_value_wide_kernel<1, false>, ffn_value_wide_kernel<2, false>,
                         ffn_value_wide_kernel<4, false>);
    const int col_blocks = (C + kWideRows - 1) / kWideRows;
    return detail::launch_pdl(kernel, dim3(unsigned(col_blocks * p.slices * p.token_blocks)),
                              dim3(32 * kWarps), smem, stream, p);
}

} // namespace gander::kernels
