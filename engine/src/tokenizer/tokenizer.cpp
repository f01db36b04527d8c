// The byte-level tokenizer, the choice of tokenizer by file name, and streaming decode.
#include "gander/tokenizer.h"
#include "gander/gander.h"
#include "tokenizer/utf8.h"

namespace gander {

namespace {

class ByteTokenizer final : public Tokenizer {
public:
    std::vector<std::int32_t> encode(std::string_view bytes) const override {
        std::vector<std::int32_t> ids(bytes.size());
        for (std::size_t i = 0; i < bytes.size(); ++i)
            ids[i] = static_cast<unsigned char>(bytes[i]);
        return ids;
    }
    std::string decode(std::span<const std::int32_t> ids) const override {
        std::string out(ids.size(), '\0');
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (ids[i] < 0 || ids[i] > 255)
                throw Error("bytes tokenizer: unknown token id " + std::to_string(ids[i]));
            out[i] = static_cast<char>(ids[i]);
        }
        return out;
    }
    std::int32_t vocab_size() const override { return 256; }
    std::string_view name() const override { return "bytes"; }
};

} // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() {
    return std::make_unique<ByteTokenizer>();
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
    if (path.size() >= 6 && path.compare(path.size() - 6, 6, ".model") == 0)
        return load_sentencepiece_tokenizer(path);
    return load_world_tokenizer(path);
}

// Bytes wait in m_pending only while they are the start of a sequence that the next token could
// still complete; everything before them has been handed out already. So the pending part is at
// most three bytes and there is at most one incomplete sequence in it.
std::string TokenStream::push(std::int32_t id) {
    const std::int32_t one[1] = {id};
    m_pending += m_tokenizer.decode(one);
    std::string out;
    const std::size_t used = utf8::append_complete(out, m_pending);
    m_pending.erase(0, used);
    return out;
}

std::string TokenStream::finish() {
    std::string out = utf8::sanitize(m_pending);
    m_pending.clear();
    return out;
}

} // namespace gander
