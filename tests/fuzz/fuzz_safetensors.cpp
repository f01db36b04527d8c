// libFuzzer target: a .safetensors from bytes (header length, JSON, tensor table, overlap checks),
// and the JSON parser on the same bytes.
#include "gander/gander.h"
#include "io/formats.h"
#include "io/json.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    try {
        auto parsed = gander::io::parse_safetensors(bytes, "fuzz.safetensors");
        for (const auto& t : parsed.tensors) {
            if (t.nbytes && (t.data < bytes.data() || t.data + t.nbytes > bytes.data() + size))
                std::abort();
            volatile std::byte sink{};
            if (t.nbytes) sink = t.data[t.nbytes - 1];
            (void)sink;
        }
    } catch (const gander::Error&) {
    }
    if (size > 8) {
        try {
            gander::io::parse_json({reinterpret_cast<const char*>(data) + 8, size - 8});
        } catch (const gander::Error&) {
        }
    }
    return 0;
}
