// Tokenizers: text (raw bytes) <-> token ids.
//
// Threads: a loaded Tokenizer is immutable; encode/decode may be called from any thread.
// A TokenStream belongs to one thread at a time. Errors throw gander::Error.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gander {

class Tokenizer {
public:
    virtual ~Tokenizer() = default;
    virtual std::vector<std::int32_t> encode(std::string_view bytes) const = 0;
    // Concatenated bytes of the tokens (not necessarily valid UTF-8). Throws on an unknown id.
    virtual std::string decode(std::span<const std::int32_t> ids) const = 0;
    // Ids are in [0, vocab_size()).
    virtual std::int32_t vocab_size() const = 0;
    virtual std::string_view name() const = 0; // "rwkv-world", "sentencepiece", "bytes"
};

// The RWKV World tokenizer from its vocabulary file (rwkv_vocab_v20230424.txt): greedy longest
// match over bytes, as ChatRWKV's TRIE_TOKENIZER. vocab_size() is the largest id + 1 (65,530);
// id 0 (end of document) decodes to nothing. A bad line throws Error naming file and line.
std::unique_ptr<Tokenizer> load_world_tokenizer(const std::string& vocab_path);
// A SentencePiece model (.model). Throws Error when built without libsentencepiece. decode()
// concatenates pieces ("\u2581" -> space), so the model's dummy-prefix space stays in the text.
std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& model_path);
// By file: *.model -> SentencePiece, anything else -> World vocabulary.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);
// Byte-level: token = byte value, vocab 256 (rwkv.cpp's tiny test model).
std::unique_ptr<Tokenizer> make_byte_tokenizer();

// Turns a stream of token ids into text, holding back bytes of an incomplete UTF-8 sequence until
// the token that completes it arrives; invalid bytes come out as U+FFFD (one per maximal ill-formed
// subpart, as Python and browsers do). Every push() result is valid UTF-8 and never ends inside a
// code point; the concatenation of all results and finish() is the sanitised decode of all ids.
class TokenStream {
public:
    explicit TokenStream(const Tokenizer& tokenizer) : m_tokenizer(tokenizer) {}
    // Text that is complete after this token (possibly empty).
    std::string push(std::int32_t id);
    // What is still held back, as U+FFFD for each incomplete sequence; resets the stream.
    std::string finish();

private:
    const Tokenizer& m_tokenizer;
    std::string m_pending; // at most one incomplete UTF-8 sequence
};

} // namespace gander
