// The same model under other file layouts gives the same outputs, and a wrong file is refused
// with the file and tensor named. Variants are written at test time from the fixture (as
// .safetensors with official names, and with the Hugging Face fla-hub names and transposed LoRA).
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <unistd.h>

#include "check.h"
#include "gander/gander.h"
#include "io/tensor_file.h"

using namespace gander;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("gander-test-" + std::to_string(std::random_device{}()) + "-" +
                std::to_string(::getpid()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
};

// Copies of the tensors of a file, with room to rename, reshape, transpose or drop them.
struct Owned {
    std::string name;
    io::DType dtype;
    std::vector<std::int64_t> shape;
    std::vector<std::byte> data;
};

std::vector<Owned> read_all(const std::string& path) {
    auto f = io::TensorFile::open(path);
    std::vector<Owned> out;
    for (const auto& t : f->tensors())
        out.push_back({t.name, t.dtype, t.shape, std::vector<std::byte>(t.data, t.data + t.nbytes)});
    return out;
}

void write_all(const std::string& path, const std::vector<Owned>& ts) {
    std::vector<io::TensorToWrite> w;
    for (const auto& t : ts) w.push_back({t.name, t.dtype, t.shape, t.data.data(), t.data.size()});
    io::write_safetensors(path, w);
}

void transpose2d(Owned& t) {
    REQUIRE(t.shape.size() == 2);
    const std::int64_t r = t.shape[0], c = t.shape[1];
    const std::size_t es = io::dtype_size(t.dtype);
    std::vector<std::byte> d(t.data.size());
    for (std::int64_t i = 0; i < r; ++i)
        for (std::int64_t j = 0; j < c; ++j)
            std::memcpy(&d[std::size_t(j * r + i) * es], &t.data[std::size_t(i * c + j) * es], es);
    t.data = std::move(d);
    t.shape = {c, r};
}

// The fla-hub naming (flash-linear-attention's RWKV7 conversion), written independently of the
// engine's mapping so that a mistake in either shows up.
std::string fla_name(const std::string& n, bool* transpose) {
    *transpose = false;
    static const std::map<std::string, std::string> top = {
        {"emb.weight", "model.embeddings.weight"}, {"ln_out.weight", "model.norm.weight"},
        {"ln_out.bias", "model.norm.bias"},        {"head.weight", "lm_head.weight"}};
    if (auto it = top.find(n); it != top.end()) return it->second;
    // blocks.<i>.<part>.<rest>
    const auto a = n.find('.', 7);
    const std::string layer = n.substr(7, a - 7);
    const auto b = n.find('.', a + 1);
    const std::string part = n.substr(a + 1, b - a - 1);
    std::string rest = n.substr(b + 1);
    static const std::map<std::string, std::string> parts = {
        {"att", "attn"}, {"ffn", "ffn"}, {"ln0", "pre_norm"}, {"ln1", "attn_norm"}, {"ln2", "ffn_norm"}};
    static const std::map<std::string, std::string> proj = {{"receptance", "r_proj"},
                                                            {"key", "k_proj"},
                                                            {"value", "v_proj"},
                                                            {"output", "o_proj"},
                                                            {"ln_x", "g_norm"}};
    if (part == "att") {
        if (rest.size() == 2 && std::strchr("wvag", rest[0]) && std::strchr("012", rest[1])) {
            *transpose = rest[1] != '0';
            rest = std::string(1, rest[0]) + "_lora.lora." +
                   (rest[1] == '0' ? "2.bias" : rest[1] == '1' ? "0.weight" : "2.weight");
        } else {
            const auto dot = rest.find('.');
            if (dot != std::string::npos && proj.count(rest.substr(0, dot)))
                rest = proj.at(rest.substr(0, dot)) + rest.substr(dot);
        }
    }
    return "model.layers." + layer + "." + parts.at(part) + "." + rest;
}

std::vector<float> logits_of(const std::string& path, const std::vector<std::int32_t>& tokens) {
    auto m = load_model(path, {BackendKind::Cpu});
    auto s = m->new_session();
    s->prefill(tokens);
    return {s->logits().begin(), s->logits().end()};
}

const std::vector<std::int32_t> kTokens = {5, 17, 200, 3, 99, 42, 7, 299, 11};

} // namespace

TEST_CASE("safetensors with official names == .pth") {
    TempDir dir;
    const std::string pth = test::fixture("rwkv7/rand-a.pth");
    const std::string st = (dir.path / "rand-a.safetensors").string();
    write_all(st, read_all(pth));
    auto a = load_model(pth, {BackendKind::Cpu});
    auto b = load_model(st, {BackendKind::Cpu});
    CHECK(a->info().shape == b->info().shape);
    CHECK(a->info().fingerprint == b->info().fingerprint);
    CHECK(logits_of(pth, kTokens) == logits_of(st, kTokens));
}

TEST_CASE("fla-hub names with transposed LoRA == .pth") {
    for (const char* name : {"rand-a", "rand-b"}) {
        TempDir dir;
        const std::string pth = test::fixture(std::string("rwkv7/") + name + ".pth");
        auto ts = read_all(pth);
        std::vector<Owned> fla;
        for (auto& t : ts) {
            if (t.name.rfind("blocks.0.att.v", 0) == 0 && t.name.size() == 15) continue; // unused
            bool tr = false;
            t.name = fla_name(t.name, &tr);
            if (tr) transpose2d(t);
            if (t.shape.size() == 3) t.shape = {t.shape[2]}; // [1,1,C] -> [C], as fla stores them
            fla.push_back(std::move(t));
        }
        const std::string st = (dir.path / "model.safetensors").string();
        write_all(st, fla);
        auto m = load_model(st, {BackendKind::Cpu});
        auto ref = load_model(pth, {BackendKind::Cpu});
        CHECK(m->info().shape == ref->info().shape);
        CHECK(m->info().fingerprint == ref->info().fingerprint);
        CHECK(logits_of(st, kTokens) == logits_of(pth, kTokens));
    }
}

TEST_CASE("hyperparameters come from the shapes") {
    auto a = load_model(test::fixture("rwkv7/rand-a.pth"), {BackendKind::Cpu});
    const auto& s = a->info().shape;
    CHECK(s.vocab == 512);
    CHECK(s.n_embd == 128);
    CHECK(s.n_layer == 3);
    CHECK(s.n_head() == 2);
    CHECK(s.head_size == 64);
    CHECK(s.ffn_dim == 512);
    CHECK((s.ranks[1] == LoraRanks{32, 24, 16, 48}));
    CHECK(a->info().file_dtype == "bf16");
    auto b = load_model(test::fixture("rwkv7/rand-b.pth"), {BackendKind::Cpu});
    const auto& t = b->info().shape;
    CHECK(t.vocab == 300);
    CHECK(t.n_embd == 256);
    CHECK(t.n_layer == 2);
    CHECK(t.n_head() == 4);
    CHECK((t.ranks[1] == LoraRanks{16, 32, 24, 64}));
    CHECK(b->info().file_dtype == "fp16");
    CHECK(state_size_f32(t) == std::size_t(2) * (2 * 256 + 4 * 64 * 64) * 4);
}

TEST_CASE("a missing or misshapen tensor is named in the error") {
    TempDir dir;
    auto ts = read_all(test::fixture("rwkv7/rand-a.pth"));
    {
        auto missing = ts;
        std::erase_if(missing, [](const Owned& t) { return t.name == "blocks.1.att.key.weight"; });
        const std::string p = (dir.path / "missing.safetensors").string();
        write_all(p, missing);
        CHECK_THROWS_WITH(load_model(p), Error, "missing.safetensors: tensor blocks.1.att.key.weight: missing");
    }
    {
        auto bad = ts;
        for (auto& t : bad)
            if (t.name == "blocks.2.att.key.weight") {
                t.shape = {128, 64};
                t.data.resize(t.data.size() / 2);
            }
        const std::string p = (dir.path / "shape.safetensors").string();
        write_all(p, bad);
        CHECK_THROWS_WITH(load_model(p), Error,
                          "shape.safetensors: tensor blocks.2.att.key.weight: expected [128,128] got [128,64]");
    }
    {
        auto i8 = ts;
        for (auto& t : i8)
            if (t.name == "blocks.0.ln1.weight") {
                t.dtype = io::DType::I8;
                t.shape = {256};
            }
        const std::string p = (dir.path / "dtype.safetensors").string();
        write_all(p, i8);
        CHECK_THROWS_WITH(load_model(p), Error, "blocks.0.ln1.weight: unsupported dtype I8");
    }
    {
        std::vector<Owned> notrwkv;
        notrwkv.push_back(ts.front());
        notrwkv.front().name = "transformer.wte.weight";
        const std::string p = (dir.path / "gpt.safetensors").string();
        write_all(p, notrwkv);
        CHECK_THROWS_WITH(load_model(p), Error, "is this an RWKV-7 model?");
    }
    CHECK_THROWS_WITH(load_model((dir.path / "nope.pth").string()), Error, "no such file");
}

TEST_CASE("truncated model files give an error, never a crash") {
    TempDir dir;
    const std::string src = test::fixture("rwkv7/rand-b.pth");
    std::ifstream f(src, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)), {});
    for (std::size_t cut : {std::size_t(0), std::size_t(3), std::size_t(100), bytes.size() / 3,
                            bytes.size() - 22, bytes.size() - 1}) {
        const std::string p = (dir.path / ("cut" + std::to_string(cut) + ".pth")).string();
        std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(cut));
        bool threw = false;
        try {
            load_model(p);
        } catch (const Error& e) {
            threw = std::string(e.what()).find("cut") != std::string::npos; // names the file
        }
        CHECK_MSG(threw, "cut at " << cut);
    }
}

TEST_CASE("random models of the named shapes have the published parameter counts") {
    // 0.1B: 191M parameters in the released RWKV-7 0.1B (World vocab); 7.2B: about 7.2B.
    const double p01 = double(parameter_count(model_shape_named("0.1b"))) / 1e9;
    const double p72 = double(parameter_count(model_shape_named("7.2b"))) / 1e9;
    std::fprintf(stderr, "  0.1b: %.4fB, 7.2b: %.4fB\n", p01, p72);
    CHECK(p01 > 0.18 && p01 < 0.20);
    CHECK(p72 > 6.9 && p72 < 7.4);
    CHECK_THROWS_WITH(model_shape_named("3b"), Error, "unknown model shape");
    auto m = make_random_model(model_shape_named("0.1b"), 7, {BackendKind::Cpu});
    auto s = m->new_session();
    s->feed(1);
    for (float v : s->logits()) REQUIRE(std::isfinite(v));
}

GANDER_TEST_MAIN
