// The messages of the branch on screen, plus the reply being streamed (a row with id 0).
// Each row knows its siblings, so the view can show "< 2/3 >" and switch branches.
// Reads through the GUI thread's ChatStore; changes only on the GUI thread.
#pragma once

#include "chat_types.h"

#include <QAbstractListModel>

namespace gander::app {

class ChatStore;

class TranscriptModel final : public QAbstractListModel {
    Q_OBJECT
public:
    enum Roles {
        IdRole = Qt::UserRole + 1,
        RoleRole,         // Role as int
        StatsRole,        // "42 tokens · 12.5 tokens/s" (assistant rows)
        SiblingIndexRole, // 1-based position among the versions of this message
        SiblingCountRole,
        StreamingRole,
    };

    explicit TranscriptModel(ChatStore* store, QObject* parent = nullptr);
    Q_DISABLE_COPY_MOVE(TranscriptModel)

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    void setConversation(qint64 conversationId); // 0: none
    qint64 conversationId() const { return m_conversation; }
    qint64 leafId() const; // last stored message on screen (0: none)
    void reload();
    Message messageAt(int row) const;
    QList<Message> messages() const; // stored rows only

    // Shows the `delta`-th other version of the message at `row` and the newest branch below it.
    // Returns the new leaf, 0 if there is no such version.
    qint64 switchVersion(int row, int delta);

    void beginReply();
    void appendReply(const QString& text, int tokens, double tokensPerSecond);
    void endReply();
    bool replying() const { return m_streaming; }
    QString replyText() const;

    static QString statsText(const ReplyStats& stats);

private:
    struct Row {
        Message message;
        int siblingIndex = 1;
        int siblingCount = 1;
    };

    ChatStore* m_store;
    qint64 m_conversation = 0;
    QList<Row> m_rows;
    bool m_streaming = false;
};

} // namespace gander::app
