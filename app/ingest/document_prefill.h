// Feeds a document's tokens to a session, or restores the state they lead to from the StateCache.
// Made for the EngineWorker, which owns the Session on its thread: it calls run() where it would
// have called Session::prefill() for the document's turn.
//
//   ingest::StateCache cache(dataDir + "/document-states");
//   auto tokens = tokenizer.encode(ingest::documentTurn(document));
//   auto result = ingest::DocumentPrefill::run(*session, tokens, &cache, progress);
//   // then prefill the question's turn as usual (logits() is empty after a restore)
#pragma once

#include "state_cache.h"

#include <gander/gander.h>
#include <gander/tokenizer.h>

#include <QByteArray>

namespace gander::ingest {

struct PrefillResult {
    bool fromCache = false;
    qint64 tokensFed = 0; // 0 when restored from the cache
    double seconds = 0;
    double tokensPerSecond = 0;
    QByteArray key; // of the state after the document: the startKey for a following document
};

class DocumentPrefill final {
public:
    // With an empty `startKey` the session is reset to the zero state first (the usual case: the
    // document opens the conversation, after an optional system turn passed as an earlier run()).
    // Otherwise the session must hold the state that `startKey` names (a previous run's key).
    // `cache` may be null (no caching). Throws gander::Cancelled when `progress` returns false
    // (the session is then as before the call) and gander::Error on engine errors.
    static PrefillResult run(gander::Session& session, std::span<const std::int32_t> tokens,
                             StateCache* cache, const gander::Progress& progress = {},
                             const QByteArray& startKey = {});

    // Several turns from the zero state, each cached as its own step (a system turn, then one or
    // more document turns), so that a shared system prompt is read once and every later document
    // finds its state. Progress runs over all their tokens. The result adds up the steps:
    // fromCache when none needed a prefill, tokensFed their sum, key the last step's.
    static PrefillResult runTurns(gander::Session& session, const gander::Tokenizer& tokenizer,
                                  const std::vector<std::string>& turns, StateCache* cache,
                                  const gander::Progress& progress = {});
};

} // namespace gander::ingest
