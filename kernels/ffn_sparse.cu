// Sparse FFN value projection (see ffn_sparse.h).
//
// Layout: blocks (f-chunk of 256 fp16 or 128 int8 / int4 rows, c-chunk of 1,024 fp16 or 2,048
// int8 / int4 columns), 256 threads. The block first lists the non-zero h of its chunk in shared
// memory (warp ballots, in row order), then each thread streams 8 bytes (4 fp16 or 8 int8
// columns) or 4 bytes (8 int4 columns) of every listed row, accumulating in registers: in rounds
// of 16 int4 or 8 fp16 / int8 rows, the next round's loads issued before the current round is
// multiplied (two register buffers; GANDER_SPARSE_PIPE=0 keeps the older stream, 16 rows in
// flight and then their arithmetic); its sums go to partial[f-chunk][c] (int8: before the column
// scale, which the second pass applies; int4: each of the chunk's two scale groups summed apart and
// scaled). A second pass adds the f-chunks' partials to y in a fixed order (deterministic, no
// atomics). Bytes: (non-zero rows) x the row's bytes of Wt (int4: and every scale), h once, partial
// written and read once (F / 128 x C x 4 x 2; 4 MB on the 7.2B shape). int8 / int4 on sm_80 and
// later take sparse_mma_kernel instead where it fits (the same sums on the tensor cores; below).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/env.h"
#include "kernels/ffn_sparse.h"

namespace gander::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kInFlight = 16;

// The three weight formats of the transposed matrix.
enum class SW { F16, I8, I4 };

// Columns per thread: fp16 4 (8 bytes), int8 8 (8 bytes), int4 8 (4 bytes). Rows per block: int8
// and int4 take half as many, so that their launches (each block twice as wide) still have ~2
// blocks per SM in flight: with 256 rows int8 streamed at 58 % of the copy bandwidth in dense
// mode (H100), 1 block per SM. int4's 128 rows are two whole scale groups.
template <SW K> constexpr int kVals = K == SW::F16 ? 4 : 8;
template <SW K> constexpr int kRows = K == SW::F16 ? kSparseRowsPerBlock : kSparseRowsPerBlock / 2;
template <SW K> using Load = std::conditional_t<K == SW::I4, std::uint32_t, uint2>;
// Bytes of n columns of a row of the transposed matrix (in the integer type given).
template <SW K, typename I> __host__ __device__ constexpr I row_bytes_of(I n) {
    return K == SW::I4 ? n / 2 : n * (K == SW::F16 ? 2 : 1);
}
constexpr int kGroup = 64; // int4 rows per scale

// int8 -> fp32 without the int-to-float unit (an eighth of the fp32 rate): the byte, offset by 128,
// becomes the low mantissa bits of 2^23; subtracting 2^23 + 128 leaves the value, exactly.
__device__ __forceinline__ float i8_at(std::uint32_t offset_word, int b) {
    return __uint_as_float(__byte_perm(offset_word, 0x4B000000u, 0x7650u | unsigned(b))) -
           8388736.0f;
}
// A nibble n held as n << 3 in byte b of `word` -> 0.5 + n / 32 exactly, with one byte permute and
// no subtraction: the byte becomes bits 16-23 of 0x3F000000 (exponent 126 and the nibble as the
// mantissa's top bits). The kernel sums v (0.5 + n / 32) and takes 32 x that - 24 x (sum of v),
// which is sum v (n - 8); the larger terms cost ~3 bits of the fp32 sum.
__device__ __forceinline__ float i4_half(std::uint32_t word, int b) {
    return __uint_as_float(__byte_perm(word, 0x3F000000u, 0x7054u | unsigned(b) << 8));
}

// With `counts`, the blocks of the first column block tally their rows with a non-zero activation
// and all their rows (`mine`), one pair of atomics a warp.
__device__ __forceinline__ void tally_rows(unsigned long long* counts, bool mine, bool nonzero,
                                           int lane) {
    if (counts && blockIdx.y == 0) {
        const unsigned nz = __ballot_sync(0xffffffffu, mine && nonzero);
        const unsigned in = __ballot_sync(0xffffffffu, mine);
        if (lane == 0 && in) {
            atomicAdd(counts, (unsigned long long)__popc(nz));
            atomicAdd(counts + 1, (unsigned long long)__popc(in));
        }
    }
}

// A block's list of kept rows, in row order (a thread a row): where this thread's row stands in
// it (-1: not kept), its length, and for int4 how many of its rows are in the first 64-row scale
// group (threads 0-63: the first two warps). warp_count: kThreads / 32 ints of shared memory.
struct RowList {
    int pos, n, n_first;
};
__device__ __forceinline__ RowList list_rows(bool keep, int* warp_count) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const unsigned ballot = __ballot_sync(0xffffffffu, keep);
    if (lane == 0) warp_count[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, n = 0;
#pragma unroll
    for (int w = 0; w < kThreads / 32; ++w) {
        before += w < warp ? warp_count[w] : 0;
        n += warp_count[w];
    }
    return {keep ? before + __popc(ballot & ((1u << lane) - 1u)) : -1, n,
            warp_count[0] + warp_count[1]};
}

// Issues the loads of listed rows [i, min(i + kIn, i1)) (this thread's columns of each).
template <SW K, int kIn>
__device__ __forceinline__ void load_listed(Load<K> (&w)[kIn], const std::uint8_t* base,
                                            const int* rows, int i, int i1, std::size_t row_bytes) {
#pragma unroll
    for (int u = 0; u < kIn; ++u)
        if (i + u < i1)
            w[u] = __ldcs(
                reinterpret_cast<const Load<K>*>(base + std::size_t(rows[i + u]) * row_bytes));
}

// An int4 word's nibbles at bits 3-6 of each byte, for i4_half: lo the low nibbles (columns 2b),
// hi the high ones (columns 2b + 1).
__device__ __forceinline__ void i4_split(std::uint32_t w, std::uint32_t& lo, std::uint32_t& hi) {
    lo = (w << 3) & 0x78787878u;
    hi = (w >> 1) & 0x78787878u;
}

// One listed row's weights times its activation into a (int4: see i4_half; vs gets the sum of
// the activations).
template <SW K>
__device__ __forceinline__ void row_fma(const Load<K>& w, float v, float (&a)[kVals<K>],
                                        float& vs) {
    if constexpr (K == SW::I4) { // byte b: columns 2b (low nibble), 2b + 1
        std::uint32_t lo, hi;
        i4_split(w, lo, hi);
        vs += v;
#pragma unroll
        for (int b = 0; b < 4; ++b) {
            a[2 * b] = fmaf(v, i4_half(lo, b), a[2 * b]);
            a[2 * b + 1] = fmaf(v, i4_half(hi, b), a[2 * b + 1]);
        }
    } else if constexpr (K == SW::I8) {
        const std::uint32_t lo = w.x ^ 0x80808080u, hi = w.y ^ 0x80808080u;
#pragma unroll
        for (int b = 0; b < 4; ++b) {
            a[b] = fmaf(v, i8_at(lo, b), a[b]);
            a[4 + b] = fmaf(v, i8_at(hi, b), a[4 + b]);
        }
    } else {
        const __half2* p = reinterpret_cast<const __half2*>(&w);
        const float2 x = __half22float2(p[0]), y = __half22float2(p[1]);
        a[0] = fmaf(v, x.x, a[0]);
        a[1] = fmaf(v, x.y, a[1]);
        a[2] = fmaf(v, y.x, a[2]);
        a[3] = fmaf(v, y.y, a[3]);
    }
}

// int4: one scale group's sums into acc. Each column's part is the sum of v (0.5 + n / 32) over
// the group's rows (i4_half) and vsum the sum of v, so the group adds s (32 part - 24 vsum) =
// s sum of v (n - 8), s its column scale (sc4: the 8 columns' fp16 scales).
template <int V>
__device__ __forceinline__ void add_group_i4(float (&acc)[V], const float (&part)[V], float vsum,
                                             uint4 sc4) {
    const float bias = -24.0f * vsum;
    const std::uint32_t sw[4] = {sc4.x, sc4.y, sc4.z, sc4.w};
#pragma unroll
    for (int i = 0; i < V / 2; ++i) {
        const float lo = __half2float(__ushort_as_half((unsigned short)(sw[i] & 0xffffu)));
        const float hi = __half2float(__ushort_as_half((unsigned short)(sw[i] >> 16)));
        acc[2 * i] = fmaf(fmaf(32.0f, part[2 * i], bias), lo, acc[2 * i]);
        acc[2 * i + 1] = fmaf(fmaf(32.0f, part[2 * i + 1], bias), hi, acc[2 * i + 1]);
    }
}

// Rows a buffer of the pipelined stream (two buffers: the next round's loads in flight while the
// current round is multiplied): 32 registers of loads for every format (the plain stream's 16
// rows in flight are 32 for fp16 / int8, 16 for int4).
template <SW K> constexpr int kPipeIn = K == SW::I4 ? kInFlight : kInFlight / 2;

template <SW K, bool kPipe>
__global__ void __launch_bounds__(kThreads)
    sparse_rows_kernel(const __half* h, const void* Wt, const __half* scales, int F, int C,
                       float* partial, bool dense, unsigned long long* counts) {
    GANDER_TRACE_BLOCK(SparseRows);
    constexpr int V = kVals<K>;
    __shared__ int rows[kSparseRowsPerBlock];
    __shared__ float vals[kSparseRowsPerBlock];
    __shared__ int warp_count[kThreads / 32];
    const int t = threadIdx.x, lane = t & 31;
    const int f0 = blockIdx.x * kRows<K>;
    const int f = f0 + t;
    const bool mine = t < kRows<K> && f < F; // threads past the block's rows only stream
    if constexpr (detail::kEarlyTrigger) detail::grid_dep_launch(); // see common.cuh
    detail::grid_dep_wait(); // launched with launch_pdl (common.cuh)
    const __half hv = mine ? h[f] : __float2half(0.0f);
    const float hf = __half2float(hv);
    const bool keep = mine && (dense || hf != 0.0f);
    tally_rows(counts, mine, hf != 0.0f, lane);
    // int4: rows [0, n_first) of the list are the block's first scale group, the rest the second.
    const RowList list = list_rows(keep, warp_count);
    const int n = list.n, n_first = K == SW::I4 ? list.n_first : n;
    if (keep) {
        // kPipe: the row's byte offset in Wt (the launch checks that F rows fit 32 bits).
        rows[list.pos] = kPipe ? f * row_bytes_of<K>(C) : f;
        vals[list.pos] = hf;
    }
    __syncthreads();
    if constexpr (!detail::kEarlyTrigger) detail::grid_dep_launch();

    const int c = blockIdx.y * (V * kThreads) + V * t;
    if (c >= C) return;
    const std::size_t row_bytes = row_bytes_of<K>(std::size_t(C));
    const auto* base = static_cast<const std::uint8_t*>(Wt) + row_bytes_of<K>(std::size_t(c));
    // Listed rows [i0, i1) times their activations into acc (int4: see i4_half; vsum gets the sum
    // of the activations).
    auto stream = [&](int i0, int i1, float(&acc)[V], float& vsum) {
        for (int i = i0; i < i1; i += kInFlight) {
            Load<K> w[kInFlight];
            load_listed<K>(w, base, rows, i, i1, row_bytes);
#pragma unroll
            for (int u = 0; u < kInFlight; ++u)
                if (i + u < i1) row_fma<K>(w[u], vals[i + u], acc, vsum);
        }
    };
    float acc[V];
#pragma unroll
    for (int i = 0; i < V; ++i) acc[i] = 0.0f;
    if constexpr (kPipe) {
        // Both buffers' rounds in one pass over the list; int4 scales each group's sums where the
        // list crosses from the first scale group into the second (n_first) and at the end.
        constexpr int P = kPipeIn<K>;
        uint4 s0 = make_uint4(0, 0, 0, 0), s1 = s0;
        if constexpr (K == SW::I4) {
            const int g0 = f0 / kGroup;
            s0 = *reinterpret_cast<const uint4*>(scales + std::size_t(g0) * C + c);
            if (f0 + kGroup < F)
                s1 = *reinterpret_cast<const uint4*>(scales + std::size_t(g0 + 1) * C + c);
        }
        float part[V], vsum = 0.0f;
#pragma unroll
        for (int i = 0; i < V; ++i) part[i] = 0.0f;
        auto flush = [&](uint4 sc4) { // int4: part, vsum of one group into acc
            add_group_i4(acc, part, vsum, sc4);
#pragma unroll
            for (int i = 0; i < V; ++i) part[i] = 0.0f;
            vsum = 0.0f;
        };
        Load<K> wa[P], wb[P];
        auto issue = [&](Load<K>(&w)[P], int i) {
#pragma unroll
            for (int u = 0; u < P; ++u)
                if (i + u < n)
                    w[u] = __ldcs(reinterpret_cast<const Load<K>*>(base + unsigned(rows[i + u])));
        };
        auto consume = [&](const Load<K>(&w)[P], int i) {
            // int4: does the second scale group begin inside this round?
            const bool cross = K == SW::I4 && n_first >= i && n_first < i + P;
            if (!cross) {
#pragma unroll
                for (int u = 0; u < P; ++u)
                    if (i + u < n) row_fma<K>(w[u], vals[i + u], K == SW::I4 ? part : acc, vsum);
            } else {
#pragma unroll
                for (int u = 0; u < P; ++u) {
                    if (i + u == n_first) flush(s0);
                    if (i + u < n) row_fma<K>(w[u], vals[i + u], part, vsum);
                }
            }
        };
        if constexpr (K == SW::I4)
            if (n_first == 0) s0 = s1; // only second-group rows (n_first = 0 "crosses" at once)
        issue(wa, 0);
        for (int i = 0; i < n; i += 2 * P) {
            issue(wb, i + P);
            consume(wa, i);
            if (i + P >= n) break;
            issue(wa, i + 2 * P);
            consume(wb, i + P);
        }
        if constexpr (K == SW::I4) flush(n > n_first && n_first > 0 ? s1 : s0);
    } else if constexpr (K == SW::I4) {
        // Each group's sum times its column scales (loaded first, 8 halves a group).
        const int g0 = f0 / kGroup;
        const bool two = f0 + kGroup < F;
        const uint4 s0 = *reinterpret_cast<const uint4*>(scales + std::size_t(g0) * C + c);
        const uint4 s1 = two ? *reinterpret_cast<const uint4*>(scales + std::size_t(g0 + 1) * C + c)
                             : make_uint4(0, 0, 0, 0);
        float part[V];
#pragma unroll
        for (int g = 0; g < 2; ++g) {
#pragma unroll
            for (int i = 0; i < V; ++i) part[i] = 0.0f;
            float vsum = 0.0f;
            stream(g ? n_first : 0, g ? n : n_first, part, vsum);
            add_group_i4(acc, part, vsum, g ? s1 : s0);
        }
    } else {
        float unused = 0.0f;
        stream(0, n, acc, unused);
    }
    float* out = partial + std::size_t(blockIdx.x) * C + c;
#pragma unroll
    for (int i = 0; i < V; i += 4)
        *reinterpret_cast<float4*>(out + i) = make_float4(acc[i], acc[i + 1], acc[i + 2], acc[i + 3]);
}

// ---- The one-token step of int8 / int4 on the tensor cores ----
//
// The same sums as sparse_rows_kernel as m16n8k16 products: A (16 columns c x 16 listed rows f)
// the weights, B (16 listed rows x 8) the activations, where B's column n holds the activations of
// the block's n-th 64-row scale group (int4; int8 uses column 0 alone), so that D's column n is
// that group's sum and the crossing of groups needs no branch. An mma pairs two rows f in a
// register, so a lane reads the same columns of four listed rows and interleaves two rows' bytes
// with a byte permute before the fp16 trick (0x6400 | q): ~1.5 instructions a weight where
// sparse_rows_kernel takes ~3, and each listed row's offset and activation come from shared memory
// once a lane and k-slice of 16 rows instead of once a thread and row. Products exact in fp32.
// Block: 256 rows f x 1,024 columns, 8 warps of 128 columns; lane (g, t) reads 8 bytes (int4) or
// 16 bytes (int8), 16 columns from column 16 g of its warp's, of listed rows 2t, 2t + 1, 2t + 8 and
// 2t + 9 of each k-slice; the partial sums go to partial[f-chunk of 256][c] (add_partials as
// before, over half as many chunks). fp16 keeps sparse_rows_kernel: the same scheme for fp16 (one
// byte permute a pair, 8 columns a lane group) was measured level in decode and slower at 90-97 %
// zeros (seventeenth session, docs/performance.md).
constexpr int kMmaRows = kThreads;
// Columns of a lane group and of a block (its 8 warps').
constexpr int kMmaLaneCols = 16;
constexpr int kMmaCols = 64 * kMmaLaneCols;

// Lane (g, t)'s column n = g of B for a k pair: the two listed rows' activations where their
// group (bits 16-31 of e, below the activation's fp16 bits) is g, else zero.
__device__ __forceinline__ std::uint32_t b_pair(std::uint32_t e0, std::uint32_t e1, unsigned g) {
    const std::uint32_t lo = (e0 >> 16) == g ? e0 & 0xffffu : 0u;
    const std::uint32_t hi = (e1 >> 16) == g ? e1 << 16 : 0u;
    return lo | hi;
}

// Lane t's four entries of k-slice ks of a block's list (off or hg): the slice's rows 2t, 2t + 1,
// 2t + 8 and 2t + 9, the k indices of its A and B fragments.
__device__ __forceinline__ uint4 slice_rows(const std::uint32_t* list, int ks, int t) {
    const uint2 lo = *reinterpret_cast<const uint2*>(list + 16 * ks + 2 * t);
    const uint2 hi = *reinterpret_cast<const uint2*>(list + 16 * ks + 2 * t + 8);
    return make_uint4(lo.x, lo.y, hi.x, hi.y);
}

template <std::uint32_t kFn>
__device__ __forceinline__ std::uint32_t lop3(std::uint32_t a, std::uint32_t b, std::uint32_t c) {
    std::uint32_t r;
    asm("lop3.b32 %0, %1, %2, %3, %4;" : "=r"(r) : "r"(a), "r"(b), "r"(c), "n"(kFn));
    return r;
}

// Two rows' words of the same columns (a: the k pair's first row, b: its second) -> one fp16 pair
// a column, (a's value, b's value), exact. int4: 8 columns (byte i: columns 2i, 2i + 1 in its low
// and high nibble), (0x6400 | n) - 1032 and (0x6400 | 16 n) / 16 - 72; int8: 4 columns (byte i),
// (0x6400 | (q ^ 0x80)) - 1152.
template <SW K>
__device__ __forceinline__ void row_pairs(std::uint32_t a, std::uint32_t b,
                                          std::uint32_t (&p)[K == SW::I4 ? 8 : 4]) {
    using detail::bits_h2;
    using detail::h2_bits;
    // Bytes 0, 1 of x: a's byte and b's byte of one column pair (two for int4), bytes 2, 3 the
    // next pair's.
    const std::uint32_t x[2] = {__byte_perm(a, b, 0x5410), __byte_perm(a, b, 0x7632)};
#pragma unroll
    for (int h = 0; h < 2; ++h) {
        if constexpr (K == SW::I4) { // the nibbles' fp16 pairs as gemv_tc's products make them
            std::uint32_t q[4];
            detail::i4x8_to_h2<true>(x[h], q);
#pragma unroll
            for (int i = 0; i < 4; ++i) p[4 * h + i] = q[i];
        } else {
            const std::uint32_t y = x[h] >> 8; // byte 0: a's next byte; byte 2: b's next byte
            const __half2 b1152 = __half2half2(__ushort_as_half(0x6480)); // 1152
            // (x & 0x00FF00FF) ^ 0x64806480: the byte offset by 128 under 0x64
            p[2 * h + 0] =
                h2_bits(__hsub2(bits_h2(lop3<0x6A>(x[h], 0x00FF00FFu, 0x64806480u)), b1152));
            p[2 * h + 1] =
                h2_bits(__hsub2(bits_h2(lop3<0x6A>(y, 0x00FF00FFu, 0x64806480u)), b1152));
        }
    }
}

// Words a lane reads of a row (kW), mma tiles a word feeds (kPerWord), k-slices a round of loads
// (kU: 16 registers), tiles a lane (kTiles: two of the lane group's columns a tile).
template <SW K> struct MmaShape {
    static_assert(K != SW::F16, "fp16 keeps sparse_rows_kernel");
    static constexpr bool kI4 = K == SW::I4;
    static constexpr int kW = kI4 ? 2 : 4, kPerWord = kI4 ? 4 : 2, kU = 4 / kW;
    static constexpr int kTiles = kW * kPerWord;
    static_assert(2 * kTiles == kMmaLaneCols, "a tile takes two of the lane group's columns");
};

// int4: the column scales of lane (g, t)'s groups (t = 0: the 256 rows' groups 0, 1 from row f0;
// t = 1: 2, 3) for its 16 columns from c0, into sc; left as they are elsewhere, and zero past the
// last group with kAsync. Read before the wait (nothing writes weights). kAsync: sc is shared
// memory, filled by cp.async (committed; the caller waits), holding no registers.
template <SW K, bool kAsync = false>
__device__ __forceinline__ void load_group_scales(const __half* scales, int F, int C, int f0,
                                                  int c0, int t, bool cols_in, uint4 (&sc)[2][2]) {
    if constexpr (K == SW::I4) {
        if (cols_in && t < 2) {
#pragma unroll
            for (int q = 0; q < 2; ++q) {
                const int grp = f0 / kGroup + 2 * t + q;
                const bool in = grp * kGroup < F;
                const __half* src = in ? scales + std::size_t(grp) * C + c0 : scales;
                if constexpr (kAsync) {
                    detail::cp_async16(&sc[q][0], src, in ? 16 : 0);
                    detail::cp_async16(&sc[q][1], src + 8, in ? 16 : 0);
                } else if (in) {
                    const auto* s = reinterpret_cast<const uint4*>(src);
                    sc[q][0] = s[0];
                    sc[q][1] = s[1];
                }
            }
            if constexpr (kAsync) detail::cp_async_commit();
        }
    }
}

// Lane (g, t) of a warp streams its 16 columns from c0 of the n16 listed rows (off: byte offsets
// of the rows, hg: their activations and groups; n16 a multiple of 16) into acc: rounds of kU
// k-slices, the next round's loads issued before the current round is multiplied.
template <SW K>
__device__ __forceinline__ void mma_stream(const void* Wt, int c0, const std::uint32_t* off,
                                           const std::uint32_t* hg, int n16, int g, int t,
                                           float (&acc)[MmaShape<K>::kTiles][4]) {
    constexpr int kW = MmaShape<K>::kW, kPerWord = MmaShape<K>::kPerWord, kU = MmaShape<K>::kU;
    const auto* base = static_cast<const std::uint8_t*>(Wt) + row_bytes_of<K>(std::size_t(c0));
    const int nks = n16 / 16, rounds = (nks + kU - 1) / kU;
#pragma unroll
    for (int i = 0; i < MmaShape<K>::kTiles; ++i)
        acc[i][0] = acc[i][1] = acc[i][2] = acc[i][3] = 0.0f;
    // Round r: k-slices r kU .. r kU + kU - 1, each lane's four rows x kW words.
    auto issue = [&](std::uint32_t(&w)[16], int r) {
#pragma unroll
        for (int u = 0; u < kU; ++u) {
            const int ks = r * kU + u;
            if (ks >= nks) break;
            const uint4 rows = slice_rows(off, ks, t);
            const std::uint32_t o[4] = {rows.x, rows.y, rows.z, rows.w};
#pragma unroll
            for (int rr = 0; rr < 4; ++rr) {
                std::uint32_t* d = w + (4 * u + rr) * kW;
                if constexpr (kW == 2) {
                    const uint2 v = __ldcs(reinterpret_cast<const uint2*>(base + o[rr]));
                    d[0] = v.x;
                    d[1] = v.y;
                } else {
                    const uint4 v = __ldcs(reinterpret_cast<const uint4*>(base + o[rr]));
                    d[0] = v.x;
                    d[1] = v.y;
                    d[2] = v.z;
                    d[3] = v.w;
                }
            }
        }
    };
    auto consume = [&](const std::uint32_t(&w)[16], int r) {
#pragma unroll
        for (int u = 0; u < kU; ++u) {
            const int ks = r * kU + u;
            if (ks >= nks) break;
            const uint4 e = slice_rows(hg, ks, t);
            const std::uint32_t b0 = b_pair(e.x, e.y, unsigned(g));
            const std::uint32_t b1 = b_pair(e.z, e.w, unsigned(g));
#pragma unroll
            for (int j = 0; j < kW; ++j) {
                const std::uint32_t* rw = w + 4 * u * kW;
                std::uint32_t lo[2 * kPerWord], hi[2 * kPerWord]; // rows 2t, 2t + 1; 2t + 8, 2t + 9
                row_pairs<K>(rw[0 * kW + j], rw[1 * kW + j], lo);
                row_pairs<K>(rw[2 * kW + j], rw[3 * kW + j], hi);
                // m = g: column 2 tt of the word; g + 8: 2 tt + 1.
#pragma unroll
                for (int tt = 0; tt < kPerWord; ++tt)
                    detail::mma16816(acc[j * kPerWord + tt], lo[2 * tt], lo[2 * tt + 1], hi[2 * tt],
                                     hi[2 * tt + 1], b0, b1);
            }
        }
    };
    std::uint32_t wa[16], wb[16];
    if (rounds > 0) issue(wa, 0);
    for (int r = 0; r < rounds; r += 2) {
        if (r + 1 < rounds) issue(wb, r + 1);
        consume(wa, r);
        if (r + 1 >= rounds) break;
        if (r + 2 < rounds) issue(wa, r + 2);
        consume(wb, r + 1);
    }
}

// D of tile (j, tt): d0, d1 = columns n = 2t, 2t + 1 of row m = g (the lane group's column
// 2 tt of word j), d2, d3 of row g + 8 (column 2 tt + 1). int4: n is the group, scaled here,
// t = 1's groups 2, 3 added to t = 0's; int8: n = 0 alone (t = 0), scaled in add_partials.
// out: the lane group's 16 column sums, right in lanes t = 0.
template <SW K>
__device__ __forceinline__ void mma_lane_out(const float (&acc)[MmaShape<K>::kTiles][4],
                                             const uint4 (&sc)[2][2], float (&out)[kMmaLaneCols]) {
    constexpr int kW = MmaShape<K>::kW, kPerWord = MmaShape<K>::kPerWord;
#pragma unroll
    for (int j = 0; j < kW; ++j) {
#pragma unroll
        for (int tt = 0; tt < kPerWord; ++tt) {
            const float* d = acc[j * kPerWord + tt];
            const int col = j * 2 * kPerWord + 2 * tt; // of the lane group's
            if constexpr (K == SW::I4) {
                auto s = [&](int q, int cc) { // group 2t + q's scale of column cc
                    const uint4& v = sc[q][cc / 8];
                    const int i = (cc % 8) / 2;
                    const std::uint32_t word = i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
                    return __half2float(__ushort_as_half(
                        static_cast<unsigned short>(cc % 2 ? word >> 16 : word & 0xffffu)));
                };
                float v0 = d[0] * s(0, col) + d[1] * s(1, col);
                float v1 = d[2] * s(0, col + 1) + d[3] * s(1, col + 1);
                v0 += __shfl_xor_sync(0xffffffffu, v0, 1);
                v1 += __shfl_xor_sync(0xffffffffu, v1, 1);
                out[col] = v0;
                out[col + 1] = v1;
            } else {
                out[col] = d[0];
                out[col + 1] = d[2];
            }
        }
    }
}

// kScalesShared (int4; the default, GANDER_SPARSE_SCALES=0 to compare): the lane's column scales
// go to shared memory by cp.async before the wait and come back to registers only after the
// stream, so that they do not hold 16 registers through it. 124 registers (allocated as 128) let
// two blocks fill an SM's register file; at 112 one block of add_partials (26) fits beside them,
// launched early (PDL) and waiting when the step ends, as int8's kernel (95) always allowed.
// H200: int4 decode +2.2 / +2.5 % (docs/performance.md, nineteenth session).
template <SW K, bool kScalesShared = false>
__global__ void __launch_bounds__(kThreads, 2)
    sparse_mma_kernel(const __half* h, const void* Wt, const __half* scales, int F, int C,
                      float* partial, bool dense, unsigned long long* counts) {
    GANDER_TRACE_BLOCK(SparseMma);
    constexpr bool kI4 = K == SW::I4;
    constexpr int kLane = kMmaLaneCols;
    __shared__ __align__(16) std::uint32_t off[kMmaRows + 16];
    __shared__ __align__(16) std::uint32_t hg[kMmaRows + 16];
    __shared__ int warp_count[kThreads / 32];
    const int tid = int(threadIdx.x), lane = tid & 31, warp = tid >> 5, g = lane >> 2, t = lane & 3;
    const int f0 = int(blockIdx.x) * kMmaRows;
    const int cw = int(blockIdx.y) * kMmaCols + warp * 8 * kLane; // the warp's first column
    const bool cols_in = cw < C;   // C a multiple of 8 kLane (mma_fits): whole warps
    const int c0 = cw + kLane * g; // the lane group's first column
    uint4 sc[2][2] = {};
    constexpr bool kShared = kScalesShared && kI4;
    // A slot for each lane t < 2 (the lanes t = 2, 3 hold no scales and never touch theirs).
    __shared__ __align__(16) uint4 sc_sh[kShared ? kThreads / 2 : 1][2][2];
    uint4(&my_sc)[2][2] = sc_sh[kShared ? warp * 16 + g * 2 + (t & 1) : 0];
    load_group_scales<K, kShared>(scales, F, C, f0, c0, t, cols_in, kShared ? my_sc : sc);
    if constexpr (detail::kEarlyTrigger) detail::grid_dep_launch(); // see common.cuh
    detail::grid_dep_wait();
    const int f = f0 + tid;
    const bool mine = f < F;
    const __half hv = mine ? h[f] : __float2half(0.0f);
    const float hf = __half2float(hv);
    const bool keep = mine && (dense || hf != 0.0f);
    tally_rows(counts, mine, hf != 0.0f, lane);
    const RowList list = list_rows(keep, warp_count);
    const int n = list.n, n16 = (n + 15) & ~15;
    const std::uint32_t row_bytes = row_bytes_of<K>(std::uint32_t(C));
    if (keep) {
        off[list.pos] = std::uint32_t(f) * row_bytes; // the launch checks F rows fit 32 bits
        hg[list.pos] = std::uint32_t(__half_as_ushort(hv)) | std::uint32_t(kI4 ? tid / kGroup : 0)
                                                                 << 16;
    }
    __syncthreads();
    // The last k-slice's missing rows: no activation, the bytes of the slice's first row.
    if (tid < n16 - n) {
        off[n + tid] = off[n & ~15];
        hg[n + tid] = 0u;
    }
    __syncthreads();
    if constexpr (!detail::kEarlyTrigger) detail::grid_dep_launch();
    if (!cols_in) return;

    float acc[MmaShape<K>::kTiles][4];
    mma_stream<K>(Wt, c0, off, hg, n16, g, t, acc);
    if constexpr (kShared) {
        if (t < 2) {
            detail::cp_async_wait<0>();
#pragma unroll
            for (int q = 0; q < 2; ++q) sc[q][0] = my_sc[q][0], sc[q][1] = my_sc[q][1];
        }
    }
    float out[kLane];
    mma_lane_out<K>(acc, sc, out);
    if (t == 0) {
        float* dst = partial + std::size_t(blockIdx.x) * C + c0;
#pragma unroll
        for (int i = 0; i < kLane; i += 4)
            *reinterpret_cast<float4*>(dst + i) =
                make_float4(out[i], out[i + 1], out[i + 2], out[i + 3]);
    }
}

// y += the chunks' partial sums (several tokens: blockIdx.y the token, its partial sums C apart
// within a chunk's `chunk_stride`, its y row C apart).
// Eight threads a column, each summing an eighth of the chunks with 8 loads in flight; the eighths
// meet in a fixed order (deterministic). One thread a column looping over all 128 chunks (int8,
// int4) waited ~128 x 30 ns of L2 round trips (fourth session); 4 threads a column left half the
// SMs idle (64 blocks for C = 4,096). Launched with launch_pdl: its start overlaps the kernel that
// writes the partial sums.
constexpr int kPartialCols = 32, kPartialSlices = kThreads / kPartialCols;
__global__ void __launch_bounds__(kThreads)
    add_partials_kernel(const float* partial, int chunks, std::size_t chunk_stride, int C,
                        const __half* scales, float* y) {
    GANDER_TRACE_BLOCK(AddPartials);
    __shared__ float part[kPartialSlices][kPartialCols];
    detail::grid_dep_begin();
    partial += std::size_t(blockIdx.y) * C;
    y += std::size_t(blockIdx.y) * C;
    const int col = int(threadIdx.x) % kPartialCols, slice = int(threadIdx.x) / kPartialCols;
    const int c = int(blockIdx.x) * kPartialCols + col;
    float s = 0.0f;
    if (c < C) {
        const int b0 = slice * chunks / kPartialSlices, b1 = (slice + 1) * chunks / kPartialSlices;
#pragma unroll 8
        for (int b = b0; b < b1; ++b) s += partial[std::size_t(b) * chunk_stride + c];
    }
    part[slice][col] = s;
    __syncthreads();
    if (slice == 0 && c < C) {
        float t = part[0][col];
#pragma unroll
        for (int i = 1; i < kPartialSlices; ++i) t += part[i][col];
        y[c] += scales ? t * __half2float(scales[c]) : t;
    }
}

// Several tokens (kSparseTokens at most; the batched decoding step, short prefills): each block's
// rows as in sparse_rows_kernel, listed when any token's activation is non-zero, each listed row's
// weights dequantised once and multiplied into every token's sums (8 columns a thread, 8 tokens:
// 64 accumulators). int8: the column scales come in add_partials; int4: folded into the weight,
// s (n - 8) = 32 s (0.5 + n / 32) - 24 s, one fma from i4_half's value. Issue-bound (~2.5 + T
// instructions a weight), not bandwidth-bound.
constexpr int kTokInFlight = 8;
template <SW K>
__global__ void __launch_bounds__(kThreads, 2)
    tokens_rows_kernel(const __half* h, int T, const void* Wt, const __half* scales, int F, int C,
                       float* partial) {
    static_assert(K != SW::F16, "fp16 goes to cuBLAS");
    constexpr int V = 8, R = kRows<K>, kT = kSparseTokens;
    __shared__ int rows[R];
    __shared__ __align__(16) float vals[R][kT];
    __shared__ int warp_count[kThreads / 32];
    const int t = threadIdx.x;
    const int f0 = blockIdx.x * R;
    const int f = f0 + t;
    const bool mine = t < R && f < F;
    float hv[kT];
    bool any = false;
#pragma unroll
    for (int i = 0; i < kT; ++i) {
        hv[i] = mine && i < T ? __half2float(h[std::size_t(i) * F + f]) : 0.0f;
        any = any || hv[i] != 0.0f;
    }
    const bool keep = mine && any;
    const RowList list = list_rows(keep, warp_count);
    const int n = list.n, n_first = K == SW::I4 ? list.n_first : n; // int4: first scale group
    if (keep) {
        rows[list.pos] = f;
#pragma unroll
        for (int i = 0; i < kT; ++i) vals[list.pos][i] = hv[i];
    }
    __syncthreads();

    const int c = blockIdx.y * (V * kThreads) + V * t;
    if (c >= C) return;
    const std::size_t row_bytes = row_bytes_of<K>(std::size_t(C));
    const auto* base = static_cast<const std::uint8_t*>(Wt) + row_bytes_of<K>(c);
    float acc[kT][V];
#pragma unroll
    for (int i = 0; i < kT; ++i)
#pragma unroll
        for (int j = 0; j < V; ++j) acc[i][j] = 0.0f;
    // Listed rows [i0, i1); int4: a, b the group's 32 s and -24 s per column.
    auto stream = [&](int i0, int i1, const float* a, const float* b) {
        for (int i = i0; i < i1; i += kTokInFlight) {
            Load<K> w[kTokInFlight];
            load_listed<K>(w, base, rows, i, i1, row_bytes);
#pragma unroll
            for (int u = 0; u < kTokInFlight; ++u) {
                if (i + u < i1) {
                    float wv[V];
                    if constexpr (K == SW::I4) {
                        std::uint32_t lo, hi;
                        i4_split(w[u], lo, hi);
#pragma unroll
                        for (int q = 0; q < 4; ++q) {
                            wv[2 * q] = fmaf(a[2 * q], i4_half(lo, q), b[2 * q]);
                            wv[2 * q + 1] = fmaf(a[2 * q + 1], i4_half(hi, q), b[2 * q + 1]);
                        }
                    } else {
                        const std::uint32_t lo = w[u].x ^ 0x80808080u, hi = w[u].y ^ 0x80808080u;
#pragma unroll
                        for (int q = 0; q < 4; ++q) {
                            wv[q] = i8_at(lo, q);
                            wv[4 + q] = i8_at(hi, q);
                        }
                    }
                    const float4 v0 = *reinterpret_cast<const float4*>(&vals[i + u][0]);
                    const float4 v1 = *reinterpret_cast<const float4*>(&vals[i + u][4]);
                    const float v[kT] = {v0.x, v0.y, v0.z, v0.w, v1.x, v1.y, v1.z, v1.w};
#pragma unroll
                    for (int k = 0; k < kT; ++k)
#pragma unroll
                        for (int j = 0; j < V; ++j) acc[k][j] = fmaf(v[k], wv[j], acc[k][j]);
                }
            }
        }
    };
    if constexpr (K == SW::I4) {
        const int g0 = f0 / kGroup;
#pragma unroll 1
        for (int g = 0; g < 2 && f0 + g * kGroup < F; ++g) {
            float s[V], a[V], b[V];
            detail::unpack8(*reinterpret_cast<const uint4*>(scales + std::size_t(g0 + g) * C + c),
                            s);
#pragma unroll
            for (int j = 0; j < V; ++j) {
                a[j] = 32.0f * s[j];
                b[j] = -24.0f * s[j];
            }
            stream(g ? n_first : 0, g ? n : n_first, a, b);
        }
    } else {
        stream(0, n, nullptr, nullptr);
    }
#pragma unroll
    for (int k = 0; k < kT; ++k) { // unrolled: acc stays in registers
        if (k >= T) break;
        float* out = partial + (std::size_t(blockIdx.x) * kT + k) * C + c;
        *reinterpret_cast<float4*>(out) = make_float4(acc[k][0], acc[k][1], acc[k][2], acc[k][3]);
        *reinterpret_cast<float4*>(out + 4) =
            make_float4(acc[k][4], acc[k][5], acc[k][6], acc[k][7]);
    }
}

template <typename E>
__global__ void transpose_kernel(const E* in, int rows, int cols, E* out) {
    __shared__ E tile[32][33];
    const int c = blockIdx.x * 32 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        const int r = blockIdx.y * 32 + j;
        if (r < rows && c < cols) tile[j][threadIdx.x] = in[std::size_t(r) * cols + c];
    }
    __syncthreads();
    const int r = blockIdx.y * 32 + threadIdx.x;
    for (int j = threadIdx.y; j < 32; j += blockDim.y) {
        const int cc = blockIdx.x * 32 + j;
        if (cc < cols && r < rows) out[std::size_t(cc) * rows + r] = tile[threadIdx.x][j];
    }
}

// Tiles of 64 x 64 nibbles: 64 input rows of 32 bytes in, 64 output rows of 32 bytes out, one
// nibble a shared-memory byte in between.
__global__ void transpose_nibbles_kernel(const std::uint8_t* in, int rows, int cols,
                                         std::uint8_t* out) {
    __shared__ std::uint8_t tile[64][65];
    const int r0 = blockIdx.y * 64, c0 = blockIdx.x * 64;
    for (int i = threadIdx.x; i < 64 * 32; i += blockDim.x) {
        const int r = r0 + i / 32, cb = c0 / 2 + i % 32; // input byte cb of row r
        std::uint8_t b = 0;
        if (r < rows && 2 * cb < cols) b = in[std::size_t(r) * (cols / 2) + cb];
        tile[i / 32][2 * (i % 32)] = b & 15;
        tile[i / 32][2 * (i % 32) + 1] = b >> 4;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < 64 * 32; i += blockDim.x) {
        const int c = c0 + i / 32, rb = r0 / 2 + i % 32; // output byte rb of row c
        if (c < cols && 2 * rb < rows)
            out[std::size_t(c) * (rows / 2) + rb] =
                std::uint8_t(tile[2 * (i % 32)][i / 32] | (tile[2 * (i % 32) + 1][i / 32] << 4));
    }
}

// Eight columns of one row a thread (deq8_grid): 8 bytes of int8 or one 32-bit word of int4 read,
// one 16-byte store. The column scales of int8 (per c) and int4 (per c and 64-row group of f)
// are eight halves in a row.
__global__ void dequantize_cols8_kernel(const std::uint8_t* Wt, bool int4, const __half* scales,
                                        int F, int C, __half* out) {
    const int c = (int(blockIdx.x) * int(blockDim.x) + int(threadIdx.x)) * 8;
    if (c >= C) return;
    for (int f = int(blockIdx.y); f < F; f += int(gridDim.y)) {
        float s[8], v[8];
        detail::unpack8(*reinterpret_cast<const uint4*>(
                            scales + (int4 ? std::size_t(f / kGroup) * C : std::size_t(0)) + c),
                        s);
        if (int4)
            detail::dequant_i4x8(
                *reinterpret_cast<const std::uint32_t*>(Wt + std::size_t(f) * (C / 2) + c / 2),
                1.0f, v);
        else
            detail::dequant_i8x8(*reinterpret_cast<const uint2*>(Wt + std::size_t(f) * C + c), 1.0f,
                                 v);
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] *= s[i];
        *reinterpret_cast<uint4*>(out + std::size_t(f) * C + c) = detail::pack8(v);
    }
}

// One value a thread, for shapes the kernel above cannot take (C not a multiple of 8, unaligned).
__global__ void dequantize_cols_kernel(const std::int8_t* Wt, const __half* scales, int F, int C,
                                       __half* out) {
    const std::size_t n = std::size_t(F) * C;
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x)
        out[i] = __float2half_rn(float(Wt[i]) * __half2float(scales[i % C]));
}

__global__ void dequantize_cols_i4_kernel(const std::uint8_t* Wt, const __half* scales, int F,
                                          int C, __half* out) {
    const std::size_t n = std::size_t(F) * C;
    for (std::size_t i = blockIdx.x * std::size_t(blockDim.x) + threadIdx.x; i < n;
         i += std::size_t(gridDim.x) * blockDim.x) {
        const std::size_t f = i / C, c = i % C;
        const std::uint8_t b = Wt[f * (C / 2) + c / 2];
        const int q = int(c & 1 ? b >> 4 : b & 15) - 8;
        out[i] = __float2half_rn(float(q) * __half2float(scales[(f / kGroup) * C + c]));
    }
}

// Whether dequantize_cols8_kernel takes the shape and pointers.
bool cols8_fits(const void* Wt, const __half* scales, int C, const __half* out) {
    return C % 8 == 0 && ((reinterpret_cast<std::uintptr_t>(Wt) & 7) |
                          (reinterpret_cast<std::uintptr_t>(scales) & 15) |
                          (reinterpret_cast<std::uintptr_t>(out) & 15)) == 0;
}

// GANDER_SPARSE_PIPE=0: the one-token sparse step without the pipelined stream (A/B switch).
bool sparse_pipe() {
    static const bool on = !detail::env_is("GANDER_SPARSE_PIPE", "0");
    return on;
}
// The one-token int8 / int4 step goes through sparse_mma_kernel where it fits: a card with the
// m16n8k16 product (sm_80 on), whole warps of columns (C % 128 == 0), the loads' alignment (8
// bytes int4, 16 int8); else sparse_rows_kernel. GANDER_SPARSE_MMA=0: never (to compare).
// fp16 always takes sparse_rows_kernel.
template <SW K> bool mma_fits(const void* Wt, int C) {
    static const bool on =
        !detail::env_is("GANDER_SPARSE_MMA", "0") && detail::compute_major() >= 8;
    const auto wa = reinterpret_cast<std::uintptr_t>(Wt);
    return on && K != SW::F16 && C % (8 * kMmaLaneCols) == 0 && (wa & (K == SW::I4 ? 7 : 15)) == 0;
}
template <SW K> int chunks_of(int F) {
    return (F + kRows<K> - 1) / kRows<K>;
}
// int4's tensor-core step with kScalesShared (the default since the nineteenth session;
// GANDER_SPARSE_SCALES=0 keeps the scales in registers, to compare).
bool scales_shared() {
    static const bool on = !detail::env_is("GANDER_SPARSE_SCALES", "0");
    return on;
}
template <SW K>
cudaError_t launch_sparse(const __half* h, const void* Wt, const __half* scales, int F, int C,
                          float* y, float* partial, bool dense, cudaStream_t stream,
                          unsigned long long* counts) {
    constexpr int V = kVals<K>;
    const auto wa = reinterpret_cast<std::uintptr_t>(Wt);
    if (!h || !Wt || !y || !partial || F < 1 || C < V || C % V != 0 ||
        (wa & (K == SW::I4 ? 3 : 7)) || (K != SW::F16 && !scales) ||
        (K == SW::I4 && (F % kGroup != 0 || (reinterpret_cast<std::uintptr_t>(scales) & 15))))
        return cudaErrorInvalidValue;
    const bool offsets32 = row_bytes_of<K>(std::size_t(C)) * std::size_t(F) <= INT32_MAX;
    const bool mma = offsets32 && mma_fits<K>(Wt, C);
    const int chunks = mma ? (F + kMmaRows - 1) / kMmaRows : chunks_of<K>(F);
    cudaError_t e = cudaSuccess;
    if (mma) {
        if constexpr (K != SW::F16) // never true for fp16 (mma_fits)
            e = detail::launch_pdl(
                scales_shared() ? sparse_mma_kernel<K, K == SW::I4> : sparse_mma_kernel<K>,
                dim3(unsigned(chunks), unsigned((C + kMmaCols - 1) / kMmaCols)), dim3(kThreads), 0,
                stream, h, Wt, scales, F, C, partial, dense, counts);
    } else {
        const bool pipe = sparse_pipe() && offsets32;
        e = detail::launch_pdl(
            pipe ? sparse_rows_kernel<K, true> : sparse_rows_kernel<K, false>,
            dim3(unsigned(chunks), unsigned((C + V * kThreads - 1) / (V * kThreads))),
            dim3(kThreads), 0, stream, h, Wt, scales, F, C, partial, dense, counts);
    }
    if (e != cudaSuccess) return e;
    return detail::launch_pdl(add_partials_kernel,
                              dim3(unsigned((C + kPartialCols - 1) / kPartialCols)), dim3(kThreads),
                              0, stream, static_cast<const float*>(partial), chunks, std::size_t(C),
                              C, K == SW::I8 ? scales : nullptr, y);
}

template <SW K>
cudaError_t launch_tokens(const __half* h, int T, const void* Wt, const __half* scales, int F,
                          int C, float* y, float* partial, cudaStream_t stream) {
    const auto wa = reinterpret_cast<std::uintptr_t>(Wt);
    if (!h || !Wt || !scales || !y || !partial || T < 1 || T > kSparseTokens || F < 1 || C < 8 ||
        C % 8 != 0 || (wa & (K == SW::I4 ? 3 : 7)) ||
        (K == SW::I4 && (F % kGroup != 0 || (reinterpret_cast<std::uintptr_t>(scales) & 15))))
        return cudaErrorInvalidValue;
    const dim3 grid(unsigned(chunks_of<K>(F)), unsigned((C + 8 * kThreads - 1) / (8 * kThreads)));
    tokens_rows_kernel<K><<<grid, kThreads, 0, stream>>>(h, T, Wt, scales, F, C, partial);
    if (const cudaError_t e = cudaGetLastError(); e != cudaSuccess) return e;
    return detail::launch_pdl(
        add_partials_kernel, dim3(unsigned((C + kPartialCols - 1) / kPartialCols), unsigned(T)),
        dim3(kThreads), 0, stream, static_cast<const float*>(partial), chunks_of<K>(F),
        std::size_t(kSparseTokens) * C, C, K == SW::I8 ? scales : nullptr, y);
}

template <typename E>
cudaError_t launch_transpose(const E* in, int rows, int cols, E* out, cudaStream_t stream) {
    if (!in || !out || rows < 1 || cols < 1) return cudaErrorInvalidValue;
    const dim3 grid(unsigned((cols + 31) / 32), unsigned((rows + 31) / 32));
    transpose_kernel<E><<<grid, dim3(32, 8), 0, stream>>>(in, rows, cols, out);
    return cudaGetLastError();
}

} // namespace

std::size_t ffn_value_sparse_scratch(int F, int C) {
    return std::size_t(chunks_of<SW::I8>(F)) * std::size_t(C) * sizeof(float); // the larger
}

std::size_t ffn_value_tokens_scratch(int F, int C) {
    return ffn_value_sparse_scratch(F, C) * kSparseTokens;
}

cudaError_t ffn_value_tokens_i8(const __half* h, int T, const std::int8_t* Wt, const __half* scales,
                                int F, int C, float* y, float* partial, cudaStream_t stream) {
    return launch_tokens<SW::I8>(h, T, Wt, scales, F, C, y, partial, stream);
}

cudaError_t ffn_value_tokens_i4(const __half* h, int T, const std::uint8_t* Wt,
                                const __half* scales, int F, int C, float* y, float* partial,
                                cudaStream_t stream) {
    return launch_tokens<SW::I4>(h, T, Wt, scales, F, C, y, partial, stream);
}

cudaError_t ffn_value_sparse(const __half* h, const __half* Wt, int F, int C, float* y,
                             float* partial, bool dense, cudaStream_t stream,
                             unsigned long long* counts) {
    return launch_sparse<SW::F16>(h, Wt, nullptr, F, C, y, partial, dense, stream, counts);
}

cudaError_t ffn_value_sparse_i8(const __half* h, const std::int8_t* Wt, const __half* scales, int F,
                                int C, float* y, float* partial, bool dense, cudaStream_t stream,
                                unsigned long long* counts) {
    return launch_sparse<SW::I8>(h, Wt, scales, F, C, y, partial, dense, stream, counts);
}

cudaError_t ffn_value_sparse_i4(const __half* h, const std::uint8_t* Wt, const __half* scales,
                                int F, int C, float* y, float* partial, bool dense,
                                cudaStream_t stream, unsigned long long* counts) {
    return launch_sparse<SW::I4>(h, Wt, scales, F, C, y, partial, dense, stream, counts);
}

cudaError_t transpose_bytes(const std::uint8_t* in, int rows, int cols, std::uint8_t* out,
                            cudaStream_t stream) {
    return launch_transpose(in, rows, cols, out, stream);
}

cudaError_t transpose_u16(const std::uint16_t* in, int rows, int cols, std::uint16_t* out,
                          cudaStream_t stream) {
    return launch_transpose(in, rows, cols, out, stream);
}

cudaError_t transpose_nibbles(const std::uint8_t* in, int rows, int cols, std::uint8_t* out,
                              cudaStream_t stream) {
    if (!in || !out || rows < 2 || cols < 2 || rows % 2 || cols % 2) return cudaErrorInvalidValue;
    const dim3 grid(unsigned((cols + 63) / 64), unsigned((rows + 63) / 64));
    transpose_nibbles_kernel<<<grid, 256, 0, stream>>>(in, rows, cols, out);
    return cudaGetLastError();
}

cudaError_t dequantize_cols_i8(const std::int8_t* Wt, const __half* scales, int F, int C,
                               __half* out, cudaStream_t stream) {
    if (!Wt || !scales || !out || F < 1 || C < 1) return cudaErrorInvalidValue;
    if (cols8_fits(Wt, scales, C, out)) {
        dequantize_cols8_kernel<<<detail::deq8_grid(F, C, 256), 256, 0, stream>>>(
            reinterpret_cast<const std::uint8_t*>(Wt), false, scales, F, C, out);
        return cudaGetLastError();
    }
    const std::size_t n = std::size_t(F) * C;
    const int blocks = int(std::min<std::size_t>((n + 255) / 256, 65535));
    dequantize_cols_kernel<<<blocks, 256, 0, stream>>>(Wt, scales, F, C, out);
    return cudaGetLastError();
}

cudaError_t dequantize_cols_i4(const std::uint8_t* Wt, const __half* scales, int F, int C,
                               __half* out, cudaStream_t stream) {
    if (!Wt || !scales || !out || F < 1 || C < 2 || C % 2 || F % kGroup) return cudaErrorInvalidValue;
    if (cols8_fits(Wt, scales, C, out)) {
        dequantize_cols8_kernel<<<detail::deq8_grid(F, C, 256), 256, 0, stream>>>(Wt, true, scales,
                                                                                  F, C, out);
        return cudaGetLastError();
    }
    const std::size_t n = std::size_t(F) * C;
    const int blocks = int(std::min<std::size_t>((n + 255) / 256, 65535));
    dequantize_cols_i4_kernel<<<blocks, 256, 0, stream>>>(Wt, scales, F, C, out);
    return cudaGetLastError();
}

} // namespace gander::kernels
