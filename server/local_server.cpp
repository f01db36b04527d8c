// LocalServer: runs a ServerCore on a private thread.
#include "local_server.h"

#include "server_core.h"

#include <QThread>

namespace gander::server {

LocalServer::LocalServer(QObject* parent) : QObject(parent) {}

LocalServer::~LocalServer() {
    stop();
}

void LocalServer::start(const ServerOptions& options) {
    stop();
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("gander-server"));
    m_core = new ServerCore;
    m_core->moveToThread(m_thread);
    connect(m_core, &ServerCore::started, this, [this](quint16 port, const QString& model_id) {
        m_port = port;
        m_model_id = model_id;
        Q_EMIT started(port);
    });
    connect(m_core, &ServerCore::failed, this, [this](const QString& message) {
        m_port = 0;
        Q_EMIT failed(message);
    });
    m_thread->start();
    QMetaObject::invokeMethod(
        m_core, [core = m_core, options] { core->start(options); }, Qt::QueuedConnection);
}

void LocalServer::stop() {
    if (!m_thread) return;
    // The core's sockets and scheduler belong to its thread: take them down there, then join.
    QMetaObject::invokeMethod(m_core, &ServerCore::shutdown, Qt::BlockingQueuedConnection);
    m_thread->quit();
    m_thread->wait();
    delete m_core; // its thread has ended: nothing else can touch it
    delete m_thread;
    m_core = nullptr;
    m_thread = nullptr;
    m_port = 0;
}

} // namespace gander::server
