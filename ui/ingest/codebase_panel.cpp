// The codebase panel: folder, counts, indexing progress, files given to the last reply.
#include "codebase_panel.h"

#include "prefill_progress.h"

#include <context_files_model.h>
#include <token_counter.h>

#include <QDesktopServices>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QLocale>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace gander::ui {

namespace {

// "1 file", "12 files": English plurals spelt out (no translations ship yet).
QString counted(qsizetype n, const QString& one, const QString& many) {
    return QLocale().toString(n) + u' ' + (n == 1 ? one : many);
}

// A label inside a dashed, rounded outline drawn from the palette (a theme change repaints it).
class DropHint final : public QLabel {
public:
    using QLabel::QLabel;

protected:
    void paintEvent(QPaintEvent* event) override {
        QPainter painter(this);
        painter.setRenderHint(QPainter::Antialiasing);
        QPen pen(palette().color(QPalette::Mid), 2, Qt::DashLine);
        painter.setPen(pen);
        painter.drawRoundedRect(QRectF(rect()).adjusted(1, 1, -1, -1), 8, 8);
        painter.end();
        QLabel::paintEvent(event);
    }
};

} // namespace

CodebasePanel::CodebasePanel(QWidget* parent)
    : QWidget(parent), m_model(new gander::ingest::ContextFilesModel(this)) {
    setAcceptDrops(true);
    auto* layout = new QVBoxLayout(this);
    layout->setSpacing(6);

    auto* header = new QHBoxLayout;
    m_title = new QLabel(tr("No codebase"), this);
    m_title->setObjectName(u"codebaseTitle"_s);
    QFont bold = m_title->font();
    bold.setBold(true);
    m_title->setFont(bold);
    m_choose = new QPushButton(tr("Choose Folder…"), this);
    m_choose->setObjectName(u"chooseFolder"_s);
    header->addWidget(m_title, 1);
    header->addWidget(m_choose);
    layout->addLayout(header);

    // Until a folder is chosen, the panel is one large drop target that says what it is for.
    m_dropHint = new DropHint(tr("Drop a folder here, or choose one, to ask questions about its "
                                 "files.\n\nIts .gitignore is honoured; build folders, lock files "
                                 "and binaries are left out."),
                              this);
    m_dropHint->setObjectName(u"dropHint"_s);
    m_dropHint->setAlignment(Qt::AlignCenter);
    m_dropHint->setWordWrap(true);
    m_dropHint->setMinimumHeight(140);
    m_dropHint->setForegroundRole(QPalette::PlaceholderText);
    m_dropHint->setMargin(14);
    layout->addWidget(m_dropHint);
    m_status = new QLabel(this);
    m_status->setObjectName(u"codebaseStatus"_s);
    m_status->setWordWrap(true);
    m_status->hide();
    layout->addWidget(m_status);
    m_skipped = new QLabel(this);
    m_skipped->setObjectName(u"codebaseSkipped"_s);
    m_skipped->setWordWrap(true);
    m_skipped->setForegroundRole(QPalette::PlaceholderText);
    m_skipped->hide();
    layout->addWidget(m_skipped);

    m_progress = new PrefillProgress(this);
    layout->addWidget(m_progress);

    m_filesTitle = new QLabel(tr("Files given to the last reply"), this);
    m_filesTitle->setObjectName(u"filesTitle"_s);
    layout->addWidget(m_filesTitle);
    m_files = new QListView(this);
    m_files->setObjectName(u"contextFiles"_s);
    m_files->setModel(m_model);
    m_files->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_files->setUniformItemSizes(true);
    m_files->setToolTip(tr("Click a file to open it"));
    m_files->viewport()->setCursor(Qt::PointingHandCursor);
    layout->addWidget(m_files, 100);
    // Keeps the labels at the top while there is no file list to fill the panel.
    layout->addStretch(1);
    m_filesTitle->hide();
    m_files->hide();
    for (QLabel* label : {m_status, m_skipped, m_filesTitle})
        label->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Maximum);

    connect(m_choose, &QPushButton::clicked, this, &CodebasePanel::chooseFolder);
    connect(m_progress, &PrefillProgress::cancelRequested, this, &CodebasePanel::cancelRequested);
    // One click opens: the list is a set of links, not a selection.
    connect(m_files, &QListView::clicked, this, [this](const QModelIndex& index) {
        const QString path =
            index.data(gander::ingest::ContextFilesModel::AbsolutePathRole).toString();
        if (path.isEmpty()) return;
        QDesktopServices::openUrl(QUrl::fromLocalFile(path));
        emit fileOpened(path);
    });
}

QString CodebasePanel::skippedText(const gander::ingest::SkipCounts& s) {
    // English plurals spelt out: the app ships no translations yet, and "%n file(s)" reads badly.
    auto count = [](int n, const QString& one, const QString& many) {
        return QLocale().toString(n) + u' ' + (n == 1 ? one : many);
    };
    QStringList parts;
    if (s.ignored) parts += count(s.ignored, tr("ignored"), tr("ignored"));
    if (s.lockFiles) parts += count(s.lockFiles, tr("lock file"), tr("lock files"));
    if (s.buildFolders) parts += count(s.buildFolders, tr("build folder"), tr("build folders"));
    if (s.binary) parts += count(s.binary, tr("binary"), tr("binary"));
    if (s.tooLarge) parts += count(s.tooLarge, tr("too large"), tr("too large"));
    if (s.unreadable) parts += count(s.unreadable, tr("unreadable"), tr("unreadable"));
    return parts.join(u", "_s);
}

void CodebasePanel::chooseFolder() {
    const QString folder = QFileDialog::getExistingDirectory(
        this, tr("Choose a Codebase"), m_folder.isEmpty() ? QDir::homePath() : m_folder);
    if (!folder.isEmpty()) setFolder(folder);
}

void CodebasePanel::setFolder(const QString& folder) {
    m_folder = QDir::cleanPath(folder);
    m_title->setText(QFileInfo(m_folder).fileName());
    m_title->setToolTip(m_folder);
    m_dropHint->hide();
    m_status->show();
    m_status->setText(tr("Listing files…"));
    m_skipped->hide();
    m_model->clear();
    m_filesTitle->hide();
    m_files->hide();
    emit folderChosen(m_folder);
}

void CodebasePanel::setScanResult(const gander::ingest::FileSetResult& files) {
    m_scan = files;
    if (!files.error.isEmpty()) {
        m_status->setText(files.error == u"cancelled"_s ? tr("Cancelled.") : files.error);
        return;
    }
    const QLocale locale;
    m_status->setText(tr("%1 (%2), %3.")
                          .arg(counted(files.files.size(), tr("file"), tr("files")),
                               locale.formattedDataSize(files.bytes),
                               files.git ? tr("from git") : tr("following .gitignore")));
    const QString skipped = skippedText(files.skipped);
    m_skipped->setText(skipped.isEmpty() ? QString() : tr("Skipped: %1.").arg(skipped));
    m_skipped->setVisible(!skipped.isEmpty());
    m_progress->start(tr("Indexing…"), files.files.size(), tr("files"));
}

void CodebasePanel::setIndexProgress(int done, int total, double filesPerSecond) {
    Q_UNUSED(filesPerSecond) // the progress widget measures its own speed
    if (!m_progress->isVisible()) m_progress->start(tr("Indexing…"), total, tr("files"));
    m_progress->setProgress(total > 0 ? double(done) / total : 1.0);
}

void CodebasePanel::setIndexReport(const gander::ingest::IndexReport& report) {
    m_progress->finish();
    const QLocale locale;
    if (!report.error.isEmpty()) {
        m_status->setText(report.cancelled ? tr("Indexing cancelled.")
                                           : tr("Indexing failed: %1").arg(report.error));
        return;
    }
    QString text = tr("%1 indexed in %2")
                       .arg(counted(report.files, tr("file"), tr("files")),
                            counted(report.chunks, tr("chunk"), tr("chunks")));
    if (report.unchanged > 0)
        text += tr(" (%1 updated, %2 unchanged)")
                    .arg(locale.toString(report.updated), locale.toString(report.unchanged));
    text += report.cancelled ? tr(" — cancelled before the end.") : u"."_s;
    m_status->setText(text);
}

void CodebasePanel::setContext(const gander::ingest::CodeContext& context) {
    m_model->setContext(m_folder, context);
    m_filesTitle->setText(context.whole
                              ? tr("The last reply was given the whole codebase (%1 tokens)")
                                    .arg(gander::ingest::formatTokenCount(context.tokens))
                              : tr("The last reply was given parts of %1 (%2 of %3 tokens)")
                                    .arg(context.files.size() == 1
                                             ? tr("1 file")
                                             : tr("%1 files").arg(context.files.size()),
                                         gander::ingest::formatTokenCount(context.tokens),
                                         gander::ingest::formatTokenCount(context.budget)));
    m_filesTitle->show();
    m_files->show();
}

void CodebasePanel::dragEnterEvent(QDragEnterEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.size() == 1 && urls.first().isLocalFile() &&
        QFileInfo(urls.first().toLocalFile()).isDir())
        event->acceptProposedAction();
}

void CodebasePanel::dropEvent(QDropEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.size() != 1 || !QFileInfo(urls.first().toLocalFile()).isDir()) return;
    event->acceptProposedAction();
    setFolder(urls.first().toLocalFile());
}

} // namespace gander::ui
