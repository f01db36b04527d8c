// libFuzzer target: the pickle VM alone, which sees far more opcode sequences this way than
// behind a zip.
#include "gander/gander.h"
#include "io/pickle_reader.h"

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        gander::io::read_torch_pickle({reinterpret_cast<const std::byte*>(data), size}, "fuzz.pkl");
    } catch (const gander::Error&) {
    }
    return 0;
}
