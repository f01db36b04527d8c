// The RWKV World tokenizer: parses rwkv_vocab_v20230424.txt and encodes by greedy longest match.
//
// The vocabulary file has one token a line, `<id> <python literal> <byte length>`. Text literals
// ('...' or "...") are encoded as UTF-8, with `\xNN` meaning the code point U+00NN; `b'...'`
// literals are raw bytes. The byte length at the end of the line must match, which catches a
// literal read the wrong way. Id 0 (end of document) is not in the file and decodes to nothing.
//
// Encoding walks a byte trie from each position and takes the longest token that matches, exactly
// like ChatRWKV's TRIE_TOKENIZER. The first two bytes are looked up in a 65,536-entry table, since
// nearly every token is that long or longer and the first two levels are where nodes are widest;
// every node is packed with its edges' bytes and children's offsets, so a step down touches one
// place in memory, and short edge lists (nearly all of them) are scanned linearly.
#include "gander/gander.h"
#include "gander/tokenizer.h"
#include "tokenizer/utf8.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <numeric>
#include <sstream>

namespace gander {

namespace {

constexpr std::int32_t kMaxTokenId = 1 << 24;
constexpr std::uint32_t kNoNode = 0; // the root is node 0 and is never anyone's child

class VocabLineError {
public:
    std::string message;
};

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

unsigned parse_hex(std::string_view digits) {
    unsigned v = 0;
    for (char c : digits) {
        const int h = hex_value(c);
        if (h < 0) throw VocabLineError{"bad hex digits '" + std::string(digits) + "'"};
        v = v * 16 + static_cast<unsigned>(h);
    }
    return v;
}

// The bytes of one python string or bytes literal, limited to the escapes the vocabulary uses.
std::string parse_literal(std::string_view lit) {
    bool is_bytes = false;
    if (!lit.empty() && lit.front() == 'b') {
        is_bytes = true;
        lit.remove_prefix(1);
    }
    if (lit.size() < 2 || (lit.front() != '\'' && lit.front() != '"') || lit.back() != lit.front())
        throw VocabLineError{"expected a quoted literal, got " + std::string(lit)};
    const char quote = lit.front();
    const std::string_view body = lit.substr(1, lit.size() - 2);

    std::string out;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c == quote) throw VocabLineError{"unescaped quote inside the literal"};
        if (c != '\\') {
            if (is_bytes && static_cast<unsigned char>(c) >= 0x80)
                throw VocabLineError{"non-ASCII character in a bytes literal"};
            out.push_back(c);
            continue;
        }
        if (++i >= body.size()) throw VocabLineError{"literal ends with a backslash"};
        switch (body[i]) {
        case 'n':
            out.push_back('\n');
            break;
        case 't':
            out.push_back('\t');
            break;
        case 'r':
            out.push_back('\r');
            break;
        case '\\':
            out.push_back('\\');
            break;
        case '\'':
            out.push_back('\'');
            break;
        case '"':
            out.push_back('"');
            break;
        case 'x': {
            if (i + 2 >= body.size()) throw VocabLineError{"truncated \\x escape"};
            const unsigned v = parse_hex(body.substr(i + 1, 2));
            i += 2;
            // In a text literal \xNN is a code point, not a byte: '\xe9' is "é", two bytes.
            if (is_bytes)
                out.push_back(static_cast<char>(v));
            else
                utf8::append_code_point(out, v);
            break;
        }
        case 'u': {
            if (is_bytes) throw VocabLineError{"\\u escape in a bytes literal"};
            if (i + 4 >= body.size()) throw VocabLineError{"truncated \\u escape"};
            const unsigned v = parse_hex(body.substr(i + 1, 4));
            i += 4;
            if (!utf8::append_code_point(out, v))
                throw VocabLineError{"\\u escape names a surrogate"};
            break;
        }
        default:
            throw VocabLineError{std::string("unsupported escape \\") + body[i]};
        }
    }
    if (!is_bytes && !utf8::is_valid(out)) throw VocabLineError{"text literal is not valid UTF-8"};
    return out;
}

template <class T> bool parse_number(std::string_view text, T& value) {
    const auto* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, value);
    return r.ec == std::errc() && r.ptr == end && !text.empty();
}

struct Entry {
    std::int32_t id;
    std::string bytes;
};

class WorldTokenizer final : public Tokenizer {
public:
    WorldTokenizer(const std::string& path, std::vector<Entry> entries);

    std::vector<std::int32_t> encode(std::string_view bytes) const override;
    std::string decode(std::span<const std::int32_t> ids) const override;
    std::int32_t vocab_size() const override { return m_vocab_size; }
    std::string_view name() const override { return "rwkv-world"; }

private:
    std::uint32_t build(const std::vector<const Entry*>& sorted, std::size_t lo, std::size_t hi,
                        std::size_t depth);
    std::uint32_t child(std::uint32_t node, unsigned char byte) const;
    std::int32_t token_at(std::uint32_t node) const {
        return static_cast<std::int32_t>(m_trie[node]);
    }

    std::int32_t m_vocab_size = 0;
    std::string m_token_bytes;            // every token's bytes, back to back
    std::vector<std::uint32_t> m_offsets; // token t is [m_offsets[t], m_offsets[t + 1])
    std::vector<std::uint8_t> m_known;    // 1 for ids that the file defines (and 0)
    // The trie, packed in one array so that a step down touches one place in memory. The node at
    // offset o: m_trie[o] = its token or -1; m_trie[o + 1] = its number of edges n; then
    // ceil(n / 4) words holding the edges' bytes (sorted ascending, 4 to a word); then n words,
    // the children's offsets in the same order. The root is at offset 0.
    std::vector<std::uint32_t> m_trie;
    std::int32_t m_single[256] = {};   // the token of each single byte
    std::vector<std::uint32_t> m_pair; // node reached by two bytes (b0 << 8 | b1), or kNoNode
};

WorldTokenizer::WorldTokenizer(const std::string& path, std::vector<Entry> entries) {
    std::int32_t max_id = 0;
    for (const auto& e : entries) max_id = std::max(max_id, e.id);
    m_vocab_size = max_id + 1;

    m_offsets.assign(static_cast<std::size_t>(m_vocab_size) + 1, 0);
    m_known.assign(static_cast<std::size_t>(m_vocab_size), 0);
    m_known[0] = 1;
    std::vector<const Entry*> by_id(static_cast<std::size_t>(m_vocab_size), nullptr);
    for (const auto& e : entries) by_id[static_cast<std::size_t>(e.id)] = &e;
    for (std::int32_t t = 0; t < m_vocab_size; ++t) {
        m_offsets[static_cast<std::size_t>(t)] = static_cast<std::uint32_t>(m_token_bytes.size());
        if (const Entry* e = by_id[static_cast<std::size_t>(t)]) {
            m_token_bytes += e->bytes;
            m_known[static_cast<std::size_t>(t)] = 1;
        }
    }
    m_offsets.back() = static_cast<std::uint32_t>(m_token_bytes.size());

    std::vector<const Entry*> sorted;
    sorted.reserve(entries.size());
    for (const auto& e : entries) sorted.push_back(&e);
    std::sort(sorted.begin(), sorted.end(),
              [](const Entry* a, const Entry* b) { return a->bytes < b->bytes; });
    for (std::size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i]->bytes == sorted[i - 1]->bytes)
            throw Error(path + ": tokens " + std::to_string(sorted[i - 1]->id) + " and " +
                        std::to_string(sorted[i]->id) + " have the same bytes");

    m_trie.reserve(4 * m_token_bytes.size());
    build(sorted, 0, sorted.size(), 0);

    // Every byte needs a token of its own, or encoding could get stuck on it.
    for (unsigned b = 0; b < 256; ++b) {
        const std::uint32_t n = child(0, static_cast<unsigned char>(b));
        if (n == kNoNode || token_at(n) < 0) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", b);
            throw Error(path + ": no token for the single byte " + hex);
        }
        m_single[b] = token_at(n);
    }
    m_pair.assign(65536, kNoNode);
    for (unsigned b0 = 0; b0 < 256; ++b0) {
        const std::uint32_t n0 = child(0, static_cast<unsigned char>(b0));
        for (unsigned b1 = 0; b1 < 256; ++b1)
            m_pair[b0 << 8 | b1] = child(n0, static_cast<unsigned char>(b1));
    }
}

// Builds the node for the keys sorted[lo, hi), which share their first `depth` bytes, and returns
// its offset. Nodes are laid out depth first, a node before its children.
std::uint32_t WorldTokenizer::build(const std::vector<const Entry*>& sorted, std::size_t lo,
                                    std::size_t hi, std::size_t depth) {
    std::int32_t token = -1;
    if (lo < hi && sorted[lo]->bytes.size() == depth) {
        token = sorted[lo]->id;
        ++lo; // a shorter key sorts first, and keys are unique
    }
    struct Group {
        unsigned char byte;
        std::size_t lo, hi;
    };
    std::vector<Group> groups;
    for (std::size_t i = lo; i < hi;) {
        const auto byte = static_cast<unsigned char>(sorted[i]->bytes[depth]);
        std::size_t j = i + 1;
        while (j < hi && static_cast<unsigned char>(sorted[j]->bytes[depth]) == byte) ++j;
        groups.push_back({byte, i, j});
        i = j;
    }
    const auto self = static_cast<std::uint32_t>(m_trie.size());
    const std::size_t n = groups.size();
    const std::size_t byte_words = (n + 3) / 4;
    m_trie.resize(self + 2 + byte_words + n, 0);
    m_trie[self] = static_cast<std::uint32_t>(token);
    m_trie[self + 1] = static_cast<std::uint32_t>(n);
    auto* bytes = reinterpret_cast<unsigned char*>(m_trie.data() + self + 2);
    for (std::size_t g = 0; g < n; ++g) bytes[g] = groups[g].byte;
    for (std::size_t g = 0; g < n; ++g) {
        const std::uint32_t kid = build(sorted, groups[g].lo, groups[g].hi, depth + 1);
        m_trie[self + 2 + byte_words + g] = kid; // after the call: it may have moved m_trie
    }
    return self;
}

inline std::uint32_t WorldTokenizer::child(std::uint32_t node, unsigned char byte) const {
    const std::uint32_t* t = m_trie.data() + node;
    const std::uint32_t n = t[1];
    const auto* bytes = reinterpret_cast<const unsigned char*>(t + 2);
    const std::uint32_t* kids = t + 2 + (n + 3) / 4;
    if (n <= 16) {
        for (std::uint32_t j = 0; j < n; ++j) {
            if (bytes[j] == byte) return kids[j];
            if (bytes[j] > byte) break;
        }
        return kNoNode;
    }
    const unsigned char* it = std::lower_bound(bytes, bytes + n, byte);
    return it != bytes + n && *it == byte ? kids[it - bytes] : kNoNode;
}

std::vector<std::int32_t> WorldTokenizer::encode(std::string_view text) const {
    std::vector<std::int32_t> ids;
    ids.reserve(text.size() / 3 + 1);
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t pos = 0;
    while (pos < n) {
        std::int32_t best = m_single[s[pos]];
        std::size_t best_len = 1;
        if (pos + 1 < n) {
            std::uint32_t node = m_pair[static_cast<std::size_t>(s[pos]) << 8 | s[pos + 1]];
            std::size_t i = pos + 2;
            while (node != kNoNode) {
                if (const std::int32_t t = token_at(node); t >= 0) {
                    best = t;
                    best_len = i - pos;
                }
                if (i >= n) break;
                node = child(node, s[i++]);
            }
        }
        ids.push_back(best);
        pos += best_len;
    }
    return ids;
}

std::string WorldTokenizer::decode(std::span<const std::int32_t> ids) const {
    // Sized first, then copied: appending token by token made decoding slower than encoding.
    std::size_t size = 0;
    for (const std::int32_t id : ids) {
        if (id < 0 || id >= m_vocab_size || !m_known[static_cast<std::size_t>(id)])
            throw Error("rwkv-world tokenizer: unknown token id " + std::to_string(id));
        const auto t = static_cast<std::size_t>(id);
        size += m_offsets[t + 1] - m_offsets[t];
    }
    std::string out(size, '\0');
    char* dst = out.data();
    const char* src = m_token_bytes.data();
    for (const std::int32_t id : ids) {
        const auto t = static_cast<std::size_t>(id);
        const std::size_t n = m_offsets[t + 1] - m_offsets[t];
        std::memcpy(dst, src + m_offsets[t], n);
        dst += n;
    }
    return out;
}

} // namespace

std::unique_ptr<Tokenizer> load_world_tokenizer(const std::string& vocab_path) {
    std::ifstream in(vocab_path, std::ios::binary);
    if (!in) throw Error(vocab_path + ": cannot open the vocabulary file");

    std::vector<Entry> entries;
    entries.reserve(65536);
    std::vector<bool> seen;
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_no == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3); // an editor's BOM
        if (line.empty()) continue;
        const auto where = [&] { return vocab_path + ":" + std::to_string(line_no) + ": "; };
        try {
            const std::string_view v(line);
            const auto first = v.find(' ');
            const auto last = v.rfind(' ');
            if (first == std::string_view::npos || last == first)
                throw VocabLineError{"expected '<id> <literal> <length>'"};
            std::int32_t id = 0;
            std::size_t length = 0;
            // The cap keeps a corrupt id from sizing tables by it.
            if (!parse_number(v.substr(0, first), id) || id <= 0 || id > kMaxTokenId)
                throw VocabLineError{"bad token id '" + std::string(v.substr(0, first)) + "'"};
            if (!parse_number(v.substr(last + 1), length))
                throw VocabLineError{"bad byte length '" + std::string(v.substr(last + 1)) + "'"};
            std::string bytes = parse_literal(v.substr(first + 1, last - first - 1));
            if (bytes.size() != length)
                throw VocabLineError{"literal has " + std::to_string(bytes.size()) +
                                     " bytes, the line says " + std::to_string(length)};
            if (bytes.empty()) throw VocabLineError{"empty token"};
            if (static_cast<std::size_t>(id) >= seen.size()) seen.resize(id + 1, false);
            if (seen[static_cast<std::size_t>(id)])
                throw VocabLineError{"token id " + std::to_string(id) + " appears twice"};
            seen[static_cast<std::size_t>(id)] = true;
            entries.push_back({id, std::move(bytes)});
        } catch (const VocabLineError& e) {
            throw Error(where() + e.message);
        }
    }
    if (in.bad()) throw Error(vocab_path + ": read error");
    if (entries.empty()) throw Error(vocab_path + ": no tokens in the vocabulary file");
    return std::make_unique<WorldTokenizer>(vocab_path, std::move(entries));
}

} // namespace gander
