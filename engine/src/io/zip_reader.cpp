// ZipReader: the end-of-central-directory search, zip64 records, the central directory and local
// headers. Sizes come from the central directory only: torch writes its local headers with the
// "sizes in data descriptor" flag and zeros in the size fields.
#include "io/zip_reader.h"

#include "gander/gander.h"
#include "io/bytes.h"

#include <algorithm>
#include <string>
#include <utility>

namespace gander::io {

namespace {

constexpr std::uint32_t kLocalHeaderSig = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::size_t kLocalHeaderSize = 30;
constexpr std::size_t kCentralHeaderSize = 46;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::size_t kZip64LocatorSize = 20;
constexpr std::uint16_t kZip64ExtraId = 0x0001;
constexpr std::uint16_t kFlagEncrypted = 0x0001;

std::string quoted(std::string_view name) {
    return "'" + printable(name) + "'";
}

} // namespace

ZipReader::ZipReader(std::span<const std::byte> archive, std::string label)
    : m_data(archive), m_label(std::move(label)) {
    Directory dir = find_directory();
    read_directory(dir);
    for (auto& entry : m_entries) locate_payload(entry);
}

void ZipReader::fail(const std::string& what) const {
    throw Error(m_label + ": " + what);
}

const ZipEntry* ZipReader::find(std::string_view name) const {
    auto it = m_index.find(std::string(name));
    return it == m_index.end() ? nullptr : &m_entries[it->second];
}

std::span<const std::byte> ZipReader::payload(const ZipEntry& entry) const {
    if (entry.flags & kFlagEncrypted)
        fail("zip entry " + quoted(entry.name) + " is encrypted; model files must not be");
    if (entry.method != 0)
        fail("zip entry " + quoted(entry.name) + " is compressed (method " +
             std::to_string(entry.method) +
             "); only stored entries are supported (torch.save does not compress)");
    return m_data.subspan(entry.data_offset, entry.size);
}

ZipReader::Directory ZipReader::find_directory() const {
    const std::size_t size = m_data.size();
    if (size < kEndSize) fail("not a zip archive: " + std::to_string(size) + " bytes is too small");

    // The end record sits before a comment of up to 64 KiB. Prefer a record whose comment length
    // reaches exactly the end of the file, so that "PK\5\6" inside a comment is not taken for it.
    std::size_t found = size, loose = size;
    const std::size_t lowest = size - kEndSize > 0xFFFF ? size - kEndSize - 0xFFFF : 0;
    for (std::size_t pos = size - kEndSize + 1; pos-- > lowest;) {
        if (load_u32le(&m_data[pos]) != kEndSig) continue;
        std::size_t comment = load_u16le(&m_data[pos + 20]);
        if (pos + kEndSize + comment == size) {
            found = pos;
            break;
        }
        if (loose == size && pos + kEndSize + comment <= size) loose = pos;
    }
    if (found == size) found = loose;
    if (found == size)
        fail("no end-of-central-directory record (file truncated, or not a zip archive)");

    const std::byte* end = &m_data[found];
    std::uint16_t disk = load_u16le(end + 4), dir_disk = load_u16le(end + 6);
    std::uint16_t entries_here = load_u16le(end + 8), entries16 = load_u16le(end + 10);
    std::uint32_t dir_size32 = load_u32le(end + 12), dir_offset32 = load_u32le(end + 16);

    Directory dir{entries16, dir_offset32, dir_size32};
    bool has_locator = found >= kZip64LocatorSize &&
                       load_u32le(&m_data[found - kZip64LocatorSize]) == kZip64LocatorSig;
    if (has_locator) {
        const std::byte* loc = &m_data[found - kZip64LocatorSize];
        std::uint64_t record = load_u64le(loc + 8);
        if (load_u32le(loc + 4) != 0 || load_u32le(loc + 16) > 1)
            fail("multi-disk zip archives are not supported");
        if (!range_ok(record, kZip64EndSize, found - kZip64LocatorSize))
            fail("zip64 end record offset " + std::to_string(record) + " is outside the file");
        const std::byte* z = &m_data[record];
        if (load_u32le(z) != kZip64EndSig)
            fail("zip64 end record not found at offset " + std::to_string(record));
        if (load_u32le(z + 16) != 0 || load_u32le(z + 20) != 0)
            fail("multi-disk zip archives are not supported");
        if (load_u64le(z + 24) != load_u64le(z + 32))
            fail("multi-disk zip archives are not supported");
        dir = Directory{load_u64le(z + 32), load_u64le(z + 48), load_u64le(z + 40)};
    } else {
        if (entries16 == 0xFFFF || dir_size32 == 0xFFFFFFFF || dir_offset32 == 0xFFFFFFFF)
            fail("end record defers to a zip64 record, but the zip64 locator is missing");
        if (disk != 0 || dir_disk != 0 || entries_here != entries16)
            fail("multi-disk zip archives are not supported");
    }

    if (!range_ok(dir.offset, dir.size, found))
        fail("central directory (offset " + std::to_string(dir.offset) + ", " +
             std::to_string(dir.size) + " bytes) lies outside the file (" + std::to_string(size) +
             " bytes)");
    if (dir.entries > dir.size / kCentralHeaderSize)
        fail("central directory claims " + std::to_string(dir.entries) + " entries in " +
             std::to_string(dir.size) + " bytes");
    return dir;
}

void ZipReader::read_directory(const Directory& dir) {
    const std::byte* base = m_data.data() + dir.offset;
    const std::uint64_t limit = dir.size;
    std::uint64_t pos = 0;
    // No reserve(dir.entries): the count was bounded by the directory's size above, but growing
    // as entries prove real keeps memory tied to what is actually there.
    for (std::uint64_t i = 0; i < dir.entries; ++i) {
        if (!range_ok(pos, kCentralHeaderSize, limit))
            fail("central directory entry " + std::to_string(i) + " is truncated");
        const std::byte* h = base + pos;
        if (load_u32le(h) != kCentralHeaderSig)
            fail("central directory entry " + std::to_string(i) + " has a bad signature");
        ZipEntry e;
        e.flags = load_u16le(h + 8);
        e.method = load_u16le(h + 10);
        std::uint32_t csize32 = load_u32le(h + 20), size32 = load_u32le(h + 24);
        std::size_t name_len = load_u16le(h + 28), extra_len = load_u16le(h + 30),
                    comment_len = load_u16le(h + 32);
        std::uint16_t disk = load_u16le(h + 34);
        std::uint32_t offset32 = load_u32le(h + 42);
        std::uint64_t record = kCentralHeaderSize + name_len + extra_len + comment_len;
        if (!range_ok(pos, record, limit))
            fail("central directory entry " + std::to_string(i) + " runs past the directory");
        e.name.assign(reinterpret_cast<const char*>(h + kCentralHeaderSize), name_len);
        e.compressed_size = csize32;
        e.size = size32;
        e.header_offset = offset32;
        bool need_size = size32 == 0xFFFFFFFF, need_csize = csize32 == 0xFFFFFFFF,
             need_offset = offset32 == 0xFFFFFFFF;
        if (need_size || need_csize || need_offset)
            read_zip64_extra(e, h + kCentralHeaderSize + name_len, extra_len, need_size, need_csize,
                             need_offset);
        if (disk != 0 && disk != 0xFFFF)
            fail("zip entry " + quoted(e.name) + " is on another disk (multi-disk archive)");
        if (e.method == 0 && e.compressed_size != e.size)
            fail("zip entry " + quoted(e.name) + " is stored but its sizes differ (" +
                 std::to_string(e.compressed_size) + " vs " + std::to_string(e.size) + ")");
        if (!m_index.emplace(e.name, m_entries.size()).second)
            fail("zip entry " + quoted(e.name) + " appears twice");
        m_entries.push_back(std::move(e));
        pos += record;
    }
}

void ZipReader::read_zip64_extra(ZipEntry& entry, const std::byte* extra, std::size_t length,
                                 bool need_size, bool need_csize, bool need_offset) const {
    std::size_t pos = 0;
    while (pos + 4 <= length) {
        std::uint16_t id = load_u16le(extra + pos), block = load_u16le(extra + pos + 2);
        pos += 4;
        if (block > length - pos) break;
        if (id == kZip64ExtraId) {
            // Only the fields whose 32-bit slot overflowed are present, always in this order.
            const std::byte* p = extra + pos;
            std::size_t left = block;
            auto take = [&](std::uint64_t& field) {
                if (left < 8)
                    fail("zip entry " + quoted(entry.name) + ": zip64 extra field is too short");
                field = load_u64le(p);
                p += 8;
                left -= 8;
            };
            if (need_size) take(entry.size);
            if (need_csize) take(entry.compressed_size);
            if (need_offset) take(entry.header_offset);
            return;
        }
        pos += block;
    }
    fail("zip entry " + quoted(entry.name) +
         ": sizes or offset need a zip64 extra field, and none is present");
}

void ZipReader::locate_payload(ZipEntry& entry) const {
    const std::uint64_t size = m_data.size();
    if (!range_ok(entry.header_offset, kLocalHeaderSize, size))
        fail("zip entry " + quoted(entry.name) + ": local header at offset " +
             std::to_string(entry.header_offset) + " is outside the file (" + std::to_string(size) +
             " bytes)");
    const std::byte* h = m_data.data() + entry.header_offset;
    if (load_u32le(h) != kLocalHeaderSig)
        fail("zip entry " + quoted(entry.name) + ": no local header at offset " +
             std::to_string(entry.header_offset));
    std::size_t name_len = load_u16le(h + 26), extra_len = load_u16le(h + 28);
    std::uint64_t start = entry.header_offset + kLocalHeaderSize;
    if (!range_ok(start, name_len + extra_len, size))
        fail("zip entry " + quoted(entry.name) + ": local header is truncated");
    // A local name that differs from the directory's means the offsets do not belong together.
    if (std::string_view(reinterpret_cast<const char*>(h + kLocalHeaderSize), name_len) !=
        entry.name)
        fail("zip entry " + quoted(entry.name) + ": local header names another entry");
    entry.data_offset = start + name_len + extra_len;
    if (!range_ok(entry.data_offset, entry.compressed_size, size))
        fail("zip entry " + quoted(entry.name) + ": " + std::to_string(entry.compressed_size) +
             " bytes at offset " + std::to_string(entry.data_offset) +
             " run past the end of the file (" + std::to_string(size) + " bytes)");
}

} // namespace gander::io
