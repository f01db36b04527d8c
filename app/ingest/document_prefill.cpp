// Document prefill through the state cache.
#include "document_prefill.h"

#include <QElapsedTimer>
#include <QString>

namespace gander::ingest {

PrefillResult DocumentPrefill::run(gander::Session& session, std::span<const std::int32_t> tokens,
                                   StateCache* cache, const gander::Progress& progress,
                                   const QByteArray& startKey) {
    PrefillResult result;
    QElapsedTimer clock;
    clock.start();
    const QString fingerprint = QString::fromStdString(session.model_info().fingerprint);
    result.key = StateCache::key(fingerprint, tokens, startKey);
    if (startKey.isEmpty()) session.reset();

    if (cache) {
        if (auto blob = cache->load(result.key)) {
            try {
                session.load_state(*blob);
                result.fromCache = true;
                result.seconds = clock.nsecsElapsed() / 1e9;
                if (progress) progress(1.0);
                return result;
            } catch (const gander::Error&) {
                cache->remove(result.key); // damaged or foreign: compute it again
            }
        }
    }

    session.prefill(tokens, progress);
    result.tokensFed = qint64(tokens.size());
    result.seconds = clock.nsecsElapsed() / 1e9;
    result.tokensPerSecond = result.seconds > 0 ? double(tokens.size()) / result.seconds : 0;
    if (cache) {
        const auto blob = session.save_state(gander::StateDtype::F32);
        cache->store(result.key, blob);
    }
    return result;
}

PrefillResult DocumentPrefill::runTurns(gander::Session& session,
                                        const gander::Tokenizer& tokenizer,
                                        const std::vector<std::string>& turns, StateCache* cache,
                                        const gander::Progress& progress) {
    std::vector<std::vector<std::int32_t>> tokens;
    std::size_t total = 0;
    for (const std::string& t : turns) {
        tokens.push_back(tokenizer.encode(t));
        total += tokens.back().size();
    }
    PrefillResult sum;
    sum.fromCache = true;
    session.reset();
    std::size_t before = 0;
    for (const auto& step : tokens) {
        if (step.empty()) continue;
        // Each step's fraction mapped onto the whole.
        gander::Progress part;
        if (progress)
            part = [&, before, size = step.size()](double done) {
                return progress((double(before) + done * double(size)) / double(total));
            };
        const PrefillResult r = run(session, step, cache, part, sum.key);
        sum.fromCache = sum.fromCache && r.fromCache;
        sum.tokensFed += r.tokensFed;
        sum.seconds += r.seconds;
        sum.key = r.key;
        before += step.size();
    }
    sum.tokensPerSecond = sum.seconds > 0 ? double(sum.tokensFed) / sum.seconds : 0;
    return sum;
}

} // namespace gander::ingest
