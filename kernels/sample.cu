// On-card sampling (see sample.h).
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include <climits>

#include "kernels/sample.h"

namespace gander::kernels {
namespace {

constexpr int kThreads = 1024;
using Reduce = cub::BlockReduce<float, kThreads>;
using ReduceI = cub::BlockReduce<int, kThreads>;
using Scan = cub::BlockScan<float, kThreads>;

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
using ReduceA = cub::BlockReduce<ArgMax, kThreads>;

__device__ __forceinline__ float penalised(const float* logits, const float* counts,
                                           const SampleParams& p, int v) {
    float l = logits[v];
    if (counts) {
        const float c = counts[v];
        if (c > 0.0f) l -= p.presence_penalty + p.frequency_penalty * c;
    }
    return l;
}

// Layout: one block of 1024 threads; thread t owns the contiguous ids [t*per, (t+1)*per) (so the
// final walk in id order is a block scan). The cut-off is found by bisection on the bits of the
// probability threshold (31 passes). Bytes: each pass re-reads the V logits (and counts) from L2,
// about 35 x 8V bytes for V = 65536, 18 MB of L2 traffic; one id and the V counts are written.
__global__ void __launch_bounds__(kThreads)
    sample_kernel(const float* logits, int V, float* counts, SampleParams p, float u,
                  std::int32_t* out_id) {
    __shared__ union {
        typename Reduce::TempStorage r;
        typename ReduceI::TempStorage ri;
        typename ReduceA::TempStorage ra;
        typename Scan::TempStorage s;
    } tmp;
    __shared__ float sh_f;
    __shared__ int sh_i;
    const int per = (V + kThreads - 1) / kThreads;
    const int lo_id = threadIdx.x * per, hi_id = min(V, lo_id + per);

    ArgMax best{-INFINITY, V};
    for (int v = lo_id; v < hi_id; ++v) {
        const float l = penalised(logits, counts, p, v);
        if (l > best.v || best.i == V) best = {l, v};
    }
    ArgMax top = ReduceA(tmp.ra).Reduce(best, ArgMaxOp{});
    if (threadIdx.x == 0) sh_f = top.v, sh_i = top.i;
    __syncthreads();
    const float m = sh_f;
    int chosen = sh_i;

    // top_k = 1 keeps the argmax alone (the bisection below would keep every token tied with it:
    // two equal top logits, which random test logits of 65,536 draws sometimes have).
    if (p.temperature > 0.0f && p.top_k != 1) {
        // Probabilities at temperature 1, relative to the maximum (the top one is 1).
        float z_part = 0.0f;
        for (int v = lo_id; v < hi_id; ++v) z_part += expf(penalised(logits, counts, p, v) - m);
        __syncthreads();
        float z = Reduce(tmp.r).Sum(z_part);
        if (threadIdx.x == 0) sh_f = z;
        __syncthreads();
        z = sh_f;
        // Threshold bits: the kept set is {v : prob(v) >= theta}. theta_p is the largest threshold
        // whose kept mass still reaches top_p * z; theta_k the smallest whose kept count is <= k.
        unsigned lo = 0, hi = __float_as_uint(1.0f);
        if (p.top_p < 1.0f) {
            const float target = p.top_p * z;
            while (lo < hi) {
                const unsigned mid = lo + (hi - lo + 1) / 2;
                const float th = __uint_as_float(mid);
                float part = 0.0f;
                for (int v = lo_id; v < hi_id; ++v) {
                    const float q = expf(penalised(logits, counts, p, v) - m);
                    if (q >= th) part += q;
                }
                __syncthreads();
                float mass = Reduce(tmp.r).Sum(part);
                if (threadIdx.x == 0) sh_f = mass;
                __syncthreads();
                if (sh_f >= target)
                    lo = mid;
                else
                    hi = mid - 1;
            }
        }
        unsigned theta = lo;
        if (p.top_k > 0) {
            unsigned klo = 0, khi = __float_as_uint(1.0f); // count(khi) >= 1; find smallest ok
            while (klo < khi) {
                const unsigned mid = klo + (khi - klo) / 2;
                const float th = __uint_as_float(mid);
                int part = 0;
                for (int v = lo_id; v < hi_id; ++v)
                    part += expf(penalised(logits, counts, p, v) - m) >= th;
                __syncthreads();
                int cnt = ReduceI(tmp.ri).Sum(part);
                if (threadIdx.x == 0) sh_i = cnt;
                __syncthreads();
                if (sh_i <= p.top_k)
                    khi = mid;
                else
                    klo = mid + 1;
            }
            theta = max(theta, klo);
        }
        const float th = __uint_as_float(theta);
        const float inv_t = 1.0f / p.temperature;
        float part = 0.0f;
        for (int v = lo_id; v < hi_id; ++v) {
            const float q = expf(penalised(logits, counts, p, v) - m);
            if (q >= th) part += powf(q, inv_t);
        }
        float before, total;
        __syncthreads();
        Scan(tmp.s).ExclusiveSum(part, before, total);
        const float target = u * total;
        if (threadIdx.x == 0) sh_i = chosen; // the top token if rounding leaves nothing chosen
        __syncthreads();
        if (before <= target && target < before + part) {
            float acc = before;
            int pick = -1, last = -1;
            for (int v = lo_id; v < hi_id; ++v) {
                const float q = expf(penalised(logits, counts, p, v) - m);
                if (q < th) continue;
                last = v;
                acc += powf(q, inv_t);
                if (target < acc) {
                    pick = v;
                    break;
                }
            }
            sh_i = pick >= 0 ? pick : last;
        }
        __syncthreads();
        chosen = sh_i;
    }
    if (counts) {
        for (int v = lo_id; v < hi_id; ++v) counts[v] = counts[v] * p.penalty_decay + (v == chosen);
    }
    if (threadIdx.x == 0) *out_id = chosen;
}

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

} // namespace

cudaError_t argmax_rows(const float* x, long long n, long long pitch, int rows, std::int32_t* out,
                        cudaStream_t stream) {
    if (rows < 0 || rows > 65535 || n < 0 || n > INT_MAX || pitch < n) return cudaErrorInvalidValue;
    if (rows == 0) return cudaSuccess;
    if (!x || !out || n == 0) return cudaErrorInvalidValue;
    argmax_rows_kernel<<<rows, kArgmaxThreads, 0, stream>>>(x, n, pitch, out);
    return cudaGetLastError();
}

cudaError_t sample(const float* logits, int V, float* counts, const SampleParams& params, float u,
                   std::int32_t* out_id, cudaStream_t stream) {
    if (V < 1 || !logits || !out_id) return cudaErrorInvalidValue;
    sample_kernel<<<1, kThreads, 0, stream>>>(logits, V, counts, params, u, out_id);
    return cudaGetLastError();
}

} // namespace gander::kernels
