// The glue between the main window and ingestion, so that wiring documents and codebases into the
// window takes a few lines: it owns the IngestHost (its thread) and the three ingestion widgets,
// routes drops and the attach button, and, when the user sends, gives the user messages that must
// go before the question (each attached document, then the codebase context).
//
//   m_ingest = new IngestController(dataDir, this);
//   layout->addWidget(m_ingest->attachments());        // above the composer
//   layout->addWidget(m_ingest->progress());           // under it
//   sidePanel->addWidget(m_ingest->codebase());
//   // dragEnterEvent: if (IngestController::canHandle(mime)) accept; dropEvent: handleDrop(mime)
//   // send(text): m_ingest->prepareSend(text, [=](QStringList before) { add them, then text });
//
// GUI thread only.
#pragma once

#include "attachment_bar.h"
#include "codebase_panel.h"
#include "prefill_progress.h"

#include <document_prompt.h>
#include <ingest_types.h>
#include <token_counter.h>

#include <QHash>
#include <QObject>
#include <QPointer>
#include <QStringList>

#include <functional>
#include <memory>

class QMimeData;
class QWidget;

namespace gander {
class Tokenizer;
}
namespace gander::ingest {
class IngestHost;
}

namespace gander::ui {

class IngestController final : public QObject {
    Q_OBJECT
public:
    // `dataDir`: where the codebase indexes live (<dataDir>/codebases/).
    explicit IngestController(const QString& dataDir, QObject* parent = nullptr);
    ~IngestController() override;
    Q_DISABLE_COPY_MOVE(IngestController)

    // The widgets, made without a parent: the window's layouts take them.
    AttachmentBar* attachments() const { return m_attachments; }
    CodebasePanel* codebase() const { return m_codebase; }
    PrefillProgress* progress() const { return m_progress; }
    gander::ingest::IngestHost* host() const { return m_host.get(); }

    // The model's tokenizer, for exact token counts (until then counts are estimates): given,
    // or loaded on the ingestion thread by name (see IngestWorker::loadTokenizer).
    void setTokenizer(std::shared_ptr<const gander::Tokenizer> tokenizer);
    void loadTokenizer(const QString& name, const QString& vocabPath,
                       const QStringList& searchDirs);
    // The counter the ingestion thread uses (an estimate until a tokenizer is loaded).
    gander::ingest::TokenCounter counter() const { return m_counter; }
    void setCodeBudget(int tokens) { m_codeBudget = tokens; }
    int codeBudget() const { return m_codeBudget; }
    // Whether questions now get codebase context: this thread has taken the last index's report
    // (files indexed, no error).
    bool codebaseIndexed() const { return m_indexed; }
    // A document over `budget` tokens is summarised in parts of at most `partBudget` tokens.
    // Applies to documents attached from now on.
    void setDocumentBudget(int budget, int partBudget = gander::ingest::kDefaultPartBudget);
    int documentBudget() const { return m_documentBudget; }
    int partBudget() const { return m_partBudget; }

    // Local files or folders: a folder becomes the codebase, files are attached.
    static bool canHandle(const QMimeData* mime);
    // The local files a drop or a paste names: text/uri-list, or GNOME's copied-files format.
    static QStringList localPaths(const QMimeData* mime);
    bool handleDrop(const QMimeData* mime);
    void attachPaths(const QStringList& paths);
    void attachText(const QString& name, const QString& text);
    // A long text pasted into the composer: attached as "Pasted text" ("Pasted text 2", ...).
    void attachPastedText(const QString& text);

    // For a send with documents to summarise in parts (the engine does it, not prepareSend):
    // takes every attachment off the bar; restoreAttachments() puts them back after a cancel.
    bool hasDocumentsInParts() const;
    QList<AttachedDocument> takeAttachments();
    void restoreAttachments(const QList<AttachedDocument>& attached);
    // The attach button: a file dialog, then attachPaths().
    void chooseFiles(QWidget* parent);

    // Calls `ready` with the user messages to store before `question`: each attached document
    // (ingest::documentMessageText), then the codebase context for the question when a codebase
    // is indexed. Clears the attachments. `ready` runs later, on this thread, when the codebase
    // context has to be built; at once otherwise. With documents, progress() is started for
    // reading them: feed it the engine's progress, and finish() it when the reply starts.
    void prepareSend(const QString& question, std::function<void(const QStringList&)> ready);

signals:
    // The one-click action: send this as the user's message (the documents are attached).
    void summariseRequested(const QString& prompt);
    // A sentence for the window's banner (a file that could not be attached, an index failure).
    void problem(const QString& message);
    void counterChanged(const gander::ingest::TokenCounter& counter);

private:
    std::unique_ptr<gander::ingest::IngestHost> m_host;
    // Guarded: once in the window's layouts, the window may delete them before this object.
    QPointer<AttachmentBar> m_attachments;
    QPointer<CodebasePanel> m_codebase;
    QPointer<PrefillProgress> m_progress;
    QString m_dataDir;
    gander::ingest::TokenCounter m_counter;
    int m_codeBudget;
    int m_documentBudget = gander::ingest::kDefaultDocumentBudget;
    int m_partBudget = gander::ingest::kDefaultPartBudget;
    int m_pasted = 0;
    bool m_indexed = false;
    qint64 m_nextRequest = 1;
    QHash<qint64, std::function<void(const QStringList&)>> m_pending;
    QHash<qint64, QStringList> m_pendingDocuments;
};

} // namespace gander::ui
