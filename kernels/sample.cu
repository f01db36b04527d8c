// On-card picks (see sample.h).
#include <cub/block/block_reduce.cuh>

#include <climits>
#include <cstdint>

#include "kernels/common.cuh"
#include "kernels/sample.h"

namespace gander::kernels {
namespace {

struct ArgMax {
    float v;
    int i;
};
struct ArgMaxOp {
    __device__ ArgMax operator()(const ArgMax& a, const ArgMax& b) const {
        if (a.v > b.v || (a.v == b.v && a.i < b.i)) return a;
        return b;
    }
};

// argmax_rows: block r scans row r with coalesced strided loads (each thread's indices rise, so a
// thread keeps the first of its equal maxima), then the block reduces (value, index) pairs.
constexpr int kArgmaxThreads = 512;

__global__ void __launch_bounds__(kArgmaxThreads)
    argmax_rows_kernel(const float* x, long long n, long long pitch, std::int32_t* out) {
    const float* row = x + (long long)blockIdx.x * pitch;
    ArgMax best{-INFINITY, INT_MAX};
    for (long long i = threadIdx.x; i < n; i += kArgmaxThreads) {
        const float v = row[i];
        if (v > best.v || (v == best.v && int(i) < best.i)) best = {v, int(i)}; // NaN: neither
    }
    using ReduceArg = cub::BlockReduce<ArgMax, kArgmaxThreads>;
    __shared__ typename ReduceArg::TempStorage tmp;
    const ArgMax top = ReduceArg(tmp).Reduce(best, ArgMaxOp{});
    if (threadIdx.x == 0) out[blockIdx.x] = top.i == INT_MAX ? 0 : top.i;
}

// ---- draw_rows ----
//
// The host's Sampler (engine/src/sampler.cpp) keeps, for top-p, every token whose logit is at
// least that of the token where the descending cumulative probability first reaches top_p, finds
// it through buckets of distance from the best logit and sorts only the bucket of the cut, then
// walks the kept tokens in id order against u times their summed weights. One block a row does
// the same here:
//   1. w = the logits with NaN as -inf, minus the penalties (a bitmap says which tokens have one),
//      and their maximum M (+inf logits: those tokens share all the probability, as on the host);
//   2. e = e^-(M - w) by the host's own exp (the same float operations, each rounded alone, so
//      the same bits), and their sum Z;
//   3. the cut's logit v* = the largest v whose tokens with w >= v hold at least top_p Z, by a
//      radix select on w's bits: four rounds of a histogram of 256 bins of the next 8 bits among
//      the tokens that match the bits chosen so far, walked from the largest;
//   4. the weights (e, or e^(-(M - w) / T) recomputed as the host does) of the kept tokens
//      (w >= v*), their sum in id order, and the first token at which the running sum passes
//      u times it.
//
// The masses of steps 2 and 3 are sums of integers (e times 2^44, mass_of), so they are exact and
// the same in any order: a row's draw is the same on every run. They differ from the host's
// double sums only by e's bits below 2^-44 (of the best token's weight, 1): a cut differs only
// where the cumulative mass lands that close to top_p Z. The weights of step 4 are summed in
// double, by warps in id order and then across warps, in a fixed order; where they span less than
// ~2^29 (top-p's kept set does at temperature 1) every partial sum is exact, as the host's are, so
// the walk picks the same token; elsewhere only a token whose weight is below rounding of the sum
// could differ.
//
// Step 1 reads the logits once; w and e then stay in the row's scratch (L2), read by each pass, 8
// loads in flight a lane. Lane `lane` of warp `wi` owns the ids wi 32 K + 32 k + lane (k < K,
// K = ceil(n / 1,024)): loads are coalesced and a warp's ids are consecutive, so the walk's order
// is lanes, then k, then warps. Histogram bins take 32-bit atomics, a warp's sum at once where all
// its lanes share the bin (bin_add).
//
// On an H200 a row of 65,536 takes ~135 us (one SM; 32 rows at once take the same), against
// ~175-270 us for the host's Sampler there (twenty-second session). The first version, a bin's
// 64-bit mass by one atomic a token and one load in flight a lane, took ~0.7 ms.
constexpr int kDrawThreads = 1024, kDrawWarps = kDrawThreads / 32;
constexpr int kPenPerThread = kDrawMaxPenalties / kDrawThreads;
static_assert(kDrawMaxPenalties % kDrawThreads == 0);

// e^-d for d >= 0 as sampler.cpp's exp_neg computes it: a Cody-Waite reduction and a degree-7
// Taylor polynomial, every operation rounded on its own (no contraction into fused multiply-adds).
__device__ __forceinline__ float exp_neg(float d) {
    const int limit = __float_as_int(87.0f);
    const int bits = __float_as_int(d);
    const float x = -__int_as_float(min(bits, limit));
    const float n = __fsub_rn(__fadd_rn(__fmul_rn(x, 1.44269504f), 12582912.0f), 12582912.0f);
    const float r = __fsub_rn(__fsub_rn(x, __fmul_rn(n, 0.693145751953125f)),
                              __fmul_rn(n, 1.428606765330187e-6f));
    float p = __fadd_rn(1.0f / 120, __fdiv_rn(r, 720.0f));
    p = __fadd_rn(1.0f / 24, __fmul_rn(r, p));
    p = __fadd_rn(1.0f / 6, __fmul_rn(r, p));
    p = __fadd_rn(0.5f, __fmul_rn(r, p));
    p = __fadd_rn(1.0f, __fmul_rn(r, p));
    p = __fadd_rn(1.0f, __fmul_rn(r, p));
    const float scale = __int_as_float((int(n) + 127) << 23);
    const int keep = -int(bits < limit);
    return __int_as_float(__float_as_int(__fmul_rn(p, scale)) & keep);
}

// A key whose unsigned order is the float order (w is never NaN; -0 was made +0).
__device__ __forceinline__ unsigned order_key(float v) {
    const unsigned b = __float_as_uint(v);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ unsigned long long warp_sum_u64(unsigned long long v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Inclusive prefix sum over the warp's lanes, in lane order.
__device__ __forceinline__ double warp_prefix(double v, int lane) {
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const double t = __shfl_up_sync(0xffffffffu, v, o);
        if (lane >= o) v += t;
    }
    return v;
}

// Token masses as integers: e times 2^44, below 2^45 (e <= 1), exact for e >= 2^-21, each token
// off by less than 2^-44 below that. A histogram bin holds a mass in three 15-bit parts, each
// summed by native 32-bit shared atomics (at most 2^17 tokens of < 2^15: no overflow), and is read
// back as one 64-bit integer; a row's total is below 2^62.
constexpr float kMassScale = 17592186044416.0f; // 2^44
__device__ __forceinline__ unsigned long long mass_of(float e) {
    return __float2ull_rz(__fmul_rn(e, kMassScale));
}

constexpr int kHistCopies = 4; // lane l adds to copy l % 4: a quarter of the conflicts

struct DrawShared {
    std::uint32_t pen_bits[kDrawMaxVocab / 32];
    // A bin's mass in 15-bit parts [0..2] and its count [3], in kHistCopies copies.
    unsigned hist[kHistCopies][4][256];
    float max_part[kDrawWarps];
    unsigned long long mass_part[kDrawWarps];
    double weight_part[kDrawWarps];
    unsigned prefix;        // the cut's key bits chosen so far
    unsigned long long acc; // the mass of every token above the chosen bins
    int pick, last;
};

// The sum over the warp's 32 lanes (every lane taking part): one instruction from sm_80 on, a
// butterfly of shuffles before (sm_75).
__device__ __forceinline__ unsigned warp_sum_u32(unsigned v) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    return __reduce_add_sync(0xffffffffu, v);
#else
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
#endif
}

// Adds a token of mass q to bin d (d = 256: none). Where the whole warp shares one bin (tied or
// nearly flat rows), its masses are summed first (three reductions) and one lane adds them;
// otherwise each lane adds its own, into the copy of its lane % 4, with 32-bit atomics.
// (__match_any_sync grouped the lanes by bin in an earlier version: ~600 instructions a warp's
// 32 tokens on an H200, a loop.)
__device__ __forceinline__ void bin_add(DrawShared& sh, int d, unsigned long long q, int lane) {
    const int d0 = __shfl_sync(0xffffffffu, d, 0);
    if (__all_sync(0xffffffffu, d == d0)) {
        if (d0 == 256) return;
        const unsigned s0 = warp_sum_u32(unsigned(q & 0x7FFFu));
        const unsigned s1 = warp_sum_u32(unsigned((q >> 15) & 0x7FFFu));
        const unsigned s2 = warp_sum_u32(unsigned(q >> 30));
        if (lane == 0) {
            atomicAdd(&sh.hist[0][0][d0], s0);
            atomicAdd(&sh.hist[0][1][d0], s1);
            atomicAdd(&sh.hist[0][2][d0], s2);
            atomicAdd(&sh.hist[0][3][d0], 32u);
        }
        return;
    }
    if (d < 256) {
        auto& h = sh.hist[lane % kHistCopies];
        atomicAdd(&h[0][d], unsigned(q & 0x7FFFu));
        atomicAdd(&h[1][d], unsigned((q >> 15) & 0x7FFFu));
        atomicAdd(&h[2][d], unsigned(q >> 30));
        atomicAdd(&h[3][d], 1u);
    }
}

__device__ __forceinline__ void clear_hist(DrawShared& sh, int tid) {
    unsigned* h = &sh.hist[0][0][0];
    for (int i = tid; i < kHistCopies * 4 * 256; i += kDrawThreads) h[i] = 0;
}

// Warp 0: of the 256 bins, walked from the largest keys down, the first that holds tokens and
// brings the running mass (sh.acc, then each bin's) to p_mass. Appends its 8 bits to sh.prefix and
// adds the bins above it to sh.acc. The sums are of integers: exact in any order.
__device__ void choose_bin(DrawShared& sh, double p_mass, int lane) {
    unsigned long long m[8], local = 0;
    unsigned c[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const int b = 255 - 8 * lane - j;
        m[j] = 0;
        c[j] = 0;
#pragma unroll
        for (int h = 0; h < kHistCopies; ++h) {
            m[j] += sh.hist[h][0][b] + (static_cast<unsigned long long>(sh.hist[h][1][b]) << 15) +
                    (static_cast<unsigned long long>(sh.hist[h][2][b]) << 30);
            c[j] += sh.hist[h][3][b];
        }
        local += m[j];
    }
    unsigned long long before = local; // exclusive prefix over the lanes (bins above this lane's)
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
        const unsigned long long t = __shfl_up_sync(0xffffffffu, before, o);
        if (lane >= o) before += t;
    }
    before -= local;
    unsigned long long running = sh.acc + before;
    int found = -1, lowest = -1;
    unsigned long long at = 0, at_lowest = 0;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        if (c[j] > 0) {
            if (found < 0 && double(running + m[j]) >= p_mass) {
                found = 255 - 8 * lane - j;
                at = running;
            }
            lowest = 255 - 8 * lane - j;
            at_lowest = running;
        }
        running += m[j];
    }
    const unsigned hit = __ballot_sync(0xffffffffu, found >= 0);
    // Exact sums make a bin always reach p_mass (p_mass < Z); should one not, the cut is the
    // last token that has any mass: the lowest non-empty bin.
    const unsigned any = __ballot_sync(0xffffffffu, lowest >= 0);
    const int winner = hit ? __ffs(hit) - 1 : 31 - __clz(any);
    __syncwarp();
    if (lane == winner) {
        sh.prefix = (sh.prefix << 8) | unsigned(hit ? found : lowest);
        sh.acc = hit ? at : at_lowest;
    }
}

// The passes over a row go 8 of a lane's ids at a time, their loads first, so that each lane has
// 8 in flight (a pass is then bound by the L2's bytes, not by one round trip a token).
constexpr int kUnroll = 8;

__global__ void __launch_bounds__(kDrawThreads)
    draw_rows_kernel(const float* x, long long pitch, const DrawRow* params, const DrawPenalty* pen,
                     float* scratch, std::int32_t* out) {
    __shared__ DrawShared sh;
    const int row = int(blockIdx.x), tid = int(threadIdx.x), lane = tid & 31, warp = tid >> 5;
    // The settings and the penalties come from the host before the step: read before the wait.
    const DrawRow p = params[row];
    const int n = p.n > 0 && p.n <= kDrawMaxVocab && p.n <= pitch ? p.n : 0;
    for (int i = tid; i < (n + 31) / 32; i += kDrawThreads) sh.pen_bits[i] = 0;
    clear_hist(sh, tid);
    if (tid == 0) {
        sh.prefix = 0;
        sh.acc = 0;
        sh.pick = INT_MAX;
        sh.last = -1;
    }
    __syncthreads();
    const int n_pen = min(p.penalties, kDrawMaxPenalties);
    DrawPenalty mine[kPenPerThread];
#pragma unroll
    for (int j = 0; j < kPenPerThread; ++j) {
        const int i = tid + j * kDrawThreads;
        mine[j] = i < n_pen ? pen[std::size_t(row) * kDrawMaxPenalties + std::size_t(i)]
                            : DrawPenalty{-1, 0.0f};
        if (mine[j].token >= 0 && mine[j].token < n)
            atomicOr(&sh.pen_bits[mine[j].token >> 5], 1u << (mine[j].token & 31));
        else
            mine[j].token = -1;
    }
    __syncthreads();
    detail::grid_dep_begin(); // the logits are the kernel before's
    if (n == 0) {
        if (tid == 0) out[row] = -1;
        return;
    }

    const float* __restrict__ lg = x + std::size_t(row) * std::size_t(pitch);
    float* __restrict__ w = scratch + std::size_t(row) * 2 * std::size_t(pitch);
    float* __restrict__ e = w + pitch;
    const int K = (n + kDrawThreads - 1) / kDrawThreads;
    const int base = warp * 32 * K + lane;
    const auto id = [&](int k) { return base + 32 * k; };
    const auto no_nan = [](float v) { return isnan(v) ? -INFINITY : v; };

    // 1. w and its maximum (-0 made +0 for the keys; the host's float compares take them equal).
    float mx = -INFINITY;
    for (int k0 = 0; k0 < K; k0 += kUnroll) {
        float v[kUnroll];
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            v[j] = k0 + j < K && i < n ? lg[i] : -INFINITY;
        }
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            if (k0 + j >= K || i >= n || ((sh.pen_bits[i >> 5] >> (i & 31)) & 1u)) continue;
            const float u = __fadd_rn(no_nan(v[j]), 0.0f);
            w[i] = u;
            mx = fmaxf(mx, u);
        }
    }
#pragma unroll
    for (int j = 0; j < kPenPerThread; ++j)
        if (mine[j].token >= 0) {
            const float v = __fadd_rn(__fsub_rn(no_nan(lg[mine[j].token]), mine[j].amount), 0.0f);
            w[mine[j].token] = v;
            mx = fmaxf(mx, v);
        }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    if (lane == 0) sh.max_part[warp] = mx;
    __syncthreads();
    float M = -INFINITY;
    for (int i = 0; i < kDrawWarps; ++i) M = fmaxf(M, sh.max_part[i]);
    if (M == -INFINITY) { // every logit -inf or NaN: the host's sampler says so
        if (tid == 0) out[row] = -1;
        return;
    }
    if (M == INFINITY) { // the +inf tokens share all the probability
        for (int k = 0; k < K; ++k) {
            const int i = id(k);
            if (i < n) w[i] = w[i] == INFINITY ? 0.0f : -INFINITY;
        }
        M = 0.0f;
        __syncthreads();
    }

    // 2. e, Z, and the first round's histogram (the top 8 bits of the keys).
    const bool use_cut = p.top_p < 1.0f;
    unsigned long long z = 0;
    for (int k0 = 0; k0 < K; k0 += kUnroll) {
        float v[kUnroll];
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            v[j] = k0 + j < K && i < n ? w[i] : -INFINITY;
        }
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            const bool in = k0 + j < K && i < n;
            const float ev = exp_neg(__fsub_rn(M, v[j]));
            if (in) e[i] = ev;
            const unsigned long long q = in ? mass_of(ev) : 0;
            z += q;
            if (use_cut) bin_add(sh, in ? int(order_key(v[j]) >> 24) : 256, q, lane);
        }
    }
    z = warp_sum_u64(z);
    if (lane == 0) sh.mass_part[warp] = z;
    __syncthreads();
    z = 0;
    for (int i = 0; i < kDrawWarps; ++i) z += sh.mass_part[i];

    // 3. The cut's key, 8 bits a round.
    unsigned cut = 0;
    if (use_cut) {
        const double p_mass = double(fmaxf(p.top_p, 0.0f)) * double(z);
        if (warp == 0) choose_bin(sh, p_mass, lane);
        __syncthreads();
        for (int round = 1; round < 4; ++round) {
            clear_hist(sh, tid);
            __syncthreads();
            const int shift = 24 - 8 * round;
            const unsigned prefix = sh.prefix;
            for (int k0 = 0; k0 < K; k0 += kUnroll) {
                unsigned key[kUnroll];
#pragma unroll
                for (int j = 0; j < kUnroll; ++j) {
                    const int i = id(k0 + j);
                    key[j] = k0 + j < K && i < n ? order_key(w[i]) : 0u;
                }
#pragma unroll
                for (int j = 0; j < kUnroll; ++j) {
                    const int i = id(k0 + j);
                    const bool in = k0 + j < K && i < n && (key[j] >> (shift + 8)) == prefix;
                    bin_add(sh, in ? int((key[j] >> shift) & 255u) : 256, in ? mass_of(e[i]) : 0,
                            lane);
                }
            }
            __syncthreads();
            if (warp == 0) choose_bin(sh, p_mass, lane);
            __syncthreads();
        }
        cut = sh.prefix;
    }

    // 4. The kept tokens' weights in id order against u times their sum: the warps' sums (the
    // weights at a temperature other than 1 computed once, into e), then each token's running sum.
    const bool t_one = p.temperature_one != 0;
    const float inv_t = p.inv_temperature;
    double carry = 0.0;
    for (int k0 = 0; k0 < K; k0 += kUnroll) {
        float v[kUnroll], ev[kUnroll];
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            const bool in = k0 + j < K && i < n;
            v[j] = in ? w[i] : -INFINITY;
            ev[j] = in ? e[i] : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            const bool in = k0 + j < K && i < n;
            const bool kept = in && (!use_cut || order_key(v[j]) >= cut);
            float wt =
                kept ? (t_one ? ev[j] : exp_neg(__fmul_rn(__fsub_rn(M, v[j]), inv_t))) : 0.0f;
            wt = wt > 0.0f ? wt : 0.0f;
            if (in) e[i] = wt;
            // Where no lane of the warp keeps a token (most of a trained model's row) the sum
            // would add 0.
            if (__any_sync(0xffffffffu, wt > 0.0f))
                carry += __shfl_sync(0xffffffffu, warp_prefix(double(wt), lane), 31);
        }
    }
    if (lane == 0) sh.weight_part[warp] = carry;
    __syncthreads();
    double before = 0.0, total = 0.0;
    for (int i = 0; i < kDrawWarps; ++i) {
        if (i == warp) before = total;
        total += sh.weight_part[i];
    }
    const double target = p.u * total;
    carry = before;
    int first = INT_MAX, last = -1;
    for (int k0 = 0; k0 < K; k0 += kUnroll) {
        float wv[kUnroll];
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            wv[j] = k0 + j < K && i < n ? e[i] : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < kUnroll; ++j) {
            const int i = id(k0 + j);
            if (!__any_sync(0xffffffffu, wv[j] > 0.0f)) continue;
            const double incl = warp_prefix(double(wv[j]), lane);
            if (wv[j] > 0.0f) {
                last = i;
                if (first == INT_MAX && carry + incl > target) first = i;
            }
            carry += __shfl_sync(0xffffffffu, incl, 31);
        }
    }
    if (first != INT_MAX) atomicMin(&sh.pick, first);
    if (last >= 0) atomicMax(&sh.last, last);
    __syncthreads();
    // Rounding may leave the running sum a hair short of the target: the last kept token, as the
    // host.
    if (tid == 0) out[row] = sh.pick != INT_MAX ? sh.pick : sh.last;
}

} // namespace

cudaError_t argmax_rows(const float* x, long long n, long long pitch, int rows, std::int32_t* out,
                        cudaStream_t stream) {
    if (rows < 0 || rows > 65535 || n < 0 || n > INT_MAX || pitch < n) return cudaErrorInvalidValue;
    if (rows == 0) return cudaSuccess;
    if (!x || !out || n == 0) return cudaErrorInvalidValue;
    argmax_rows_kernel<<<rows, kArgmaxThreads, 0, stream>>>(x, n, pitch, out);
    return cudaGetLastError();
}

cudaError_t draw_rows(const float* x, long long pitch, int rows, const DrawRow* params,
                      const DrawPenalty* pen, float* scratch, std::int32_t* out,
                      cudaStream_t stream) {
    if (rows < 0 || rows > 65535 || pitch < 1) return cudaErrorInvalidValue;
    if (rows == 0) return cudaSuccess;
    if (!x || !params || !pen || !scratch || !out) return cudaErrorInvalidValue;
    return detail::launch_pdl(draw_rows_kernel, dim3(unsigned(rows)), dim3(kDrawThreads), 0, stream,
                              x, pitch, params, pen, scratch, out);
}

} // namespace gander::kernels
