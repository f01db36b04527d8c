// The backend-independent half of Session: token checks, logits, and the state blob.
//
// State blob, little-endian (docs/state.md):
//   offset  size  field
//   0       8     magic "GNDRSTAT"
//   8       4     format version (1)
//   12      4     header size (96)
//   16      16    model fingerprint, 16 ASCII hex digits
//   32      4     layout (1 = per layer: att_x_prev[C], att_kv[H][N][N] value-row/key-col, ffn_x_prev[C])
//   36      4     n_layer
//   40      4     n_embd (C)
//   44      4     head_size (N)
//   48      1     dtype (0 = f32, 1 = f16)
//   49      7     zero
//   56      8     tokens absorbed
//   64      8     payload bytes
//   72      16    zero (reserved)
//   88      8     checksum of bytes [0, 88) and of the payload
//   96      ...   payload: the state in `layout`, as `dtype`
#include <algorithm>
#include <cstring>

#include "gander/gander.h"
#include "gander/sampler.h"
#include "model/half.h"

namespace gander {
namespace {

constexpr char kMagic[8] = {'G', 'N', 'D', 'R', 'S', 'T', 'A', 'T'};
constexpr std::uint32_t kVersion = 1;
constexpr std::uint32_t kHeaderSize = 96;
constexpr std::uint32_t kLayout = 1;
constexpr std::size_t kChecksumOffset = 88;

// A 64-bit hash that works a word at a time (a 33 MB state must hash in milliseconds).
std::uint64_t checksum(const std::uint8_t* a, std::size_t na, const std::uint8_t* b,
                       std::size_t nb) {
    std::uint64_t h = 0x9E3779B97F4A7C15ull ^ (na + nb);
    auto mix = [&](std::uint64_t w) {
        h ^= w + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    };
    for (const auto& [p, n] : {std::pair{a, na}, std::pair{b, nb}}) {
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            mix(w);
        }
        std::uint64_t tail = 0;
        std::memcpy(&tail, p + i, n - i);
        mix(tail ^ (std::uint64_t(n - i) << 56));
    }
    return h;
}

template <typename T> void put(std::uint8_t* p, T v) { std::memcpy(p, &v, sizeof v); }
template <typename T> T get(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

} // namespace

void Session::check_tokens(std::span<const std::int32_t> tokens) const {
    const int V = m_info.shape.vocab;
    for (std::size_t i = 0; i < tokens.size(); ++i)
        if (tokens[i] < 0 || tokens[i] >= V)
            throw Error("token " + std::to_string(tokens[i]) + " at position " +
                        std::to_string(i) + " is out of range: the model's vocabulary has " +
                        std::to_string(V) + " tokens (0.." + std::to_string(V - 1) + ")");
}

std::span<float> Session::logits_storage() {
    m_logits.resize(std::size_t(m_info.shape.vocab));
    return m_logits;
}

std::span<float> Session::out_logits() {
    if (m_out.empty()) {
        const std::span<float> s = logits_storage();
        if (s.size() != std::size_t(m_info.shape.vocab))
            throw Error("internal error: the backend's logits hold " + std::to_string(s.size()) +
                        " floats, the model's vocabulary " + std::to_string(m_info.shape.vocab));
        m_out = s;
    }
    return m_out;
}

void Session::stepped(bool logits_with_backend) {
    m_have_logits = true;
    m_logits_with_backend = logits_with_backend;
    ++m_tokens;
}

void Session::feed(std::int32_t token) {
    check_tokens({&token, 1});
    do_feed(token, out_logits());
    stepped(false);
}

std::int32_t Session::greedy_limit(std::int32_t below) const {
    const std::int32_t V = m_info.shape.vocab;
    return below <= 0 || below > V ? V : below;
}

std::int32_t Session::feed_greedy(std::int32_t token, std::int32_t below) {
    check_tokens({&token, 1});
    std::int32_t pick = 0;
    const bool kept = do_feed_greedy(token, greedy_limit(below), out_logits(), pick);
    stepped(kept);
    return pick;
}

void Session::check_batch(std::span<Session* const> sessions,
                          std::span<const std::int32_t> tokens) {
    if (sessions.size() != tokens.size())
        throw Error("feed_batch: " + std::to_string(sessions.size()) + " sessions but " +
                    std::to_string(tokens.size()) + " tokens");
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        if (!sessions[i] || &sessions[i]->m_info != &sessions[0]->m_info)
            throw Error("feed_batch: session " + std::to_string(i) +
                        " is missing or belongs to another model");
        for (std::size_t j = 0; j < i; ++j)
            if (sessions[j] == sessions[i])
                throw Error("feed_batch: session " + std::to_string(i) + " appears twice");
        sessions[i]->check_tokens(tokens.subspan(i, 1));
    }
}

void Session::feed_batch(std::span<Session* const> sessions, std::span<const std::int32_t> tokens) {
    check_batch(sessions, tokens);
    if (sessions.empty()) return;
    // Each session's logits are written in place (as feed() does): no [B, V] scratch to fault in
    // and copy again (8 MB a step at B = 32).
    std::vector<std::span<float>> out(sessions.size());
    for (std::size_t i = 0; i < sessions.size(); ++i) out[i] = sessions[i]->out_logits();
    sessions[0]->do_feed_batch(sessions, tokens, out);
    for (Session* s : sessions) s->stepped(false);
}

void Session::feed_batch_greedy(std::span<Session* const> sessions,
                                std::span<const std::int32_t> tokens, std::span<std::int32_t> picks,
                                std::int32_t below) {
    check_batch(sessions, tokens);
    if (picks.size() != sessions.size())
        throw Error("feed_batch_greedy: " + std::to_string(sessions.size()) + " sessions but " +
                    std::to_string(picks.size()) + " picks");
    if (sessions.empty()) return;
    std::vector<std::span<float>> out(sessions.size());
    for (std::size_t i = 0; i < sessions.size(); ++i) out[i] = sessions[i]->out_logits();
    const bool kept = sessions[0]->do_feed_batch_greedy(sessions, tokens, out, picks,
                                                        sessions[0]->greedy_limit(below));
    for (Session* s : sessions) s->stepped(kept);
}

std::int32_t Session::feed_sampled(std::int32_t token, Sampler& sampler, std::int32_t below) {
    check_tokens({&token, 1});
    std::int32_t pick = -1;
    const std::int32_t limit = greedy_limit(below);
    do_feed_sampled(token, limit, sampler, out_logits(), pick);
    stepped(pick >= 0);
    return pick >= 0 ? pick : sampler.sample(logits().first(std::size_t(limit)));
}

void Session::feed_batch_sampled(std::span<Session* const> sessions,
                                 std::span<const std::int32_t> tokens,
                                 std::span<Sampler* const> samplers, std::span<std::int32_t> picks,
                                 std::int32_t below) {
    check_batch(sessions, tokens);
    if (samplers.size() != sessions.size() || picks.size() != sessions.size())
        throw Error("feed_batch_sampled: " + std::to_string(sessions.size()) + " sessions, " +
                    std::to_string(samplers.size()) + " samplers, " + std::to_string(picks.size()) +
                    " picks");
    if (sessions.empty()) return;
    std::vector<std::span<float>> out(sessions.size());
    for (std::size_t i = 0; i < sessions.size(); ++i) out[i] = sessions[i]->out_logits();
    std::fill(picks.begin(), picks.end(), -1);
    sessions[0]->do_feed_batch_sampled(sessions, tokens, out, samplers, picks,
                                       sessions[0]->greedy_limit(below));
    for (std::size_t i = 0; i < sessions.size(); ++i) sessions[i]->stepped(picks[i] >= 0);
}

void Session::do_feed_batch(std::span<Session* const> sessions,
                            std::span<const std::int32_t> tokens,
                            std::span<const std::span<float>> logits) {
    for (std::size_t i = 0; i < sessions.size(); ++i) sessions[i]->do_feed(tokens[i], logits[i]);
}

bool Session::do_feed_greedy(std::int32_t token, std::int32_t below, std::span<float> logits,
                             std::int32_t& pick) {
    do_feed(token, logits);
    pick = argmax(logits.first(std::size_t(below)));
    return false;
}

bool Session::do_feed_batch_greedy(std::span<Session* const> sessions,
                                   std::span<const std::int32_t> tokens,
                                   std::span<const std::span<float>> logits,
                                   std::span<std::int32_t> picks, std::int32_t below) {
    do_feed_batch(sessions, tokens, logits);
    for (std::size_t i = 0; i < sessions.size(); ++i)
        picks[i] = argmax(logits[i].first(std::size_t(below)));
    return false;
}

void Session::do_feed_sampled(std::int32_t token, std::int32_t, Sampler&, std::span<float> logits,
                              std::int32_t& pick) {
    do_feed(token, logits);
    pick = -1;
}

void Session::do_feed_batch_sampled(std::span<Session* const> sessions,
                                    std::span<const std::int32_t> tokens,
                                    std::span<const std::span<float>> logits,
                                    std::span<Sampler* const>, std::span<std::int32_t> picks,
                                    std::int32_t) {
    do_feed_batch(sessions, tokens, logits);
    std::fill(picks.begin(), picks.end(), -1);
}

void Session::do_fetch_logits(std::span<float>) const {
    throw Error("internal error: a backend left its logits with itself but cannot fetch them");
}

void Session::prefill(std::span<const std::int32_t> tokens, const Progress& progress) {
    if (tokens.empty()) return;
    check_tokens(tokens);
    // Written to a scratch buffer first: a cancelled prefill must leave logits() as they were.
    // The storage is asked for before the state moves on, so that nothing can fail after it.
    const std::span<float> out = out_logits();
    std::vector<float> logits(out.size());
    do_prefill(tokens, logits, progress);
    std::copy(logits.begin(), logits.end(), out.begin());
    m_have_logits = true;
    m_logits_with_backend = false;
    m_tokens += std::int64_t(tokens.size());
}

std::span<const float> Session::logits() const {
    if (!m_have_logits) return {};
    if (m_logits_with_backend) {
        do_fetch_logits(m_out);
        m_logits_with_backend = false;
    }
    return m_out;
}

void Session::reset() {
    do_reset();
    m_have_logits = false;
    m_logits_with_backend = false;
    m_tokens = 0;
}

std::size_t Session::state_blob_size(StateDtype dtype) const {
    return kHeaderSize + state_size_f32(m_info.shape) / 4 * (dtype == StateDtype::F16 ? 2 : 4);
}

std::vector<float> Session::state_f32() const {
    std::vector<float> s(state_size_f32(m_info.shape) / 4);
    do_read_state(s);
    return s;
}

void Session::set_state_f32(std::span<const float> state, std::int64_t tokens_absorbed) {
    if (state.size() != state_size_f32(m_info.shape) / 4)
        throw Error("state has " + std::to_string(state.size()) + " values, this model needs " +
                    std::to_string(state_size_f32(m_info.shape) / 4));
    do_write_state(state);
    m_tokens = tokens_absorbed;
    m_have_logits = false;
    m_logits_with_backend = false;
}

std::vector<std::uint8_t> Session::save_state(StateDtype dtype) const {
    const std::vector<float> s = state_f32();
    const std::size_t es = dtype == StateDtype::F16 ? 2 : 4;
    std::vector<std::uint8_t> blob(kHeaderSize + s.size() * es, 0);
    std::uint8_t* h = blob.data();
    std::memcpy(h, kMagic, 8);
    put<std::uint32_t>(h + 8, kVersion);
    put<std::uint32_t>(h + 12, kHeaderSize);
    std::memcpy(h + 16, m_info.fingerprint.data(), std::min<std::size_t>(16, m_info.fingerprint.size()));
    put<std::uint32_t>(h + 32, kLayout);
    put<std::uint32_t>(h + 36, std::uint32_t(m_info.shape.n_layer));
    put<std::uint32_t>(h + 40, std::uint32_t(m_info.shape.n_embd));
    put<std::uint32_t>(h + 44, std::uint32_t(m_info.shape.head_size));
    h[48] = std::uint8_t(dtype);
    put<std::int64_t>(h + 56, m_tokens);
    put<std::uint64_t>(h + 64, std::uint64_t(s.size() * es));
    std::uint8_t* p = h + kHeaderSize;
    if (dtype == StateDtype::F16) {
        for (std::size_t i = 0; i < s.size(); ++i) put<std::uint16_t>(p + 2 * i, model::f32_to_f16(s[i]));
    } else {
        std::memcpy(p, s.data(), s.size() * 4);
    }
    put<std::uint64_t>(h + kChecksumOffset,
                       checksum(h, kChecksumOffset, p, blob.size() - kHeaderSize));
    return blob;
}

void Session::load_state(std::span<const std::uint8_t> blob) {
    auto bad = [](const std::string& what) {
        throw Error("saved state: " + what);
    };
    if (blob.size() < kHeaderSize) bad("too short (" + std::to_string(blob.size()) + " bytes)");
    const std::uint8_t* h = blob.data();
    if (std::memcmp(h, kMagic, 8) != 0) bad("not a Gander state (bad magic)");
    const auto version = get<std::uint32_t>(h + 8);
    if (version != kVersion)
        bad("format version " + std::to_string(version) + " is not supported (this build reads " +
            std::to_string(kVersion) + "); rebuild the state from the conversation text");
    if (get<std::uint32_t>(h + 12) != kHeaderSize) bad("unexpected header size");
    const std::string fp(reinterpret_cast<const char*>(h + 16), 16);
    if (fp != m_info.fingerprint)
        bad("made for another model (fingerprint " + fp + ", this model is " + m_info.fingerprint +
            ")");
    if (get<std::uint32_t>(h + 32) != kLayout) bad("unknown layout");
    if (int(get<std::uint32_t>(h + 36)) != m_info.shape.n_layer ||
        int(get<std::uint32_t>(h + 40)) != m_info.shape.n_embd ||
        int(get<std::uint32_t>(h + 44)) != m_info.shape.head_size)
        bad("shape does not match the model");
    const std::uint8_t dt = h[48];
    if (dt > 1) bad("unknown dtype " + std::to_string(dt));
    const std::size_t es = dt == 1 ? 2 : 4;
    const std::size_t n = state_size_f32(m_info.shape) / 4;
    const auto payload = get<std::uint64_t>(h + 64);
    if (payload != n * es || blob.size() != kHeaderSize + n * es)
        bad("truncated or padded (" + std::to_string(blob.size()) + " bytes, expected " +
            std::to_string(kHeaderSize + n * es) + ")");
    if (get<std::uint64_t>(h + kChecksumOffset) !=
        checksum(h, kChecksumOffset, h + kHeaderSize, n * es))
        bad("checksum mismatch (the data is corrupt)");
    const auto tokens = get<std::int64_t>(h + 56);
    if (tokens < 0) bad("negative token count");
    std::vector<float> s(n);
    const std::uint8_t* p = h + kHeaderSize;
    if (es == 2) {
        for (std::size_t i = 0; i < n; ++i) s[i] = model::f16_to_f32(get<std::uint16_t>(p + 2 * i));
    } else {
        std::memcpy(s.data(), p, n * 4);
    }
    set_state_f32(s, tokens);
}

} // namespace gander
