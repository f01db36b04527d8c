// The remote backend as the window sees it: a reply to a stored user message, streamed from an
// OpenAI-compatible server elsewhere (app/remote/RemoteClient) instead of the embedded engine,
// and stored in the chat history as the engine's replies are.
//
// The signals mirror EngineWorker's reply signals, so the window treats both the same way. No
// state is saved, and none is needed by the server: each request carries the conversation's
// whole branch (its system prompt, then every turn up to the question).
//
// GUI thread: it writes through the GUI thread's ChatStore (a reply is a short text row, never a
// blob) and all its network I/O is asynchronous. One reply at a time.
#pragma once

#include "chat_types.h"
#include "engine_worker.h"
#include "remote_client.h"

#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

namespace gander::app {

class ChatStore;

class RemoteChat final : public QObject {
    Q_OBJECT
public:
    explicit RemoteChat(ChatStore* store, QObject* parent = nullptr);
    Q_DISABLE_COPY_MOVE(RemoteChat)

    void setEndpoint(const gander::remote::RemoteEndpoint& endpoint);
    const gander::remote::RemoteEndpoint& endpoint() const { return m_client->endpoint(); }
    void setIdleTimeout(int seconds) { m_client->setIdleTimeout(seconds); }
    bool busy() const { return m_conversation != 0; }

    // Streams the reply to request.userMessageId. Failures, including a bad address or a missing
    // model id, arrive as replyFailed, never as an exception or a crash.
    void generate(const GenerateRequest& request);
    // Cancels the request; the text received so far is stored as a stopped reply, and
    // replyFinished (assistant id 0 when nothing had arrived) is emitted before this returns.
    void stop();

    // The request's messages for a branch: the system prompt, then the turns; consecutive
    // messages of one role (documents sent before a question) are joined, since several chat
    // templates refuse two user turns in a row.
    static QList<gander::remote::RemoteMessage> messagesFor(const QString& systemPrompt,
                                                            const QList<Message>& branch);
    // A failure of the client as the user reads it in the transcript.
    static QString describeFailure(const QUrl& baseUrl, const QString& message, int httpStatus);

signals:
    void replyStarted(qint64 conversationId, qint64 userMessageId);
    void replyText(qint64 conversationId, const QString& text, int tokens, double tokensPerSecond);
    void replyFinished(qint64 conversationId, qint64 assistantMessageId,
                       const gander::app::ReplyStats& stats);
    // The text received before the failure, if any, is stored first (finish reason Error).
    void replyFailed(qint64 conversationId, const QString& message);

private:
    void onText(const QString& piece);
    void flush();
    ReplyStats statsFor(FinishReason finish, const gander::remote::RemoteUsage& usage) const;
    qint64 store(const ReplyStats& stats); // the reply so far, under the question
    void finish(const QString& reason, const gander::remote::RemoteUsage& usage);
    void fail(const QString& message);

    ChatStore* m_store;
    gander::remote::RemoteClient* m_client;
    QTimer m_batch; // text goes to the window at most ~30 times a second, as the engine's does
    QElapsedTimer m_clock;
    qint64 m_conversation = 0; // the reply in flight (0: none)
    qint64 m_userMessage = 0;
    QString m_text;    // the reply so far
    QString m_pending; // not yet sent to the window
    int m_pieces = 0;  // stream events with text: one token each on the servers we know
};

} // namespace gander::app
