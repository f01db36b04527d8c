#include "engine_host.h"

#include <limits>

namespace gander::app {

EngineHost::EngineHost(const QString& databasePath, QObject* parent)
    : QObject(parent), m_worker(new EngineWorker(databasePath)) {
    qRegisterMetaType<ModelRequest>();
    qRegisterMetaType<ModelStatus>();
    qRegisterMetaType<GenerateRequest>();
    qRegisterMetaType<SummariseRequest>();
    qRegisterMetaType<ReplyStats>();
    m_thread.setObjectName(QStringLiteral("gander-engine"));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // "Busy" covers each reply from its request until its last signal.
    const auto ended = [this] {
        m_pendingReplies = qMax(0, m_pendingReplies - 1);
        setBusy(m_pendingReplies > 0);
    };
    connect(m_worker, &EngineWorker::replyFinished, this, ended);
    connect(m_worker, &EngineWorker::replyFailed, this, ended);
    m_thread.start();
}

EngineHost::~EngineHost() {
    m_worker->requestStop(std::numeric_limits<quint64>::max());
    m_thread.quit();
    m_thread.wait();
}

void EngineHost::setBusy(bool busy) {
    if (m_busy == busy) return;
    m_busy = busy;
    emit busyChanged(busy);
}

template <typename F> void EngineHost::post(F&& call) {
    gander::ingest::post_numbered(m_worker, m_issued, std::forward<F>(call));
}

void EngineHost::loadModel(const ModelRequest& request) {
    post([request](EngineWorker* w) { w->loadModel(request); });
}

void EngineHost::unloadModel() {
    post([](EngineWorker* w) { w->unloadModel(); });
}

void EngineHost::prepare(qint64 conversationId, qint64 leafId) {
    post([conversationId, leafId](EngineWorker* w) { w->prepare(conversationId, leafId); });
}

void EngineHost::generate(const GenerateRequest& request) {
    ++m_pendingReplies;
    setBusy(true);
    post([request](EngineWorker* w) { w->generate(request); });
}

void EngineHost::summarise(const SummariseRequest& request) {
    ++m_pendingReplies;
    setBusy(true);
    post([request](EngineWorker* w) { w->summarise(request); });
}

void EngineHost::forget(qint64 conversationId) {
    post([conversationId](EngineWorker* w) { w->forget(conversationId); });
}

} // namespace gander::app
