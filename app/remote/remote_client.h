// The remote backend: streamed chat completions from an OpenAI-compatible server elsewhere (vLLM,
// llama.cpp's server, or another Gander), for when one machine is not enough.
//
// Everything sent through this class leaves the computer unless the URL is a loopback one
// (sendsTextOffMachine()); the app marks the setting so and keeps it off by default. A remote
// server keeps no state of ours: each request carries the whole conversation, and the app's state
// saving does not apply.
//
// Threads: lives on one thread with an event loop (the GUI thread is fine: all I/O is
// asynchronous). One request at a time; chat() while busy cancels the previous one.
#pragma once

#include "sse_parser.h"

#include <QList>
#include <QNetworkReply>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <optional>

class QNetworkAccessManager;

namespace gander::remote {

struct RemoteEndpoint {
    QUrl base_url;   // e.g. http://gpu-box:8000/v1 (the part before /chat/completions)
    QString api_key; // sent as "Authorization: Bearer"; empty: no header
    QString model;   // the server's model id
};

struct RemoteMessage {
    QString role; // "system", "user" or "assistant"
    QString content;
};

struct RemoteParams {
    std::optional<double> temperature, top_p;
    std::optional<int> max_tokens;
    QStringList stop;
};

struct RemoteUsage {
    int prompt_tokens = 0, completion_tokens = 0; // 0 when the server did not say
};

class RemoteClient final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(RemoteClient)

public:
    explicit RemoteClient(QObject* parent = nullptr);
    ~RemoteClient() override;

    void setEndpoint(const RemoteEndpoint& endpoint) { m_endpoint = endpoint; }
    const RemoteEndpoint& endpoint() const { return m_endpoint; }
    // Seconds without a byte from the server before the request fails.
    void setIdleTimeout(int seconds) { m_idle_timeout_s = seconds; }

    void chat(const QList<RemoteMessage>& messages, const RemoteParams& params = {});
    void cancel(); // no signal follows for the cancelled request
    void listModels();
    bool isBusy() const { return m_reply != nullptr; }

    // False only for loopback hosts (localhost, 127.0.0.0/8, ::1).
    static bool sendsTextOffMachine(const QUrl& url);
    // The base URL from what a user typed: "gpu-box:8000" → http://gpu-box:8000/v1 (no path
    // means /v1). Invalid (isEmpty()) unless it is an http or https URL with a host.
    static QUrl baseUrlFromText(const QString& text);

Q_SIGNALS:
    void textReady(const QString& piece);
    void finished(const QString& finishReason, const gander::remote::RemoteUsage& usage);
    void failed(const QString& message, int httpStatus); // httpStatus 0: no HTTP answer
    void modelsListed(const QStringList& ids);

private:
    QUrl url(const QString& path) const;
    void onChatData();
    void onChatFinished();
    void handleEvent(const QByteArray& payload);
    void fail(const QString& message, int status);

    QNetworkAccessManager* m_network;
    RemoteEndpoint m_endpoint;
    int m_idle_timeout_s = 120;
    QPointer<QNetworkReply> m_reply;
    SseParser m_parser;
    QString m_finish_reason;
    RemoteUsage m_usage;
    bool m_done = false; // [DONE] or an error event seen
    int m_events = 0;    // events of the current stream so far
};

} // namespace gander::remote
