// TensorFile::open: maps the file, recognises its format by content, hands the bytes to the
// format's parser (pth_file.cpp, safetensors.cpp) and indexes the tensors by name. Also the small
// DType and TensorView helpers.
#include "io/tensor_file.h"

#include "gander/gander.h"
#include "io/formats.h"
#include "io/mapped_file.h"

#include <array>
#include <cstring>
#include <filesystem>

namespace gander::io {

namespace {

struct DTypeInfo {
    DType dtype;
    std::string_view name;
    std::size_t size;
};

constexpr std::array<DTypeInfo, 8> kDTypes{{
    {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2},
    {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},
    {DType::I32, "I32", 4},
    {DType::I64, "I64", 8},
    {DType::F64, "F64", 8},
}};

const DTypeInfo& info(DType dtype) {
    for (const auto& i : kDTypes)
        if (i.dtype == dtype) return i;
    throw Error("invalid DType " + std::to_string(static_cast<int>(dtype)));
}

std::string first_bytes(std::span<const std::byte> bytes) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && i < 8; ++i) {
        auto u = std::to_integer<unsigned>(bytes[i]);
        if (i) out += ' ';
        out += hex[u >> 4];
        out += hex[u & 15];
    }
    return out;
}

// Owns the bytes the views point into: the mapping for open(), nothing for open_memory().
class LoadedTensorFile final : public TensorFile {
public:
    LoadedTensorFile(std::span<const std::byte> bytes, const std::string& path,
                     const std::string& label, std::unique_ptr<MappedFile> mapping)
        : m_mapping(std::move(mapping)) {
        m_path = path;
        m_file_size = bytes.size();
        if (bytes.empty()) throw Error(label + ": empty file");
        ParsedTensors parsed;
        static constexpr unsigned char kZipMagic[4] = {'P', 'K', 3, 4};
        if (bytes.size() >= 4 && std::memcmp(bytes.data(), kZipMagic, 4) == 0) {
            m_format = "pth";
            parsed = parse_pth(bytes, label);
        } else if (looks_like_safetensors(bytes)) {
            m_format = "safetensors";
            parsed = parse_safetensors(bytes, label);
        } else {
            throw Error(label + ": not a PyTorch zip or safetensors file (first bytes " +
                        first_bytes(bytes) + ", " + std::to_string(bytes.size()) +
                        " bytes in all)");
        }
        m_tensors = std::move(parsed.tensors);
        m_metadata = std::move(parsed.metadata);
        m_index.reserve(m_tensors.size());
        for (std::size_t i = 0; i < m_tensors.size(); ++i)
            if (!m_index.emplace(m_tensors[i].name, i).second)
                throw Error(label + ": tensor " + m_tensors[i].name + " appears twice");
    }

private:
    std::unique_ptr<MappedFile> m_mapping;
};

} // namespace

std::string_view dtype_name(DType dtype) {
    return info(dtype).name;
}
std::size_t dtype_size(DType dtype) {
    return info(dtype).size;
}

std::optional<DType> dtype_from_name(std::string_view name) {
    for (const auto& i : kDTypes)
        if (i.name == name) return i.dtype;
    return std::nullopt;
}

std::int64_t TensorView::numel() const {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
}

std::string TensorView::shape_string() const {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
    return s + "]";
}

const TensorView* TensorFile::find(std::string_view name) const {
    auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

std::unique_ptr<TensorFile> TensorFile::open(const std::string& path) {
    auto mapping = std::make_unique<MappedFile>(path);
    auto bytes = mapping->bytes();
    // Messages name the file as the user knows it; the directory rarely helps and is long.
    std::string label = std::filesystem::path(path).filename().string();
    if (label.empty()) label = path;
    return std::make_unique<LoadedTensorFile>(bytes, path, label, std::move(mapping));
}

std::unique_ptr<TensorFile> TensorFile::open_memory(std::span<const std::byte> bytes,
                                                    const std::string& label) {
    return std::make_unique<LoadedTensorFile>(bytes, label, label, nullptr);
}

} // namespace gander::io
