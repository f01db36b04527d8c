// A small, strict JSON reader (RFC 8259) and a string escaper for writers.
//
// Used for safetensors headers and test data. Strict on purpose: the inputs come from files we do
// not control, so anything outside the grammar (trailing commas, comments, lone surrogates, control
// characters in strings, invalid UTF-8, numbers that overflow a double, nesting deeper than
// `max_depth`) is an error rather than a guess. Errors throw gander::Error with "JSON: " and the
// line, column and byte offset; callers prefix the file name.
//
// Numbers are kept as a double and, when the value is integral and fits, as an exact int64 (so a
// byte offset of 2^53 + 1 in a safetensors header is not rounded).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gander::io {

class JsonValue {
public:
    enum class Kind : std::uint8_t { Null, Bool, Number, String, Array, Object };
    using Member = std::pair<std::string, JsonValue>;

    JsonValue() = default; // null

    Kind kind() const { return m_kind; }
    bool is_null() const { return m_kind == Kind::Null; }
    bool is_bool() const { return m_kind == Kind::Bool; }
    bool is_number() const { return m_kind == Kind::Number; }
    bool is_string() const { return m_kind == Kind::String; }
    bool is_array() const { return m_kind == Kind::Array; }
    bool is_object() const { return m_kind == Kind::Object; }
    // A number whose value is an integer representable as int64 exactly.
    bool is_int64() const { return m_kind == Kind::Number && m_is_int; }

    // Accessors throw gander::Error when the value is of another kind (as_int64: not an integer).
    bool as_bool() const;
    double as_double() const;
    std::int64_t as_int64() const;
    const std::string& as_string() const;
    // Elements of an array.
    const std::vector<JsonValue>& items() const;
    // Members of an object, in file order. Duplicate keys are rejected by the parser.
    const std::vector<Member>& members() const;
    // The member named `key`, or nullptr (also nullptr when this is not an object).
    const JsonValue* get(std::string_view key) const;
    // Elements of an array or members of an object; 0 for scalars.
    std::size_t size() const;

    static std::string_view kind_name(Kind kind); // "null", "boolean", "number", ...

private:
    friend class JsonParser;

    Kind m_kind = Kind::Null;
    bool m_bool = false;
    bool m_is_int = false;
    std::int64_t m_int = 0;
    double m_double = 0.0;
    std::string m_string;
    std::vector<JsonValue> m_items;
    std::vector<Member> m_members;
};

// Parses one JSON value (surrounding whitespace allowed, nothing else after it).
JsonValue parse_json(std::string_view text, int max_depth = 128);

// `text` as the inside of a JSON string literal (no quotes added): escapes `"`, `\` and control
// characters; other bytes, UTF-8 included, pass through unchanged.
std::string json_escape(std::string_view text);

} // namespace gander::io
