// The SentencePiece wrapper against libsentencepiece itself, on models trained here at test time
// (no model file to ship): same ids as the library, exact round trips, and streaming decode.
#include "check.h"

#include "gander/gander.h"
#include "gander/tokenizer.h"

#ifdef GANDER_HAVE_SENTENCEPIECE

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>

namespace {

// A folder of this run's own (tests may run in parallel), removed when the test exits.
struct WorkDir {
    std::filesystem::path path;
    WorkDir() {
        const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
        path = std::filesystem::temp_directory_path() /
               ("gander-test-sentencepiece-" + std::to_string(stamp));
        std::filesystem::create_directories(path);
    }
    ~WorkDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

const std::filesystem::path& work_dir() {
    static const WorkDir dir;
    return dir.path;
}

// Sentences from a fixed word list, reproducible without any data file.
std::string training_text() {
    const char* words[] = {"the",     "model",   "reads",  "a",        "long",    "document",
                           "and",     "writes",  "short",  "answers",  "state",   "token",
                           "session", "saved",   "loaded", "quickly",  "offline", "card",
                           "memory",  "prompt",  "reply",  "question", "code",    "function",
                           "value",   "returns", "error",  "file",     "line",    "number",
                           "über",    "café",    "naïve",  "東京",     "日本語",  "文本"};
    const std::size_t n = sizeof words / sizeof words[0];
    std::uint64_t x = 88172645463325252ull;
    std::string text;
    for (int line = 0; line < 3000; ++line) {
        const int len = 4 + static_cast<int>(line % 9);
        for (int w = 0; w < len; ++w) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if (w) text += ' ';
            text += words[x % n];
        }
        text += line % 5 == 0 ? ".\n" : "\n";
    }
    return text;
}

// Trains a model with `extra` trainer flags and returns the .model path.
std::string train(const std::string& name, const std::string& extra) {
    const auto dir = work_dir();
    const auto input = dir / "input.txt";
    std::ofstream(input, std::ios::binary) << training_text();
    const auto prefix = (dir / name).string();
    const std::string args = "--input=" + input.string() + " --model_prefix=" + prefix +
                             " --vocab_size=400 --model_type=unigram --character_coverage=1.0"
                             " --byte_fallback=true --hard_vocab_limit=false --minloglevel=1 " +
                             extra;
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok()) {
        gander::test::report(__FILE__, __LINE__, "training failed: " + status.ToString());
        throw gander::test::Failure{};
    }
    return prefix + ".model";
}

const std::string& exact_model() {
    // Identity normalisation and no dummy prefix: decode(encode(x)) == x byte for byte.
    static const std::string path =
        train("exact", "--normalization_rule_name=identity --add_dummy_prefix=false "
                       "--remove_extra_whitespaces=false --split_by_whitespace=true");
    return path;
}

const char* const kSamples[] = {
    "the model reads a long document",
    "session saved and loaded quickly.",
    "über café naïve 東京 日本語",
    "words it never saw: zebra xylophone",
    "emoji \xF0\x9F\x98\x80 and \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7 flags",
    "  two spaces,\ttabs\nand newlines\n",
    "",
};

} // namespace

TEST_CASE("sentencepiece: same ids as the library, exact round trip") {
    const std::string path = exact_model();
    const auto tok = gander::load_sentencepiece_tokenizer(path);
    sentencepiece::SentencePieceProcessor sp;
    REQUIRE(sp.Load(path).ok());
    CHECK(tok->name() == "sentencepiece");
    CHECK(tok->vocab_size() == sp.GetPieceSize());
    CHECK(tok->vocab_size() > 256); // byte fallback pieces are there

    int byte_pieces = 0;
    for (const char* sample : kSamples) {
        const std::string text = sample;
        std::vector<int> want;
        REQUIRE(sp.Encode(text, &want).ok());
        const auto got = tok->encode(text);
        CHECK_MSG(std::vector<int>(got.begin(), got.end()) == want, text);
        for (auto id : got) byte_pieces += sp.IsByte(id) ? 1 : 0;
        CHECK_MSG(tok->decode(got) == text, text << " -> " << tok->decode(got));
        std::string lib_text;
        REQUIRE(sp.Decode(want, &lib_text).ok());
        CHECK_MSG(tok->decode(got) == lib_text, text);

        gander::TokenStream stream(*tok);
        std::string streamed;
        for (auto id : got) streamed += stream.push(id);
        streamed += stream.finish();
        CHECK_MSG(streamed == text, text);
    }
    CHECK(byte_pieces > 0); // the samples exercise byte fallback (emoji, unseen letters)
}

TEST_CASE("sentencepiece: default normaliser keeps the dummy-prefix space") {
    const std::string path = train("default", "");
    const auto tok = gander::load_tokenizer(path); // chosen by the .model suffix
    REQUIRE(tok->name() == "sentencepiece");
    sentencepiece::SentencePieceProcessor sp;
    REQUIRE(sp.Load(path).ok());
    const std::string text = "the model reads a long document";
    std::vector<int> want;
    REQUIRE(sp.Encode(text, &want).ok());
    const auto got = tok->encode(text);
    CHECK(std::vector<int>(got.begin(), got.end()) == want);
    // decode() concatenates pieces, so the leading U+2581 shows as a space (see the wrapper).
    CHECK(tok->decode(got) == " " + text);
}

TEST_CASE("sentencepiece: errors") {
    const auto tok = gander::load_sentencepiece_tokenizer(exact_model());
    const std::int32_t bad[] = {tok->vocab_size()};
    CHECK_THROWS_WITH(tok->decode(bad), gander::Error, "unknown token id");
    const auto junk = (work_dir() / "junk.model").string();
    std::ofstream(junk, std::ios::binary) << "not a protobuf at all";
    CHECK_THROWS_WITH(gander::load_sentencepiece_tokenizer(junk), gander::Error, junk);
    CHECK_THROWS_WITH(gander::load_tokenizer("/nonexistent/x.model"), gander::Error,
                      "/nonexistent/x.model");
}

#else

TEST_CASE("sentencepiece: this build has no SentencePiece") {
    // Fail rather than skip: the dependency script installs libsentencepiece-dev, so a build
    // without it is a broken set-up that should be seen.
    CHECK_THROWS_WITH(gander::load_sentencepiece_tokenizer("x.model"), gander::Error,
                      "built without SentencePiece");
    gander::test::report(__FILE__, __LINE__,
                         "built without SentencePiece: install libsentencepiece-dev "
                         "(installer/install-deps.sh) and reconfigure");
}

#endif

GANDER_TEST_MAIN
