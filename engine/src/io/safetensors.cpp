// .safetensors: the reader (parse_safetensors) and write_safetensors.
//
// Layout: u64 little-endian header length N, N bytes of JSON, then the data section. The JSON maps
// each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// data section), plus an optional "__metadata__" map of strings. The writer pads the header with
// spaces so the data section starts 8-byte aligned, and pads between tensors so each one does too;
// when every tensor's size is a multiple of 8 (the usual case) there is no padding between tensors
// and the file is also accepted by the reference implementation, which forbids gaps.
#include "gander/gander.h"
#include "io/bytes.h"
#include "io/formats.h"
#include "io/json.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <unordered_set>

#ifndef _WIN32
#include <unistd.h>
#endif

namespace gander::io {

namespace {

// Far larger than any real header (a 7B model's is ~20 KB, a shard of a large mixture-of-experts
// model's ~2 MB), and small enough that a hostile length cannot make the parser build a huge
// document: a JSON value takes ~100 bytes in memory, so 16 MiB of "[]," stays under 600 MB.
constexpr std::uint64_t kMaxHeader = std::uint64_t{16} << 20;
constexpr std::size_t kMaxDims = 32;

std::string join(const std::vector<std::int64_t>& v) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

std::uint64_t non_negative(const JsonValue& v, const std::string& where, const char* what) {
    if (!v.is_int64() || v.as_int64() < 0)
        throw Error(where + ": " + what + " must be non-negative integers");
    return static_cast<std::uint64_t>(v.as_int64());
}

} // namespace

bool looks_like_safetensors(std::span<const std::byte> file) {
    if (file.size() < 10) return false;
    std::uint64_t n = load_u64le(file.data());
    if (n < 2 || n > file.size() - 8 || n > kMaxHeader) return false;
    for (std::size_t i = 8; i < 8 + n; ++i) {
        char c = static_cast<char>(file[i]);
        if (c == '{') return true;
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
    }
    return false;
}

ParsedTensors parse_safetensors(std::span<const std::byte> file, const std::string& label) {
    if (file.size() < 8)
        throw Error(label + ": too small for a safetensors header (" + std::to_string(file.size()) +
                    " bytes)");
    const std::uint64_t header_len = load_u64le(file.data());
    if (header_len > file.size() - 8)
        throw Error(label + ": safetensors header length " + std::to_string(header_len) +
                    " exceeds the file size (" + std::to_string(file.size()) + " bytes)");
    if (header_len > kMaxHeader)
        throw Error(label + ": safetensors header length " + std::to_string(header_len) +
                    " is implausibly large");
    const std::string_view text(reinterpret_cast<const char*>(file.data() + 8),
                                static_cast<std::size_t>(header_len));
    const std::span<const std::byte> data = file.subspan(8 + header_len);

    JsonValue header;
    try {
        header = parse_json(text, 16);
    } catch (const Error& e) {
        throw Error(label + ": safetensors header: " + e.what());
    }
    if (!header.is_object()) throw Error(label + ": safetensors header is not a JSON object");

    ParsedTensors out;
    struct Span {
        std::uint64_t begin, end;
        std::size_t index;
    };
    std::vector<Span> spans;
    for (const auto& [name, value] : header.members()) {
        if (name == "__metadata__") {
            if (!value.is_object())
                throw Error(label + ": safetensors __metadata__ is not an object");
            for (const auto& [key, item] : value.members()) {
                if (!item.is_string())
                    throw Error(label + ": safetensors __metadata__ '" + printable(key) +
                                "' is not a string");
                out.metadata[key] = item.as_string();
            }
            continue;
        }
        const std::string where = label + ": tensor " + printable(name);
        if (!value.is_object()) throw Error(where + ": header entry is not an object");
        const JsonValue* dtype = value.get("dtype");
        const JsonValue* shape = value.get("shape");
        const JsonValue* offsets = value.get("data_offsets");
        if (!dtype || !dtype->is_string()) throw Error(where + ": missing dtype");
        if (!shape || !shape->is_array()) throw Error(where + ": missing shape");
        if (!offsets || !offsets->is_array() || offsets->size() != 2)
            throw Error(where + ": data_offsets must be [begin, end]");

        TensorView v;
        v.name = name;
        auto parsed = dtype_from_name(dtype->as_string());
        if (!parsed)
            throw Error(where + ": unsupported dtype '" + printable(dtype->as_string(), 40) + "'");
        v.dtype = *parsed;
        if (shape->size() > kMaxDims)
            throw Error(where + ": more than " + std::to_string(kMaxDims) + " dimensions");
        std::uint64_t numel = 1;
        for (const auto& dim : shape->items()) {
            std::uint64_t d = non_negative(dim, where, "shape dimensions");
            v.shape.push_back(static_cast<std::int64_t>(d));
            if (!mul_ok(numel, d, numel, kMaxNumel))
                throw Error(where + ": shape " + join(v.shape) + " overflows");
        }
        std::uint64_t begin = non_negative(offsets->items()[0], where, "data_offsets");
        std::uint64_t end = non_negative(offsets->items()[1], where, "data_offsets");
        if (begin > end)
            throw Error(where + ": data_offsets [" + std::to_string(begin) + "," +
                        std::to_string(end) + "] run backwards");
        if (end > data.size())
            throw Error(where + ": data_offsets end " + std::to_string(end) +
                        " is past the data section (" + std::to_string(data.size()) + " bytes)");
        std::uint64_t nbytes = 0;
        bool fits = mul_ok(numel, dtype_size(v.dtype), nbytes);
        if (!fits || nbytes != end - begin)
            throw Error(where + ": shape " + join(v.shape) + " of " +
                        std::string(dtype_name(v.dtype)) + " needs " +
                        (fits ? std::to_string(nbytes) : std::string("more than 2^64")) +
                        " bytes, data_offsets span " + std::to_string(end - begin));
        v.data = data.data() + begin;
        v.nbytes = static_cast<std::size_t>(nbytes);
        if (nbytes) spans.push_back({begin, end, out.tensors.size()});
        out.tensors.push_back(std::move(v));
    }

    // Two names over the same bytes would make writing one tensor change another.
    std::sort(spans.begin(), spans.end(),
              [](const Span& a, const Span& b) { return a.begin < b.begin; });
    for (std::size_t i = 1; i < spans.size(); ++i)
        if (spans[i].begin < spans[i - 1].end)
            throw Error(label + ": tensors " + printable(out.tensors[spans[i - 1].index].name) +
                        " and " + printable(out.tensors[spans[i].index].name) + " overlap");
    return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
    // Validate everything before touching the disk.
    std::unordered_set<std::string_view> names;
    std::vector<std::uint64_t> begins;
    std::uint64_t cursor = 0;
    for (const auto& t : tensors) {
        const std::string where = path + ": tensor " + printable(t.name);
        if (t.name.empty() || t.name == "__metadata__") throw Error(where + ": invalid name");
        if (!names.insert(t.name).second) throw Error(where + ": name used twice");
        std::uint64_t numel = 1;
        for (auto d : t.shape) {
            if (d < 0 || !mul_ok(numel, static_cast<std::uint64_t>(d), numel, kMaxNumel))
                throw Error(where + ": invalid shape " + join(t.shape));
        }
        std::uint64_t nbytes = 0;
        if (!mul_ok(numel, dtype_size(t.dtype), nbytes) || nbytes != t.nbytes)
            throw Error(where + ": shape " + join(t.shape) + " of " +
                        std::string(dtype_name(t.dtype)) + " needs " + std::to_string(nbytes) +
                        " bytes, " + std::to_string(t.nbytes) + " given");
        if (t.nbytes && !t.data) throw Error(where + ": no data");
        cursor = (cursor + 7) & ~std::uint64_t{7};
        begins.push_back(cursor);
        cursor += t.nbytes;
    }

    std::string header = "{";
    if (!metadata.empty()) {
        header += "\"__metadata__\":{";
        bool first = true;
        for (const auto& [k, v] : metadata) {
            header += (first ? "\"" : ",\"") + json_escape(k) + "\":\"" + json_escape(v) + "\"";
            first = false;
        }
        header += "}";
    }
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const auto& t = tensors[i];
        if (header.size() > 1) header += ",";
        header += "\"" + json_escape(t.name) + "\":{\"dtype\":\"" +
                  std::string(dtype_name(t.dtype)) + "\",\"shape\":" + join(t.shape) +
                  ",\"data_offsets\":[" + std::to_string(begins[i]) + "," +
                  std::to_string(begins[i] + t.nbytes) + "]}";
    }
    header += "}";
    while ((8 + header.size()) % 8) header += ' ';

    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw Error(tmp + ": cannot create: " + std::strerror(errno));
    auto fail = [&](const char* what) {
        int err = errno;
        std::fclose(f);
        std::remove(tmp.c_str());
        throw Error(tmp + ": " + what + ": " + std::strerror(err));
    };
    std::byte len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<std::byte>(header.size() >> (8 * i));
    if (std::fwrite(len, 1, 8, f) != 8 ||
        std::fwrite(header.data(), 1, header.size(), f) != header.size())
        fail("cannot write");
    static const char zeros[8] = {};
    std::uint64_t written = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        std::size_t pad = static_cast<std::size_t>(begins[i] - written);
        if (pad && std::fwrite(zeros, 1, pad, f) != pad) fail("cannot write");
        if (tensors[i].nbytes &&
            std::fwrite(tensors[i].data, 1, tensors[i].nbytes, f) != tensors[i].nbytes)
            fail("cannot write");
        written = begins[i] + tensors[i].nbytes;
    }
    if (std::fflush(f) != 0) fail("cannot write");
#ifndef _WIN32
    // The rename below is only a guarantee if the data reached the disk before it.
    if (::fsync(::fileno(f)) != 0) fail("cannot sync");
#endif
    if (std::fclose(f) != 0) {
        int err = errno;
        std::remove(tmp.c_str());
        throw Error(tmp + ": cannot write: " + std::strerror(err));
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::remove(tmp.c_str());
        throw Error(path + ": cannot rename " + tmp + ": " + ec.message());
    }
}

} // namespace gander::io
