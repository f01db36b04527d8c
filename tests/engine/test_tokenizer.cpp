// The RWKV World tokenizer against ChatRWKV's reference outputs (tokenizer-cases.json), the
// vocabulary parser's error reporting, the byte tokenizer, and streaming decode (TokenStream).
#include "check.h"

#include "gander/gander.h"
#include "gander/tokenizer.h"
#include "io/json.h"
#include "tokenizer/utf8.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace {

using gander::test::fixture;

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// RFC 4648 base64 with padding, as Python's base64.b64encode writes it.
std::string base64_decode(std::string_view in) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=') break;
        const int v = value(c);
        if (v < 0) throw std::runtime_error("bad base64 character");
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

const gander::Tokenizer& world() {
    static const auto tok =
        gander::load_world_tokenizer(fixture("tokenizer/rwkv_vocab_v20230424.txt"));
    return *tok;
}

std::string ids_text(const std::vector<std::int32_t>& ids) {
    std::string s;
    for (auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
    return s;
}

// A folder of this run's own (tests may run in parallel), removed when the test exits.
struct WorkDir {
    std::filesystem::path path;
    WorkDir() {
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path = std::filesystem::temp_directory_path() /
               ("gander-test-tokenizer-" + std::to_string(stamp));
        std::filesystem::create_directories(path);
    }
    ~WorkDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

// Writes `content` as a vocabulary file in this run's folder and returns its path.
std::string write_vocab(const std::string& name, const std::string& content) {
    static const WorkDir dir;
    const auto path = dir.path / name;
    std::ofstream(path, std::ios::binary) << content;
    return path.string();
}

// The 256 single-byte tokens, which every valid vocabulary needs.
std::string single_bytes() {
    std::string s;
    char buf[32];
    for (int b = 0; b < 256; ++b) {
        std::snprintf(buf, sizeof buf, "%d b'\\x%02x' 1\n", b + 1, b);
        s += buf;
    }
    return s;
}

} // namespace

TEST_CASE("world: vocabulary size and a few known tokens") {
    const auto& tok = world();
    CHECK(tok.vocab_size() == 65530);
    CHECK(tok.name() == "rwkv-world");
    const std::int32_t nn[] = {261};
    CHECK(tok.decode(nn) == "\n\n");
    const std::int32_t bytes[] = {1, 256, 33};
    CHECK(tok.decode(bytes) == std::string("\0\xff ", 3));
    const std::int32_t last[] = {65529};
    CHECK(tok.decode(last) == std::string(128, ' '));
    const std::int32_t eod[] = {0};
    CHECK(tok.decode(eod).empty());
    const std::int32_t unknown[] = {65530};
    CHECK_THROWS_WITH(tok.decode(unknown), gander::Error, "unknown token id 65530");
    const std::int32_t negative[] = {-1};
    CHECK_THROWS_WITH(tok.decode(negative), gander::Error, "unknown token id -1");
}

TEST_CASE("world: every reference case, both ways") {
    const auto& tok = world();
    const auto json = gander::io::parse_json(read_file(fixture("tokenizer/tokenizer-cases.json")));
    const auto* cases = json.get("cases");
    REQUIRE(cases != nullptr);
    REQUIRE(cases->items().size() >= 30);
    int invalid_utf8 = 0;
    for (const auto& c : cases->items()) {
        const std::string bytes = base64_decode(c.get("bytes_b64")->as_string());
        std::vector<std::int32_t> want;
        for (const auto& id : c.get("ids")->items())
            want.push_back(static_cast<std::int32_t>(id.as_int64()));
        const auto got = tok.encode(bytes);
        CHECK_MSG(got == want, c.get("text")->as_string() << "\n    got  " << ids_text(got)
                                                          << "\n    want " << ids_text(want));
        CHECK_MSG(tok.decode(want) == bytes, c.get("text")->as_string());
        if (!gander::utf8::is_valid(bytes)) ++invalid_utf8;
    }
    CHECK(invalid_utf8 >= 1); // the cases do exercise raw, non-UTF-8 bytes
}

TEST_CASE("world: round trip of every single token and of arbitrary bytes") {
    const auto& tok = world();
    // Every token decodes to bytes that encode back to... at least the same bytes.
    std::string all;
    for (std::int32_t id = 1; id < tok.vocab_size(); ++id) {
        const std::int32_t one[] = {id};
        all += tok.decode(one);
    }
    CHECK(all.size() == 373358); // total bytes of the vocabulary (counted with Python)
    CHECK(tok.decode(tok.encode(all)) == all);
    std::string raw;
    for (int i = 0; i < 4096; ++i) raw.push_back(static_cast<char>((i * 2654435761u) >> 13));
    CHECK(tok.decode(tok.encode(raw)) == raw);
    CHECK(tok.encode("").empty());
}

TEST_CASE("world: the trie agrees with a brute-force greedy longest match") {
    const auto& tok = world();
    std::unordered_map<std::string, std::int32_t> by_bytes;
    std::size_t longest = 0;
    for (std::int32_t id = 1; id < tok.vocab_size(); ++id) {
        const std::int32_t one[] = {id};
        const std::string bytes = tok.decode(one);
        by_bytes.emplace(bytes, id);
        longest = std::max(longest, bytes.size());
    }
    const auto brute = [&](std::string_view text) {
        std::vector<std::int32_t> ids;
        for (std::size_t pos = 0; pos < text.size();) {
            for (std::size_t len = std::min(longest, text.size() - pos); len > 0; --len) {
                const auto it = by_bytes.find(std::string(text.substr(pos, len)));
                if (it != by_bytes.end()) {
                    ids.push_back(it->second);
                    pos += len;
                    break;
                }
            }
        }
        return ids;
    };
    // Text stitched from random pieces of the vocabulary itself (so that long tokens and their
    // near misses occur), cut at random places, plus raw random bytes.
    std::uint64_t x = 0x9E3779B97F4A7C15ull;
    const auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return x;
    };
    for (int round = 0; round < 20; ++round) {
        std::string text;
        while (text.size() < 3000) {
            const std::int32_t id[] = {static_cast<std::int32_t>(1 + next() % 65529)};
            std::string piece = tok.decode(id);
            if (next() % 3 == 0) piece.resize(next() % piece.size());
            text += piece;
            if (next() % 10 == 0) text.push_back(static_cast<char>(next()));
        }
        CHECK_MSG(tok.encode(text) == brute(text), "round " << round);
    }
}

TEST_CASE("world: vocabulary errors name the file and the line") {
    const std::string good = single_bytes();
    const std::string ok_path = write_vocab("ok.txt", good + "257 'ab' 2\n258 \"it's\" 4\n"
                                                             "259 '\\u00e9\\xe9' 4\n260 'a b' 3\n");
    const auto tok = gander::load_world_tokenizer(ok_path);
    CHECK(tok->vocab_size() == 261);
    CHECK(tok->encode("it's") == std::vector<std::int32_t>{258});
    CHECK(tok->encode("\xc3\xa9\xc3\xa9") == std::vector<std::int32_t>{259});
    CHECK(tok->encode("a bab") == (std::vector<std::int32_t>{260, 257}));

    struct Bad {
        const char* line;
        const char* message;
    };
    const Bad bad[] = {
        {"257 'ab' 3", "literal has 2 bytes, the line says 3"},
        {"257 'ab 2", "expected a quoted literal"},
        {"257 ab' 2", "expected a quoted literal"},
        {"x 'ab' 2", "bad token id"},
        {"257 'ab' two", "bad byte length"},
        {"257 'a\\qb' 2", "unsupported escape \\q"},
        {"257 'a\\x4' 2", "truncated \\x escape"},
        {"257 '\\xzz' 1", "bad hex digits"},
        {"257 b'\\u1234' 2", "\\u escape in a bytes literal"},
        {"257 '\\ud800' 3", "surrogate"},
        {"257 'a'b' 3", "unescaped quote"},
        {"257", "expected '<id> <literal> <length>'"},
        {"1 'zz' 2", "token id 1 appears twice"},
        {"257 '\xff' 1", "not valid UTF-8"},
    };
    for (const auto& b : bad) {
        const auto path = write_vocab("bad.txt", good + "\n" + b.line + "\n");
        // 256 single-byte lines, then the blank line, so the bad one is line 258.
        CHECK_THROWS_WITH(gander::load_world_tokenizer(path), gander::Error, path + ":258: ");
        CHECK_THROWS_WITH(gander::load_world_tokenizer(path), gander::Error, b.message);
    }

    const auto bom = write_vocab("bom.txt", "\xEF\xBB\xBF" + good);
    CHECK(gander::load_world_tokenizer(bom)->vocab_size() == 257);
    const auto crlf =
        write_vocab("crlf.txt", good.substr(0, good.size() - 1) + "\r\n257 'ab' 2\r\n");
    CHECK(gander::load_world_tokenizer(crlf)->encode("ab") == std::vector<std::int32_t>{257});

    const auto dup = write_vocab("dup.txt", good + "257 'ab' 2\n258 b'ab' 2\n");
    CHECK_THROWS_WITH(gander::load_world_tokenizer(dup), gander::Error, "have the same bytes");
    const auto missing_byte = write_vocab("missing.txt", "1 'a' 1\n");
    CHECK_THROWS_WITH(gander::load_world_tokenizer(missing_byte), gander::Error,
                      "no token for the single byte 0x00");
    CHECK_THROWS_WITH(gander::load_world_tokenizer("/nonexistent/vocab.txt"), gander::Error,
                      "/nonexistent/vocab.txt: cannot open");
    CHECK_THROWS_WITH(gander::load_tokenizer("/nonexistent/vocab.txt"), gander::Error,
                      "cannot open");
}

TEST_CASE("bytes tokenizer") {
    const auto tok = gander::make_byte_tokenizer();
    CHECK(tok->vocab_size() == 256);
    CHECK(tok->name() == "bytes");
    const std::string text("a\0\xff", 3);
    const auto ids = tok->encode(text);
    CHECK(ids == (std::vector<std::int32_t>{97, 0, 255}));
    CHECK(tok->decode(ids) == text);
    const std::int32_t bad[] = {256};
    CHECK_THROWS_WITH(tok->decode(bad), gander::Error, "unknown token id 256");
}

namespace {

// Feeds the bytes of `text` one byte token at a time and returns the push() results.
std::vector<std::string> stream_bytes(std::string_view text, std::string* tail = nullptr) {
    const auto tok = gander::make_byte_tokenizer();
    gander::TokenStream stream(*tok);
    std::vector<std::string> out;
    for (char c : text) out.push_back(stream.push(static_cast<unsigned char>(c)));
    const std::string rest = stream.finish();
    if (tail) *tail = rest;
    return out;
}

std::string join(const std::vector<std::string>& parts) {
    std::string s;
    for (const auto& p : parts) s += p;
    return s;
}

} // namespace

TEST_CASE("token stream: characters split across tokens come out whole") {
    const std::string text = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80z"; // a é 中 😀 z
    std::string tail;
    const auto parts = stream_bytes(text, &tail);
    REQUIRE(parts.size() == text.size());
    CHECK(parts[0] == "a");
    CHECK(parts[1].empty());
    CHECK(parts[2] == "\xC3\xA9");
    CHECK(parts[3].empty() && parts[4].empty());
    CHECK(parts[5] == "\xE4\xB8\xAD");
    CHECK(parts[6].empty() && parts[7].empty() && parts[8].empty());
    CHECK(parts[9] == "\xF0\x9F\x98\x80");
    CHECK(parts[10] == "z");
    CHECK(tail.empty());
    for (const auto& p : parts) CHECK(gander::utf8::is_valid(p));
}

TEST_CASE("token stream: invalid bytes become U+FFFD, one per maximal subpart") {
    const std::string R(gander::utf8::kReplacement);
    std::string tail;
    // A lone continuation byte, an overlong lead, a surrogate, a lead cut short by ASCII.
    CHECK(join(stream_bytes("a\x80"
                            "b",
                            &tail)) == "a" + R + "b");
    CHECK(join(stream_bytes("\xC0\xAF", &tail)) == R + R);
    CHECK(join(stream_bytes("\xED\xA0\x80", &tail)) == R + R + R);
    CHECK(join(stream_bytes("\xE4\xB8"
                            "x",
                            &tail)) == R + "x");
    CHECK(join(stream_bytes("\xF4\x90\x80\x80", &tail)) == R + R + R + R);
    CHECK(join(stream_bytes("\xFF", &tail)) == R);
    // An incomplete sequence at the end is held back, and finish() gives one U+FFFD for it.
    const auto parts = stream_bytes("ok\xF0\x9F\x98", &tail);
    CHECK(join(parts) == "ok");
    CHECK(tail == R);
    // finish() resets: the stream is usable again.
    const auto tok = gander::make_byte_tokenizer();
    gander::TokenStream stream(*tok);
    CHECK(stream.push(0xE4).empty());
    CHECK(stream.finish() == R);
    CHECK(stream.push('k') == "k");
    CHECK(stream.finish().empty());
}

TEST_CASE("token stream: World tokens that split characters") {
    const auto& tok = world();
    // Emoji and CJK text are often split into byte tokens by the World vocabulary.
    const std::string text = "Emoji: \xF0\x9F\x98\x80\xF0\x9F\x8E\x89\xF0\x9F\x91\x8D\xF0\x9F\x8F"
                             "\xBD \xE4\xB8\xAD\xE6\x96\x87 done";
    const auto ids = tok.encode(text);
    gander::TokenStream stream(tok);
    std::string all;
    bool held_back = false;
    for (auto id : ids) {
        const std::string piece = stream.push(id);
        CHECK(gander::utf8::is_valid(piece));
        const std::int32_t one[] = {id};
        if (piece.size() != tok.decode(one).size()) held_back = true;
        all += piece;
    }
    all += stream.finish();
    CHECK(all == text);
    CHECK(held_back); // some token did split a character
    CHECK_THROWS_WITH(stream.push(70000), gander::Error, "unknown token id");
}

TEST_CASE("utf8 helpers") {
    std::string s;
    CHECK(gander::utf8::append_code_point(s, 0x10FFFF));
    CHECK(s == "\xF4\x8F\xBF\xBF");
    CHECK(!gander::utf8::append_code_point(s, 0xD800));
    CHECK(!gander::utf8::append_code_point(s, 0x110000));
    CHECK(gander::utf8::sanitize("x\xE2\x82") == "x\xEF\xBF\xBD");
    CHECK(gander::utf8::is_valid("\xE2\x82\xAC"));
    CHECK(!gander::utf8::is_valid("\xE0\x80\x80"));
}

GANDER_TEST_MAIN
