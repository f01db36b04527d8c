// UTF-8 helpers shared by the tokenizers, the streaming decoder and the tools.
//
// Validation follows the Unicode standard's "maximal subpart" rule (the one browsers and Python
// use): a sequence that goes wrong is replaced by one U+FFFD per maximal ill-formed prefix, and
// decoding resumes at the first byte that could not belong to it. That way a truncated character
// costs one replacement character, not one per byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gander::utf8 {

inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD"; // U+FFFD

enum class Step {
    Valid,      // `length` bytes form one well-formed code point
    Invalid,    // `length` bytes (at least 1) are a maximal ill-formed subpart
    Incomplete, // the text ends inside a sequence that could still become valid
};

struct StepResult {
    Step step;
    std::size_t length;
};

// Looks at the sequence starting at text[pos] (pos < text.size()).
StepResult next_sequence(std::string_view text, std::size_t pos);

// Appends the UTF-8 encoding of `cp`. Returns false (appending nothing) for surrogates and values
// above U+10FFFF.
bool append_code_point(std::string& out, char32_t cp);

// Whether `text` is entirely well-formed UTF-8.
bool is_valid(std::string_view text);

// `text` with every ill-formed subpart (an incomplete tail included) replaced by U+FFFD.
std::string sanitize(std::string_view text);

// Appends the well-formed prefix of `text` to `out`, invalid parts as U+FFFD, and returns how many
// bytes were consumed: an incomplete sequence at the very end is left unconsumed so that the
// caller can complete it with later bytes.
std::size_t append_complete(std::string& out, std::string_view text);

} // namespace gander::utf8
