// The recipe for random weights of a given shape, shared by the CPU generator (weights.cpp) and the
// CUDA backend's on-device generator, so that both make the same model bit for bit (before rounding
// to the storage dtype). Element `i` of the tensor with role `r` in layer `l` is
//     offset(r) + scale(r, shape) * u,   u = uniform in [-1, 1) from a counter-based hash.
// The scales keep activations of a deep model in range (no overflow in fp16): linear layers have
// variance 1/in, LoRA up-projections are small, decays land in the range trained models use.
// Header-only and usable from .cu files (GANDER_HD marks functions for both sides).
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define GANDER_HD __host__ __device__ __forceinline__
#else
#define GANDER_HD inline
#endif

namespace gander::model::random_init {

enum Role : std::uint32_t {
    Emb, Ln0W, Ln0B, LnOutW, LnOutB, Head,
    // per layer
    Ln1W, Ln1B, Ln2W, Ln2B, XR, XW, XK, XV, XA, XG,
    W0, W1, W2, A0, A1, A2, V0, V1, V2, G1, G2, KK, KA, RK,
    Receptance, Key, Value, Output, LnXW, LnXB, FfnXK, FfnKey, FfnValue,
    RoleCount
};

GANDER_HD std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Uniform in [-1, 1) for element `index` of tensor (`layer`, `role`).
GANDER_HD float uniform(std::uint64_t seed, int layer, Role role, std::uint64_t index) {
    std::uint64_t key = splitmix64(seed ^ (std::uint64_t(layer + 1) << 48) ^
                                   (std::uint64_t(role) << 40));
    std::uint64_t bits = splitmix64(key + index);
    return float(bits >> 40) * (2.0f / 16777216.0f) - 1.0f; // 24 random bits
}

struct Affine {
    float offset, scale;
};

// `fan_in` is the input width of a linear layer or LoRA projection (ignored for vectors).
GANDER_HD Affine affine(Role role, int fan_in) {
    const float lin = fan_in > 0 ? sqrtf(3.0f / float(fan_in)) : 0.0f; // variance 1/fan_in
    switch (role) {
    case Emb: return {0.0f, 1.0f};
    case Ln0W: case LnOutW: case Ln1W: case Ln2W: return {1.0f, 0.1f};
    case Ln0B: case LnOutB: case Ln1B: case Ln2B: case LnXB: return {0.0f, 0.1f};
    case LnXW: return {1.0f, 0.1f};
    case XR: case XW: case XK: case XV: case XA: case XG: case FfnXK: return {0.5f, 0.5f};
    case W0: return {-1.0f, 2.0f};
    case A0: case V0: return {0.0f, 0.5f};
    case KK: return {0.85f, 0.1f};
    case KA: return {1.0f, 0.1f};
    case RK: return {0.0f, 0.2f};
    case W1: case A1: case V1: case G1: return {0.0f, lin};
    case W2: case A2: case V2: case G2: return {0.0f, 0.1f * lin};
    case Receptance: case Key: case Value: case FfnKey: case Head: return {0.0f, lin};
    case Output: case FfnValue: return {0.0f, 0.5f * lin};
    default: return {0.0f, 0.0f};
    }
}

GANDER_HD float value(std::uint64_t seed, int layer, Role role, int fan_in, std::uint64_t index) {
    Affine a = affine(role, fan_in);
    return a.offset + a.scale * uniform(seed, layer, role, index);
}

} // namespace gander::model::random_init
