// The chat history in SQLite: conversations, branching messages, full-text search and the saved
// session states.
//
// One ChatStore is one database connection and belongs to the thread that opened it (the GUI
// thread has one, the engine worker has its own). The file runs in WAL mode with foreign keys on,
// so a reader never blocks the writer and a killed process leaves a database that opens cleanly.
// Failures never throw: calls return false / 0 / nullopt and error() says what failed.
#pragma once

#include "chat_types.h"

#include <QList>
#include <QSqlDatabase>
#include <QString>

#include <optional>

class QSqlQuery;

namespace gander::app {

class ChatStore final {
public:
    ChatStore();
    ~ChatStore();
    Q_DISABLE_COPY_MOVE(ChatStore)

    // Opens (creating if needed) and migrates the database. A file that is not a Gander database,
    // is damaged, or was written by a newer Gander is refused with a message for the user.
    bool open(const QString& path);
    bool isOpen() const { return m_open; }
    QString path() const { return m_path; }
    QString error() const { return m_error; }
    int schemaVersion() const;
    bool integrityOk() const;

    // Conversations, most recently active first; deleted ones are hidden until purged.
    QList<Conversation> conversations() const;
    std::optional<Conversation> conversation(qint64 id) const;
    qint64 createConversation(const QString& title, const QString& systemPrompt = {});
    bool renameConversation(qint64 id, const QString& title);
    // Deletion is two-step so that it can be undone: hidden now, removed by purgeDeleted().
    bool setConversationDeleted(qint64 id, bool deleted);
    int purgeDeleted();
    bool setLeaf(qint64 conversationId, qint64 leafId);

    // Adds a message under `parentId` (0: first message) and makes it the conversation's leaf.
    qint64 addMessage(qint64 conversationId, qint64 parentId, Role role, const QString& text,
                      const ReplyStats& stats = {});
    std::optional<Message> message(qint64 id) const;
    // The branch that ends at `leafId`, first message first.
    QList<Message> path(qint64 leafId) const;
    // Ids of the messages that share `messageId`'s parent (itself included), oldest first.
    QList<qint64> siblings(qint64 messageId) const;
    // The end of the branch below `messageId`, following the newest child at each step.
    qint64 branchEnd(qint64 messageId) const;

    // Conversations whose messages (or title) contain every word of `query`.
    QList<SearchHit> search(const QString& query, int limit = 100) const;

    bool saveState(const SavedState& state);
    std::optional<SavedState> loadState(qint64 conversationId) const;
    bool clearState(qint64 conversationId);

private:
    bool migrate();
    bool exec(QSqlQuery& query) const;
    bool fail(const QString& what) const;
    QList<SearchHit> searchLike(const QStringList& words, int limit) const;

    QString m_connection;
    QString m_path;
    mutable QString m_error;
    bool m_open = false;
};

} // namespace gander::app
