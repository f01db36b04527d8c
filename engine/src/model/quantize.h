// Weight precisions: conversion of checked Weights to what a backend holds, and the quantized-
// weight cache file (docs/quantization.md).
//
//   fp32 / fp16 / bf16: every tensor in that dtype.
//   int8: receptance, key, value, output, ffn.key, ffn.value and head as int8 with one fp16 scale
//         per output row (symmetric, scale = max|row| / 127); everything else fp16.
//   int4: the same six matrices as int4 in groups of 64 along the input, one fp16 scale per group
//         (symmetric, the clipping of each group chosen to minimise its squared error); head int8;
//         everything else fp16.
#pragma once

#include <memory>
#include <string>

#include "gander/gander.h"
#include "model/weights.h"

namespace gander::model {

constexpr int kInt4Group = 64;

// "int8-row" / "int4-g64" for quantized precisions, else "fp16" etc.
std::string precision_scheme(Precision p);

// The weights as the given precision holds them. Tensors already in the right form stay views.
std::shared_ptr<const Weights> convert_weights(std::shared_ptr<const Weights> source, Precision p,
                                               const Progress& progress = {});

// Writes quantized (or converted) weights as a .safetensors cache with metadata: format
// "gander-weights", version, scheme, the source's fingerprint, file name and size.
void write_weight_cache(const Weights& converted, Precision p, const std::string& path,
                        const Weights& source);

// Where the cache of `source` at precision `p` lives inside `cache_dir`.
std::string weight_cache_path(const std::string& cache_dir, const Weights& source, Precision p);

// Loads the cache at `path` if it was made from `source` at precision `p` by this version of the
// format; returns null when it is missing, stale or foreign (the caller rebuilds it).
std::shared_ptr<const Weights> load_weight_cache(const std::string& path, const Weights& source,
                                                 Precision p);

} // namespace gander::model
