// Map step of summarise-in-parts: read a part, ask, generate until the reply ends.
#include "part_summariser.h"

#include "document_prefill.h"

#include <gander/chat.h>

#include <algorithm>

namespace gander::ingest {

QStringList summariseParts(gander::Session& session, const gander::Tokenizer& tokenizer,
                           const DocumentPlan& plan, StateCache* cache,
                           const PartSummaryOptions& options, const PartProgress& progress,
                           const PartDone& partDone) {
    QStringList summaries;
    const int parts = int(plan.parts.size());
    const std::vector<std::int32_t> system = tokenizer.encode(options.systemTurn);
    const std::size_t usable = std::size_t(tokenizer.vocab_size());
    for (int i = 0; i < parts; ++i) {
        const int part = i + 1;
        auto report = [&](double done) { return !progress || progress(part, parts, done); };
        if (!report(0.0)) throw gander::Cancelled();

        // The system turn and the part are cached as two steps, so the system state is shared.
        QByteArray key;
        if (!system.empty()) key = DocumentPrefill::run(session, system, cache).key;
        const std::vector<std::int32_t> tokens = tokenizer.encode(plan.parts[std::size_t(i)]);
        DocumentPrefill::run(session, tokens, cache, report, key.isEmpty() ? QByteArray() : key);
        session.prefill(tokenizer.encode(
            gander::format_chat_continuation(partSummaryRequest(part, parts).toStdString())));

        gander::Sampler sampler(options.sampling);
        gander::TokenStream stream(tokenizer);
        gander::ReplyStop stop;
        // As the app's replies: the first token from the request's logits, then each step feeds
        // one and draws the next (on the card where the backend can).
        const auto out = session.logits();
        std::int32_t token = sampler.sample(out.first(std::min(usable, out.size())));
        for (int t = 0; t < options.maxTokensPerPart && !stop.done(); ++t) {
            if (!report(1.0)) throw gander::Cancelled();
            if (stop.push_token(token)) break;
            stop.push(stream.push(token));
            token = session.feed_sampled(token, sampler, std::int32_t(usable));
        }
        if (!stop.done()) stop.push(stream.finish());
        const QString summary = QString::fromStdString(gander::clean_chat_text(stop.text()));
        summaries += summary;
        if (partDone) partDone(part, parts, summary);
    }
    return summaries;
}

} // namespace gander::ingest
