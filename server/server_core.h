// The server's network side, living on LocalServer's private thread: accepts loopback
// connections, checks the key, routes requests, turns scheduler events into HTTP answers.
#pragma once

#include "local_server.h"

#include "gander/tokenizer.h"

#include <QHash>
#include <QObject>
#include <QPointer>

#include <memory>
#include <mutex>
#include <vector>

class QTcpServer;

namespace gander::server {

class ServerCore final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ServerCore)

public:
    ServerCore() = default;
    ~ServerCore() override;

    // Both run on the core's thread.
    void start(const gander::server::ServerOptions& options);
    void shutdown();

Q_SIGNALS:
    void started(quint16 port, const QString& model_id);
    void failed(const QString& message);

private:
    void onNewConnection();
    void handle(HttpConnection* connection, const HttpRequest& request);
    void generate(HttpConnection* connection, Endpoint endpoint, const QByteArray& body);
    bool authorized(const HttpRequest& request) const;
    struct Mailbox {
        std::mutex mutex;
        std::vector<JobEvent> events;
        bool posted = false; // a deliver() call is queued
    };
    void deliver(quint64 key, Mailbox& box);

    ServerOptions m_options;
    QString m_model_id;
    qint64 m_created = 0;
    std::unique_ptr<Model> m_model;
    std::unique_ptr<Tokenizer> m_tokenizer;
    std::unique_ptr<Scheduler> m_scheduler; // after model and tokenizer: destroyed first
    QTcpServer* m_listener = nullptr;
    quint64 m_next_id = 1;
    QHash<quint64, QPointer<QObject>> m_exchanges; // requests being answered, by id
};

} // namespace gander::server
