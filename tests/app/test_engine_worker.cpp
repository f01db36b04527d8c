// EngineWorker with the real CPU engine and the fixture models: streaming, stop, and each
// conversation's state saved after a reply and restored by a new worker (as after a restart), so
// the next message prefills only its own tokens; rebuilt from the text when it cannot be used.
#include "chat_store.h"
#include "engine_host.h"
#include "fixtures.h"

#include <gander/chat.h>
#include <gander/tokenizer.h>

#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using namespace gander::app;
using gander::testing::fixturePath;

namespace {

constexpr int kLoadTimeoutMs = 120000;
constexpr int kReplyTimeoutMs = 120000;

// The tokens a message costs when the state already holds everything before it.
int continuationTokens(const QString& text) {
    return int(gander::make_byte_tokenizer()
                   ->encode(gander::format_chat_continuation(text.toStdString()))
                   .size());
}

GenerateRequest request(qint64 userMessageId, int maxTokens, quint64 seed = 7) {
    GenerateRequest r;
    r.userMessageId = userMessageId;
    r.maxTokens = maxTokens;
    r.sampling.seed = seed;
    return r;
}

} // namespace

class TestEngineWorker final : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        GANDER_REQUIRE_FIXTURE(tinyModel());
        GANDER_REQUIRE_FIXTURE(randomModel());
        QFile garbage(m_dir.filePath(u"garbage.pth"_s));
        QVERIFY(garbage.open(QIODevice::WriteOnly));
        garbage.write(QByteArray(4096, '\x42'));
    }

    void init() {
        m_dbPath = m_dir.filePath(u"worker-%1.db"_s.arg(++m_round));
        m_store = std::make_unique<ChatStore>();
        QVERIFY(m_store->open(m_dbPath));
    }

    void cleanup() { m_store.reset(); }

    void loadErrorsAreMessages_data() {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing") << u"/nonexistent/model.pth"_s << u"model.pth"_s;
        QTest::newRow("not a model") << m_dir.filePath(u"garbage.pth"_s) << u"garbage.pth"_s;
    }

    void loadErrorsAreMessages() {
        QFETCH(QString, path);
        QFETCH(QString, expected);
        EngineHost host(m_dbPath);
        QSignalSpy failed(host.worker(), &EngineWorker::modelLoadFailed);
        ModelRequest r;
        r.path = path;
        r.backend = u"cpu"_s;
        host.loadModel(r);
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kLoadTimeoutMs);
        QVERIFY2(failed.first().first().toString().contains(expected),
                 qPrintable(failed.first().first().toString()));
    }

    void streamsAReplyAndSavesItsState() {
        auto host = startHost(tinyModel());
        const qint64 c = m_store->createConversation(u"Stream"_s);
        const qint64 u = m_store->addMessage(c, 0, Role::User, u"Tell me about the the"_s);
        QSignalSpy started(host->worker(), &EngineWorker::replyStarted);
        QSignalSpy text(host->worker(), &EngineWorker::replyText);
        QSignalSpy finished(host->worker(), &EngineWorker::replyFinished);
        QSignalSpy saved(host->worker(), &EngineWorker::stateSaved);
        host->generate(request(u, 48));
        QTRY_VERIFY_WITH_TIMEOUT(!saved.isEmpty(), kReplyTimeoutMs);
        QCOMPARE(started.size(), 1);
        QCOMPARE(started.first().at(2).toInt(), continuationTokens(u"Tell me about the the"_s));
        QCOMPARE(finished.size(), 1);
        const qint64 replyId = finished.first().at(1).toLongLong();
        const auto stats = finished.first().at(2).value<ReplyStats>();
        QVERIFY(stats.tokens > 0 && stats.tokens <= 48);
        QVERIFY(stats.tokensPerSecond > 0);
        QVERIFY(!text.isEmpty());
        // Fewer text batches than tokens: the GUI is not woken per token.
        QVERIFY(text.size() <= stats.tokens);

        const auto reply = m_store->message(replyId);
        QVERIFY(reply);
        QCOMPARE(reply->parentId, u);
        QCOMPARE(reply->role, Role::Assistant);
        QCOMPARE(reply->stats.tokens, stats.tokens);
        const auto state = m_store->loadState(c);
        QVERIFY(state);
        QCOMPARE(state->messageId, replyId);
        QCOMPARE(state->fingerprint.size(), 16);
        QCOMPARE(state->tokens, saved.first().at(2).toLongLong());
    }

    void stopEndsTheReplyPromptly() {
        auto host = startHost(tinyModel());
        const qint64 c = m_store->createConversation(u"Stop"_s);
        const qint64 u = m_store->addMessage(c, 0, Role::User, u"Go on forever"_s);
        QSignalSpy text(host->worker(), &EngineWorker::replyText);
        QSignalSpy finished(host->worker(), &EngineWorker::replyFinished);
        // Greedy without penalties the tiny model says "the the the" for ever.
        GenerateRequest endless = request(u, 1000000);
        endless.sampling.temperature = 0;
        endless.sampling.presencePenalty = 0;
        endless.sampling.frequencyPenalty = 0;
        host->generate(endless);
        QTRY_VERIFY_WITH_TIMEOUT(!text.isEmpty(), kReplyTimeoutMs);
        QElapsedTimer clock;
        clock.start();
        host->stop();
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 10000);
        QVERIFY2(clock.elapsed() < 2000, qPrintable(u"%1 ms"_s.arg(clock.elapsed())));
        const auto stats = finished.first().at(2).value<ReplyStats>();
        QCOMPARE(stats.finish, FinishReason::Stopped);
        // The partial reply is kept, marked as stopped.
        QCOMPARE(m_store->message(finished.first().at(1).toLongLong())->stats.finish,
                 FinishReason::Stopped);
    }

    // After a restart (a new worker, a new model object) the saved state is restored and the
    // next message costs only its own tokens.
    void stateIsRestoredAfterRestart() {
        const qint64 c = m_store->createConversation(u"Restart"_s, u"You are terse."_s);
        const qint64 u1 = m_store->addMessage(c, 0, Role::User, u"First question"_s);
        qint64 a1 = 0;
        qint64 absorbed = 0;
        {
            auto host = startHost(tinyModel());
            QSignalSpy saved(host->worker(), &EngineWorker::stateSaved);
            host->generate(request(u1, 24));
            QTRY_VERIFY_WITH_TIMEOUT(!saved.isEmpty(), kReplyTimeoutMs);
            a1 = saved.first().at(1).toLongLong();
            absorbed = saved.first().at(2).toLongLong();
        }
        auto host = startHost(tinyModel());
        QSignalSpy prepared(host->worker(), &EngineWorker::prepared);
        QSignalSpy rebuild(host->worker(), &EngineWorker::rebuildProgress);
        host->prepare(c, a1);
        QTRY_VERIFY_WITH_TIMEOUT(!prepared.isEmpty(), kReplyTimeoutMs);
        QCOMPARE(prepared.first().at(3).toBool(), true); // restored, not rebuilt
        QCOMPARE(prepared.first().at(2).toLongLong(), absorbed);
        QVERIFY(rebuild.isEmpty());

        const QString second = u"Second question, a little longer"_s;
        const qint64 u2 = m_store->addMessage(c, a1, Role::User, second);
        QSignalSpy started(host->worker(), &EngineWorker::replyStarted);
        QSignalSpy saved(host->worker(), &EngineWorker::stateSaved);
        host->generate(request(u2, 24));
        QTRY_VERIFY_WITH_TIMEOUT(!saved.isEmpty(), kReplyTimeoutMs);
        QCOMPARE(started.first().at(2).toInt(), continuationTokens(second));
        QVERIFY(rebuild.isEmpty());
        QVERIFY(saved.first().at(2).toLongLong() > absorbed + continuationTokens(second));
    }

    // A state that is damaged, missing or from another model is never trusted: the conversation
    // is read again from its text (with progress) and nothing the user wrote is lost.
    void unusableStateIsRebuiltFromText_data() {
        QTest::addColumn<QString>("damage");
        QTest::newRow("corrupt") << u"corrupt"_s;
        QTest::newRow("truncated") << u"truncated"_s;
        QTest::newRow("missing") << u"missing"_s;
        QTest::newRow("other model") << u"other model"_s;
    }

    void unusableStateIsRebuiltFromText() {
        QFETCH(QString, damage);
        const qint64 c = m_store->createConversation(u"Rebuild"_s);
        const qint64 u1 = m_store->addMessage(c, 0, Role::User, u"Remember this"_s);
        qint64 a1 = 0;
        {
            auto host = startHost(tinyModel());
            QSignalSpy saved(host->worker(), &EngineWorker::stateSaved);
            host->generate(request(u1, 16));
            QTRY_VERIFY_WITH_TIMEOUT(!saved.isEmpty(), kReplyTimeoutMs);
            a1 = saved.first().at(1).toLongLong();
        }
        QString model = tinyModel();
        auto state = m_store->loadState(c);
        QVERIFY(state);
        if (damage == "corrupt"_L1) {
            for (qsizetype i = state->blob.size() / 2; i < state->blob.size(); i += 97)
                state->blob[i] = char(state->blob[i] ^ 0x5a);
            QVERIFY(m_store->saveState(*state));
        } else if (damage == "truncated"_L1) {
            state->blob.chop(state->blob.size() / 3);
            QVERIFY(m_store->saveState(*state));
        } else if (damage == "missing"_L1) {
            QVERIFY(m_store->clearState(c));
        } else {
            model = randomModel();
        }
        auto host = startHost(model);
        QSignalSpy prepared(host->worker(), &EngineWorker::prepared);
        QSignalSpy rebuild(host->worker(), &EngineWorker::rebuildProgress);
        if (damage == "corrupt"_L1 || damage == "truncated"_L1)
            QTest::ignoreMessage(QtWarningMsg, QRegularExpression(u"saved state unusable"_s));
        host->prepare(c, a1);
        QTRY_VERIFY_WITH_TIMEOUT(!prepared.isEmpty(), kReplyTimeoutMs);
        QCOMPARE(prepared.first().at(3).toBool(), false);
        QVERIFY(!rebuild.isEmpty());
        QCOMPARE(rebuild.constLast().at(1).toDouble(), 1.0);
        // The rebuilt state holds the whole text: more than the last reply's own tokens.
        QVERIFY(prepared.first().at(2).toLongLong() > continuationTokens(u"Remember this"_s));
        QCOMPARE(m_store->path(a1).size(), 2);

        // The next reply works and saves a fresh, valid state.
        const qint64 u2 = m_store->addMessage(c, a1, Role::User, u"And now?"_s);
        QSignalSpy saved(host->worker(), &EngineWorker::stateSaved);
        host->generate(request(u2, 8));
        QTRY_VERIFY_WITH_TIMEOUT(!saved.isEmpty(), kReplyTimeoutMs);
        QCOMPARE(m_store->loadState(c)->messageId, saved.first().at(1).toLongLong());
    }

    // A regeneration answers the same user message again: the state is rebuilt up to the
    // message's parent and the new reply becomes a sibling of the first.
    void regenerateCreatesASibling() {
        auto host = startHost(tinyModel());
        const qint64 c = m_store->createConversation(u"Regenerate"_s);
        const qint64 u = m_store->addMessage(c, 0, Role::User, u"Pick a word"_s);
        QSignalSpy finished(host->worker(), &EngineWorker::replyFinished);
        host->generate(request(u, 8, 1));
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() == 1, kReplyTimeoutMs);
        host->generate(request(u, 8, 2));
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() == 2, kReplyTimeoutMs);
        const qint64 a1 = finished.at(0).at(1).toLongLong();
        const qint64 a2 = finished.at(1).at(1).toLongLong();
        QCOMPARE(m_store->siblings(a2), (QList<qint64>{a1, a2}));
    }

private:
    static QString tinyModel() { return fixturePath(u"rwkv7/trained-tiny.pth"_s); }
    static QString randomModel() { return fixturePath(u"rwkv7/rand-a.pth"_s); }

    std::unique_ptr<EngineHost> startHost(const QString& model) {
        auto host = std::make_unique<EngineHost>(m_dbPath);
        QSignalSpy loaded(host->worker(), &EngineWorker::modelLoaded);
        QSignalSpy failed(host->worker(), &EngineWorker::modelLoadFailed);
        ModelRequest r;
        r.path = model;
        r.backend = u"cpu"_s;
        host->loadModel(r);
        if (!QTest::qWaitFor([&] { return !loaded.isEmpty() || !failed.isEmpty(); },
                             kLoadTimeoutMs) ||
            loaded.isEmpty()) {
            qWarning("load failed: %s",
                     failed.isEmpty() ? "timeout" : qPrintable(failed.first().first().toString()));
            return host;
        }
        return host;
    }

    QTemporaryDir m_dir;
    QString m_dbPath;
    int m_round = 0;
    std::unique_ptr<ChatStore> m_store;
};

QTEST_GUILESS_MAIN(TestEngineWorker)
#include "test_engine_worker.moc"
