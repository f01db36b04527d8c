// Reads the pickle that torch.save writes for a state dict, without Python.
//
// A small pickle virtual machine for the opcodes of protocols 2-5 that torch.save emits, which
// knows exactly the globals a state dict uses (collections.OrderedDict, torch._utils's
// _rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter, and the torch.*Storage classes) and
// refuses everything else: unpickling arbitrary globals is how .pth files run code, and here an
// unknown global is only ever an error. The result is a list of tensor descriptions; the bytes
// live in the zip's data/<key> entries, which the caller resolves.
//
// Hostile input: every length is checked against the remaining bytes, the memo is a map (indices
// are untrusted), objects live in an arena freed at once (pickles can make cycles), nothing
// recurses on the object graph, and all work is linear in the input size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/tensor_file.h"

namespace gander::io {

struct PickledTensor {
    std::string name;         // state-dict key
    std::string storage_type; // "BFloat16Storage", ...
    DType dtype = DType::F32;
    std::string storage_key; // the zip entry is <folder>/data/<storage_key>
    std::int64_t storage_numel = 0;
    std::int64_t storage_offset = 0; // in elements
    std::vector<std::int64_t> size;
    std::vector<std::int64_t> stride; // in elements
};

// The tensors of a pickled state dict, in dict order. A top-level dict with no tensors of its own
// but a "state_dict" or "model" dict (a training checkpoint) is unwrapped. Entries whose value is
// not a tensor are skipped. `label` prefixes errors ("rand-a.pth: rand-a/data.pkl").
std::vector<PickledTensor> read_torch_pickle(std::span<const std::byte> pickle,
                                             const std::string& label);

// The DType of a torch storage class name ("HalfStorage" -> F16); false if not one we read.
bool dtype_from_storage_type(std::string_view storage_type, DType& dtype);

} // namespace gander::io
