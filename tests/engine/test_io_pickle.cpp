// The pickle layer of .pth reading: the fixtures' state dicts (names, dtypes, shapes and first
// values, read independently with Python's zipfile/struct and written down here), hand-made
// pickles for what torch.save can also produce (storage offsets, shared storages, protocol 4,
// OrderedDict with _metadata, Parameters, checkpoint wrappers), and what must be refused.
#include "check.h"
#include "io_test_files.h"

#include "gander/gander.h"
#include "io/pickle_reader.h"
#include "io/tensor_file.h"

#include <cstring>

using namespace gander::io;
using namespace gander::test::iofiles;
using gander::test::fixture;
using namespace std::string_literals;

namespace {

std::vector<std::uint16_t> first_u16(const TensorView& t, std::size_t n) {
    std::vector<std::uint16_t> v(n);
    std::memcpy(v.data(), t.data, n * 2);
    return v;
}
std::vector<std::uint16_t> last_u16(const TensorView& t) {
    std::vector<std::uint16_t> v(1);
    std::memcpy(v.data(), t.data + t.nbytes - 2, 2);
    return v;
}
std::vector<std::uint32_t> first_u32(const TensorView& t, std::size_t n) {
    std::vector<std::uint32_t> v(n);
    std::memcpy(v.data(), t.data, n * 4);
    return v;
}

const TensorView& get(const TensorFile& f, const std::string& name) {
    const TensorView* t = f.find(name);
    if (!t) {
        std::fprintf(stderr, "  missing tensor %s\n", name.c_str());
        throw gander::test::Failure{};
    }
    return *t;
}

// A .pth in memory from a pickle and storages {key, bytes}.
std::string make_pth(const std::string& pickle,
                     const std::vector<std::pair<std::string, std::string>>& storages,
                     const std::string& folder = "archive") {
    std::vector<ZipItem> items{{folder + "/data.pkl", pickle}, {folder + "/byteorder", "little"}};
    for (const auto& [key, bytes] : storages) items.push_back({folder + "/data/" + key, bytes});
    items.push_back({folder + "/version", "3\n"});
    return build_zip(items, {.align = 64});
}

std::vector<float> floats(const TensorView& t) {
    std::vector<float> v(t.nbytes / 4);
    std::memcpy(v.data(), t.data, t.nbytes);
    return v;
}

} // namespace

TEST_CASE("pickle: rand-a.pth (bf16)") {
    auto f = TensorFile::open(fixture("rwkv7/rand-a.pth"));
    CHECK(f->format() == "pth");
    REQUIRE(f->tensors().size() == 105);
    CHECK(f->tensors()[0].name == "emb.weight");
    CHECK(f->tensors()[1].name == "blocks.0.ln0.weight");
    CHECK(f->tensors()[2].name == "blocks.0.ln0.bias");
    CHECK(f->tensors().back().name == "head.weight");
    for (const auto& t : f->tensors()) CHECK(t.dtype == DType::BF16);

    const auto& emb = get(*f, "emb.weight");
    CHECK(emb.shape == (std::vector<std::int64_t>{512, 128}));
    CHECK(emb.nbytes == 131072);
    CHECK(first_u16(emb, 4) == (std::vector<std::uint16_t>{0x3d0c, 0x3fae, 0x3f9d, 0xbf03}));
    CHECK(last_u16(emb) == std::vector<std::uint16_t>{0x3e39});

    const auto& rk = get(*f, "blocks.0.att.r_k");
    CHECK(rk.shape == (std::vector<std::int64_t>{2, 64}));
    CHECK(first_u16(rk, 4) == (std::vector<std::uint16_t>{0xbe84, 0x3dd4, 0xbe20, 0x3d56}));
    CHECK(last_u16(rk) == std::vector<std::uint16_t>{0x3d4b});

    const auto& xr = get(*f, "blocks.0.att.x_r"); // stride (128,128,1): size-1 dims are free
    CHECK(xr.shape == (std::vector<std::int64_t>{1, 1, 128}));
    CHECK(first_u16(xr, 4) == (std::vector<std::uint16_t>{0x3c8c, 0x3f29, 0x3f6d, 0x3efd}));

    const auto& fv = get(*f, "blocks.1.ffn.value.weight");
    CHECK(fv.shape == (std::vector<std::int64_t>{128, 512}));
    CHECK(first_u16(fv, 4) == (std::vector<std::uint16_t>{0x3b24, 0xbc06, 0xbd00, 0xbc83}));
    CHECK(last_u16(fv) == std::vector<std::uint16_t>{0xbc26});

    const auto& head = get(*f, "head.weight");
    CHECK(head.shape == (std::vector<std::int64_t>{512, 128}));
    CHECK(first_u16(head, 4) == (std::vector<std::uint16_t>{0x3e8a, 0x3d43, 0x3e6b, 0xbe37}));
    CHECK(last_u16(head) == std::vector<std::uint16_t>{0xbe98});

    CHECK(get(*f, "blocks.0.att.w1").shape == (std::vector<std::int64_t>{128, 32}));
    CHECK(get(*f, "blocks.0.att.a1").shape == (std::vector<std::int64_t>{128, 24}));
    CHECK(get(*f, "blocks.0.att.v1").shape == (std::vector<std::int64_t>{128, 16}));
    CHECK(get(*f, "blocks.0.att.g1").shape == (std::vector<std::int64_t>{128, 48}));
    CHECK(f->find("blocks.0.att.v0") != nullptr); // rand-a's block 0 carries v0/v1/v2
    CHECK(f->find("blocks.3.ln1.weight") == nullptr);
    CHECK(f->find("") == nullptr);
}

TEST_CASE("pickle: rand-b.pth (fp16)") {
    auto f = TensorFile::open(fixture("rwkv7/rand-b.pth"));
    REQUIRE(f->tensors().size() == 69);
    for (const auto& t : f->tensors()) CHECK(t.dtype == DType::F16);
    const auto& emb = get(*f, "emb.weight");
    CHECK(emb.shape == (std::vector<std::int64_t>{300, 256}));
    CHECK(first_u16(emb, 4) == (std::vector<std::uint16_t>{0x9efe, 0x3c2f, 0x39ef, 0x39cb}));
    CHECK(last_u16(emb) == std::vector<std::uint16_t>{0xb66e});
    const auto& rk = get(*f, "blocks.0.att.r_k");
    CHECK(rk.shape == (std::vector<std::int64_t>{4, 64}));
    CHECK(first_u16(rk, 4) == (std::vector<std::uint16_t>{0x35f9, 0xb69e, 0x341f, 0xb295}));
    const auto& fv = get(*f, "blocks.1.ffn.value.weight");
    CHECK(fv.shape == (std::vector<std::int64_t>{256, 1024}));
    CHECK(first_u16(fv, 4) == (std::vector<std::uint16_t>{0xa5f9, 0x9d6e, 0xa584, 0xa47a}));
    CHECK(last_u16(get(*f, "head.weight")) == std::vector<std::uint16_t>{0xb04e});
    CHECK(f->find("blocks.0.att.v0") == nullptr); // rand-b's block 0 has none
    CHECK(f->find("blocks.1.att.v0") != nullptr);
}

TEST_CASE("pickle: trained-tiny.pth (fp32, folder trained-tiny-v7)") {
    auto f = TensorFile::open(fixture("rwkv7/trained-tiny.pth"));
    REQUIRE(f->tensors().size() == 399);
    for (const auto& t : f->tensors()) CHECK(t.dtype == DType::F32);
    CHECK(f->tensors()[1].name == "blocks.0.ln1.weight");
    const auto& emb = get(*f, "emb.weight");
    CHECK(emb.shape == (std::vector<std::int64_t>{256, 64}));
    CHECK(first_u32(emb, 4) ==
          (std::vector<std::uint32_t>{0x3b8a0000, 0x3aea0000, 0x3b8a0000, 0x3b990000}));
    const auto& head = get(*f, "head.weight");
    CHECK(first_u32(head, 4) ==
          (std::vector<std::uint32_t>{0x3d1a0000, 0xbc610000, 0xbc850000, 0x3cad0000}));
    CHECK(get(*f, "blocks.0.att.r_k").shape == (std::vector<std::int64_t>{1, 64}));
    CHECK(get(*f, "blocks.11.ffn.key.weight").shape == (std::vector<std::int64_t>{256, 64}));
    CHECK(f->find("blocks.12.ffn.key.weight") == nullptr);
}

TEST_CASE("pickle: storage offsets and storages shared by several tensors") {
    std::vector<float> values(20);
    for (int i = 0; i < 20; ++i) values[i] = static_cast<float>(i);
    std::vector<PickleTensor> ts = {
        {"a", "FloatStorage", "0", 20, 0, {2, 3}, {3, 1}},
        {"b", "FloatStorage", "0", 20, 6, {4}, {1}},
        {"c", "FloatStorage", "0", 20, 10, {2, 1, 5}, {5, 7, 1}},
        {"empty", "FloatStorage", "0", 20, 20, {0, 4}, {4, 1}},
        {"scalar", "FloatStorage", "0", 20, 19, {}, {}},
    };
    auto pth = make_pth(torch_pickle(ts), {{"0", raw(values)}});
    auto f = TensorFile::open_memory(as_bytes(pth), "offsets.pth");
    CHECK(floats(get(*f, "a")) == (std::vector<float>{0, 1, 2, 3, 4, 5}));
    CHECK(floats(get(*f, "b")) == (std::vector<float>{6, 7, 8, 9}));
    CHECK(floats(get(*f, "c")) == (std::vector<float>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
    CHECK(get(*f, "empty").nbytes == 0);
    CHECK(get(*f, "empty").numel() == 0);
    CHECK(floats(get(*f, "scalar")) == std::vector<float>{19});
    CHECK(get(*f, "scalar").shape_string() == "[]");
    CHECK(get(*f, "c").shape_string() == "[2,1,5]");
}

TEST_CASE("pickle: the variants torch.save writes") {
    std::vector<std::int32_t> ints = {1, -2, 3, 70000};
    std::vector<std::int64_t> longs = {1ll << 40, -5};
    std::vector<PickleTensor> ts = {
        {"layer.weight", "IntStorage", "k0", 4, 0, {2, 2}, {2, 1}},
        {"layer.bias", "LongStorage", "k1", 2, 0, {2}, {1}},
        {"big.offset", "CharStorage", "k2", 70000, 69990, {10}, {1}},
    };
    std::string chars(70000, '\0');
    for (int i = 0; i < 70000; ++i) chars[i] = static_cast<char>(i % 127);
    std::vector<std::pair<std::string, std::string>> storages = {
        {"k0", raw(ints)}, {"k1", raw(longs)}, {"k2", chars}};

    const PickleOptions variants[] = {
        {.protocol = 2},
        {.protocol = 4},
        {.protocol = 5, .ordered_dict = true},
        {.protocol = 2, .ordered_dict = true, .parameter = true},
        {.protocol = 2, .wrapper_key = "state_dict"},
        {.protocol = 4, .ordered_dict = true, .wrapper_key = "model"},
    };
    for (const auto& opt : variants) {
        auto pth = make_pth(torch_pickle(ts, opt), storages, "some-other-name");
        auto f = TensorFile::open_memory(as_bytes(pth), "variant.pth");
        REQUIRE(f->tensors().size() == 3);
        const auto& w = get(*f, "layer.weight");
        CHECK(w.dtype == DType::I32);
        std::vector<std::int32_t> got(4);
        std::memcpy(got.data(), w.data, 16);
        CHECK(got == ints);
        CHECK(get(*f, "layer.bias").dtype == DType::I64);
        CHECK(std::memcmp(get(*f, "layer.bias").data, longs.data(), 16) == 0);
        const auto& b = get(*f, "big.offset");
        CHECK(b.dtype == DType::I8);
        CHECK(std::memcmp(b.data, chars.data() + 69990, 10) == 0);
    }
}

TEST_CASE("pickle: tensors that do not fit their storage, or are not contiguous") {
    std::vector<float> values(64, 1.0f);
    auto open = [&](const std::vector<PickleTensor>& ts) {
        auto pth = make_pth(torch_pickle(ts), {{"3", raw(values)}});
        return TensorFile::open_memory(as_bytes(pth), "rand-a.pth");
    };
    // 64 floats = 256 bytes; the tensor wants 128 floats.
    CHECK_THROWS_WITH(open({{"blocks.0.att.r_k", "FloatStorage", "3", 64, 0, {2, 64}, {64, 1}}}),
                      gander::Error,
                      "rand-a.pth: tensor blocks.0.att.r_k: storage 'data/3' holds 256 bytes, "
                      "tensor needs 512");
    CHECK_THROWS_WITH(open({{"t", "FloatStorage", "3", 64, 60, {8}, {1}}}), gander::Error,
                      "tensor t: storage 'data/3' holds 256 bytes, tensor needs 272 (from storage "
                      "offset 60)");
    CHECK_THROWS_WITH(open({{"t", "FloatStorage", "3", 100, 0, {8}, {1}}}), gander::Error,
                      "tensor t: storage 'data/3' declares 100 elements of F32 but its entry "
                      "holds 256 bytes");
    CHECK_THROWS_WITH(open({{"t", "FloatStorage", "3", 64, (1ll << 62), {8}, {1}}}), gander::Error,
                      "tensor needs more than 2^64");
    CHECK_THROWS_WITH(
        open({{"t", "FloatStorage", "3", 64, 0, {1ll << 40, 1ll << 40}, {1ll << 40, 1}}}),
        gander::Error, "tensor t: size [1099511627776,1099511627776] overflows");
    CHECK_THROWS_WITH(
        open({{"blocks.0.att.key.weight", "FloatStorage", "3", 64, 0, {8, 8}, {1, 8}}}),
        gander::Error,
        "rand-a.pth: tensor blocks.0.att.key.weight: non-contiguous strides [1,8] for "
        "size [8,8]");
    CHECK_THROWS_WITH(open({{"t", "FloatStorage", "3", 64, 0, {4, 4}, {8, 1}}}), gander::Error,
                      "non-contiguous strides [8,1]");
    CHECK_THROWS_WITH(open({{"t", "FloatStorage", "9", 64, 0, {4}, {1}}}), gander::Error,
                      "tensor t: storage 'data/9' is missing from the archive");
    CHECK_THROWS_WITH(open({{"mask", "BoolStorage", "3", 64, 0, {4}, {1}}}), gander::Error,
                      "tensor mask: unsupported storage type torch.BoolStorage");
    CHECK_THROWS_WITH(open({{"t", "FloatStorage", "3", 64, 0, {4}, {1}},
                            {"t", "FloatStorage", "3", 64, 0, {4}, {1}}}),
                      gander::Error, "tensor t appears twice");
}

namespace {

std::string read_error(const std::string& pickle) {
    try {
        read_torch_pickle(as_bytes(pickle), "x.pth: archive/data.pkl");
    } catch (const gander::Error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("pickle: refused input gives a clear error") {
    const std::string p = "x.pth: archive/data.pkl: ";
    CHECK(has(read_error(""), p + "pickle ends without STOP"));
    CHECK(has(read_error("\x80\x02}"), "pickle ends without STOP"));
    CHECK(has(read_error("\x80\x09}."), "pickle protocol 9 is not supported"));
    CHECK(has(read_error("\x80\x02}\xff."), "unsupported pickle opcode 0xff (opcode at offset 3)"));
    CHECK(has(read_error("\x80\x02I12\n."), "unsupported pickle opcode 0x49"));
    CHECK(has(read_error("\x80\x02]."), "the pickle holds a list, not a state dict"));
    CHECK(has(read_error("\x80\x02."), "stack underflow"));
    CHECK(has(read_error("\x80\x02(."), "stack underflow")); // STOP cannot pop below a MARK
    CHECK(has(read_error("\x80\x02}K\x01t."), "no MARK to close"));
    CHECK(has(read_error("\x80\x02h\x05."), "memo entry 5 is missing"));
    CHECK(has(read_error("\x80\x02"
                         "cos\nsystem\n."),
              "unsupported global 'os.system'"));
    CHECK(has(read_error("\x80\x02\x8c\x08"
                         "builtins\x8c\x04"
                         "eval\x93."),
              "unsupported global 'builtins.eval'"));
    CHECK(has(read_error("\x80\x02"
                         "ctorch\nFloatStorage\n)R."),
              "cannot call 'torch.FloatStorage'"));
    CHECK(has(read_error("\x80\x02"
                         "ccollections\nOrderedDict\nK\x01\x85R."),
              "OrderedDict called with arguments"));
    CHECK(has(read_error("\x80\x02}K\x01K\x02s}b]K\x01"
                         "b."),
              "BUILD on a list"));
    CHECK(has(read_error("\x80\x02K\x01K\x02"
                         "a."),
              "APPEND to a int"));
    CHECK(has(read_error("\x80\x02K\x01(K\x02u."), "SETITEMS with an odd number"));
    CHECK(has(read_error("\x80\x02\x8a\x09" + std::string(9, '\x01') + "."),
              "integer of 9 bytes is too large"));
    CHECK(
        has(read_error("\x80\x02X\xff\xff\xff\x7f"), "pickle is truncated (string of 2147483647"));
    CHECK(has(read_error("\x80\x02\x8d" + std::string(8, '\xff')), "pickle is truncated"));
    CHECK(has(read_error("\x80\x02"
                         "ctorch\nFloatStorage"),
              "unterminated GLOBAL"));
    CHECK(has(read_error("\x80\x02}K\x01Q."), "persistent id is not a 5-tuple"));
    CHECK(has(read_error("\x80\x02(X\x07\0\0\0storageK\x01X\x01\0\0\0kX\x03\0\0\0cpuK\x01tQ."s),
              "storage type is not a torch storage class"));
    // A dict whose tensors sit under non-string keys.
    std::string pickle = torch_pickle({{"t", "FloatStorage", "0", 4, 0, {4}, {1}}});
    auto at = pickle.find("X\x01\0\0\0t", 0, 6);
    REQUIRE(at != std::string::npos);
    pickle.replace(at, 6,
                   "K\x07\x8c\x01"
                   "t0",
                   6); // BININT1 7, then push and POP the name
    CHECK(has(read_error(pickle), "a tensor is stored under a int key, not a name"));
    CHECK(has(read_error(torch_pickle({{"t", "FloatStorage", "0", 4, 0, {4}, {1}}})), "no error"));
}

TEST_CASE("pickle: memo, DUP, lists and dicts behave as in CPython") {
    // {"a": tensor, "b": the same tensor again through the memo}
    std::string pickle = torch_pickle({{"a", "FloatStorage", "0", 4, 0, {4}, {1}}});
    pickle.pop_back(); // STOP
    // After SETITEMS the dict is on top: add "b" -> memo[4] (the rebuilt tensor), a list with
    // APPEND/APPENDS, a DUP'd int and a LONG1 negative value, all ignored as non-tensors.
    pickle += std::string("X\x01\0\0\0b", 6) + "h\x04s";
    pickle += std::string("X\x01\0\0\0l", 6) +
              "](K\x01K\x02"
              "eK\x03"
              "a" +
              "s";
    pickle += std::string("X\x01\0\0\0n", 6) + "\x8a\x02\x00\x80"s + "20" + "s";
    pickle += std::string("X\x01\0\0\0d", 6) +
              "(K\x01K\x02"
              "d" +
              "s";
    pickle += std::string("X\x01\0\0\0f", 6) + "G\x3f\xf0\0\0\0\0\0\0"s + "s";
    pickle += std::string("X\x01\0\0\0y", 6) + "C\x02hi" + "s";
    pickle += std::string("X\x01\0\0\0z", 6) + "(N\x88\x89l" + "s";
    pickle += ".";
    auto tensors = read_torch_pickle(as_bytes(pickle), "memo");
    REQUIRE(tensors.size() == 2);
    CHECK(tensors[0].name == "a");
    CHECK(tensors[1].name == "b");
    CHECK(tensors[1].storage_key == "0");
    CHECK(tensors[1].size == std::vector<std::int64_t>{4});
}

TEST_CASE("pickle: every truncation of a real pickle is a clean error") {
    std::string data = read_file(fixture("rwkv7/rand-a.pth"));
    // The pickle is the first entry, its payload at offset 64 (see test_io_zip).
    const std::string pickle = data.substr(64, 10272);
    REQUIRE(pickle.back() == '.');
    CHECK(read_torch_pickle(as_bytes(pickle), "rand-a").size() == 105);
    int clean = 0;
    for (std::size_t cut = 0; cut < pickle.size(); ++cut) {
        std::vector<std::byte> exact(cut);
        if (cut) std::memcpy(exact.data(), pickle.data(), cut);
        try {
            read_torch_pickle(std::span<const std::byte>(exact.data(), exact.size()), "rand-a");
            CHECK_MSG(false, "truncation at " << cut << " was accepted");
        } catch (const gander::Error&) {
            ++clean;
        }
    }
    CHECK(clean == static_cast<int>(pickle.size()));

    // Each byte replaced by a few values: success or gander::Error, nothing else.
    for (std::size_t at = 0; at < 2000; ++at)
        for (char v : {'\0', '\x7f', '\xff', 'R', 'Q', '('}) {
            std::string d = pickle;
            d[at] = v;
            try {
                read_torch_pickle(as_bytes(d), "rand-a");
            } catch (const gander::Error&) {
            }
        }
}

GANDER_TEST_MAIN
