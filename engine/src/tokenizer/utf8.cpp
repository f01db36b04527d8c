// UTF-8 validation and repair for the tokenizers (see utf8.h for the replacement rule).
#include "tokenizer/utf8.h"

namespace gander::utf8 {

namespace {

bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

} // namespace

StepResult next_sequence(std::string_view text, std::size_t pos) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data()) + pos;
    const std::size_t avail = text.size() - pos;
    const unsigned char lead = s[0];
    if (lead < 0x80) return {Step::Valid, 1};

    // The allowed range of the second byte depends on the lead byte: it is what excludes overlong
    // forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
    std::size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 3;
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 4;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    } else {
        return {Step::Invalid, 1}; // 80..C1, F5..FF never start a sequence
    }

    for (std::size_t i = 1; i < need; ++i) {
        if (i >= avail) return {Step::Incomplete, avail};
        const unsigned char c = s[i];
        const bool ok = i == 1 ? (c >= lo && c <= hi) : is_continuation(c);
        if (!ok) return {Step::Invalid, i};
    }
    return {Step::Valid, need};
}

bool append_code_point(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        if (cp >= 0xD800 && cp <= 0xDFFF) return false;
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp <= 0x10FFFF) {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        return false;
    }
    return true;
}

bool is_valid(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) {
        const auto r = next_sequence(text, pos);
        if (r.step != Step::Valid) return false;
        pos += r.length;
    }
    return true;
}

std::size_t append_complete(std::string& out, std::string_view text) {
    std::size_t pos = 0;
    std::size_t run = 0; // start of the current run of valid bytes, copied in one go
    while (pos < text.size()) {
        const auto r = next_sequence(text, pos);
        if (r.step == Step::Valid) {
            pos += r.length;
            continue;
        }
        out.append(text.substr(run, pos - run));
        if (r.step == Step::Incomplete) return pos;
        out.append(kReplacement);
        pos += r.length;
        run = pos;
    }
    out.append(text.substr(run, pos - run));
    return pos;
}

std::string sanitize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    const std::size_t used = append_complete(out, text);
    if (used < text.size()) out.append(kReplacement);
    return out;
}

} // namespace gander::utf8
