// The weights of an RWKV-7 model, as the backends consume them: one struct per layer, tensors by
// role, shapes normalised to the official layout (vectors flattened to [C], LoRA down-projections
// [C, rank], up-projections [rank, C], linear layers [out, in]). Tensors are views into the
// memory-mapped file whenever the file's layout allows; converted tensors (fla-hub LoRA transposes,
// random models) live in `owned`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gander/gander.h"
#include "io/tensor_file.h"

namespace gander::model {

// A matrix or vector. Floating tensors are F32/F16/BF16. Quantized matrices (quantize.h) are
// I8 (int8, one fp16 scale per row) or U8 (int4, two per byte, low nibble first, one fp16 scale
// per `group` values of a row); `shape` is always the logical [rows, cols].
struct Tensor {
    io::DType dtype = io::DType::F32;
    std::vector<std::int64_t> shape;
    const std::byte* data = nullptr;
    std::size_t nbytes = 0;
    const std::byte* scales = nullptr; // fp16, quantized tensors only
    int group = 0;                     // values per scale along a row (quantized only)

    bool quantized() const { return dtype == io::DType::I8 || dtype == io::DType::U8; }
    // Bytes of one stored row (packed for int4).
    std::size_t row_bytes() const;

    bool empty() const { return data == nullptr; }
    std::int64_t numel() const;
    std::int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
    std::int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
    float at(std::int64_t i) const;                     // element i as fp32 (F32/F16/BF16)
    void to_f32(float* out) const;                      // all elements as fp32
    void row_to_f32(std::int64_t row, float* out) const; // one row of a matrix
};

struct LayerWeights {
    Tensor ln1_w, ln1_b, ln2_w, ln2_b;        // [C]
    Tensor x_r, x_w, x_k, x_v, x_a, x_g;      // [C] token-shift mixes
    Tensor w0, w1, w2;                        // decay LoRA: [C], [C,Dw], [Dw,C]
    Tensor a0, a1, a2;                        // in-context learning rate LoRA
    Tensor v0, v1, v2;                        // value residual LoRA (empty in layer 0)
    Tensor g1, g2;                            // gate LoRA: [C,Dg], [Dg,C]
    Tensor k_k, k_a;                          // [C]
    Tensor r_k;                               // [H*N]
    Tensor receptance, key, value, output;    // [C,C]
    Tensor ln_x_w, ln_x_b;                    // [C] per-head GroupNorm
    Tensor ffn_x_k;                           // [C]
    Tensor ffn_key, ffn_value;                // [F,C], [C,F]
};

struct Weights {
    ModelShape shape;
    Tensor emb;                // [V,C] as stored (blocks.0.ln0 not applied)
    Tensor ln0_w, ln0_b;       // [C]
    Tensor ln_out_w, ln_out_b; // [C]
    Tensor head;               // [V,C]
    std::vector<LayerWeights> layers;

    std::string path;
    std::string file_dtype;  // "bf16" / "fp16" / "fp32" / "mixed"
    std::string fingerprint; // 16 hex digits over names, shapes and a sample of the data

    std::shared_ptr<const io::TensorFile> file;    // keeps the mapping alive
    std::vector<std::vector<std::byte>> owned;     // storage of converted tensors
    std::shared_ptr<const Weights> keep_alive;     // weights this one has views into
};

// Reads an official .pth or a .safetensors (official or fla-hub names), checks every shape and
// derives the hyperparameters. Errors name the file and the tensor.
std::shared_ptr<const Weights> load_weights(const std::string& path, const Progress& progress = {});

// Random weights of a shape, in host memory, stored as `dtype` (F32/F16/BF16). The recipe (which
// tensors get which ranges) is the one the CUDA backend's on-device generator follows, so that a
// random model behaves like a trained one numerically (no overflow, sane norms).
std::shared_ptr<const Weights> make_random_weights(const ModelShape& shape, std::uint64_t seed,
                                                   io::DType dtype);

} // namespace gander::model
