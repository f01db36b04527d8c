// Plain values passed between the store, the worker and the item models (by value across threads).
#pragma once

#include <QDateTime>
#include <QMetaType>
#include <QString>

namespace gander::app {

enum class Role { System = 0, User = 1, Assistant = 2 };

QString roleName(Role role); // "system", "user", "assistant" (as stored and exported)
Role roleFromName(const QString& name);

// Why a reply ended; stored with the message so the transcript can say "stopped".
enum class FinishReason { Done = 0, Stopped = 1, Length = 2, Error = 3 };

struct ReplyStats {
    int tokens = 0;             // tokens generated
    double tokensPerSecond = 0; // decode speed
    int prefillTokens = 0;      // tokens fed before the first generated one
    FinishReason finish = FinishReason::Done;
};

struct Message {
    qint64 id = 0;
    qint64 conversationId = 0;
    qint64 parentId = 0; // 0: first message of the conversation
    Role role = Role::User;
    QString text;
    QDateTime createdAt;
    ReplyStats stats; // assistant messages only
    // Filled by ChatStore::path(): this message's place among the versions of it (messages with
    // the same parent), 1-based.
    int version = 1;
    int versions = 1;
};

struct Conversation {
    qint64 id = 0;
    QString title;
    QString systemPrompt;
    qint64 leafId = 0; // last message of the branch on screen
    QDateTime createdAt;
    QDateTime updatedAt;
};

struct SearchHit {
    qint64 conversationId = 0;
    QString title;
    QString snippet; // HTML-escaped text with the matches in <b>...</b>
};

// A session state saved for a conversation: valid for `messageId` under `fingerprint`.
struct SavedState {
    qint64 conversationId = 0;
    qint64 messageId = 0;
    QString fingerprint;
    qint64 tokens = 0;
    QByteArray blob;
};

} // namespace gander::app

Q_DECLARE_METATYPE(gander::app::ReplyStats)
Q_DECLARE_METATYPE(gander::app::Message)
