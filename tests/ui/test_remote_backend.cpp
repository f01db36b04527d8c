// The remote backend end to end: the window sends through RemoteClient to a real gander-server
// (another process, on a loopback port, with the fixture model) instead of its own engine. The
// reply streams into the transcript and lands in the SQLite file; Stop cancels the request on
// the server; a wrong key, a dead port, a server that says nothing and one that sends garbage
// each end as a clear message in the transcript. Switching back to the local model works as
// before. The two misbehaving servers are small QTcpServers here: they stand for someone else's
// server, not for anything of ours.
#include "../app/fixtures.h"

#include "app_settings.h"
#include "composer.h"
#include "engine_host.h"
#include "ingest_controller.h"
#include "main_window.h"
#include "model_setup_panel.h"
#include "remote_chat.h"
#include "settings_dialog.h"
#include "theme.h"
#include "transcript_model.h"
#include "transcript_view.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

#include <memory>

using namespace Qt::StringLiterals;
using namespace gander::app;
using namespace gander::ui;

namespace {

constexpr int kTimeout = 60000;
const QString kKey = u"k3y-for-tests"_s;

QString tinyModel() {
    return gander::testing::fixturePath(u"rwkv7/trained-tiny.pth"_s);
}

void grabFor(QWidget* w, const QString& name) {
    const QString dir = qEnvironmentVariable("GANDER_GRAB_DIR");
    if (!dir.isEmpty()) w->grab().save(QDir(dir).filePath(name + u".png"_s));
}

// Rows of the messages table for a conversation, as "role: text", oldest first; read through a
// connection of its own, as another program would see the file.
QStringList storedMessages(const QString& dbPath, qint64 conversation,
                           QList<int>* finish = nullptr) {
    QStringList out;
    {
        auto db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"check"_s);
        db.setDatabaseName(dbPath);
        if (!db.open()) return {u"cannot open "_s + dbPath};
        QSqlQuery q(db);
        q.prepare(
            u"SELECT role, content, finish FROM messages WHERE conversation_id = ? ORDER BY id"_s);
        q.addBindValue(conversation);
        q.exec();
        while (q.next()) {
            out += q.value(0).toString() + u": "_s + q.value(1).toString();
            if (finish) finish->append(q.value(2).toInt());
        }
    }
    QSqlDatabase::removeDatabase(u"check"_s);
    return out;
}

int storedStates(const QString& dbPath) {
    int n = -1;
    {
        auto db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"states"_s);
        db.setDatabaseName(dbPath);
        if (db.open()) {
            QSqlQuery q(u"SELECT count(*) FROM states"_s, db);
            if (q.next()) n = q.value(0).toInt();
        }
    }
    QSqlDatabase::removeDatabase(u"states"_s);
    return n;
}

// Someone else's server misbehaving: answers each request with `answer` (nothing at all when
// empty) once the request's body has arrived, and keeps the connection open.
class BadServer final : public QTcpServer {
public:
    explicit BadServer(QByteArray answer) : m_answer(std::move(answer)) {
        connect(this, &QTcpServer::newConnection, this, [this] {
            while (QTcpSocket* s = nextPendingConnection()) {
                connect(s, &QTcpSocket::readyRead, s, [this, s] {
                    m_request += s->readAll();
                    const qsizetype head = m_request.indexOf("\r\n\r\n");
                    if (head < 0 || m_answered) return;
                    m_answered = true;
                    if (!m_answer.isEmpty()) s->write(m_answer);
                });
            }
        });
    }
    QByteArray request() const { return m_request; }

private:
    QByteArray m_answer, m_request;
    bool m_answered = false;
};

} // namespace

class TestRemoteBackend final : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        GANDER_REQUIRE_FIXTURE(tinyModel());
        applyTheme(Theme::Light);
        // The real server, as a user would run it on a bigger machine.
        m_server.setProgram(QStringLiteral(GANDER_BIN_DIR) + u"/gander-server"_s);
        m_server.setArguments({u"--model"_s, tinyModel(), u"--port"_s, u"0"_s, u"--api-key"_s, kKey,
                               u"--backend"_s, u"cpu"_s, u"--threads"_s, u"1"_s});
        m_server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_server.start();
        QVERIFY2(m_server.waitForStarted(10000), qPrintable(m_server.errorString()));
        QByteArray out;
        while (!out.contains("listening on") && m_server.waitForReadyRead(30000))
            out += m_server.readAllStandardOutput();
        const qsizetype at = out.indexOf("http://127.0.0.1:");
        QVERIFY2(at >= 0, out.constData());
        m_port = quint16(out.mid(at + 17).split('/').first().toUInt());
        QVERIFY(m_port > 0);
        m_model = QString::fromUtf8(out.mid(out.indexOf("model ") + 6).split('\n').first());
        QCOMPARE(m_model, u"trained-tiny"_s);
    }

    void cleanupTestCase() {
        m_server.terminate();
        m_server.waitForFinished(10000);
    }

    void replyStreamsIntoTheTranscriptAndTheDatabase() {
        auto settings = makeSettings(u"stream"_s, serverUrl(), kKey);
        QStringList streamed; // every text of the streaming row, as it arrives (outlives window)
        MainWindow window(settings.get());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.remoteMode());
        QVERIFY(!window.modelReady()); // the local model is not loaded for nothing
        QVERIFY(window.pages()->currentWidget() != window.setupPanel());
        QVERIFY(window.composer()->sendButton()->isEnabled());
        QVERIFY2(window.statusText().contains(u"Remote: 127.0.0.1:%1"_s.arg(m_port)),
                 qPrintable(window.statusText()));
        QVERIFY(window.statusText().contains(u"No state saved"_s));

        connect(window.transcriptModel(), &TranscriptModel::dataChanged, this, [&] {
            if (window.transcriptModel()->replying())
                streamed += window.transcriptModel()->replyText();
        });
        QSignalSpy started(window.remoteChat(), &RemoteChat::replyStarted);
        QSignalSpy finished(window.remoteChat(), &RemoteChat::replyFinished);
        QSignalSpy failed(window.remoteChat(), &RemoteChat::replyFailed);
        QTest::keyClicks(window.composer()->edit(), u"Hello there"_s);
        QTest::keyClick(window.composer()->edit(), Qt::Key_Return);
        QCOMPARE(started.size(), 1);
        QVERIFY(window.composer()->replying());
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(1).toString()));
        QTRY_VERIFY(!window.composer()->replying());
        QVERIFY(window.transcript()->notice().isEmpty());

        // On screen: the question and the stored reply, which is what streamed.
        QCOMPARE(window.transcriptModel()->rowCount(), 2);
        const Message reply = window.transcriptModel()->messageAt(1);
        QCOMPARE(reply.role, Role::Assistant);
        QVERIFY(reply.id > 0);
        QVERIFY(!reply.text.isEmpty());
        QVERIFY(!streamed.isEmpty());
        QCOMPARE(streamed.last().trimmed(), reply.text);
        QCOMPARE(reply.stats.tokens, 24); // the server's usage count: the reply hit max_tokens
        QCOMPARE(reply.stats.finish, FinishReason::Length);

        // In the file, as another connection reads it; and no state was saved for it.
        const QStringList rows =
            storedMessages(settings->databasePath(), window.currentConversation());
        QCOMPARE(rows, (QStringList{u"user: Hello there"_s, u"assistant: "_s + reply.text}));
        QCOMPARE(storedStates(settings->databasePath()), 0);

        // The same question asked directly, greedy and not streamed: the same text. So what the
        // window shows is the server's reply, whole and in order.
        QCOMPARE(askDirectly({{u"user"_s, u"Hello there"_s}}, 24), reply.text);

        // A second turn carries the whole conversation (the server keeps nothing of ours).
        QTest::keyClicks(window.composer()->edit(), u"And then?"_s);
        QTest::keyClick(window.composer()->edit(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() == 2, kTimeout);
        QTRY_VERIFY(!window.composer()->replying());
        const Message second = window.transcriptModel()->messageAt(3);
        QCOMPARE(askDirectly({{u"user"_s, u"Hello there"_s},
                              {u"assistant"_s, reply.text},
                              {u"user"_s, u"And then?"_s}},
                             24),
                 second.text);
        QCOMPARE(storedMessages(settings->databasePath(), window.currentConversation()).size(), 4);
        grabFor(&window, u"remote-loopback"_s);
    }

    // An attached document goes before the question, as its own stored message; the remote
    // server gets both as one user turn (chat templates that refuse two user turns in a row).
    void attachedDocumentGoesWithTheQuestion() {
        auto settings = makeSettings(u"document"_s, serverUrl(), kKey);
        MainWindow window(settings.get());
        window.show();
        window.ingest()->attachText(u"notes.txt"_s, u"The secret word is pelican."_s);
        QTRY_COMPARE_WITH_TIMEOUT(window.ingest()->attachments()->documents().size(), 1, kTimeout);
        QSignalSpy finished(window.remoteChat(), &RemoteChat::replyFinished);
        QSignalSpy failed(window.remoteChat(), &RemoteChat::replyFailed);
        QTest::keyClicks(window.composer()->edit(), u"What is the secret word?"_s);
        QTest::keyClick(window.composer()->edit(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), kTimeout);
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(1).toString()));
        QTRY_VERIFY(!window.ingest()->progress()->isVisible()); // ended when the reply began
        const QStringList rows =
            storedMessages(settings->databasePath(), window.currentConversation());
        QCOMPARE(rows.size(), 3);
        QVERIFY(rows[0].startsWith(u"user: "_s) && rows[0].contains(u"pelican"_s));
        QCOMPARE(rows[1], u"user: What is the secret word?"_s);
        const QString joined = rows[0].mid(6) + u"\n\n"_s + rows[1].mid(6);
        QCOMPARE(u"assistant: "_s + askDirectly({{u"user"_s, joined}}, 24), rows[2]);
    }

    // Stop ends the request mid-stream, on the server too, and keeps what arrived, marked
    // stopped: a strict beginning of the whole greedy reply.
    //
    // The fixture model writes its whole reply in a few tens of milliseconds, faster than a
    // person presses Stop. So another client first sends a 30,000-token prompt: the server's
    // scheduler prefills it one chunk per turn and decodes the window's reply one token per turn
    // between them (docs/server.md, continuous batching), and the reply streams slowly.
    void stopCancelsTheRequest() {
        const QString question = u"Tell me a long story"_s;
        const QString whole = askDirectly({{u"user"_s, question}}, 4000);
        QVERIFY(whole.size() > 40);
        QNetworkAccessManager network;
        QNetworkRequest longRequest(QUrl(serverUrl() + u"/completions"_s));
        longRequest.setHeader(QNetworkRequest::ContentTypeHeader, "application/json"_ba);
        longRequest.setRawHeader("Authorization", "Bearer " + kKey.toUtf8());
        const QJsonObject longBody{
            {u"model"_s, m_model}, {u"prompt"_s, QString(30000, u'a')}, {u"max_tokens"_s, 1}};
        std::unique_ptr<QNetworkReply> busy(
            network.post(longRequest, QJsonDocument(longBody).toJson()));
        QTRY_VERIFY_WITH_TIMEOUT(health().value(u"active"_s).toInt() == 1, 10000);

        auto settings = makeSettings(u"stop"_s, serverUrl(), kKey);
        settings->setMaxReplyTokens(4000);
        MainWindow window(settings.get());
        window.show();
        QSignalSpy text(window.remoteChat(), &RemoteChat::replyText);
        QSignalSpy finished(window.remoteChat(), &RemoteChat::replyFinished);
        QTest::keyClicks(window.composer()->edit(), question);
        QTest::keyClick(window.composer()->edit(), Qt::Key_Return);
        QVERIFY(text.wait(kTimeout)); // returns as the first text arrives
        QVERIFY2(finished.isEmpty(), "the reply ended before Stop could be pressed");
        QVERIFY(window.composer()->replying());
        QCOMPARE(health().value(u"active"_s).toInt(), 2);
        QTest::mouseClick(window.composer()->sendButton(), Qt::LeftButton); // Stop while replying
        QCOMPARE(finished.size(), 1);
        QVERIFY(!window.composer()->replying());
        QVERIFY(!window.remoteChat()->busy());
        // The server dropped the request at once (the long prompt is still being read).
        QTRY_VERIFY_WITH_TIMEOUT(health().value(u"active"_s).toInt() == 1, 5000);
        QVERIFY(!busy->isFinished());
        busy->abort();
        QTRY_VERIFY_WITH_TIMEOUT(health().value(u"active"_s).toInt(-1) == 0, 10000);

        const Message reply = window.transcriptModel()->messageAt(1);
        QCOMPARE(reply.stats.finish, FinishReason::Stopped);
        QVERIFY(!reply.text.isEmpty());
        QVERIFY2(reply.text.size() < whole.size() && whole.startsWith(reply.text),
                 qPrintable(reply.text));
        QList<int> finish;
        const QStringList rows =
            storedMessages(settings->databasePath(), window.currentConversation(), &finish);
        QCOMPARE(rows.size(), 2);
        QCOMPARE(rows.value(1), u"assistant: "_s + reply.text);
        QCOMPARE(finish.value(1), int(FinishReason::Stopped));
        QTest::qWait(200); // nothing more arrives for the stopped reply
        QCOMPARE(finished.size(), 1);
        QCOMPARE(window.transcriptModel()->rowCount(), 2);
    }

    void errorsAreSaidInTheTranscript_data() {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QStringList>("expected"); // every one in the message
        QTest::newRow("wrong key")
            << u"key"_s << QStringList{u"refused the API key"_s, u"HTTP 401"_s};
        QTest::newRow("unknown model") << u"model"_s << QStringList{u"HTTP 404"_s, u"gpt-9"_s};
        QTest::newRow("dead port")
            << u"dead"_s << QStringList{u"Could not reach"_s, u"connection refused"_s};
        QTest::newRow("silent server")
            << u"silent"_s << QStringList{u"Could not reach"_s, u"no answer"_s, u"1 s"_s};
        QTest::newRow("not an event stream")
            << u"html"_s << QStringList{u"could not be read"_s, u"not an event stream"_s};
        QTest::newRow("garbage event")
            << u"garbage"_s << QStringList{u"could not be read"_s, u"not JSON"_s};
        QTest::newRow("cut off") << u"cut"_s << QStringList{u"closed the stream"_s};
        QTest::newRow("no address") << u"no-url"_s << QStringList{u"No remote server address"_s};
    }
    // Each failure: a message in the transcript naming what went wrong, the question kept, the
    // composer ready again, nothing crashed; text that arrived before a failure is kept.
    void errorsAreSaidInTheTranscript() {
        QFETCH(QString, what);
        QFETCH(QStringList, expected);
        QString url = serverUrl(), key = kKey, model = m_model;
        std::unique_ptr<BadServer> bad;
        const QByteArray sse = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                               "Connection: close\r\n\r\n"_ba;
        const QByteArray hello = R"(data: {"choices":[{"index":0,"delta":{"content":"Hi there"}}]})"
                                 "\n\n"_ba;
        if (what == "key"_L1) key = u"wrong"_s;
        if (what == "model"_L1) model = u"gpt-9"_s;
        if (what == "dead"_L1) {
            QTcpServer probe;
            QVERIFY(probe.listen(QHostAddress::LocalHost));
            url = u"http://127.0.0.1:%1/v1"_s.arg(probe.serverPort());
        }
        if (what == "no-url"_L1) url = u"ftp://"_s;
        if (what == "silent"_L1) bad = std::make_unique<BadServer>(QByteArray());
        if (what == "html"_L1)
            bad = std::make_unique<BadServer>(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 15\r\n\r\n"
                "<html>hi</html>"_ba);
        if (what == "garbage"_L1)
            bad = std::make_unique<BadServer>(sse + hello + "data: {oops\n\n");
        if (what == "cut"_L1) bad = std::make_unique<BadServer>(sse + hello);
        if (bad) {
            QVERIFY(bad->listen(QHostAddress::LocalHost));
            url = u"http://127.0.0.1:%1/v1"_s.arg(bad->serverPort());
            // The cut-off stream ends when the server closes: close after the answer.
            if (what == "cut"_L1 || what == "garbage"_L1)
                connect(bad.get(), &QTcpServer::newConnection, bad.get(), [&bad] {
                    for (QTcpSocket* s : bad->findChildren<QTcpSocket*>())
                        QTimer::singleShot(300, s, [s] { s->disconnectFromHost(); });
                });
        }
        auto settings = makeSettings(u"error-"_s + what, url, key);
        settings->setRemoteModel(model);
        settings->setRemoteTimeout(1);
        MainWindow window(settings.get());
        window.show();
        QSignalSpy failed(window.remoteChat(), &RemoteChat::replyFailed);
        QTest::keyClicks(window.composer()->edit(), u"Anyone there?"_s);
        QTest::keyClick(window.composer()->edit(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kTimeout);
        QTRY_VERIFY(!window.composer()->replying());
        const QString notice = window.transcript()->notice();
        for (const QString& e : expected)
            QVERIFY2(notice.contains(e, Qt::CaseInsensitive), qPrintable(notice));
        QVERIFY(window.transcript()->noticeLabel()->isVisibleTo(window.transcript()));
        QVERIFY(window.composer()->sendButton()->isEnabled());
        const QStringList rows =
            storedMessages(settings->databasePath(), window.currentConversation());
        if (what == "garbage"_L1 || what == "cut"_L1)
            QCOMPARE(rows, (QStringList{u"user: Anyone there?"_s, u"assistant: Hi there"_s}));
        else
            QCOMPARE(rows, QStringList{u"user: Anyone there?"_s});
        if (bad) QVERIFY(bad->request().startsWith("POST /v1/chat/completions HTTP/1.1"));
        if (what == "key"_L1) grabFor(&window, u"remote-error-key"_s);

        // A new question clears the message (and fails again the same way, no worse).
        QTest::keyClicks(window.composer()->edit(), u"Again?"_s);
        QTest::keyClick(window.composer()->edit(), Qt::Key_Return);
        if (what != "no-url"_L1) // (that one fails before the call returns)
            QVERIFY(window.transcript()->notice().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(failed.size() == 2, kTimeout);
        QTRY_VERIFY(!window.composer()->replying());
    }

    // The settings dialog's model picker asks the server (explicitly, with its button).
    void fetchModelsFillsThePicker() {
        auto settings = makeSettings(u"fetch"_s, QString(), QString());
        settings->setRemoteEnabled(false);
        MainWindow window(settings.get());
        window.show();
        window.action(u"settings"_s)->trigger();
        auto* dialog = window.findChild<SettingsDialog*>();
        QVERIFY(dialog);
        auto* url = dialog->findChild<QLineEdit*>(u"remoteUrl"_s);
        auto* key = dialog->findChild<QLineEdit*>(u"remoteKey"_s);
        auto* fetch = dialog->findChild<QPushButton*>(u"remoteFetch"_s);
        auto* model = dialog->findChild<QComboBox*>(u"remoteModel"_s);
        auto* status = dialog->findChild<QLabel*>(u"remoteFetchStatus"_s);
        QVERIFY(url && key && fetch && model && status);
        url->setText(u"127.0.0.1:%1"_s.arg(m_port)); // no scheme, no /v1: both are assumed
        key->setText(u"wrong"_s);
        QTest::mouseClick(fetch, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(fetch->isEnabled(), kTimeout);
        QVERIFY2(status->text().contains(u"HTTP 401"_s), qPrintable(status->text()));
        key->setText(kKey);
        QTest::mouseClick(fetch, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(fetch->isEnabled(), kTimeout);
        QCOMPARE(model->count(), 1);
        QCOMPARE(model->currentText(), m_model);
        QVERIFY2(status->text().contains(u"1 model"_s), qPrintable(status->text()));
        dialog->reject();
    }

    // Off again in the dialog: the local model loads and answers, with its state saved.
    void switchingBackToLocal() {
        auto settings = makeSettings(u"switch"_s, serverUrl(), kKey);
        settings->setModelPath(tinyModel());
        MainWindow window(settings.get());
        window.show();
        QVERIFY(window.remoteMode());
        QVERIFY(!window.modelReady());
        window.action(u"settings"_s)->trigger();
        auto* dialog = window.findChild<SettingsDialog*>();
        QVERIFY(dialog);
        auto* enabled = dialog->findChild<QCheckBox*>(u"remoteEnabled"_s);
        QVERIFY(enabled && enabled->isChecked());
        QTest::mouseClick(enabled, Qt::LeftButton);
        QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok),
                          Qt::LeftButton);
        QVERIFY(!window.remoteMode());
        QVERIFY(!settings->remoteEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(window.modelReady(), kTimeout);
        QVERIFY2(window.statusText().contains(u"trained-tiny"_s), qPrintable(window.statusText()));
        QVERIFY(!window.statusText().contains(u"Remote"_s));

        QSignalSpy engineDone(window.engine()->worker(), &EngineWorker::replyFinished);
        QSignalSpy saved(window.engine()->worker(), &EngineWorker::stateSaved);
        QSignalSpy remoteStarted(window.remoteChat(), &RemoteChat::replyStarted);
        QTest::keyClicks(window.composer()->edit(), u"Hello, local model"_s);
        QTest::keyClick(window.composer()->edit(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(!engineDone.isEmpty(), kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(!saved.isEmpty(), kTimeout);
        QVERIFY(remoteStarted.isEmpty());
        QTRY_VERIFY(window.statusText().contains(u"tokens in state"_s));
        QCOMPARE(storedStates(settings->databasePath()), 1);
    }

    // How the window looks with a server elsewhere (nothing is sent: no message is written).
    void screenshotOffMachine() {
        auto settings = makeSettings(u"look"_s, u"https://gpu-box.example:8000/v1"_s, kKey);
        settings->setRemoteModel(u"Qwen2.5-72B-Instruct"_s);
        MainWindow window(settings.get());
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY2(window.statusText().contains(
                     u"Remote: gpu-box.example:8000 — text leaves this computer"_s),
                 qPrintable(window.statusText()));
        QVERIFY(window.statusText().contains(u"Qwen2.5-72B-Instruct"_s));
        grabFor(&window, u"remote-off-machine"_s);
    }

private:
    QString serverUrl() const { return u"http://127.0.0.1:%1/v1"_s.arg(m_port); }

    std::unique_ptr<AppSettings> makeSettings(const QString& name, const QString& url,
                                              const QString& key) {
        auto s = std::make_unique<AppSettings>(m_dir.filePath(name + u".ini"_s));
        s->setDataDir(m_dir.filePath(name));
        s->setBackend(u"cpu"_s);
        s->setThreads(1);
        s->setMaxReplyTokens(24);
        Sampling sampling;
        sampling.temperature = 0; // greedy: the same text as a direct request
        s->setSampling(sampling);
        s->setRemoteEnabled(true);
        s->setRemoteConfirmed(true);
        s->setRemoteUrl(url);
        s->setRemoteApiKey(key);
        s->setRemoteModel(m_model);
        return s;
    }

    // A chat completion straight from the server, not streamed: its text.
    QString askDirectly(const QList<std::pair<QString, QString>>& turns, int maxTokens) {
        QJsonArray messages;
        for (const auto& [role, content] : turns)
            messages.append(QJsonObject{{u"role"_s, role}, {u"content"_s, content}});
        const Sampling g1;
        const QJsonObject body{{u"model"_s, m_model},
                               {u"messages"_s, messages},
                               {u"temperature"_s, 0},
                               {u"top_p"_s, g1.topP},
                               {u"max_tokens"_s, maxTokens}};
        QNetworkRequest request(QUrl(serverUrl() + u"/chat/completions"_s));
        request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json"_ba);
        request.setRawHeader("Authorization", "Bearer " + kKey.toUtf8());
        QNetworkAccessManager network;
        std::unique_ptr<QNetworkReply> reply(network.post(request, QJsonDocument(body).toJson()));
        QSignalSpy done(reply.get(), &QNetworkReply::finished);
        if (!done.wait(kTimeout)) return u"(no answer)"_s;
        const QJsonObject o = QJsonDocument::fromJson(reply->readAll()).object();
        return o.value(u"choices"_s)[0][u"message"_s][u"content"_s].toString().trimmed();
    }

    QJsonObject health() {
        QNetworkAccessManager network;
        std::unique_ptr<QNetworkReply> reply(
            network.get(QNetworkRequest(QUrl(u"http://127.0.0.1:%1/health"_s.arg(m_port)))));
        QSignalSpy done(reply.get(), &QNetworkReply::finished);
        done.wait(10000);
        return QJsonDocument::fromJson(reply->readAll()).object();
    }

    QTemporaryDir m_dir;
    QProcess m_server;
    quint16 m_port = 0;
    QString m_model;
};

QTEST_MAIN(TestRemoteBackend)
#include "test_remote_backend.moc"
