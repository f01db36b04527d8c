// gander::server::LocalServer: the OpenAI-compatible API on 127.0.0.1, for the desktop app (a
// setting turns it on) and for the headless `gander-server`.
//
// The server loads its own Model from the file (the app's EngineWorker keeps its own: they do not
// share a card queue or a state), answers HTTP on a private thread, and decodes on the
// Scheduler's thread. It only ever listens on the loopback address.
//
// Use: construct on any thread with an event loop, connect started/failed, call start(); stop()
// (or the destructor) blocks until every thread is joined.
#pragma once

#include "http_connection.h"
#include "openai_api.h"
#include "scheduler.h"

#include "gander/gander.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <optional>

class QThread;

namespace gander::server {

struct ServerOptions {
    QString model_path;
    // Empty: byte-level for a vocabulary of up to 512 tokens (test models), else the World
    // vocabulary file looked up beside the model and in vocab_search_dirs.
    QString vocab_path;
    QStringList vocab_search_dirs;
    QString model_id;    // empty: the model file's base name
    quint16 port = 8089; // 0: any free port (tests)
    QString api_key;     // empty: no key asked
    BackendKind backend = BackendKind::Auto;
    std::optional<Precision> precision;
    int threads = 0;
    SchedulerLimits scheduler;
    ApiLimits api;
    HttpLimits http;
};

class ServerCore;

class LocalServer final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(LocalServer)

public:
    explicit LocalServer(QObject* parent = nullptr);
    ~LocalServer() override; // stops

    // Loads the model and starts listening, in the background; started() or failed() follows.
    // Calling start() while running restarts with the new options.
    void start(const ServerOptions& options);
    // Closes the listening socket, ends every request and joins the threads. Safe to call twice.
    void stop();
    bool isRunning() const { return m_port != 0; }
    quint16 port() const { return m_port; } // 0 while not listening
    QString modelId() const { return m_model_id; }

Q_SIGNALS:
    void started(quint16 port);
    void failed(const QString& message);

private:
    QThread* m_thread = nullptr;
    ServerCore* m_core = nullptr;
    quint16 m_port = 0;
    QString m_model_id;
};

} // namespace gander::server
