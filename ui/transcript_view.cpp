#include "transcript_view.h"

#include "document_chip.h"
#include "message_widget.h"
#include "transcript_model.h"

#include <QAbstractItemModel>
#include <QClipboard>
#include <QGuiApplication>
#include <QLabel>
#include <QScrollBar>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;
using gander::app::Role;
using gander::app::TranscriptModel;

namespace gander::ui {

TranscriptView::TranscriptView(QWidget* parent)
    : QScrollArea(parent), m_content(new QWidget), m_layout(new QVBoxLayout(m_content)),
      m_empty(new QLabel), m_notice(new QLabel) {
    setWidgetResizable(true);
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_layout->setContentsMargins(16, 12, 16, 12);
    m_layout->setSpacing(10);
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setWordWrap(true);
    m_empty->setEnabled(false);
    m_layout->addWidget(m_empty);
    // Messages are inserted before it (at row + 1), so the notice stays under the last one.
    m_notice->setObjectName(u"transcriptNotice"_s);
    m_notice->setWordWrap(true);
    m_notice->setTextFormat(Qt::PlainText); // server messages may hold "<" and "&"
    m_notice->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_notice->setStyleSheet(
        u"background: #fdecea; color: #611a15; border-radius: 6px; padding: 8px;"_s);
    m_notice->hide();
    m_layout->addWidget(m_notice);
    m_layout->addStretch(1);
    setWidget(m_content);
    m_render.setSingleShot(true);
    m_render.setInterval(kRenderMs);
    connect(&m_render, &QTimer::timeout, this, &TranscriptView::flush);
    // Follow the end of the conversation unless the user scrolled up to read.
    connect(verticalScrollBar(), &QScrollBar::valueChanged, this,
            [this](int value) { m_follow = value >= verticalScrollBar()->maximum() - 4; });
    connect(verticalScrollBar(), &QScrollBar::rangeChanged, this, [this] {
        if (m_follow) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
    });
}

void TranscriptView::setEmptyText(const QString& text) {
    m_empty->setText(text);
}

void TranscriptView::setNotice(const QString& text) {
    m_notice->setText(text);
    m_notice->setVisible(!text.isEmpty());
    keepBottom();
}

QString TranscriptView::notice() const {
    return m_notice->isHidden() ? QString() : m_notice->text();
}

void TranscriptView::setModel(QAbstractItemModel* model) {
    if (m_model) m_model->disconnect(this);
    m_model = model;
    connect(model, &QAbstractItemModel::modelReset, this, &TranscriptView::rebuild);
    connect(model, &QAbstractItemModel::rowsInserted, this,
            [this](const QModelIndex&, int first, int last) { insertRows(first, last); });
    connect(model, &QAbstractItemModel::rowsRemoved, this,
            [this](const QModelIndex&, int first, int last) { removeRows(first, last); });
    connect(model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex& from, const QModelIndex& to) {
                for (int r = from.row(); r <= to.row(); ++r) m_dirty.insert(r);
                if (!m_render.isActive()) m_render.start();
            });
    rebuild();
}

void TranscriptView::restyle() {
    for (MessageWidget* w : std::as_const(m_widgets)) w->restyle();
}

void TranscriptView::setTokenCounter(const gander::ingest::TokenCounter& counter) {
    m_counter = counter;
    for (MessageWidget* w : std::as_const(m_widgets)) w->setTokenCounter(counter);
}

MessageWidget* TranscriptView::messageWidget(int row) const {
    return row >= 0 && row < m_widgets.size() ? m_widgets[row] : nullptr;
}

int TranscriptView::rowOf(const MessageWidget* widget) const {
    return int(m_widgets.indexOf(const_cast<MessageWidget*>(widget)));
}

// After a reset the widgets are reused row by row: a message whose text did not change is not
// rendered again, so reloading a long conversation after each reply stays cheap.
void TranscriptView::rebuild() {
    m_dirty.clear();
    const int rows = m_model ? m_model->rowCount() : 0;
    while (m_widgets.size() > rows) delete m_widgets.takeLast();
    for (int row = 0; row < m_widgets.size(); ++row) update(row);
    if (rows > m_widgets.size()) insertRows(int(m_widgets.size()), rows - 1);
    m_empty->setVisible(m_widgets.isEmpty());
    keepBottom();
}

void TranscriptView::insertRows(int first, int last) {
    for (int row = first; row <= last; ++row) {
        auto* w = new MessageWidget(m_content);
        w->setTokenCounter(m_counter);
        m_widgets.insert(row, w);
        // The empty-state label sits at layout index 0.
        m_layout->insertWidget(row + 1, w);
        connect(w, &MessageWidget::copyRequested, this,
                [w] { QGuiApplication::clipboard()->setText(w->text()); });
        connect(w, &MessageWidget::editRequested, this,
                [this, w] { emit editRequested(rowOf(w)); });
        connect(w, &MessageWidget::regenerateRequested, this,
                [this, w] { emit regenerateRequested(rowOf(w)); });
        // Opening a document in the middle of the conversation keeps it in view: the transcript
        // stops following the end, and scrolls only as far as the chip needs.
        connect(w, &MessageWidget::documentToggled, this, [this, w] {
            m_follow = false;
            QTimer::singleShot(0, w, [this, w] { ensureWidgetVisible(w->documentChip(), 0, 8); });
        });
        connect(w, &MessageWidget::versionRequested, this,
                [this, w](int delta) { emit versionRequested(rowOf(w), delta); });
        update(row);
    }
    m_empty->setVisible(m_widgets.isEmpty());
    keepBottom();
}

void TranscriptView::removeRows(int first, int last) {
    for (int row = last; row >= first; --row) delete m_widgets.takeAt(row);
    m_dirty.clear();
    m_empty->setVisible(m_widgets.isEmpty());
}

void TranscriptView::update(int row) {
    MessageWidget* w = messageWidget(row);
    if (!w || !m_model) return;
    const QModelIndex i = m_model->index(row, 0);
    w->setMessage(static_cast<Role>(i.data(TranscriptModel::RoleRole).toInt()),
                  i.data(Qt::DisplayRole).toString(), i.data(TranscriptModel::StatsRole).toString(),
                  i.data(TranscriptModel::SiblingIndexRole).toInt(),
                  i.data(TranscriptModel::SiblingCountRole).toInt(),
                  i.data(TranscriptModel::StreamingRole).toBool());
}

void TranscriptView::flush() {
    const QSet<int> dirty = std::exchange(m_dirty, {});
    for (int row : dirty) {
        MessageWidget* w = messageWidget(row);
        if (!w) continue;
        const QModelIndex i = m_model->index(row, 0);
        w->setText(i.data(Qt::DisplayRole).toString(),
                   i.data(TranscriptModel::StatsRole).toString());
    }
    keepBottom();
}

void TranscriptView::keepBottom() {
    if (m_follow) verticalScrollBar()->setValue(verticalScrollBar()->maximum());
}

} // namespace gander::ui
