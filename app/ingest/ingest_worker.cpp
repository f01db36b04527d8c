// The ingestion worker and its thread.
#include "ingest_worker.h"

#include "document_loader.h"
#include "file_set.h"
#include "retriever.h"

#include <gander/tokenizer.h>

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include <limits>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {
void registerTypes() {
    qRegisterMetaType<gander::ingest::Document>();
    qRegisterMetaType<gander::ingest::FileSetResult>();
    qRegisterMetaType<gander::ingest::IndexReport>();
    qRegisterMetaType<gander::ingest::CodeContext>();
    qRegisterMetaType<gander::ingest::TokenCounter>();
}
} // namespace

IngestWorker::IngestWorker(QObject* parent) : QObject(parent) {
    registerTypes();
}

IngestWorker::~IngestWorker() = default;

void IngestWorker::setTokenizer(std::shared_ptr<const gander::Tokenizer> tokenizer) {
    m_counter = TokenCounter(std::move(tokenizer));
    emit counterChanged(m_counter);
}

void IngestWorker::loadTokenizer(const QString& name, const QString& vocabPath,
                                 const QStringList& searchDirs) {
    try {
        if (name == u"bytes"_s) {
            m_counter = TokenCounter(gander::make_byte_tokenizer());
            emit counterChanged(m_counter);
            return;
        }
        QString path = vocabPath;
        if (path.isEmpty() && name == u"rwkv-world"_s) {
            for (const QString& dir : searchDirs) {
                const QString candidate = QDir(dir).filePath(u"rwkv_vocab_v20230424.txt"_s);
                if (QFileInfo::exists(candidate)) {
                    path = candidate;
                    break;
                }
            }
        }
        m_counter = path.isEmpty() ? TokenCounter()
                                   : TokenCounter(gander::load_tokenizer(path.toStdString()));
    } catch (const std::exception& e) {
        qWarning("ingest: tokenizer %s not loaded (%s); token counts are estimates",
                 qPrintable(name), e.what());
        m_counter = TokenCounter();
    }
    emit counterChanged(m_counter);
}

void IngestWorker::measure(const Document& document, int budget, int partBudget) {
    if (!document.ok()) {
        emit documentFailed(document.path.isEmpty() ? document.name : document.path,
                            document.error);
        return;
    }
    try {
        const DocumentPlan plan = planDocument(document, m_counter, budget, partBudget);
        emit documentLoaded(document, plan.tokens, m_counter.exact(), plan.notice);
    } catch (const std::exception& e) {
        emit documentFailed(document.path, QString::fromUtf8(e.what()));
    }
}

void IngestWorker::loadDocument(const QString& path, int budget, int partBudget) {
    measure(gander::ingest::loadDocument(path), budget, partBudget);
}

void IngestWorker::loadText(const QString& name, const QString& text, int budget, int partBudget) {
    measure(documentFromText(name, text), budget, partBudget);
}

void IngestWorker::indexCodebase(const QString& root, const QString& indexPath) {
    IndexReport report;
    const FileSetResult files = scanFileSet(root, {}, m_gate.flag());
    emit scanFinished(files);
    if (!files.error.isEmpty()) {
        report.error = files.error;
        report.cancelled = m_gate.cancelled();
        emit indexFinished(report);
        return;
    }
    if (!m_index || m_root != files.root) {
        m_index = std::make_unique<CodeIndex>();
        if (!m_index->open(indexPath)) {
            report.error = m_index->error();
            m_index.reset();
            emit indexFinished(report);
            return;
        }
        m_root = files.root;
    }
    QElapsedTimer clock, throttle;
    clock.start();
    throttle.start();
    report = m_index->update(files, [&](int done, int total) {
        if (throttle.elapsed() >= 100 || done == total) { // ~10 updates a second
            throttle.restart();
            const double seconds = clock.nsecsElapsed() / 1e9;
            emit indexProgress(done, total, seconds > 0 ? done / seconds : 0);
        }
        return !m_gate.cancelled();
    });
    emit indexFinished(report);
}

void IngestWorker::buildContext(qint64 requestId, const QString& question, int budget) {
    if (!m_index) {
        emit contextFailed(requestId, tr("No codebase has been indexed yet."));
        return;
    }
    RetrieveOptions options;
    options.budget = budget;
    try {
        emit contextReady(requestId, buildCodeContext(*m_index, question, m_counter, options));
    } catch (const std::exception& e) {
        emit contextFailed(requestId, QString::fromUtf8(e.what()));
    }
}

IngestHost::IngestHost(QObject* parent) : QObject(parent), m_worker(new IngestWorker) {
    m_thread.setObjectName(u"gander-ingest"_s);
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

IngestHost::~IngestHost() {
    m_worker->requestCancel(std::numeric_limits<quint64>::max());
    m_thread.quit();
    m_thread.wait();
}

void IngestHost::setTokenizer(std::shared_ptr<const gander::Tokenizer> tokenizer) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, t = std::move(tokenizer)]() mutable { w->setTokenizer(std::move(t)); },
        Qt::QueuedConnection);
}

template <typename F> void IngestHost::post(F&& call) {
    post_numbered(m_worker, m_issued, std::forward<F>(call));
}

void IngestHost::loadTokenizer(const QString& name, const QString& vocabPath,
                               const QStringList& searchDirs) {
    post([=](IngestWorker* w) { w->loadTokenizer(name, vocabPath, searchDirs); });
}

void IngestHost::loadDocument(const QString& path, int budget, int partBudget) {
    post([=](IngestWorker* w) { w->loadDocument(path, budget, partBudget); });
}

void IngestHost::loadText(const QString& name, const QString& text, int budget, int partBudget) {
    post([=](IngestWorker* w) { w->loadText(name, text, budget, partBudget); });
}

void IngestHost::indexCodebase(const QString& root, const QString& indexPath) {
    post([=](IngestWorker* w) { w->indexCodebase(root, indexPath); });
}

void IngestHost::buildContext(qint64 requestId, const QString& question, int budget) {
    post([=](IngestWorker* w) { w->buildContext(requestId, question, budget); });
}

QString IngestHost::indexPathFor(const QString& dataDir, const QString& root) {
    const QByteArray id =
        QCryptographicHash::hash(QDir::cleanPath(root).toUtf8(), QCryptographicHash::Sha1)
            .toHex()
            .left(16);
    return QDir(dataDir).filePath(u"codebases/"_s + QString::fromLatin1(id) + u".sqlite"_s);
}

} // namespace gander::ingest
