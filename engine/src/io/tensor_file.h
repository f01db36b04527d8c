// A model file opened for reading: memory-mapped, its tensors indexed by name.
//
// Formats, recognised by content (not by extension):
//   - PyTorch .pth (torch.save): a zip of stored entries, any inner folder name, zip64 records;
//     the pickle subset torch.save writes (see pickle_reader.h).
//   - .safetensors: 8-byte little-endian header length, JSON header, raw data.
// The file is mapped once; TensorView::data points into the mapping, so a 15 GB model is never read
// into memory twice. Every error throws gander::Error naming the file and the tensor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gander::io {

enum class DType : std::uint8_t { F32, F16, BF16, I8, U8, I32, I64, F64 };

std::string_view dtype_name(DType dtype); // "F32", "F16", "BF16", ... (safetensors spelling)
std::size_t dtype_size(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name); // inverse of dtype_name

struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<std::int64_t> shape; // row-major, contiguous
    const std::byte* data = nullptr;
    std::size_t nbytes = 0;

    std::int64_t numel() const;
    std::string shape_string() const; // "[128,64]"
    // `data` points where the bytes lie in the file: 64-byte aligned in torch .pth files, 8-byte
    // aligned in files from write_safetensors, unaligned in general. Read through memcpy, or check.
};

class TensorFile {
public:
    TensorFile() = default;
    TensorFile(const TensorFile&) = delete;
    TensorFile& operator=(const TensorFile&) = delete;
    virtual ~TensorFile() = default;
    // Opens `path`, detecting the format by its first bytes.
    static std::unique_ptr<TensorFile> open(const std::string& path);
    // Reads a file already in memory (tests, fuzzers); `bytes` must outlive the result, and
    // `label` names it in errors.
    static std::unique_ptr<TensorFile> open_memory(std::span<const std::byte> bytes,
                                                   const std::string& label);

    const std::string& path() const { return m_path; }
    std::string_view format() const { return m_format; } // "pth" or "safetensors"
    // Tensors in file order.
    const std::vector<TensorView>& tensors() const { return m_tensors; }
    const TensorView* find(std::string_view name) const;
    // safetensors __metadata__ (empty for .pth).
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    // Bytes of the whole file.
    std::size_t file_size() const { return m_file_size; }

protected:
    std::string m_path;
    std::string m_format;
    std::vector<TensorView> m_tensors;
    std::map<std::string, std::string> m_metadata;
    std::size_t m_file_size = 0;

    // Name -> index into m_tensors, built once m_tensors is final: the keys view its names (which
    // is also why a TensorFile is not copyable).
    std::unordered_map<std::string_view, std::size_t> m_index;
};

// Writes a .safetensors file (tensors in the given order, 8-byte aligned data, optional metadata).
// Used for quantized-weight caches and by tests. Writes to `path`.tmp and renames, so a crash never
// leaves a half-written file under the final name.
struct TensorToWrite {
    std::string name;
    DType dtype;
    std::vector<std::int64_t> shape;
    const void* data;
    std::size_t nbytes;
};
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

} // namespace gander::io
