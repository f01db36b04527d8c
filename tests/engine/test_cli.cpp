// gander-cli's contracts (shared/DESIGN.md), run as a user or another tool would: the real binary,
// real files, exit codes 0 / 1 / 2 and the golden logits.
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "check.h"
#include "io/tensor_file.h"

namespace fs = std::filesystem;

namespace {

struct Result {
    int code = -1;
    std::string out;
};

std::string cli() { return std::string(GANDER_BIN_DIR) + "/gander-cli"; }

// Runs a shell command line, capturing stdout; stderr goes to `err_file` when given.
Result run(const std::string& cmd) {
    Result r;
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = pclose(p);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

fs::path temp_file(const char* name) {
    return fs::temp_directory_path() / (std::string(name) + "." + std::to_string(::getpid()));
}

std::vector<float> read_f32(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<char> b((std::istreambuf_iterator<char>(f)), {});
    std::vector<float> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), v.size() * 4);
    return v;
}

struct GoldenLogits {
    std::vector<std::int32_t> tokens;
    std::vector<float> logits;
};

GoldenLogits golden() {
    auto f = gander::io::TensorFile::open(gander::test::fixture("rwkv7/rand-a.golden.safetensors"));
    GoldenLogits g;
    auto* t = f->find("tokens");
    auto* l = f->find("logits");
    REQUIRE(t && l);
    g.tokens.resize(std::size_t(t->numel()));
    std::memcpy(g.tokens.data(), t->data, t->nbytes);
    g.logits.resize(std::size_t(l->numel()));
    std::memcpy(g.logits.data(), l->data, l->nbytes);
    return g;
}

double max_rel(const float* a, const float* b, std::size_t n) {
    double m = 0, s = 0, worst = 0;
    for (std::size_t i = 0; i < n; ++i) m += b[i];
    m /= double(n);
    for (std::size_t i = 0; i < n; ++i) s += (b[i] - m) * (b[i] - m);
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
    return worst / std::sqrt(s / double(n));
}

} // namespace

TEST_CASE("logits: one row per token fed, matching the golden file") {
    const auto g = golden();
    std::string ids;
    for (auto t : g.tokens) ids += (ids.empty() ? "" : ",") + std::to_string(t);
    const auto out = temp_file("logits.f32");
    const std::string model = gander::test::fixture("rwkv7/rand-a.pth");
    auto r = run(cli() + " logits --model " + quote(model) + " --tokens " + ids + " --out " +
                 quote(out.string()) + " --backend cpu");
    REQUIRE(r.code == 0);
    auto rows = read_f32(out);
    REQUIRE(rows.size() == g.logits.size());
    const std::size_t V = rows.size() / g.tokens.size();
    for (std::size_t t = 0; t < g.tokens.size(); ++t)
        CHECK(max_rel(&rows[t * V], &g.logits[t * V], V) <= 1e-4);

    r = run(cli() + " logits --model " + quote(model) + " --tokens " + ids + " --out " +
            quote(out.string()) + " --prefill --backend cpu");
    REQUIRE(r.code == 0);
    rows = read_f32(out);
    REQUIRE(rows.size() == V);
    CHECK(max_rel(rows.data(), &g.logits[(g.tokens.size() - 1) * V], V) <= 1e-4);
    fs::remove(out);
}

TEST_CASE("exit codes: 2 for usage errors, 1 for other errors") {
    const std::string model = gander::test::fixture("rwkv7/rand-a.pth");
    CHECK(run(cli() + " 2>/dev/null").code == 2);
    CHECK(run(cli() + " frobnicate 2>/dev/null").code == 2);
    CHECK(run(cli() + " logits --model " + quote(model) + " --out /dev/null 2>/dev/null").code == 2);
    CHECK(run(cli() + " logits --model " + quote(model) + " --tokens 1,x --out /dev/null 2>/dev/null").code == 2);
    CHECK(run(cli() + " logits --model /nonexistent.pth --tokens 1 --out /dev/null 2>/dev/null").code == 1);
    CHECK(run(cli() + " logits --model " + quote(model) + " --tokens 1,512 --out /dev/null 2>/dev/null").code == 1);
    // The message is one line naming the problem.
    auto r = run(cli() + " logits --model /nonexistent.pth --tokens 1 --out /dev/null 2>&1");
    CHECK(r.out.find("/nonexistent.pth: no such file") != std::string::npos);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 1);
}

TEST_CASE("info prints hyperparameters, parameter count and state size") {
    auto r = run(cli() + " info --model " + quote(gander::test::fixture("rwkv7/rand-b.pth")));
    REQUIRE(r.code == 0);
    for (const char* want : {"layers:      2", "width:       256", "heads:       4 x 64",
                             "vocabulary:  300", "ffn width:   1024", "w 16, a 32, v 24, g 64",
                             "state size:  135168 bytes"})
        CHECK_MSG(r.out.find(want) != std::string::npos, "missing '" << want << "' in\n" << r.out);
}

TEST_CASE("tokenize and detokenize round trip raw bytes through stdin") {
    const std::string vocab = gander::test::fixture("tokenizer/rwkv_vocab_v20230424.txt");
    auto r = run("printf 'Hello, world!\\n\\344\\275\\240\\345\\245\\275' | " + cli() +
                 " tokenize --vocab " + quote(vocab));
    REQUIRE(r.code == 0);
    CHECK(r.out.find(',') != std::string::npos);
    CHECK(r.out.back() == '\n');
    auto back = run("echo " + quote(r.out.substr(0, r.out.size() - 1)) + " | " + cli() +
                    " detokenize --vocab " + quote(vocab));
    REQUIRE(back.code == 0);
    CHECK(back.out == "Hello, world!\n\xe4\xbd\xa0\xe5\xa5\xbd");
}

TEST_CASE("chat keeps its state between turns (byte-level trained model)") {
    const std::string model = gander::test::fixture("rwkv7/trained-tiny.pth");
    auto r = run("printf 'Hello there\\nAnd again\\n' | " + cli() + " chat --model " + quote(model) +
                 " --max-tokens 20 --seed 1 --temperature 0 2>&1");
    REQUIRE(r.code == 0);
    CHECK(r.out.find("Assistant:") != std::string::npos);
    // The second turn's state count includes the first turn: it grows, never restarts.
    const auto first = r.out.find(" tokens in state]");
    const auto second = r.out.find(" tokens in state]", first + 1);
    REQUIRE(first != std::string::npos && second != std::string::npos);
    auto number_before = [&](std::size_t pos) {
        std::size_t b = r.out.rfind('[', pos);
        return std::stol(r.out.substr(b + 1, pos - b - 1));
    };
    CHECK(number_before(second) > number_before(first));
}

GANDER_TEST_MAIN
