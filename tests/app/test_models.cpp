// The item models over a real database, each under QAbstractItemModelTester: the conversation
// list (order, search, rename in place, updates that keep rows) and the transcript (branches,
// versions, the streaming row). Also the Markdown and JSON export of a branch.
#include "chat_store.h"
#include "conversation_list_model.h"
#include "exporter.h"
#include "transcript_model.h"

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::app;

class TestModels final : public QObject {
    Q_OBJECT
private slots:
    void init() {
        QVERIFY(m_dir.isValid());
        m_store = std::make_unique<ChatStore>();
        QVERIFY(m_store->open(m_dir.filePath(u"models-%1.db"_s.arg(++m_round))));
    }
    void cleanup() { m_store.reset(); }

    void conversationListOrderSearchAndRename() {
        const qint64 a = m_store->createConversation(u"Alpha"_s);
        m_store->addMessage(a, 0, Role::User, u"about gardening and tomatoes"_s);
        QTest::qWait(2);
        const qint64 b = m_store->createConversation(u"Beta"_s);
        m_store->addMessage(b, 0, Role::User, u"about sailing"_s);
        ConversationListModel model(m_store.get());
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.idAt(0), b); // most recent first

        model.setSearch(u"tomato"_s);
        QCOMPARE(model.rowCount(), 1);
        QCOMPARE(model.idAt(0), a);
        QVERIFY(model.index(0)
                    .data(ConversationListModel::SnippetRole)
                    .toString()
                    .contains(u"<b>tomato</b>"_s));
        model.setSearch(QString());
        QCOMPARE(model.rowCount(), 2);

        // Rename in place: stored, one dataChanged, no reset.
        QSignalSpy reset(&model, &QAbstractItemModel::modelReset);
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        QVERIFY(model.setData(model.index(1), u"  Garden   notes "_s));
        QCOMPARE(m_store->conversation(a)->title, u"Garden notes"_s);
        QCOMPARE(changed.size(), 1);
        QVERIFY(!model.setData(model.index(1), u"   "_s)); // an empty title is refused

        // A reload that changes nothing in the order updates rows in place.
        m_store->renameConversation(b, u"Sailing"_s);
        model.reload();
        QCOMPARE(reset.size(), 0);
        QCOMPARE(model.index(0).data().toString(), u"Sailing"_s);
        // A new message moves its conversation to the top.
        QTest::qWait(2);
        m_store->addMessage(a, 0, Role::User, u"more"_s);
        model.reload();
        QCOMPARE(model.idAt(0), a);
    }

    void transcriptBranchesAndStreaming() {
        const qint64 c = m_store->createConversation(u"T"_s);
        const qint64 u = m_store->addMessage(c, 0, Role::User, u"question"_s);
        const qint64 a1 = m_store->addMessage(c, u, Role::Assistant, u"first"_s,
                                              ReplyStats{12, 30.0, 5, FinishReason::Done});
        const qint64 a2 = m_store->addMessage(c, u, Role::Assistant, u"second"_s,
                                              ReplyStats{7, 25.0, 5, FinishReason::Stopped});
        TranscriptModel model(m_store.get());
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setConversation(c);
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.leafId(), a2);
        QCOMPARE(model.index(1).data(TranscriptModel::SiblingIndexRole).toInt(), 2);
        QCOMPARE(model.index(1).data(TranscriptModel::SiblingCountRole).toInt(), 2);
        QCOMPARE(model.index(1).data(TranscriptModel::StatsRole).toString(),
                 u"7 tokens · 25.0 tokens/s · stopped"_s);
        QCOMPARE(model.index(0).data(TranscriptModel::StatsRole).toString(), QString());

        QCOMPARE(model.switchVersion(1, -1), a1);
        QCOMPARE(model.index(1).data().toString(), u"first"_s);
        QCOMPARE(m_store->conversation(c)->leafId, a1); // remembered for the next visit
        QCOMPARE(model.switchVersion(1, -1), 0);        // no version before the first

        // The streaming row: appended, grows, removed; stored rows are untouched.
        model.beginReply();
        QCOMPARE(model.rowCount(), 3);
        QVERIFY(model.index(2).data(TranscriptModel::StreamingRole).toBool());
        QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
        model.appendReply(u"Hel"_s, 1, 10.0);
        model.appendReply(u"lo"_s, 2, 12.0);
        QCOMPARE(changed.size(), 2);
        QCOMPARE(model.replyText(), u"Hello"_s);
        QCOMPARE(model.leafId(), a1);
        QCOMPARE(model.switchVersion(1, 1), 0); // not while a reply streams
        model.endReply();
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.messages().size(), 2);
    }

    // The transcript is reloaded after every reply: it must stay cheap for long conversations.
    void reloadOfALongConversationIsQuick() {
        const qint64 c = m_store->createConversation(u"Long"_s);
        qint64 parent = 0;
        for (int i = 0; i < 1000; ++i)
            parent = m_store->addMessage(c, parent, i % 2 ? Role::Assistant : Role::User,
                                         u"message %1 with some text in it"_s.arg(i));
        TranscriptModel model(m_store.get());
        QElapsedTimer clock;
        clock.start();
        model.setConversation(c);
        const qint64 ms = clock.elapsed();
        qInfo("reload of a 1000-message branch: %lld ms", ms);
        QCOMPARE(model.rowCount(), 1000);
        QVERIFY2(ms < 500, qPrintable(u"%1 ms"_s.arg(ms)));
    }

    void exportsTheVisibleBranch() {
        const qint64 c = m_store->createConversation(u"Export me"_s, u"Be brief."_s);
        const qint64 u = m_store->addMessage(c, 0, Role::User, u"Hi *there*"_s);
        m_store->addMessage(c, u, Role::Assistant, u"An old version"_s);
        const qint64 a = m_store->addMessage(c, u, Role::Assistant, u"```\ncode\n```"_s,
                                             ReplyStats{3, 9.5, 4, FinishReason::Done});
        const auto conversation = *m_store->conversation(c);
        const QList<Message> branch = m_store->path(a);
        const QString md = exportMarkdown(conversation, branch);
        QVERIFY(md.startsWith(u"# Export me\n"_s));
        QVERIFY(md.contains(u"> **System:** Be brief."_s));
        QVERIFY(md.contains(u"## You\n\nHi *there*\n\n## Assistant\n\n```\ncode\n```"_s));
        QVERIFY(md.contains(u"_3 tokens, 9.5 tokens/s_"_s));
        QVERIFY(!md.contains(u"An old version"_s));

        const QJsonObject json = QJsonDocument::fromJson(exportJson(conversation, branch)).object();
        QCOMPARE(json.value(u"format"_s).toString(), u"gander-conversation"_s);
        const QJsonArray messages = json.value(u"messages"_s).toArray();
        QCOMPARE(messages.size(), 2);
        QCOMPARE(messages[0].toObject().value(u"parent_id"_s).type(), QJsonValue::Null);
        QCOMPARE(messages[1].toObject().value(u"parent_id"_s).toInteger(), u);
        QCOMPARE(messages[1].toObject().value(u"tokens"_s).toInt(), 3);

        QString error;
        QVERIFY(
            !exportToFile(m_dir.filePath(u"missing-folder/x.md"_s), conversation, branch, &error));
        QVERIFY(error.contains(u"x.md"_s));
        QVERIFY(exportToFile(m_dir.filePath(u"x.json"_s), conversation, branch, &error));
    }

private:
    QTemporaryDir m_dir;
    std::unique_ptr<ChatStore> m_store;
    int m_round = 0;
};

QTEST_GUILESS_MAIN(TestModels)
#include "test_models.moc"
