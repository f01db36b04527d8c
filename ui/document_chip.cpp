// The transcript's chip for a document message.
#include "document_chip.h"

#include <QHBoxLayout>
#include <QIcon>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>

using namespace Qt::StringLiterals;

namespace gander::ui {

DocumentChip::DocumentChip(QWidget* parent)
    : QFrame(parent), m_icon(new QLabel(this)), m_name(new QLabel(this)),
      m_detail(new QLabel(this)), m_arrow(new QLabel(this)) {
    setObjectName(u"documentChip"_s);
    setCursor(Qt::PointingHandCursor);
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Maximum, QSizePolicy::Fixed);
    m_icon->setPixmap(QIcon(u":/gander/icons/document.svg"_s).pixmap(22, 22));
    m_name->setObjectName(u"documentName"_s);
    QFont bold = m_name->font();
    bold.setBold(true);
    m_name->setFont(bold);
    m_detail->setObjectName(u"documentDetail"_s);
    m_detail->setForegroundRole(QPalette::PlaceholderText);
    m_arrow->setForegroundRole(QPalette::PlaceholderText);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 5, 10, 5);
    layout->setSpacing(8);
    layout->addWidget(m_icon);
    layout->addWidget(m_name);
    layout->addWidget(m_detail);
    layout->addWidget(m_arrow);
    setExpanded(false);
}

void DocumentChip::setDocument(const QString& name, const QString& detail) {
    m_name->setText(name);
    m_detail->setText(detail);
    setAccessibleName(tr("Document %1, %2").arg(name, detail));
}

QString DocumentChip::name() const {
    return m_name->text();
}

QString DocumentChip::detail() const {
    return m_detail->text();
}

void DocumentChip::setExpanded(bool expanded) {
    m_expanded = expanded;
    m_arrow->setText(expanded ? u"\u25BE"_s : u"\u25B8"_s);
    setToolTip(expanded ? tr("Hide the text") : tr("Show the text that was sent"));
}

void DocumentChip::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton && rect().contains(event->position().toPoint())) {
        setExpanded(!m_expanded);
        emit toggled(m_expanded);
        return;
    }
    QFrame::mouseReleaseEvent(event);
}

void DocumentChip::keyPressEvent(QKeyEvent* event) {
    if (event->key() == Qt::Key_Space || event->key() == Qt::Key_Return ||
        event->key() == Qt::Key_Enter) {
        setExpanded(!m_expanded);
        emit toggled(m_expanded);
        return;
    }
    QFrame::keyPressEvent(event);
}

void DocumentChip::enterEvent(QEnterEvent* event) {
    m_hover = true;
    update();
    QFrame::enterEvent(event);
}

void DocumentChip::leaveEvent(QEvent* event) {
    m_hover = false;
    update();
    QFrame::leaveEvent(event);
}

// From the palette, like the attachment chips, so a theme change repaints it right.
void DocumentChip::paintEvent(QPaintEvent* event) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QRectF r = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    const bool active = m_hover || hasFocus();
    painter.setPen(QPen(palette().color(active ? QPalette::Highlight : QPalette::Mid), 1));
    painter.setBrush(palette().color(QPalette::Base));
    painter.drawRoundedRect(r, 8, 8);
    QFrame::paintEvent(event);
}

} // namespace gander::ui
