// Helpers shared by the kernel files (not part of any launcher's interface): reductions within a
// warp and a block, and fp16 <-> fp32 conversions of 16-byte vectors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/env.h"
#include "kernels/gemv.h"
#ifdef GANDER_TRACE
#include "kernels/trace.h"
#endif

namespace gander::kernels::detail {

// The card's nanosecond clock (%globaltimer; the launch trace's, kernels/trace.h).
__device__ __forceinline__ std::uint64_t global_ns() {
    std::uint64_t t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

#ifdef GANDER_TRACE
// A measurement build (kernels/trace.h): this translation unit's sink, pointed at the buffer by
// trace_begin through the function registered here.
namespace {
__constant__ TraceSink g_trace_sink;
cudaError_t trace_bind_unit(const TraceSink& sink) {
    return cudaMemcpyToSymbol(g_trace_sink, &sink, sizeof sink);
}
[[maybe_unused]] const bool g_trace_registered = trace_register(&trace_bind_unit);
} // namespace
// This block's record in the sink (trace.h): the slot of its launch and block, or null.
__device__ __forceinline__ TraceRecord* trace_slot(const TraceSink& sink, std::uint64_t grid,
                                                   std::uint32_t block) {
    return sink.records && block < sink.per_launch
               ? sink.records + (grid & (sink.launches - 1)) * sink.per_launch + block
               : nullptr;
}
__device__ __forceinline__ std::uint32_t linear_block() {
    return blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
}
namespace {
// GANDER_TRACE_BLOCK(Name) at a kernel's start (Name: a TraceKernel): when the block's first
// thread leaves the kernel, whichever return, its time and the kernel go into the block's record
// (end_ns; the last thing most kernels do, their reduction and stores, is warp 0's).
struct TraceBlockEnd {
    TraceKernel kernel;
    __device__ ~TraceBlockEnd() {
        if ((threadIdx.x | threadIdx.y | threadIdx.z) != 0) return;
        std::uint64_t grid;
        asm volatile("mov.u64 %0, %%gridid;" : "=l"(grid));
        if (TraceRecord* r = trace_slot(g_trace_sink, grid, linear_block())) {
            r->end_ns = global_ns();
            r->kernel = static_cast<std::uint32_t>(kernel);
        }
    }
};
} // namespace
#define GANDER_TRACE_BLOCK(name)                                                                   \
    ::gander::kernels::detail::TraceBlockEnd gander_trace_block_end_ {                             \
        ::gander::kernels::TraceKernel::name                                                       \
    }
#else
#define GANDER_TRACE_BLOCK(name) static_cast<void>(0)
#endif

// Programmatic dependent launch (Hopper and later): a kernel launched with launch_pdl() may start
// while the kernel before it in the stream still runs. It must call grid_dep_wait() before it
// touches any memory that earlier kernels write or read (weights, which nothing writes, may be
// read before); grid_dep_launch() lets the next kernel start early. Both are no-ops on older cards
// and in kernels launched the ordinary way.
__device__ __forceinline__ void grid_dep_wait() {
#ifdef GANDER_TRACE
    // The first thread of each block writes its record into the slot of its launch (%gridid counts
    // launches) and block: no atomics, whose contention would delay the blocks.
    const TraceSink sink = g_trace_sink;
    const bool rec = sink.records && (threadIdx.x | threadIdx.y | threadIdx.z) == 0;
    const std::uint64_t arrive = rec ? global_ns() : 0;
#endif
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
#ifdef GANDER_TRACE
    if (rec) {
        TraceRecord r;
        r.release_ns = global_ns();
        r.arrive_ns = arrive;
        std::uint32_t sm, smem;
        asm volatile("mov.u64 %0, %%gridid;" : "=l"(r.grid));
        asm("mov.u32 %0, %%smid;" : "=r"(sm));
        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(smem));
        r.block = linear_block();
        r.blocks = gridDim.x * gridDim.y * gridDim.z;
        r.threads = blockDim.x * blockDim.y * blockDim.z;
        r.sm = sm;
        r.smem = smem;
        if (TraceRecord* slot = trace_slot(sink, r.grid, r.block)) *slot = r; // end_ns: later
    }
#endif
}
__device__ __forceinline__ void grid_dep_launch() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Where a kernel that waits at its start lets the next one launch. Early (the default): before
// its own wait, so that the next kernel's blocks become resident and fetch their weights while
// the kernel before this one still runs. Still ordered: a kernel completes only after its own
// wait has returned, so each grid_dep_wait() comes after every earlier kernel in the stream has
// completed. Compiled with GANDER_LATE_TRIGGER: after the wait (as before; to measure).
#ifdef GANDER_LATE_TRIGGER
constexpr bool kEarlyTrigger = false;
#else
constexpr bool kEarlyTrigger = true;
#endif
__device__ __forceinline__ void grid_dep_begin() {
    if constexpr (kEarlyTrigger) grid_dep_launch();
    grid_dep_wait();
    if constexpr (!kEarlyTrigger) grid_dep_launch();
}

// The bits of an fp16 pair as a word, and back.
__device__ __forceinline__ std::uint32_t h2_bits(__half2 h) {
    return *reinterpret_cast<std::uint32_t*>(&h);
}
__device__ __forceinline__ __half2 bits_h2(std::uint32_t u) {
    return *reinterpret_cast<__half2*>(&u);
}

// (w & M) | 0x6400 in each half: one lop3 (kLop3), or the C++ form, of which ptxas makes an and
// and an or. The same bits.
template <bool kLop3, std::uint32_t M>
__device__ __forceinline__ std::uint32_t under_6400(std::uint32_t w) {
    if constexpr (kLop3) {
        std::uint32_t r;
        asm("lop3.b32 %0, %1, %2, %3, 0xEA;" : "=r"(r) : "r"(w), "n"(M), "n"(0x64006400u));
        return r;
    } else {
        return (w & M) | 0x64006400u;
    }
}

// Eight nibbles in a word (nibble n = column n) -> four fp16 pairs (n0,n4) (n1,n5) (n2,n6) (n3,n7),
// exact values nibble - 8: a nibble or-ed under 0x6400 is 1024 + n; one at bits 4-7, 1024 + 16 n.
// kLop3: the form of gemv_tc's bulk kernel and of the sparse step's tensor-core kernel
// (under_6400).
template <bool kLop3 = false>
__device__ __forceinline__ void i4x8_to_h2(std::uint32_t w, std::uint32_t (&p)[4]) {
    const __half2 b8 = __half2half2(__ushort_as_half(0x6408));  // 1032
    const __half2 s16 = __half2half2(__ushort_as_half(0x2C00)); // 1/16
    const __half2 b72 = __half2half2(__ushort_as_half(0xD480)); // -72
    const std::uint32_t w8 = w >> 8;
    p[0] = h2_bits(__hsub2(bits_h2(under_6400<kLop3, 0x000F000Fu>(w)), b8));
    p[1] = h2_bits(__hfma2(bits_h2(under_6400<kLop3, 0x00F000F0u>(w)), s16, b72));
    p[2] = h2_bits(__hsub2(bits_h2(under_6400<kLop3, 0x000F000Fu>(w8)), b8));
    p[3] = h2_bits(__hfma2(bits_h2(under_6400<kLop3, 0x00F000F0u>(w8)), s16, b72));
}

// The m16n8k16 tensor-core product, fp16 in, fp32 sums (the PTX ISA's layouts: A row-major, B
// column-major): d += A B; kZeroC: d = A B (a sum's first product: no zeroed accumulators first).
template <bool kZeroC = false>
__device__ __forceinline__ void mma16816(float (&d)[4], std::uint32_t a0, std::uint32_t a1,
                                         std::uint32_t a2, std::uint32_t a3, std::uint32_t b0,
                                         std::uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (kZeroC)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%10,%10,%10,%10};\n"
                     : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "f"(0.0f));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
                     "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
    __trap(); // the launchers keep cards before sm_80 away
#endif
}

// An attribute of the current device, or `fallback` when it cannot be read (the error cleared).
inline int device_attribute(cudaDeviceAttr attr, int fallback) {
    int dev = 0, v = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&v, attr, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return fallback;
    }
    return v;
}

// The current device's compute capability major version (0 when it cannot be read), asked once.
inline int compute_major() {
    static const int major = device_attribute(cudaDevAttrComputeCapabilityMajor, 0);
    return major;
}

// The most dynamic shared memory a block may opt in to on the current device (bytes; 48 KB, what
// every launch gets, when it cannot be read): 227 KB on an H100, 163 KB on an A100, ~99 KB on the
// RTX 30 / 40 / 50 cards. Kernels that stage more than 48 KB check their need against it.
inline int max_smem_optin() {
    static const int most = device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, 48 * 1024);
    return most;
}

// The current device's SM count (0 when it cannot be read), asked once.
inline int sm_count() {
    static const int n = device_attribute(cudaDevAttrMultiProcessorCount, 0);
    return n;
}

// Whether launch_pdl() asks for early launch: compute capability 9.0 or later, unless GANDER_PDL=0.
// On by default: H100, 512 decoded tokens a run, fp16 202.5 tok/s with it against 199.5 and 199.8
// without, int4 346.8 and 346.9 against 343.4 and 344.7 (docs/performance.md, third session; the
// earlier single 128-token runs had put it within their noise).
inline bool pdl_enabled() {
    static const bool on = !env_is("GANDER_PDL", "0") && compute_major() >= 9;
    return on;
}

// kernel<<<grid, block, smem, stream>>>(args...), with programmatic dependent launch when enabled.
// Only for kernels that call grid_dep_wait() (or grid_dep_begin()) before they touch memory that
// earlier kernels write (see above).
template <typename... Params, typename... Args>
cudaError_t launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem,
                       cudaStream_t stream, Args&&... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    if (pdl_enabled()) {
        cfg.attrs = attr;
        cfg.numAttrs = 1;
    }
    return cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

// Sum over the block; every thread gets the result. `scratch` holds 32 floats. Safe to call
// repeatedly with the same scratch (the leading barrier protects the previous call's reads).
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int n_warps = (blockDim.x + 31) >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    float t = lane < n_warps ? scratch[lane] : 0.0f;
    return warp_sum(t);
}

__device__ __forceinline__ float sigmoidf_(float x) {
    return 1.0f / (1.0f + expf(-x));
}

// Eight halves packed in a uint4, to fp32.
__device__ __forceinline__ void unpack8(const uint4& u, float* f) {
    const __half2* h = reinterpret_cast<const __half2*>(&u);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 p = __half22float2(h[i]);
        f[2 * i] = p.x;
        f[2 * i + 1] = p.y;
    }
}

// Eight fp32 values to eight halves in a uint4 (round to nearest, as __float2half_rn).
__device__ __forceinline__ uint4 pack8(const float* f) {
    uint4 u;
    __half2* h = reinterpret_cast<__half2*>(&u);
#pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
    return u;
}

// The eight int4 values of a 32-bit word (value i in bits 4i..4i+3, stored as q + 8), times s.
__device__ __forceinline__ void dequant_i4x8(std::uint32_t w, float s, float* f) {
#pragma unroll
    for (int i = 0; i < 8; ++i) f[i] = float(int((w >> (4 * i)) & 15u) - 8) * s;
}

// The eight int8 values of a uint2 (value i in byte i), times s.
__device__ __forceinline__ void dequant_i8x8(uint2 w, float s, float* f) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        f[i] = float(std::int8_t(w.x >> (8 * i))) * s;
        f[4 + i] = float(std::int8_t(w.y >> (8 * i))) * s;
    }
}

// Blocks of a dequantisation grid that gives each thread eight columns of one row: x over the
// columns, y over the rows (at most 65,535; the kernels loop over the rest).
inline dim3 deq8_grid(int rows, int cols, int threads) {
    return dim3(unsigned((cols / 8 + threads - 1) / threads), unsigned(std::min(rows, 65535)));
}

// fp32 -> fp16 with saturation: a value beyond the fp16 range becomes +-65504, never inf.
__device__ __forceinline__ __half to_half_sat(float x) {
    if (fabsf(x) > 65504.0f) x = copysignf(65504.0f, x); // NaN stays NaN
    return __float2half_rn(x);
}

// Writes one output of a matrix-vector product as GemvOut says (shared by every GEMV kernel).
__device__ __forceinline__ void store_out(GemvOut out, void* y, int row, float acc) {
    switch (out) {
    case GemvOut::StoreF32:
        static_cast<float*>(y)[row] = acc;
        break;
    case GemvOut::AddF32:
        static_cast<float*>(y)[row] += acc;
        break;
    case GemvOut::StoreF16:
        static_cast<__half*>(y)[row] = to_half_sat(acc);
        break;
    case GemvOut::Relu2F16: {
        const float r = fmaxf(acc, 0.0f);
        static_cast<__half*>(y)[row] = to_half_sat(r * r);
        break;
    }
    }
}

// 16 bytes global -> shared without registers (cp.async, sm_80 on; src_bytes < 16 zero-fills the
// rest), in groups committed and waited for.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    const auto s = static_cast<std::uint32_t>(__cvta_generic_to_shared(smem));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem),
                 "r"(src_bytes));
#endif
}
__device__ __forceinline__ void cp_async_commit() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.commit_group;\n" ::);
#endif
}
template <int N> __device__ __forceinline__ void cp_async_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
#endif
}

} // namespace gander::kernels::detail
