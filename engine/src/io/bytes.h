// Little-endian loads and overflow-checked size arithmetic shared by the file readers.
//
// Every length and offset in a model file is untrusted; these helpers make "is [offset, offset+n)
// inside a buffer of size s" a single call that cannot wrap around.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

namespace gander::io {

inline std::uint16_t load_u16le(const std::byte* p) {
    return static_cast<std::uint16_t>(std::to_integer<unsigned>(p[0]) |
                                      (std::to_integer<unsigned>(p[1]) << 8));
}

inline std::uint32_t load_u32le(const std::byte* p) {
    return static_cast<std::uint32_t>(load_u16le(p)) |
           (static_cast<std::uint32_t>(load_u16le(p + 2)) << 16);
}

inline std::uint64_t load_u64le(const std::byte* p) {
    return static_cast<std::uint64_t>(load_u32le(p)) |
           (static_cast<std::uint64_t>(load_u32le(p + 4)) << 32);
}

// True when [offset, offset + length) lies within [0, size).
inline bool range_ok(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
    return offset <= size && length <= size - offset;
}

// Element counts stay within int64, the type TensorView::shape and numel() use.
constexpr std::uint64_t kMaxNumel =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// a * b, or false when it overflows `limit`.
inline bool mul_ok(std::uint64_t a, std::uint64_t b, std::uint64_t& out,
                   std::uint64_t limit = std::numeric_limits<std::uint64_t>::max()) {
    if (a != 0 && b > limit / a) return false;
    out = a * b;
    return true;
}

// A name read from a file, safe to put in a message: control and non-ASCII bytes as \xNN, long
// names cut. Names in model files are untrusted and end up in terminals and logs.
inline std::string printable(std::string_view text, std::size_t max = 200) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (char c : text.substr(0, max)) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) {
            out += c;
        } else {
            out += "\\x";
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    if (text.size() > max) out += "...";
    return out;
}

} // namespace gander::io
