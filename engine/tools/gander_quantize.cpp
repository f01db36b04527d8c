// gander-quantize: converts an RWKV-7 model (.pth or .safetensors) to a Gander weight file of a
// given precision (int8, int4, or fp16/bf16/fp32), the same file the engine caches on first load.
#include <cstdio>
#include <cstring>
#include <string>

#include "gander/gander.h"
#include "model/quantize.h"

int main(int argc, char** argv) {
    std::string in, out, precision;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--precision") && i + 1 < argc) precision = argv[++i];
        else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
            std::printf("usage: gander-quantize IN OUT --precision int8|int4|fp16|bf16|fp32\n");
            return 0;
        } else if (argv[i][0] == '-') {
            std::fprintf(stderr, "gander-quantize: unknown option %s\n", argv[i]);
            return 2;
        } else if (in.empty()) in = argv[i];
        else if (out.empty()) out = argv[i];
        else {
            std::fprintf(stderr, "gander-quantize: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    const auto p = gander::parse_precision(precision);
    if (in.empty() || out.empty() || !p) {
        std::fprintf(stderr, "usage: gander-quantize IN OUT --precision int8|int4|fp16|bf16|fp32\n");
        return 2;
    }
    try {
        int last = -1;
        auto progress = [&](double d) {
            const int pct = int(d * 100);
            if (pct != last) std::fprintf(stderr, "\r%s: %3d%%", out.c_str(), last = pct);
            return true;
        };
        auto src = gander::model::load_weights(in);
        auto q = gander::model::convert_weights(src, *p, progress);
        gander::model::write_weight_cache(*q, *p, out, *src);
        std::fprintf(stderr, "\n%s: %s, from %s (fingerprint %s)\n", out.c_str(),
                     gander::model::precision_scheme(*p).c_str(), in.c_str(),
                     src->fingerprint.c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\ngander-quantize: %s\n", e.what());
        return 1;
    }
}
