// ChatStore on real SQLite files: fresh databases, the upgrade of a frozen version-1 database,
// branches, full-text search, deletion with undo, saved states, and files it must refuse.
#include "chat_store.h"
#include "migrations.h"

#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::app;

namespace {

// Runs raw SQL on a file through a throwaway connection (to build or inspect databases the way
// another version of Gander, or another program, would have left them).
void rawSql(const QString& path, const QStringList& statements) {
    {
        auto db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"raw"_s);
        db.setDatabaseName(path);
        QVERIFY(db.open());
        QSqlQuery q(db);
        for (const QString& s : statements) QVERIFY2(q.exec(s), qPrintable(s));
    }
    QSqlDatabase::removeDatabase(u"raw"_s);
}

QVariant rawValue(const QString& path, const QString& sql) {
    QVariant v;
    {
        auto db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"raw"_s);
        db.setDatabaseName(path);
        db.open();
        QSqlQuery q(db);
        if (q.exec(sql) && q.next()) v = q.value(0);
    }
    QSqlDatabase::removeDatabase(u"raw"_s);
    return v;
}

// The schema of the first release, frozen here: never change it with the migrations.
const QStringList kFrozenV1 = {
    u"CREATE TABLE conversations (id INTEGER PRIMARY KEY, title TEXT NOT NULL,"
    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)"_s,
    u"CREATE TABLE messages (id INTEGER PRIMARY KEY,"
    " conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),"
    " content TEXT NOT NULL, created_at INTEGER NOT NULL)"_s,
    u"CREATE INDEX messages_by_conversation ON messages(conversation_id, id)"_s,
    u"PRAGMA user_version = 1"_s,
    u"PRAGMA application_id = 1195462212"_s,
};

} // namespace

class TestChatStore final : public QObject {
    Q_OBJECT
private slots:
    void init() { QVERIFY(m_dir.isValid()); }

    void freshDatabaseIsConfigured() {
        const QString path = m_dir.filePath(u"fresh.db"_s);
        {
            ChatStore store;
            QVERIFY2(store.open(path), qPrintable(store.error()));
            QCOMPARE(store.schemaVersion(), latestSchemaVersion());
            QVERIFY(store.integrityOk());
            // Foreign keys are on for this connection: a message of a missing conversation fails.
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"FOREIGN KEY"_s));
            QCOMPARE(store.addMessage(999, 0, Role::User, u"orphan"_s), 0);
        }
        QCOMPARE(rawValue(path, u"PRAGMA journal_mode"_s).toString(), u"wal"_s);
        QCOMPARE(rawValue(path, u"PRAGMA application_id"_s).toInt(), kApplicationId);
    }

    void upgradesFrozenVersion1() {
        const QString path = m_dir.filePath(u"v1.db"_s);
        QStringList sql = kFrozenV1;
        sql << u"INSERT INTO conversations VALUES (1, 'Trip', 1000, 2000)"_s
            << u"INSERT INTO messages VALUES (1, 1, 'user', 'Plan a trip to Kyoto', 1000)"_s
            << u"INSERT INTO messages VALUES (2, 1, 'assistant', 'Day one: Fushimi Inari', 1500)"_s
            << u"INSERT INTO messages VALUES (3, 1, 'user', 'And day two?', 2000)"_s
            << u"INSERT INTO conversations VALUES (2, 'Empty', 500, 500)"_s;
        rawSql(path, sql);

        ChatStore store;
        QVERIFY2(store.open(path), qPrintable(store.error()));
        QCOMPARE(store.schemaVersion(), latestSchemaVersion());
        const auto trip = store.conversation(1);
        QVERIFY(trip);
        QCOMPARE(trip->leafId, 3);
        const QList<Message> path3 = store.path(3);
        QCOMPARE(path3.size(), 3);
        QCOMPARE(path3[0].text, u"Plan a trip to Kyoto"_s);
        QCOMPARE(path3[1].parentId, 1);
        QCOMPARE(path3[2].parentId, 2);
        QCOMPARE(store.conversation(2)->leafId, 0);
        // Old text is searchable after the upgrade.
        const auto hits = store.search(u"Fushimi"_s);
        QCOMPARE(hits.size(), 1);
        QCOMPARE(hits[0].conversationId, 1);
        QVERIFY(store.integrityOk());
    }

    void failedUpgradeLeavesFileUnchanged() {
        const QString path = m_dir.filePath(u"blocked.db"_s);
        // A version-1 file with a stray table in the way of migration 4.
        rawSql(path, kFrozenV1 + QStringList{u"CREATE TABLE states (x)"_s,
                                             u"INSERT INTO conversations VALUES (1,'a',1,1)"_s});
        {
            ChatStore store;
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"schema 4"_s));
            QVERIFY(!store.open(path));
            QVERIFY(store.error().contains(u"unchanged"_s));
        }
        QCOMPARE(rawValue(path, u"PRAGMA user_version"_s).toInt(), 1);
        QCOMPARE(rawValue(path, u"SELECT count(*) FROM pragma_table_info('messages')"_s).toInt(),
                 5);
    }

    void refusesUnusableFiles_data() {
        QTest::addColumn<QByteArray>("contents");
        QTest::addColumn<QStringList>("sql");
        QTest::addColumn<QString>("expected");
        QTest::newRow("random bytes") << QByteArray(8192, 'x') << QStringList() << u"damaged"_s;
        QTest::newRow("torn header")
            << QByteArray("SQLite format 3\0garbage-garbage", 31) + QByteArray(4000, '\xff')
            << QStringList() << u"damaged"_s;
        QTest::newRow("newer schema")
            << QByteArray()
            << QStringList{u"CREATE TABLE t(x)"_s, u"PRAGMA user_version = 99"_s,
                           u"PRAGMA application_id = 1195462212"_s}
            << u"newer version of Gander (schema 99"_s;
        QTest::newRow("other program")
            << QByteArray() << QStringList{u"CREATE TABLE t(x)"_s, u"PRAGMA application_id = 7"_s}
            << u"another program"_s;
        QTest::newRow("foreign sqlite")
            << QByteArray() << QStringList{u"CREATE TABLE t(x)"_s, u"PRAGMA user_version = 2"_s}
            << u"did not write"_s;
    }

    void refusesUnusableFiles() {
        QFETCH(QByteArray, contents);
        QFETCH(QStringList, sql);
        QFETCH(QString, expected);
        const QString path = m_dir.filePath(u"bad-%1.db"_s.arg(
            QString::fromLatin1(QTest::currentDataTag()).replace(QChar(u' '), QChar(u'-'))));
        if (!contents.isEmpty()) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(contents);
        } else {
            rawSql(path, sql);
        }
        const QByteArray before = [&] {
            QFile f(path);
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        ChatStore store;
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u".*"_s));
        QVERIFY(!store.open(path));
        QVERIFY2(store.error().contains(expected), qPrintable(store.error()));
        QVERIFY(!store.isOpen());
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), before); // refused files are never modified
    }

    void branchesKeepEveryVersion() {
        ChatStore store;
        QVERIFY(store.open(m_dir.filePath(u"branches.db"_s)));
        const qint64 c = store.createConversation(u"Branches"_s);
        const qint64 u1 = store.addMessage(c, 0, Role::User, u"Question"_s);
        const qint64 a1 = store.addMessage(c, u1, Role::Assistant, u"First answer"_s);
        const qint64 a2 = store.addMessage(c, u1, Role::Assistant, u"Regenerated answer"_s);
        const qint64 u2 = store.addMessage(c, 0, Role::User, u"Edited question"_s);
        const qint64 a3 = store.addMessage(c, u2, Role::Assistant, u"Answer to the edit"_s);
        QCOMPARE(store.conversation(c)->leafId, a3);
        QCOMPARE(store.siblings(a2), (QList<qint64>{a1, a2}));
        QCOMPARE(store.siblings(u1), (QList<qint64>{u1, u2}));
        QCOMPARE(store.branchEnd(u1), a2);
        QCOMPARE(store.branchEnd(u2), a3);
        QCOMPARE(store.path(a1).size(), 2);
        const QList<Message> versions = store.path(a2);
        QCOMPARE(versions[0].version, 1); // u1 of {u1, u2}
        QCOMPARE(versions[0].versions, 2);
        QCOMPARE(versions[1].version, 2); // a2 of {a1, a2}
        QCOMPARE(versions[1].versions, 2);
        QCOMPARE(store.path(a1).constLast().text, u"First answer"_s);
        QVERIFY(store.setLeaf(c, a1));
        QCOMPARE(store.conversation(c)->leafId, a1);
    }

    void searchFindsTextInAnyScript_data() {
        QTest::addColumn<QString>("query");
        QTest::addColumn<QString>("title");
        QTest::addColumn<QString>("highlight");
        QTest::newRow("english") << u"kyoto"_s << u"Travel"_s << u"<b>Kyoto</b>"_s;
        QTest::newRow("two words") << u"fushimi temple"_s << u"Travel"_s << u"<b>temple</b>"_s;
        QTest::newRow("russian") << u"привет"_s << u"Русский"_s << u"<b>Привет</b>"_s;
        QTest::newRow("japanese") << u"日本語"_s << u"日本"_s << u"<b>日本語</b>"_s;
        QTest::newRow("short word") << u"C+"_s << u"Code"_s << u"<b>C+</b>"_s;
        QTest::newRow("html is escaped") << u"<div>"_s << u"Code"_s << u"<b>&lt;div&gt;</b>"_s;
    }

    void searchFindsTextInAnyScript() {
        QFETCH(QString, query);
        QFETCH(QString, title);
        QFETCH(QString, highlight);
        ChatStore store;
        QVERIFY(store.open(m_dir.filePath(u"search-%1.db"_s.arg(QString::number(++m_round)))));
        const auto add = [&](const QString& t, const QString& text) {
            const qint64 c = store.createConversation(t);
            store.addMessage(c, 0, Role::User, text);
        };
        add(u"Travel"_s, u"A day in Kyoto: the Fushimi Inari temple at dawn"_s);
        add(u"Русский"_s, u"Привет, как дела?"_s);
        add(u"日本"_s, u"日本語を勉強しています"_s);
        add(u"Code"_s, u"C++ with a <div> in a string"_s);
        const auto hits = store.search(query);
        QCOMPARE(hits.size(), 1);
        QCOMPARE(hits[0].title, title);
        QVERIFY2(hits[0].snippet.contains(highlight), qPrintable(hits[0].snippet));
    }

    void deleteCanBeUndoneThenPurged() {
        ChatStore store;
        QVERIFY(store.open(m_dir.filePath(u"delete.db"_s)));
        const qint64 keep = store.createConversation(u"Keep"_s);
        const qint64 drop = store.createConversation(u"Drop"_s);
        const qint64 m = store.addMessage(drop, 0, Role::User, u"ephemeral words"_s);
        QVERIFY(store.saveState({drop, m, u"0123456789abcdef"_s, 3, QByteArray(64, 'a')}));
        QVERIFY(store.setConversationDeleted(drop, true));
        QCOMPARE(store.conversations().size(), 1);
        QVERIFY(store.search(u"ephemeral"_s).isEmpty());
        QVERIFY(store.setConversationDeleted(drop, false));
        QCOMPARE(store.conversations().size(), 2);
        QVERIFY(store.setConversationDeleted(drop, true));
        QCOMPARE(store.purgeDeleted(), 1);
        QVERIFY(!store.message(m));
        QVERIFY(!store.loadState(drop));
        QVERIFY(store.conversation(keep));
        QVERIFY(store.integrityOk());
    }

    void statesRoundTripAndFollowTheirMessage() {
        ChatStore store;
        QVERIFY(store.open(m_dir.filePath(u"states.db"_s)));
        const qint64 c = store.createConversation(u"States"_s);
        const qint64 u = store.addMessage(c, 0, Role::User, u"hi"_s);
        const qint64 a = store.addMessage(c, u, Role::Assistant, u"hello"_s);
        QByteArray blob(3 << 20, '\0');
        for (qsizetype i = 0; i < blob.size(); ++i) blob[i] = char(i * 7);
        QVERIFY(store.saveState({c, a, u"fp1"_s, 42, blob}));
        auto s = store.loadState(c);
        QVERIFY(s);
        QCOMPARE(s->messageId, a);
        QCOMPARE(s->fingerprint, u"fp1"_s);
        QCOMPARE(s->tokens, 42);
        QCOMPARE(s->blob, blob);
        // A newer state replaces the older one: one per conversation.
        QVERIFY(store.saveState({c, u, u"fp2"_s, 7, QByteArray(16, 'z')}));
        QCOMPARE(store.loadState(c)->fingerprint, u"fp2"_s);
        QVERIFY(store.clearState(c));
        QVERIFY(!store.loadState(c));
    }

    void twoConnectionsShareTheFile() {
        const QString path = m_dir.filePath(u"shared.db"_s);
        ChatStore gui, worker;
        QVERIFY(gui.open(path));
        QVERIFY(worker.open(path));
        const qint64 c = gui.createConversation(u"Shared"_s);
        const qint64 u = gui.addMessage(c, 0, Role::User, u"from the GUI"_s);
        const qint64 a = worker.addMessage(c, u, Role::Assistant, u"from the worker"_s);
        QCOMPARE(gui.conversation(c)->leafId, a);
        QCOMPARE(gui.path(a).size(), 2);
    }

private:
    QTemporaryDir m_dir;
    int m_round = 0;
};

QTEST_GUILESS_MAIN(TestChatStore)
#include "test_chat_store.moc"
