// HTTP/1.1 request parsing and response writing for the API server.
#include "http_connection.h"

#include <QTcpSocket>
#include <QTimer>

namespace gander::server {

namespace {

QByteArray error_body(const QByteArray& message, const QByteArray& code) {
    // Same shape as the API's errors, without pulling JSON in: message is plain ASCII here.
    return "{\"error\":{\"message\":\"" + message +
           "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"" + code + "\"}}";
}

} // namespace

QByteArray HttpRequest::header(const QByteArray& lowerName) const {
    for (const auto& [name, value] : headers)
        if (name == lowerName) return value;
    return {};
}

QByteArray http_reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Status";
    }
}

HttpConnection::HttpConnection(QTcpSocket* socket, const HttpLimits& limits, QObject* parent)
    : QObject(parent), m_socket(socket), m_limits(limits) {
    m_socket->setParent(this);
    connect(m_socket, &QTcpSocket::readyRead, this, &HttpConnection::onReadyRead);
    // A connection that sends nothing for a while, between requests or in the middle of one, is
    // closed: otherwise idle or half-sent requests would hold sockets forever.
    m_idle.setSingleShot(true);
    m_idle.setInterval(limits.idle_timeout_ms);
    connect(&m_idle, &QTimer::timeout, this, [this] {
        if (m_busy) return;
        m_socket->abort();
        if (!m_closing) { // abort() may not have said disconnected()
            m_closing = true;
            Q_EMIT closed();
            deleteLater();
        }
    });
    m_idle.start();
    m_socket->setReadBufferSize(64 * 1024);
    connect(m_socket, &QTcpSocket::disconnected, this, [this] {
        if (!m_closing) {
            m_closing = true;
            Q_EMIT closed();
        }
        deleteLater();
    });
}

HttpConnection::~HttpConnection() = default;

bool HttpConnection::isOpen() const {
    return !m_closing && m_socket->state() == QAbstractSocket::ConnectedState;
}

void HttpConnection::onReadyRead() {
    if (m_closing) {
        m_socket->readAll();
        return;
    }
    // While a request is answered, what a pipelining client sends next waits, but only up to one
    // full request: beyond that it stays in the socket (whose buffer is bounded too), and TCP
    // slows the client down.
    if (m_busy && m_buffer.size() >= bufferCap()) return;
    m_buffer += m_socket->read(bufferCap() - m_buffer.size() + 1);
    m_idle.start();
    parse();
}

qsizetype HttpConnection::bufferCap() const {
    return m_limits.max_header_bytes + m_limits.max_body_bytes + 4;
}

void HttpConnection::parse() {
    // One request at a time: pipelined requests wait in the buffer until this one is answered.
    while (!m_busy && !m_closing) {
        if (m_body_expected < 0) {
            const qsizetype end = m_buffer.indexOf("\r\n\r\n");
            if (end < 0) {
                if (m_buffer.size() > m_limits.max_header_bytes)
                    reject(431, "request headers are too large");
                return;
            }
            if (end > m_limits.max_header_bytes)
                return reject(431, "request headers are too large");
            const QList<QByteArray> lines = m_buffer.left(end).split('\n');
            m_buffer.remove(0, end + 4);
            m_request = {};
            const QList<QByteArray> first = lines.value(0).trimmed().split(' ');
            if (first.size() != 3 || !first[2].startsWith("HTTP/1."))
                return reject(400, "malformed request line");
            m_request.method = first[0];
            const QByteArray target = first[1];
            const qsizetype q = target.indexOf('?');
            m_request.path = q < 0 ? target : target.left(q);
            m_request.query = q < 0 ? QByteArray() : target.mid(q + 1);
            for (qsizetype i = 1; i < lines.size(); ++i) {
                const QByteArray line = lines[i].trimmed();
                if (line.isEmpty()) continue;
                const qsizetype colon = line.indexOf(':');
                if (colon <= 0) return reject(400, "malformed header line");
                m_request.headers.append(
                    {line.left(colon).trimmed().toLower(), line.mid(colon + 1).trimmed()});
            }
            const QByteArray connection = m_request.header("connection").toLower();
            m_close_after = connection.contains("close") || first[2] == "HTTP/1.0";
            if (!m_request.header("transfer-encoding").isEmpty())
                return reject(411, "chunked request bodies are not supported; send Content-Length");
            bool ok = true;
            const QByteArray length = m_request.header("content-length");
            const qlonglong n = length.isEmpty() ? 0 : length.toLongLong(&ok);
            if (!ok || n < 0) return reject(400, "malformed Content-Length");
            // Refused from the header alone: the body is never read into memory.
            if (n > m_limits.max_body_bytes)
                return reject(413, "request body is larger than " +
                                       QByteArray::number(m_limits.max_body_bytes) + " bytes");
            m_body_expected = qsizetype(n);
            // curl and others wait (about a second) for this before sending a larger body.
            if (m_request.header("expect").toLower() == "100-continue" && m_buffer.isEmpty())
                m_socket->write("HTTP/1.1 100 Continue\r\n\r\n");
        }
        if (m_buffer.size() < m_body_expected) return;
        m_request.body = m_buffer.left(m_body_expected);
        m_buffer.remove(0, m_body_expected);
        m_body_expected = -1;
        m_busy = true;
        Q_EMIT requestReady(m_request);
    }
}

void HttpConnection::reject(int status, const QByteArray& message) {
    m_close_after = true;
    m_drain = true;
    m_busy = true;
    const QByteArray code = status == 413 ? "request_too_large" : "bad_request";
    respond(status, "application/json", error_body(message, code));
}

void HttpConnection::respond(int status, const QByteArray& contentType, const QByteArray& body) {
    if (!isOpen()) return;
    QByteArray head = "HTTP/1.1 " + QByteArray::number(status) + ' ' + http_reason(status) +
                      "\r\nContent-Type: " + contentType +
                      "\r\nContent-Length: " + QByteArray::number(body.size()) +
                      (m_close_after ? "\r\nConnection: close" : "") + "\r\n\r\n";
    m_socket->write(head + body);
    finishResponse();
}

void HttpConnection::beginStream(int status, const QByteArray& contentType) {
    if (!isOpen()) return;
    m_socket->write("HTTP/1.1 " + QByteArray::number(status) + ' ' + http_reason(status) +
                    "\r\nContent-Type: " + contentType +
                    "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked" +
                    (m_close_after ? "\r\nConnection: close" : "") + "\r\n\r\n");
}

void HttpConnection::writeChunk(const QByteArray& data) {
    if (!isOpen() || data.isEmpty()) return;
    m_socket->write(QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n");
}

void HttpConnection::endStream() {
    if (!isOpen()) return;
    m_socket->write("0\r\n\r\n");
    finishResponse();
}

void HttpConnection::finishResponse() {
    m_busy = false;
    m_idle.start();
    if (m_close_after) {
        m_closing = true;
        if (m_drain) {
            // Refused before its body was read: the client may still be sending it, and closing
            // now would reset the connection before it reads the answer. Drain for a moment.
            m_buffer.clear();
            QTimer::singleShot(1000, m_socket, [s = m_socket] { s->disconnectFromHost(); });
        } else {
            m_socket->disconnectFromHost(); // flushes what was written first
        }
        return;
    }
    // Later, not nested here: a buffer of many small pipelined requests answered at once would
    // otherwise recurse once per request.
    QMetaObject::invokeMethod(this, &HttpConnection::onReadyRead, Qt::QueuedConnection);
}

} // namespace gander::server
