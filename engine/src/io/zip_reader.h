// Reads the central directory of a zip archive held in memory (the layout torch.save writes).
//
// Only what a .pth needs: stored (uncompressed) entries, located through the end-of-central-
// directory record, with zip64 records and extra fields for files past 4 GiB, and payloads found
// through each entry's local header (whose extra field torch 2.x pads so that payloads start on a
// 64-byte boundary). Every offset and length read from the archive is checked against the buffer
// before use. Errors throw gander::Error starting with the label given (the file name).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gander::io {

struct ZipEntry {
    std::string name;
    std::uint16_t method = 0; // 0 = stored; anything else is refused by ZipReader::payload
    std::uint16_t flags = 0;
    std::uint64_t compressed_size = 0;
    std::uint64_t size = 0;          // uncompressed
    std::uint64_t header_offset = 0; // of the local file header
    std::uint64_t data_offset = 0;   // of the payload, from the local header
};

class ZipReader {
public:
    // Parses the directory and every local header. `archive` must outlive the reader.
    ZipReader(std::span<const std::byte> archive, std::string label);

    const std::vector<ZipEntry>& entries() const { return m_entries; }
    const ZipEntry* find(std::string_view name) const;
    // The bytes of a stored entry. Throws for a compressed or encrypted entry, naming it.
    std::span<const std::byte> payload(const ZipEntry& entry) const;
    const std::string& label() const { return m_label; }

private:
    struct Directory {
        std::uint64_t entries = 0;
        std::uint64_t offset = 0;
        std::uint64_t size = 0;
    };

    [[noreturn]] void fail(const std::string& what) const;
    Directory find_directory() const;
    void read_directory(const Directory& dir);
    void read_zip64_extra(ZipEntry& entry, const std::byte* extra, std::size_t length,
                          bool need_size, bool need_csize, bool need_offset) const;
    void locate_payload(ZipEntry& entry) const;

    std::span<const std::byte> m_data;
    std::string m_label;
    std::vector<ZipEntry> m_entries;
    std::unordered_map<std::string, std::size_t> m_index;
};

} // namespace gander::io
