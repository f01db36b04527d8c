// RemoteChat: a reply from a remote OpenAI-compatible server, stored like the engine's.
#include "remote_chat.h"

#include "chat_store.h"

using namespace Qt::StringLiterals;
using gander::remote::RemoteClient;
using gander::remote::RemoteEndpoint;
using gander::remote::RemoteMessage;
using gander::remote::RemoteParams;
using gander::remote::RemoteUsage;

namespace gander::app {

namespace {
constexpr int kBatchMs = 33;
}

RemoteChat::RemoteChat(ChatStore* store, QObject* parent)
    : QObject(parent), m_store(store), m_client(new RemoteClient(this)) {
    m_batch.setInterval(kBatchMs);
    m_batch.setSingleShot(true);
    connect(&m_batch, &QTimer::timeout, this, &RemoteChat::flush);
    connect(m_client, &RemoteClient::textReady, this, &RemoteChat::onText);
    connect(m_client, &RemoteClient::finished, this, &RemoteChat::finish);
    connect(m_client, &RemoteClient::failed, this, [this](const QString& message, int status) {
        fail(describeFailure(m_client->endpoint().base_url, message, status));
    });
}

void RemoteChat::setEndpoint(const RemoteEndpoint& endpoint) {
    m_client->setEndpoint(endpoint);
}

QList<RemoteMessage> RemoteChat::messagesFor(const QString& systemPrompt,
                                             const QList<Message>& branch) {
    QList<RemoteMessage> out;
    auto add = [&out](const QString& role, const QString& text) {
        if (!out.isEmpty() && out.last().role == role)
            out.last().content += u"\n\n"_s + text;
        else
            out.append({role, text});
    };
    if (!systemPrompt.trimmed().isEmpty()) add(u"system"_s, systemPrompt);
    for (const Message& m : branch) add(roleName(m.role), m.text);
    return out;
}

QString RemoteChat::describeFailure(const QUrl& baseUrl, const QString& message, int status) {
    const QString server =
        baseUrl.port() > 0 ? u"%1:%2"_s.arg(baseUrl.host()).arg(baseUrl.port()) : baseUrl.host();
    // The server's own words, as one sentence whatever punctuation they came with.
    QString said = message.trimmed();
    if (said.isEmpty()) said = tr("no reason given");
    if (!said.endsWith(u'.') && !said.endsWith(u'!') && !said.endsWith(u'?')) said += u'.';
    if (status == 401 || status == 403)
        return tr("The remote server %1 refused the API key (HTTP %2): %3 Check the key in "
                  "Settings, Remote Server.")
            .arg(server)
            .arg(status)
            .arg(said);
    if (status >= 400)
        return tr("The remote server %1 answered HTTP %2: %3").arg(server).arg(status).arg(said);
    if (status == 0) return tr("Could not reach the remote server: %1").arg(said);
    return tr("The remote server's reply could not be read: %1").arg(said);
}

void RemoteChat::generate(const GenerateRequest& request) {
    if (busy()) stop();
    const auto user = m_store->message(request.userMessageId);
    if (!user) {
        emit replyFailed(0, tr("Message %1 is not in the database.").arg(request.userMessageId));
        return;
    }
    const qint64 conversationId = user->conversationId;
    const RemoteEndpoint& e = m_client->endpoint();
    if (e.base_url.isEmpty() || !e.base_url.isValid()) {
        emit replyFailed(conversationId,
                         tr("No remote server address is set, or it is not an http(s) address: "
                            "set it in Settings, Remote Server."));
        return;
    }
    if (e.model.isEmpty()) {
        emit replyFailed(conversationId, tr("No remote model is chosen: choose one in Settings, "
                                            "Remote Server (Fetch models lists them)."));
        return;
    }
    const auto conversation = m_store->conversation(conversationId);
    const QList<Message> branch = m_store->path(user->id);
    if (!conversation || branch.isEmpty()) {
        emit replyFailed(conversationId, m_store->error());
        return;
    }
    m_conversation = conversationId;
    m_userMessage = user->id;
    m_text.clear();
    m_pending.clear();
    m_pieces = 0;
    m_clock.start();
    RemoteParams params;
    // Temperature and top-p mean the same everywhere; the RWKV penalties (with their decay) do
    // not, so they are left to the server's defaults.
    params.temperature = request.sampling.temperature;
    params.top_p = request.sampling.topP;
    params.max_tokens = request.maxTokens;
    m_client->chat(messagesFor(conversation->systemPrompt, branch), params);
    emit replyStarted(conversationId, user->id);
}

void RemoteChat::onText(const QString& piece) {
    if (!busy()) return;
    m_text += piece;
    m_pending += piece;
    ++m_pieces;
    if (!m_batch.isActive()) m_batch.start();
}

void RemoteChat::flush() {
    m_batch.stop();
    if (m_pending.isEmpty() || !busy()) return;
    const double seconds = m_clock.nsecsElapsed() / 1e9;
    emit replyText(m_conversation, std::exchange(m_pending, {}), m_pieces,
                   seconds > 0 ? m_pieces / seconds : 0);
}

ReplyStats RemoteChat::statsFor(FinishReason finish, const RemoteUsage& usage) const {
    ReplyStats stats;
    stats.tokens = usage.completion_tokens > 0 ? usage.completion_tokens : m_pieces;
    const double seconds = m_clock.nsecsElapsed() / 1e9;
    stats.tokensPerSecond = seconds > 0 ? stats.tokens / seconds : 0;
    stats.prefillTokens = usage.prompt_tokens;
    stats.finish = finish;
    return stats;
}

qint64 RemoteChat::store(const ReplyStats& stats) {
    return m_store->addMessage(m_conversation, m_userMessage, Role::Assistant, m_text.trimmed(),
                               stats);
}

void RemoteChat::finish(const QString& reason, const RemoteUsage& usage) {
    if (!busy()) return;
    flush();
    const qint64 conversationId = m_conversation;
    const ReplyStats stats =
        statsFor(reason == "length"_L1 ? FinishReason::Length : FinishReason::Done, usage);
    const qint64 id = store(stats);
    m_conversation = 0;
    if (!id)
        emit replyFailed(conversationId, m_store->error());
    else
        emit replyFinished(conversationId, id, stats);
}

void RemoteChat::stop() {
    if (!busy()) return;
    m_client->cancel();
    flush();
    const qint64 conversationId = m_conversation;
    const ReplyStats stats = statsFor(FinishReason::Stopped, {});
    const qint64 id = m_text.trimmed().isEmpty() ? 0 : store(stats);
    m_conversation = 0;
    emit replyFinished(conversationId, id, stats);
}

void RemoteChat::fail(const QString& message) {
    if (!busy()) return;
    flush();
    const qint64 conversationId = m_conversation;
    // Whatever arrived before the failure is kept: the user may want to read or copy it.
    if (!m_text.trimmed().isEmpty()) store(statsFor(FinishReason::Error, {}));
    m_conversation = 0;
    emit replyFailed(conversationId, message);
}

} // namespace gander::app
