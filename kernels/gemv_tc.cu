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

#include "kernels/common.cuh"
#include "kernels/gemv_tc.h"

namespace gander::kernels {
namespace {

using detail::grid_dep_launch;
using detail::grid_dep_wait;

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

__device__ __forceinline__ void mma16816(float (&d)[4], std::uint32_t a0, std::uint32_t a1,
                                         std::uint32_t a2, std::uint32_t a3, std::uint32_t b0,
                                         std::uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
    __trap(); // gemv_tc_fits() keeps older cards away
#endif
}

__device__ __forceinline__ std::uint32_t h2_bits(__half2 h) {
    return *reinterpret_cast<std::uint32_t*>(&h);
}
__device__ __forceinline__ __half2 bits_h2(std::uint32_t u) {
    return *reinterpret_cast<__half2*>(&u);
}

// Four int8 in a word -> two fp16 pairs (bytes 0,1 and 2,3), exact: 0x64xx is 1024 + xx as fp16,
// and the byte is offset by 128 first (xor) so that 1024 + 128 + q comes out; subtract 1152.
__device__ __forceinline__ void i8x4_to_h2(std::uint32_t w, std::uint32_t& lo, std::uint32_t& hi) {
    const std::uint32_t u = w ^ 0x80808080u;
    const __half2 bias = __half2half2(__ushort_as_half(0x6480)); // 1152
    lo = h2_bits(__hsub2(bits_h2(__byte_perm(u, 0x64646464u, 0x4140)), bias));
    hi = h2_bits(__hsub2(bits_h2(__byte_perm(u, 0x64646464u, 0x4342)), bias));
}

// Eight nibbles in a word (nibble n = column n) -> four fp16 pairs (n0,n4) (n1,n5) (n2,n6) (n3,n7),
// exact values nibble - 8: a nibble or-ed under 0x6400 is 1024 + n; one at bits 4-7, 1024 + 16 n.
__device__ __forceinline__ void i4x8_to_h2(std::uint32_t w, std::uint32_t (&p)[4]) {
    const __half2 b8 = __half2half2(__ushort_as_half(0x6408));     // 1032
    const __half2 s16 = __half2half2(__ushort_as_half(0x2C00));    // 1/16
    const __half2 b72 = __half2half2(__ushort_as_half(0xD480));    // -72
    const std::uint32_t w8 = w >> 8;
    p[0] = h2_bits(__hsub2(bits_h2((w & 0x000F000Fu) | 0x64006400u), b8));
    p[1] = h2_bits(__hfma2(bits_h2((w & 0x00F000F0u) | 0x64006400u), s16, b72));
    p[2] = h2_bits(__hsub2(bits_h2((w8 & 0x000F000Fu) | 0x64006400u), b8));
    p[3] = h2_bits(__hfma2(bits_h2((w8 & 0x00F000F0u) | 0x64006400u), s16, b72));
}

// Weight loads: marked streaming (evict first from L2) for one token; for several, the blocks of
// the other token groups read the same rows right after and must find them in L2.
template <bool kKeep, typename T> __device__ __forceinline__ T ld_w(const T* p) {
    if constexpr (kKeep)
        return __ldg(p);
    else
        return __ldcs(p);
}

template <WeightKind K, bool kKeep>
__device__ __forceinline__ typename Traits<K>::Load load_w(const TcJob& job, int row, int col) {
    if constexpr (K == WeightKind::F16) {
        const auto* p = static_cast<const __half*>(job.W) + std::size_t(row) * job.cols + col;
        return ld_w<kKeep>(reinterpret_cast<const uint4*>(p));
    } else if constexpr (K == WeightKind::Int8Row) {
        const auto* p = static_cast<const std::uint8_t*>(job.W) + std::size_t(row) * job.cols + col;
        return ld_w<kKeep>(reinterpret_cast<const uint4*>(p));
    } else {
        // `col` is the step's first column plus 16 t: lane t takes 16 columns of each of the
        // step's two scale groups (8 bytes at col / 2 and 8 at col / 2 + 32), so that the four
        // lanes of an mma hold one group and no lane swaps halves with another.
        const auto* p =
            static_cast<const std::uint8_t*>(job.W) + std::size_t(row) * (job.cols / 2) + col / 2;
        const uint2 lo = ld_w<kKeep>(reinterpret_cast<const uint2*>(p));
        const uint2 hi = ld_w<kKeep>(reinterpret_cast<const uint2*>(p + 32));
        return make_uint4(lo.x, lo.y, hi.x, hi.y);
    }
}

__host__ __device__ constexpr int span_of(WeightKind k) {
    return k == WeightKind::F16 ? 32 : k == WeightKind::Int8Row ? 64 : 128;
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
template <WeightKind K, bool kLong, bool kMulti>
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
    const int groups = job.cols / 64; // int4 scales per row

    typename T::Load wa[U], wb[U];
    __half2 sa[U], sb[U]; // int4: the step's two group scales for rows r0, r1
    auto load = [&](int s, int n) {
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (u < n) {
                const int col =
                    (s + u) * kSpan + t * (K == WeightKind::Int4G64 ? 16 : T::kVals);
                wa[u] = load_w<K, kMulti>(job, r0, col);
                wb[u] = load_w<K, kMulti>(job, r1, col);
                if constexpr (K == WeightKind::Int4G64) {
                    sa[u] = *reinterpret_cast<const __half2*>(job.scales +
                                                              std::size_t(r0) * groups + 2 * (s + u));
                    sb[u] = *reinterpret_cast<const __half2*>(job.scales +
                                                              std::size_t(r1) * groups + 2 * (s + u));
                }
            }
        }
    };

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
            for (int c = c0; c < c1; c += stride) {
                uint4 v = __ldg(reinterpret_cast<const uint4*>(x + c));
                if constexpr (K == WeightKind::Int4G64) // x0..x7 -> (x0,x4) (x1,x5) (x2,x6) (x3,x7)
                    v = make_uint4(__byte_perm(v.x, v.z, 0x5410), __byte_perm(v.x, v.z, 0x7632),
                                   __byte_perm(v.y, v.w, 0x5410), __byte_perm(v.y, v.w, 0x7632));
                xr[c / 8] = v;
            }
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
        grid_dep_wait();
        stage_x(true);
        load(s, n);
    }

    float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f}; // int4: rows g, g + 8 x the mma columns 2t, 2t + 1
    const uint4* xt = xs + (kMulti ? g * xrow : 0); // the x of this lane's mma column
    while (n > 0) {
#pragma unroll
        for (int u = 0; u < U; ++u) {
            if (u < n) {
                const int col = (s + u) * kSpan + t * T::kVals;
                if constexpr (K == WeightKind::F16) {
                    const uint4 x = xt[col / 8];
                    mma16816(d, wa[u].x, wb[u].x, wa[u].y, wb[u].y, x.x, x.y);
                    mma16816(d, wa[u].z, wb[u].z, wa[u].w, wb[u].w, x.z, x.w);
                } else if constexpr (K == WeightKind::Int8Row) {
                    const uint4 x01 = xt[col / 8], x23 = xt[col / 8 + 1];
                    const std::uint32_t xa[8] = {x01.x, x01.y, x01.z, x01.w,
                                                 x23.x, x23.y, x23.z, x23.w};
                    const std::uint32_t wra[4] = {wa[u].x, wa[u].y, wa[u].z, wa[u].w};
                    const std::uint32_t wrb[4] = {wb[u].x, wb[u].y, wb[u].z, wb[u].w};
#pragma unroll
                    for (int k = 0; k < 4; ++k) {
                        std::uint32_t alo, ahi, blo, bhi;
                        i8x4_to_h2(wra[k], alo, ahi);
                        i8x4_to_h2(wrb[k], blo, bhi);
                        mma16816(d, alo, blo, ahi, bhi, xa[2 * k], xa[2 * k + 1]);
                    }
                } else {
                    // Lane t holds columns 16t..16t+15 of each group (load_w): words .x, .y
                    // of group 0 and .z, .w of group 1, for rows r0 (wa) and r1 (wb). x sits in
                    // shared memory in the nibbles' pair order (stage_x), one uint4 a word.
                    const std::uint32_t ga[2][2] = {{wa[u].x, wa[u].y}, {wa[u].z, wa[u].w}};
                    const std::uint32_t gb[2][2] = {{wb[u].x, wb[u].y}, {wb[u].z, wb[u].w}};
                    const int step_col = (s + u) * kSpan;
#pragma unroll
                    for (int grp = 0; grp < 2; ++grp) {
                        float e[4] = {0.0f, 0.0f, 0.0f, 0.0f};
                        const int xc = step_col + 64 * grp + 16 * t;
#pragma unroll
                        for (int j = 0; j < 2; ++j) {
                            const uint4 x = xt[xc / 8 + j]; // (x0,x4) (x1,x5) (x2,x6) (x3,x7)
                            std::uint32_t pa[4], pb[4];
                            i4x8_to_h2(ga[grp][j], pa);
                            i4x8_to_h2(gb[grp][j], pb);
                            mma16816(e, pa[0], pb[0], pa[1], pb[1], x.x, x.y);
                            mma16816(e, pa[2], pb[2], pa[3], pb[3], x.z, x.w);
                        }
                        const float2 fa = __half22float2(sa[u]), fb = __half22float2(sb[u]);
                        const float ra = grp ? fa.y : fa.x, rb = grp ? fb.y : fb.x;
                        acc[0] = fmaf(e[0], ra, acc[0]);
                        acc[2] = fmaf(e[2], rb, acc[2]);
                        if constexpr (kMulti) {
                            acc[1] = fmaf(e[1], ra, acc[1]);
                            acc[3] = fmaf(e[3], rb, acc[3]);
                        }
                    }
                }
            }
        }
        s += n;
        n = min(U, s_end - s);
        if (n > 0) load(s, n);
    }
    if constexpr (K != WeightKind::Int4G64) {
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[i] = d[i];
    }

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

template <bool kLong, bool kMulti>
__global__ void __launch_bounds__(32 * kWarps) gemv_tc_kernel(const __grid_constant__ Params p) {
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
        tile<WeightKind::F16, kLong, kMulti>(job, tile_idx, xs, tok0, n_tok);
        break;
    case WeightKind::Int8Row:
        tile<WeightKind::Int8Row, kLong, kMulti>(job, tile_idx, xs, tok0, n_tok);
        break;
    case WeightKind::Int4G64:
        tile<WeightKind::Int4G64, kLong, kMulti>(job, tile_idx, xs, tok0, n_tok);
        break;
    }
}

bool device_has_mma() {
    return detail::compute_major() >= 8;
}

} // namespace

bool gemv_tc_fits(const TcJob& job, int tokens) {
    const int span = span_of(job.kind);
    const auto addr = reinterpret_cast<std::uintptr_t>(job.W) |
                      reinterpret_cast<std::uintptr_t>(job.x);
    const int ldx = job.ldx ? job.ldx : job.cols;
    const bool tokens_fit =
        tokens == 1 || (tokens > 1 && tokens <= kMaxTcTokens && job.cols <= kMaxTcColsTokens &&
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
        all_long = all_long && batch.jobs[j].in == GemvIn::Plain &&
                   k_slices(batch.jobs[j]) == kWarps;
    const dim3 grid(unsigned(p.tile_start[batch.n_jobs] * p.groups));
    if (!multi)
        return detail::launch_pdl(all_long ? gemv_tc_kernel<true, false>
                                           : gemv_tc_kernel<false, false>,
                                  grid, dim3(32 * kWarps), smem, stream, p);
    // Several tokens: up to 8 rows of x (kMaxTcColsTokens wide) in shared memory, beyond the 48 KB
    // a launch gets without asking.
    auto* kernel = all_long ? gemv_tc_kernel<true, true> : gemv_tc_kernel<false, true>;
    static const cudaError_t opted_in = [] {
        const int most = int(kTok * x_stride(WeightKind::F16, kMaxTcColsTokens) * sizeof(uint4));
        cudaError_t e = cudaFuncSetAttribute(gemv_tc_kernel<true, true>,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize, most);
        if (e == cudaSuccess)
            e = cudaFuncSetAttribute(gemv_tc_kernel<false, true>,
                                     cudaFuncAttributeMaxDynamicSharedMemorySize, most);
        return e;
    }();
    if (opted_in != cudaSuccess) return opted_in;
    return detail::launch_pdl(kernel, grid, dim3(32 * kWarps), smem, stream, p);
}

} // namespace gander::kernels
