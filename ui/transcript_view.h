// The conversation on screen: one MessageWidget per row of a TranscriptModel, in a scroll area
// that follows the reply while the user is at the bottom. Streamed text is re-rendered at most
// every kRenderMs, however often the model changes.
#pragma once

#include <token_counter.h>

#include <QScrollArea>
#include <QSet>
#include <QTimer>

class QAbstractItemModel;
class QLabel;
class QVBoxLayout;

namespace gander::ui {

class MessageWidget;

class TranscriptView final : public QScrollArea {
    Q_OBJECT
public:
    explicit TranscriptView(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(TranscriptView)

    void setModel(QAbstractItemModel* model);
    MessageWidget* messageWidget(int row) const;
    int count() const { return int(m_widgets.size()); }
    void setEmptyText(const QString& text);
    // A line under the last message that is not part of the conversation: why a reply failed
    // (the remote server refused the key, could not be reached, ...). Empty: hidden.
    void setNotice(const QString& text);
    QString notice() const;
    QLabel* noticeLabel() const { return m_notice; }
    void restyle();
    // What the document chips count their tokens with.
    void setTokenCounter(const gander::ingest::TokenCounter& counter);

signals:
    void editRequested(int row);
    void regenerateRequested(int row);
    void versionRequested(int row, int delta);

private:
    static constexpr int kRenderMs = 50;

    void rebuild();
    void insertRows(int first, int last);
    void removeRows(int first, int last);
    void update(int row);
    void flush();
    void keepBottom();
    int rowOf(const MessageWidget* widget) const;

    QAbstractItemModel* m_model = nullptr;
    QWidget* m_content;
    QVBoxLayout* m_layout;
    QLabel* m_empty;
    QLabel* m_notice;
    QList<MessageWidget*> m_widgets;
    QSet<int> m_dirty;
    QTimer m_render;
    gander::ingest::TokenCounter m_counter;
    bool m_follow = true;
};

} // namespace gander::ui
