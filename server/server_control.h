// gander::server::ServerControl: keeps the desktop app's LocalServer in line with its settings.
//
// apply() is called with what the settings say whenever they may have changed (at start, and
// each time the settings dialog is applied): it starts the server, restarts it when an option
// that matters changed, stops it when it was turned off, and does nothing otherwise. state() and
// statusText() say what the server is doing, for the settings dialog's status line.
//
// GUI thread (or any one thread with an event loop). stop() blocks while the server's threads
// end; while the server is still loading its model that is until the load returns.
#pragma once

#include "local_server.h"

#include <QObject>
#include <QString>

#include <optional>

namespace gander::server {

class ServerControl final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ServerControl)

public:
    enum class State { Off, Starting, Running, Failed };

    explicit ServerControl(QObject* parent = nullptr);
    ~ServerControl() override;

    // `options`: what to serve, nullopt to stop. `problem`: when it is nullopt although the user
    // turned the server on, why (e.g. no model chosen); shown as a failure.
    void apply(const std::optional<ServerOptions>& options, const QString& problem = {});

    State state() const { return m_state; }
    QString message() const { return m_message; } // the failure, for State::Failed
    quint16 port() const { return m_server.port(); }
    QString modelId() const { return m_server.modelId(); }
    // "Off", "Starting: loading the model…", "Running at http://127.0.0.1:8089/v1 (model)",
    // or the failure.
    QString statusText() const;

Q_SIGNALS:
    void stateChanged();

private:
    void setState(State state, const QString& message = {});

    LocalServer m_server;
    std::optional<ServerOptions> m_applied; // what the running (or starting) server was given
    State m_state = State::Off;
    QString m_message;
};

} // namespace gander::server
