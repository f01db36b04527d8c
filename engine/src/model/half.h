// fp16 and bf16 <-> fp32 conversions on the host (IEEE round-to-nearest-even both ways).
#pragma once

#include <cstdint>
#include <cstring>

namespace gander::model {

inline float bf16_to_f32(std::uint16_t h) {
    std::uint32_t bits = std::uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline std::uint16_t f32_to_bf16(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((bits >> 16) | 0x40); // NaN stays NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return std::uint16_t(bits >> 16);
}

inline float f16_to_f32(std::uint16_t h) {
    std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mant <<= 1;
            } while ((mant & 0x400u) == 0);
            bits = sign | (std::uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline std::uint16_t f32_to_f16(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, 4);
    std::uint32_t sign = (bits >> 16) & 0x8000u;
    std::uint32_t absv = bits & 0x7fffffffu;
    if (absv > 0x7f800000u) return std::uint16_t(sign | 0x7e00u); // NaN
    if (absv >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u); // overflow -> Inf
    if (absv < 0x38800000u) {                                      // subnormal or zero
        if (absv < 0x33000000u) return std::uint16_t(sign);
        std::uint32_t e = absv >> 23;
        std::uint32_t m = (absv & 0x7fffffu) | 0x800000u;
        int shift = int(126 - e); // bits to drop so that the result counts units of 2^-24
        std::uint32_t r = m >> shift;
        std::uint32_t rem = m & ((1u << shift) - 1u);
        std::uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) ++r;
        return std::uint16_t(sign | r);
    }
    std::uint32_t r = absv - 0x38000000u; // rebias 127 -> 15
    r += 0xfffu + ((r >> 13) & 1u);
    return std::uint16_t(sign | (r >> 13));
}

} // namespace gander::model
