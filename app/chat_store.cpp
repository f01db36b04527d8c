// SQLite implementation of the chat store. See chat_store.h for the threading rules.
#include "chat_store.h"

#include "migrations.h"

#include <QAtomicInteger>
#include <QFileInfo>
#include <QSet>
#include <QSqlError>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QVariant>

using namespace Qt::StringLiterals;

namespace gander::app {

namespace {

QAtomicInteger<quint64> g_connectionCounter;

qint64 nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}

QVariant idOrNull(qint64 id) {
    return id > 0 ? QVariant(id) : QVariant(QMetaType::fromType<qint64>());
}

Message readMessage(const QSqlQuery& q) {
    Message m;
    m.id = q.value(0).toLongLong();
    m.conversationId = q.value(1).toLongLong();
    m.parentId = q.value(2).toLongLong();
    m.role = roleFromName(q.value(3).toString());
    m.text = q.value(4).toString();
    m.createdAt = QDateTime::fromMSecsSinceEpoch(q.value(5).toLongLong());
    m.stats.tokens = q.value(6).toInt();
    m.stats.tokensPerSecond = q.value(7).toDouble();
    m.stats.prefillTokens = q.value(8).toInt();
    m.stats.finish = static_cast<FinishReason>(q.value(9).toInt());
    if (q.record().count() > 11) {
        m.version = q.value(10).toInt();
        m.versions = q.value(11).toInt();
    }
    return m;
}

constexpr auto kMessageColumns =
    "m.id, m.conversation_id, coalesce(m.parent_id, 0), m.role, m.content, m.created_at, "
    "m.tokens, m.tokens_per_second, m.prefill_tokens, m.finish";

Conversation readConversation(const QSqlQuery& q) {
    Conversation c;
    c.id = q.value(0).toLongLong();
    c.title = q.value(1).toString();
    c.systemPrompt = q.value(2).toString();
    c.leafId = q.value(3).toLongLong();
    c.createdAt = QDateTime::fromMSecsSinceEpoch(q.value(4).toLongLong());
    c.updatedAt = QDateTime::fromMSecsSinceEpoch(q.value(5).toLongLong());
    return c;
}

constexpr auto kConversationColumns =
    "id, title, system_prompt, coalesce(leaf_id, 0), created_at, updated_at";

// Marks matches with \x01...\x02, then escapes the text for display and turns the marks into bold.
QString marksToHtml(const QString& marked) {
    QString html = marked.toHtmlEscaped();
    html.replace(QChar(1), u"<b>"_s);
    html.replace(QChar(2), u"</b>"_s);
    html.replace(QChar(u'\n'), QChar(u' '));
    return html;
}

} // namespace

QString roleName(Role role) {
    switch (role) {
    case Role::System:
        return u"system"_s;
    case Role::User:
        return u"user"_s;
    case Role::Assistant:
        return u"assistant"_s;
    }
    return u"user"_s;
}

Role roleFromName(const QString& name) {
    if (name == "system"_L1) return Role::System;
    if (name == "assistant"_L1) return Role::Assistant;
    return Role::User;
}

ChatStore::ChatStore()
    : m_connection(u"gander-store-%1"_s.arg(g_connectionCounter.fetchAndAddRelaxed(1))) {}

ChatStore::~ChatStore() {
    if (QSqlDatabase::contains(m_connection)) {
        QSqlDatabase::database(m_connection, false).close();
        QSqlDatabase::removeDatabase(m_connection);
    }
}

bool ChatStore::fail(const QString& what) const {
    m_error = what;
    qWarning("ChatStore: %s", qUtf8Printable(what));
    return false;
}

bool ChatStore::exec(QSqlQuery& query) const {
    if (query.exec()) return true;
    return fail(u"%1: %2"_s.arg(query.lastQuery().simplified().left(80), query.lastError().text()));
}

bool ChatStore::open(const QString& path) {
    m_path = path;
    m_open = false;
    auto db = QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connection);
    db.setDatabaseName(path);
    // A second connection (the worker's) may hold the write lock for a moment.
    db.setConnectOptions(u"QSQLITE_BUSY_TIMEOUT=5000"_s);
    const QString name = QFileInfo(path).fileName();
    if (!db.open())
        return fail(u"Cannot open the chat history %1: %2"_s.arg(path, db.lastError().text()));

    QSqlQuery q(db);
    // The first read of the header is where SQLite notices a file that is not a database.
    if (!q.exec(u"PRAGMA application_id"_s) || !q.next()) {
        return fail(u"The chat history %1 is damaged or is not a Gander database (%2). "
                    "Move it aside or choose another data folder in Settings."_s.arg(
                        path, q.lastError().databaseText()));
    }
    const int appId = q.value(0).toInt();
    if (appId != 0 && appId != kApplicationId)
        return fail(u"%1 belongs to another program (application id %2); Gander will not "
                    "change it. Choose another data folder."_s.arg(path)
                        .arg(appId));
    const int version = schemaVersion();
    if (version > latestSchemaVersion())
        return fail(u"The chat history %1 was written by a newer version of Gander (schema %2; "
                    "this version reads up to %3). Update Gander, or choose another data "
                    "folder in Settings."_s.arg(name)
                        .arg(version)
                        .arg(latestSchemaVersion()));
    if (appId == 0 && version > 0)
        return fail(u"%1 is an SQLite file that Gander did not write; it will not be changed. "
                    "Choose another data folder."_s.arg(path));

    if (!q.exec(u"PRAGMA journal_mode = WAL"_s) || !q.next())
        return fail(u"%1: cannot switch to WAL: %2"_s.arg(name, q.lastError().text()));
    // NORMAL in WAL mode survives a killed process; only a power cut can lose the last commits.
    q.exec(u"PRAGMA synchronous = NORMAL"_s);
    if (!q.exec(u"PRAGMA foreign_keys = ON"_s))
        return fail(u"%1: cannot enable foreign keys: %2"_s.arg(name, q.lastError().text()));
    if (!migrate()) return false;
    m_open = true;
    return true;
}

int ChatStore::schemaVersion() const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (!q.exec(u"PRAGMA user_version"_s) || !q.next()) return -1;
    return q.value(0).toInt();
}

bool ChatStore::migrate() {
    auto db = QSqlDatabase::database(m_connection, false);
    QSqlQuery q(db);
    // IMMEDIATE takes the write lock first, so two processes cannot both run the same migration.
    if (!q.exec(u"BEGIN IMMEDIATE"_s))
        return fail(u"Cannot lock %1 for upgrade: %2"_s.arg(m_path, q.lastError().text()));
    const int from = schemaVersion();
    for (const Migration& m : migrations()) {
        if (m.version <= from) continue;
        for (const QString& sql : m.statements) {
            if (!q.exec(sql)) {
                const QString why = q.lastError().text();
                q.exec(u"ROLLBACK"_s);
                return fail(
                    u"Upgrading %1 to schema %2 failed (%3); the file is unchanged."_s.arg(m_path)
                        .arg(m.version)
                        .arg(why));
            }
        }
        q.exec(u"PRAGMA user_version = %1"_s.arg(m.version));
    }
    q.exec(u"PRAGMA application_id = %1"_s.arg(kApplicationId));
    if (!q.exec(u"COMMIT"_s)) {
        q.exec(u"ROLLBACK"_s);
        return fail(u"Cannot commit the upgrade of %1: %2"_s.arg(m_path, q.lastError().text()));
    }
    return true;
}

bool ChatStore::integrityOk() const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    if (!q.exec(u"PRAGMA integrity_check"_s) || !q.next()) return false;
    return q.value(0).toString() == "ok"_L1;
}

QList<Conversation> ChatStore::conversations() const {
    QList<Conversation> out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT %1 FROM conversations WHERE deleted = 0 "
              "ORDER BY updated_at DESC, id DESC"_s.arg(QLatin1StringView(kConversationColumns)));
    if (!exec(q)) return out;
    while (q.next()) out.append(readConversation(q));
    return out;
}

std::optional<Conversation> ChatStore::conversation(qint64 id) const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT %1 FROM conversations WHERE id = ?"_s.arg(
        QLatin1StringView(kConversationColumns)));
    q.addBindValue(id);
    if (!exec(q) || !q.next()) return std::nullopt;
    return readConversation(q);
}

qint64 ChatStore::createConversation(const QString& title, const QString& systemPrompt) {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"INSERT INTO conversations (title, system_prompt, created_at, updated_at) "
              "VALUES (?, ?, ?, ?)"_s);
    const qint64 now = nowMs();
    // A null QString binds as NULL; the columns are NOT NULL.
    q.addBindValue(title.isNull() ? u""_s : title);
    q.addBindValue(systemPrompt.isNull() ? u""_s : systemPrompt);
    q.addBindValue(now);
    q.addBindValue(now);
    if (!exec(q)) return 0;
    return q.lastInsertId().toLongLong();
}

bool ChatStore::renameConversation(qint64 id, const QString& title) {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"UPDATE conversations SET title = ? WHERE id = ?"_s);
    q.addBindValue(title.isNull() ? u""_s : title);
    q.addBindValue(id);
    return exec(q) && q.numRowsAffected() == 1;
}

bool ChatStore::setConversationDeleted(qint64 id, bool deleted) {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"UPDATE conversations SET deleted = ? WHERE id = ?"_s);
    q.addBindValue(deleted ? 1 : 0);
    q.addBindValue(id);
    return exec(q) && q.numRowsAffected() == 1;
}

int ChatStore::purgeDeleted() {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"DELETE FROM conversations WHERE deleted = 1"_s);
    if (!exec(q)) return 0;
    return q.numRowsAffected();
}

bool ChatStore::setLeaf(qint64 conversationId, qint64 leafId) {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"UPDATE conversations SET leaf_id = ? WHERE id = ?"_s);
    q.addBindValue(idOrNull(leafId));
    q.addBindValue(conversationId);
    return exec(q);
}

qint64 ChatStore::addMessage(qint64 conversationId, qint64 parentId, Role role, const QString& text,
                             const ReplyStats& stats) {
    auto db = QSqlDatabase::database(m_connection, false);
    if (!db.transaction()) {
        fail(u"Cannot start a transaction: %1"_s.arg(db.lastError().text()));
        return 0;
    }
    QSqlQuery q(db);
    const qint64 now = nowMs();
    q.prepare(u"INSERT INTO messages (conversation_id, parent_id, role, content, created_at, "
              "tokens, tokens_per_second, prefill_tokens, finish) VALUES (?,?,?,?,?,?,?,?,?)"_s);
    q.addBindValue(conversationId);
    q.addBindValue(idOrNull(parentId));
    q.addBindValue(roleName(role));
    q.addBindValue(text.isNull() ? u""_s : text);
    q.addBindValue(now);
    q.addBindValue(stats.tokens);
    q.addBindValue(stats.tokensPerSecond);
    q.addBindValue(stats.prefillTokens);
    q.addBindValue(static_cast<int>(stats.finish));
    if (!exec(q)) {
        db.rollback();
        return 0;
    }
    const qint64 id = q.lastInsertId().toLongLong();
    QSqlQuery u(db);
    u.prepare(u"UPDATE conversations SET leaf_id = ?, updated_at = ? WHERE id = ?"_s);
    u.addBindValue(id);
    u.addBindValue(now);
    u.addBindValue(conversationId);
    if (!exec(u) || !db.commit()) {
        db.rollback();
        return 0;
    }
    return id;
}

std::optional<Message> ChatStore::message(qint64 id) const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(
        u"SELECT %1 FROM messages m WHERE m.id = ?"_s.arg(QLatin1StringView(kMessageColumns)));
    q.addBindValue(id);
    if (!exec(q) || !q.next()) return std::nullopt;
    return readMessage(q);
}

QList<Message> ChatStore::path(qint64 leafId) const {
    QList<Message> out;
    if (leafId <= 0) return out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    // Walks up from the leaf; depth keeps the order without a second sort key.
    q.prepare(u"WITH RECURSIVE up(id, depth) AS ("
              "  SELECT id, 0 FROM messages WHERE id = ?"
              "  UNION ALL SELECT m.parent_id, up.depth + 1 FROM messages m JOIN up ON m.id = up.id"
              "  WHERE m.parent_id IS NOT NULL)"
              // Each message's place among its versions, in the same query: one round trip
              // for the whole branch however long it is.
              " SELECT %1,"
              "  (SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id"
              "   AND s.parent_id IS m.parent_id AND s.id <= m.id),"
              "  (SELECT count(*) FROM messages s WHERE s.conversation_id = m.conversation_id"
              "   AND s.parent_id IS m.parent_id)"
              " FROM messages m JOIN up ON up.id = m.id ORDER BY up.depth DESC"_s.arg(
                  QLatin1StringView(kMessageColumns)));
    q.addBindValue(leafId);
    if (!exec(q)) return out;
    while (q.next()) out.append(readMessage(q));
    return out;
}

QList<qint64> ChatStore::siblings(qint64 messageId) const {
    QList<qint64> out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT s.id FROM messages s JOIN messages m ON m.id = ? "
              "WHERE s.conversation_id = m.conversation_id "
              "AND s.parent_id IS m.parent_id ORDER BY s.id"_s);
    q.addBindValue(messageId);
    if (!exec(q)) return out;
    while (q.next()) out.append(q.value(0).toLongLong());
    return out;
}

qint64 ChatStore::branchEnd(qint64 messageId) const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT max(id) FROM messages WHERE parent_id = ?"_s);
    qint64 id = messageId;
    for (;;) {
        q.bindValue(0, id);
        if (!exec(q) || !q.next() || q.value(0).isNull()) return id;
        id = q.value(0).toLongLong();
    }
}

QList<SearchHit> ChatStore::search(const QString& query, int limit) const {
    const QStringList words = query.simplified().split(QChar(u' '), Qt::SkipEmptyParts);
    if (words.isEmpty()) return {};
    // Trigrams need three characters; shorter words fall back to a scan.
    for (const QString& w : words)
        if (w.size() < 3) return searchLike(words, limit);

    QStringList terms;
    for (QString w : words) terms.append(u"\"%1\""_s.arg(w.replace(u"\""_s, u"\"\""_s)));
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT m.conversation_id, c.title,"
              " snippet(messages_fts, 0, char(1), char(2), '…', 48)"
              " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
              " JOIN conversations c ON c.id = m.conversation_id"
              " WHERE messages_fts MATCH ? AND c.deleted = 0"
              " ORDER BY c.updated_at DESC, c.id DESC, m.id LIMIT ?"_s);
    q.addBindValue(terms.join(QChar(u' ')));
    q.addBindValue(limit * 20);
    QList<SearchHit> out;
    if (!exec(q)) return out;
    QSet<qint64> seen;
    while (q.next() && out.size() < limit) {
        const qint64 id = q.value(0).toLongLong();
        if (seen.contains(id)) continue;
        seen.insert(id);
        out.append({id, q.value(1).toString(), marksToHtml(q.value(2).toString())});
    }
    return out;
}

QList<SearchHit> ChatStore::searchLike(const QStringList& words, int limit) const {
    QStringList where;
    for (qsizetype i = 0; i < words.size(); ++i) where.append(u"m.content LIKE ? ESCAPE '\\'"_s);
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT m.conversation_id, c.title, m.content FROM messages m"
              " JOIN conversations c ON c.id = m.conversation_id WHERE c.deleted = 0 AND %1"
              " ORDER BY c.updated_at DESC, c.id DESC, m.id LIMIT ?"_s.arg(where.join(u" AND "_s)));
    for (QString w : words) {
        w.replace(u"\\"_s, u"\\\\"_s).replace(u"%"_s, u"\\%"_s).replace(u"_"_s, u"\\_"_s);
        q.addBindValue(u"%"_s + w + u"%"_s);
    }
    q.addBindValue(limit * 20);
    QList<SearchHit> out;
    if (!exec(q)) return out;
    QSet<qint64> seen;
    while (q.next() && out.size() < limit) {
        const qint64 id = q.value(0).toLongLong();
        if (seen.contains(id)) continue;
        seen.insert(id);
        // A window of text around the first match, with every match marked.
        const QString text = q.value(2).toString();
        const qsizetype at = text.indexOf(words.first(), 0, Qt::CaseInsensitive);
        const qsizetype from = qMax<qsizetype>(0, at - 40);
        QString window = text.mid(from, 120);
        for (const QString& w : words) {
            for (qsizetype i = window.indexOf(w, 0, Qt::CaseInsensitive); i >= 0;
                 i = window.indexOf(w, i + w.size() + 2, Qt::CaseInsensitive)) {
                window.insert(i + w.size(), QChar(2));
                window.insert(i, QChar(1));
            }
        }
        if (from > 0) window.prepend(u"…"_s);
        if (from + 120 < text.size()) window.append(u"…"_s);
        out.append({id, q.value(1).toString(), marksToHtml(window)});
    }
    return out;
}

bool ChatStore::saveState(const SavedState& state) {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"INSERT OR REPLACE INTO states (conversation_id, message_id, fingerprint, tokens, "
              "blob, saved_at) VALUES (?, ?, ?, ?, ?, ?)"_s);
    q.addBindValue(state.conversationId);
    q.addBindValue(state.messageId);
    q.addBindValue(state.fingerprint);
    q.addBindValue(state.tokens);
    q.addBindValue(state.blob);
    q.addBindValue(nowMs());
    return exec(q);
}

std::optional<SavedState> ChatStore::loadState(qint64 conversationId) const {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT message_id, fingerprint, tokens, blob FROM states "
              "WHERE conversation_id = ?"_s);
    q.addBindValue(conversationId);
    if (!exec(q) || !q.next()) return std::nullopt;
    return SavedState{conversationId, q.value(0).toLongLong(), q.value(1).toString(),
                      q.value(2).toLongLong(), q.value(3).toByteArray()};
}

bool ChatStore::clearState(qint64 conversationId) {
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"DELETE FROM states WHERE conversation_id = ?"_s);
    q.addBindValue(conversationId);
    return exec(q);
}

} // namespace gander::app
