// The OpenAI-compatible request and response shapes: parsing a request body into a Job, with
// strict type checks, and writing completions, stream chunks and errors as JSON.
#pragma once

#include "scheduler.h"

#include <QByteArray>
#include <QString>

#include <memory>
#include <optional>
#include <variant>

namespace gander::server {

// An error as OpenAI writes it: {"error": {"message", "type", "param", "code"}}.
struct ApiError {
    int status = 400;
    QString message;
    QString type = QStringLiteral("invalid_request_error");
    QString param; // empty: null
    QString code;  // empty: null
    QByteArray toJson() const;
};

struct ApiLimits {
    int max_prompt_tokens = 32768;
    int max_tokens = 4096; // per request
};

enum class Endpoint { Chat, Completion };

struct ParsedRequest {
    std::shared_ptr<Job> job;
    bool stream = false;
    bool include_usage = false; // stream_options.include_usage
    QString model;
};

// Parses and validates a body for `endpoint`. `model_id` is the one model served. Prompt tokens
// are counted with `tokenizer` to enforce the limit before anything is queued.
std::variant<ParsedRequest, ApiError> parse_request(Endpoint endpoint, const QByteArray& body,
                                                    const QString& model_id,
                                                    const Tokenizer& tokenizer,
                                                    const ApiLimits& limits);

// Non-streamed answer.
QByteArray completion_json(Endpoint endpoint, const QString& id, const QString& model,
                           qint64 created, const QString& text, const JobEvent& done);
// One SSE event ("data: {...}\n\n") carrying a piece of text, the finish reason (text empty,
// reason set), or, when usage is set, only the usage (choices empty).
QByteArray stream_event(Endpoint endpoint, const QString& id, const QString& model, qint64 created,
                        const QString& text, const QString& finish_reason, bool first,
                        const JobEvent* usage = nullptr);
QByteArray models_json(const QString& model_id, qint64 created);
QByteArray model_json(const QString& model_id, qint64 created);

} // namespace gander::server
