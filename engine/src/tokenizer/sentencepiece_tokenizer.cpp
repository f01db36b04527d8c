// A SentencePiece model (.model) behind the Tokenizer interface, when libsentencepiece is present.
//
// Encoding is the library's. Decoding is piece by piece (U+2581 "▁" becomes a space, byte-fallback
// pieces <0xNN> become their byte, control pieces vanish), not the library's Decode: the
// interface promises that decode() concatenates the tokens' bytes, which is what lets a
// TokenStream decode one token at a time. The one visible difference is that the space the
// model's normaliser adds in front of the text (add_dummy_prefix) stays in the output; a reply
// generated after "Assistant:" wants that space anyway.
#include "gander/gander.h"
#include "gander/tokenizer.h"

#ifdef GANDER_HAVE_SENTENCEPIECE

#include <sentencepiece_processor.h>

namespace gander {

namespace {

constexpr std::string_view kSpaceMark = "\xE2\x96\x81";        // U+2581, SentencePiece's space
constexpr std::string_view kUnknownSurface = " \xE2\x81\x87 "; // what the library prints for <unk>

class SentencePieceTokenizer final : public Tokenizer {
public:
    explicit SentencePieceTokenizer(const std::string& path) {
        const auto status = m_processor.Load(path);
        if (!status.ok())
            throw Error(path + ": cannot load SentencePiece model: " + status.ToString());
        const int n = m_processor.GetPieceSize();
        m_pieces.reserve(static_cast<std::size_t>(n));
        for (int id = 0; id < n; ++id) m_pieces.push_back(surface(id));
        m_path = path;
    }

    std::vector<std::int32_t> encode(std::string_view bytes) const override {
        std::vector<int> ids;
        const auto status = m_processor.Encode(bytes, &ids);
        if (!status.ok())
            throw Error(m_path + ": SentencePiece encode failed: " + status.ToString());
        return {ids.begin(), ids.end()};
    }

    std::string decode(std::span<const std::int32_t> ids) const override {
        std::string out;
        for (const std::int32_t id : ids) {
            if (id < 0 || static_cast<std::size_t>(id) >= m_pieces.size())
                throw Error(m_path + ": unknown token id " + std::to_string(id));
            out += m_pieces[static_cast<std::size_t>(id)];
        }
        return out;
    }

    std::int32_t vocab_size() const override { return static_cast<std::int32_t>(m_pieces.size()); }
    std::string_view name() const override { return "sentencepiece"; }

private:
    std::string surface(int id) const {
        if (m_processor.IsControl(id) || m_processor.IsUnused(id)) return {};
        if (m_processor.IsUnknown(id)) return std::string(kUnknownSurface);
        const std::string& piece = m_processor.IdToPiece(id);
        if (m_processor.IsByte(id)) {
            // "<0xNN>"
            return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
        }
        std::string out;
        for (std::size_t i = 0; i < piece.size();) {
            if (piece.compare(i, kSpaceMark.size(), kSpaceMark) == 0) {
                out.push_back(' ');
                i += kSpaceMark.size();
            } else {
                out.push_back(piece[i++]);
            }
        }
        return out;
    }

    sentencepiece::SentencePieceProcessor m_processor;
    std::vector<std::string> m_pieces; // the bytes of each id, computed once
    std::string m_path;
};

} // namespace

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& model_path) {
    return std::make_unique<SentencePieceTokenizer>(model_path);
}

} // namespace gander

#else

namespace gander {

std::unique_ptr<Tokenizer> load_sentencepiece_tokenizer(const std::string& model_path) {
    throw Error(model_path + ": this Gander was built without SentencePiece (install "
                             "libsentencepiece-dev and reconfigure)");
}

} // namespace gander

#endif
