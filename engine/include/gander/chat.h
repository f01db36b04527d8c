// The RWKV-7 G0/G1 chat format, written once for every front end.
//
//   System: <system>\n\nUser: <text>\n\nAssistant: <reply>\n\nUser: ...\n\nAssistant:
//
// `\n\n` separates turns, so message text is cleaned first (CRLF -> LF, runs of blank lines -> one
// newline, surrounding whitespace trimmed). A reply ends at `\n\n` or at token 0.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace gander {

enum class ChatRole { System, User, Assistant };

struct ChatMessage {
    ChatRole role;
    std::string text;
};

std::string_view chat_role_name(ChatRole role); // "System", "User", "Assistant"
// CRLF and lone CR -> LF; blank lines (whitespace-only ones too) removed, so "\n\n" never occurs;
// leading and trailing whitespace trimmed. Indentation inside the text is kept.
std::string clean_chat_text(std::string_view text);
// One turn as the model sees it: "User: <clean text>\n\n".
std::string format_chat_turn(const ChatMessage& message);
// The whole conversation, ending with "Assistant:" so the model writes the next reply.
std::string format_chat_prompt(std::span<const ChatMessage> messages);
// What to feed after a saved state that ends behind a finished reply: the new user turn plus the
// "Assistant:" cue. The state must already hold the reply's closing "\n\n" (feed it if the reply
// ended at token 0 or the stop token was not fed).
std::string format_chat_continuation(std::string_view user_text);

// Watches generated text for the end of the reply.
class ReplyStop {
public:
    // Returns the part of `piece` that belongs to the reply; sets done() when the reply ended.
    // "\n\n" is found even when split across pieces: a trailing "\n" is held back until the next
    // piece shows whether it starts the separator. The single space the model writes right after
    // "Assistant:" belongs to the format and is dropped, so text() is what format_chat_turn
    // expects.
    std::string push(std::string_view piece);
    bool push_token(std::int32_t token) {
        if (token == 0) m_done = true;
        return m_done;
    }
    bool done() const { return m_done; }
    // The reply text so far, without the closing "\n\n".
    const std::string& text() const { return m_text; }

private:
    std::string m_text;
    std::string m_held; // "\n" while a trailing newline waits for the next piece
    bool m_started = false;
    bool m_done = false;
};

} // namespace gander
