// A tiny test harness for the engine's plain C++ tests (no Qt, no GoogleTest: they also run on the
// GPU machine, which has neither). TEST_CASE registers a function; CHECK records a failure and goes
// on; REQUIRE stops the case. Exit status is the number of failed cases (capped at 1).
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

namespace gander::test {

struct Case {
    const char* name;
    std::function<void()> fn;
};

inline std::vector<Case>& registry() {
    static std::vector<Case> cases;
    return cases;
}

struct Failure {};

inline int& failures_in_case() {
    static int n = 0;
    return n;
}

struct Registrar {
    Registrar(const char* name, std::function<void()> fn) { registry().push_back({name, std::move(fn)}); }
};

inline void report(const char* file, int line, const std::string& what) {
    std::fprintf(stderr, "  %s:%d: FAILED: %s\n", file, line, what.c_str());
    ++failures_in_case();
}

// The folder of the golden data: $GANDER_FIXTURES, else the path configured at build time.
inline std::filesystem::path fixtures_dir() {
    if (const char* env = std::getenv("GANDER_FIXTURES"); env && *env) return env;
#ifdef GANDER_FIXTURES_DEFAULT
    return GANDER_FIXTURES_DEFAULT;
#else
    return "../shared/fixtures";
#endif
}

// A fixture that is missing fails the test; it is never skipped.
inline std::string fixture(const std::string& relative) {
    auto p = fixtures_dir() / relative;
    if (!std::filesystem::exists(p)) {
        std::fprintf(stderr, "  missing fixture: %s (set GANDER_FIXTURES)\n", p.string().c_str());
        ++failures_in_case();
        throw Failure{};
    }
    return p.string();
}

inline int run_all(int argc, char** argv) {
    int failed = 0, passed = 0;
    for (auto& c : registry()) {
        if (argc > 1 && std::string(c.name).find(argv[1]) == std::string::npos) continue;
        failures_in_case() = 0;
        std::fprintf(stderr, "[ RUN  ] %s\n", c.name);
        try {
            c.fn();
        } catch (const Failure&) {
        } catch (const std::exception& e) {
            report(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
        }
        if (failures_in_case()) {
            ++failed;
            std::fprintf(stderr, "[ FAIL ] %s\n", c.name);
        } else {
            ++passed;
            std::fprintf(stderr, "[  OK  ] %s\n", c.name);
        }
    }
    std::fprintf(stderr, "%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

} // namespace gander::test

#define GT_CAT2(a, b) a##b
#define GT_CAT(a, b) GT_CAT2(a, b)
#define TEST_CASE(name)                                                                            \
    static void GT_CAT(gt_case_, __LINE__)();                                                      \
    static ::gander::test::Registrar GT_CAT(gt_reg_, __LINE__)(name, GT_CAT(gt_case_, __LINE__));  \
    static void GT_CAT(gt_case_, __LINE__)()

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) ::gander::test::report(__FILE__, __LINE__, #cond);                            \
    } while (0)
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ::gander::test::report(__FILE__, __LINE__, #cond);                                     \
            throw ::gander::test::Failure{};                                                       \
        }                                                                                          \
    } while (0)
#define CHECK_MSG(cond, msg)                                                                       \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::ostringstream gt_os;                                                              \
            gt_os << #cond << " -- " << msg;                                                       \
            ::gander::test::report(__FILE__, __LINE__, gt_os.str());                               \
        }                                                                                          \
    } while (0)
// Checks that `expr` throws an exception derived from `type` whose what() contains `needle`.
#define CHECK_THROWS_WITH(expr, type, needle)                                                      \
    do {                                                                                           \
        bool gt_ok = false;                                                                        \
        std::string gt_what = "no exception";                                                     \
        try {                                                                                      \
            (void)(expr);                                                                          \
        } catch (const type& e) {                                                                  \
            gt_what = e.what();                                                                    \
            gt_ok = gt_what.find(needle) != std::string::npos;                                     \
        } catch (const std::exception& e) {                                                        \
            gt_what = std::string("other exception: ") + e.what();                                 \
        }                                                                                          \
        if (!gt_ok)                                                                                \
            ::gander::test::report(__FILE__, __LINE__,                                             \
                                   std::string(#expr " should throw with \"") + (needle) +         \
                                       "\", got: " + gt_what);                                     \
    } while (0)

#define GANDER_TEST_MAIN                                                                           \
    int main(int argc, char** argv) { return ::gander::test::run_all(argc, argv); }
