// Main window: layout, actions and shortcuts, status bar, and the engine's signals.
#include "main_window.h"

#include "composer.h"
#include "conversation_list_model.h"
#include "conversation_sidebar.h"
#include "engine_host.h"
#include "ingest_controller.h"
#include "latency_probe.h"
#include "model_files.h"
#include "model_setup_panel.h"
#include "remote_chat.h"
#include "server_control.h"
#include "transcript_model.h"
#include "transcript_view.h"

#include <attachment_bar.h>
#include <codebase_panel.h>
#include <prefill_progress.h>

#include <QAction>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenuBar>
#include <QProgressBar>
#include <QRegularExpression>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QVBoxLayout>

#include <cstdio>

using namespace Qt::StringLiterals;
using namespace gander::app;

static void initResources() {
    Q_INIT_RESOURCE(gander);
}

namespace gander::ui {

MainWindow::MainWindow(AppSettings* settings, QWidget* parent)
    : QMainWindow(parent), m_settings(settings), m_store(std::make_unique<ChatStore>()) {
    initResources();
    setWindowIcon(QIcon(u":/gander/icons/gander.svg"_s));
    QDir().mkpath(m_settings->dataDir());
    const bool storeOk = m_store->open(m_settings->databasePath());
    if (storeOk) m_store->purgeDeleted(); // deletions not undone last time
    m_engine = std::make_unique<EngineHost>(m_settings->databasePath());
    m_server = new gander::server::ServerControl(this);
    m_remote = new RemoteChat(m_store.get(), this);
    m_listModel = new ConversationListModel(m_store.get(), this);
    m_transcriptModel = new TranscriptModel(m_store.get(), this);

    m_sidebar = new ConversationSidebar(m_listModel, this);
    m_transcript = new TranscriptView(this);
    m_transcript->setModel(m_transcriptModel);
    m_transcript->setEmptyText(tr("Write a message below to start a conversation."));
    m_composer = new Composer(this);
    m_ingest = new IngestController(m_settings->dataDir(), this);
    m_setup = new ModelSetupPanel(this);
    m_banner = new QLabel(this);
    m_banner->setWordWrap(true);
    m_banner->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_banner->setStyleSheet(u"background: #fdecea; color: #611a15; padding: 8px;"_s);
    m_banner->hide();

    m_chatPage = new QWidget(this);
    auto* chatLayout = new QVBoxLayout(m_chatPage);
    chatLayout->setContentsMargins(0, 0, 0, 0);
    chatLayout->setSpacing(0);
    chatLayout->addWidget(m_transcript, 1);
    m_ingest->attachments()->setContentsMargins(8, 4, 8, 0);
    m_ingest->progress()->setContentsMargins(8, 4, 8, 0);
    chatLayout->addWidget(m_ingest->attachments());
    chatLayout->addWidget(m_ingest->progress());
    chatLayout->addWidget(m_composer);
    m_pages = new QStackedWidget(this);
    m_pages->addWidget(m_chatPage);
    m_pages->addWidget(m_setup);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->setSpacing(0);
    rightLayout->addWidget(m_banner);
    rightLayout->addWidget(m_pages, 1);
    auto* splitter = new QSplitter(this);
    splitter->addWidget(m_sidebar);
    splitter->addWidget(right);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({260, 740});
    splitter->setChildrenCollapsible(false);
    setCentralWidget(splitter);
    // The codebase panel docks on the right, shown when a folder is dropped or chosen.
    auto* codebaseDock = new QDockWidget(tr("Codebase"), this);
    codebaseDock->setObjectName(u"codebaseDock"_s);
    codebaseDock->setWidget(m_ingest->codebase());
    addDockWidget(Qt::RightDockWidgetArea, codebaseDock);
    codebaseDock->hide();
    connect(m_ingest->codebase(), &CodebasePanel::folderChosen, codebaseDock, &QDockWidget::show);
    setAcceptDrops(true);

    m_modelLabel = new QLabel(this);
    m_deviceLabel = new QLabel(this);
    m_memoryLabel = new QLabel(this);
    m_tokensLabel = new QLabel(this);
    // A long task's name in a label and its share done in a short bar: the text no longer has to
    // fit inside the bar ("Reading the conversation again 54%" was cut at 160 px).
    m_busyLabel = new QLabel(this);
    m_busyLabel->hide();
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setFormat(u"%p%"_s);
    m_progress->setMaximumWidth(120);
    m_progress->hide();
    statusBar()->addWidget(m_modelLabel);
    statusBar()->addWidget(m_deviceLabel);
    statusBar()->addPermanentWidget(m_busyLabel);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_memoryLabel);
    statusBar()->addPermanentWidget(m_tokensLabel);

    buildActions();
    connectEngine();
    connectRemote();
    connect(m_sidebar, &ConversationSidebar::conversationActivated, this,
            &MainWindow::selectConversation);
    connect(m_sidebar, &ConversationSidebar::newRequested, this, &MainWindow::newConversation);
    connect(m_sidebar, &ConversationSidebar::deleteRequested, this,
            &MainWindow::deleteConversation);
    connect(m_sidebar, &ConversationSidebar::undoRequested, this, &MainWindow::undoDelete);
    connect(m_composer, &Composer::sendRequested, this, &MainWindow::send);
    connect(m_composer, &Composer::stopRequested, this, &MainWindow::stopReply);
    connect(m_composer, &Composer::editCancelled, this, &MainWindow::cancelEdit);
    connect(m_ingest, &IngestController::summariseRequested, this, &MainWindow::send);
    connect(m_ingest, &IngestController::problem, this,
            [this](const QString& message) { statusBar()->showMessage(message, 15000); });
    connect(m_ingest->progress(), &PrefillProgress::cancelRequested, this, &MainWindow::stopReply);
    connect(m_ingest, &IngestController::counterChanged, m_transcript,
            &TranscriptView::setTokenCounter);
    m_ingest->setCodeBudget(m_settings->codeBudgetTokens());
    // The composer's paper clip, and files or long texts pasted (or dropped) into it.
    connect(m_composer, &Composer::attachRequested, this, [this] { m_ingest->chooseFiles(this); });
    connect(m_composer->edit(), &ComposerEdit::filesPasted, m_ingest,
            &IngestController::attachPaths);
    connect(m_composer->edit(), &ComposerEdit::longTextPasted, this, [this](const QString& text) {
        m_ingest->attachPastedText(text);
        statusBar()->showMessage(
            tr("The pasted text (%1 characters) is attached. Ctrl+Shift+V pastes it as text.")
                .arg(QLocale().toString(text.size())),
            8000);
    });
    connect(m_composer->edit(), &ComposerEdit::imagePasted, this, [this] {
        statusBar()->showMessage(tr("Images cannot be attached: the model reads text. Paste the "
                                    "text, or attach a PDF or text file."),
                                 10000);
    });
    connect(m_transcript, &TranscriptView::regenerateRequested, this, &MainWindow::regenerate);
    connect(m_transcript, &TranscriptView::editRequested, this, &MainWindow::editMessage);
    connect(m_transcript, &TranscriptView::versionRequested, this, &MainWindow::switchVersion);
    connect(m_setup, &ModelSetupPanel::loadRequested, this,
            [this](const QString& path, const QString& precision, const QString& backend) {
                m_settings->setModelPath(path);
                m_settings->setPrecision(precision);
                m_settings->setBackend(backend);
                loadModel(m_settings->modelRequest());
                applyServerSettings(); // a running API server serves the new model too
            });

    if (!storeOk) {
        m_banner->setText(m_store->error());
        m_banner->show();
        m_sidebar->setEnabled(false);
    }
    setModelStatus(nullptr);
    m_setup->setModelPath(m_settings->modelPath());
    applyRemoteSettings(); // with the remote backend on, the local model is not loaded
    if (!m_remoteMode && !m_settings->modelPath().isEmpty()) loadModel(m_settings->modelRequest());
    applyServerSettings();
    updatePage();
    updateTitle();
    resize(1100, 720);

    if (qEnvironmentVariableIsSet("GANDER_LATENCY")) {
        m_probe = new LatencyProbe(this);
        m_probe->start();
    }
}

MainWindow::~MainWindow() {
    if (m_probe) std::fprintf(stderr, "%s\n", qPrintable(m_probe->summary()));
    // A remote reply in flight keeps what arrived; the window is not told (it is going away).
    m_remote->disconnect(this);
    m_remote->stop();
    // Stop the engine (it writes to the same file) before the last deletions are purged.
    m_engine.reset();
    if (m_store->isOpen()) m_store->purgeDeleted();
}

void MainWindow::closeEvent(QCloseEvent* event) {
    m_remote->stop();
    m_engine->stop();
    event->accept();
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (IngestController::canHandle(event->mimeData())) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    if (m_ingest->handleDrop(event->mimeData())) event->acceptProposedAction();
}

void MainWindow::buildActions() {
    struct Def {
        QString name, text;
        QKeySequence keys;
        std::function<void()> run;
    };
    const QList<Def> defs = {
        {u"new"_s, tr("&New Conversation"), QKeySequence::New, [this] { newConversation(); }},
        {u"search"_s, tr("&Search Conversations"), QKeySequence(u"Ctrl+K"_s),
         [this] {
             m_sidebar->searchBox()->setFocus();
             m_sidebar->searchBox()->selectAll();
         }},
        {u"rename"_s, tr("&Rename Conversation"), QKeySequence(Qt::Key_F2),
         [this] { m_sidebar->renameCurrent(); }},
        {u"delete"_s, tr("&Delete Conversation"), QKeySequence(u"Ctrl+Shift+Del"_s),
         [this] {
             if (m_current) deleteConversation(m_current);
         }},
        {u"undo-delete"_s, tr("&Undo Delete"), QKeySequence(u"Ctrl+Shift+Z"_s),
         [this] { undoDelete(); }},
        {u"export"_s, tr("&Export Conversation…"), QKeySequence(u"Ctrl+E"_s),
         [this] { exportDialog(); }},
        {u"regenerate"_s, tr("Re&generate Reply"), QKeySequence(u"Ctrl+R"_s),
         [this] { regenerateLast(); }},
        {u"stop"_s, tr("S&top Reply"), QKeySequence(u"Ctrl+."_s), [this] { stopReply(); }},
        {u"attach"_s, tr("&Attach Documents…"), QKeySequence(u"Ctrl+Shift+A"_s),
         [this] { m_ingest->chooseFiles(this); }},
        {u"codebase"_s, tr("Ask About a Code&base…"), QKeySequence(u"Ctrl+Shift+O"_s),
         [this] { m_ingest->codebase()->chooseFolder(); }},
        {u"copy-reply"_s, tr("&Copy Last Reply"), QKeySequence(u"Ctrl+Shift+C"_s),
         [this] { copyLastReply(); }},
        {u"focus-composer"_s, tr("&Write a Message"), QKeySequence(u"Ctrl+L"_s),
         [this] { m_composer->edit()->setFocus(); }},
        {u"setup-model"_s, tr("Set Up &Model…"), QKeySequence(u"Ctrl+M"_s),
         [this] {
             m_wantSetup = true;
             updatePage();
         }},
        {u"settings"_s, tr("&Settings…"), QKeySequence(u"Ctrl+,"_s), [this] { openSettings(); }},
        {u"shortcuts"_s, tr("&Keyboard Shortcuts"), QKeySequence(Qt::Key_F1),
         [this] { showShortcuts(); }},
        {u"quit"_s, tr("&Quit"), QKeySequence::Quit, [this] { close(); }},
    };
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QMenu* conversation = menuBar()->addMenu(tr("&Conversation"));
    QMenu* help = menuBar()->addMenu(tr("&Help"));
    for (const Def& d : defs) {
        auto* a = new QAction(d.text, this);
        a->setObjectName(d.name);
        a->setShortcut(d.keys);
        a->setShortcutContext(Qt::WindowShortcut);
        connect(a, &QAction::triggered, this, d.run);
        QMenu* menu =
            d.name == "shortcuts"_L1 ? help
            : (d.name == "new"_L1 || d.name == "export"_L1 || d.name == "setup-model"_L1 ||
               d.name == "settings"_L1 || d.name == "quit"_L1)
                ? file
                : conversation;
        menu->addAction(a);
        QString shown = d.text;
        m_shortcuts.append({shown.remove(u'&').remove(u"…"_s), d.keys});
    }
    m_shortcuts.append({tr("Send the message"), QKeySequence(Qt::Key_Return)});
    m_shortcuts.append({tr("New line in the message"), QKeySequence(Qt::SHIFT | Qt::Key_Return)});
    m_shortcuts.append({tr("Stop the reply / cancel an edit"), QKeySequence(Qt::Key_Escape)});
    m_shortcuts.append(
        {tr("Paste a long text as text (not as an attachment)"), QKeySequence(u"Ctrl+Shift+V"_s)});
}

QAction* MainWindow::action(const QString& name) const {
    return findChild<QAction*>(name);
}

QString MainWindow::statusText() const {
    QStringList parts{m_modelLabel->text(), m_deviceLabel->text()};
    if (!m_busyLabel->isHidden())
        parts << u"%1 %2%"_s.arg(m_busyLabel->text()).arg(m_progress->value() / 10);
    parts << m_memoryLabel->text() << m_tokensLabel->text();
    return parts.join(u" | "_s);
}

void MainWindow::loadModel(const ModelRequest& request) {
    m_modelReady = false;
    m_modelLoading = true;
    m_composer->setModelReady(m_remoteMode);
    m_setup->setModelPath(request.path);
    m_setup->setLoading(true);
    m_setup->setError({});
    if (!m_remoteMode)
        m_modelLabel->setText(tr("Loading %1…").arg(QFileInfo(request.path).fileName()));
    showBusy(tr("Loading the model"), 0);
    m_engine->loadModel(request);
}

void MainWindow::connectEngine() {
    EngineWorker* w = m_engine->worker();
    connect(w, &EngineWorker::modelLoadProgress, this, [this](double done) {
        m_setup->setProgress(done);
        showBusy(tr("Loading the model"), done);
    });
    connect(w, &EngineWorker::modelLoaded, this, [this](const ModelStatus& status) {
        m_status = status;
        m_modelReady = true;
        m_modelLoading = false;
        m_wantSetup = false;
        m_setup->setLoading(false);
        showBusy({}, 1);
        setModelStatus(&m_status);
        m_composer->setModelReady(true);
        updatePage();
        if (m_current && !m_remoteMode) m_engine->prepare(m_current, m_transcriptModel->leafId());
        // Exact token counts for attachments and the codebase budget.
        const ModelRequest request = m_settings->modelRequest();
        m_ingest->loadTokenizer(status.tokenizer, request.vocabPath,
                                QStringList{QFileInfo(status.path).absolutePath()} +
                                    request.vocabSearchDirs);
    });
    connect(w, &EngineWorker::modelLoadFailed, this, [this](const QString& message) {
        m_modelLoading = false;
        m_setup->setLoading(false);
        m_setup->setError(message);
        showBusy({}, 1);
        setModelStatus(nullptr);
        m_wantSetup = true;
        updatePage();
    });
    connect(w, &EngineWorker::rebuildProgress, this, [this](qint64 c, double done) {
        if (c == m_current) showBusy(tr("Reading the conversation again"), done);
        if (c == m_current && m_ingest->progress()->isVisible())
            m_ingest->progress()->setProgress(done);
    });
    connect(w, &EngineWorker::prepared, this, [this](qint64 c, qint64, qint64 tokens, bool) {
        if (c != m_current) return;
        showBusy({}, 1);
        setStateTokens(tokens);
    });
    connect(w, &EngineWorker::replyText, this,
            [this](qint64 c, const QString& text, int tokens, double tps) {
                if (c == m_current) m_transcriptModel->appendReply(text, tokens, tps);
            });
    connect(w, &EngineWorker::replyFinished, this,
            [this](qint64 c, qint64, const ReplyStats&) { replyEnded(c); });
    connect(w, &EngineWorker::replyFailed, this, [this](qint64 c, const QString& message) {
        statusBar()->showMessage(message, 15000);
        replyEnded(c);
    });
    connect(w, &EngineWorker::prepareFailed, this, [this](qint64 c, const QString& message) {
        if (c != m_current) return;
        showBusy({}, 1);
        statusBar()->showMessage(message, 15000);
    });
    connect(w, &EngineWorker::replyStarted, this, [this] {
        if (m_ingest->progress()->isVisible()) m_ingest->progress()->finish();
    });
    connect(w, &EngineWorker::replyFailed, this, [this] {
        if (m_ingest->progress()->isVisible()) m_ingest->progress()->finish();
    });
    // Summarising in parts: progress per part, then the stored messages, then the reply.
    connect(w, &EngineWorker::partsProgress, this,
            [this](qint64 c, const QString& document, int part, int parts, double done) {
                PrefillProgress* p = m_ingest->progress();
                if (c != m_replyConversation || !p->isVisible()) return;
                p->setTitle(tr("Summarising “%1” in %2 parts: part %3 of %4")
                                .arg(document)
                                .arg(parts)
                                .arg(part)
                                .arg(parts));
                p->setProgress((part - 1 + done) / parts);
            });
    connect(w, &EngineWorker::partsStored, this, [this](qint64 c, qint64, int inParts, int parts) {
        m_pendingParts.clear();
        m_pendingQuestion.clear();
        m_pendingNewConversation = 0;
        cancelEdit();
        if (c == m_current) {
            m_transcriptModel->reload();
            m_transcriptModel->beginReply();
        }
        m_listModel->reload();
        m_sidebar->select(m_current);
        if (inParts == 0) return; // measured with the model's tokenizer, every one fitted
        statusBar()->showMessage(
            inParts == 1
                ? tr("The document was too long for one prompt: it was summarised in %1 parts, "
                     "and the reply is made from the part summaries.")
                      .arg(parts)
                : tr("%1 documents were too long for one prompt: they were summarised in %2 "
                     "parts, and the reply is made from the part summaries.")
                      .arg(inParts)
                      .arg(parts),
            15000);
    });
    connect(w, &EngineWorker::replyFailed, this, [this] { partsFailed(); });
    connect(w, &EngineWorker::stateSaved, this, [this](qint64 c, qint64, qint64 tokens, qint64) {
        if (c == m_current) setStateTokens(tokens);
    });
}

void MainWindow::setModelStatus(const ModelStatus* s) {
    if (m_remoteMode) {
        showRemoteStatus(); // the local model is not what answers
        return;
    }
    if (!s) {
        m_modelLabel->setText(tr("No model"));
        m_deviceLabel->clear();
        m_memoryLabel->clear();
        m_tokensLabel->clear();
        return;
    }
    m_modelLabel->setText(u"%1 · %2"_s.arg(s->name, s->precision));
    m_modelLabel->setToolTip(u"%1\n%2 parameters, fingerprint %3, tokenizer %4"_s.arg(
        s->path, QLocale().toString(s->parameters), s->fingerprint, s->tokenizer));
    // "NVIDIA GeForce RTX 4090 (24 GB)", or "CPU, 8 threads (no NVIDIA driver)": on the CPU
    // the engine's note says why.
    QString note = s->note;
    if (note.startsWith(u"CPU: "_s)) note = note.mid(5);
    const QString where = s->device.isEmpty() ? s->backend.toUpper() : s->device;
    m_deviceLabel->setText(
        s->backend == "cuda"_L1 || note.isEmpty() ? where : u"%1 (%2)"_s.arg(where, note));
    m_deviceLabel->setToolTip(s->device);
    // The engine reports what it holds (weights, one state); on a card that is the VRAM Gander
    // uses, and the device name carries the card's total.
    const QString used = formatBytes(s->weightBytes + s->stateBytes);
    static const QRegularExpression total(u"\\((\\d+(?:\\.\\d+)?) ?GB\\)"_s);
    const auto card = total.match(s->device);
    if (s->backend != "cuda"_L1)
        m_memoryLabel->setText(tr("RAM %1 for the model").arg(used));
    else if (card.hasMatch())
        m_memoryLabel->setText(tr("VRAM %1 of %2 GB").arg(used, card.captured(1)));
    else
        m_memoryLabel->setText(tr("VRAM %1").arg(used));
    m_memoryLabel->setToolTip(tr("Weights %1, one conversation state %2")
                                  .arg(formatBytes(s->weightBytes), formatBytes(s->stateBytes)));
}

void MainWindow::setStateTokens(qint64 tokens) {
    if (m_remoteMode) return; // a late answer from the engine: no state is kept for the remote
    m_tokensLabel->setText(tr("%1 tokens in state").arg(QLocale().toString(tokens)));
}

void MainWindow::showBusy(const QString& what, double done) {
    if (what.isEmpty() || done >= 1.0) {
        m_busyLabel->hide();
        m_progress->hide();
        return;
    }
    m_busyLabel->setText(what);
    m_progress->setToolTip(what);
    m_progress->setValue(int(done * 1000));
    m_busyLabel->show();
    m_progress->show();
}

void MainWindow::updatePage() {
    // Without a model the history stays readable; the set-up panel comes first only when there
    // is nothing to read or the user asked for it.
    const bool setup = !m_modelReady && !m_remoteMode && (m_wantSetup || m_current == 0);
    m_pages->setCurrentWidget(setup ? static_cast<QWidget*>(m_setup) : m_chatPage);
}

void MainWindow::updateTitle() {
    const auto c = m_current ? m_store->conversation(m_current) : std::nullopt;
    setWindowTitle(c ? tr("%1 — Gander").arg(c->title) : tr("Gander"));
}

} // namespace gander::ui
