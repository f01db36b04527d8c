#include "engine_host.h"

namespace gander::app {

EngineHost::EngineHost(const QString& databasePath, QObject* parent)
    : QObject(parent), m_worker(new EngineWorker(databasePath)) {
    qRegisterMetaType<ModelRequest>();
    qRegisterMetaType<ModelStatus>();
    qRegisterMetaType<GenerateRequest>();
    qRegisterMetaType<ReplyStats>();
    m_thread.setObjectName(QStringLiteral("gander-engine"));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    // "Busy" covers a reply from the request until its last signal.
    connect(m_worker, &EngineWorker::replyFinished, this, [this] { setBusy(false); });
    connect(m_worker, &EngineWorker::replyFailed, this, [this] { setBusy(false); });
    m_thread.start();
}

EngineHost::~EngineHost() {
    m_worker->requestStop();
    m_thread.quit();
    m_thread.wait();
}

void EngineHost::setBusy(bool busy) {
    if (m_busy == busy) return;
    m_busy = busy;
    emit busyChanged(busy);
}

void EngineHost::loadModel(const ModelRequest& request) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, request] { w->loadModel(request); }, Qt::QueuedConnection);
}

void EngineHost::unloadModel() {
    QMetaObject::invokeMethod(m_worker, &EngineWorker::unloadModel, Qt::QueuedConnection);
}

void EngineHost::prepare(qint64 conversationId, qint64 leafId) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, conversationId, leafId] { w->prepare(conversationId, leafId); },
        Qt::QueuedConnection);
}

void EngineHost::generate(const GenerateRequest& request) {
    setBusy(true);
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, request] { w->generate(request); }, Qt::QueuedConnection);
}

void EngineHost::forget(qint64 conversationId) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, conversationId] { w->forget(conversationId); },
        Qt::QueuedConnection);
}

} // namespace gander::app
