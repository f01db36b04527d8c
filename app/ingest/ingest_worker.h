// Long ingestion work off the GUI thread: reading and measuring attached documents, scanning and
// indexing a codebase, building the context for a question. (Prefilling a document is the
// engine's work: EngineWorker calls DocumentPrefill on its own thread.)
//
// IngestHost owns a QThread and the IngestWorker on it, as EngineHost does for the engine: calls
// return at once, results arrive as the worker's signals, queued to the caller's thread. cancel()
// is thread-safe and stops the scan or indexing in progress at the next file, and every request
// queued before it: like EngineHost, the host numbers its requests, so a cancel pressed before its
// request began is not lost (the request ends cancelled as soon as it starts).
#pragma once

#include "code_index.h"
#include "document_prompt.h"
#include "ingest_types.h"
#include "request_gate.h"
#include "token_counter.h"

#include <QObject>
#include <QThread>

#include <atomic>
#include <memory>

namespace gander::ingest {

class IngestWorker final : public QObject {
    Q_OBJECT
public:
    explicit IngestWorker(QObject* parent = nullptr);
    ~IngestWorker() override;
    Q_DISABLE_COPY_MOVE(IngestWorker)

    // Thread-safe: cancels every request numbered up to `request` (IngestHost numbers them in the
    // order it queues them). The one running stops at its next file; queued ones end cancelled.
    void requestCancel(quint64 request) { m_gate.cancelUpTo(request); }
    // Called on the worker's thread just before request number `request` runs.
    void beginRequest(quint64 request) { m_gate.begin(request); }
    // Call on the worker's thread (IngestHost::setTokenizer queues it).
    void setTokenizer(std::shared_ptr<const gander::Tokenizer> tokenizer);

public slots:
    // The tokenizer the loaded model uses, by its name (gander::Tokenizer::name()): "bytes", or
    // "rwkv-world" (rwkv_vocab_v20230424.txt: `vocabPath` if set, else the first found in
    // `searchDirs`), or "sentencepiece" (`vocabPath`). When it cannot be loaded, counts stay
    // estimates.
    void loadTokenizer(const QString& name, const QString& vocabPath,
                       const QStringList& searchDirs);
    // Reads and measures a document; plans parts (of at most `partBudget` tokens) when it is
    // over `budget` tokens.
    void loadDocument(const QString& path, int budget, int partBudget = kDefaultPartBudget);
    void loadText(const QString& name, const QString& text, int budget,
                  int partBudget = kDefaultPartBudget);
    // Scans `root`, then updates the index in `indexPath` (created if needed).
    void indexCodebase(const QString& root, const QString& indexPath);
    // The context for `question` from the last indexed codebase.
    void buildContext(qint64 requestId, const QString& question, int budget);

signals:
    // The counter now in use (after setTokenizer or loadTokenizer): copies are cheap and
    // thread-safe, so the GUI can count with it too (the transcript's document chips).
    void counterChanged(const gander::ingest::TokenCounter& counter);
    void documentLoaded(const gander::ingest::Document& document, int tokens, bool exact,
                        const QString& notice);
    void documentFailed(const QString& path, const QString& message);
    void scanFinished(const gander::ingest::FileSetResult& files);
    void indexProgress(int done, int total, double filesPerSecond);
    void indexFinished(const gander::ingest::IndexReport& report);
    void contextReady(qint64 requestId, const gander::ingest::CodeContext& context);
    void contextFailed(qint64 requestId, const QString& message);

private:
    void measure(const Document& document, int budget, int partBudget);

    TokenCounter m_counter;
    std::unique_ptr<CodeIndex> m_index;
    QString m_root;
    RequestGate m_gate; // what the running request polls (request_gate.h)
};

class IngestHost final : public QObject {
    Q_OBJECT
public:
    explicit IngestHost(QObject* parent = nullptr);
    ~IngestHost() override;
    Q_DISABLE_COPY_MOVE(IngestHost)

    IngestWorker* worker() const { return m_worker; }
    void setTokenizer(std::shared_ptr<const gander::Tokenizer> tokenizer);
    void loadTokenizer(const QString& name, const QString& vocabPath,
                       const QStringList& searchDirs);
    void loadDocument(const QString& path, int budget = kDefaultDocumentBudget,
                      int partBudget = kDefaultPartBudget);
    void loadText(const QString& name, const QString& text, int budget = kDefaultDocumentBudget,
                  int partBudget = kDefaultPartBudget);
    void indexCodebase(const QString& root, const QString& indexPath);
    void buildContext(qint64 requestId, const QString& question, int budget);
    // Stops the indexing running and every request queued before this call.
    void cancel() { m_worker->requestCancel(m_issued); }

    // Where the index of `root` lives under the app's data folder: one SQLite file per folder.
    static QString indexPathFor(const QString& dataDir, const QString& root);

private:
    template <typename F> void post(F&& call);

    QThread m_thread;
    IngestWorker* m_worker; // lives on m_thread; deleted there when it finishes
    quint64 m_issued = 0;   // requests numbered in the order they are queued
};

} // namespace gander::ingest
