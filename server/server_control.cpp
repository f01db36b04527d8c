// ServerControl: start, restart or stop the LocalServer when the settings change.
#include "server_control.h"

using namespace Qt::StringLiterals;

namespace gander::server {

namespace {

// The options a running server would have to restart for. Limits and search folders come from
// the build, not from the settings, and do not change while the app runs.
bool sameServer(const ServerOptions& a, const ServerOptions& b) {
    return a.model_path == b.model_path && a.vocab_path == b.vocab_path && a.port == b.port &&
           a.api_key == b.api_key && a.backend == b.backend && a.precision == b.precision &&
           a.threads == b.threads && a.model_id == b.model_id &&
           a.scheduler.max_active == b.scheduler.max_active;
}

} // namespace

ServerControl::ServerControl(QObject* parent) : QObject(parent) {
    connect(&m_server, &LocalServer::started, this, [this] { setState(State::Running); });
    connect(&m_server, &LocalServer::failed, this, [this](const QString& message) {
        // A later apply() with the same options tries again instead of seeing "no change". (The
        // idle thread is ended by the next start() or stop(), not here: this runs inside a call
        // queued by the very object stop() deletes.)
        m_applied.reset();
        setState(State::Failed, message);
    });
}

ServerControl::~ServerControl() = default; // m_server's destructor joins its threads

void ServerControl::apply(const std::optional<ServerOptions>& options, const QString& problem) {
    if (!options) {
        m_server.stop();
        m_applied.reset();
        if (problem.isEmpty())
            setState(State::Off);
        else
            setState(State::Failed, problem);
        return;
    }
    if (m_applied && sameServer(*m_applied, *options)) return;
    m_applied = options;
    setState(State::Starting);
    m_server.start(*options); // stops the previous one first
}

QString ServerControl::statusText() const {
    switch (m_state) {
    case State::Off:
        return tr("Off");
    case State::Starting:
        return tr("Starting: loading the model…");
    case State::Running:
        return tr("Running at http://127.0.0.1:%1/v1 (model %2)").arg(port()).arg(modelId());
    case State::Failed:
        return tr("Not running: %1").arg(m_message);
    }
    return {};
}

void ServerControl::setState(State state, const QString& message) {
    m_state = state;
    m_message = message;
    Q_EMIT stateChanged();
}

} // namespace gander::server
