// The FFN value projection of a decoding step from the transposed weights, skipping the zero
// activations: y[c] += sum over f with h[f] != 0 of h[f] * Wt[f][c]. Exact: a zero h[f] contributes
// nothing (relu(k)^2 is zero for every k <= 0: about half the rows of a random model, 90-97 % of a
// trained one). Wt is [F, C] fp16 row-major (the file's ffn.value [C, F] transposed at load), h
// fp16, y fp32; products and sums in fp32.
#pragma once

#include <cstddef>
#include <cstdint>

#include <cuda_fp16.h>
#include <cuda_runtime.h>

namespace gander::kernels {

// Rows of Wt one block takes (its partial sums meet in `partial`, then one pass adds them to y).
constexpr int kSparseRowsPerBlock = 256;

// Bytes of the scratch `partial` for F x C.
std::size_t ffn_value_sparse_scratch(int F, int C);

// dense: read every row (the same kernel without the skipping; for measuring what it gives).
// Needs C % 4 == 0 and 8-byte aligned Wt.
// counts, when given: counts[0] += rows with a non-zero activation, counts[1] += F (for the
// fraction of zeros a model's activations have; two 64-bit device counters).
cudaError_t ffn_value_sparse(const __half* h, const __half* Wt, int F, int C, float* y,
                             float* partial, bool dense, cudaStream_t stream,
                             unsigned long long* counts = nullptr);

// int8 weights: Wt [F, C] the CPU's per-row int8 ffn.value [C, F] transposed (bytes as they are),
// scales [C] its row scales: y[c] += scales[c] * sum over non-zero h[f] of h[f] * Wt[f][c].
// Needs C % 8 == 0 and 8-byte aligned Wt.
cudaError_t ffn_value_sparse_i8(const __half* h, const std::int8_t* Wt, const __half* scales, int F,
                                int C, float* y, float* partial, bool dense, cudaStream_t stream,
                                unsigned long long* counts = nullptr);

// int4 weights: Wt [F, C] nibbles (row f: C / 2 bytes, column 2i in the low nibble of byte i, the
// value nibble - 8), the CPU's int4 ffn.value [C, F] (groups of 64 along F) transposed; scales
// [F / 64, C] its scales transposed: y[c] += sum over groups g of scales[g][c] * (sum over the
// group's non-zero h[f] of h[f] * Wt[f][c]). Needs F % 64 == 0, C % 8 == 0, 4-byte aligned Wt and
// 16-byte aligned scales.
cudaError_t ffn_value_sparse_i4(const __half* h, const std::uint8_t* Wt, const __half* scales,
                                int F, int C, float* y, float* partial, bool dense,
                                cudaStream_t stream, unsigned long long* counts = nullptr);

// Several tokens at once (a batch of sessions' decoding step, a short prefill): y[t] += h[t] Wt for
// t < T, T at most kSparseTokens, h [T, F] and y [T, C] with rows packed; int8 / int4 weights and
// scales as above, every row read once for all tokens and skipped where every token's activation
// is zero. Needs C % 8 == 0 (and the alignments above); partial: ffn_value_tokens_scratch bytes.
constexpr int kSparseTokens = 8;
std::size_t ffn_value_tokens_scratch(int F, int C);
cudaError_t ffn_value_tokens_i8(const __half* h, int T, const std::int8_t* Wt, const __half* scales,
                                int F, int C, float* y, float* partial, cudaStream_t stream);
cudaError_t ffn_value_tokens_i4(const __half* h, int T, const std::uint8_t* Wt,
                                const __half* scales, int F, int C, float* y, float* partial,
                                cudaStream_t stream);

// out [cols, rows] = in [rows, cols] transposed: bytes (at load: int8 ffn.value to [F, C]), 16-bit
// values (the int4 scales), nibbles (int4 ffn.value; rows and cols even, packed as Wt above).
cudaError_t transpose_bytes(const std::uint8_t* in, int rows, int cols, std::uint8_t* out,
                            cudaStream_t stream);
cudaError_t transpose_u16(const std::uint16_t* in, int rows, int cols, std::uint16_t* out,
                          cudaStream_t stream);
cudaError_t transpose_nibbles(const std::uint8_t* in, int rows, int cols, std::uint8_t* out,
                              cudaStream_t stream);

// out [F, C] fp16 = Wt[f][c] * scales[c] (the transposed int8 matrix, for prefill's cuBLAS).
cudaError_t dequantize_cols_i8(const std::int8_t* Wt, const __half* scales, int F, int C,
                               __half* out, cudaStream_t stream);
// out [F, C] fp16 = (Wt[f][c] - 8) * scales[f / 64][c] (the transposed int4 matrix).
cudaError_t dequantize_cols_i4(const std::uint8_t* Wt, const __half* scales, int F, int C,
                               __half* out, cudaStream_t stream);

} // namespace gander::kernels
