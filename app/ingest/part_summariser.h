// Summarising a document too long for one prompt: each part is read into a fresh state (through
// the StateCache, so a second summary of the same document reads nothing again), asked for a
// short summary, and the summaries are returned for the last step, which the caller runs as an
// ordinary streamed reply to combineRequest(name, summaries).
//
// Runs on the engine's thread with its Session (EngineWorker), like DocumentPrefill. The session
// ends in an unspecified state: the caller rebuilds or restores the conversation afterwards.
#pragma once

#include "document_prompt.h"
#include "state_cache.h"

#include <gander/gander.h>
#include <gander/sampler.h>
#include <gander/tokenizer.h>

#include <QStringList>

#include <functional>

namespace gander::ingest {

struct PartSummaryOptions {
    gander::SamplerParams sampling{0.0f, 0.3f, 0, 0.5f, 0.5f, 0.996f, 0}; // greedy: repeatable
    int maxTokensPerPart = 400;
    std::string systemTurn; // e.g. format_chat_turn({System, ...}); fed before each part
};

// (part, parts, done in [0, 1] of that part's reading) -> false to cancel (throws Cancelled).
using PartProgress = std::function<bool(int part, int parts, double done)>;
// Called with each summary as it is finished (for showing them while the rest are read).
using PartDone = std::function<void(int part, int parts, const QString& summary)>;

QStringList summariseParts(gander::Session& session, const gander::Tokenizer& tokenizer,
                           const DocumentPlan& plan, StateCache* cache,
                           const PartSummaryOptions& options = {},
                           const PartProgress& progress = {}, const PartDone& partDone = {});

} // namespace gander::ingest
