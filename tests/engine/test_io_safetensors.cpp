// .safetensors reading and writing: the golden files (header and values read independently with
// Python's struct/json and written down here), write -> read round trips, and headers that lie
// (lengths, offsets, overlaps, dtypes), each of which must give a clean gander::Error.
#include "check.h"
#include "io_test_files.h"

#include "gander/gander.h"
#include "io/formats.h"
#include "io/json.h"
#include "io/tensor_file.h"

#include <cstring>
#include <filesystem>

using namespace gander::io;
using namespace gander::test::iofiles;
using gander::test::fixture;

namespace {

const TensorView& get(const TensorFile& f, const std::string& name) {
    const TensorView* t = f.find(name);
    if (!t) {
        std::fprintf(stderr, "  missing tensor %s\n", name.c_str());
        throw gander::test::Failure{};
    }
    return *t;
}

template <typename T> std::vector<T> values(const TensorView& t, std::size_t n) {
    std::vector<T> v(n);
    std::memcpy(v.data(), t.data, n * sizeof(T));
    return v;
}

// A safetensors file from a header text and a data section.
std::string make_st(const std::string& header, const std::string& data = {}) {
    std::string out;
    put64(out, header.size());
    return out + header + data;
}

std::string open_error(const std::string& file) {
    std::vector<std::byte> exact(file.size());
    if (!file.empty()) std::memcpy(exact.data(), file.data(), file.size());
    try {
        TensorFile::open_memory({exact.data(), exact.size()}, "m.safetensors");
    } catch (const gander::Error& e) {
        return e.what();
    }
    return "no error";
}

std::string parse_error(const std::string& file) {
    try {
        parse_safetensors(as_bytes(file), "m.safetensors");
    } catch (const gander::Error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("safetensors: golden files") {
    struct Expect {
        const char* file;
        const char* model;
        std::int64_t layers, embd, heads, vocab;
        std::vector<std::int32_t> first_tokens;
        std::vector<std::uint32_t> first_logits; // float bits
    };
    const Expect expect[] = {
        {"rwkv7/rand-a.golden.safetensors",
         "rand-a",
         3,
         128,
         2,
         512,
         {242, 78, 370, 86},
         {0xc004b437, 0xbfe7b47e, 0x3f635075}},
        {"rwkv7/rand-b.golden.safetensors", "rand-b", 2, 256, 4, 300, {57, 34, 232, 253}, {}},
    };
    for (const auto& e : expect) {
        auto f = TensorFile::open(fixture(e.file));
        CHECK(f->format() == "safetensors");
        CHECK(f->metadata().at("model") == e.model);
        CHECK(f->metadata().at("split") == "10");
        CHECK(f->metadata().at("n_layer") == std::to_string(e.layers));
        CHECK(f->metadata().size() == 8);
        const char* names[] = {"tokens",
                               "logits",
                               "state_after_split.att_x_prev",
                               "state_after_split.att_kv",
                               "state_after_split.ffn_x_prev",
                               "state_final.att_x_prev",
                               "state_final.att_kv",
                               "state_final.ffn_x_prev"};
        REQUIRE(f->tensors().size() == 8);
        for (std::size_t i = 0; i < 8; ++i) CHECK(f->tensors()[i].name == names[i]); // file order
        const auto& tokens = get(*f, "tokens");
        CHECK(tokens.dtype == DType::I32);
        CHECK(tokens.shape == std::vector<std::int64_t>{24});
        CHECK(values<std::int32_t>(tokens, 4) == e.first_tokens);
        const auto& logits = get(*f, "logits");
        CHECK(logits.dtype == DType::F32);
        CHECK(logits.shape == (std::vector<std::int64_t>{24, e.vocab}));
        if (!e.first_logits.empty()) CHECK(values<std::uint32_t>(logits, 3) == e.first_logits);
        const auto& kv = get(*f, "state_final.att_kv");
        CHECK(kv.shape == (std::vector<std::int64_t>{e.layers, e.heads, 64, 64}));
        CHECK(kv.nbytes == static_cast<std::size_t>(e.layers * e.heads * 64 * 64 * 4));
        CHECK(get(*f, "state_final.ffn_x_prev").shape ==
              (std::vector<std::int64_t>{e.layers, e.embd}));
    }
    auto a = TensorFile::open(fixture("rwkv7/rand-a.golden.safetensors"));
    CHECK(values<std::uint32_t>(get(*a, "state_final.att_kv"), 2) ==
          (std::vector<std::uint32_t>{0x3df49d00, 0xbc950bce}));
    CHECK(values<std::int32_t>(get(*a, "tokens"), 24).back() == 366);
}

TEST_CASE("safetensors: write then read, every dtype") {
    ScratchDir dir("io-st");
    const std::string path = (dir / "cache.safetensors").string();
    std::vector<float> f32 = {1.5f, -2.0f, 3.25f};
    std::vector<std::uint16_t> f16 = {0x3c00, 0xc000}, bf16 = {0x3f80, 0x4000, 0x4040};
    std::vector<std::int8_t> i8 = {-1, 2, -3, 4, 5};
    std::vector<std::uint8_t> u8 = {200};
    std::vector<std::int32_t> i32 = {-7, 1 << 30};
    std::vector<std::int64_t> i64 = {1ll << 50, -3};
    std::vector<double> f64 = {3.141592653589793};
    std::vector<TensorToWrite> ts = {
        {"w.f32", DType::F32, {3}, f32.data(), 12},
        {"w.f16", DType::F16, {2, 1}, f16.data(), 4},
        {"w.bf16", DType::BF16, {1, 3}, bf16.data(), 6},
        {"w.i8", DType::I8, {5}, i8.data(), 5},
        {"w.u8", DType::U8, {}, u8.data(), 1}, // a scalar
        {"w.i32", DType::I32, {2}, i32.data(), 8},
        {"w.i64", DType::I64, {2}, i64.data(), 16},
        {"w.f64", DType::F64, {1, 1, 1}, f64.data(), 8},
        {"empty", DType::F32, {0, 7}, nullptr, 0},
        {"name with \"quotes\" and \\ and \n", DType::U8, {1}, u8.data(), 1},
    };
    std::map<std::string, std::string> meta = {
        {"format", "gander-cache"}, {"note", "tab\there, \"quoted\", é, \x01"}, {"empty", ""}};
    write_safetensors(path, ts, meta);
    CHECK(!std::filesystem::exists(path + ".tmp"));

    auto f = TensorFile::open(path);
    CHECK(f->format() == "safetensors");
    CHECK(f->metadata() == meta);
    REQUIRE(f->tensors().size() == ts.size());
    for (std::size_t i = 0; i < ts.size(); ++i) {
        const auto& t = f->tensors()[i];
        CHECK(t.name == ts[i].name);
        CHECK(t.dtype == ts[i].dtype);
        CHECK(t.shape == ts[i].shape);
        REQUIRE(t.nbytes == ts[i].nbytes);
        if (t.nbytes) CHECK(std::memcmp(t.data, ts[i].data, t.nbytes) == 0);
        // 8-byte aligned in the file, and the mapping is page aligned.
        CHECK(reinterpret_cast<std::uintptr_t>(t.data) % 8 == 0);
    }
    CHECK(get(*f, "w.u8").numel() == 1);
    CHECK(get(*f, "empty").numel() == 0);

    // Overwrite in place: the new file replaces the old one whole.
    write_safetensors(path, {ts[0]});
    auto g = TensorFile::open(path);
    CHECK(g->tensors().size() == 1);
    CHECK(g->metadata().empty());
}

TEST_CASE(
    "safetensors: sizes that are multiples of 8 leave no gaps (reference readers need none)") {
    ScratchDir dir("io-st-gaps");
    const std::string path = (dir / "g.safetensors").string();
    std::vector<float> a(6, 1.0f), b(2, 2.0f);
    write_safetensors(path,
                      {{"a", DType::F32, {6}, a.data(), 24}, {"b", DType::F32, {2}, b.data(), 8}},
                      {{"k", "v"}});
    std::string bytes = read_file(path);
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data(), 8);
    CHECK((8 + n) % 8 == 0);
    auto header = parse_json(std::string_view(bytes).substr(8, n));
    CHECK(header.get("a")->get("data_offsets")->items()[1].as_int64() ==
          header.get("b")->get("data_offsets")->items()[0].as_int64());
    CHECK(bytes.size() == 8 + n + 32);
}

TEST_CASE("safetensors: write refuses inconsistent tensors and leaves nothing behind") {
    ScratchDir dir("io-st-bad");
    const std::string path = (dir / "x.safetensors").string();
    float v[4] = {};
    CHECK_THROWS_WITH(write_safetensors(path, {{"a", DType::F32, {3}, v, 16}}), gander::Error,
                      "tensor a: shape [3] of F32 needs 12 bytes, 16 given");
    CHECK_THROWS_WITH(
        write_safetensors(path, {{"a", DType::F32, {1}, v, 4}, {"a", DType::F32, {1}, v, 4}}),
        gander::Error, "tensor a: name used twice");
    CHECK_THROWS_WITH(write_safetensors(path, {{"__metadata__", DType::F32, {1}, v, 4}}),
                      gander::Error, "invalid name");
    CHECK_THROWS_WITH(write_safetensors(path, {{"a", DType::F32, {-1}, v, 4}}), gander::Error,
                      "invalid shape [-1]");
    CHECK(!std::filesystem::exists(path));
    CHECK(!std::filesystem::exists(path + ".tmp"));
    CHECK_THROWS_WITH(write_safetensors((dir / "no/such/dir/x.safetensors").string(),
                                        {{"a", DType::F32, {1}, v, 4}}),
                      gander::Error, "cannot create");
}

TEST_CASE("safetensors: headers that lie") {
    const std::string t = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const std::string data(16, '\x01');
    CHECK(has(open_error(make_st("{" + t + "}", data)), "no error"));
    // Lengths.
    CHECK(has(parse_error("abc"), "m.safetensors: too small for a safetensors header (3 bytes)"));
    std::string huge;
    put64(huge, 1ull << 63);
    CHECK(has(parse_error(huge + "{}"), "header length 9223372036854775808 exceeds the file size"));
    std::string over;
    put64(over, 3);
    CHECK(has(parse_error(over + "{}"), "header length 3 exceeds the file size (10 bytes)"));
    CHECK(has(open_error(huge + "{}"), "m.safetensors: not a PyTorch zip or safetensors file"));
    CHECK(has(parse_error(make_st("{" + t + "}   junk", data)),
              "safetensors header: JSON: unexpected"));
    CHECK(has(parse_error(make_st("[1,2]")), "header is not a JSON object"));
    CHECK(has(parse_error(make_st(std::string(40, '[') + std::string(40, ']'))), "nesting deeper"));
    // Tensor entries.
    auto one = [&](const std::string& entry) {
        return parse_error(make_st("{\"t\":" + entry + "}", data));
    };
    CHECK(has(one("3"), "tensor t: header entry is not an object"));
    CHECK(has(one(R"({"shape":[2],"data_offsets":[0,8]})"), "tensor t: missing dtype"));
    CHECK(has(one(R"({"dtype":"F32","data_offsets":[0,8]})"), "tensor t: missing shape"));
    CHECK(
        has(one(R"({"dtype":"F32","shape":[2]})"), "tensor t: data_offsets must be [begin, end]"));
    CHECK(has(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"), "data_offsets must be"));
    CHECK(has(one(R"({"dtype":"BOOL","shape":[2],"data_offsets":[0,2]})"),
              "unsupported dtype 'BOOL'"));
    CHECK(has(one(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"),
              "shape dimensions must be non-negative integers"));
    CHECK(
        has(one(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,8]})"), "non-negative integers"));
    CHECK(has(one(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"),
              "tensor t: shape [3] of F32 needs 12 bytes, data_offsets span 8"));
    CHECK(has(one(R"({"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,8]})"),
              "needs more than 2^64 bytes"));
    CHECK(has(one(R"({"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,8]})"),
              "overflows"));
    CHECK(has(one(R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})"), "run backwards"));
    CHECK(has(one(R"({"dtype":"F32","shape":[2],"data_offsets":[12,20]})"),
              "data_offsets end 20 is past the data section (16 bytes)"));
    CHECK(has(one(R"({"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]})"),
              "non-negative integers"));
    CHECK(
        has(one(R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})"), "non-negative integers"));
    // Overlaps, metadata.
    const std::string u = R"("u":{"dtype":"F32","shape":[2],"data_offsets":[4,12]})";
    CHECK(has(parse_error(make_st("{" + t + "," + u + "}", data)), "tensors t and u overlap"));
    const std::string z = R"("z":{"dtype":"F32","shape":[0],"data_offsets":[4,4]})";
    CHECK(has(parse_error(make_st("{" + t + "," + z + "}", data)), "no error"));
    CHECK(has(parse_error(make_st(R"({"__metadata__":{"a":1}})")),
              "__metadata__ 'a' is not a string"));
    CHECK(has(parse_error(make_st(R"({"__metadata__":[]})")), "__metadata__ is not an object"));
    CHECK(has(parse_error(make_st("{" + t + "," + t + "}", data)), "duplicate key \"t\""));
}

TEST_CASE("safetensors: every truncation and corrupt header length of a golden file") {
    std::string data = read_file(fixture("rwkv7/rand-a.golden.safetensors"));
    std::vector<std::size_t> cuts = {0, 1, 7, 8, 9, 10, 100, 895, 896, 897};
    for (std::size_t i = 1; i < 300; ++i) cuts.push_back(data.size() * i / 300);
    for (std::size_t k = 1; k < 64; ++k) cuts.push_back(data.size() - k);
    for (std::size_t cut : cuts) {
        std::string what = open_error(data.substr(0, cut));
        CHECK_MSG(what != "no error", "truncation at " << cut << " was accepted");
        CHECK_MSG(what.starts_with("m.safetensors: "), what);
    }
    CHECK(has(open_error(data.substr(0, 5)),
              "not a PyTorch zip or safetensors file (first bytes 78 "
              "03 00 00 00, 5 bytes in all)"));
    CHECK(has(open_error(""), "m.safetensors: empty file"));
    // The header length set to every value near the real one, and to a few far ones.
    std::uint64_t real = 0;
    std::memcpy(&real, data.data(), 8);
    std::vector<std::uint64_t> lengths = {0,     1,         2, data.size() - 8, data.size() - 7,
                                          ~0ull, 1ull << 32};
    for (std::uint64_t d = 0; d < 64; ++d) {
        lengths.push_back(real + d);
        lengths.push_back(real - d);
    }
    for (std::uint64_t n : lengths) {
        std::string d = data;
        std::memcpy(d.data(), &n, 8);
        std::string what = open_error(d);
        // Cutting only the header's trailing padding spaces still leaves a valid file.
        bool padding_only = n <= real && data.find_first_not_of(' ', 8 + n) >= 8 + real;
        CHECK_MSG(padding_only || what != "no error", "header length " << n << " was accepted");
    }
    // Random-ish byte damage inside the header: clean results only.
    for (std::size_t at = 8; at < 8 + real; at += 3)
        for (char v : {'\0', '"', '9', '}', '\xff'}) {
            std::string d = data;
            d[at] = v;
            open_error(d);
        }
}

GANDER_TEST_MAIN
