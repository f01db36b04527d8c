// Ingestion glue for the main window: drops, attachments, codebase indexing, messages on send.
#include "ingest_controller.h"

#include "attachment_bar.h"
#include "codebase_panel.h"
#include "prefill_progress.h"

#include <document_prompt.h>
#include <ingest_worker.h>
#include <retriever.h>

#include <QFileDialog>
#include <QFileInfo>
#include <QMimeData>
#include <QUrl>

#include <algorithm>

using namespace Qt::StringLiterals;
using namespace gander::ingest;

namespace gander::ui {

IngestController::IngestController(const QString& dataDir, QObject* parent)
    : QObject(parent), m_host(std::make_unique<IngestHost>()), m_attachments(new AttachmentBar),
      m_codebase(new CodebasePanel), m_progress(new PrefillProgress), m_dataDir(dataDir),
      m_codeBudget(kDefaultCodeBudget) {
    IngestWorker* worker = m_host->worker();
    connect(worker, &IngestWorker::documentLoaded, m_attachments.data(),
            qOverload<const Document&, int, bool, const QString&>(&AttachmentBar::addDocument));
    connect(worker, &IngestWorker::documentFailed, this,
            [this](const QString& path, const QString& message) {
                if (m_attachments) m_attachments->addFailure(path, message);
                emit problem(message);
            });
    connect(worker, &IngestWorker::counterChanged, this, [this](const TokenCounter& counter) {
        m_counter = counter;
        emit counterChanged(counter);
    });
    connect(m_attachments.data(), &AttachmentBar::filesDropped, this,
            &IngestController::attachPaths);
    connect(m_attachments.data(), &AttachmentBar::summariseRequested, this,
            [this] { emit summariseRequested(summariseRequest()); });

    connect(m_codebase.data(), &CodebasePanel::folderChosen, this, [this](const QString& folder) {
        m_indexed = false;
        m_host->indexCodebase(folder, IngestHost::indexPathFor(m_dataDir, folder));
    });
    connect(m_codebase.data(), &CodebasePanel::cancelRequested, this, [this] { m_host->cancel(); });
    connect(worker, &IngestWorker::scanFinished, m_codebase.data(), &CodebasePanel::setScanResult);
    connect(worker, &IngestWorker::indexProgress, m_codebase.data(),
            &CodebasePanel::setIndexProgress);
    connect(worker, &IngestWorker::indexFinished, this, [this](const IndexReport& report) {
        if (m_codebase) m_codebase->setIndexReport(report);
        // A cancelled run keeps what it indexed: questions still get those files.
        m_indexed = report.error.isEmpty() && report.files > 0;
        if (!report.error.isEmpty() && !report.cancelled) emit problem(report.error);
    });
    connect(worker, &IngestWorker::contextReady, this,
            [this](qint64 id, const CodeContext& context) {
                auto ready = m_pending.take(id);
                QStringList messages = m_pendingDocuments.take(id);
                if (!context.text.isEmpty()) messages += context.text;
                if (m_codebase) m_codebase->setContext(context);
                if (ready) ready(messages);
            });
    connect(worker, &IngestWorker::contextFailed, this, [this](qint64 id, const QString& message) {
        auto ready = m_pending.take(id);
        emit problem(message);
        if (ready) ready(m_pendingDocuments.take(id));
    });
}

IngestController::~IngestController() {
    // The widgets may already belong to the window's layouts; those without a parent are ours.
    for (QWidget* w :
         {static_cast<QWidget*>(m_attachments.data()), static_cast<QWidget*>(m_codebase.data()),
          static_cast<QWidget*>(m_progress.data())})
        if (w && !w->parent()) delete w;
}

void IngestController::setTokenizer(std::shared_ptr<const gander::Tokenizer> tokenizer) {
    m_host->setTokenizer(std::move(tokenizer));
}

void IngestController::loadTokenizer(const QString& name, const QString& vocabPath,
                                     const QStringList& searchDirs) {
    m_host->loadTokenizer(name, vocabPath, searchDirs);
}

void IngestController::setDocumentBudget(int budget, int partBudget) {
    m_documentBudget = std::max(256, budget);
    m_partBudget = std::clamp(partBudget, 256, m_documentBudget);
}

QStringList IngestController::localPaths(const QMimeData* mime) {
    QStringList paths;
    if (!mime) return paths;
    if (mime->hasUrls()) {
        for (const QUrl& url : mime->urls())
            if (url.isLocalFile()) paths += url.toLocalFile();
        return paths;
    }
    // Files copied in GNOME Files: "copy\nfile:///a\nfile:///b".
    const QByteArray gnome = mime->data(u"x-special/gnome-copied-files"_s);
    const QList<QByteArray> lines = gnome.split('\n');
    for (qsizetype i = 1; i < lines.size(); ++i) {
        const QUrl url = QUrl::fromEncoded(lines[i].trimmed());
        if (url.isLocalFile()) paths += url.toLocalFile();
    }
    return paths;
}

bool IngestController::canHandle(const QMimeData* mime) {
    return !localPaths(mime).isEmpty();
}

bool IngestController::handleDrop(const QMimeData* mime) {
    const QStringList paths = localPaths(mime);
    if (paths.isEmpty()) return false;
    attachPaths(paths);
    return true;
}

void IngestController::attachPaths(const QStringList& paths) {
    for (const QString& path : paths) {
        if (QFileInfo(path).isDir())
            m_codebase->setFolder(path); // the last folder dropped wins
        else
            m_host->loadDocument(path, m_documentBudget, m_partBudget);
    }
}

void IngestController::attachText(const QString& name, const QString& text) {
    m_host->loadText(name, text, m_documentBudget, m_partBudget);
}

void IngestController::attachPastedText(const QString& text) {
    ++m_pasted;
    // Distinct names: the bar tells documents without a path apart by their name.
    attachText(m_pasted == 1 ? tr("Pasted text") : tr("Pasted text %1").arg(m_pasted), text);
}

bool IngestController::hasDocumentsInParts() const {
    return m_attachments && m_attachments->hasDocumentsInParts();
}

QList<AttachedDocument> IngestController::takeAttachments() {
    if (!m_attachments) return {};
    const QList<AttachedDocument> attached = m_attachments->attached();
    m_attachments->clear();
    return attached;
}

void IngestController::restoreAttachments(const QList<AttachedDocument>& attached) {
    if (!m_attachments) return;
    for (const AttachedDocument& a : attached) m_attachments->addDocument(a);
}

void IngestController::chooseFiles(QWidget* parent) {
    const QStringList files = QFileDialog::getOpenFileNames(
        parent, tr("Attach Documents"), QString(),
        tr("Documents (*.txt *.md *.pdf *.html *.htm *.c *.cpp *.h *.hpp *.py *.rs *.go *.js "
           "*.ts *.java *.json *.yaml *.toml *.csv *.log);;All files (*)"));
    attachPaths(files);
}

void IngestController::prepareSend(const QString& question,
                                   std::function<void(const QStringList&)> ready) {
    QStringList documents;
    if (m_attachments) {
        const QList<Document> attached = m_attachments->documents();
        for (const Document& d : attached) documents += documentMessageText(d);
        if (m_progress && !attached.isEmpty())
            m_progress->start(attached.size() == 1
                                  ? tr("Reading %1…").arg(attached.first().name)
                                  : tr("Reading %1 documents…").arg(attached.size()),
                              m_attachments->totalTokens());
        m_attachments->clear();
    }
    if (!m_indexed) {
        ready(documents);
        return;
    }
    const qint64 id = m_nextRequest++;
    m_pending.insert(id, std::move(ready));
    m_pendingDocuments.insert(id, documents);
    m_host->buildContext(id, question, m_codeBudget);
}

} // namespace gander::ui
