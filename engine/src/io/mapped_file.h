// A whole file mapped read-only into memory.
//
// Model files are large (15 GB for a 7B model in bf16) and the readers only ever look at parts of
// them, so the file is mapped once and tensors point into the mapping: the OS pages in what is used
// and nothing is copied. Opening errors name the file and give the system's reason.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace gander::io {

class MappedFile final {
public:
    // Maps `path` read-only. An empty file maps to an empty span (mmap refuses length 0).
    explicit MappedFile(const std::string& path);
    ~MappedFile();
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;

    const std::string& path() const { return m_path; }
    const std::byte* data() const { return m_data; }
    std::size_t size() const { return m_size; }
    std::span<const std::byte> bytes() const { return {m_data, m_size}; }

private:
    void unmap() noexcept;

    std::string m_path;
    const std::byte* m_data = nullptr;
    std::size_t m_size = 0;
#ifdef _WIN32
    void* m_mapping = nullptr; // HANDLE of the file mapping object
#endif
};

} // namespace gander::io
