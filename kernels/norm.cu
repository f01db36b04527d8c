// Normalisation kernels (see norm.h). All statistics in fp32, two passes (mean, then the mean of
// squared deviations), like the reference.
#include <type_traits>

#include "kernels/common.cuh"
#include "kernels/norm.h"

namespace gander::kernels {
namespace {

using detail::block_sum;
using detail::to_half_sat;
using detail::warp_sum;

__device__ __forceinline__ float load(const float* p, std::size_t i) {
    return p[i];
}
__device__ __forceinline__ float load(const __half* p, std::size_t i) {
    return __half2float(p[i]);
}

// Mean and 1/std of one row, the whole block cooperating.
template <typename In>
__device__ void row_stats(const In* row, int n, float eps, float* scratch, float& mean,
                          float& rstd) {
    float s = 0.0f;
    for (int c = threadIdx.x; c < n; c += blockDim.x) s += load(row, c);
    mean = block_sum(s, scratch) / float(n);
    float q = 0.0f;
    for (int c = threadIdx.x; c < n; c += blockDim.x) {
        float d = load(row, c) - mean;
        q += d * d;
    }
    rstd = rsqrtf(block_sum(q, scratch) / float(n) + eps);
}

// The same for an fp32 row of n % 4 == 0 and n <= 4 * kRowF4 * blockDim.x columns, with every load
// of the row issued at once into registers (the loop above waits for one L2 round trip per
// iteration when its trip count is not known: 16 of them for a 4,096-column row, which made the
// decoding step's LayerNorm a 7 us kernel on an H100). Same two passes, the second over registers.
constexpr int kRowF4 = 8;
__device__ __forceinline__ bool row_in_registers(int n) {
    return n % 4 == 0 && n <= 4 * kRowF4 * int(blockDim.x);
}
__device__ void row_stats_regs(const float* row, int n, float eps, float* scratch, float& mean,
                               float& rstd) {
    const float4* r4 = reinterpret_cast<const float4*>(row);
    const int n4 = n / 4;
    float4 v[kRowF4];
#pragma unroll
    for (int m = 0; m < kRowF4; ++m) {
        const int i = int(threadIdx.x) + m * int(blockDim.x);
        v[m] = i < n4 ? r4[i] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }
    float s = 0.0f;
#pragma unroll
    for (int m = 0; m < kRowF4; ++m) s += (v[m].x + v[m].y) + (v[m].z + v[m].w);
    mean = block_sum(s, scratch) / float(n);
    float q = 0.0f;
#pragma unroll
    for (int m = 0; m < kRowF4; ++m) {
        if (int(threadIdx.x) + m * int(blockDim.x) < n4) {
            const float a = v[m].x - mean, b = v[m].y - mean, c = v[m].z - mean, d = v[m].w - mean;
            q += (a * a + b * b) + (c * c + d * d);
        }
    }
    rstd = rsqrtf(block_sum(q, scratch) / float(n) + eps);
}

__device__ __forceinline__ void stats(const float* row, int n, float eps, float* scratch,
                                      float& mean, float& rstd) {
    if (row_in_registers(n))
        row_stats_regs(row, n, eps, scratch, mean, rstd);
    else
        row_stats(row, n, eps, scratch, mean, rstd);
}

// Layout: blocks (slice, t): every block computes the statistics of row t, then writes its slice
// of the columns (one slice per row when there are many rows; decoding's single row is cut into
// slices of 256 columns so that several SMs share it). Bytes: reads the row
// twice (the second pass hits L1) plus w and b, writes n floats and/or halves.
template <typename In>
__global__ void layer_norm_kernel(const In* in, const std::int32_t* ids, const float* w,
                                  const float* b, float* out, __half* out_h, int n, float eps) {
    GANDER_TRACE_BLOCK(LayerNorm);
    detail::grid_dep_begin(); // launched with launch_pdl (common.cuh)
    __shared__ float scratch[32];
    const int t = blockIdx.y;
    const std::size_t src = ids ? std::size_t(ids[t]) : std::size_t(t);
    const In* row = in + src * n;
    float mean = 0.0f, rstd = 1.0f;
    if constexpr (std::is_same_v<In, __half>) {
        // An fp16 row (the embedding, which may sit in host memory: every read crosses the bus)
        // is read once, all at once, into registers; one block per row (layer_norm() launches
        // one slice for fp16 input).
        constexpr int kMaxU = 4;
        const int n8 = n / 8;
        if (gridDim.x == 1 && n % 8 == 0 && n8 <= kMaxU * int(blockDim.x)) {
            const uint4* r8 = reinterpret_cast<const uint4*>(row);
            uint4 u[kMaxU];
#pragma unroll
            for (int m = 0; m < kMaxU; ++m) {
                const int i = int(threadIdx.x) + m * int(blockDim.x);
                u[m] = i < n8 ? r8[i] : make_uint4(0u, 0u, 0u, 0u);
            }
            float f[8];
            if (w) {
                float sum = 0.0f;
#pragma unroll
                for (int m = 0; m < kMaxU; ++m) {
                    detail::unpack8(u[m], f);
#pragma unroll
                    for (int e = 0; e < 8; ++e) sum += f[e];
                }
                mean = block_sum(sum, scratch) / float(n);
                float q = 0.0f;
#pragma unroll
                for (int m = 0; m < kMaxU; ++m) {
                    if (int(threadIdx.x) + m * int(blockDim.x) >= n8) continue;
                    detail::unpack8(u[m], f);
#pragma unroll
                    for (int e = 0; e < 8; ++e) q += (f[e] - mean) * (f[e] - mean);
                }
                rstd = rsqrtf(block_sum(q, scratch) / float(n) + eps);
            }
#pragma unroll
            for (int m = 0; m < kMaxU; ++m) {
                const int i = int(threadIdx.x) + m * int(blockDim.x);
                if (i >= n8) continue;
                detail::unpack8(u[m], f);
#pragma unroll
                for (int e = 0; e < 8; ++e) {
                    const int c = i * 8 + e;
                    const float y = w ? (f[e] - mean) * rstd * w[c] + b[c] : f[e];
                    if (out) out[std::size_t(t) * n + c] = y;
                    if (out_h) out_h[std::size_t(t) * n + c] = to_half_sat(y);
                }
            }
            return;
        }
        if (w) row_stats(row, n, eps, scratch, mean, rstd);
    } else {
        if (w) stats(row, n, eps, scratch, mean, rstd);
    }
    const int per = (n + gridDim.x - 1) / gridDim.x, c_end = min(n, (blockIdx.x + 1) * per);
    for (int c = blockIdx.x * per + threadIdx.x; c < c_end; c += blockDim.x) {
        float y = w ? (load(row, c) - mean) * rstd * w[c] + b[c] : load(row, c);
        if (out) out[std::size_t(t) * n + c] = y;
        if (out_h) out_h[std::size_t(t) * n + c] = to_half_sat(y);
    }
}

// One column a thread of a row split over blocks (decoding, and each row of a batch): the
// column's parameters and state are loaded before the row statistics (their latency hides behind
// the two reductions), then the lerps go to mixes.out[m][out_off + c] and the LayerNorm to
// prev_out[c]. The thread that reads prev_in[c] writes prev_out[c]: in place is safe. Every thread
// of the block must call it (the statistics' barriers).
__device__ __forceinline__ void ln_mix_column(const float* row, const float* w, const float* b,
                                              const float* prev_in, float* prev_out,
                                              const ShiftMix& mixes, std::size_t out_off, int C,
                                              float eps, float* scratch) {
    const int c = int(blockIdx.x * blockDim.x + threadIdx.x);
    const bool has = c < C;
    float wc = 0.0f, bc = 0.0f, mv[kMaxMix];
#pragma unroll
    for (int m = 0; m < kMaxMix; ++m) mv[m] = has && m < mixes.n_mix ? mixes.mix[m][c] : 0.0f;
    if (has) {
        wc = w[c];
        bc = b[c];
    }
    detail::grid_dep_begin(); // no-ops unless launched with launch_pdl (common.cuh)
    const float xc = has ? row[c] : 0.0f, pc = has ? prev_in[c] : 0.0f;
    float mean, rstd;
    stats(row, C, eps, scratch, mean, rstd);
    if (!has) return;
    const float xn = (xc - mean) * rstd * wc + bc;
    const float d = pc - xn;
#pragma unroll
    for (int m = 0; m < kMaxMix; ++m)
        if (m < mixes.n_mix) mixes.out[m][out_off + c] = to_half_sat(xn + d * mv[m]);
    prev_out[c] = xn;
}

// Layout: blocks (slice, t), as layer_norm_kernel. A block normalises row t and row t-1
// (recomputing the latter's statistics is cheaper than a second launch), then writes the n_mix
// lerps of each column. Bytes per row: reads x[t] and x[t-1] (2 x 4C, twice each, mostly L1), w, b
// and the mixes; writes n_mix x 2C.
__global__ void ln_shift_mix_kernel(const float* x, const float* w, const float* b,
                                    const float* prev_in, float* prev_out, ShiftMix mixes, int T,
                                    int C, float eps) {
    GANDER_TRACE_BLOCK(LnShiftMix);
    __shared__ float scratch[32];
    const int t = blockIdx.y;
    const float* row = x + std::size_t(t) * C;
    if (T == 1 && int(gridDim.x * blockDim.x) >= C) { // decoding: one column per thread
        ln_mix_column(row, w, b, prev_in, prev_out, mixes, 0, C, eps, scratch);
        return;
    }
    detail::grid_dep_begin();
    float mean, rstd, pmean = 0.0f, prstd = 0.0f;
    stats(row, C, eps, scratch, mean, rstd);
    if (t > 0) stats(row - C, C, eps, scratch, pmean, prstd);
    if (gridDim.x == 1 && C % 4 == 0) { // four columns a thread and access (prefill)
        const auto ld = [](const float* p, int i) { return reinterpret_cast<const float4*>(p)[i]; };
        const float* prow = t > 0 ? row - C : prev_in;
#pragma unroll 2
        for (int i = int(threadIdx.x); i < C / 4; i += int(blockDim.x)) {
            const float4 xv = ld(row, i), pv = ld(prow, i), wv = ld(w, i), bv = ld(b, i);
            const float xn[4] = {(xv.x - mean) * rstd * wv.x + bv.x, (xv.y - mean) * rstd * wv.y + bv.y,
                                 (xv.z - mean) * rstd * wv.z + bv.z, (xv.w - mean) * rstd * wv.w + bv.w};
            float d[4] = {pv.x, pv.y, pv.z, pv.w};
            if (t > 0) {
                d[0] = (pv.x - pmean) * prstd * wv.x + bv.x;
                d[1] = (pv.y - pmean) * prstd * wv.y + bv.y;
                d[2] = (pv.z - pmean) * prstd * wv.z + bv.z;
                d[3] = (pv.w - pmean) * prstd * wv.w + bv.w;
            }
#pragma unroll
            for (int e = 0; e < 4; ++e) d[e] -= xn[e];
#pragma unroll
            for (int m = 0; m < kMaxMix; ++m) {
                if (m >= mixes.n_mix) break;
                const float4 mu = ld(mixes.mix[m], i);
                __half2 h[2] = {__halves2half2(to_half_sat(xn[0] + d[0] * mu.x),
                                               to_half_sat(xn[1] + d[1] * mu.y)),
                                __halves2half2(to_half_sat(xn[2] + d[2] * mu.z),
                                               to_half_sat(xn[3] + d[3] * mu.w))};
                reinterpret_cast<uint2*>(mixes.out[m] + std::size_t(t) * C)[i] =
                    *reinterpret_cast<uint2*>(h);
            }
            if (t == T - 1)
                reinterpret_cast<float4*>(prev_out)[i] = make_float4(xn[0], xn[1], xn[2], xn[3]);
        }
        return;
    }
    // This block writes the columns of its slice (blockIdx.x); every block computes the row's
    // statistics itself (the row is in L2 after the first).
    const int per = (C + gridDim.x - 1) / gridDim.x, c_end = min(C, (blockIdx.x + 1) * per);
    for (int c = blockIdx.x * per + threadIdx.x; c < c_end; c += blockDim.x) {
        const float xn = (row[c] - mean) * rstd * w[c] + b[c];
        const float prev = t > 0 ? (row[c - C] - pmean) * prstd * w[c] + b[c] : prev_in[c];
        const float d = prev - xn;
#pragma unroll
        for (int m = 0; m < kMaxMix; ++m) // constant indices keep `mixes` out of local memory
            if (m < mixes.n_mix)
                mixes.out[m][std::size_t(t) * C + c] = to_half_sat(xn + d * mixes.mix[m][c]);
        if (t == T - 1) prev_out[c] = xn; // same thread read prev_in[c] above: no race at T == 1
    }
}

// Layout: blocks (slice of 256 columns, row), one column a thread (ln_mix_column, as the decoding
// step's ln_shift_mix): every block computes its row's statistics (the row is in L2 after the
// first). One block a row (the layout before) walked the row
// with one L2 round trip an iteration: ~12 us a launch at 8 rows (H200, fifth session). Row t's
// state is states[t] + offset; each column's state is read and written by the same thread.
__global__ void __launch_bounds__(256)
    ln_shift_mix_rows_kernel(const float* x, const float* w, const float* b, float* const* states,
                             std::size_t offset, ShiftMix mixes, int C, float eps) {
    __shared__ float scratch[32];
    const int t = blockIdx.y;
    const float* row = x + std::size_t(t) * C;
    float* prev = states[t] + offset;
    ln_mix_column(row, w, b, prev, prev, mixes, std::size_t(t) * C, C, eps, scratch);
}

// Layout: one warp per (t, head); lanes stride over the head's N columns. Bytes per (t, head):
// reads y (and r, k, v, g when given) once, writes N outputs.
template <bool kBonus, bool kGate>
__global__ void group_norm_kernel(const float* y, const float* w, const float* b, const float* r,
                                  const float* k, const float* r_k, const float* v, const float* g,
                                  float* out, __half* out_h, int T, int H, int N, float eps) {
    const int warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (warp >= T * H) return;
    const int h = warp % H;
    const std::size_t base = std::size_t(warp) * N; // rows are [T, H*N]: (t, h) is contiguous
    float s = 0.0f;
    for (int j = lane; j < N; j += 32) s += y[base + j];
    const float mean = warp_sum(s) / float(N);
    float q = 0.0f, bonus = 0.0f;
    for (int j = lane; j < N; j += 32) {
        float d = y[base + j] - mean;
        q += d * d;
        if (kBonus) bonus += r[base + j] * k[base + j] * r_k[h * N + j];
    }
    const float rstd = rsqrtf(warp_sum(q) / float(N) + eps);
    if (kBonus) bonus = warp_sum(bonus);
    for (int j = lane; j < N; j += 32) {
        const int c = h * N + j;
        float o = (y[base + j] - mean) * rstd * w[c] + b[c];
        if (kBonus) o += bonus * v[base + j];
        if (kGate) o *= g[base + j];
        if (out) out[base + j] = o;
        if (out_h) out_h[base + j] = to_half_sat(o);
    }
}

int row_threads(int n) {
    return n >= 2048 ? 512 : n >= 512 ? 256 : 128;
}

// Rows of T: one block per row; a single row (decoding) is split into slices of 256 columns.
dim3 row_grid(int T, int n) {
    return dim3(T == 1 ? unsigned((n + 255) / 256) : 1u, unsigned(T));
}
int row_block(int T, int n) {
    return T == 1 ? 256 : row_threads(n);
}

} // namespace

cudaError_t layer_norm(const float* in, const std::int32_t* ids, const float* w, const float* b,
                       float* out, __half* out_h, int T, int n, float eps, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    return detail::launch_pdl(layer_norm_kernel<float>, row_grid(T, n), dim3(row_block(T, n)), 0,
                              stream, in, ids, w, b, out, out_h, n, eps);
}

cudaError_t layer_norm(const __half* in, const std::int32_t* ids, const float* w, const float* b,
                       float* out, __half* out_h, int T, int n, float eps, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    // One block per row: the row is read once (see the kernel).
    return detail::launch_pdl(layer_norm_kernel<__half>, dim3(1u, unsigned(T)),
                              dim3(row_threads(n)), 0, stream, in, ids, w, b, out, out_h, n, eps);
}

cudaError_t ln_shift_mix(const float* x, const float* w, const float* b, const float* prev_in,
                         float* prev_out, const ShiftMix& mixes, int T, int C, float eps,
                         cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (mixes.n_mix < 1 || mixes.n_mix > kMaxMix || (T > 1 && prev_in == prev_out))
        return cudaErrorInvalidValue;
    return detail::launch_pdl(ln_shift_mix_kernel, row_grid(T, C), dim3(row_block(T, C)), 0, stream,
                              x, w, b, prev_in, prev_out, mixes, T, C, eps);
}

cudaError_t ln_shift_mix_rows(const float* x, const float* w, const float* b, float* const* states,
                              std::size_t offset, const ShiftMix& mixes, int T, int C, float eps,
                              cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    if (!states || mixes.n_mix < 1 || mixes.n_mix > kMaxMix) return cudaErrorInvalidValue;
    ln_shift_mix_rows_kernel<<<dim3(unsigned((C + 255) / 256), unsigned(T)), 256, 0, stream>>>(
        x, w, b, states, offset, mixes, C, eps);
    return cudaGetLastError();
}

cudaError_t group_norm(const float* y, const float* w, const float* b, const float* r,
                       const float* k, const float* r_k, const float* v, const float* g, float* out,
                       __half* out_h, int T, int H, int N, float eps, cudaStream_t stream) {
    if (T <= 0) return cudaSuccess;
    const int warps = T * H, per_block = 8;
    const dim3 grid((warps + per_block - 1) / per_block), block(32 * per_block);
    if (r && g)
        group_norm_kernel<true, true>
            <<<grid, block, 0, stream>>>(y, w, b, r, k, r_k, v, g, out, out_h, T, H, N, eps);
    else if (r)
        group_norm_kernel<true, false>
            <<<grid, block, 0, stream>>>(y, w, b, r, k, r_k, v, g, out, out_h, T, H, N, eps);
    else if (g)
        group_norm_kernel<false, true>
            <<<grid, block, 0, stream>>>(y, w, b, r, k, r_k, v, g, out, out_h, T, H, N, eps);
    else
        group_norm_kernel<false, false>
            <<<grid, block, 0, stream>>>(y, w, b, r, k, r_k, v, g, out, out_h, T, H, N, eps);
    return cudaGetLastError();
}

} // namespace gander::kernels
