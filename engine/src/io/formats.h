// The per-format parsers behind TensorFile::open, working on bytes already in memory so that tests
// and fuzzers can call them without a file. Internal to the io folder.
#pragma once

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "io/tensor_file.h"

namespace gander::io {

struct ParsedTensors {
    std::vector<TensorView> tensors; // data points into the buffer given
    std::map<std::string, std::string> metadata;
};

// A torch.save zip. `label` (the file name) starts every error message.
ParsedTensors parse_pth(std::span<const std::byte> file, const std::string& label);
// A .safetensors file.
ParsedTensors parse_safetensors(std::span<const std::byte> file, const std::string& label);
// Whether the first bytes look like a safetensors header (a plausible length, then '{').
bool looks_like_safetensors(std::span<const std::byte> file);

} // namespace gander::io
