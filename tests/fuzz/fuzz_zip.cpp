// libFuzzer target: a whole .pth from bytes (zip directory, local headers, pickle, tensor checks).
// Anything but success or gander::Error is a finding; every view must lie inside the input.
#include "gander/gander.h"
#include "io/formats.h"

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
    try {
        auto parsed = gander::io::parse_pth(bytes, "fuzz.pth");
        for (const auto& t : parsed.tensors) {
            if (t.nbytes && (t.data < bytes.data() || t.data + t.nbytes > bytes.data() + size))
                std::abort();
            volatile std::byte sink{};
            if (t.nbytes) sink = t.data[t.nbytes - 1]; // touch the last byte: ASan checks it
            (void)sink;
        }
    } catch (const gander::Error&) {
    }
    return 0;
}
