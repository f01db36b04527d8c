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
//   4. the weights (e, or e^-(M - w)/T recomputed as the host does) of the kept tokens
//      (w >= v*), their sum in id order, and the first token at which the running sum passes
//      u times it.
// The masses of steps 2 and 3 are sums of integers (e times 2^S, S as large as the row's length
// allows without overflow), so they are exact and the same in any order: a row's draw is the same
// on every run. They differ from the host's double sums only by e's bits below 2^-S (under 2^-45
// of the best token's weight each): a cut differs only where the cumulative mass lands that close
// to top_p Z. The weights of step 4 are summed in double, by warps in id order and then across
// warps; where they span less than ~2^29 (top-p's kept set does at temperature 1) every partial
// sum is exact, as the host's are, so the walk picks the same token; elsewhere only a token whose
// weight is below rounding of the sum could differ.
// Step 1 reads the logits once; w and e then stay in the row's scratch (L2), read by each pass.
// Lane `lane` of warp `wi` owns the ids wi 32 K + 32 k + lane (k < K, K = ceil(n / 1,024)): loads
// are coalesced and a warp's ids are consecutive, so the walk's order is lanes, then k, then warps.
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

// A lane's run of consecutive tokens in one bin, added to the shared histogram when the bin
// changes: a flat row puts every token in one bin, whose atomics would otherwise serialise.
struct BinRun {
    int bin = -1;
    unsigned long long mass = 0;
    unsigned count = 0;
    __device__ void add(int b, unsigned long long q, unsigned long long* hm, unsigned* hc) {
        if (b != bin) {
            flush(hm, hc);
            bin = b;
        }
        mass += q;
        ++count;
    }
    __device__ void flush(unsigned long long* hm, unsigned* hc) {
        if (count) {
            atomicAdd(&hm[bin], mass);
            atomicAdd(&hc[bin], count);
        }
        mass = 0;
        count = 0;
    }
};

struct DrawShared {
    std::uint32_t pen_bits[kDrawMaxVocab / 32];
    unsigned long long hist_mass[256];
    unsigned hist_count[256];
    float max_part[kDrawWarps];
    unsigned long long mass_part[kDrawWarps];
    double weight_part[kDrawWarps];
    unsigned prefix;        // the cut's key bits chosen so far
    unsigned long long acc; // the mass of every token above the chosen bins
    int pick, last;
};

// Warp 0: of the 256 bins, walked from the largest keys down, the first that holds tokens and
// brings the running mass (sh.acc, then each bin's) to p_mass. Appends its 8 bits to sh.prefix and
// adds the bins above it to sh.acc. The sums are of integers: exact in any order.
__device__ void choose_bin(DrawShared& sh, double p_mass, int lane) {
    unsigned long long m[8], local = 0;
    unsigned c[8];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
        const int b = 255 - 8 * lane - j;
        m[j] = sh.hist_mass[b];
        c[j] = sh.hist_count[b];
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

__global__ void __launch_bounds__(kDrawThreads)
    draw_rows_kernel(const float* x, long long pitch, const DrawRow* params, const DrawPenalty* pen,
                     float* scratch, std::int32_t* out) {
    __shared__ DrawShared sh;
    const int row = int(blockIdx.x), tid = int(threadIdx.x), lane = tid & 31, warp = tid >> 5;
    // The settings and the penalties come from the host before the step: read before the wait.
    const DrawRow p = params[row];
    const int n = p.n > 0 && p.n <= kDrawMaxVocab && p.n <= pitch ? p.n : 0;
    for (int i = tid; i < (n + 31) / 32; i += kDrawThreads) sh.pen_bits[i] = 0;
    if (tid < 256) {
        sh.hist_mass[tid] = 0;
        sh.hist_count[tid] = 0;
    }
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

    const float* lg = x + std::size_t(row) * std::size_t(pitch);
    float* w = scratch + std::size_t(row) * 2 * std::size_t(pitch);
    float* e = w + pitch;
    const int K = (n + kDrawThreads - 1) / kDrawThreads;
    const int base = warp * 32 * K + lane;
    const auto no_nan = [](float v) { return isnan(v) ? -INFINITY : v; };

    // 1. w and its maximum (-0 made +0 for the keys; the host's float compares take them equal).
    float mx = -INFINITY;
    for (int k = 0; k < K; ++k) {
        const int i = base + 32 * k;
        if (i >= n) break;
        if ((sh.pen_bits[i >> 5] >> (i & 31)) & 1u) continue;
        const float v = __fadd_rn(no_nan(lg[i]), 0.0f);
        w[i] = v;
        mx = fmaxf(mx, v);
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
            const int i = base + 32 * k;
            if (i >= n) break;
            w[i] = w[i] == INFINITY ? 0.0f : -INFINITY;
        }
        M = 0.0f;
        __syncthreads();
    }

    // 2. e, Z, and the first round's histogram (the top 8 bits of the keys).
    const bool use_cut = p.top_p < 1.0f;
    const int S = 62 - (n > 1 ? 32 - __clz(n - 1) : 0); // n tokens of at most 2^S: below 2^62
    const float scale = __int_as_float((127 + S) << 23);
    unsigned long long z = 0;
    BinRun run;
    for (int k = 0; k < K; ++k) {
        const int i = base + 32 * k;
        if (i >= n) break;
        const float v = w[i], ev = exp_neg(__fsub_rn(M, v));
        e[i] = ev;
        const unsigned long long q = __float2ull_rz(__fmul_rn(ev, scale));
        z += q;
        if (use_cut) run.add(int(order_key(v) >> 24), q, sh.hist_mass, sh.hist_count);
    }
    run.flush(sh.hist_mass, sh.hist_count);
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
            if (tid < 256) {
                sh.hist_mass[tid] = 0;
                sh.hist_count[tid] = 0;
            }
            __syncthreads();
            const int shift = 24 - 8 * round;
            const unsigned prefix = sh.prefix;
            BinRun r;
            for (int k = 0; k < K; ++k) {
                const int i = base + 32 * k;
                if (i >= n) break;
                const unsigned key = order_key(w[i]);
                if ((key >> (shift + 8)) != prefix) continue;
                r.add(int((key >> shift) & 255u), __float2ull_rz(__fmul_rn(e[i], scale)),
                      sh.hist_mass, sh.hist_count);
            }
            r.flush(sh.hist_mass, sh.hist_count);
            __syncthreads();
            if (warp == 0) choose_bin(sh, p_mass, lane);
            __syncthreads();
        }
        cut = sh.prefix;
    }

    // 4. The kept tokens' weights in id order against u times their sum (two passes: the warps'
    // sums, then each token's running sum).
    const bool t_one = p.temperature_one != 0;
    const float inv_t = p.inv_temperature;
    const auto weight = [&](int i) {
        if (i >= n) return 0.0f;
        const float v = w[i];
        if (use_cut && order_key(v) < cut) return 0.0f;
        const float wt = t_one ? e[i] : exp_neg(__fmul_rn(__fsub_rn(M, v), inv_t));
        return wt > 0.0f ? wt : 0.0f;
    };
    double carry = 0.0;
    for (int k = 0; k < K; ++k) {
        const double incl = warp_prefix(double(weight(base + 32 * k)), lane);
        carry += __shfl_sync(0xffffffffu, incl, 31);
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
    for (int k = 0; k < K; ++k) {
        const int i = base + 32 * k;
        const float wt = weight(i);
        const double incl = warp_prefix(double(wt), lane);
        if (wt > 0.0f) {
            last = i;
            if (first == INT_MAX && carry + incl > target) first = i;
        }
        carry += __shfl_sync(0xffffffffu, incl, 31);
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
