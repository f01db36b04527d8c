// The engine on its own thread: loads the model, keeps one session for the conversation on
// screen, streams replies and saves each conversation's state after every reply.
//
// Lives on the thread EngineHost owns. Requests arrive as queued calls to the public slots;
// results leave as signals (queued to the GUI thread). Text is sent in batches (at most ~30 per
// second), never per token. The worker opens its own ChatStore connection, so replies and the
// large state blobs are written off the GUI thread. requestStop() is the one call made directly
// from another thread.
#pragma once

#include "chat_types.h"

#include <ingest_types.h>
#include <request_gate.h>

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QStringList>

#include <atomic>
#include <memory>

namespace gander {
class Model;
class Session;
class Tokenizer;
} // namespace gander

namespace gander::ingest {
class StateCache;
}

namespace gander::app {

class ChatStore;

struct ModelRequest {
    QString path;
    QString backend = QStringLiteral("auto"); // auto, cpu, cuda
    QString precision;                        // empty: the backend's choice
    int threads = 0;
    QString vocabPath;           // empty: bytes for small vocabularies, else the World vocabulary
    QStringList vocabSearchDirs; // where to look for rwkv_vocab_v20230424.txt
    QString weightCacheDir;      // int8/int4 conversions are cached here (empty: not cached)
};

struct ModelStatus {
    QString name; // file name without extension
    QString path;
    QString fingerprint;
    QString backend; // "cpu" / "cuda"
    QString device;
    QString note; // why this backend
    QString precision;
    QString tokenizer;
    qint64 weightBytes = 0;
    qint64 stateBytes = 0;
    qint64 parameters = 0;
    int vocab = 0;
};

struct Sampling {
    double temperature = 1.0;
    double topP = 0.3;
    int topK = 0;
    double presencePenalty = 0.5;
    double frequencyPenalty = 0.5;
    double penaltyDecay = 0.996;
    quint64 seed = 0; // 0: a fresh seed per reply
};

struct GenerateRequest {
    qint64 userMessageId = 0; // the reply becomes this message's child
    Sampling sampling;
    int maxTokens = 1024;
};

// Documents sent with a question, one or more of them too long for one prompt (64K tokens): each
// long one is summarised part by part (ingest::summariseParts) and stands in the chat as a
// message of its part summaries (ingest::partsMessageText); the others go in whole. Then the
// `after` messages (a codebase context), then the question, and the reply as generate() makes it.
// Nothing is stored until every part is summarised, so a cancel loses nothing and stores nothing.
struct SummariseRequest {
    qint64 conversationId = 0;
    qint64 parentId = 0; // the messages go below this one (0: they open the conversation)
    QList<gander::ingest::Document> documents;
    QStringList after;
    QString question;
    int budget = 64 * 1024;     // a document over this many tokens is summarised in parts
    int partBudget = 16 * 1024; // the most tokens in one part
    int maxTokensPerPart = 400;
    GenerateRequest reply; // sampling and length of the reply (userMessageId is not used)
};

class EngineWorker final : public QObject {
    Q_OBJECT
public:
    explicit EngineWorker(const QString& databasePath, QObject* parent = nullptr);
    ~EngineWorker() override;
    Q_DISABLE_COPY_MOVE(EngineWorker)

    // Thread-safe: cancels every request numbered up to `request` (EngineHost numbers them in
    // the order it queues them): the one running stops at its next token or chunk, queued ones
    // end as soon as they start. A stop pressed before its request began is not lost.
    void requestStop(quint64 request) { m_gate.cancelUpTo(request); }
    // Called on the worker thread just before request number `request` runs.
    void beginRequest(quint64 request) { m_gate.begin(request); }

public slots:
    void loadModel(const gander::app::ModelRequest& request);
    void unloadModel();
    // Makes the session hold conversation `conversationId` up to message `leafId` (0: empty),
    // from the saved state when it is valid, else by reading the text again.
    void prepare(qint64 conversationId, qint64 leafId);
    void generate(const gander::app::GenerateRequest& request);
    // Ends like generate(): replyFinished or replyFailed, once.
    void summarise(const gander::app::SummariseRequest& request);
    // Forgets the session (e.g. after the conversation was deleted).
    void forget(qint64 conversationId);

signals:
    void modelLoadProgress(double done);
    void modelLoaded(const gander::app::ModelStatus& status);
    void modelLoadFailed(const QString& message);
    void modelUnloaded();
    // Reading a conversation's text again because its state was missing, stale or damaged.
    void rebuildProgress(qint64 conversationId, double done);
    void prepared(qint64 conversationId, qint64 leafId, qint64 tokensAbsorbed, bool restored);
    // Summarising `document` in `parts` parts: part `part` (1-based), `done` of its reading.
    void partsProgress(qint64 conversationId, const QString& document, int part, int parts,
                       double done);
    void partSummarised(qint64 conversationId, const QString& document, int part, int parts,
                        const QString& summary);
    // summarise() stored its messages (`inParts` documents were summarised, in `parts` parts
    // together) and made `userMessageId`, the question, the leaf; the reply comes next.
    void partsStored(qint64 conversationId, qint64 userMessageId, int inParts, int parts);
    void replyStarted(qint64 conversationId, qint64 userMessageId, int prefillTokens);
    void replyText(qint64 conversationId, const QString& text, int tokens, double tokensPerSecond);
    void replyFinished(qint64 conversationId, qint64 assistantMessageId,
                       const gander::app::ReplyStats& stats);
    void replyFailed(qint64 conversationId, const QString& message);
    // prepare() could not make the state (cancelled, or an engine error); nothing was lost.
    void prepareFailed(qint64 conversationId, const QString& message);
    void stateSaved(qint64 conversationId, qint64 messageId, qint64 tokensAbsorbed, qint64 bytes);

private:
    bool ensureStore();
    bool ensureState(qint64 conversationId, qint64 leafId, bool* restored);
    void invalidate() {
        m_conversation = -1;
        m_leaf = -1;
    }
    void replyTo(const Message& user, const GenerateRequest& request);
    gander::ingest::StateCache* documentStates();
    bool stopRequested() const { return m_gate.cancelled(); }

    QString m_databasePath;
    std::unique_ptr<ChatStore> m_store;
    std::unique_ptr<gander::Model> m_model;
    std::unique_ptr<gander::Tokenizer> m_tokenizer;
    std::unique_ptr<gander::Session> m_session;
    std::unique_ptr<gander::ingest::StateCache> m_documentStates; // made on first use
    // What m_session holds: the text of this conversation up to this message.
    qint64 m_conversation = -1;
    qint64 m_leaf = -1;
    gander::ingest::RequestGate m_gate; // numbered requests and their stops (request_gate.h)
};

} // namespace gander::app

Q_DECLARE_METATYPE(gander::app::ModelRequest)
Q_DECLARE_METATYPE(gander::app::ModelStatus)
Q_DECLARE_METATYPE(gander::app::GenerateRequest)
Q_DECLARE_METATYPE(gander::app::SummariseRequest)
