// Main window: what the user does — choose, start, rename, delete and export conversations;
// send, stop, edit and regenerate messages; switch between versions.
#include "main_window.h"

#include "composer.h"
#include "conversation_list_model.h"
#include "conversation_sidebar.h"
#include "engine_host.h"
#include "exporter.h"
#include "ingest_controller.h"
#include "remote_chat.h"
#include "settings_dialog.h"
#include "shortcuts_dialog.h"
#include "theme.h"
#include "transcript_model.h"
#include "transcript_view.h"

#include <document_prompt.h>
#include <prefill_progress.h>

#include <QClipboard>
#include <QFileDialog>
#include <QGuiApplication>
#include <QLabel>
#include <QMessageBox>
#include <QRegularExpression>
#include <QStatusBar>

#include <memory>

using namespace Qt::StringLiterals;
using namespace gander::app;

namespace gander::ui {

namespace {

// A title from the first line of the first message, short enough for the sidebar.
QString titleFrom(const QString& text) {
    QString line = text.section(u'\n', 0, 0).simplified();
    if (line.size() > 48) line = line.left(47) + u"…"_s;
    return line.isEmpty() ? QObject::tr("New conversation") : line;
}

} // namespace

void MainWindow::selectConversation(qint64 id) {
    if (id == m_current) return;
    if (replying()) stopReply(); // a reply does not go on in a conversation not shown
    cancelEdit();
    m_current = id;
    m_transcriptModel->setConversation(id);
    m_transcript->setNotice({});
    if (!m_remoteMode) m_tokensLabel->clear();
    if (m_modelReady && !m_remoteMode && id) m_engine->prepare(id, m_transcriptModel->leafId());
    m_wantSetup = false;
    updatePage();
    updateTitle();
}

void MainWindow::newConversation() {
    if (replying()) stopReply();
    cancelEdit();
    m_current = 0;
    m_transcriptModel->setConversation(0);
    m_transcript->setNotice({});
    m_sidebar->select(0);
    if (!m_remoteMode) m_tokensLabel->clear();
    updatePage();
    updateTitle();
    m_composer->edit()->setFocus();
}

void MainWindow::send(const QString& text) {
    if (!(m_modelReady || m_remoteMode) || replying() || !m_store->isOpen()) return;
    if (!m_remoteMode && m_ingest->hasDocumentsInParts()) {
        // The engine summarises the long documents before anything is stored; the bar is
        // emptied now and filled again if that is stopped. (The remote backend gets the
        // documents whole: its server has its own context limit.)
        const QList<AttachedDocument> attached = m_ingest->takeAttachments();
        m_ingest->prepareSend(text, [this, text, attached](const QStringList& after) {
            summariseAndSend(text, attached, after);
        });
        return;
    }
    // Attached documents and the codebase context go first, each as its own user message.
    m_ingest->prepareSend(text,
                          [this, text](const QStringList& before) { sendWith(text, before); });
}

bool MainWindow::prepareConversation(const QString& text, qint64* parent) {
    *parent = m_transcriptModel->leafId();
    if (m_editing) {
        // An edit is a new version of the message: a sibling under the same parent.
        *parent = m_store->message(m_editing).value_or(Message{}).parentId;
    }
    if (!m_current) {
        m_current = m_store->createConversation(titleFrom(text), m_settings->systemPrompt());
        if (!m_current) {
            statusBar()->showMessage(m_store->error(), 15000);
            return false;
        }
        m_transcriptModel->setConversation(m_current);
        *parent = 0;
    }
    return true;
}

void MainWindow::sendWith(const QString& text, const QStringList& before) {
    qint64 parent = 0;
    if (!prepareConversation(text, &parent)) return;
    for (const QString& message : before) {
        parent = m_store->addMessage(m_current, parent, Role::User, message);
        if (!parent) {
            statusBar()->showMessage(m_store->error(), 15000);
            return;
        }
    }
    const qint64 user = m_store->addMessage(m_current, parent, Role::User, text);
    if (!user) {
        statusBar()->showMessage(m_store->error(), 15000);
        return;
    }
    cancelEdit();
    startReply(user);
}

void MainWindow::summariseAndSend(const QString& text, const QList<AttachedDocument>& attached,
                                  const QStringList& after) {
    const bool fresh = m_current == 0;
    qint64 parent = 0;
    if (!prepareConversation(text, &parent)) {
        m_ingest->restoreAttachments(attached);
        return;
    }
    SummariseRequest request;
    request.conversationId = m_current;
    request.parentId = parent;
    request.after = after;
    request.question = text;
    request.budget = m_ingest->documentBudget();
    request.partBudget = m_ingest->partBudget();
    request.reply.sampling = m_settings->sampling();
    request.reply.maxTokens = m_settings->maxReplyTokens();
    qint64 tokens = 0;
    QString first;
    for (const AttachedDocument& a : attached) {
        request.documents += a.document;
        if (a.inParts() && first.isEmpty()) first = a.document.name;
        if (a.inParts()) tokens += a.tokens;
    }
    m_pendingParts = attached;
    m_pendingQuestion = text;
    m_pendingNewConversation = fresh ? m_current : 0;
    m_replyConversation = m_current;
    m_composer->setReplying(true);
    m_ingest->progress()->start(tr("Summarising “%1” in parts…").arg(first), tokens);
    m_engine->summarise(request);
    if (fresh) {
        m_listModel->reload();
        m_sidebar->select(m_current);
        updateTitle();
    }
}

// Called when a summary in parts ends before its messages were stored (stopped, or failed):
// the documents go back on the bar and a typed question back in the composer.
void MainWindow::partsFailed() {
    if (m_pendingParts.isEmpty()) return;
    m_ingest->restoreAttachments(std::exchange(m_pendingParts, {}));
    const QString question = std::exchange(m_pendingQuestion, {});
    if (question != gander::ingest::summariseRequest() &&
        m_composer->edit()->toPlainText().trimmed().isEmpty())
        m_composer->edit()->setPlainText(question);
    const qint64 created = std::exchange(m_pendingNewConversation, 0);
    if (created &&
        m_store->path(m_store->conversation(created).value_or(Conversation{}).leafId).isEmpty()) {
        // Nothing was stored in it: not a conversation to keep in the list.
        m_store->setConversationDeleted(created, true);
        if (m_current == created) newConversation();
        m_listModel->reload();
    }
}

void MainWindow::startReply(qint64 userMessageId) {
    m_store->setLeaf(m_current, userMessageId);
    m_transcriptModel->reload();
    m_transcriptModel->beginReply();
    m_replyConversation = m_current;
    m_composer->setReplying(true);
    m_transcript->setNotice({});
    GenerateRequest request;
    request.userMessageId = userMessageId;
    request.sampling = m_settings->sampling();
    request.maxTokens = m_settings->maxReplyTokens();
    if (m_remoteMode)
        m_remote->generate(request); // the same signals come back, from RemoteChat
    else
        m_engine->generate(request);
    m_listModel->reload();
    m_sidebar->select(m_current);
    updateTitle();
}

void MainWindow::stopReply() {
    if (m_remote->busy()) m_remote->stop();
    if (m_engine->busy()) m_engine->stop();
}

bool MainWindow::replying() const {
    return m_engine->busy() || m_remote->busy();
}

void MainWindow::replyEnded(qint64 conversationId) {
    if (conversationId == m_current || conversationId == 0) {
        m_transcriptModel->endReply();
        m_transcriptModel->reload();
    }
    m_composer->setReplying(false);
    m_replyConversation = 0;
    const qint64 keep = m_current;
    m_listModel->reload();
    m_sidebar->select(keep);
}

void MainWindow::regenerate(int row) {
    if (!(m_modelReady || m_remoteMode) || replying()) return;
    const Message m = m_transcriptModel->messageAt(row);
    const qint64 user = m.role == Role::Assistant ? m.parentId : m.id;
    if (user) startReply(user);
}

void MainWindow::regenerateLast() {
    for (int row = m_transcriptModel->rowCount() - 1; row >= 0; --row) {
        if (m_transcriptModel->messageAt(row).role == Role::Assistant) {
            regenerate(row);
            return;
        }
    }
}

void MainWindow::editMessage(int row) {
    const Message m = m_transcriptModel->messageAt(row);
    if (m.role != Role::User || replying()) return;
    m_editing = m.id;
    m_composer->edit()->setPlainText(m.text);
    m_composer->setEditing(true);
    m_composer->edit()->setFocus();
}

void MainWindow::cancelEdit() {
    if (!m_editing) return;
    m_editing = 0;
    m_composer->setEditing(false);
    m_composer->edit()->clear();
}

void MainWindow::switchVersion(int row, int delta) {
    if (replying()) return;
    const qint64 leaf = m_transcriptModel->switchVersion(row, delta);
    if (leaf && m_modelReady && !m_remoteMode) m_engine->prepare(m_current, leaf);
}

void MainWindow::deleteConversation(qint64 id) {
    const auto c = m_store->conversation(id);
    if (!c || !m_store->setConversationDeleted(id, true)) return;
    m_engine->forget(id);
    if (id == m_current) newConversation();
    m_lastDeleted = id;
    m_listModel->reload();
    m_sidebar->select(m_current);
    m_sidebar->offerUndo(c->title);
}

void MainWindow::undoDelete() {
    if (!m_lastDeleted || !m_store->setConversationDeleted(m_lastDeleted, false)) return;
    const qint64 id = std::exchange(m_lastDeleted, 0);
    m_sidebar->hideUndo();
    m_listModel->reload();
    m_sidebar->select(id);
    selectConversation(id);
}

bool MainWindow::exportCurrent(const QString& path, QString* error) {
    const auto c = m_store->conversation(m_current);
    if (!c) {
        *error = tr("No conversation is open.");
        return false;
    }
    return exportToFile(path, *c, m_transcriptModel->messages(), error);
}

void MainWindow::exportDialog() {
    const auto c = m_store->conversation(m_current);
    if (!c) return;
    QString filter;
    QString name = c->title;
    name.replace(QRegularExpression(u"[^\\w\\- ]+"_s), u"_"_s);
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export Conversation"), QDir::home().filePath(name + u".md"_s),
        tr("Markdown (*.md);;JSON (*.json)"), &filter);
    if (path.isEmpty()) return;
    QString error;
    if (exportCurrent(path, &error))
        statusBar()->showMessage(tr("Exported to %1").arg(path), 8000);
    else
        QMessageBox::warning(this, tr("Export failed"), error);
}

// Window-modal but not a nested event loop: Apply and OK apply the settings while the window
// runs (the API server's status line follows live), and tests drive the dialog as a user does.
void MainWindow::openSettings() {
    // (A dialog just closed is still a child until its deferred deletion: open a new one.)
    if (auto* shown = findChild<SettingsDialog*>(); shown && shown->isVisible()) {
        shown->raise();
        shown->activateWindow();
        return;
    }
    auto* dialog = new SettingsDialog(m_settings, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setServerControl(m_server);
    auto before = std::make_shared<ModelRequest>(m_settings->modelRequest());
    connect(dialog, &SettingsDialog::applied, this, [this, before] {
        const ModelRequest after = m_settings->modelRequest();
        const bool changed = after.path != before->path || after.backend != before->backend ||
                             after.precision != before->precision ||
                             after.vocabPath != before->vocabPath ||
                             after.threads != before->threads;
        *before = after;
        applySettings(changed);
    });
    dialog->open();
}

void MainWindow::applySettings(bool modelChanged) {
    setTheme(m_settings->theme());
    m_ingest->setCodeBudget(m_settings->codeBudgetTokens());
    const bool wasRemote = m_remoteMode;
    applyRemoteSettings();
    // Back from the remote backend with no model loaded (it was not loaded at start), or a new
    // model chosen: load it. While remote, a new model waits for the switch back.
    const ModelRequest request = m_settings->modelRequest();
    const bool reload = modelChanged || (wasRemote && !m_modelReady && !m_modelLoading);
    if (!m_remoteMode && reload && !request.path.isEmpty()) loadModel(request);
    applyServerSettings();
}

void MainWindow::setTheme(Theme theme) {
    applyTheme(theme);
    m_transcript->restyle();
}

void MainWindow::showShortcuts() {
    ShortcutsDialog dialog(m_shortcuts, this);
    dialog.exec();
}

void MainWindow::copyLastReply() {
    for (int row = m_transcriptModel->rowCount() - 1; row >= 0; --row) {
        const Message m = m_transcriptModel->messageAt(row);
        if (m.role == Role::Assistant && m.id) {
            QGuiApplication::clipboard()->setText(m.text);
            statusBar()->showMessage(tr("Reply copied"), 3000);
            return;
        }
    }
}

} // namespace gander::ui
