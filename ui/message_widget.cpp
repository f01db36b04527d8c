#include "message_widget.h"

#include "document_chip.h"
#include "theme.h"

#include <document_prompt.h>

#include <QAbstractTextDocumentLayout>
#include <QApplication>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QTextBlock>
#include <QTextFrame>
#include <QTextTable>
#include <QToolButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;
using gander::app::Role;

namespace gander::ui {

MarkdownView::MarkdownView(QWidget* parent) : QTextBrowser(parent) {
    setFrameShape(QFrame::NoFrame);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setOpenExternalLinks(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    viewport()->setAutoFillBackground(false);
    document()->setDocumentMargin(2);
    connect(document()->documentLayout(), &QAbstractTextDocumentLayout::documentSizeChanged, this,
            &MarkdownView::fitHeight);
}

void MarkdownView::setMarkdownText(const QString& markdown) {
    setMarkdown(markdown);
    styleCodeBlocks();
    fitHeight();
}

// Code blocks and inline code in the fixed font, blocks on a tinted background.
void MarkdownView::styleCodeBlocks() {
    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    const QColor tint = isDarkPalette() ? QColor(0x33, 0x35, 0x39) : QColor(0xf0, 0xf1, 0xf3);
    QTextCursor cursor(document());
    for (QTextBlock b = document()->begin(); b.isValid(); b = b.next()) {
        if (!b.blockFormat().hasProperty(QTextFormat::BlockCodeFence) &&
            !b.blockFormat().hasProperty(QTextFormat::BlockCodeLanguage))
            continue;
        cursor.setPosition(b.position());
        QTextBlockFormat f = b.blockFormat();
        f.setBackground(tint);
        f.setLeftMargin(6);
        cursor.setBlockFormat(f);
        cursor.movePosition(QTextCursor::EndOfBlock, QTextCursor::KeepAnchor);
        QTextCharFormat c;
        c.setFont(mono);
        cursor.mergeCharFormat(c);
    }
    // Tables: collapsed thin borders in the palette's mid tone, some padding, header on top.
    for (QTextFrame* frame : document()->rootFrame()->childFrames()) {
        auto* table = qobject_cast<QTextTable*>(frame);
        if (!table) continue;
        QTextTableFormat f = table->format();
        f.setBorder(1);
        f.setBorderStyle(QTextFrameFormat::BorderStyle_Solid);
        f.setBorderBrush(palette().color(QPalette::Mid));
        f.setCellPadding(4);
        f.setCellSpacing(0);
        table->setFormat(f);
        // The Markdown reader leaves an empty paragraph at the start of some header cells.
        for (int col = 0; col < table->columns(); ++col) {
            QTextCursor c = table->cellAt(0, col).firstCursorPosition();
            if (c.block().text().isEmpty() &&
                c.position() < table->cellAt(0, col).lastCursorPosition().position())
                c.deleteChar();
        }
    }
    for (QTextBlock b = document()->begin(); b.isValid(); b = b.next()) {
        for (auto it = b.begin(); !it.atEnd(); ++it) {
            const QTextFragment frag = it.fragment();
            if (!frag.charFormat().fontFixedPitch()) continue;
            cursor.setPosition(frag.position());
            cursor.setPosition(frag.position() + frag.length(), QTextCursor::KeepAnchor);
            QTextCharFormat c;
            c.setFontFamilies(mono.families());
            c.setBackground(tint);
            cursor.mergeCharFormat(c);
        }
    }
}

void MarkdownView::fitHeight() {
    document()->setTextWidth(viewport()->width());
    const int h = int(std::ceil(document()->size().height())) + 2 * frameWidth();
    if (h != height()) {
        setFixedHeight(h);
        updateGeometry();
    }
}

QSize MarkdownView::sizeHint() const {
    return {400, height()};
}

void MarkdownView::resizeEvent(QResizeEvent* event) {
    QTextBrowser::resizeEvent(event);
    fitHeight();
}

MessageWidget::MessageWidget(QWidget* parent)
    : QFrame(parent), m_who(new QLabel(this)), m_previous(new QToolButton(this)),
      m_version(new QLabel(this)), m_next(new QToolButton(this)), m_copy(new QToolButton(this)),
      m_edit(new QToolButton(this)), m_regenerate(new QToolButton(this)),
      m_view(new MarkdownView(this)), m_chip(new DocumentChip(this)), m_stats(new QLabel(this)) {
    setObjectName(u"message"_s);
    setFrameShape(QFrame::StyledPanel);
    m_previous->setText(u"‹"_s);
    m_previous->setToolTip(tr("Previous version"));
    m_next->setText(u"›"_s);
    m_next->setToolTip(tr("Next version"));
    m_copy->setText(tr("Copy"));
    m_copy->setToolTip(tr("Copy this message as Markdown"));
    m_edit->setText(tr("Edit"));
    m_edit->setToolTip(tr("Edit and resend: the original stays as another version"));
    m_regenerate->setText(tr("Regenerate"));
    m_regenerate->setToolTip(tr("Write another reply (Ctrl+R): this one stays as a version"));
    for (QToolButton* b : {m_previous, m_next, m_copy, m_edit, m_regenerate}) b->setAutoRaise(true);
    // Names for tests and accessibility tools.
    m_previous->setObjectName(u"previous"_s);
    m_next->setObjectName(u"next"_s);
    m_copy->setObjectName(u"copy"_s);
    m_edit->setObjectName(u"edit"_s);
    m_regenerate->setObjectName(u"regenerate"_s);
    m_version->setObjectName(u"version"_s);
    m_stats->setObjectName(u"stats"_s);
    QFont bold = m_who->font();
    bold.setBold(true);
    m_who->setFont(bold);
    QFont small = m_stats->font();
    small.setPointSizeF(small.pointSizeF() * 0.88);
    m_stats->setFont(small);
    m_stats->setEnabled(false); // greyed, not interactive
    m_version->setFont(small);

    auto* header = new QHBoxLayout;
    header->setSpacing(2);
    header->addWidget(m_who);
    header->addStretch(1);
    header->addWidget(m_previous);
    header->addWidget(m_version);
    header->addWidget(m_next);
    header->addSpacing(8);
    header->addWidget(m_edit);
    header->addWidget(m_regenerate);
    header->addWidget(m_copy);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 6, 12, 8);
    layout->setSpacing(2);
    layout->addLayout(header);
    layout->addWidget(m_chip, 0, Qt::AlignLeft);
    layout->addWidget(m_view);
    m_chip->hide();
    layout->addWidget(m_stats);

    connect(m_copy, &QToolButton::clicked, this, &MessageWidget::copyRequested);
    connect(m_edit, &QToolButton::clicked, this, &MessageWidget::editRequested);
    connect(m_regenerate, &QToolButton::clicked, this, &MessageWidget::regenerateRequested);
    connect(m_previous, &QToolButton::clicked, this, [this] { emit versionRequested(-1); });
    connect(m_next, &QToolButton::clicked, this, [this] { emit versionRequested(+1); });
    connect(m_chip, &DocumentChip::toggled, this, [this] {
        showDocument();
        emit documentToggled();
    });
}

void MessageWidget::setMessage(Role role, const QString& text, const QString& stats,
                               int versionIndex, int versionCount, bool streaming) {
    m_role = role;
    m_who->setText(role == Role::User        ? tr("You")
                   : role == Role::Assistant ? tr("Assistant")
                                             : tr("System"));
    const bool versions = versionCount > 1 && !streaming;
    m_previous->setVisible(versions);
    m_next->setVisible(versions);
    m_version->setVisible(versions);
    m_previous->setEnabled(versionIndex > 1);
    m_next->setEnabled(versionIndex < versionCount);
    m_version->setText(u"%1/%2"_s.arg(versionIndex).arg(versionCount));
    // A document is not edited in the composer: it is sent again by attaching it.
    m_edit->setVisible(role == Role::User && !streaming &&
                       !gander::ingest::isDocumentMessage(text));
    m_regenerate->setVisible(role == Role::Assistant && !streaming);
    m_copy->setVisible(!streaming);
    applyColours();
    setText(text, stats);
}

// From the application palette: a widget with a style sheet does not follow palette changes.
void MessageWidget::applyColours() {
    const QPalette p = QApplication::palette();
    const QColor tint = m_role == Role::User ? (isDarkPalette() ? QColor(0x2d, 0x3a, 0x33)
                                                                : QColor(0xe9, 0xf3, 0xed))
                                             : p.color(QPalette::Base);
    const QString sheet =
        u"QFrame#message { background: %1; border: 1px solid %2; border-radius: 8px; }"_s.arg(
            tint.name(), p.color(QPalette::Mid).name());
    if (sheet != styleSheet()) setStyleSheet(sheet);
}

void MessageWidget::restyle() {
    applyColours();
    render();
}

void MessageWidget::setText(const QString& text, const QString& stats) {
    // A collapsed document leaves the view empty on purpose.
    if (text != m_text || (!m_document && m_view->document()->isEmpty())) {
        m_text = text;
        render();
    }
    m_stats->setText(stats);
    m_stats->setVisible(!stats.isEmpty());
}

void MessageWidget::setTokenCounter(const gander::ingest::TokenCounter& counter) {
    m_counter = counter;
    m_tokens = -1;
    if (m_document) showDocument();
}

void MessageWidget::render() {
    m_document = m_role == Role::User && gander::ingest::isDocumentMessage(m_text);
    m_tokens = -1;
    if (m_document) {
        showDocument();
        return;
    }
    m_chip->hide();
    m_view->show();
    m_view->setMarkdownText(m_text.isEmpty() && m_role == Role::Assistant ? u"…"_s : m_text);
}

void MessageWidget::showDocument() {
    const auto info = gander::ingest::describeDocumentMessage(m_text);
    QStringList detail;
    QString body = m_text;
    if (info) {
        detail += info->kind;
        if (info->pages > 0)
            detail += info->pages == 1 ? tr("1 page") : tr("%1 pages").arg(info->pages);
        if (info->parts > 0) {
            detail += tr("%1 tokens").arg(gander::ingest::formatTokenCount(info->tokens));
            detail += tr("summarised in %1 parts").arg(info->parts);
        } else {
            if (m_tokens < 0) m_tokens = m_counter.count(m_text); // once per text and counter
            detail += (m_counter.exact() ? QString() : u"~"_s) +
                      tr("%1 tokens").arg(gander::ingest::formatTokenCount(m_tokens));
        }
        body = info->body;
    }
    m_chip->setDocument(info ? info->name : m_text.section(u'\n', 0, 0), detail.join(u" · "_s));
    m_chip->show();
    m_view->setVisible(m_chip->expanded());
    if (!m_chip->expanded()) {
        m_view->clear();
        return;
    }
    // Plain text, and not all of a 64K-token document: laying that out would stall the window.
    if (body.size() > kExpandedChars)
        body =
            body.left(kExpandedChars) + tr("\n\n… and %1 more characters (Copy copies all of it).")
                                            .arg(QLocale().toString(body.size() - kExpandedChars));
    m_view->setPlainText(body);
}

} // namespace gander::ui
