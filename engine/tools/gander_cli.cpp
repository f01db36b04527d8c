// gander-cli: the engine from a terminal. The `logits`, `tokenize`, `detokenize` and `info`
// commands are contracts other tools rely on (shared/DESIGN.md): exit 0 on success, 2 on a usage
// error, 1 on any other error, with a one-line message on stderr.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gander/chat.h"
#include "gander/gander.h"
#include "gander/sampler.h"
#include "gander/tokenizer.h"

namespace {

struct Usage : std::runtime_error {
    using std::runtime_error::runtime_error;
};

const char* kHelp =
    R"(gander-cli: run RWKV-7 models from the terminal

usage:
  gander-cli info --model FILE
  gander-cli logits --model FILE --tokens 1,2,3 --out OUT.f32 [--backend cpu|cuda|auto]
                    [--precision fp32|fp16|bf16|int8|int4] [--prefill]
  gander-cli tokenize --vocab FILE          (raw bytes on stdin -> ids)
  gander-cli detokenize --vocab FILE        (ids on stdin -> raw bytes)
  gander-cli generate --model FILE [--vocab FILE] --prompt TEXT [--max-tokens N]
                    [--temperature T] [--top-p P] [--top-k K] [--seed S] [--backend B]
  gander-cli chat --model FILE [--vocab FILE] [--system TEXT] [sampling options]

--vocab defaults to $GANDER_VOCAB; a model with 256 tokens uses bytes as tokens.
)";

class Args {
public:
    Args(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) {
            std::string a = argv[i];
            if (a.rfind("--", 0) != 0) throw Usage("unexpected argument '" + a + "'");
            a = a.substr(2);
            if (a == "prefill" || a == "help") {
                m_values[a] = "1";
                continue;
            }
            if (i + 1 >= argc) throw Usage("--" + a + " needs a value");
            m_values[a] = argv[++i];
        }
    }
    bool has(const std::string& k) const { return m_values.count(k) != 0; }
    std::string get(const std::string& k, const std::string& fallback = {}) const {
        auto it = m_values.find(k);
        return it == m_values.end() ? fallback : it->second;
    }
    std::string need(const std::string& k) const {
        if (!has(k)) throw Usage("missing --" + k);
        return get(k);
    }
    double number(const std::string& k, double fallback) const {
        if (!has(k)) return fallback;
        try {
            std::size_t used = 0;
            double v = std::stod(get(k), &used);
            if (used != get(k).size()) throw std::invalid_argument("");
            return v;
        } catch (const std::exception&) {
            throw Usage("--" + k + " must be a number, got '" + get(k) + "'");
        }
    }
    void allow(std::initializer_list<const char*> keys) const {
        for (const auto& [k, v] : m_values) {
            bool ok = false;
            for (const char* a : keys) ok = ok || k == a;
            if (!ok) throw Usage("unknown option --" + k);
        }
    }

private:
    std::map<std::string, std::string> m_values;
};

std::vector<std::int32_t> parse_ids(const std::string& text) {
    std::vector<std::int32_t> ids;
    std::string cur;
    auto flush = [&] {
        if (cur.empty()) return;
        try {
            std::size_t used = 0;
            long long v = std::stoll(cur, &used);
            if (used != cur.size() || v < INT32_MIN || v > INT32_MAX) throw std::out_of_range("");
            ids.push_back(std::int32_t(v));
        } catch (const std::exception&) {
            throw Usage("not a token id: '" + cur + "'");
        }
        cur.clear();
    };
    for (char c : text) {
        if (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t') flush();
        else cur += c;
    }
    flush();
    return ids;
}

gander::LoadOptions load_options(const Args& a) {
    gander::LoadOptions o;
    if (a.has("backend")) {
        auto b = gander::parse_backend(a.get("backend"));
        if (!b) throw Usage("--backend must be cpu, cuda or auto");
        o.backend = *b;
    }
    if (a.has("precision")) {
        auto p = gander::parse_precision(a.get("precision"));
        if (!p) throw Usage("--precision must be fp32, fp16, bf16, int8 or int4");
        o.precision = *p;
    }
    if (a.has("threads")) o.threads = int(a.number("threads", 0));
    return o;
}

std::string fmt_bytes(double b) {
    char buf[64];
    if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
    else std::snprintf(buf, sizeof buf, "%.2f MB", b / 1e6);
    return buf;
}

int cmd_info(const Args& a) {
    a.allow({"model", "backend", "precision", "threads"});
    auto model = gander::load_model(a.need("model"), load_options(a));
    const auto& i = model->info();
    const auto& s = i.shape;
    std::printf("file:        %s\n", i.path.c_str());
    std::printf("stored as:   %s\n", i.file_dtype.c_str());
    std::printf("fingerprint: %s\n", i.fingerprint.c_str());
    std::printf("layers:      %d\n", s.n_layer);
    std::printf("width:       %d\n", s.n_embd);
    std::printf("heads:       %d x %d\n", s.n_head(), s.head_size);
    std::printf("vocabulary:  %d\n", s.vocab);
    std::printf("ffn width:   %d\n", s.ffn_dim);
    bool uniform = true;
    for (const auto& r : s.ranks) uniform = uniform && r == s.ranks.back();
    for (std::size_t l = 0; l < s.ranks.size(); ++l) {
        if (uniform && l + 1 != s.ranks.size() && l != 0) continue;
        const auto& r = s.ranks[l];
        std::printf("lora ranks:  w %d, a %d, v %d, g %d%s\n", r.w, r.a, r.v, r.g,
                    uniform ? (l == 0 ? " (layer 0, no v)" : " (layers 1..)")
                            : (" (layer " + std::to_string(l) + ")").c_str());
    }
    std::printf("parameters:  %lld (%.3fB)\n", (long long)i.n_params, double(i.n_params) / 1e9);
    std::printf("state size:  %zu bytes (%s, fp32)\n", gander::state_size_f32(s),
                fmt_bytes(double(gander::state_size_f32(s))).c_str());
    std::printf("backend:     %s, %s (%s)\n", std::string(gander::to_string(i.backend)).c_str(),
                i.device.c_str(), i.backend_note.c_str());
    return 0;
}

int cmd_logits(const Args& a) {
    a.allow({"model", "tokens", "out", "backend", "precision", "prefill", "threads"});
    const std::string out = a.need("out");
    const auto tokens = parse_ids(a.need("tokens"));
    if (tokens.empty()) throw Usage("--tokens is empty");
    auto model = gander::load_model(a.need("model"), load_options(a));
    auto session = model->new_session();
    std::vector<float> rows;
    if (a.has("prefill")) {
        session->prefill(tokens);
        auto l = session->logits();
        rows.assign(l.begin(), l.end());
    } else {
        for (auto t : tokens) {
            session->feed(t);
            auto l = session->logits();
            rows.insert(rows.end(), l.begin(), l.end());
        }
    }
    std::ofstream f(out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(rows.data()), std::streamsize(rows.size() * 4));
    f.close();
    if (!f) throw gander::Error(out + ": cannot write");
    return 0;
}

std::string read_stdin() {
    std::ios::sync_with_stdio(false);
    // Binary mode (the same on POSIX); a failed reopen leaves stdin closed, so say so.
    if (!std::freopen(nullptr, "rb", stdin)) throw gander::Error("cannot read standard input");
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

std::unique_ptr<gander::Tokenizer> tokenizer_for(const Args& a, const gander::ModelInfo* info) {
    std::string vocab = a.get("vocab");
    if (vocab.empty())
        if (const char* env = std::getenv("GANDER_VOCAB")) vocab = env;
    if (vocab.empty()) {
        if (info && info->shape.vocab == 256) return gander::make_byte_tokenizer();
        throw Usage("missing --vocab (or set GANDER_VOCAB)");
    }
    return gander::load_tokenizer(vocab);
}

int cmd_tokenize(const Args& a) {
    a.allow({"vocab"});
    auto tok = gander::load_tokenizer(a.need("vocab"));
    const auto ids = tok->encode(read_stdin());
    std::string line;
    for (std::size_t i = 0; i < ids.size(); ++i) line += (i ? "," : "") + std::to_string(ids[i]);
    std::printf("%s\n", line.c_str());
    return 0;
}

int cmd_detokenize(const Args& a) {
    a.allow({"vocab"});
    auto tok = gander::load_tokenizer(a.need("vocab"));
    const auto text = tok->decode(parse_ids(read_stdin()));
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
}

gander::SamplerParams sampler_params(const Args& a) {
    gander::SamplerParams p;
    p.temperature = float(a.number("temperature", p.temperature));
    p.top_p = float(a.number("top-p", p.top_p));
    p.top_k = int(a.number("top-k", p.top_k));
    p.presence_penalty = float(a.number("presence-penalty", p.presence_penalty));
    p.frequency_penalty = float(a.number("frequency-penalty", p.frequency_penalty));
    p.seed = std::uint64_t(a.number("seed", double(std::random_device{}())));
    return p;
}

std::atomic<bool> g_interrupted{false};

// Samples, feeds and prints tokens until the reply ends. Returns true when a chat reply ended
// at its closing blank line (the state then already ends behind "\n\n").
bool stream_reply(gander::Session& s, const gander::Tokenizer& tok, gander::Sampler& sampler,
                  int max_tokens, bool chat) {
    gander::TokenStream stream(tok);
    gander::ReplyStop stop;
    g_interrupted = false;
    // Each step feeds a token and draws the next from its output (on the card where it can).
    std::int32_t t = sampler.sample(s.logits());
    for (int n = 0; n < max_tokens && !g_interrupted; ++n) {
        if (t == 0) break; // end of text: not fed, so the state can go on
        const std::int32_t fed = t;
        t = s.feed_sampled(fed, sampler);
        std::string piece = stream.push(fed);
        if (chat) piece = stop.push(piece);
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        if (chat && stop.done()) return true;
    }
    const std::string rest = stream.finish();
    if (!chat) std::fwrite(rest.data(), 1, rest.size(), stdout);
    return false;
}

int cmd_generate(const Args& a) {
    a.allow({"model", "vocab", "prompt", "max-tokens", "temperature", "top-p", "top-k", "seed",
             "presence-penalty", "frequency-penalty", "backend", "precision", "threads"});
    auto model = gander::load_model(a.need("model"), load_options(a));
    auto tok = tokenizer_for(a, &model->info());
    auto session = model->new_session();
    const auto ids = tok->encode(a.need("prompt"));
    if (ids.empty()) throw Usage("--prompt is empty");
    session->prefill(ids);
    gander::Sampler sampler(sampler_params(a));
    stream_reply(*session, *tok, sampler, int(a.number("max-tokens", 200)), false);
    std::printf("\n");
    return 0;
}

int cmd_chat(const Args& a) {
    a.allow({"model", "vocab", "system", "max-tokens", "temperature", "top-p", "top-k", "seed",
             "presence-penalty", "frequency-penalty", "backend", "precision", "threads"});
    auto model = gander::load_model(a.need("model"), load_options(a));
    auto tok = tokenizer_for(a, &model->info());
    auto session = model->new_session();
    gander::Sampler sampler(sampler_params(a));
    std::signal(SIGINT, [](int) { g_interrupted = true; });
    const auto& info = model->info();
    std::fprintf(stderr, "gander chat: %s (%s, %s). Empty line or Ctrl-D quits; Ctrl-C stops a reply.\n",
                 std::filesystem::path(info.path).filename().string().c_str(),
                 std::string(gander::to_string(info.backend)).c_str(), info.backend_note.c_str());
    std::string pending; // text to feed before the next reply
    if (a.has("system"))
        pending = gander::format_chat_turn({gander::ChatRole::System, a.get("system")});
    const int max_tokens = int(a.number("max-tokens", 500));
    std::string line;
    while (true) {
        std::fprintf(stderr, "\nUser: ");
        if (!std::getline(std::cin, line) || line.empty()) break;
        pending += gander::format_chat_continuation(line);
        session->prefill(tok->encode(pending));
        pending.clear();
        std::printf("Assistant:");
        std::fflush(stdout);
        // The state must end behind "\n\n" before the next "User:" turn; a reply cut short
        // (max tokens, Ctrl-C, end of text) has not fed it yet.
        if (!stream_reply(*session, *tok, sampler, max_tokens, true)) pending = "\n\n";
        std::printf("\n");
        std::fprintf(stderr, "[%lld tokens in state]\n", (long long)session->tokens_absorbed());
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        std::fputs(kHelp, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const std::string cmd = argv[1];
    try {
        Args args(argc, argv, 2);
        if (args.has("help")) {
            std::fputs(kHelp, stdout);
            return 0;
        }
        if (cmd == "info") return cmd_info(args);
        if (cmd == "logits") return cmd_logits(args);
        if (cmd == "tokenize") return cmd_tokenize(args);
        if (cmd == "detokenize") return cmd_detokenize(args);
        if (cmd == "generate") return cmd_generate(args);
        if (cmd == "chat") return cmd_chat(args);
        throw Usage("unknown command '" + cmd + "'");
    } catch (const Usage& e) {
        std::fprintf(stderr, "gander-cli: %s (see gander-cli --help)\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gander-cli: %s\n", e.what());
        return 1;
    }
}
