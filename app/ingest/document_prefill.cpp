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

} // namespace gander::ingest
