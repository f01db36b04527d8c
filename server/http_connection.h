// One HTTP/1.1 client connection on a QTcpSocket: request parsing with hard limits, plain and
// streamed (chunked) responses, keep-alive.
//
// Why not QHttpServer: Qt 6.4's QAbstractHttpServer reads a whole request body into memory before
// any handler sees it and has no size limit, so a huge body cannot be refused (413) from its
// Content-Length; and a streamed reply has to be written as raw chunks anyway. The subset of
// HTTP/1.1 an API server needs is small: request line, headers, a Content-Length body.
#pragma once

#include <QByteArray>
#include <QList>
#include <QObject>
#include <QPair>
#include <QTimer>

class QTcpSocket;

namespace gander::server {

struct HttpRequest {
    QByteArray method, path, query;               // path without the query string
    QList<QPair<QByteArray, QByteArray>> headers; // names lower-cased
    QByteArray body;
    QByteArray header(const QByteArray& lowerName) const;
};

struct HttpLimits {
    qsizetype max_header_bytes = 16 * 1024;
    qsizetype max_body_bytes = 1024 * 1024;
    int idle_timeout_ms = 60 * 1000; // no byte from the client while no request is answered
    int max_connections = 256;
};

class HttpConnection final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(HttpConnection)

public:
    // Takes ownership of the socket.
    HttpConnection(QTcpSocket* socket, const HttpLimits& limits, QObject* parent = nullptr);
    ~HttpConnection() override;

    // One response per request, in order. A complete response:
    void respond(int status, const QByteArray& contentType, const QByteArray& body);
    // Or a streamed one: begin, any number of chunks, end.
    void beginStream(int status, const QByteArray& contentType);
    void writeChunk(const QByteArray& data);
    void endStream();
    bool isOpen() const;

Q_SIGNALS:
    void requestReady(const gander::server::HttpRequest& request);
    // The client went away (or the connection is being torn down); a request in flight is void.
    void closed();

private:
    void onReadyRead();
    void parse();
    // Answers a request that cannot be parsed and closes after the answer.
    void reject(int status, const QByteArray& message);
    void finishResponse();
    qsizetype bufferCap() const;

    QTcpSocket* m_socket;
    QTimer m_idle;
    HttpLimits m_limits;
    QByteArray m_buffer;
    HttpRequest m_request;
    qsizetype m_body_expected = -1; // -1: reading the head
    bool m_busy = false;            // a request is being answered
    bool m_close_after = false;
    bool m_closing = false;
    bool m_drain = false; // refused a request whose body may still be arriving
};

// The reason phrase of a status code.
QByteArray http_reason(int status);

} // namespace gander::server
