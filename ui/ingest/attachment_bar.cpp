// Attachment chips and the bar that holds them.
#include "attachment_bar.h"

#include <token_counter.h>

#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMimeData>
#include <QPainter>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace gander::ui {

AttachmentChip::AttachmentChip(const QString& name, const QString& detail, const QString& tooltip,
                               bool failed, QWidget* parent)
    : QFrame(parent), m_name(name), m_failed(failed) {
    setObjectName(u"attachmentChip"_s);
    setProperty("failed", failed);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 2, 2, 2);
    layout->setSpacing(6);
    auto* title = new QLabel(name, this);
    title->setObjectName(u"chipName"_s);
    QFont bold = title->font();
    bold.setBold(true);
    title->setFont(bold);
    auto* info = new QLabel(detail, this);
    info->setObjectName(u"chipDetail"_s);
    info->setForegroundRole(failed ? QPalette::Text : QPalette::PlaceholderText);
    auto* remove = new QToolButton(this);
    remove->setObjectName(u"chipRemove"_s);
    remove->setText(u"\u2715"_s);
    remove->setAutoRaise(true);
    remove->setToolTip(tr("Remove %1").arg(name));
    remove->setAccessibleName(tr("Remove %1").arg(name));
    layout->addWidget(title);
    layout->addWidget(info);
    layout->addWidget(remove);
    setToolTip(tooltip);
    connect(remove, &QToolButton::clicked, this, &AttachmentChip::removeRequested);
}

void AttachmentChip::paintEvent(QPaintEvent* event) {
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QRectF r = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    const QColor red(0xc0, 0x39, 0x2b);
    QColor fill = palette().color(QPalette::AlternateBase);
    if (m_failed) {
        fill = red;
        fill.setAlphaF(0.14);
    }
    painter.setPen(QPen(m_failed ? red : palette().color(QPalette::Mid), 1));
    painter.setBrush(fill);
    painter.drawRoundedRect(r, 10, 10);
    QFrame::paintEvent(event);
}

AttachmentBar::AttachmentBar(QWidget* parent) : QWidget(parent) {
    setAcceptDrops(true);
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(4);
    auto* row = new QHBoxLayout;
    row->setSpacing(6);
    m_chips = new QHBoxLayout;
    m_chips->setSpacing(6);
    row->addLayout(m_chips);
    row->addStretch(1);
    m_summarise = new QPushButton(tr("Summarise"), this);
    m_summarise->setObjectName(u"summarise"_s);
    m_summarise->setToolTip(tr("Ask for a summary of the attached documents"));
    row->addWidget(m_summarise);
    outer->addLayout(row);
    m_notice = new QLabel(this);
    m_notice->setObjectName(u"partsNotice"_s);
    m_notice->setWordWrap(true);
    m_notice->setForegroundRole(QPalette::PlaceholderText);
    outer->addWidget(m_notice);
    connect(m_summarise, &QPushButton::clicked, this, &AttachmentBar::summariseRequested);
    refresh();
}

void AttachmentBar::addChip(AttachmentChip* chip) {
    m_chips->addWidget(chip);
}

void AttachmentBar::addDocument(const gander::ingest::Document& document, int tokens, bool exact,
                                const QString& notice) {
    addDocument(AttachedDocument{document, tokens, exact, notice});
}

void AttachmentBar::addDocument(const AttachedDocument& attached) {
    const gander::ingest::Document& document = attached.document;
    m_attached += attached;
    const QString count = (attached.exact ? QString() : u"~"_s) +
                          tr("%1 tokens").arg(gander::ingest::formatTokenCount(attached.tokens));
    QString tooltip = document.path.isEmpty() ? document.name : document.path;
    if (attached.inParts()) tooltip += u"\n"_s + attached.notice;
    auto* chip = new AttachmentChip(document.name, count, tooltip, false, this);
    const QString key = document.path.isEmpty() ? document.name : document.path;
    connect(chip, &AttachmentChip::removeRequested, this, [this, chip, key] {
        for (qsizetype i = 0; i < m_attached.size(); ++i) {
            const auto& d = m_attached[i].document;
            if ((d.path.isEmpty() ? d.name : d.path) != key) continue;
            m_attached.removeAt(i);
            break;
        }
        chip->setProperty("removing", true);
        chip->hide();
        chip->deleteLater();
        emit documentRemoved(key);
        refresh();
    });
    addChip(chip);
    refresh();
}

QList<gander::ingest::Document> AttachmentBar::documents() const {
    QList<gander::ingest::Document> out;
    for (const AttachedDocument& a : m_attached) out += a.document;
    return out;
}

bool AttachmentBar::hasDocumentsInParts() const {
    return std::any_of(m_attached.begin(), m_attached.end(),
                       [](const AttachedDocument& a) { return a.inParts(); });
}

void AttachmentBar::addFailure(const QString& path, const QString& message) {
    auto* chip =
        new AttachmentChip(QFileInfo(path).fileName(), tr("cannot be read"), message, true, this);
    connect(chip, &AttachmentChip::removeRequested, this, [this, chip] {
        chip->setProperty("removing", true);
        chip->hide();
        chip->deleteLater();
        refresh();
    });
    addChip(chip);
    refresh();
}

void AttachmentBar::clear() {
    while (QLayoutItem* item = m_chips->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    m_attached.clear();
    refresh();
}

int AttachmentBar::totalTokens() const {
    int total = 0;
    for (const AttachedDocument& a : m_attached) total += a.tokens;
    return total;
}

void AttachmentBar::refresh() {
    m_summarise->setEnabled(!m_attached.isEmpty());
    QStringList notices;
    for (const AttachedDocument& a : m_attached)
        if (a.inParts()) notices += a.notice;
    m_notice->setText(notices.join(u"\n"_s));
    m_notice->setVisible(!notices.isEmpty());
    // Hidden when empty, so the composer does not carry an empty row.
    int chips = 0;
    for (int i = 0; i < m_chips->count(); ++i) {
        QWidget* w = m_chips->itemAt(i)->widget();
        if (w && !w->property("removing").toBool()) ++chips;
    }
    setVisible(chips > 0 || !m_attached.isEmpty());
    emit changed();
}

void AttachmentBar::dragEnterEvent(QDragEnterEvent* event) {
    if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void AttachmentBar::dropEvent(QDropEvent* event) {
    QStringList paths;
    for (const QUrl& url : event->mimeData()->urls())
        if (url.isLocalFile()) paths += url.toLocalFile();
    if (paths.isEmpty()) return;
    event->acceptProposedAction();
    emit filesDropped(paths);
}

} // namespace gander::ui
