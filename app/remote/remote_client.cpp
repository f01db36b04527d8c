// Streaming chat completions over HTTP(S) with server-sent events.
#include "remote_client.h"

#include <QHostAddress>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>

using namespace Qt::StringLiterals;

namespace gander::remote {

namespace {

// The message of an OpenAI-shaped error body, or a short description of whatever came back.
QString error_message(const QByteArray& body, const QString& fallback) {
    const QJsonObject o = QJsonDocument::fromJson(body).object();
    const QJsonValue e = o.value(u"error");
    if (e.isObject() && e.toObject().value(u"message").isString())
        return e.toObject().value(u"message").toString();
    if (e.isString()) return e.toString(); // some servers send {"error": "text"}
    if (!body.trimmed().isEmpty()) return QString::fromUtf8(body.left(300)).trimmed();
    return fallback;
}

// What went wrong below HTTP, said for a person: the host and port, and what to check.
QString network_error_message(const QNetworkReply* reply, int idle_timeout_s) {
    const QUrl u = reply->url();
    const QString where = u"%1:%2"_s.arg(u.host()).arg(u.port(u.scheme() == "https"_L1 ? 443 : 80));
    switch (reply->error()) {
    case QNetworkReply::ConnectionRefusedError:
        return u"connection refused by %1 (is the server running, on this port?)"_s.arg(where);
    case QNetworkReply::HostNotFoundError:
        return u"host %1 not found"_s.arg(u.host());
    case QNetworkReply::OperationCanceledError: // cancel() disconnects first: only the timeout
        return u"no answer from %1 for %2 s"_s.arg(where).arg(idle_timeout_s);
    case QNetworkReply::TimeoutError:
        return u"the connection to %1 timed out"_s.arg(where);
    case QNetworkReply::RemoteHostClosedError:
        return u"%1 closed the connection before answering"_s.arg(where);
    default:
        return u"%1: %2"_s.arg(where, reply->errorString());
    }
}

} // namespace

QUrl RemoteClient::baseUrlFromText(const QString& text) {
    QString t = text.trimmed();
    if (t.isEmpty()) return {};
    if (!t.contains(u"://"_s)) t.prepend(u"http://"_s);
    QUrl u(t, QUrl::StrictMode);
    if (!u.isValid() || u.host().isEmpty() || (u.scheme() != "http"_L1 && u.scheme() != "https"_L1))
        return {};
    // "http://host:8000" is what people copy from a server's start-up line; the API is under /v1.
    if (u.path().isEmpty() || u.path() == "/"_L1) u.setPath(u"/v1"_s);
    u.setQuery(QString());
    u.setFragment(QString());
    return u;
}

RemoteClient::RemoteClient(QObject* parent)
    : QObject(parent), m_network(new QNetworkAccessManager(this)) {}

RemoteClient::~RemoteClient() {
    cancel();
}

bool RemoteClient::sendsTextOffMachine(const QUrl& url) {
    const QString host = url.host();
    if (host.compare(u"localhost"_s, Qt::CaseInsensitive) == 0) return false;
    const QHostAddress address(host);
    return address.isNull() || !address.isLoopback();
}

QUrl RemoteClient::url(const QString& path) const {
    QUrl u = m_endpoint.base_url;
    QString p = u.path();
    while (p.endsWith(u'/')) p.chop(1);
    u.setPath(p + path);
    return u;
}

void RemoteClient::chat(const QList<RemoteMessage>& messages, const RemoteParams& params) {
    cancel();
    QJsonArray list;
    for (const RemoteMessage& m : messages)
        list.append(QJsonObject{{u"role"_s, m.role}, {u"content"_s, m.content}});
    QJsonObject body{{u"model"_s, m_endpoint.model},
                     {u"messages"_s, list},
                     {u"stream"_s, true},
                     {u"stream_options"_s, QJsonObject{{u"include_usage"_s, true}}}};
    if (params.temperature) body.insert(u"temperature"_s, *params.temperature);
    if (params.top_p) body.insert(u"top_p"_s, *params.top_p);
    if (params.max_tokens) body.insert(u"max_tokens"_s, *params.max_tokens);
    if (!params.stop.isEmpty()) body.insert(u"stop"_s, QJsonArray::fromStringList(params.stop));

    QNetworkRequest request(url(u"/chat/completions"_s));
    request.setHeader(QNetworkRequest::ContentTypeHeader, "application/json"_ba);
    request.setRawHeader("Accept", "text/event-stream");
    if (!m_endpoint.api_key.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_endpoint.api_key.toUtf8());
    request.setTransferTimeout(m_idle_timeout_s * 1000);
    m_parser = {};
    m_finish_reason.clear();
    m_usage = {};
    m_done = false;
    m_events = 0;
    m_reply = m_network->post(request, QJsonDocument(body).toJson(QJsonDocument::Compact));
    connect(m_reply, &QNetworkReply::readyRead, this, &RemoteClient::onChatData);
    connect(m_reply, &QNetworkReply::finished, this, &RemoteClient::onChatFinished);
}

void RemoteClient::cancel() {
    if (!m_reply) return;
    QNetworkReply* reply = m_reply;
    m_reply = nullptr;
    reply->disconnect(this);
    reply->abort();
    reply->deleteLater();
}

void RemoteClient::onChatData() {
    QNetworkReply* reply = m_reply;
    if (!reply) return;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status >= 400) return; // the error body is read whole in onChatFinished
    for (const QByteArray& payload : m_parser.feed(reply->readAll())) {
        handleEvent(payload);
        if (m_reply != reply || m_done) return; // failed or finished inside
    }
    if (m_parser.overflowed()) fail(u"the server sent an event larger than 8 MiB"_s, status);
}

void RemoteClient::handleEvent(const QByteArray& payload) {
    ++m_events;
    if (payload.trimmed() == "[DONE]") {
        m_done = true;
        return;
    }
    QJsonParseError err{};
    const QJsonObject o = QJsonDocument::fromJson(payload, &err).object();
    if (err.error != QJsonParseError::NoError)
        return fail(u"the server sent an event that is not JSON: %1"_s.arg(
                        QString::fromUtf8(payload.left(200))),
                    200);
    if (o.contains(u"error")) {
        m_done = true;
        return fail(error_message(payload, u"the server reported an error"_s), 200);
    }
    if (o.value(u"usage").isObject()) {
        const QJsonObject u = o.value(u"usage").toObject();
        m_usage.prompt_tokens = u.value(u"prompt_tokens").toInt();
        m_usage.completion_tokens = u.value(u"completion_tokens").toInt();
    }
    const QJsonArray choices = o.value(u"choices").toArray();
    if (choices.isEmpty()) return;
    const QJsonObject choice = choices.first().toObject();
    const QString piece = choice.value(u"delta").toObject().value(u"content").toString();
    if (!piece.isEmpty()) Q_EMIT textReady(piece);
    if (choice.value(u"finish_reason").isString())
        m_finish_reason = choice.value(u"finish_reason").toString();
}

void RemoteClient::onChatFinished() {
    QNetworkReply* reply = m_reply;
    if (!reply) return;
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    if (status >= 400)
        return fail(error_message(reply->readAll(), u"HTTP %1"_s.arg(status)), status);
    if (reply->error() != QNetworkReply::NoError && !m_done)
        return fail(network_error_message(reply, m_idle_timeout_s), status);
    onChatData(); // whatever is left
    if (m_reply != reply) return;
    m_reply = nullptr;
    reply->deleteLater();
    if (!m_done && m_finish_reason.isEmpty()) {
        Q_EMIT failed(m_events == 0
                          ? u"the server's answer is not an event stream (is the address the "
                            "API's base, such as http://host:8000/v1?)"_s
                          : u"the server closed the stream before the reply was complete"_s,
                      status);
        return;
    }
    Q_EMIT finished(m_finish_reason.isEmpty() ? u"stop"_s : m_finish_reason, m_usage);
}

void RemoteClient::fail(const QString& message, int status) {
    cancel();
    Q_EMIT failed(message, status);
}

void RemoteClient::listModels() {
    QNetworkRequest request(url(u"/models"_s));
    if (!m_endpoint.api_key.isEmpty())
        request.setRawHeader("Authorization", "Bearer " + m_endpoint.api_key.toUtf8());
    request.setTransferTimeout(m_idle_timeout_s * 1000);
    QNetworkReply* reply = m_network->get(request);
    connect(reply, &QNetworkReply::finished, this, [this, reply] {
        reply->deleteLater();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        const QByteArray body = reply->readAll();
        if (status >= 400 || reply->error() != QNetworkReply::NoError) {
            Q_EMIT failed(status >= 400 ? error_message(body, u"HTTP %1"_s.arg(status))
                                        : network_error_message(reply, m_idle_timeout_s),
                          status);
            return;
        }
        QStringList ids;
        for (const QJsonValue& m : QJsonDocument::fromJson(body).object().value(u"data").toArray())
            ids.append(m.toObject().value(u"id").toString());
        Q_EMIT modelsListed(ids);
    });
}

} // namespace gander::remote
