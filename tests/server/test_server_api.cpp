// LocalServer in-process, spoken to over raw loopback sockets: error shapes and status codes, the
// HTTP limits, streaming, the session cache and its eviction, cancellation of a request whose
// client left, and the queue limit. (The openai npm client covers the same API from outside.)
#include "local_server.h"
#include "server_settings.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkInterface>
#include <QSettings>
#include <QSignalSpy>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>

#include "gander/gander.h"

#include <memory>

using namespace Qt::StringLiterals;
using gander::server::LocalServer;
using gander::server::ServerOptions;

namespace {

QString fixture(const QString& relative) {
    QString dir = qEnvironmentVariable("GANDER_FIXTURES");
    if (dir.isEmpty()) dir = QStringLiteral(GANDER_FIXTURES_DEFAULT);
    return dir + u'/' + relative;
}

struct Reply {
    int status = 0;
    QByteArray head, body; // body de-chunked
    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QString code() const { return json().value(u"error").toObject().value(u"code").toString(); }
};

// Reads one response; handles Content-Length and chunked bodies.
Reply read_reply(QTcpSocket& s, int timeout_ms = 30000) {
    QByteArray buf;
    Reply r;
    QElapsedTimer t;
    t.start();
    auto more = [&] {
        if (!s.waitForReadyRead(int(qMax<qint64>(1, timeout_ms - t.elapsed())))) return false;
        buf += s.readAll();
        return true;
    };
    while (!buf.contains("\r\n\r\n"))
        if (!more()) return r;
    const qsizetype end = buf.indexOf("\r\n\r\n");
    r.head = buf.left(end);
    buf.remove(0, end + 4);
    r.status = r.head.split(' ').value(1).toInt();
    const QByteArray lower = r.head.toLower();
    if (lower.contains("transfer-encoding: chunked")) {
        for (;;) {
            while (!buf.contains("\r\n"))
                if (!more()) return r;
            const qsizetype eol = buf.indexOf("\r\n");
            const int n = buf.left(eol).toInt(nullptr, 16);
            while (buf.size() < eol + 2 + n + 2)
                if (!more()) return r;
            if (n == 0) return r;
            r.body += buf.mid(eol + 2, n);
            buf.remove(0, eol + 2 + n + 2);
        }
    }
    const qsizetype at = lower.indexOf("content-length: ");
    const int length = at < 0 ? 0 : lower.mid(at + 16, lower.indexOf("\r", at) - at - 16).toInt();
    while (buf.size() < length)
        if (!more()) return r;
    r.body = buf.left(length);
    return r;
}

} // namespace

class TestServerApi final : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<LocalServer> m_server;
    quint16 m_port = 0;
    const QByteArray m_key = "secret-key";

    std::unique_ptr<LocalServer> start(ServerOptions o) {
        auto server = std::make_unique<LocalServer>();
        QSignalSpy started(server.get(), &LocalServer::started);
        QSignalSpy failed(server.get(), &LocalServer::failed);
        server->start(o);
        if (!started.wait(30000)) {
            qWarning() << "server did not start:" << failed.value(0).value(0).toString();
            return nullptr;
        }
        return server;
    }

    ServerOptions options() const {
        ServerOptions o;
        o.model_path = fixture(u"rwkv7/trained-tiny.pth"_s);
        o.port = 0;
        o.api_key = QString::fromLatin1(m_key);
        o.backend = gander::BackendKind::Cpu;
        o.threads = 2;
        o.api.max_prompt_tokens = 2000;
        o.api.max_tokens = 50000;
        o.http.max_body_bytes = 64 * 1024;
        return o;
    }

    static void send(QTcpSocket& s, quint16 port, const QByteArray& method, const QByteArray& path,
                     const QByteArray& body, const QByteArray& key) {
        s.connectToHost(QHostAddress::LocalHost, port);
        QVERIFY(s.waitForConnected(5000));
        QByteArray req = method + ' ' + path + " HTTP/1.1\r\nHost: localhost\r\n";
        if (!key.isEmpty()) req += "Authorization: Bearer " + key + "\r\n";
        req +=
            "Content-Type: application/json\r\nContent-Length: " + QByteArray::number(body.size()) +
            "\r\n\r\n" + body;
        s.write(req);
        s.flush();
    }

    Reply call(const QByteArray& method, const QByteArray& path, const QByteArray& body,
               QByteArray key = {}, quint16 port = 0) {
        if (key.isEmpty()) key = m_key;
        QTcpSocket s;
        send(s, port ? port : m_port, method, path, body, key == "-" ? QByteArray() : key);
        return read_reply(s);
    }

    static QByteArray chat(const QString& text, int max_tokens, const QString& session = {},
                           bool stream = false) {
        QJsonObject o{
            {u"model"_s, u"trained-tiny"_s},
            {u"messages"_s, QJsonArray{QJsonObject{{u"role"_s, u"user"_s}, {u"content"_s, text}}}},
            {u"max_tokens"_s, max_tokens},
            {u"temperature"_s, 0},
            {u"stream"_s, stream}};
        if (!session.isEmpty()) o.insert(u"session"_s, session);
        return QJsonDocument(o).toJson(QJsonDocument::Compact);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(QFileInfo::exists(fixture(u"rwkv7/trained-tiny.pth"_s)));
        m_server = start(options());
        QVERIFY(m_server);
        m_port = m_server->port();
        QVERIFY(m_port != 0);
    }
    void cleanupTestCase() { m_server.reset(); }

    void missingModelFails() {
        LocalServer server;
        QSignalSpy failed(&server, &LocalServer::failed);
        ServerOptions o = options();
        o.model_path = u"/nonexistent/model.pth"_s;
        server.start(o);
        QVERIFY(failed.wait(10000));
        QVERIFY(failed.value(0).value(0).toString().contains(u"model.pth"));
        QVERIFY(!server.isRunning());
    }

    void errors_data() {
        QTest::addColumn<QByteArray>("method");
        QTest::addColumn<QByteArray>("path");
        QTest::addColumn<QByteArray>("body");
        QTest::addColumn<QByteArray>("key");
        QTest::addColumn<int>("status");
        QTest::addColumn<QString>("code");
        const QByteArray ok = chat(u"hi"_s, 4);
        QTest::newRow("wrong key")
            << "POST"_ba
            << "/v1/chat/completions"_ba << ok << "nope"_ba << 401 << u"invalid_api_key"_s;
        QTest::newRow("no key") << "GET"_ba
                                << "/v1/models"_ba << QByteArray() << "-"_ba << 401
                                << u"invalid_api_key"_s;
        QTest::newRow("malformed json")
            << "POST"_ba
            << "/v1/chat/completions"_ba
            << "{\"model\":"_ba << QByteArray() << 400 << u"invalid_json"_s;
        QTest::newRow("not an object") << "POST"_ba
                                       << "/v1/completions"_ba
                                       << "\"text\""_ba << QByteArray() << 400 << u"invalid_json"_s;
        QTest::newRow("temperature string")
            << "POST"_ba
            << "/v1/chat/completions"_ba
            << R"({"model":"trained-tiny","messages":[{"role":"user","content":"x"}],"temperature":"1"})"_ba
            << QByteArray() << 400 << u"invalid_type"_s;
        QTest::newRow("messages object")
            << "POST"_ba
            << "/v1/chat/completions"_ba
            << R"({"model":"trained-tiny","messages":{"role":"user"}})"_ba << QByteArray() << 400
            << u"invalid_type"_s;
        QTest::newRow("content number")
            << "POST"_ba
            << "/v1/chat/completions"_ba
            << R"({"model":"trained-tiny","messages":[{"role":"user","content":5}]})"_ba
            << QByteArray() << 400 << u"invalid_type"_s;
        QTest::newRow("bad role")
            << "POST"_ba
            << "/v1/chat/completions"_ba
            << R"({"model":"trained-tiny","messages":[{"role":"wizard","content":"x"}]})"_ba
            << QByteArray() << 400 << u"invalid_value"_s;
        QTest::newRow("max_tokens fraction")
            << "POST"_ba
            << "/v1/completions"_ba
            << R"({"model":"trained-tiny","prompt":"x","max_tokens":1.5})"_ba << QByteArray() << 400
            << u"invalid_type"_s;
        QTest::newRow("max_tokens too many")
            << "POST"_ba
            << "/v1/completions"_ba
            << R"({"model":"trained-tiny","prompt":"x","max_tokens":1000000})"_ba << QByteArray()
            << 400 << u"invalid_value"_s;
        QTest::newRow("n=2") << "POST"_ba
                             << "/v1/completions"_ba
                             << R"({"model":"trained-tiny","prompt":"x","n":2})"_ba << QByteArray()
                             << 400 << u"invalid_value"_s;
        QTest::newRow("five stops")
            << "POST"_ba
            << "/v1/completions"_ba
            << R"({"model":"trained-tiny","prompt":"x","stop":["a","b","c","d","e"]})"_ba
            << QByteArray() << 400 << u"invalid_value"_s;
        QTest::newRow("session number") << "POST"_ba
                                        << "/v1/completions"_ba
                                        << R"({"model":"trained-tiny","prompt":"x","session":7})"_ba
                                        << QByteArray() << 400 << u"invalid_type"_s;
        QTest::newRow("logit_bias key")
            << "POST"_ba
            << "/v1/completions"_ba
            << R"({"model":"trained-tiny","prompt":"x","logit_bias":{"999":1}})"_ba << QByteArray()
            << 400 << u"invalid_value"_s;
        QTest::newRow("missing model")
            << "POST"_ba
            << "/v1/completions"_ba
            << R"({"prompt":"x"})"_ba << QByteArray() << 400 << u"missing_required_parameter"_s;
        QTest::newRow("unknown model") << "POST"_ba
                                       << "/v1/completions"_ba
                                       << R"({"model":"gpt-4","prompt":"x"})"_ba << QByteArray()
                                       << 404 << u"model_not_found"_s;
        QTest::newRow("unknown model id")
            << "GET"_ba
            << "/v1/models/gpt-4"_ba << QByteArray() << QByteArray() << 404 << u"model_not_found"_s;
        QTest::newRow("unknown route")
            << "GET"_ba
            << "/v1/engines"_ba << QByteArray() << QByteArray() << 404 << u"unknown_url"_s;
        QTest::newRow("wrong method") << "GET"_ba
                                      << "/v1/chat/completions"_ba << QByteArray() << QByteArray()
                                      << 405 << u"method_not_allowed"_s;
        QTest::newRow("prompt too long")
            << "POST"_ba
            << "/v1/completions"_ba
            << QJsonDocument(
                   QJsonObject{{u"model"_s, u"trained-tiny"_s}, {u"prompt"_s, QString(3000, u'a')}})
                   .toJson()
            << QByteArray() << 400 << u"context_length_exceeded"_s;
        QTest::newRow("body too large") << "POST"_ba
                                        << "/v1/completions"_ba << QByteArray(100 * 1024, 'x')
                                        << QByteArray() << 413 << u"request_too_large"_s;
    }
    void errors() {
        QFETCH(QByteArray, method);
        QFETCH(QByteArray, path);
        QFETCH(QByteArray, body);
        QFETCH(QByteArray, key);
        QFETCH(int, status);
        QFETCH(QString, code);
        const Reply r = call(method, path, body, key);
        QCOMPARE(r.status, status);
        const QJsonObject e = r.json().value(u"error").toObject();
        QVERIFY2(e.contains(u"message") && e.contains(u"type") && e.contains(u"param") &&
                     e.contains(u"code"),
                 r.body);
        QCOMPARE(r.code(), code);
    }

    // Refused from the Content-Length alone, before a byte of the body is sent.
    void hugeBodyRefusedFromHeader() {
        QTcpSocket s;
        s.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(s.waitForConnected(5000));
        s.write("POST /v1/completions HTTP/1.1\r\nAuthorization: Bearer " + m_key +
                "\r\nContent-Length: 10000000000\r\n\r\n");
        const Reply r = read_reply(s, 5000);
        QCOMPARE(r.status, 413);
    }

    // Many pipelined requests in one write are answered in order, none lost, without the server
    // recursing per request.
    void pipelinedRequests() {
        QTcpSocket s;
        s.connectToHost(QHostAddress::LocalHost, m_port);
        QVERIFY(s.waitForConnected(5000));
        const int n = 3000;
        QByteArray all;
        for (int i = 0; i < n; ++i) all += "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
        s.write(all);
        QByteArray got;
        int answered = 0;
        while (answered < n && s.waitForReadyRead(20000)) {
            got += s.readAll();
            answered = int(got.count("HTTP/1.1 200 OK"));
        }
        QCOMPARE(answered, n);
    }

    void modelsAndCompletion() {
        const Reply models = call("GET", "/v1/models", {});
        QCOMPARE(models.status, 200);
        QCOMPARE(models.json().value(u"data").toArray().at(0).toObject().value(u"id").toString(),
                 u"trained-tiny"_s);
        const Reply r =
            call("POST", "/v1/completions",
                 R"({"model":"trained-tiny","prompt":"The","max_tokens":7,"temperature":0})");
        QCOMPARE(r.status, 200);
        const QJsonObject usage = r.json().value(u"usage").toObject();
        QCOMPARE(usage.value(u"prompt_tokens").toInt(), 3); // byte-level
        QCOMPARE(usage.value(u"completion_tokens").toInt(), 7);
        QCOMPARE(r.json()
                     .value(u"choices")
                     .toArray()
                     .at(0)
                     .toObject()
                     .value(u"finish_reason")
                     .toString(),
                 u"length"_s);
    }

    void streamingMatchesPlain() {
        const Reply plain = call("POST", "/v1/chat/completions", chat(u"Hello there"_s, 10));
        QCOMPARE(plain.status, 200);
        const QString expected = plain.json()[u"choices"][0][u"message"][u"content"].toString();
        const Reply streamed =
            call("POST", "/v1/chat/completions", chat(u"Hello there"_s, 10, {}, true));
        QCOMPARE(streamed.status, 200);
        QVERIFY(streamed.head.toLower().contains("content-type: text/event-stream"));
        QString text;
        bool done = false;
        for (const QByteArray& event : streamed.body.split('\n')) {
            if (!event.startsWith("data: ")) continue;
            const QByteArray data = event.mid(6);
            if (data == "[DONE]") {
                done = true;
                continue;
            }
            QVERIFY(!done);
            text += QJsonDocument::fromJson(data)[u"choices"][0][u"delta"][u"content"].toString();
        }
        QVERIFY(done);
        QCOMPARE(text, expected);
    }

    // The second turn of a session starts from the saved state: only the new text is prefilled.
    void sessionCarriesState() {
        const Reply first =
            call("POST", "/v1/chat/completions", chat(u"First question"_s, 6, u"s1"_s));
        QCOMPARE(first.status, 200);
        const int prompt1 = first.json()[u"usage"][u"prompt_tokens"].toInt();
        const QString reply = first.json()[u"choices"][0][u"message"][u"content"].toString();
        const QJsonArray messages{
            QJsonObject{{u"role"_s, u"user"_s}, {u"content"_s, u"First question"_s}},
            QJsonObject{{u"role"_s, u"assistant"_s}, {u"content"_s, reply}},
            QJsonObject{{u"role"_s, u"user"_s}, {u"content"_s, u"Second"_s}}};
        const QJsonObject body{{u"model"_s, u"trained-tiny"_s},
                               {u"messages"_s, messages},
                               {u"max_tokens"_s, 6},
                               {u"temperature"_s, 0},
                               {u"session"_s, u"s1"_s}};
        const Reply second = call("POST", "/v1/chat/completions", QJsonDocument(body).toJson());
        QCOMPARE(second.status, 200);
        const int cached =
            second.json()[u"usage"][u"prompt_tokens_details"][u"cached_tokens"].toInt();
        QVERIFY2(cached > prompt1,
                 qPrintable(u"cached %1, first prompt %2"_s.arg(cached).arg(prompt1)));
    }

    // Requests that take the argmax (temperature 0, no penalties, no logit bias) are decoded
    // together with the picks made where the logits are (Session::feed_batch_greedy): each reply
    // is the one it gets alone through the sampler (a logit bias of 0 keeps it there), and the
    // weak trained model says "the the the" when greedy (fixtures/README.md).
    void greedyRequestsTogether() {
        auto server = start(options());
        QVERIFY(server);
        const quint16 port = server->port();
        auto body = [](const QString& prompt, bool sampler = false) {
            QJsonObject o{{u"model"_s, u"trained-tiny"_s}, {u"prompt"_s, prompt},
                          {u"max_tokens"_s, 40},           {u"temperature"_s, 0},
                          {u"presence_penalty"_s, 0},      {u"frequency_penalty"_s, 0}};
            if (sampler) o.insert(u"logit_bias"_s, QJsonObject{{u"32"_s, 0}});
            return QJsonDocument(o).toJson(QJsonDocument::Compact);
        };
        auto text = [](const Reply& r) { return r.json()[u"choices"][0][u"text"].toString(); };
        const QStringList prompts{u"The"_s, u"In the end"_s, u"Once upon a time"_s, u"It is"_s};
        std::vector<std::unique_ptr<QTcpSocket>> clients;
        for (const QString& p : prompts) {
            clients.push_back(std::make_unique<QTcpSocket>());
            send(*clients.back(), port, "POST", "/v1/completions", body(p), m_key);
        }
        QStringList together;
        for (auto& c : clients) {
            const Reply r = read_reply(*c);
            QCOMPARE(r.status, 200);
            together << text(r);
        }
        const QJsonObject health = call("GET", "/health", {}, {}, port).json();
        QVERIFY2(health.value(u"mean_batch").toDouble() > 1.0,
                 QJsonDocument(health).toJson().constData());
        for (qsizetype i = 0; i < prompts.size(); ++i) {
            const Reply alone = call("POST", "/v1/completions", body(prompts[i], true), {}, port);
            QCOMPARE(alone.status, 200);
            QCOMPARE(together[i], text(alone));
        }
        QVERIFY2(together[0].contains(u"the the the"_s), qPrintable(together[0]));
    }

    // A client that leaves frees its slot at once; while a slot and the queue are full, 429; a
    // session in use is 409.
    void cancelQueueAndBusySession() {
        ServerOptions o = options();
        o.scheduler.max_active = 1;
        o.scheduler.max_queued = 1;
        auto server = start(o);
        QVERIFY(server);
        const quint16 port = server->port();
        auto* longA = new QTcpSocket;
        send(
            *longA, port, "POST", "/v1/completions",
            R"({"model":"trained-tiny","prompt":"x","max_tokens":50000,"session":"busy","stream":true,"logit_bias":{"0":-100}})",
            m_key);
        QVERIFY(longA->waitForReadyRead(10000)); // the stream's head: accepted
        QByteArray health;
        auto health_is = [&](const char* key, int value) {
            health = call("GET", "/health", {}, {}, port).body;
            return QJsonDocument::fromJson(health).object().value(QLatin1String(key)).toInt() ==
                   value;
        };
        QTRY_VERIFY2_WITH_TIMEOUT(health_is("active", 1), health.constData(), 20000); // admitted
        auto* longB = new QTcpSocket;
        send(*longB, port, "POST", "/v1/completions",
             R"({"model":"trained-tiny","prompt":"x","max_tokens":50000,"logit_bias":{"0":-100}})",
             m_key);
        // Wait until the server has the one running and the other queued (a loaded machine may
        // take a while), then the queue is full.
        QTRY_VERIFY2_WITH_TIMEOUT(health_is("queued", 1), health.constData(), 20000);
        QCOMPARE(call("POST", "/v1/completions",
                      R"({"model":"trained-tiny","prompt":"y","max_tokens":2})", {}, port)
                     .status,
                 429);
        QCOMPARE(call("POST", "/v1/completions",
                      R"({"model":"trained-tiny","prompt":"x","session":"busy"})", {}, port)
                     .code(),
                 u"session_busy"_s);
        delete longA; // both clients leave: their work stops, the next request runs at once
        delete longB;
        // 50000 tokens each would take far longer than this if they were still being decoded.
        auto idle = [&] {
            const QJsonObject h = call("GET", "/health", {}, {}, port).json();
            return h.value(u"active").toInt() == 0 && h.value(u"queued").toInt() == 0;
        };
        QTRY_VERIFY_WITH_TIMEOUT(idle(), 10000);
        const Reply r = call("POST", "/v1/completions",
                             R"({"model":"trained-tiny","prompt":"z","max_tokens":2})", {}, port);
        QCOMPARE(r.status, 200);
    }

    // A short prompt is prefilled before the remaining chunks of a long one.
    void shortPromptOvertakesLongOne() {
        QTcpSocket longClient;
        const QJsonObject body{{u"model"_s, u"trained-tiny"_s},
                               {u"prompt"_s, QString(1900, u'a')},
                               {u"max_tokens"_s, 1}};
        send(longClient, m_port, "POST", "/v1/completions", QJsonDocument(body).toJson(), m_key);
        QTRY_VERIFY_WITH_TIMEOUT(call("GET", "/health", {}).json().value(u"active").toInt() == 1,
                                 10000);
        const Reply quick = call("POST", "/v1/completions",
                                 R"({"model":"trained-tiny","prompt":"Hi","max_tokens":2})");
        QCOMPARE(quick.status, 200);
        QVERIFY(!longClient.waitForReadyRead(1)); // still prefilling its 1900 tokens
        QCOMPARE(read_reply(longClient).status, 200);
    }

    // With room for about two saved states, the least recently used session goes first.
    void sessionEviction() {
        auto model = gander::load_model(fixture(u"rwkv7/trained-tiny.pth"_s).toStdString());
        const std::size_t blob = model->new_session()->state_blob_size();
        ServerOptions o = options();
        o.scheduler.session_budget = blob * 5 / 2;
        auto server = start(o);
        QVERIFY(server);
        const quint16 port = server->port();
        auto completion = [&](const QString& session, const QString& prompt) {
            const QJsonObject body{{u"model"_s, u"trained-tiny"_s},
                                   {u"prompt"_s, prompt},
                                   {u"max_tokens"_s, 3},
                                   {u"temperature"_s, 0},
                                   {u"session"_s, session}};
            const Reply r = call("POST", "/v1/completions", QJsonDocument(body).toJson(), {}, port);
            return std::make_pair(
                r.json()[u"choices"][0][u"text"].toString(),
                r.json()[u"usage"][u"prompt_tokens_details"][u"cached_tokens"].toInt());
        };
        QMap<QString, QString> text;
        for (const QString& s : {u"a"_s, u"b"_s, u"c"_s})
            text[s] = u"Session "_s + s + completion(s, u"Session "_s + s).first;
        QCOMPARE(completion(u"a"_s, text[u"a"_s] + u" more"_s).second, 0); // evicted
        QVERIFY(completion(u"c"_s, text[u"c"_s] + u" more"_s).second > 0); // kept
    }

    // What the app's settings turn on (server/server_settings.h).
    void optionsFromSettings() {
        QTemporaryDir dir;
        const QString ini = dir.filePath(u"gander.ini"_s);
        {
            QSettings s(ini, QSettings::IniFormat);
            s.setValue(u"model/path"_s, u"/models/g1.pth"_s);
            s.setValue(u"model/backend"_s, u"cpu"_s);
            s.setValue(u"model/precision"_s, u"int8"_s);
        }
        QVERIFY(!gander::server::server_options_from_settings(ini)); // off by default
        {
            QSettings s(ini, QSettings::IniFormat);
            s.setValue(u"server/enabled"_s, true);
            s.setValue(u"server/port"_s, 9123);
            s.setValue(u"server/api_key"_s, u"k"_s);
        }
        const auto o = gander::server::server_options_from_settings(ini, {u"/share"_s});
        QVERIFY(o);
        QCOMPARE(o->model_path, u"/models/g1.pth"_s);
        QCOMPARE(o->port, quint16(9123));
        QCOMPARE(o->api_key, u"k"_s);
        QVERIFY(o->backend == gander::BackendKind::Cpu);
        QVERIFY(o->precision == gander::Precision::Int8);
        QCOMPARE(o->vocab_search_dirs, QStringList{u"/share"_s});
    }

    void listensOnLoopbackOnly() {
        for (const QHostAddress& a : QNetworkInterface::allAddresses()) {
            if (a.isLoopback() || a.protocol() != QAbstractSocket::IPv4Protocol) continue;
            QTcpSocket s;
            s.connectToHost(a, m_port);
            QVERIFY2(!s.waitForConnected(3000), qPrintable(a.toString()));
        }
    }
};

QTEST_GUILESS_MAIN(TestServerApi)
#include "test_server_api.moc"
