#include "exporter.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

using namespace Qt::StringLiterals;

namespace gander::app {

QString exportMarkdown(const Conversation& conversation, const QList<Message>& messages) {
    QString md = u"# %1\n\n"_s.arg(conversation.title);
    md += u"_Exported from Gander on %1_\n\n"_s.arg(
        QDateTime::currentDateTime().toString(Qt::ISODate));
    if (!conversation.systemPrompt.isEmpty())
        md += u"> **System:** %1\n\n"_s.arg(conversation.systemPrompt);
    for (const Message& m : messages) {
        const QString who = m.role == Role::User        ? u"You"_s
                            : m.role == Role::Assistant ? u"Assistant"_s
                                                        : u"System"_s;
        md += u"## %1\n\n%2\n\n"_s.arg(who, m.text);
        if (m.role == Role::Assistant && m.stats.tokens > 0)
            md += u"_%1 tokens, %2 tokens/s_\n\n"_s.arg(m.stats.tokens)
                      .arg(m.stats.tokensPerSecond, 0, 'f', 1);
    }
    return md;
}

QByteArray exportJson(const Conversation& conversation, const QList<Message>& messages) {
    QJsonArray items;
    for (const Message& m : messages) {
        QJsonObject o{{u"id"_s, m.id},
                      {u"parent_id"_s, m.parentId ? QJsonValue(m.parentId) : QJsonValue()},
                      {u"role"_s, roleName(m.role)},
                      {u"content"_s, m.text},
                      {u"created_at"_s, m.createdAt.toUTC().toString(Qt::ISODateWithMs)}};
        if (m.role == Role::Assistant) {
            o.insert(u"tokens"_s, m.stats.tokens);
            o.insert(u"tokens_per_second"_s, m.stats.tokensPerSecond);
        }
        items.append(o);
    }
    QJsonObject root{{u"format"_s, u"gander-conversation"_s},
                     {u"version"_s, 1},
                     {u"title"_s, conversation.title},
                     {u"system_prompt"_s, conversation.systemPrompt},
                     {u"created_at"_s, conversation.createdAt.toUTC().toString(Qt::ISODate)},
                     {u"messages"_s, items}};
    return QJsonDocument(root).toJson(QJsonDocument::Indented);
}

bool exportToFile(const QString& path, const Conversation& conversation,
                  const QList<Message>& messages, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = u"%1: %2"_s.arg(path, file.errorString());
        return false;
    }
    const QByteArray data = path.endsWith(u".json"_s, Qt::CaseInsensitive)
                                ? exportJson(conversation, messages)
                                : exportMarkdown(conversation, messages).toUtf8();
    file.write(data);
    if (!file.commit()) {
        *error = u"%1: %2"_s.arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace gander::app
