// The remote backend's client against our own OpenAI-compatible server (in-process), and its SSE
// parser on awkward byte splits.
#include "local_server.h"
#include "remote_client.h"
#include "sse_parser.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTest>

#include <memory>

using namespace Qt::StringLiterals;
using gander::remote::RemoteClient;
using gander::remote::RemoteEndpoint;
using gander::remote::RemoteMessage;
using gander::remote::RemoteParams;
using gander::remote::SseParser;
using gander::server::LocalServer;
using gander::server::ServerOptions;

class TestRemoteClient final : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<LocalServer> m_server;
    RemoteEndpoint m_endpoint;

    static QList<RemoteMessage> question(const QString& text) { return {{u"user"_s, text}}; }

private Q_SLOTS:
    void initTestCase() {
        QString dir = qEnvironmentVariable("GANDER_FIXTURES");
        if (dir.isEmpty()) dir = QStringLiteral(GANDER_FIXTURES_DEFAULT);
        ServerOptions o;
        o.model_path = dir + u"/rwkv7/trained-tiny.pth"_s;
        o.port = 0;
        o.api_key = u"k3y"_s;
        o.backend = gander::BackendKind::Cpu;
        o.threads = 2;
        o.api.max_tokens = 50000;
        m_server = std::make_unique<LocalServer>();
        QSignalSpy started(m_server.get(), &LocalServer::started);
        m_server->start(o);
        QVERIFY(started.wait(30000));
        m_endpoint.base_url = QUrl(u"http://127.0.0.1:%1/v1/"_s.arg(m_server->port()));
        m_endpoint.api_key = u"k3y"_s;
        m_endpoint.model = m_server->modelId();
    }
    void cleanupTestCase() { m_server.reset(); }

    void sse_data() {
        QTest::addColumn<QByteArray>("stream");
        QTest::addColumn<QList<QByteArray>>("events");
        QTest::newRow("lf") << "data: a\n\ndata: b\n\n"_ba << QList<QByteArray>{"a", "b"};
        QTest::newRow("crlf") << "data: a\r\n\r\ndata: [DONE]\r\n\r\n"_ba
                              << QList<QByteArray>{"a", "[DONE]"};
        QTest::newRow("cr") << "data: a\r\rdata:b\r\r"_ba << QList<QByteArray>{"a", "b"};
        QTest::newRow("multi-line") << "data: a\ndata: b\n\n"_ba << QList<QByteArray>{"a\nb"};
        QTest::newRow("comments and fields")
            << ": ping\nevent: x\nid: 3\ndata: {}\n\n"_ba << QList<QByteArray>{"{}"};
        QTest::newRow("unfinished") << "data: a\n\ndata: b\n"_ba << QList<QByteArray>{"a"};
    }
    // Every split of the stream into two pieces gives the same events.
    void sse() {
        QFETCH(QByteArray, stream);
        QFETCH(QList<QByteArray>, events);
        for (qsizetype cut = 0; cut <= stream.size(); ++cut) {
            SseParser p;
            QList<QByteArray> got = p.feed(stream.left(cut));
            got += p.feed(stream.mid(cut));
            QCOMPARE(got, events);
        }
        SseParser bytewise;
        QList<QByteArray> got;
        for (char c : stream) got += bytewise.feed(QByteArray(1, c));
        QCOMPARE(got, events);
    }

    void streamsAReply() {
        RemoteClient client;
        client.setEndpoint(m_endpoint);
        QSignalSpy text(&client, &RemoteClient::textReady);
        QSignalSpy finished(&client, &RemoteClient::finished);
        QSignalSpy failed(&client, &RemoteClient::failed);
        RemoteParams params;
        params.temperature = 0;
        params.max_tokens = 9;
        client.chat(question(u"Hello"_s), params);
        QVERIFY(finished.wait(30000));
        QVERIFY2(failed.isEmpty(), qPrintable(failed.value(0).value(0).toString()));
        QVERIFY(text.size() >= 1);
        QCOMPARE(finished.value(0).value(0).toString(), u"length"_s);
        const auto usage = finished.value(0).value(1).value<gander::remote::RemoteUsage>();
        QCOMPARE(usage.completion_tokens, 9);
        QVERIFY(usage.prompt_tokens > 0);
        QVERIFY(!client.isBusy());
    }

    void listsModels() {
        RemoteClient client;
        client.setEndpoint(m_endpoint);
        QSignalSpy models(&client, &RemoteClient::modelsListed);
        client.listModels();
        QVERIFY(models.wait(10000));
        QCOMPARE(models.value(0).value(0).toStringList(), QStringList{m_endpoint.model});
    }

    void errors_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("message");
        QTest::newRow("wrong key") << u"nope"_s << QString() << 401 << u"API key"_s;
        QTest::newRow("unknown model") << QString() << u"llama-70b"_s << 404 << u"llama-70b"_s;
    }
    void errors() {
        QFETCH(QString, key);
        QFETCH(QString, model);
        QFETCH(int, status);
        QFETCH(QString, message);
        RemoteEndpoint e = m_endpoint;
        if (!key.isEmpty()) e.api_key = key;
        if (!model.isEmpty()) e.model = model;
        RemoteClient client;
        client.setEndpoint(e);
        QSignalSpy failed(&client, &RemoteClient::failed);
        QSignalSpy finished(&client, &RemoteClient::finished);
        client.chat(question(u"Hi"_s));
        QVERIFY(failed.wait(10000));
        QCOMPARE(failed.value(0).value(1).toInt(), status);
        QVERIFY2(failed.value(0).value(0).toString().contains(message),
                 qPrintable(failed.value(0).value(0).toString()));
        QVERIFY(finished.isEmpty());
    }

    void unreachableServer() {
        QTcpServer probe; // a port that was free a moment ago and nobody listens on now
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        const quint16 port = probe.serverPort();
        probe.close();
        RemoteEndpoint e = m_endpoint;
        e.base_url = QUrl(u"http://127.0.0.1:%1/v1"_s.arg(port));
        RemoteClient client;
        client.setEndpoint(e);
        QSignalSpy failed(&client, &RemoteClient::failed);
        client.chat(question(u"Hi"_s));
        QVERIFY(failed.wait(10000));
        QCOMPARE(failed.value(0).value(1).toInt(), 0);
    }

    // Cancelling mid-stream: nothing more arrives, and the next request works.
    void cancelThenChatAgain() {
        RemoteClient client;
        client.setEndpoint(m_endpoint);
        QSignalSpy text(&client, &RemoteClient::textReady);
        QSignalSpy finished(&client, &RemoteClient::finished);
        RemoteParams long_reply;
        long_reply.max_tokens = 40000;
        client.chat(question(u"Talk"_s), long_reply);
        QVERIFY(text.wait(10000));
        client.cancel();
        QVERIFY(!client.isBusy());
        // (A short reply may have finished already; what matters is that nothing follows.)
        const qsizetype texts = text.size(), ends = finished.size();
        QTest::qWait(300);
        QCOMPARE(text.size(), texts);
        QCOMPARE(finished.size(), ends);
        RemoteParams params;
        params.max_tokens = 3;
        client.chat(question(u"Again"_s), params);
        QVERIFY(finished.wait(30000));
        QCOMPARE(finished.size(), ends + 1);
    }

    void offMachine_data() {
        QTest::addColumn<QString>("url");
        QTest::addColumn<bool>("off");
        QTest::newRow("localhost") << u"http://localhost:8089/v1"_s << false;
        QTest::newRow("127.0.0.1") << u"http://127.0.0.1:8089/v1"_s << false;
        QTest::newRow("127.1.2.3") << u"http://127.1.2.3/v1"_s << false;
        QTest::newRow("::1") << u"http://[::1]:8000/v1"_s << false;
        QTest::newRow("lan") << u"http://192.168.1.20:8000/v1"_s << true;
        QTest::newRow("name") << u"https://gpu-box.example/v1"_s << true;
    }
    void offMachine() {
        QFETCH(QString, url);
        QFETCH(bool, off);
        QCOMPARE(RemoteClient::sendsTextOffMachine(QUrl(url)), off);
    }
};

QTEST_GUILESS_MAIN(TestRemoteClient)
#include "test_remote_client.moc"
