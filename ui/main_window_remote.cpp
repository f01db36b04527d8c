// Main window: the local API server and the remote backend, following the settings live.
#include "main_window.h"

#include "composer.h"
#include "engine_host.h"
#include "ingest_controller.h"
#include "remote_chat.h"
#include "remote_client.h"
#include "server_control.h"
#include "server_settings.h"
#include "transcript_model.h"
#include "transcript_view.h"

#include <prefill_progress.h>

#include <QLabel>
#include <QStatusBar>

using namespace Qt::StringLiterals;
using namespace gander::app;
using gander::remote::RemoteClient;
using gander::server::ServerControl;

namespace gander::ui {

void MainWindow::connectRemote() {
    // RemoteChat's signals are EngineWorker's reply signals: the same transcript path, except
    // that a failure is said in the transcript (the user is looking there, and a remote server
    // fails for reasons the user can fix: the key, the address, the server being down).
    connect(m_remote, &RemoteChat::replyText, this,
            [this](qint64 c, const QString& text, int tokens, double tps) {
                if (c == m_current) m_transcriptModel->appendReply(text, tokens, tps);
            });
    connect(m_remote, &RemoteChat::replyFinished, this,
            [this](qint64 c, qint64, const ReplyStats&) { replyEnded(c); });
    connect(m_remote, &RemoteChat::replyFailed, this, [this](qint64 c, const QString& message) {
        replyEnded(c);
        if (c == m_current || c == 0) m_transcript->setNotice(message);
    });
    // The attached documents' progress, shown since the send, ends when the reply begins or
    // fails (the server reads them; there is no progress of that to show).
    auto endProgress = [this] {
        if (m_ingest->progress()->isVisible()) m_ingest->progress()->finish();
    };
    connect(m_remote, &RemoteChat::replyStarted, this, endProgress);
    connect(m_remote, &RemoteChat::replyFailed, this, endProgress);
    connect(m_server, &ServerControl::stateChanged, this, [this] {
        if (m_server->state() != ServerControl::State::Failed) return;
        const QString message = tr("Local API server: %1").arg(m_server->message());
        qWarning("%s", qPrintable(message));
        statusBar()->showMessage(message, 15000);
    });
}

void MainWindow::applyServerSettings() {
    const auto options = gander::server::server_options_from_settings(
        m_settings->store(), m_settings->modelRequest().vocabSearchDirs);
    QString problem;
    if (!options && m_settings->serverEnabled())
        problem = tr("no model is chosen (Settings, Model page)");
    m_server->apply(options, problem);
}

void MainWindow::applyRemoteSettings() {
    const bool wasRemote = m_remoteMode;
    const gander::remote::RemoteEndpoint endpoint{
        RemoteClient::baseUrlFromText(m_settings->remoteUrl()), m_settings->remoteApiKey(),
        m_settings->remoteModel()};
    const auto& old = m_remote->endpoint();
    const bool moved = endpoint.base_url != old.base_url || endpoint.api_key != old.api_key ||
                       endpoint.model != old.model;
    m_remoteMode = m_settings->remoteEnabled();
    // A reply in flight goes on only if nothing about where it goes changed.
    if (m_remote->busy() && (moved || !m_remoteMode)) m_remote->stop();
    m_remote->setEndpoint(endpoint);
    m_remote->setIdleTimeout(m_settings->remoteTimeout());
    if (m_remoteMode) {
        if (m_engine->busy()) m_engine->stop();
        m_composer->setModelReady(true);
        showRemoteStatus();
    } else if (wasRemote) {
        // The engine answers again: its model, its state of the conversation on screen.
        m_modelLabel->setStyleSheet(QString());
        setModelStatus(m_modelReady ? &m_status : nullptr);
        m_composer->setModelReady(m_modelReady);
        if (m_modelReady && m_current) m_engine->prepare(m_current, m_transcriptModel->leafId());
    }
    updatePage();
}

void MainWindow::showRemoteStatus() {
    const QUrl url = m_remote->endpoint().base_url;
    const QString host = url.port() > 0 ? u"%1:%2"_s.arg(url.host()).arg(url.port()) : url.host();
    if (url.isEmpty()) {
        m_modelLabel->setText(tr("Remote: no server address set (Settings, Remote Server)"));
        m_modelLabel->setStyleSheet(u"color: #b3261e;"_s);
    } else if (RemoteClient::sendsTextOffMachine(url)) {
        m_modelLabel->setText(tr("Remote: %1 — text leaves this computer").arg(host));
        m_modelLabel->setStyleSheet(u"color: #b3261e;"_s);
    } else {
        m_modelLabel->setText(tr("Remote: %1 — a server on this computer").arg(host));
        m_modelLabel->setStyleSheet(QString());
    }
    m_modelLabel->setToolTip(
        tr("Replies come from %1; the model on this computer is not used.").arg(url.toString()));
    const QString model = m_remote->endpoint().model;
    m_deviceLabel->setText(model.isEmpty() ? tr("No model chosen") : tr("Model %1").arg(model));
    m_deviceLabel->setToolTip(QString());
    m_memoryLabel->clear();
    m_memoryLabel->setToolTip(QString());
    m_tokensLabel->setText(tr("No state saved (remote)"));
    m_tokensLabel->setToolTip(tr("A remote server is sent the whole conversation with every "
                                 "message; conversation states are not saved for it."));
}

} // namespace gander::ui
