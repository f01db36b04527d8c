#include "conversation_sidebar.h"

#include "conversation_list_model.h"

#include <QAbstractTextDocumentLayout>
#include <QContextMenuEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QMenu>
#include <QPainter>
#include <QPushButton>
#include <QStyledItemDelegate>
#include <QTextDocument>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;
using gander::app::ConversationListModel;

namespace gander::ui {

namespace {

// Title on the first line; below it the search snippet (matches in bold) or the date.
class ConversationDelegate final : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex&) const override {
        return {200, option.fontMetrics.lineSpacing() * 2 + 14};
    }

    void paint(QPainter* p, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override {
        QStyleOptionViewItem o = option;
        initStyleOption(&o, index);
        o.text.clear();
        o.widget->style()->drawControl(QStyle::CE_ItemViewItem, &o, p, o.widget);
        const bool selected = o.state & QStyle::State_Selected;
        const QPalette::ColorRole textRole = selected ? QPalette::HighlightedText : QPalette::Text;
        const QRect r = o.rect.adjusted(10, 6, -8, -6);
        const int line = o.fontMetrics.lineSpacing();
        p->save();
        QFont title = o.font;
        title.setWeight(QFont::DemiBold);
        p->setFont(title);
        p->setPen(o.palette.color(textRole));
        p->drawText(
            QRect(r.left(), r.top(), r.width(), line), Qt::AlignLeft | Qt::AlignVCenter,
            QFontMetrics(title).elidedText(index.data().toString(), Qt::ElideRight, r.width()));
        const QString snippet = index.data(ConversationListModel::SnippetRole).toString();
        QColor dim = o.palette.color(textRole);
        dim.setAlphaF(0.65f);
        if (!snippet.isEmpty()) {
            QTextDocument doc;
            doc.setDefaultFont(o.font);
            doc.setDocumentMargin(0);
            doc.setHtml(
                u"<span style='color:%1'>%2</span>"_s.arg(dim.name(QColor::HexArgb), snippet));
            doc.setTextWidth(r.width());
            p->translate(r.left(), r.top() + line + 2);
            p->setClipRect(QRect(0, 0, r.width(), line + 2));
            doc.drawContents(p);
        } else {
            const QDateTime updated = index.data(ConversationListModel::UpdatedRole).toDateTime();
            const QString when = updated.date() == QDate::currentDate()
                                     ? updated.time().toString(u"HH:mm"_s)
                                     : QLocale().toString(updated.date(), QLocale::ShortFormat);
            p->setFont(o.font);
            p->setPen(dim);
            p->drawText(QRect(r.left(), r.top() + line + 2, r.width(), line),
                        Qt::AlignLeft | Qt::AlignVCenter, when);
        }
        p->restore();
    }
};

} // namespace

ConversationSidebar::ConversationSidebar(ConversationListModel* model, QWidget* parent)
    : QWidget(parent), m_model(model), m_search(new QLineEdit(this)), m_list(new QListView(this)),
      m_undoBar(new QWidget(this)), m_undoText(new QLabel(this)), m_undo(new QPushButton(this)) {
    m_search->setPlaceholderText(tr("Search messages (Ctrl+K)"));
    m_search->setClearButtonEnabled(true);
    auto* newButton = new QPushButton(tr("New conversation"), this);
    newButton->setToolTip(tr("Start a new conversation (Ctrl+N)"));
    m_list->setModel(model);
    m_list->setItemDelegate(new ConversationDelegate(m_list));
    m_list->setEditTriggers(QAbstractItemView::EditKeyPressed);
    m_list->setUniformItemSizes(true);
    m_list->setFrameShape(QFrame::NoFrame);
    m_list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    m_undo->setText(tr("Undo"));
    auto* undoLayout = new QHBoxLayout(m_undoBar);
    undoLayout->setContentsMargins(4, 2, 4, 2);
    m_undoText->setWordWrap(true);
    undoLayout->addWidget(m_undoText, 1);
    undoLayout->addWidget(m_undo);
    m_undoBar->hide();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 0, 8);
    layout->addWidget(newButton);
    layout->addWidget(m_search);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_undoBar);

    m_searchDelay.setSingleShot(true);
    m_searchDelay.setInterval(150); // one query per pause in typing, not per key
    connect(m_search, &QLineEdit::textChanged, &m_searchDelay, qOverload<>(&QTimer::start));
    connect(&m_searchDelay, &QTimer::timeout, this, [this] {
        const qint64 current = currentId();
        m_model->setSearch(m_search->text());
        select(current);
    });
    connect(newButton, &QPushButton::clicked, this, &ConversationSidebar::newRequested);
    connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex& current) {
                if (current.isValid()) emit conversationActivated(m_model->idAt(current.row()));
            });
    m_undoTimer.setSingleShot(true);
    m_undoTimer.setInterval(10000);
    connect(&m_undoTimer, &QTimer::timeout, this, &ConversationSidebar::hideUndo);
    connect(m_undo, &QPushButton::clicked, this, &ConversationSidebar::undoRequested);
}

qint64 ConversationSidebar::currentId() const {
    return m_model->idAt(m_list->currentIndex().row());
}

void ConversationSidebar::select(qint64 conversationId) {
    const int row = m_model->rowOf(conversationId);
    QSignalBlocker block(m_list->selectionModel());
    if (row < 0) {
        m_list->clearSelection();
        m_list->setCurrentIndex({});
        return;
    }
    m_list->setCurrentIndex(m_model->index(row));
}

void ConversationSidebar::renameCurrent() {
    if (m_list->currentIndex().isValid()) m_list->edit(m_list->currentIndex());
}

void ConversationSidebar::offerUndo(const QString& title) {
    m_undoText->setText(tr("Deleted “%1”").arg(title));
    m_undoBar->show();
    m_undoTimer.start();
}

void ConversationSidebar::hideUndo() {
    m_undoBar->hide();
}

void ConversationSidebar::contextMenuEvent(QContextMenuEvent* event) {
    const QModelIndex index = m_list->indexAt(m_list->viewport()->mapFrom(this, event->pos()));
    if (!index.isValid()) return;
    const qint64 id = m_model->idAt(index.row());
    QMenu menu(this);
    menu.addAction(tr("Rename"), this, [this, index] { m_list->edit(index); });
    menu.addAction(tr("Delete"), this, [this, id] { emit deleteRequested(id); });
    menu.exec(event->globalPos());
}

} // namespace gander::ui
