// The strict JSON reader and escaper declared in json.h: a recursive-descent parser over a
// string_view with an explicit depth bound, so hostile input can neither overflow the stack nor
// make it read past the end.
#include "io/json.h"

#include "gander/gander.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <system_error>
#include <unordered_set>

namespace gander::io {

namespace {

[[noreturn]] void kind_error(const char* wanted, JsonValue::Kind got) {
    throw Error(std::string("JSON: expected ") + wanted + ", got " +
                std::string(JsonValue::kind_name(got)));
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

} // namespace

std::string_view JsonValue::kind_name(Kind kind) {
    switch (kind) {
    case Kind::Null:
        return "null";
    case Kind::Bool:
        return "boolean";
    case Kind::Number:
        return "number";
    case Kind::String:
        return "string";
    case Kind::Array:
        return "array";
    case Kind::Object:
        return "object";
    }
    return "?";
}

bool JsonValue::as_bool() const {
    if (m_kind != Kind::Bool) kind_error("a boolean", m_kind);
    return m_bool;
}

double JsonValue::as_double() const {
    if (m_kind != Kind::Number) kind_error("a number", m_kind);
    return m_double;
}

std::int64_t JsonValue::as_int64() const {
    if (m_kind != Kind::Number) kind_error("an integer", m_kind);
    if (!m_is_int) throw Error("JSON: number is not an integer that fits in 64 bits");
    return m_int;
}

const std::string& JsonValue::as_string() const {
    if (m_kind != Kind::String) kind_error("a string", m_kind);
    return m_string;
}

const std::vector<JsonValue>& JsonValue::items() const {
    if (m_kind != Kind::Array) kind_error("an array", m_kind);
    return m_items;
}

const std::vector<JsonValue::Member>& JsonValue::members() const {
    if (m_kind != Kind::Object) kind_error("an object", m_kind);
    return m_members;
}

const JsonValue* JsonValue::get(std::string_view key) const {
    if (m_kind != Kind::Object) return nullptr;
    for (const auto& [name, value] : m_members)
        if (name == key) return &value;
    return nullptr;
}

std::size_t JsonValue::size() const {
    if (m_kind == Kind::Array) return m_items.size();
    if (m_kind == Kind::Object) return m_members.size();
    return 0;
}

class JsonParser {
public:
    JsonParser(std::string_view text, int max_depth) : m_text(text), m_max_depth(max_depth) {}

    JsonValue parse_document() {
        skip_ws();
        JsonValue v = parse_value(0);
        skip_ws();
        if (m_pos != m_text.size()) fail("unexpected data after the value");
        return v;
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        // Line and column help a person fixing a hand-written file; the offset helps with binary
        // headers where "line 1" says nothing.
        std::size_t line = 1, col = 1;
        for (std::size_t i = 0; i < m_pos && i < m_text.size(); ++i) {
            if (m_text[i] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        throw Error("JSON: " + what + " at line " + std::to_string(line) + ", column " +
                    std::to_string(col) + " (offset " + std::to_string(m_pos) + ")");
    }

    bool at_end() const { return m_pos >= m_text.size(); }
    char peek() const { return at_end() ? '\0' : m_text[m_pos]; }

    void skip_ws() {
        while (!at_end()) {
            char c = m_text[m_pos];
            if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
            ++m_pos;
        }
    }

    void expect_literal(std::string_view word) {
        if (m_text.substr(m_pos, word.size()) != word) fail("invalid literal");
        m_pos += word.size();
    }

    JsonValue parse_value(int depth) {
        if (at_end()) fail("unexpected end of input");
        JsonValue v;
        switch (peek()) {
        case '{':
            return parse_object(depth + 1);
        case '[':
            return parse_array(depth + 1);
        case '"':
            v.m_kind = JsonValue::Kind::String;
            v.m_string = parse_string();
            return v;
        case 't':
            expect_literal("true");
            v.m_kind = JsonValue::Kind::Bool;
            v.m_bool = true;
            return v;
        case 'f':
            expect_literal("false");
            v.m_kind = JsonValue::Kind::Bool;
            return v;
        case 'n':
            expect_literal("null");
            return v;
        default:
            if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
            fail(std::string("unexpected character '") + printable(peek()) + "'");
        }
    }

    static std::string printable(char c) {
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) return std::string(1, c);
        static const char* hex = "0123456789abcdef";
        return std::string("\\x") + hex[u >> 4] + hex[u & 15];
    }

    void enter(int depth) {
        if (depth > m_max_depth)
            fail("nesting deeper than " + std::to_string(m_max_depth) + " levels");
    }

    JsonValue parse_object(int depth) {
        enter(depth);
        ++m_pos; // '{'
        JsonValue v;
        v.m_kind = JsonValue::Kind::Object;
        std::unordered_set<std::string> seen;
        skip_ws();
        if (peek() == '}') {
            ++m_pos;
            return v;
        }
        for (;;) {
            skip_ws();
            if (peek() != '"') fail("expected a string key");
            std::size_t key_pos = m_pos;
            std::string key = parse_string();
            skip_ws();
            if (peek() != ':') fail("expected ':'");
            ++m_pos;
            skip_ws();
            JsonValue value = parse_value(depth);
            v.m_members.emplace_back(std::move(key), std::move(value));
            // Duplicate keys make a file mean different things to different readers.
            if (!seen.insert(v.m_members.back().first).second) {
                m_pos = key_pos;
                fail("duplicate key \"" + json_escape(v.m_members.back().first) + "\"");
            }
            skip_ws();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == '}') {
                ++m_pos;
                return v;
            }
            fail(at_end() ? "unexpected end of input in an object" : "expected ',' or '}'");
        }
    }

    JsonValue parse_array(int depth) {
        enter(depth);
        ++m_pos; // '['
        JsonValue v;
        v.m_kind = JsonValue::Kind::Array;
        skip_ws();
        if (peek() == ']') {
            ++m_pos;
            return v;
        }
        for (;;) {
            skip_ws();
            v.m_items.push_back(parse_value(depth));
            skip_ws();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == ']') {
                ++m_pos;
                return v;
            }
            fail(at_end() ? "unexpected end of input in an array" : "expected ',' or ']'");
        }
    }

    std::uint32_t parse_hex4() {
        if (m_text.size() - m_pos < 4) fail("truncated \\u escape");
        std::uint32_t cp = 0;
        for (int i = 0; i < 4; ++i) {
            char c = m_text[m_pos++];
            cp <<= 4;
            if (c >= '0' && c <= '9')
                cp |= static_cast<std::uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                cp |= static_cast<std::uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                cp |= static_cast<std::uint32_t>(c - 'A' + 10);
            else
                fail("invalid hex digit in \\u escape");
        }
        return cp;
    }

    // Copies one UTF-8 sequence starting at m_pos, rejecting overlong forms, surrogates and code
    // points past U+10FFFF (the same rules as RFC 3629).
    void copy_utf8(std::string& out) {
        auto byte = [&](std::size_t i) { return static_cast<unsigned char>(m_text[m_pos + i]); };
        unsigned char b0 = byte(0);
        std::size_t len;
        std::uint32_t min_cp;
        if (b0 >= 0xC2 && b0 <= 0xDF)
            len = 2, min_cp = 0x80;
        else if (b0 >= 0xE0 && b0 <= 0xEF)
            len = 3, min_cp = 0x800;
        else if (b0 >= 0xF0 && b0 <= 0xF4)
            len = 4, min_cp = 0x10000;
        else
            fail("invalid UTF-8 in a string");
        if (m_text.size() - m_pos < len) fail("truncated UTF-8 sequence in a string");
        std::uint32_t cp = b0 & (0x7F >> len);
        for (std::size_t i = 1; i < len; ++i) {
            if ((byte(i) & 0xC0) != 0x80) fail("invalid UTF-8 in a string");
            cp = (cp << 6) | (byte(i) & 0x3F);
        }
        if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            fail("invalid UTF-8 in a string");
        out.append(m_text.substr(m_pos, len));
        m_pos += len;
    }

    std::string parse_string() {
        ++m_pos; // opening quote
        std::string out;
        for (;;) {
            if (at_end()) fail("unterminated string");
            auto c = static_cast<unsigned char>(m_text[m_pos]);
            if (c == '"') {
                ++m_pos;
                return out;
            }
            if (c < 0x20) fail("control character in a string");
            if (c >= 0x80) {
                copy_utf8(out);
                continue;
            }
            if (c != '\\') {
                out += static_cast<char>(c);
                ++m_pos;
                continue;
            }
            ++m_pos;
            if (at_end()) fail("unterminated escape");
            char e = m_text[m_pos++];
            switch (e) {
            case '"':
                out += '"';
                break;
            case '\\':
                out += '\\';
                break;
            case '/':
                out += '/';
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                std::uint32_t cp = parse_hex4();
                if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (m_text.substr(m_pos, 2) != "\\u") fail("lone high surrogate in \\u escape");
                    m_pos += 2;
                    std::uint32_t lo = parse_hex4();
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        fail("high surrogate not followed by a low one");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                append_utf8(out, cp);
                break;
            }
            default:
                --m_pos;
                fail("invalid escape '\\" + printable(e) + "'");
            }
        }
    }

    // Roughly log10(|x|) of a well-formed number token, saturating: enough to tell a huge number
    // from a tiny one.
    static long decimal_magnitude(std::string_view token) {
        long mag = 0;
        bool seen_nonzero = false, after_point = false;
        std::size_t i = 0;
        if (i < token.size() && token[i] == '-') ++i;
        for (; i < token.size() && token[i] != 'e' && token[i] != 'E'; ++i) {
            char c = token[i];
            if (c == '.') {
                after_point = true;
            } else if (!seen_nonzero && c != '0') {
                seen_nonzero = true;
                if (after_point) mag = -mag - 1;
            } else if (!seen_nonzero && after_point) {
                ++mag; // leading zeros after the point count down later
            } else if (seen_nonzero && !after_point) {
                ++mag;
            }
        }
        if (!seen_nonzero) return -1000000;
        long exp = 0, sign = 1;
        if (i < token.size()) {
            ++i;
            if (i < token.size() && (token[i] == '+' || token[i] == '-'))
                sign = token[i++] == '-' ? -1 : 1;
            for (; i < token.size(); ++i) exp = std::min(exp * 10 + (token[i] - '0'), 1000000L);
        }
        return mag + sign * exp;
    }

    JsonValue parse_number() {
        std::size_t start = m_pos;
        auto digits = [&] {
            std::size_t n = 0;
            while (!at_end() && m_text[m_pos] >= '0' && m_text[m_pos] <= '9') ++m_pos, ++n;
            return n;
        };
        if (peek() == '-') ++m_pos;
        if (peek() == '0') {
            ++m_pos;
            if (peek() >= '0' && peek() <= '9') fail("leading zero in a number");
        } else if (digits() == 0) {
            fail("expected a digit");
        }
        bool integral_syntax = true;
        if (peek() == '.') {
            ++m_pos;
            integral_syntax = false;
            if (digits() == 0) fail("expected a digit after '.'");
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_pos;
            integral_syntax = false;
            if (peek() == '+' || peek() == '-') ++m_pos;
            if (digits() == 0) fail("expected a digit in the exponent");
        }
        std::string_view token = m_text.substr(start, m_pos - start);

        JsonValue v;
        v.m_kind = JsonValue::Kind::Number;
        const char* first = token.data();
        const char* last = token.data() + token.size();
        auto [end_d, ec_d] = std::from_chars(first, last, v.m_double);
        if (ec_d == std::errc::result_out_of_range) {
            // from_chars leaves the value untouched either way, so tell underflow (harmless: zero)
            // from overflow (infinity is not a JSON number) by the decimal magnitude of the text.
            if (decimal_magnitude(token) > 0) {
                m_pos = start;
                fail("number out of range");
            }
            v.m_double = 0.0;
        } else if (ec_d != std::errc() || end_d != last) {
            m_pos = start;
            fail("malformed number");
        }
        if (integral_syntax) {
            auto [end_i, ec_i] = std::from_chars(first, last, v.m_int);
            v.m_is_int = ec_i == std::errc() && end_i == last;
        } else if (std::nearbyint(v.m_double) == v.m_double &&
                   v.m_double >= -9.2233720368547758e18 && v.m_double < 9.2233720368547758e18) {
            v.m_int = static_cast<std::int64_t>(v.m_double);
            v.m_is_int = true;
        }
        return v;
    }

    std::string_view m_text;
    int m_max_depth;
    std::size_t m_pos = 0;
};

JsonValue parse_json(std::string_view text, int max_depth) {
    return JsonParser(text, max_depth).parse_document();
}

std::string json_escape(std::string_view text) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(text.size() + 2);
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 15];
            } else {
                out += ch;
            }
        }
    }
    return out;
}

} // namespace gander::io
