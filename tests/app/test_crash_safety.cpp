// Kills (SIGKILL, no chance to clean up) a process that is streaming a reply while it writes to
// the database, then checks that the database opens cleanly, that only the partial reply is
// lost, and that the state saved for the previous reply is still restored.
#include "chat_store.h"
#include "engine_host.h"
#include "fixtures.h"

#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <csignal>
#include <sys/types.h>

using namespace Qt::StringLiterals;
using namespace gander::app;

class TestCrashSafety final : public QObject {
    Q_OBJECT
private slots:
    void killDuringStreamingLosesOnlyThePartialReply_data() {
        QTest::addColumn<int>("delayMs");
        QTest::newRow("at once") << 0;
        QTest::newRow("after 150 ms") << 150;
        QTest::newRow("after 700 ms") << 700;
    }

    void killDuringStreamingLosesOnlyThePartialReply() {
        QFETCH(int, delayMs);
        const QString model = gander::testing::fixturePath(u"rwkv7/trained-tiny.pth"_s);
        GANDER_REQUIRE_FIXTURE(model);
        QTemporaryDir dir;
        const QString db = dir.filePath(u"crash.db"_s);

        QProcess helper;
        helper.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        helper.start(QStringLiteral(GANDER_CRASH_HELPER), {db, model});
        QVERIFY(helper.waitForStarted());
        QByteArray out;
        QElapsedTimer clock;
        clock.start();
        while (!out.contains("streaming") && clock.elapsed() < 120000) {
            helper.waitForReadyRead(1000);
            out += helper.readAllStandardOutput();
            QVERIFY2(helper.state() == QProcess::Running, out.constData());
        }
        QVERIFY2(out.contains("streaming"), out.constData());
        const qint64 firstReply =
            out.mid(out.indexOf("first ") + 6).split('\n').first().toLongLong();
        QVERIFY(firstReply > 0);
        QTest::qWait(delayMs);
        QCOMPARE(::kill(pid_t(helper.processId()), SIGKILL), 0);
        QVERIFY(helper.waitForFinished(10000));
        QCOMPARE(helper.exitStatus(), QProcess::CrashExit);
        out += helper.readAllStandardOutput();

        ChatStore store;
        QVERIFY2(store.open(db), qPrintable(store.error()));
        QVERIFY(store.integrityOk());
        const auto conversations = store.conversations();
        QCOMPARE(conversations.size(), 1);
        const Conversation c = conversations.first();
        // Everything committed before the kill is there: the first exchange, the second
        // question and every reply to it that had finished; only the one streaming is gone.
        const QList<Message> path = store.path(c.leafId);
        QVERIFY(path.size() == 3 || path.size() == 4);
        QCOMPARE(path[1].id, firstReply);
        QCOMPARE(path[2].text, u"Now never stop"_s);
        QList<qint64> finished;
        for (const QByteArray& line : out.split('\n'))
            if (line.startsWith("reply ")) finished.append(line.mid(6).toLongLong());
        for (qint64 id : finished) {
            const auto reply = store.message(id);
            QVERIFY(reply);
            QCOMPARE(reply->parentId, path[2].id);
        }
        // A reply may be committed in the instant before the kill without having been reported.
        if (path.size() == 4) QCOMPARE(path[3].role, Role::Assistant);
        QVERIFY(store.search(u"never stop"_s).size() == 1); // FTS still in step

        // The last saved state (of the first reply, or of a later finished one) survived and is
        // restored, not rebuilt.
        const auto state = store.loadState(c.id);
        QVERIFY(state);
        QVERIFY(state->messageId == firstReply || finished.contains(state->messageId) ||
                (path.size() == 4 && state->messageId == path[3].id));
        EngineHost host(db);
        QSignalSpy loaded(host.worker(), &EngineWorker::modelLoaded);
        ModelRequest m;
        m.path = model;
        m.backend = u"cpu"_s;
        host.loadModel(m);
        QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), 120000);
        QSignalSpy prepared(host.worker(), &EngineWorker::prepared);
        QSignalSpy failed(host.worker(), &EngineWorker::prepareFailed);
        host.prepare(c.id, state->messageId);
        QTRY_VERIFY_WITH_TIMEOUT(!prepared.isEmpty() || !failed.isEmpty(), 120000);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(1).toString()));
        QCOMPARE(prepared.first().at(3).toBool(), true);
        // And the conversation goes on.
        QVERIFY(store.addMessage(c.id, c.leafId, Role::User, u"Still here?"_s) > 0);
    }
};

QTEST_GUILESS_MAIN(TestCrashSafety)
#include "test_crash_safety.moc"
