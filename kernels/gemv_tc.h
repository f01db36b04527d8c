// Matrix-vector products for decoding on the tensor cores: y = W x for fp16, int8 (per row) and
// int4 (groups of 64) weights in one launch, the dequantisation done in registers. The formats are
// those of gemv.h and gemv_quant.h; x is fp16, products and sums in fp32.
//
// Why tensor cores for a matrix-vector product: dequantising int8/int4 values and multiplying them
// on the fp32 units costs 4-6 instructions a weight (the int-to-float conversion alone runs at an
// eighth of the fp32 rate), more than the card can issue while streaming int4 weights at full
// bandwidth. Here a weight costs about one instruction (a bit-trick turns two packed integers into
// two exact fp16 values), and an mma.m16n8k16 does 256 multiply-adds of 16 rows at once (7 of its 8
// columns are wasted; the tensor cores have far more to spare than that).
//
// Needs compute capability 8.0 or later (gemv_tc_fits says no elsewhere) and, per job: rows a
// multiple of 16, cols a multiple of 64 (int8), 128 (int4) or 32 (fp16) and at most kMaxTcCols, 16-byte aligned W
// and x; an input activation only with fp16 weights.
#pragma once

#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "kernels/gemv.h"
#include "kernels/gemv_quant.h"

namespace gander::kernels {

enum class WeightKind : int { F16, Int8Row, Int4G64 };

struct TcJob {
    const void* W = nullptr;         // __half* (F16) or the packed bytes
    const __half* scales = nullptr;  // int8/int4 only
    const __half* x = nullptr;
    void* y = nullptr;               // float* or __half* as `out` says
    int rows = 0, cols = 0;
    WeightKind kind = WeightKind::F16;
    GemvOut out = GemvOut::StoreF32;
    GemvIn in = GemvIn::Plain; // fp16 weights only (the LoRA up-projections)
    // Several tokens (TcBatch::tokens > 1): token i's input at x + i ldx, its outputs at y + i ldy
    // (elements; 0 means cols and rows: packed rows).
    int ldx = 0, ldy = 0;
};

struct TcBatch {
    TcJob jobs[kMaxGemvJobs];
    int n_jobs = 0;
    // Tokens per job, 1 to kMaxTcTokens: y_i = W x_i for each, the weights read once from memory
    // (8 tokens an mma; blocks of the same rows with other tokens run side by side and find the
    // weights in L2). The decoding step of a batch of sessions and short prefills.
    int tokens = 1;
    // gemv_tc_wide: the lean kernels (x staged at a fixed stride, int4's group sums started by
    // their first mma). An int4 model sets it on every wide launch of its batched step: they gain
    // only when all of the step's launches take them (docs/performance.md, fifteenth session).
    bool lean = false;
    void add(const TcJob& job) { jobs[n_jobs++] = job; }
};

// x of a job is staged in shared memory: its width is bounded (one token), and more tightly for
// several tokens (8 rows of x at once).
constexpr int kMaxTcCols = 20480;
constexpr int kMaxTcColsTokens = 8192;
constexpr int kMaxTcTokens = 64;

// Products of many tokens (a batched step of 2 to kMaxTcTokens sessions), gemv_tc_wide: a block
// takes 128 rows (a warp each 16), one slice of at most kWideCols columns and up to 32 tokens (x
// of those for the slice in shared memory), and each weight fragment, dequantised once, goes into
// the mma of every 8 of them. (gemv_tc's several-token blocks hold 16 rows and stage the whole of
// x for 8 tokens: for int4 twice the weights' own bytes, and each group of 8 dequantises again.)
// The column slices of a row meet by atomic adds (a StoreF32 output is zeroed first), so the last
// bits of a sum may differ between runs. Plain input; StoreF32 or AddF32 output; cols / slices a
// multiple of the kind's step (32 fp16, 64 int8, 128 int4).
constexpr int kWideCols = 1024;
constexpr int kWideRows = 128;
bool gemv_tc_wide_fits(const TcJob& job, int tokens);
cudaError_t gemv_tc_wide(const TcBatch& batch, cudaStream_t stream);

// The FFN value product of 1 to kMaxTcTokens tokens from the transposed int8 / int4 matrix (the
// layout and scales of ffn_sparse.h, which the decoding step reads): y[t] += h[t] Wt for every
// row of Wt (no skipping: over many tokens few rows are zero for all). Blocks as gemv_tc_wide's:
// 128 columns of Wt, a slice of at most kWideCols rows f, up to 32 tokens; slices meet by atomic
// adds. h [T, F] and y [T, C] rows packed. Needs F / slices a multiple of 64, C a multiple of 16
// (int8) or 32 (int4), 16-byte aligned Wt and h.
bool ffn_value_wide_fits(bool int4, const void* Wt, const __half* scales, const __half* h, int T,
                         int F, int C, const float* y);
cudaError_t ffn_value_wide(bool int4, const void* Wt, const __half* scales, const __half* h, int T,
                           int F, int C, float* y, cudaStream_t stream);

// Whether gemv_tc can run `job` on the current device, for one token or `tokens` of them.
bool gemv_tc_fits(const TcJob& job, int tokens = 1);

// Runs every job of the batch in one launch (cudaErrorInvalidValue when a job does not fit).
// Launched with programmatic dependent launch where the card has it (common.cuh).
cudaError_t gemv_tc(const TcBatch& batch, cudaStream_t stream);

} // namespace gander::kernels
