// Engine worker: model loading, state restore/rebuild, the generation loop, state saving.
#include "engine_worker.h"

#include "chat_store.h"
#include "document_prefill.h"
#include "document_prompt.h"
#include "part_summariser.h"
#include "token_counter.h"

#include <gander/chat.h>
#include <gander/gander.h>
#include <gander/sampler.h>
#include <gander/tokenizer.h>

#include <QDir>
#include <QFileInfo>
#include <QRandomGenerator>

#include <algorithm>
#include <vector>

using namespace Qt::StringLiterals;

namespace gander::app {

namespace {

constexpr auto kWorldVocab = "rwkv_vocab_v20230424.txt";
// Text goes to the GUI at most this often while a reply streams.
constexpr qint64 kBatchMs = 33;

std::string utf8(const QString& s) {
    return s.toUtf8().toStdString();
}
QString qstr(std::string_view s) {
    return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

gander::ChatRole chatRole(Role role) {
    switch (role) {
    case Role::System:
        return gander::ChatRole::System;
    case Role::Assistant:
        return gander::ChatRole::Assistant;
    case Role::User:
        break;
    }
    return gander::ChatRole::User;
}

// Calls `report` at most every 1 % of progress; returns false (cancel) once a stop is requested.
gander::Progress throttled(std::function<bool()> stopped, std::function<void(double)> report) {
    auto last = std::make_shared<double>(-1.0);
    return [stopped = std::move(stopped), report = std::move(report), last](double done) {
        if (done - *last >= 0.01 || done >= 1.0) {
            *last = done;
            report(done);
        }
        return !stopped();
    };
}

} // namespace

EngineWorker::EngineWorker(const QString& databasePath, QObject* parent)
    : QObject(parent), m_databasePath(databasePath) {}

// Defined here, where the engine's types are complete.
EngineWorker::~EngineWorker() = default;

bool EngineWorker::ensureStore() {
    if (m_store && m_store->isOpen()) return true;
    m_store = std::make_unique<ChatStore>();
    return m_store->open(m_databasePath);
}

void EngineWorker::loadModel(const ModelRequest& request) {
    m_session.reset();
    m_model.reset();
    m_tokenizer.reset();
    invalidate();
    try {
        gander::LoadOptions options;
        if (auto b = gander::parse_backend(utf8(request.backend))) options.backend = *b;
        if (!request.precision.isEmpty()) {
            auto p = gander::parse_precision(utf8(request.precision));
            if (!p) throw gander::Error("unknown precision " + utf8(request.precision));
            options.precision = *p;
        }
        options.threads = request.threads;
        options.cache_dir = utf8(request.weightCacheDir);
        options.progress = throttled([this] { return stopRequested(); },
                                     [this](double d) { emit modelLoadProgress(d); });
        auto model = gander::load_model(utf8(request.path), options);
        const gander::ModelInfo& info = model->info();

        // The tokenizer follows the vocabulary size: byte-level models (and small test models)
        // read bytes; the 65536-entry RWKV World models need the World vocabulary file.
        std::unique_ptr<gander::Tokenizer> tokenizer;
        if (!request.vocabPath.isEmpty()) {
            tokenizer = gander::load_tokenizer(utf8(request.vocabPath));
        } else if (info.shape.vocab <= 512) {
            tokenizer = gander::make_byte_tokenizer();
        } else {
            QStringList dirs{QFileInfo(request.path).absolutePath()};
            dirs += request.vocabSearchDirs;
            QString found;
            for (const QString& dir : dirs) {
                const QString candidate = QDir(dir).filePath(QLatin1StringView(kWorldVocab));
                if (QFileInfo::exists(candidate)) {
                    found = candidate;
                    break;
                }
            }
            if (found.isEmpty())
                throw gander::Error(
                    "this model uses the RWKV World vocabulary: put rwkv_vocab_v20230424.txt "
                    "next to the model file, or choose it in Settings > Model");
            tokenizer = gander::load_world_tokenizer(utf8(found));
        }
        if (tokenizer->vocab_size() > info.shape.vocab)
            throw gander::Error("the tokenizer has " + std::to_string(tokenizer->vocab_size()) +
                                " tokens but the model only " + std::to_string(info.shape.vocab));

        m_session = model->new_session();
        m_model = std::move(model);
        m_tokenizer = std::move(tokenizer);

        ModelStatus status;
        status.path = request.path;
        status.name = QFileInfo(request.path).completeBaseName();
        status.fingerprint = qstr(info.fingerprint);
        status.backend = qstr(gander::to_string(info.backend));
        status.device = qstr(info.device);
        status.note = qstr(info.backend_note);
        status.precision = qstr(gander::to_string(info.precision));
        status.tokenizer = qstr(m_tokenizer->name());
        status.weightBytes = qint64(info.weight_bytes);
        status.stateBytes = qint64(gander::state_size_f32(info.shape));
        status.parameters = info.n_params;
        status.vocab = info.shape.vocab;
        emit modelLoaded(status);
    } catch (const gander::Cancelled&) {
        emit modelLoadFailed(tr("Loading was cancelled."));
    } catch (const std::exception& e) {
        m_session.reset();
        m_model.reset();
        emit modelLoadFailed(QString::fromUtf8(e.what()));
    }
}

void EngineWorker::unloadModel() {
    m_session.reset();
    m_model.reset();
    m_tokenizer.reset();
    invalidate();
    emit modelUnloaded();
}

void EngineWorker::forget(qint64 conversationId) {
    if (m_conversation == conversationId) invalidate();
}

ingest::StateCache* EngineWorker::documentStates() {
    if (!m_documentStates)
        m_documentStates = std::make_unique<ingest::StateCache>(
            QFileInfo(m_databasePath).absoluteDir().filePath(u"document-states"_s));
    return m_documentStates.get();
}

bool EngineWorker::ensureState(qint64 conversationId, qint64 leafId, bool* restored) {
    *restored = false;
    if (m_conversation == conversationId && m_leaf == leafId) return true;
    const std::string fingerprint = m_model->info().fingerprint;

    // The saved state is a cache: use it only if it ends at this message and came from this model.
    if (auto saved = m_store->loadState(conversationId);
        saved && saved->messageId == leafId && saved->fingerprint == qstr(fingerprint)) {
        try {
            const auto* data = reinterpret_cast<const std::uint8_t*>(saved->blob.constData());
            m_session->load_state({data, std::size_t(saved->blob.size())});
            m_conversation = conversationId;
            m_leaf = leafId;
            *restored = true;
            return true;
        } catch (const gander::Error& e) {
            qWarning("conversation %lld: saved state unusable (%s); reading the text again",
                     conversationId, e.what());
        }
    }

    // Rebuild from the text: the system prompt and every turn of the branch, each closed by "\n\n".
    invalidate();
    const auto conversation = m_store->conversation(conversationId);
    if (!conversation)
        throw gander::Error("conversation " + std::to_string(conversationId) +
                            " is not in the database");
    // The system turn and the attached documents that open the conversation are read through
    // the document state cache (ingest/document_prefill.h): a document read before, in this
    // conversation or another, is not read again.
    std::vector<std::string> prefix;
    std::string text;
    if (!conversation->systemPrompt.trimmed().isEmpty())
        prefix.push_back(
            gander::format_chat_turn({gander::ChatRole::System, utf8(conversation->systemPrompt)}));
    bool documents = false, leading = true;
    for (const Message& m : m_store->path(leafId)) {
        std::string turn = gander::format_chat_turn({chatRole(m.role), utf8(m.text)});
        if (leading && m.role == Role::User && ingest::isDocumentMessage(m.text)) {
            prefix.push_back(std::move(turn));
            documents = true;
        } else {
            leading = false;
            text += turn;
        }
    }
    if (!documents) {
        for (auto it = prefix.rbegin(); it != prefix.rend(); ++it) text.insert(0, *it);
        prefix.clear();
    }
    m_session->reset();
    const auto progress =
        throttled([this] { return stopRequested(); },
                  [this, conversationId](double d) { emit rebuildProgress(conversationId, d); });
    if (!prefix.empty() || !text.empty()) emit rebuildProgress(conversationId, 0.0);
    if (!prefix.empty())
        ingest::DocumentPrefill::runTurns(*m_session, *m_tokenizer, prefix, documentStates(),
                                          progress);
    if (!text.empty()) m_session->prefill(m_tokenizer->encode(text), progress);
    if (!prefix.empty() || !text.empty()) emit rebuildProgress(conversationId, 1.0);
    m_conversation = conversationId;
    m_leaf = leafId;
    return true;
}

void EngineWorker::prepare(qint64 conversationId, qint64 leafId) {
    if (!m_model) {
        emit prepareFailed(conversationId, tr("No model is loaded."));
        return;
    }
    if (!ensureStore()) {
        emit prepareFailed(conversationId, m_store->error());
        return;
    }
    try {
        bool restored = false;
        ensureState(conversationId, leafId, &restored);
        emit prepared(conversationId, leafId, m_session->tokens_absorbed(), restored);
    } catch (const gander::Cancelled&) {
        invalidate();
        emit prepareFailed(conversationId, tr("Stopped while reading the conversation."));
    } catch (const std::exception& e) {
        invalidate();
        emit prepareFailed(conversationId, QString::fromUtf8(e.what()));
    }
}

void EngineWorker::generate(const GenerateRequest& request) {
    if (!ensureStore()) {
        emit replyFailed(0, m_store->error());
        return;
    }
    const auto user = m_store->message(request.userMessageId);
    if (!user) {
        emit replyFailed(0, tr("Message %1 is not in the database.").arg(request.userMessageId));
        return;
    }
    if (!m_model) {
        emit replyFailed(user->conversationId, tr("No model is loaded."));
        return;
    }
    replyTo(*user, request);
}

void EngineWorker::summarise(const SummariseRequest& request) {
    const qint64 conversationId = request.conversationId;
    if (!ensureStore()) {
        emit replyFailed(conversationId, m_store->error());
        return;
    }
    if (!m_model) {
        emit replyFailed(conversationId, tr("No model is loaded."));
        return;
    }
    QStringList messages;
    int inParts = 0, partsTotal = 0;
    QString current;                // the document being summarised, for the messages
    std::vector<std::uint8_t> kept; // the conversation's state before, to come back to it
    try {
        const auto conversation = m_store->conversation(conversationId);
        if (!conversation)
            throw gander::Error("conversation " + std::to_string(conversationId) +
                                " is not in the database");
        // Summarising uses the session; in a conversation under way, keep its state to come back
        // to (a new conversation is read through the document cache, which costs nothing).
        if (request.parentId != 0) {
            bool restored = false;
            ensureState(conversationId, request.parentId, &restored);
            kept = m_session->save_state(gander::StateDtype::F32);
        }
        // The engine's own tokenizer measures and cuts; the counter does not outlive this call.
        const ingest::TokenCounter counter(
            std::shared_ptr<const gander::Tokenizer>(m_tokenizer.get(), [](auto*) {}));
        ingest::PartSummaryOptions options;
        options.maxTokensPerPart = request.maxTokensPerPart;
        if (!conversation->systemPrompt.trimmed().isEmpty())
            options.systemTurn = gander::format_chat_turn(
                {gander::ChatRole::System, utf8(conversation->systemPrompt)});
        for (const ingest::Document& document : request.documents) {
            const ingest::DocumentPlan plan =
                ingest::planDocument(document, counter, request.budget, request.partBudget);
            if (!plan.inParts) {
                messages += ingest::documentMessageText(document);
                continue;
            }
            current = document.name;
            invalidate(); // summariseParts leaves the session in no conversation's state
            // At most every 1 % of a part, and at each new part; false stops (Cancelled).
            int lastPart = 0;
            double lastDone = -1;
            const auto progress = [&](int part, int parts, double done) {
                if (part != lastPart || done - lastDone >= 0.01 ||
                    (done >= 1.0 && lastDone < 1.0)) {
                    lastPart = part;
                    lastDone = done;
                    emit partsProgress(conversationId, document.name, part, parts, done);
                }
                return !stopRequested();
            };
            const auto partDone = [&](int part, int parts, const QString& summary) {
                emit partSummarised(conversationId, document.name, part, parts, summary);
            };
            const QStringList summaries = ingest::summariseParts(
                *m_session, *m_tokenizer, plan, documentStates(), options, progress, partDone);
            messages += ingest::partsMessageText(document, plan.tokens, summaries);
            ++inParts;
            partsTotal += int(summaries.size());
        }
    } catch (const gander::Cancelled&) {
        invalidate();
        emit replyFailed(conversationId,
                         tr("Stopped while summarising “%1”: nothing was stored, the documents "
                            "are still attached.")
                             .arg(current));
        return;
    } catch (const std::exception& e) {
        invalidate();
        emit replyFailed(
            conversationId,
            current.isEmpty()
                ? QString::fromUtf8(e.what())
                : tr("Summarising “%1” failed: %2").arg(current, QString::fromUtf8(e.what())));
        return;
    }
    messages += request.after;
    qint64 parent = request.parentId;
    for (const QString& text : std::as_const(messages)) {
        parent = m_store->addMessage(conversationId, parent, Role::User, text);
        if (!parent) {
            emit replyFailed(conversationId, m_store->error());
            return;
        }
    }
    const qint64 question =
        m_store->addMessage(conversationId, parent, Role::User, request.question);
    const auto user = question ? m_store->message(question) : std::nullopt;
    if (!user) {
        emit replyFailed(conversationId, m_store->error());
        return;
    }
    emit partsStored(conversationId, question, inParts, partsTotal);
    if (!kept.empty()) {
        // Back to the conversation, then the new messages on top: nothing before is read again.
        try {
            m_session->load_state(kept);
            qint64 id = request.parentId;
            QList<Message> added = m_store->path(user->parentId);
            while (!added.isEmpty() && added.first().id != request.parentId) added.removeFirst();
            if (!added.isEmpty()) added.removeFirst(); // the parent itself is in the state
            for (const Message& m : std::as_const(added)) {
                if (stopRequested()) break;
                m_session->prefill(m_tokenizer->encode(
                    gander::format_chat_turn({chatRole(m.role), utf8(m.text)})));
                id = m.id;
            }
            m_conversation = conversationId;
            m_leaf = id;
        } catch (const std::exception& e) {
            invalidate(); // replyTo() reads the conversation again
            qWarning("summarise: kept state not usable (%s)", e.what());
        }
    }
    replyTo(*user, request.reply);
}

void EngineWorker::replyTo(const Message& user, const GenerateRequest& request) {
    const qint64 conversationId = user.conversationId;
    try {
        bool restored = false;
        ensureState(conversationId, user.parentId, &restored);
        const auto prompt = m_tokenizer->encode(gander::format_chat_continuation(utf8(user.text)));
        m_session->prefill(prompt, throttled([this] { return stopRequested(); }, [](double) {}));
        invalidate(); // from here on the session is past any message boundary
        emit replyStarted(conversationId, user.id, int(prompt.size()));

        gander::SamplerParams params;
        params.temperature = float(request.sampling.temperature);
        params.top_p = float(request.sampling.topP);
        params.top_k = request.sampling.topK;
        params.presence_penalty = float(request.sampling.presencePenalty);
        params.frequency_penalty = float(request.sampling.frequencyPenalty);
        params.penalty_decay = float(request.sampling.penaltyDecay);
        params.seed = request.sampling.seed ? request.sampling.seed
                                            : QRandomGenerator::global()->generate64();
        gander::Sampler sampler(params);
        gander::TokenStream stream(*m_tokenizer);
        gander::ReplyStop stop;
        // Ids the tokenizer cannot decode (a model vocabulary padded past the tokenizer's) are
        // never sampled: the sampler sees only the logits before them, read where the session
        // keeps them (no copy a token).
        const std::size_t usable = std::size_t(m_tokenizer->vocab_size());

        ReplyStats stats;
        stats.prefillTokens = int(prompt.size());
        stats.finish = FinishReason::Length;
        QElapsedTimer clock, batch;
        clock.start();
        batch.start();
        QString pending;
        bool closed = false; // the state already ends with the turn separator
        // The first token from the prompt's logits; then each step feeds a token and draws the
        // next from its output (Session::feed_sampled: on the card where the backend can, so the
        // logits need not come over).
        const auto first = m_session->logits();
        std::int32_t token = sampler.sample(first.first(std::min(usable, first.size())));
        for (int i = 0; i < request.maxTokens; ++i) {
            if (stopRequested()) {
                stats.finish = FinishReason::Stopped;
                break;
            }
            if (stop.push_token(token)) {
                stats.finish = FinishReason::Done;
                break;
            }
            pending += qstr(stop.push(stream.push(token)));
            token = m_session->feed_sampled(token, sampler, std::int32_t(usable));
            ++stats.tokens;
            if (stop.done()) {
                stats.finish = FinishReason::Done;
                closed = true;
                break;
            }
            if (batch.elapsed() >= kBatchMs && !pending.isEmpty()) {
                const double seconds = clock.nsecsElapsed() / 1e9;
                emit replyText(conversationId, pending, stats.tokens, stats.tokens / seconds);
                pending.clear();
                batch.restart();
            }
        }
        if (!stop.done()) pending += qstr(stop.push(stream.finish()));
        const double seconds = clock.nsecsElapsed() / 1e9;
        stats.tokensPerSecond = seconds > 0 ? stats.tokens / seconds : 0;
        if (!pending.isEmpty())
            emit replyText(conversationId, pending, stats.tokens, stats.tokensPerSecond);
        // Close the turn in the state as the text will read: "...reply\n\n".
        if (!closed) m_session->prefill(m_tokenizer->encode("\n\n"));

        const QString reply = qstr(gander::clean_chat_text(stop.text()));
        const qint64 replyId =
            m_store->addMessage(conversationId, user.id, Role::Assistant, reply, stats);
        if (replyId == 0) {
            emit replyFailed(conversationId, m_store->error());
            return;
        }
        emit replyFinished(conversationId, replyId, stats);

        const auto blob = m_session->save_state(gander::StateDtype::F32);
        SavedState state{
            conversationId, replyId, qstr(m_model->info().fingerprint),
            m_session->tokens_absorbed(),
            QByteArray(reinterpret_cast<const char*>(blob.data()), qsizetype(blob.size()))};
        m_conversation = conversationId;
        m_leaf = replyId;
        if (m_store->saveState(state))
            emit stateSaved(conversationId, replyId, state.tokens, state.blob.size());
    } catch (const gander::Cancelled&) {
        invalidate();
        emit replyFailed(conversationId, tr("Stopped before the reply began."));
    } catch (const std::exception& e) {
        invalidate();
        emit replyFailed(conversationId, QString::fromUtf8(e.what()));
    }
}

} // namespace gander::app
