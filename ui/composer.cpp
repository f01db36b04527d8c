#include "composer.h"

#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
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
    QPlainTextEdit::keyPressEvent(event);
}

Composer::Composer(QWidget* parent)
    : QWidget(parent), m_edit(new ComposerEdit(this)), m_send(new QPushButton(this)),
      m_editBanner(new QWidget(this)), m_hint(new QLabel(this)) {
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

    auto* row = new QHBoxLayout;
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
