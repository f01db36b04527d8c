// The GANDER_* switches that measurements flip (docs/performance.md): each is read once per
// process, where it is used, through these two. Host code only.
#pragma once

#include <cstdlib>
#include <cstring>

namespace gander::kernels::detail {

// Whether the environment variable `name` is set to exactly `value`.
inline bool env_is(const char* name, const char* value) {
    const char* e = std::getenv(name);
    return e && std::strcmp(e, value) == 0;
}

// The environment variable `name` as an integer; `fallback` when it is not set.
inline int env_int(const char* name, int fallback) {
    const char* e = std::getenv(name);
    return e ? std::atoi(e) : fallback;
}

} // namespace gander::kernels::detail
