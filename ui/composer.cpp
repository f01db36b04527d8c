#include "composer.h"

#include "ingest_controller.h"

#include <QClipboard>
#include <QGuiApplication>
#include <QHBoxLayout>
#include <QIcon>
#include <QKeyEvent>
#include <QLabel>
#include <QMimeData>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace gander::ui {

ComposerEdit::ComposerEdit(QWidget* parent) : QPlainTextEdit(parent) {
    setTabChangesFocus(true);
    setPlaceholderText(tr("Message the model — Enter to send, Shift+Enter for a new line"));
}

QSize ComposerEdit::sizeHint() const {
    const int lines = 3;
    return {400, fontMetrics().lineSpacing() * lines + 2 * frameWidth() + 12};
}

void ComposerEdit::keyPressEvent(QKeyEvent* event) {
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && !(event->modifiers() & Qt::ShiftModifier)) {
        emit submit();
        return;
    }
    if (enter) {
        insertPlainText(u"\n"_s);
        return;
    }
    if (event->key() == Qt::Key_Escape) {
        emit escape();
        return;
    }
    if (event->key() == Qt::Key_V &&
        event->modifiers() == (Qt::ControlModifier | Qt::ShiftModifier)) {
        // Paste as text, however long: the way round the attachment when text is wanted.
        insertPlainText(QGuiApplication::clipboard()->text());
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

bool ComposerEdit::canInsertFromMimeData(const QMimeData* source) const {
    return IngestController::canHandle(source) || source->hasImage() ||
           QPlainTextEdit::canInsertFromMimeData(source);
}

// Paste and drop both come here.
void ComposerEdit::insertFromMimeData(const QMimeData* source) {
    if (const QStringList paths = IngestController::localPaths(source); !paths.isEmpty()) {
        emit filesPasted(paths);
        return;
    }
    if (source->hasText() && source->text().size() > kLongPaste) {
        emit longTextPasted(source->text());
        return;
    }
    if (!source->hasText() && source->hasImage()) {
        emit imagePasted();
        return;
    }
    QPlainTextEdit::insertFromMimeData(source);
}

Composer::Composer(QWidget* parent)
    : QWidget(parent), m_edit(new ComposerEdit(this)), m_attach(new QToolButton(this)),
      m_send(new QPushButton(this)), m_editBanner(new QWidget(this)), m_hint(new QLabel(this)) {
    auto* bannerLayout = new QHBoxLayout(m_editBanner);
    bannerLayout->setContentsMargins(4, 0, 4, 0);
    auto* bannerText = new QLabel(tr("Editing a message: sending creates a new version of it."));
    auto* cancel = new QToolButton;
    cancel->setText(tr("Cancel (Esc)"));
    bannerLayout->addWidget(bannerText, 1);
    bannerLayout->addWidget(cancel);
    m_editBanner->hide();

    m_hint->setObjectName(u"composerHint"_s);
    m_hint->setWordWrap(true);
    m_hint->hide();

    m_attach->setObjectName(u"attach"_s);
    m_attach->setIcon(QIcon(u":/gander/icons/paperclip.svg"_s));
    m_attach->setIconSize({20, 20});
    m_attach->setAutoRaise(true);
    m_attach->setToolTip(tr("Attach documents (Ctrl+Shift+A)\nor drop or paste files here"));
    m_attach->setAccessibleName(tr("Attach documents"));

    auto* row = new QHBoxLayout;
    row->addWidget(m_attach, 0, Qt::AlignBottom);
    row->addWidget(m_edit, 1);
    row->addWidget(m_send, 0, Qt::AlignBottom);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 6, 12, 10);
    layout->addWidget(m_editBanner);
    layout->addWidget(m_hint);
    layout->addLayout(row);

    m_send->setMinimumWidth(84);
    setReplying(false);
    connect(m_edit, &ComposerEdit::submit, this, &Composer::trySend);
    connect(m_send, &QPushButton::clicked, this, [this] {
        if (m_replying)
            emit stopRequested();
        else
            trySend();
    });
    connect(m_edit, &ComposerEdit::escape, this, [this] {
        if (m_replying)
            emit stopRequested();
        else if (m_editing)
            emit editCancelled();
    });
    connect(cancel, &QToolButton::clicked, this, &Composer::editCancelled);
    connect(m_attach, &QToolButton::clicked, this, &Composer::attachRequested);
}

void Composer::trySend() {
    if (m_replying || !m_ready) return;
    const QString text = m_edit->toPlainText().trimmed();
    if (text.isEmpty()) return;
    m_edit->clear();
    emit sendRequested(text);
}

void Composer::setReplying(bool replying) {
    m_replying = replying;
    m_send->setText(replying ? tr("Stop") : tr("Send"));
    m_send->setToolTip(replying ? tr("Stop the reply (Esc)") : tr("Send (Enter)"));
    m_send->setEnabled(replying || m_ready);
}

void Composer::setEditing(bool editing) {
    m_editing = editing;
    m_editBanner->setVisible(editing);
}

void Composer::setModelReady(bool ready) {
    m_ready = ready;
    m_hint->setText(tr("No model is loaded: you can read and search your conversations, but "
                       "replies need a model (File > Set Up Model)."));
    m_hint->setVisible(!ready);
    setReplying(m_replying);
}

} // namespace gander::ui
