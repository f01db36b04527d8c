// The RWKV-7 G0/G1 chat format: text cleaning, prompt layout, and finding the end of a reply in
// streamed text (including a "\n\n" split across pieces).
#include "check.h"

#include "gander/chat.h"

#include <string>
#include <vector>

using gander::ChatMessage;
using gander::ChatRole;

TEST_CASE("role names") {
    CHECK(gander::chat_role_name(ChatRole::System) == "System");
    CHECK(gander::chat_role_name(ChatRole::User) == "User");
    CHECK(gander::chat_role_name(ChatRole::Assistant) == "Assistant");
}

TEST_CASE("cleaning: line ends, blank lines, surrounding whitespace") {
    using gander::clean_chat_text;
    CHECK(clean_chat_text("a\r\nb") == "a\nb");
    CHECK(clean_chat_text("a\rb") == "a\nb");
    CHECK(clean_chat_text("a\r\rb") == "a\nb"); // two lone CRs are a blank line
    CHECK(clean_chat_text("a\n\nb") == "a\nb");
    CHECK(clean_chat_text("a\n\n\n\nb") == "a\nb");
    CHECK(clean_chat_text("a\r\n\r\nb") == "a\nb");
    CHECK(clean_chat_text("a\n  \t\nb") == "a\nb"); // a whitespace-only line is blank too
    CHECK(clean_chat_text("  \n\n hello \n\n") == "hello");
    CHECK(clean_chat_text("") == "");
    CHECK(clean_chat_text(" \r\n\t ") == "");
    // Indentation inside the text is kept (code), only the ends are trimmed.
    CHECK(clean_chat_text("def f():\n    return 1\n\n\nprint(f())") ==
          "def f():\n    return 1\nprint(f())");
    CHECK(clean_chat_text("x  y") == "x  y");
    // UTF-8 passes through untouched.
    CHECK(clean_chat_text("\xE4\xBD\xA0\xE5\xA5\xBD\n\n\xF0\x9F\x98\x80") ==
          "\xE4\xBD\xA0\xE5\xA5\xBD\n\xF0\x9F\x98\x80");
    // The result never holds the turn separator.
    const char* nasty[] = {"\n\n\n", "a\r\n\r\n\r\nb", "a\n\r\nb", "a\r\n\nb", "\r\r\r"};
    for (const char* t : nasty) CHECK(clean_chat_text(t).find("\n\n") == std::string::npos);
}

TEST_CASE("turns and prompts") {
    CHECK(gander::format_chat_turn({ChatRole::User, "hi"}) == "User: hi\n\n");
    CHECK(gander::format_chat_turn({ChatRole::User, "a\r\n\r\nb "}) == "User: a\nb\n\n");
    CHECK(gander::format_chat_turn({ChatRole::Assistant, " Hello."}) == "Assistant: Hello.\n\n");
    CHECK(gander::format_chat_turn({ChatRole::User, "  "}) == "User:\n\n");

    const std::vector<ChatMessage> conversation{
        {ChatRole::System, "You are helpful."},
        {ChatRole::User, "What is 2+2?"},
        {ChatRole::Assistant, "4."},
        {ChatRole::User, "And 3+3?\n\n\nThanks."},
    };
    CHECK(gander::format_chat_prompt(conversation) ==
          "System: You are helpful.\n\nUser: What is 2+2?\n\nAssistant: 4.\n\n"
          "User: And 3+3?\nThanks.\n\nAssistant:");

    // No system prompt, or an empty one: the prompt starts with the user.
    const std::vector<ChatMessage> plain{{ChatRole::System, " \n "}, {ChatRole::User, "hi"}};
    CHECK(gander::format_chat_prompt(plain) == "User: hi\n\nAssistant:");
    CHECK(gander::format_chat_prompt({}) == "Assistant:");

    // Continuing from a saved state that ends after "...reply\n\n".
    CHECK(gander::format_chat_continuation("next?\r\n") == "User: next?\n\nAssistant:");
    // The continuation is exactly the tail of the full prompt.
    const std::string full = gander::format_chat_prompt(conversation);
    const std::string head = gander::format_chat_prompt(
        std::span<const ChatMessage>(conversation.data(), conversation.size() - 1));
    const std::string prefix = head.substr(0, head.size() - std::string("Assistant:").size());
    CHECK(prefix + gander::format_chat_continuation(conversation.back().text) == full);
}

namespace {

// Pushes `pieces` and returns what push() gave back, concatenated.
std::string feed(gander::ReplyStop& stop, const std::vector<std::string>& pieces) {
    std::string out;
    for (const auto& p : pieces) out += stop.push(p);
    return out;
}

} // namespace

TEST_CASE("reply stop: the leading space and the closing blank line") {
    gander::ReplyStop stop;
    CHECK(feed(stop, {" Hello", ", world.", "\n\n", "User: more"}) == "Hello, world.");
    CHECK(stop.done());
    CHECK(stop.text() == "Hello, world.");
    CHECK(stop.push("anything").empty()); // after the end, nothing more belongs to the reply
}

TEST_CASE("reply stop: a \\n\\n split across pieces") {
    gander::ReplyStop a;
    CHECK(a.push(" One line.\n").empty() == false);
    CHECK(a.text() == "One line."); // the trailing "\n" is held back
    CHECK(!a.done());
    CHECK(a.push("\nUser:").empty());
    CHECK(a.done());
    CHECK(a.text() == "One line.");

    // A held "\n" that turns out to be a line break comes out with the next piece.
    gander::ReplyStop b;
    CHECK(b.push(" Line 1\n") == "Line 1");
    CHECK(b.push("Line 2") == "\nLine 2");
    CHECK(b.push("\n") == "");
    CHECK(b.push("\n") == "");
    CHECK(b.done());
    CHECK(b.text() == "Line 1\nLine 2");

    // Byte by byte.
    gander::ReplyStop c;
    const std::string stream = " a\nb\n\nc";
    std::string got;
    for (char ch : stream) got += c.push(std::string(1, ch));
    CHECK(got == "a\nb");
    CHECK(c.text() == "a\nb");
    CHECK(c.done());

    // The separator inside one piece, with text on both sides.
    gander::ReplyStop d;
    CHECK(d.push(" end.\n\nUser: x") == "end.");
    CHECK(d.done());
}

TEST_CASE("reply stop: leading space only once; empty pieces; token 0") {
    gander::ReplyStop a;
    CHECK(a.push("").empty());
    CHECK(a.push(" ").empty());
    CHECK(a.push(" indented") == " indented"); // the second space is the reply's
    CHECK(a.text() == " indented");

    gander::ReplyStop b;
    CHECK(b.push("No space") == "No space");

    gander::ReplyStop c;
    CHECK(!c.push_token(42));
    CHECK(c.push(" partial") == "partial");
    CHECK(c.push_token(0));
    CHECK(c.done());
    CHECK(c.push(" more").empty());
    CHECK(c.text() == "partial");

    // A reply that is only the separator is an empty reply.
    gander::ReplyStop d;
    CHECK(d.push("\n\n").empty());
    CHECK(d.done());
    CHECK(d.text().empty());
}

GANDER_TEST_MAIN
