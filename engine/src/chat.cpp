// The RWKV-7 G0/G1 chat format: turning messages into prompt text, and finding where a reply ends.
//
// The models were trained on "Role: text" turns separated by one blank line, so a blank line inside
// a message would read as the end of the turn. clean_chat_text removes them; ReplyStop watches the
// generated text for the blank line that ends the reply.
#include "gander/chat.h"

namespace gander {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

constexpr std::string_view kSeparator = "\n\n";

} // namespace

std::string_view chat_role_name(ChatRole role) {
    switch (role) {
    case ChatRole::System:
        return "System";
    case ChatRole::User:
        return "User";
    case ChatRole::Assistant:
        return "Assistant";
    }
    return "User";
}

std::string clean_chat_text(std::string_view text) {
    // Line ends first, so that the rest only deals with "\n".
    std::string lf;
    lf.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\r') {
            lf.push_back('\n');
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else {
            lf.push_back(text[i]);
        }
    }

    // Drop blank lines (whitespace-only ones too: "\n  \n" looks like a turn break to the reader
    // and is nearly one to the model). Inner whitespace of the other lines, indentation included,
    // is kept.
    std::string out;
    out.reserve(lf.size());
    std::size_t start = 0;
    while (start <= lf.size()) {
        std::size_t end = lf.find('\n', start);
        if (end == std::string::npos) end = lf.size();
        const std::string_view line(lf.data() + start, end - start);
        bool blank = true;
        for (char c : line)
            if (!is_blank(c)) {
                blank = false;
                break;
            }
        if (!blank) {
            if (!out.empty()) out.push_back('\n');
            out.append(line);
        }
        start = end + 1;
    }

    std::size_t b = 0, e = out.size();
    while (b < e && is_blank(out[b])) ++b;
    while (e > b && is_blank(out[e - 1])) --e;
    return out.substr(b, e - b);
}

std::string format_chat_turn(const ChatMessage& message) {
    std::string out(chat_role_name(message.role));
    out.push_back(':');
    const std::string text = clean_chat_text(message.text);
    if (!text.empty()) {
        out.push_back(' ');
        out += text;
    }
    out += kSeparator;
    return out;
}

std::string format_chat_prompt(std::span<const ChatMessage> messages) {
    std::string out;
    for (const auto& m : messages) {
        // An empty system prompt is no system prompt; other empty turns keep their place.
        if (m.role == ChatRole::System && clean_chat_text(m.text).empty()) continue;
        out += format_chat_turn(m);
    }
    out += "Assistant:";
    return out;
}

std::string format_chat_continuation(std::string_view user_text) {
    std::string out = format_chat_turn({ChatRole::User, std::string(user_text)});
    out += "Assistant:";
    return out;
}

std::string ReplyStop::push(std::string_view piece) {
    if (m_done) return {};
    // m_held is "\n" when the last piece ended in one: whether it starts the separator depends on
    // what comes next.
    std::string text = m_held + std::string(piece);
    m_held.clear();
    if (!m_started) {
        // The model writes "Assistant: reply"; the space belongs to the format, not to the reply.
        if (text.empty()) return {};
        m_started = true;
        if (text.front() == ' ') text.erase(0, 1);
    }
    if (const auto end = text.find(kSeparator); end != std::string::npos) {
        text.resize(end);
        m_done = true;
    } else if (!text.empty() && text.back() == '\n') {
        text.pop_back();
        m_held = "\n";
    }
    m_text += text;
    return text;
}

} // namespace gander
