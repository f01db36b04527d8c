// One message of the transcript: who wrote it, its text rendered as Markdown, its versions
// ("< 2/3 >"), copy / edit / regenerate buttons, and for replies the token count and speed.
// A document message (ingest::isDocumentMessage) shows as a DocumentChip; a click on the chip
// shows its text (plain, the first kExpandedChars characters) and hides it again.
#pragma once

#include "chat_types.h"

#include <token_counter.h>

#include <QFrame>
#include <QTextBrowser>

class QLabel;
class QToolButton;

namespace gander::ui {

class DocumentChip;

// A read-only Markdown view as tall as its text (the transcript scrolls, not each message).
class MarkdownView final : public QTextBrowser {
    Q_OBJECT
public:
    explicit MarkdownView(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(MarkdownView)
    void setMarkdownText(const QString& markdown);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return sizeHint(); }

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void styleCodeBlocks();
    void fitHeight();
};

class MessageWidget final : public QFrame {
    Q_OBJECT
public:
    explicit MessageWidget(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(MessageWidget)

    void setMessage(gander::app::Role role, const QString& text, const QString& stats,
                    int versionIndex, int versionCount, bool streaming);
    void setText(const QString& text, const QString& stats);
    QString text() const { return m_text; }
    MarkdownView* view() const { return m_view; }
    // The chip of a document message; hidden for other messages.
    DocumentChip* documentChip() const { return m_chip; }
    bool isDocument() const { return m_document; }
    // Counts the tokens a document chip shows (an estimate until a tokenizer is loaded).
    void setTokenCounter(const gander::ingest::TokenCounter& counter);
    // Colours again after a theme change (frame, code blocks, tables).
    void restyle();

    static constexpr int kExpandedChars = 20000;

signals:
    void copyRequested();
    void editRequested();
    void regenerateRequested();
    void versionRequested(int delta);
    // The document chip was clicked: the message grew or shrank.
    void documentToggled();

private:
    void applyColours();
    void render();
    void showDocument();

    QLabel* m_who;
    QToolButton* m_previous;
    QLabel* m_version;
    QToolButton* m_next;
    QToolButton* m_copy;
    QToolButton* m_edit;
    QToolButton* m_regenerate;
    MarkdownView* m_view;
    DocumentChip* m_chip;
    QLabel* m_stats;
    QString m_text;
    gander::ingest::TokenCounter m_counter;
    bool m_document = false;
    int m_tokens = -1; // the document's count, -1: not counted yet
    gander::app::Role m_role = gander::app::Role::User;
};

} // namespace gander::ui
