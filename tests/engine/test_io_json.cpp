// The strict JSON reader and the escaper: values of every kind, every escape, exact int64s, the
// errors RFC 8259 calls for (with their positions), the depth limit, and a round trip through
// json_escape. Also reads the tokenizer fixture, a real file another test depends on.
#include "check.h"
#include "io_test_files.h"

#include "gander/gander.h"
#include "io/json.h"

#include <cmath>
#include <limits>

using namespace gander::io;
using gander::test::fixture;
using gander::test::iofiles::has;
using namespace std::string_literals;

namespace {

std::string error_of(std::string_view text, int depth = 128) {
    try {
        parse_json(text, depth);
    } catch (const gander::Error& e) {
        return e.what();
    }
    return "no error";
}

} // namespace

TEST_CASE("json: values of every kind, members in order") {
    auto v = parse_json(R"( {"z": 1, "a": [true, false, null, "s", -0.5, {}], "m": {"k": []}} )");
    REQUIRE(v.is_object());
    CHECK(v.size() == 3);
    CHECK(v.members()[0].first == "z");
    CHECK(v.members()[1].first == "a");
    CHECK(v.members()[2].first == "m");
    const auto& a = v.get("a")->items();
    REQUIRE(a.size() == 6);
    CHECK(a[0].is_bool() && a[0].as_bool());
    CHECK(a[1].is_bool() && !a[1].as_bool());
    CHECK(a[2].is_null());
    CHECK(a[3].is_string() && a[3].as_string() == "s");
    CHECK(a[4].is_number() && a[4].as_double() == -0.5 && !a[4].is_int64());
    CHECK(a[5].is_object() && a[5].size() == 0);
    CHECK(v.get("m")->get("k")->is_array());
    CHECK(v.get("nope") == nullptr);
    CHECK(a[0].get("x") == nullptr); // get on a non-object
    CHECK(a[3].size() == 0);
    CHECK_THROWS_WITH(a[3].as_int64(), gander::Error, "JSON: expected an integer, got string");
    CHECK_THROWS_WITH(a[0].items(), gander::Error, "expected an array, got boolean");
    CHECK_THROWS_WITH(v.as_string(), gander::Error, "expected a string, got object");
    CHECK_THROWS_WITH(a[2].members(), gander::Error, "expected an object, got null");
    CHECK_THROWS_WITH(a[3].as_double(), gander::Error, "expected a number, got string");
    CHECK_THROWS_WITH(a[2].as_bool(), gander::Error, "expected a boolean, got null");
    CHECK(parse_json("  7 ").as_int64() == 7);
    CHECK(parse_json("\"\"").as_string().empty());
}

TEST_CASE("json: numbers, exact when integral") {
    CHECK(parse_json("9007199254740993").as_int64() == 9007199254740993ll); // 2^53 + 1
    CHECK(parse_json("9223372036854775807").as_int64() == std::numeric_limits<std::int64_t>::max());
    CHECK(parse_json("-9223372036854775808").as_int64() ==
          std::numeric_limits<std::int64_t>::min());
    auto big = parse_json("9223372036854775808"); // one past int64: a double only
    CHECK(!big.is_int64());
    CHECK(big.as_double() == 9223372036854775808.0);
    CHECK_THROWS_WITH(big.as_int64(), gander::Error, "not an integer that fits in 64 bits");
    CHECK(parse_json("1e3").as_int64() == 1000);
    CHECK(parse_json("2.0").as_int64() == 2);
    CHECK(parse_json("-0").as_int64() == 0);
    CHECK(!parse_json("1.5").is_int64());
    CHECK(parse_json("1.5e-3").as_double() == 1.5e-3);
    CHECK(parse_json("-12.25E+2").as_double() == -1225.0);
    CHECK(parse_json("1e-400").as_double() == 0.0); // underflow is harmless
    CHECK(parse_json("0.0000000000000000000000000000000000000000000000000000000000000000000000"
                     "0000000000000000000000000000000000000000000000000000000000000000000000"
                     "0000000000000000000000000000000000000000000000000000000000000000000000"
                     "0000000000000000000000000000000000000000000000000000000000000000000000"
                     "0000000000000000000000000000000000000000000000000000000000000000000000"
                     "1")
              .as_double() == 0.0);
    CHECK(has(error_of("1e400"), "number out of range"));
    CHECK(has(error_of("-1e400"), "number out of range"));
    CHECK(has(error_of("1" + std::string(400, '0')), "number out of range"));
    CHECK(has(error_of("01"), "leading zero"));
    CHECK(has(error_of("-"), "expected a digit"));
    CHECK(has(error_of("1."), "expected a digit after '.'"));
    CHECK(has(error_of(".5"), "unexpected character '.'"));
    CHECK(has(error_of("1e"), "expected a digit in the exponent"));
    CHECK(has(error_of("+1"), "unexpected character '+'"));
    CHECK(has(error_of("0x10"), "unexpected data after the value"));
    CHECK(has(error_of("NaN"), "unexpected character 'N'"));
    CHECK(has(error_of("Infinity"), "unexpected character 'I'"));
}

TEST_CASE("json: strings and every escape") {
    CHECK(parse_json(R"("\" \\ \/ \b \f \n \r \t")").as_string() == "\" \\ / \b \f \n \r \t");
    CHECK(parse_json(R"("\u0041\u00e9\u20AC")").as_string() == "A\xc3\xa9\xe2\x82\xac");
    CHECK(parse_json(R"("\ud83d\ude00")").as_string() == "\xf0\x9f\x98\x80"); // U+1F600
    CHECK(parse_json(R"("\uDBFF\uDFFF")").as_string() == "\xf4\x8f\xbf\xbf"); // U+10FFFF
    CHECK(parse_json(R"("\u0000")").as_string() == "\0"s);
    CHECK(parse_json("\"é 😀 中\"").as_string() == "é 😀 中"); // raw UTF-8 passes through
    CHECK(has(error_of(R"("\ud800")"), "lone high surrogate"));
    CHECK(has(error_of(R"("\ud800\u0041")"), "high surrogate not followed by a low one"));
    CHECK(has(error_of(R"("\udc00")"), "lone low surrogate"));
    CHECK(has(error_of(R"("\u12")"), "truncated \\u escape"));
    CHECK(has(error_of(R"("\u12G4")"), "invalid hex digit"));
    CHECK(has(error_of(R"("\x")"), "invalid escape '\\x'"));
    CHECK(has(error_of(R"("\')"), "invalid escape"));
    CHECK(has(error_of("\"a\nb\""), "control character in a string"));
    CHECK(has(error_of("\"a\tb\""), "control character in a string"));
    CHECK(has(error_of("\"abc"), "unterminated string"));
    CHECK(has(error_of("\"abc\\"), "unterminated escape"));
    CHECK(has(error_of("\"\xff\""), "invalid UTF-8"));
    CHECK(has(error_of("\"\xc0\xaf\""), "invalid UTF-8"));         // overlong '/'
    CHECK(has(error_of("\"\xed\xa0\x80\""), "invalid UTF-8"));     // an encoded surrogate
    CHECK(has(error_of("\"\xf4\x90\x80\x80\""), "invalid UTF-8")); // past U+10FFFF
    CHECK(has(error_of("\"\xe2\x82\""), "invalid UTF-8"));
    CHECK(has(error_of("\"\xe2\x82"), "truncated UTF-8"));
}

TEST_CASE("json: structure errors name the position") {
    CHECK(has(error_of(""), "JSON: unexpected end of input at line 1, column 1 (offset 0)"));
    CHECK(has(error_of("[1,]"), "unexpected character ']' at line 1, column 4 (offset 3)"));
    CHECK(
        has(error_of("{\n  \"a\": 1,\n  \"a\": 2\n}"), "duplicate key \"a\" at line 3, column 3"));
    CHECK(has(error_of("{\"a\" 1}"), "expected ':'"));
    CHECK(has(error_of("{1: 2}"), "expected a string key"));
    CHECK(has(error_of("{\"a\": 1,}"), "expected a string key"));
    CHECK(has(error_of("{\"a\": 1"), "unexpected end of input in an object"));
    CHECK(has(error_of("{\"a\": 1 \"b\": 2}"), "expected ',' or '}'"));
    CHECK(has(error_of("[1 2]"), "expected ',' or ']'"));
    CHECK(has(error_of("[1"), "unexpected end of input in an array"));
    CHECK(has(error_of("tru"), "invalid literal"));
    CHECK(has(error_of("nul"), "invalid literal"));
    CHECK(has(error_of("[] []"), "unexpected data after the value"));
    CHECK(has(error_of("// c\n1"), "unexpected character '/'"));
    CHECK(has(error_of("\x01"), "unexpected character '\\x01'"));
}

TEST_CASE("json: depth limit, and deep input never overflows the stack") {
    auto nested = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
    CHECK(parse_json(nested(128)).is_array());
    CHECK(has(error_of(nested(129)), "nesting deeper than 128 levels"));
    CHECK(has(error_of(nested(5), 4), "nesting deeper than 4 levels"));
    CHECK(has(error_of(std::string(1000000, '[')), "nesting deeper than 128 levels"));
    std::string objects;
    for (int i = 0; i < 200; ++i) objects += "{\"a\":";
    CHECK(has(error_of(objects), "nesting deeper"));
}

TEST_CASE("json: json_escape round-trips every byte string that is valid UTF-8") {
    std::string all_ascii;
    for (int c = 0; c < 128; ++c) all_ascii += static_cast<char>(c);
    const std::string samples[] = {all_ascii,
                                   "",
                                   "plain",
                                   "quote \" backslash \\ slash /",
                                   "é 😀 中 \xf4\x8f\xbf\xbf",
                                   "\x7f\x1f\x01\b\f\n\r\t"};
    for (const auto& s : samples) {
        std::string escaped = json_escape(s);
        for (char c : escaped) CHECK(static_cast<unsigned char>(c) >= 0x20);
        CHECK(parse_json("\"" + escaped + "\"").as_string() == s);
    }
    CHECK(json_escape("a\"b") == "a\\\"b");
    CHECK(json_escape("\x01") == "\\u0001");
    CHECK(json_escape("\n") == "\\n");
}

TEST_CASE("json: the tokenizer fixture") {
    auto text = gander::test::iofiles::read_file(fixture("tokenizer/tokenizer-cases.json"));
    auto v = parse_json(text);
    CHECK(v.get("vocab")->as_string() == "rwkv_vocab_v20230424.txt");
    const auto& cases = v.get("cases")->items();
    REQUIRE(cases.size() >= 30);
    CHECK(cases[0].get("bytes_b64")->as_string().starts_with("SSdsbCAnZCB0ZXN0"));
    CHECK(cases[0].get("text")->as_string() ==
          "I'll 'd test блабла 以下は、]) -> <|endoftext|><|padding|> int");
    const auto& ids = cases[0].get("ids")->items();
    REQUIRE(ids.size() == 28);
    CHECK(ids[0].as_int64() == 74);
    CHECK(ids[1].as_int64() == 5229);
    CHECK(ids.back().as_int64() == 21888);
    // Every truncation of the file is an error, never a crash or a partial value.
    for (std::size_t cut = 0; cut + 1 < text.size(); cut += 7) {
        std::string what = error_of(std::string_view(text).substr(0, cut));
        CHECK_MSG(what != "no error", "truncation at " << cut << " was accepted");
    }
}

GANDER_TEST_MAIN
