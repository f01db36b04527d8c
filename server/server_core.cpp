// Routing, authentication and the bridge from scheduler events to HTTP responses.
#include "server_core.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>

#include <cstring>

using namespace Qt::StringLiterals;

namespace gander::server {

namespace {

void respond_error(HttpConnection* c, const ApiError& e) {
    c->respond(e.status, "application/json", e.toJson());
}

ApiError api_error(int status, const QString& message, const QString& type, const QString& code) {
    ApiError e;
    e.status = status;
    e.message = message;
    e.type = type;
    e.code = code;
    return e;
}

// Compares without stopping at the first difference, so the time taken says nothing about the key.
bool same_secret(const QByteArray& a, const QByteArray& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (qsizetype i = 0; i < a.size(); ++i) diff |= uchar(a[i]) ^ uchar(i < b.size() ? b[i] : 0);
    return diff == 0;
}

// One request being generated: lives on the core thread as a child of its connection, so events
// that arrive after the client left are dropped with it.
class Exchange final : public QObject {
public:
    Exchange(HttpConnection* c, Endpoint endpoint, bool stream, bool usage, QString id,
             QString model, qint64 created)
        : QObject(c), m_connection(c), m_endpoint(endpoint), m_stream(stream), m_usage(usage),
          m_id(std::move(id)), m_model(std::move(model)), m_created(created) {}

    void begin() {
        if (m_stream) m_connection->beginStream(200, "text/event-stream");
    }

    void onEvent(const JobEvent& ev) {
        switch (ev.kind) {
        case JobEvent::Kind::Text: {
            const QString piece = QString::fromStdString(ev.text);
            if (m_stream) {
                m_connection->writeChunk(
                    stream_event(m_endpoint, m_id, m_model, m_created, piece, {}, m_first));
                m_first = false;
            } else {
                m_text += piece;
            }
            return;
        }
        case JobEvent::Kind::Done:
            if (m_stream) {
                m_connection->writeChunk(stream_event(m_endpoint, m_id, m_model, m_created, {},
                                                      QString::fromStdString(ev.finish_reason),
                                                      m_first));
                if (m_usage)
                    m_connection->writeChunk(
                        stream_event(m_endpoint, m_id, m_model, m_created, {}, {}, false, &ev));
                m_connection->writeChunk("data: [DONE]\n\n");
                m_connection->endStream();
            } else {
                m_connection->respond(
                    200, "application/json",
                    completion_json(m_endpoint, m_id, m_model, m_created, m_text, ev));
            }
            break;
        case JobEvent::Kind::Failed: {
            const ApiError e =
                api_error(500, QString::fromStdString(ev.text), u"server_error"_s, {});
            if (m_stream) {
                m_connection->writeChunk("data: " + e.toJson() + "\n\n");
                m_connection->endStream();
            } else {
                respond_error(m_connection, e);
            }
            break;
        }
        }
        deleteLater();
    }

private:
    HttpConnection* m_connection;
    Endpoint m_endpoint;
    bool m_stream, m_usage, m_first = true;
    QString m_id, m_model, m_text;
    qint64 m_created;
};

} // namespace

ServerCore::~ServerCore() {
    shutdown();
}

void ServerCore::start(const ServerOptions& options) {
    shutdown();
    m_options = options;
    try {
        LoadOptions load;
        load.backend = options.backend;
        load.precision = options.precision;
        load.threads = options.threads;
        m_model = load_model(options.model_path.toStdString(), load);
        const int vocab = m_model->info().shape.vocab;
        if (!options.vocab_path.isEmpty()) {
            m_tokenizer = load_tokenizer(options.vocab_path.toStdString());
        } else if (vocab <= 512) {
            m_tokenizer = make_byte_tokenizer();
        } else {
            QStringList dirs{QFileInfo(options.model_path).absolutePath()};
            dirs += options.vocab_search_dirs;
            for (const QString& dir : dirs) {
                const QString candidate = QDir(dir).filePath(u"rwkv_vocab_v20230424.txt"_s);
                if (QFileInfo::exists(candidate)) {
                    m_tokenizer = load_tokenizer(candidate.toStdString());
                    break;
                }
            }
            if (!m_tokenizer)
                throw Error(
                    options.model_path.toStdString() + ": a vocabulary of " +
                    std::to_string(vocab) +
                    " tokens needs rwkv_vocab_v20230424.txt: give it with --vocab or put it "
                    "beside the model");
        }
        if (m_tokenizer->vocab_size() > vocab)
            throw Error("the tokenizer has " + std::to_string(m_tokenizer->vocab_size()) +
                        " tokens but the model only " + std::to_string(vocab));
    } catch (const std::exception& e) {
        m_model.reset();
        m_tokenizer.reset();
        Q_EMIT failed(QString::fromUtf8(e.what()));
        return;
    }
    m_model_id = options.model_id.isEmpty() ? QFileInfo(options.model_path).completeBaseName()
                                            : options.model_id;
    m_created = QDateTime::currentSecsSinceEpoch();

    m_listener = new QTcpServer(this);
    // Loopback only, whatever the options say: the API has no TLS and at most a shared key.
    if (!m_listener->listen(QHostAddress::LocalHost, options.port)) {
        // "The bound address is already in use" reads badly in a settings dialog's status line.
        const QString why = m_listener->serverError() == QAbstractSocket::AddressInUseError
                                ? u"the port is in use by another program"_s
                                : m_listener->errorString();
        delete m_listener;
        m_listener = nullptr;
        m_model.reset();
        m_tokenizer.reset();
        Q_EMIT failed(u"cannot listen on 127.0.0.1:%1: %2"_s.arg(options.port).arg(why));
        return;
    }
    connect(m_listener, &QTcpServer::newConnection, this, &ServerCore::onNewConnection);
    m_scheduler = std::make_unique<Scheduler>(*m_model, *m_tokenizer, options.scheduler);
    Q_EMIT started(m_listener->serverPort(), m_model_id);
}

void ServerCore::shutdown() {
    if (m_listener) {
        m_listener->close();
        delete m_listener;
        m_listener = nullptr;
    }
    // Every connection is a child of this object; closing them cancels what they asked for.
    for (HttpConnection* c : findChildren<HttpConnection*>(Qt::FindDirectChildrenOnly)) delete c;
    m_scheduler.reset();
    m_tokenizer.reset();
    m_model.reset();
}

void ServerCore::onNewConnection() {
    while (QTcpSocket* socket = m_listener->nextPendingConnection()) {
        // listen() is on 127.0.0.1, so this is defence in depth, not the guard itself.
        if (!socket->peerAddress().isLoopback()) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        if (findChildren<HttpConnection*>(Qt::FindDirectChildrenOnly).size() >=
            m_options.http.max_connections) {
            socket->abort(); // a runaway client; the others keep their connections
            socket->deleteLater();
            continue;
        }
        auto* c = new HttpConnection(socket, m_options.http, this);
        connect(c, &HttpConnection::requestReady, this,
                [this, c](const HttpRequest& r) { handle(c, r); });
    }
}

bool ServerCore::authorized(const HttpRequest& request) const {
    if (m_options.api_key.isEmpty()) return true;
    const QByteArray header = request.header("authorization");
    if (!header.startsWith("Bearer ")) return false;
    return same_secret(header.mid(7).trimmed(), m_options.api_key.toUtf8());
}

void ServerCore::handle(HttpConnection* c, const HttpRequest& r) {
    if (r.path == "/health" && r.method == "GET") {
        // No key needed and nothing private: load figures for a monitor or a test.
        const SchedulerStats st = m_scheduler ? m_scheduler->stats() : SchedulerStats{};
        const double mean_batch =
            st.batched_steps ? double(st.batched_tokens) / double(st.batched_steps) : 0.0;
        return c->respond(200, "application/json",
                          QJsonDocument(QJsonObject{{u"status"_s, u"ok"_s},
                                                    {u"active"_s, st.active},
                                                    {u"queued"_s, st.queued},
                                                    {u"sessions"_s, st.sessions},
                                                    {u"session_bytes"_s, qint64(st.session_bytes)},
                                                    {u"decode_steps"_s, qint64(st.batched_steps)},
                                                    {u"mean_batch"_s, mean_batch}})
                              .toJson(QJsonDocument::Compact));
    }
    if (!r.path.startsWith("/v1/"))
        return respond_error(c,
                             api_error(404,
                                       u"Unknown route: %1 %2"_s.arg(QString::fromLatin1(r.method),
                                                                     QString::fromLatin1(r.path)),
                                       u"invalid_request_error"_s, u"unknown_url"_s));
    if (!authorized(r))
        return respond_error(c, api_error(401, u"Incorrect API key provided."_s,
                                          u"invalid_request_error"_s, u"invalid_api_key"_s));
    auto method_is = [&](const char* m) {
        if (r.method == m) return true;
        respond_error(c, api_error(405,
                                   u"Method %1 not allowed on %2."_s.arg(
                                       QString::fromLatin1(r.method), QString::fromLatin1(r.path)),
                                   u"invalid_request_error"_s, u"method_not_allowed"_s));
        return false;
    };
    if (r.path == "/v1/models") {
        if (method_is("GET"))
            c->respond(200, "application/json", models_json(m_model_id, m_created));
        return;
    }
    if (r.path.startsWith("/v1/models/")) {
        if (!method_is("GET")) return;
        const QString id = QString::fromUtf8(QByteArray::fromPercentEncoding(r.path.mid(11)));
        if (id != m_model_id)
            return respond_error(c, api_error(404, u"The model '%1' does not exist."_s.arg(id),
                                              u"invalid_request_error"_s, u"model_not_found"_s));
        return c->respond(200, "application/json", model_json(m_model_id, m_created));
    }
    if (r.path == "/v1/chat/completions") {
        if (method_is("POST")) generate(c, Endpoint::Chat, r.body);
        return;
    }
    if (r.path == "/v1/completions") {
        if (method_is("POST")) generate(c, Endpoint::Completion, r.body);
        return;
    }
    respond_error(c, api_error(404,
                               u"Unknown route: %1 %2"_s.arg(QString::fromLatin1(r.method),
                                                             QString::fromLatin1(r.path)),
                               u"invalid_request_error"_s, u"unknown_url"_s));
}

void ServerCore::deliver(quint64 key, Mailbox& box) {
    std::vector<JobEvent> events;
    {
        std::lock_guard lock(box.mutex);
        events.swap(box.events);
        box.posted = false;
    }
    for (const JobEvent& ev : events) {
        QObject* target = m_exchanges.value(key);
        if (!target) return; // the client left
        static_cast<Exchange*>(target)->onEvent(ev);
        if (ev.kind != JobEvent::Kind::Text) m_exchanges.remove(key); // answered
    }
}

void ServerCore::generate(HttpConnection* c, Endpoint endpoint, const QByteArray& body) {
    if (!m_scheduler)
        return respond_error(c,
                             api_error(503, u"The model is not loaded."_s, u"server_error"_s, {}));
    auto parsed = parse_request(endpoint, body, m_model_id, *m_tokenizer, m_options.api);
    if (auto* e = std::get_if<ApiError>(&parsed)) return respond_error(c, *e);
    ParsedRequest& req = std::get<ParsedRequest>(parsed);

    const quint64 key = m_next_id++;
    const QString id = (endpoint == Endpoint::Chat ? u"chatcmpl-"_s : u"cmpl-"_s) +
                       QString::number(m_created, 16) + u'-' + QString::number(key);
    auto* exchange = new Exchange(c, endpoint, req.stream, req.include_usage, id, req.model,
                                  QDateTime::currentSecsSinceEpoch());
    // Scheduler thread -> core thread, through the core (alive as long as the scheduler): the
    // exchange may be deleted at any moment on this thread when its client leaves, so it is
    // looked up here, never posted to from the scheduler's thread. Events wait in a mailbox with
    // at most one queued call per request, so a fast decoder cannot flood this thread's event
    // queue and starve its sockets; a busy moment delivers several tokens in one go.
    m_exchanges.insert(key, exchange);
    connect(exchange, &QObject::destroyed, this, [this, key] { m_exchanges.remove(key); });
    auto box = std::make_shared<Mailbox>();
    req.job->sink = [this, key, box](const JobEvent& ev) {
        {
            std::lock_guard lock(box->mutex);
            box->events.push_back(ev);
            if (box->posted) return;
            box->posted = true;
        }
        QMetaObject::invokeMethod(
            this, [this, key, box] { deliver(key, *box); }, Qt::QueuedConnection);
    };
    std::weak_ptr<Job> weak = req.job;
    connect(c, &HttpConnection::closed, exchange, [weak] {
        if (auto job = weak.lock()) job->cancelled = true;
    });
    switch (m_scheduler->submit(req.job)) {
    case Scheduler::Submit::Accepted:
        exchange->begin();
        return;
    case Scheduler::Submit::Full:
        respond_error(
            c,
            api_error(429, u"The server is busy: every slot and the queue are full. Retry later."_s,
                      u"rate_limit_error"_s, u"server_busy"_s));
        break;
    case Scheduler::Submit::SessionBusy:
        respond_error(c, api_error(409,
                                   u"Session '%1' is answering another request."_s.arg(
                                       QString::fromStdString(req.job->session)),
                                   u"invalid_request_error"_s, u"session_busy"_s));
        break;
    case Scheduler::Submit::Stopped:
        respond_error(c, api_error(503, u"The server is shutting down."_s, u"server_error"_s, {}));
        break;
    }
    delete exchange;
}

} // namespace gander::server
