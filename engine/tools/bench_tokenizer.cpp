// gander-bench-tokenizer: encode and decode speed of the RWKV World tokenizer on a large generated
// text that mixes English prose, C++ and Python code, Chinese and emoji (the mix a desktop chat
// with documents and codebases sees). Prints MB/s (1 MB = 10^6 bytes of input text), best of a
// few runs, and checks that decode(encode(text)) gives the text back.
//
//   gander-bench-tokenizer [--vocab FILE] [--mb N] [--runs N]
#include "gander/gander.h"
#include "gander/tokenizer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

// Pieces of each kind; the generator strings random picks together so that the text does not
// repeat in any period a branch predictor or cache could learn.
const char* const kEnglish[] = {"The quick brown fox jumps over the lazy dog. ",
                                "In the beginning, ",
                                "however, ",
                                "the model reads the whole document before it answers. ",
                                "Saving the state costs nothing, ",
                                "which is why long conversations stay fast. ",
                                "Dr. Smith's report (2024) shows ",
                                "a 3.5% increase in throughput; ",
                                "\"Is it offline?\" she asked. ",
                                "Yes.\n",
                                "Tokenization splits text into pieces that the model knows. ",
                                "e-mail: user@example.com, ",
                                "see https://example.org/docs?id=42#top ",
                                "It's 10:30 a.m. on Monday, March 3rd. "};
const char* const kCode[] = {
    "#include <vector>\n",
    "int main(int argc, char** argv) {\n",
    "    for (std::size_t i = 0; i < n; ++i) sum += v[i];\n",
    "    return 0;\n}\n",
    "def tokenize(text: str) -> list[int]:\n",
    "    return [ord(c) for c in text]\n",
    "if __name__ == '__main__':\n    main()\n",
    "    std::printf(\"%d\\n\", value);\n",
    "SELECT id, title FROM messages WHERE conversation_id = ?;\n",
    "    // TODO: handle errors\n",
    "const auto it = std::find_if(a.begin(), a.end(), [&](auto& x) { return x.id == id; });\n",
    "\tif err != nil {\n\t\treturn err\n\t}\n"};
const char* const kChinese[] = {"今天天气很好，",
                                "我们去公园散步吧。",
                                "这个模型可以在本地运行，",
                                "不需要连接网络。",
                                "长文档和整个代码库都可以放进提示里。",
                                "请总结这篇文章的主要内容。",
                                "东京是日本的首都，",
                                "人工智能正在改变世界。",
                                "数据保存在本地数据库中。",
                                "谢谢！\n"};
const char* const kEmoji[] = {"😀", "🎉", "👍🏽", "🇫🇷", "❤️", "🚀", "🤖", "✅", " ", "\n"};

template <std::size_t N> const char* pick(const char* const (&list)[N], std::mt19937_64& rng) {
    return list[rng() % N];
}

std::string generate_text(std::size_t bytes) {
    std::mt19937_64 rng(20230424);
    std::string text;
    text.reserve(bytes + 256);
    while (text.size() < bytes) {
        // Paragraphs of one kind at a time, roughly 45% English, 25% code, 20% Chinese, 10% emoji.
        const auto kind = rng() % 20;
        const int pieces = 4 + static_cast<int>(rng() % 12);
        for (int i = 0; i < pieces; ++i) {
            if (kind < 9)
                text += pick(kEnglish, rng);
            else if (kind < 14)
                text += pick(kCode, rng);
            else if (kind < 18)
                text += pick(kChinese, rng);
            else
                text += pick(kEmoji, rng);
        }
        text += "\n\n";
    }
    return text;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int usage() {
    std::fprintf(stderr, "usage: gander-bench-tokenizer [--vocab FILE] [--mb N] [--runs N]\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
#ifdef GANDER_FIXTURES_DEFAULT
    std::string vocab =
        std::string(GANDER_FIXTURES_DEFAULT) + "/tokenizer/rwkv_vocab_v20230424.txt";
#else
    std::string vocab;
#endif
    double mb = 16;
    int runs = 3;
    for (int i = 1; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (std::strcmp(argv[i], "--vocab") == 0 && has_value) {
            vocab = argv[++i];
        } else if (std::strcmp(argv[i], "--mb") == 0 && has_value) {
            mb = std::atof(argv[++i]);
        } else if (std::strcmp(argv[i], "--runs") == 0 && has_value) {
            runs = std::atoi(argv[++i]);
        } else {
            return usage();
        }
    }
    if (vocab.empty() || mb <= 0 || runs <= 0) return usage();

    try {
        const auto t_load = std::chrono::steady_clock::now();
        const auto tok = gander::load_world_tokenizer(vocab);
        const double load_s = seconds_since(t_load);

        const std::string text = generate_text(static_cast<std::size_t>(mb * 1e6));
        std::vector<std::int32_t> ids;
        std::string back;
        double encode_s = 1e30, decode_s = 1e30;
        for (int r = 0; r < runs; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            ids = tok->encode(text);
            encode_s = std::min(encode_s, seconds_since(t0));
            t0 = std::chrono::steady_clock::now();
            back = tok->decode(ids);
            decode_s = std::min(decode_s, seconds_since(t0));
        }
        if (back != text) {
            std::fprintf(stderr, "gander-bench-tokenizer: decode(encode(text)) != text\n");
            return 1;
        }
        const double text_mb = static_cast<double>(text.size()) / 1e6;
        std::printf("vocabulary   %s (%d tokens, loaded in %.0f ms)\n", vocab.c_str(),
                    tok->vocab_size(), load_s * 1e3);
        std::printf("text         %.1f MB mixed English / code / Chinese / emoji\n", text_mb);
        std::printf("tokens       %zu (%.2f bytes per token)\n", ids.size(),
                    static_cast<double>(text.size()) / static_cast<double>(ids.size()));
        std::printf("encode       %.1f MB/s (%.2f M tokens/s)\n", text_mb / encode_s,
                    static_cast<double>(ids.size()) / encode_s / 1e6);
        std::printf("decode       %.1f MB/s\n", text_mb / decode_s);
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "gander-bench-tokenizer: %s\n", e.what());
        return 1;
    }
}
