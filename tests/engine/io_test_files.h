// Builders for the model files the io tests make at test time: zip archives laid out the way
// torch.save writes them (optionally zip64, 64-byte-aligned payloads, compressed entries), the
// pickle of a state dict, and a scratch folder. Shared by the test_io_*.cpp files; written from
// the zip specification (APPNOTE) and CPython's pickle opcode list, not from any writer's code.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include <unistd.h>

namespace gander::test::iofiles {

inline void put16(std::string& s, std::uint32_t v) {
    s += static_cast<char>(v & 0xFF);
    s += static_cast<char>((v >> 8) & 0xFF);
}
inline void put32(std::string& s, std::uint32_t v) {
    put16(s, v & 0xFFFF);
    put16(s, v >> 16);
}
inline void put64(std::string& s, std::uint64_t v) {
    put32(s, static_cast<std::uint32_t>(v));
    put32(s, static_cast<std::uint32_t>(v >> 32));
}

// True when `what` (an error message) contains `needle`; says what it got when not.
inline bool has(const std::string& what, const std::string& needle) {
    const bool ok = what.find(needle) != std::string::npos;
    if (!ok) std::fprintf(stderr, "  expected \"%s\" in: %s\n", needle.c_str(), what.c_str());
    return ok;
}

inline std::span<const std::byte> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::filesystem::path& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// A fresh folder under the system temp dir, removed when the test ends.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& tag) {
        m_path = std::filesystem::temp_directory_path() /
                 ("gander-" + tag + "-" + std::to_string(::getpid()));
        std::filesystem::remove_all(m_path);
        std::filesystem::create_directories(m_path);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    std::filesystem::path operator/(const std::string& name) const { return m_path / name; }
    const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

struct ZipItem {
    std::string name;
    std::string data;
    std::uint16_t method = 0; // 8 = deflate; the data is then written as-is (never inflated)
};

struct ZipOptions {
    bool zip64 = false;     // zip64 extra fields everywhere, zip64 end record and locator
    std::size_t align = 0;  // pad local extra fields so payloads start on this boundary
    std::string comment;    // archive comment after the end record
    bool descriptor = true; // torch's way: flag bit 3, zero sizes locally, data descriptor after
};

// A zip archive of stored entries, laid out the way torch's writer does.
inline std::string build_zip(const std::vector<ZipItem>& items, const ZipOptions& opt = {}) {
    std::string out;
    std::vector<std::uint64_t> offsets;
    const std::uint16_t flags = static_cast<std::uint16_t>((opt.descriptor ? 0x0008 : 0) | 0x0800);
    for (const auto& it : items) {
        offsets.push_back(out.size());
        std::string extra;
        if (opt.zip64) {
            put16(extra, 0x0001);
            put16(extra, 16);
            put64(extra, opt.descriptor ? 0 : it.data.size());
            put64(extra, opt.descriptor ? 0 : it.data.size());
        }
        if (opt.align) {
            std::size_t base = out.size() + 30 + it.name.size() + extra.size() + 4;
            std::size_t pad = (opt.align - base % opt.align) % opt.align;
            put16(extra, 0x4246); // "FB": the padding block torch's writer uses
            put16(extra, static_cast<std::uint32_t>(pad));
            extra.append(pad, 'Z');
        }
        put32(out, 0x04034b50);
        put16(out, opt.zip64 ? 45 : 20);
        put16(out, flags);
        put16(out, it.method);
        put32(out, 0); // time, date
        put32(out, 0); // crc (readers of torch files do not check it)
        std::uint32_t local_size =
            opt.zip64 ? 0xFFFFFFFF
                      : (opt.descriptor ? 0 : static_cast<std::uint32_t>(it.data.size()));
        put32(out, local_size);
        put32(out, local_size);
        put16(out, static_cast<std::uint32_t>(it.name.size()));
        put16(out, static_cast<std::uint32_t>(extra.size()));
        out += it.name;
        out += extra;
        out += it.data;
        if (opt.descriptor) {
            put32(out, 0x08074b50);
            put32(out, 0);
            if (opt.zip64) {
                put64(out, it.data.size());
                put64(out, it.data.size());
            } else {
                put32(out, static_cast<std::uint32_t>(it.data.size()));
                put32(out, static_cast<std::uint32_t>(it.data.size()));
            }
        }
    }
    const std::uint64_t dir_offset = out.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& it = items[i];
        std::string extra;
        if (opt.zip64) {
            put16(extra, 0x0001);
            put16(extra, 24);
            put64(extra, it.data.size());
            put64(extra, it.data.size());
            put64(extra, offsets[i]);
        }
        put32(out, 0x02014b50);
        put16(out, opt.zip64 ? 45 : 20);
        put16(out, opt.zip64 ? 45 : 20);
        put16(out, flags);
        put16(out, it.method);
        put32(out, 0);
        put32(out, 0);
        put32(out, opt.zip64 ? 0xFFFFFFFF : static_cast<std::uint32_t>(it.data.size()));
        put32(out, opt.zip64 ? 0xFFFFFFFF : static_cast<std::uint32_t>(it.data.size()));
        put16(out, static_cast<std::uint32_t>(it.name.size()));
        put16(out, static_cast<std::uint32_t>(extra.size()));
        put16(out, 0); // comment
        put16(out, 0); // disk
        put16(out, 0); // internal attributes
        put32(out, 0); // external attributes
        put32(out, opt.zip64 ? 0xFFFFFFFF : static_cast<std::uint32_t>(offsets[i]));
        out += it.name;
        out += extra;
    }
    const std::uint64_t dir_size = out.size() - dir_offset;
    if (opt.zip64) {
        const std::uint64_t record = out.size();
        put32(out, 0x06064b50);
        put64(out, 44);
        put16(out, 45);
        put16(out, 45);
        put32(out, 0);
        put32(out, 0);
        put64(out, items.size());
        put64(out, items.size());
        put64(out, dir_size);
        put64(out, dir_offset);
        put32(out, 0x07064b50);
        put32(out, 0);
        put64(out, record);
        put32(out, 1);
    }
    put32(out, 0x06054b50);
    put16(out, 0);
    put16(out, 0);
    put16(out, opt.zip64 ? 0xFFFF : static_cast<std::uint32_t>(items.size()));
    put16(out, opt.zip64 ? 0xFFFF : static_cast<std::uint32_t>(items.size()));
    put32(out, opt.zip64 ? 0xFFFFFFFF : static_cast<std::uint32_t>(dir_size));
    put32(out, opt.zip64 ? 0xFFFFFFFF : static_cast<std::uint32_t>(dir_offset));
    put16(out, static_cast<std::uint32_t>(opt.comment.size()));
    out += opt.comment;
    return out;
}

// Emits pickle opcodes (CPython's names) for hand-made state dicts.
class PickleWriter {
public:
    std::string bytes;

    PickleWriter& op(std::uint8_t code) {
        bytes += static_cast<char>(code);
        return *this;
    }
    PickleWriter& proto(int version) {
        op(0x80);
        return op(static_cast<std::uint8_t>(version));
    }
    PickleWriter& mark() { return op('('); }
    PickleWriter& str(const std::string& s) {
        if (s.size() < 256 && m_short_strings) {
            op(0x8c);
            op(static_cast<std::uint8_t>(s.size()));
        } else {
            op('X');
            put32(bytes, static_cast<std::uint32_t>(s.size()));
        }
        bytes += s;
        return *this;
    }
    PickleWriter& integer(std::int64_t v) {
        if (v >= 0 && v < 256) {
            op('K');
            op(static_cast<std::uint8_t>(v));
        } else if (v >= 0 && v < 65536) {
            op('M');
            put16(bytes, static_cast<std::uint32_t>(v));
        } else if (v >= INT32_MIN && v <= INT32_MAX) {
            op('J');
            put32(bytes, static_cast<std::uint32_t>(v));
        } else {
            op(0x8a);
            op(8);
            put64(bytes, static_cast<std::uint64_t>(v));
        }
        return *this;
    }
    PickleWriter& global(const std::string& module, const std::string& name) {
        if (m_stack_global) {
            str(module);
            str(name);
            return op(0x93);
        }
        op('c');
        bytes += module + "\n" + name + "\n";
        return *this;
    }
    PickleWriter& tuple(const std::vector<std::int64_t>& v) {
        if (v.empty()) return op(')');
        mark();
        for (auto x : v) integer(x);
        return op('t');
    }
    PickleWriter& put(std::uint32_t index) {
        if (m_stack_global) return op(0x94); // MEMOIZE
        if (index < 256) {
            op('q');
            return op(static_cast<std::uint8_t>(index));
        }
        op('r');
        put32(bytes, index);
        return *this;
    }
    // Protocol-4 style: SHORT_BINUNICODE, STACK_GLOBAL and MEMOIZE instead of GLOBAL and BINPUT.
    void protocol4_style(bool on) {
        m_stack_global = on;
        m_short_strings = on;
    }

private:
    bool m_stack_global = false;
    bool m_short_strings = false;
};

struct PickleTensor {
    std::string name;
    std::string storage_type = "FloatStorage";
    std::string key;
    std::int64_t storage_numel = 0;
    std::int64_t offset = 0;
    std::vector<std::int64_t> size, stride;
};

struct PickleOptions {
    int protocol = 2;
    bool ordered_dict = false; // OrderedDict with a `_metadata` attribute, as nn.Module.state_dict
    bool parameter = false;    // wrap each tensor in torch._utils._rebuild_parameter
    std::string wrapper_key;   // non-empty: {"epoch": 3, wrapper_key: state_dict}
};

// The pickle torch.save writes for a dict of tensors.
inline std::string torch_pickle(const std::vector<PickleTensor>& tensors,
                                const PickleOptions& opt = {}) {
    PickleWriter w;
    w.proto(opt.protocol);
    if (opt.protocol >= 4) {
        w.protocol4_style(true);
        w.op(0x95);
        put64(w.bytes, 0); // FRAME length: a reader that streams frames would care; ours does not
    }
    std::uint32_t memo = 0;
    if (!opt.wrapper_key.empty()) {
        w.op('}').put(memo++).mark().str("epoch").integer(3).str(opt.wrapper_key);
    }
    if (opt.ordered_dict) {
        w.global("collections", "OrderedDict").put(memo++).op(')').op('R').put(memo++);
    } else {
        w.op('}').put(memo++);
    }
    w.mark();
    for (const auto& t : tensors) {
        w.str(t.name).put(memo++);
        if (opt.parameter) w.global("torch._utils", "_rebuild_parameter");
        w.global("torch._utils", "_rebuild_tensor_v2").put(memo++);
        w.mark();
        w.mark().str("storage").global("torch", t.storage_type).str(t.key).str("cpu");
        w.integer(t.storage_numel).op('t').put(memo++).op('Q');
        w.integer(t.offset).tuple(t.size).tuple(t.stride).op(0x89);
        w.global("collections", "OrderedDict").op(')').op('R');
        w.op('t').op('R').put(memo++);
        if (opt.parameter) {
            w.op(0x89).global("collections", "OrderedDict").op(')').op('R');
            w.op(0x87).op('R'); // _rebuild_parameter(tensor, False, OrderedDict())
        }
    }
    w.op('u');
    if (opt.ordered_dict) {
        // state._metadata = OrderedDict(...): applied by BUILD with a dict of attributes
        w.op('}').mark().str("_metadata").global("collections", "OrderedDict").op(')').op('R');
        w.op('u').op('b');
    }
    if (!opt.wrapper_key.empty()) w.op('u');
    w.op('.');
    return w.bytes;
}

// Bytes of n little-endian values.
template <typename T> std::string raw(const std::vector<T>& v) {
    std::string s(v.size() * sizeof(T), '\0');
    if (!v.empty()) std::memcpy(s.data(), v.data(), s.size());
    return s;
}

} // namespace gander::test::iofiles
