// The zip layer of .pth reading: the fixtures' directories (offsets checked against Python's
// zipfile), archives made here in the layouts torch 2.x writes (zip64, 64-byte-aligned payloads,
// extra entries, another inner folder), and damaged archives, each of which must give a clean
// gander::Error naming the problem.
#include "check.h"
#include "io_test_files.h"

#include "gander/gander.h"
#include "io/formats.h"
#include "io/tensor_file.h"
#include "io/zip_reader.h"

#include <cstring>
#include <functional>

using namespace gander::io;
using namespace gander::test::iofiles;
using gander::test::fixture;

namespace {

// Copies `data` to a heap block of exactly its size, so a sanitizer build sees any overread.
template <typename F> void with_exact_copy(const std::string& data, F&& f) {
    std::vector<std::byte> copy(data.size());
    if (!data.empty()) std::memcpy(copy.data(), data.data(), data.size());
    f(std::span<const std::byte>(copy.data(), copy.size()));
}

// Runs `f` on `data`; passes when it either succeeds or throws gander::Error (never another
// exception). Returns the error text, "" on success.
std::string outcome(const std::string& data,
                    const std::function<void(std::span<const std::byte>)>& f) {
    std::string what;
    with_exact_copy(data, [&](std::span<const std::byte> bytes) {
        try {
            f(bytes);
        } catch (const gander::Error& e) {
            what = e.what();
            if (what.empty()) what = "(empty message)";
        }
    });
    return what;
}

// The entries of a real fixture, renamed into `folder`, as items for build_zip.
std::vector<ZipItem> items_of(const std::string& file, const std::string& folder) {
    static std::vector<std::string> keep; // file bytes stay alive for the spans below
    keep.push_back(read_file(file));
    ZipReader zip(as_bytes(keep.back()), "fixture");
    std::vector<ZipItem> items;
    for (const auto& e : zip.entries()) {
        auto p = zip.payload(e);
        std::string name = folder + e.name.substr(e.name.find('/'));
        items.push_back({name, std::string(reinterpret_cast<const char*>(p.data()), p.size())});
    }
    return items;
}

void check_same_tensors(const TensorFile& a, const TensorFile& b) {
    REQUIRE(a.tensors().size() == b.tensors().size());
    for (std::size_t i = 0; i < a.tensors().size(); ++i) {
        const auto& x = a.tensors()[i];
        const auto& y = b.tensors()[i];
        CHECK(x.name == y.name);
        CHECK(x.dtype == y.dtype);
        CHECK(x.shape == y.shape);
        REQUIRE(x.nbytes == y.nbytes);
        CHECK(std::memcmp(x.data, y.data, x.nbytes) == 0);
    }
}

} // namespace

TEST_CASE("zip: directories of the three fixtures") {
    struct Expect {
        const char* file;
        std::size_t entries;
        const char* pickle;
        std::uint64_t pickle_size, first_data_header, first_data_offset, first_data_size;
    };
    // Offsets and sizes read with Python's zipfile and struct.
    const Expect expect[] = {
        {"rwkv7/rand-a.pth", 107, "rand-a/data.pkl", 10272, 10352, 10432, 131072},
        {"rwkv7/rand-b.pth", 71, "rand-b/data.pkl", 6709, 6789, 6848, 153600},
        {"rwkv7/trained-tiny.pth", 401, "trained-tiny-v7/data.pkl", 41276, 41356, 41472, 65536},
    };
    for (const auto& e : expect) {
        std::string data = read_file(fixture(e.file));
        ZipReader zip(as_bytes(data), e.file);
        CHECK(zip.entries().size() == e.entries);
        const ZipEntry* pkl = zip.find(e.pickle);
        REQUIRE(pkl != nullptr);
        CHECK(pkl->size == e.pickle_size);
        CHECK(pkl->data_offset == 64);
        const ZipEntry& first = zip.entries()[1]; // "<folder>/data/0", after the pickle
        CHECK(first.name.ends_with("/data/0"));
        CHECK(first.header_offset == e.first_data_header);
        CHECK(first.data_offset == e.first_data_offset);
        CHECK(first.size == e.first_data_size);
        std::string folder = std::string(e.pickle).substr(0, std::string(e.pickle).find('/'));
        const ZipEntry* version = zip.find(folder + "/version");
        REQUIRE(version != nullptr);
        auto v = zip.payload(*version);
        CHECK(std::string(reinterpret_cast<const char*>(v.data()), v.size()) == "3\n");
        for (const auto& entry : zip.entries()) {
            CHECK(entry.method == 0);
            CHECK(entry.data_offset % 64 == 0); // torch aligns every payload
        }
        CHECK(zip.find("no/such/entry") == nullptr);
    }
}

TEST_CASE("zip: zip64 records and extra fields give the same entries") {
    auto items = items_of(fixture("rwkv7/rand-a.pth"), "rand-a");
    std::string plain = build_zip(items);
    std::string z64 = build_zip(items, {.zip64 = true, .align = 64});
    ZipReader a(as_bytes(plain), "plain"), b(as_bytes(z64), "zip64");
    REQUIRE(a.entries().size() == b.entries().size());
    for (std::size_t i = 0; i < a.entries().size(); ++i) {
        CHECK(a.entries()[i].name == b.entries()[i].name);
        CHECK(a.entries()[i].size == b.entries()[i].size);
        CHECK(b.entries()[i].data_offset % 64 == 0);
        auto pa = a.payload(a.entries()[i]), pb = b.payload(b.entries()[i]);
        REQUIRE(pa.size() == pb.size());
        CHECK(std::memcmp(pa.data(), pb.data(), pa.size()) == 0);
    }
    auto original = TensorFile::open(fixture("rwkv7/rand-a.pth"));
    check_same_tensors(*original, *TensorFile::open_memory(as_bytes(z64), "zip64.pth"));
}

TEST_CASE("zip: torch 2.x layout (extra entries, aligned payloads, folder 'archive') from a file") {
    auto items = items_of(fixture("rwkv7/rand-b.pth"), "archive");
    items.insert(items.begin() + 1, {"archive/byteorder", "little"});
    items.push_back({"archive/.format_version", "1"});
    items.push_back({"archive/.storage_alignment", "64"});
    items.push_back({"archive/.data/serialization_id", "1234567890123456789012345678901234567890"});
    items.push_back({"archive/.data/version", "3\n"});
    ScratchDir dir("io-zip");
    write_file(dir / "model.pth", build_zip(items, {.align = 64, .comment = "made by a test"}));
    auto file = TensorFile::open((dir / "model.pth").string());
    CHECK(file->format() == "pth");
    CHECK(file->metadata().empty());
    for (const auto& t : file->tensors()) CHECK(reinterpret_cast<std::uintptr_t>(t.data) % 64 == 0);
    check_same_tensors(*TensorFile::open(fixture("rwkv7/rand-b.pth")), *file);

    // Same, unaligned and without data descriptors.
    auto unaligned = build_zip(items, {.descriptor = false});
    check_same_tensors(*file, *TensorFile::open_memory(as_bytes(unaligned), "unaligned.pth"));
}

TEST_CASE("zip: byteorder must be little") {
    auto items = items_of(fixture("rwkv7/rand-a.pth"), "archive");
    items.push_back({"archive/byteorder", "big"});
    CHECK_THROWS_WITH(TensorFile::open_memory(as_bytes(build_zip(items)), "big.pth"), gander::Error,
                      "big.pth: tensors are stored big-endian");
    items.back().data = "middle";
    CHECK_THROWS_WITH(TensorFile::open_memory(as_bytes(build_zip(items)), "odd.pth"), gander::Error,
                      "odd.pth: unknown byteorder 'middle'");
}

TEST_CASE("zip: a compressed entry is refused, naming it") {
    auto items = items_of(fixture("rwkv7/rand-a.pth"), "rand-a");
    for (auto& it : items)
        if (it.name == "rand-a/data/3") it.method = 8;
    auto data = build_zip(items);
    CHECK_THROWS_WITH(TensorFile::open_memory(as_bytes(data), "rand-a.pth"), gander::Error,
                      "rand-a.pth: zip entry 'rand-a/data/3' is compressed (method 8)");
    // The directory itself reads fine: only the payload is refused.
    ZipReader zip(as_bytes(data), "z");
    CHECK(zip.find("rand-a/data/3")->method == 8);
}

TEST_CASE("zip: archives without a usable pickle") {
    CHECK_THROWS_WITH(TensorFile::open_memory(as_bytes(build_zip({{"a/version", "3\n"}})), "x.pth"),
                      gander::Error, "x.pth: no <folder>/data.pkl entry");
    CHECK_THROWS_WITH(
        TensorFile::open_memory(as_bytes(build_zip({{"a/data.pkl", "."}, {"b/data.pkl", "."}})),
                                "two.pth"),
        gander::Error, "several pickles");
    CHECK_THROWS_WITH(
        TensorFile::open_memory(as_bytes(build_zip({{"x/y", "1"}, {"x/y", "2"}})), "dup.pth"),
        gander::Error, "zip entry 'x/y' appears twice");
}

TEST_CASE("zip: every truncation of a real fixture is a clean error") {
    std::string data = read_file(fixture("rwkv7/rand-a.pth"));
    std::vector<std::size_t> cuts = {0, 1, 2, 3, 4, 5, 21, 22, 30, 63, 64, 100};
    for (std::size_t i = 1; i < 400; ++i) cuts.push_back(data.size() * i / 400);
    for (std::size_t k = 1; k <= 200; ++k) cuts.push_back(data.size() - k); // the directory's end
    int errors = 0;
    for (std::size_t cut : cuts) {
        std::string what = outcome(data.substr(0, cut), [](std::span<const std::byte> b) {
            TensorFile::open_memory(b, "rand-a.pth");
        });
        CHECK_MSG(!what.empty(), "truncation at " << cut << " was accepted");
        CHECK_MSG(what.starts_with("rand-a.pth: "), what);
        errors += !what.empty();
    }
    CHECK(errors == static_cast<int>(cuts.size()));
    CHECK(outcome(data.substr(0, 100), [](auto b) {
              TensorFile::open_memory(b, "rand-a.pth");
          }).find("no end-of-central-directory record") != std::string::npos);
}

namespace {

std::string set16(std::string d, std::size_t at, std::uint16_t v) {
    std::memcpy(&d[at], &v, 2);
    return d;
}
std::string set32(std::string d, std::size_t at, std::uint32_t v) {
    std::memcpy(&d[at], &v, 4);
    return d;
}
std::string set64(std::string d, std::size_t at, std::uint64_t v) {
    std::memcpy(&d[at], &v, 8);
    return d;
}
void open_bad(std::span<const std::byte> b) {
    TensorFile::open_memory(b, "bad.pth");
}

} // namespace

TEST_CASE("zip: corrupt counts and offsets in the end records") {
    // torch's writer always adds the zip64 end record and locator, and so do the fixtures.
    std::string data = read_file(fixture("rwkv7/rand-a.pth"));
    const std::size_t end = data.size() - 22, locator = end - 20, record = locator - 56;
    REQUIRE(std::memcmp(&data[end], "PK\x05\x06", 4) == 0);
    REQUIRE(std::memcmp(&data[locator], "PK\x06\x07", 4) == 0);
    REQUIRE(std::memcmp(&data[record], "PK\x06\x06", 4) == 0);
    CHECK(has(outcome(set64(data, record + 48, 0xFFFFFF00), open_bad), "lies outside the file"));
    CHECK(has(outcome(set64(data, record + 40, 1ull << 62), open_bad), "lies outside the file"));
    CHECK(
        has(outcome(set64(set64(data, record + 24, 1ull << 40), record + 32, 1ull << 40), open_bad),
            "claims 1099511627776 entries"));
    CHECK(has(outcome(set64(data, record + 32, 5), open_bad), "multi-disk"));
    CHECK(has(outcome(set64(data, locator + 8, ~0ull), open_bad), "zip64 end record offset"));
    CHECK(has(outcome(set64(data, locator + 8, 8), open_bad), "zip64 end record not found"));
    CHECK(has(outcome(set32(data, locator + 4, 2), open_bad), "multi-disk"));

    // Without zip64 records, the same fields of the classic end record.
    auto items = items_of(fixture("rwkv7/rand-a.pth"), "rand-a");
    std::string plain = build_zip(items);
    const std::size_t pend = plain.size() - 22;
    CHECK(has(outcome(set32(plain, pend + 16, 0xFFFFFF00), open_bad), "lies outside the file"));
    CHECK(has(outcome(set32(plain, pend + 12, 0x7FFFFFFF), open_bad), "lies outside the file"));
    CHECK(
        has(outcome(set16(set16(plain, pend + 10, 0xFFF0), pend + 8, 0xFFF0), open_bad), "claims"));
    CHECK(has(outcome(set16(plain, pend + 10, 0xFFFF), open_bad), "zip64 locator is missing"));
    CHECK(has(outcome(set16(plain, pend + 4, 1), open_bad), "multi-disk"));
    CHECK(has(outcome(set16(plain, pend + 20, 5), open_bad), "no end-of-central-directory record"));
}

TEST_CASE("zip: corrupt directory entries and local headers") {
    std::string data = read_file(fixture("rwkv7/rand-a.pth"));
    const std::size_t record = data.size() - 22 - 20 - 56;
    std::uint64_t dir = 0;
    std::memcpy(&dir, &data[record + 48], 8);
    REQUIRE(std::memcmp(&data[dir], "PK\x01\x02", 4) == 0);
    CHECK(has(outcome(set32(data, dir + 42, 0x7FFFFFF0), open_bad), "local header at offset"));
    CHECK(has(outcome(set32(data, dir + 42, 7), open_bad), "no local header"));
    CHECK(has(outcome(set16(data, dir + 28, 0xFFFF), open_bad), "runs past the directory"));
    CHECK(has(outcome(set32(data, dir + 24, 5), open_bad), "sizes differ"));
    CHECK(has(outcome(set32(set32(data, dir + 24, 0x7FFFFFFF), dir + 20, 0x7FFFFFFF), open_bad),
              "run past the end of the file"));
    CHECK(has(outcome(set32(data, dir + 24, 0xFFFFFFFF), open_bad), "zip64 extra field"));
    CHECK(has(outcome(set32(data, dir, 0x12345678), open_bad), "bad signature"));
    CHECK(has(outcome(set16(data, dir + 8, 1), open_bad), "is encrypted"));
    CHECK(has(outcome(set32(data, 30, 0x41414141), open_bad), "local header names another entry"));
    CHECK(has(outcome(set16(data, 28, 0xFFFF), open_bad), ""));

    // Every byte of the end records and of the first directory entry, set to a few values: a
    // clean result (success or gander::Error) every time.
    const std::size_t name_len = std::string("rand-a/data.pkl").size();
    std::vector<std::size_t> spots;
    for (std::size_t at = dir; at < dir + 46 + name_len; ++at) spots.push_back(at);
    for (std::size_t at = record; at < data.size(); ++at) spots.push_back(at);
    for (std::size_t at = 0; at < 64; ++at) spots.push_back(at);
    for (std::size_t at : spots)
        for (char v : {'\xff', '\x00', '\x80', '\x7f'}) {
            std::string d = data;
            d[at] = v;
            outcome(d, open_bad);
        }
}

TEST_CASE("zip: zip64 records pointing outside the file") {
    auto items = std::vector<ZipItem>{{"a/data.pkl", "."}};
    std::string z = build_zip(items, {.zip64 = true});
    const std::size_t locator = z.size() - 22 - 20;
    REQUIRE(std::memcmp(&z[locator], "PK\x06\x07", 4) == 0);
    auto open = [](std::span<const std::byte> b) { ZipReader zip(b, "z64"); };
    std::string bad = z;
    std::uint64_t far = 0xFFFFFFFFFFFF0000ull;
    std::memcpy(&bad[locator + 8], &far, 8);
    CHECK(outcome(bad, open).find("zip64 end record offset") != std::string::npos);
    bad = z;
    std::uint64_t wrong = 1;
    std::memcpy(&bad[locator + 8], &wrong, 8);
    CHECK(outcome(bad, open).find("zip64 end record not found") != std::string::npos);
    // Huge entry count and directory size in the zip64 record.
    const std::size_t record = locator - 56;
    bad = z;
    std::uint64_t huge = ~std::uint64_t{0} / 2;
    std::memcpy(&bad[record + 24], &huge, 8);
    std::memcpy(&bad[record + 32], &huge, 8);
    CHECK(outcome(bad, open).find("claims") != std::string::npos);
    bad = z;
    std::memcpy(&bad[record + 40], &huge, 8);
    CHECK(outcome(bad, open).find("lies outside the file") != std::string::npos);
    // A zip64 extra field too short for the fields it must hold.
    auto z64 = build_zip({{"a/b", "xyz"}}, {.zip64 = true});
    auto at = z64.find(std::string("PK\x01\x02", 4));
    REQUIRE(at != std::string::npos);
    z64[at + 46 + 3 + 2] = 8; // extra block size 24 -> 8
    CHECK(outcome(z64, open).find("zip64 extra field is too short") != std::string::npos);
}

TEST_CASE("zip: an end-of-directory signature inside the comment does not fool the search") {
    std::string comment = std::string("PK\x05\x06", 4) + std::string(30, 'c');
    std::string z = build_zip({{"a/data.pkl", "."}}, {.comment = comment});
    ZipReader zip(as_bytes(z), "c");
    CHECK(zip.entries().size() == 1);
}

GANDER_TEST_MAIN
