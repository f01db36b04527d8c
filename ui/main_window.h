// The main window: sidebar of conversations, the transcript, the composer, the model set-up
// panel and the status bar (model, backend and card, memory, tokens in the state).
//
// It owns the GUI thread's ChatStore, the item models and the EngineHost; widgets only show the
// models and turn the user's actions into store writes and engine requests. It also owns the
// local API server (ServerControl) and the remote backend (RemoteChat), and makes both follow
// the settings while it runs (main_window_remote.cpp).
#pragma once

#include "app_settings.h"
#include "chat_store.h"
#include "engine_worker.h"
#include "shortcuts_dialog.h"

#include <attachment_bar.h>

#include <QMainWindow>

#include <memory>

class QAction;
class QLabel;
class QProgressBar;
class QStackedWidget;

namespace gander::app {
class ConversationListModel;
class EngineHost;
class LatencyProbe;
class RemoteChat;
class TranscriptModel;
} // namespace gander::app

namespace gander::server {
class ServerControl;
}

namespace gander::ui {

class Composer;
class ConversationSidebar;
class IngestController;
class ModelSetupPanel;
class TranscriptView;

class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(gander::app::AppSettings* settings, QWidget* parent = nullptr);
    ~MainWindow() override;
    Q_DISABLE_COPY_MOVE(MainWindow)

    // For tests and scripted use: the parts a user sees and acts on.
    ConversationSidebar* sidebar() const { return m_sidebar; }
    TranscriptView* transcript() const { return m_transcript; }
    Composer* composer() const { return m_composer; }
    ModelSetupPanel* setupPanel() const { return m_setup; }
    QStackedWidget* pages() const { return m_pages; }
    gander::app::EngineHost* engine() const { return m_engine.get(); }
    gander::app::ChatStore* store() const { return m_store.get(); }
    IngestController* ingest() const { return m_ingest; }
    gander::app::TranscriptModel* transcriptModel() const { return m_transcriptModel; }
    gander::app::ConversationListModel* conversationModel() const { return m_listModel; }
    QLabel* errorBanner() const { return m_banner; }
    QString statusText() const; // the status bar's labels, joined
    qint64 currentConversation() const { return m_current; }
    bool modelReady() const { return m_modelReady; }
    QAction* action(const QString& name) const;
    gander::server::ServerControl* serverControl() const { return m_server; }
    gander::app::RemoteChat* remoteChat() const { return m_remote; }
    // Replies come from the remote server in the settings, not from the engine.
    bool remoteMode() const { return m_remoteMode; }
    bool replying() const; // a reply is streaming, from either

    void loadModel(const gander::app::ModelRequest& request);
    // Makes the window follow the settings as saved (theme, model, the local API server, the
    // remote backend); `modelChanged`: the model settings differ from the last applied ones.
    void applySettings(bool modelChanged);
    void setTheme(gander::app::Theme theme);
    bool exportCurrent(const QString& path, QString* error);
    // A long task in the status bar: its name beside a bar `done` (0..1) full; an empty name or
    // done >= 1 takes both away (model loading, reading a conversation again).
    void showBusy(const QString& what, double done);

protected:
    void closeEvent(QCloseEvent* event) override;
    // Files dropped anywhere on the window are attached; a folder becomes the codebase.
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    // main_window.cpp: layout, status, engine signals.
    void buildActions();
    void connectEngine();
    void setModelStatus(const gander::app::ModelStatus* status);
    void setStateTokens(qint64 tokens);
    void updatePage();
    void updateTitle();

    // main_window_actions.cpp: what the user does.
    void selectConversation(qint64 id);
    void newConversation();
    void send(const QString& text);
    void sendWith(const QString& text, const QStringList& before);
    // A send with a document too long for one prompt: the engine summarises it in parts first.
    void summariseAndSend(const QString& text, const QList<AttachedDocument>& attached,
                          const QStringList& after);
    // The parent of the next message (the leaf, or the edited message's parent), in the
    // current conversation, created (titled from `text`) if none is open. False: store error.
    bool prepareConversation(const QString& text, qint64* parent);
    void partsFailed();
    void startReply(qint64 userMessageId);
    void stopReply();
    void regenerate(int row);
    void regenerateLast();
    void editMessage(int row);
    void cancelEdit();
    void switchVersion(int row, int delta);
    void deleteConversation(qint64 id);
    void undoDelete();
    void exportDialog();
    void openSettings();
    void showShortcuts();
    void copyLastReply();
    void replyEnded(qint64 conversationId);

    // main_window_remote.cpp: the local API server and the remote backend.
    void connectRemote();
    void applyServerSettings();
    void applyRemoteSettings();
    void showRemoteStatus();

    gander::app::AppSettings* m_settings;
    std::unique_ptr<gander::app::ChatStore> m_store;
    std::unique_ptr<gander::app::EngineHost> m_engine;
    gander::app::ConversationListModel* m_listModel;
    gander::app::TranscriptModel* m_transcriptModel;
    gander::app::LatencyProbe* m_probe = nullptr;
    gander::server::ServerControl* m_server;
    gander::app::RemoteChat* m_remote;

    ConversationSidebar* m_sidebar;
    TranscriptView* m_transcript;
    Composer* m_composer;
    IngestController* m_ingest;
    ModelSetupPanel* m_setup;
    QStackedWidget* m_pages;
    QWidget* m_chatPage;
    QLabel* m_banner;
    QLabel* m_modelLabel;
    QLabel* m_deviceLabel;
    QLabel* m_memoryLabel;
    QLabel* m_tokensLabel;
    QLabel* m_busyLabel;     // what the progress bar beside it is about (the bar shows the %)
    QProgressBar* m_progress;
    QList<ShortcutInfo> m_shortcuts;

    gander::app::ModelStatus m_status;
    bool m_modelReady = false;
    bool m_modelLoading = false;
    bool m_remoteMode = false;
    bool m_wantSetup = false;
    qint64 m_current = 0;
    qint64 m_replyConversation = 0;
    qint64 m_editing = 0; // message being edited, 0: none
    qint64 m_lastDeleted = 0;
    // A summary in parts under way: what to give back if it is stopped before anything is stored.
    QList<AttachedDocument> m_pendingParts;
    QString m_pendingQuestion;
    qint64 m_pendingNewConversation = 0; // made for this send: removed again if left empty
};

} // namespace gander::ui
