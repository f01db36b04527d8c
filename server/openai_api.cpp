// Request validation and response JSON for the OpenAI-compatible endpoints.
//
// Types are checked strictly (a string where a number belongs is a 400 naming the field), since a
// silently ignored field would make a client's settings do nothing. Fields we do not implement
// (logprobs, tools, user, ...) are ignored, as OpenAI-compatible local servers commonly do.
#include "openai_api.h"

#include "gander/chat.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonValue>

#include <cmath>

using namespace Qt::StringLiterals;

namespace gander::server {

namespace {

using Result = std::variant<ParsedRequest, ApiError>;

ApiError bad(const QString& message, const QString& param = {},
             const QString& code = QStringLiteral("invalid_value")) {
    ApiError e;
    e.message = message;
    e.param = param;
    e.code = code;
    return e;
}

ApiError wrong_type(const QString& key, const char* expected) {
    return bad(
        QStringLiteral("Invalid type for '%1': expected %2.").arg(key, QLatin1String(expected)),
        key, QStringLiteral("invalid_type"));
}

// A number field in [lo, hi]; absent or null leaves `out` alone.
std::optional<ApiError> read_number(const QJsonObject& o, const QString& key, double lo, double hi,
                                    float& out) {
    const QJsonValue v = o.value(key);
    if (v.isUndefined() || v.isNull()) return {};
    if (!v.isDouble()) return wrong_type(key, "a number");
    const double d = v.toDouble();
    if (!std::isfinite(d) || d < lo || d > hi)
        return bad(QStringLiteral("'%1' must be between %2 and %3.").arg(key).arg(lo).arg(hi), key);
    out = float(d);
    return {};
}

std::optional<ApiError> read_integer(const QJsonObject& o, const QString& key, double lo, double hi,
                                     std::optional<double>& out) {
    const QJsonValue v = o.value(key);
    if (v.isUndefined() || v.isNull()) return {};
    if (!v.isDouble() || std::floor(v.toDouble()) != v.toDouble())
        return wrong_type(key, "an integer");
    const double d = v.toDouble();
    if (d < lo || d > hi)
        return bad(QStringLiteral("'%1' must be between %2 and %3.")
                       .arg(key)
                       .arg(lo, 0, 'f', 0)
                       .arg(hi, 0, 'f', 0),
                   key);
    out = d;
    return {};
}

// Message content: a string, or an array of {"type": "text", "text": ...} parts.
std::optional<QString> content_text(const QJsonValue& v) {
    if (v.isString()) return v.toString();
    if (v.isNull() || v.isUndefined()) return QString();
    if (!v.isArray()) return std::nullopt;
    QString text;
    for (const QJsonValue& part : v.toArray()) {
        const QJsonObject p = part.toObject();
        if (!part.isObject() || p.value(u"type").toString() != u"text" ||
            !p.value(u"text").isString())
            return std::nullopt;
        text += p.value(u"text").toString();
    }
    return text;
}

std::optional<ApiError> read_messages(const QJsonObject& o, std::vector<ChatMessage>& out) {
    const QJsonValue v = o.value(u"messages");
    if (v.isUndefined())
        return bad(QStringLiteral("Missing required parameter: 'messages'."),
                   QStringLiteral("messages"), QStringLiteral("missing_required_parameter"));
    if (!v.isArray()) return wrong_type(QStringLiteral("messages"), "an array");
    const QJsonArray a = v.toArray();
    if (a.isEmpty())
        return bad(QStringLiteral("'messages' must not be empty."), QStringLiteral("messages"));
    for (qsizetype i = 0; i < a.size(); ++i) {
        const QString param = QStringLiteral("messages[%1]").arg(i);
        if (!a[i].isObject()) return wrong_type(param, "an object");
        const QJsonObject m = a[i].toObject();
        if (!m.value(u"role").isString()) return wrong_type(param + u".role"_s, "a string");
        const QString role = m.value(u"role").toString();
        ChatMessage msg{ChatRole::User, {}};
        if (role == u"system" || role == u"developer")
            msg.role = ChatRole::System;
        else if (role == u"user")
            msg.role = ChatRole::User;
        else if (role == u"assistant")
            msg.role = ChatRole::Assistant;
        else
            return bad(QStringLiteral("Invalid value for '%1.role': '%2'.").arg(param, role),
                       param + u".role"_s);
        const auto text = content_text(m.value(u"content"));
        if (!text) return wrong_type(param + u".content"_s, "a string or an array of text parts");
        msg.text = text->toStdString();
        out.push_back(std::move(msg));
    }
    return {};
}

std::optional<ApiError> read_stop(const QJsonObject& o, std::vector<std::string>& out) {
    const QJsonValue v = o.value(u"stop");
    if (v.isUndefined() || v.isNull()) return {};
    if (v.isString()) {
        out.push_back(v.toString().toStdString());
        return {};
    }
    if (!v.isArray()) return wrong_type(QStringLiteral("stop"), "a string or an array of strings");
    const QJsonArray a = v.toArray();
    if (a.size() > 4)
        return bad(QStringLiteral("'stop' takes at most 4 strings."), QStringLiteral("stop"));
    for (const QJsonValue& s : a) {
        if (!s.isString())
            return wrong_type(QStringLiteral("stop"), "a string or an array of strings");
        out.push_back(s.toString().toStdString());
    }
    return {};
}

Result parse_object(Endpoint endpoint, const QJsonObject& o, const QString& model_id,
                    const Tokenizer& tokenizer, const ApiLimits& limits) {
    ParsedRequest r;
    r.job = std::make_shared<Job>();
    Job& job = *r.job;

    const QJsonValue model = o.value(u"model");
    if (model.isUndefined())
        return bad(QStringLiteral("Missing required parameter: 'model'."), QStringLiteral("model"),
                   QStringLiteral("missing_required_parameter"));
    if (!model.isString()) return wrong_type(QStringLiteral("model"), "a string");
    if (model.toString() != model_id) {
        ApiError e = bad(QStringLiteral("The model '%1' does not exist; this server has '%2'.")
                             .arg(model.toString(), model_id),
                         QStringLiteral("model"), QStringLiteral("model_not_found"));
        e.status = 404;
        return e;
    }
    r.model = model_id;

    if (endpoint == Endpoint::Chat) {
        std::vector<ChatMessage> messages;
        if (auto e = read_messages(o, messages)) return *e;
        job.chat = true;
        job.prompt = format_chat_prompt(messages);
    } else {
        QJsonValue p = o.value(u"prompt");
        if (p.isArray() && p.toArray().size() == 1) p = p.toArray().at(0);
        if (p.isUndefined())
            return bad(QStringLiteral("Missing required parameter: 'prompt'."),
                       QStringLiteral("prompt"), QStringLiteral("missing_required_parameter"));
        if (!p.isString()) return wrong_type(QStringLiteral("prompt"), "a string");
        job.prompt = p.toString().toStdString();
        if (job.prompt.empty())
            return bad(QStringLiteral("'prompt' must not be empty."), QStringLiteral("prompt"));
    }

    const QJsonValue stream = o.value(u"stream");
    if (!stream.isUndefined() && !stream.isNull() && !stream.isBool())
        return wrong_type(QStringLiteral("stream"), "a boolean");
    r.stream = stream.toBool(false);
    const QJsonValue options = o.value(u"stream_options");
    if (options.isObject()) {
        const QJsonValue usage = options.toObject().value(u"include_usage");
        if (!usage.isUndefined() && !usage.isBool())
            return wrong_type(QStringLiteral("stream_options.include_usage"), "a boolean");
        r.include_usage = usage.toBool(false);
    } else if (!options.isUndefined() && !options.isNull()) {
        return wrong_type(QStringLiteral("stream_options"), "an object");
    }

    SamplerParams& sp = job.sampler;
    if (auto e = read_number(o, QStringLiteral("temperature"), 0, 2, sp.temperature)) return *e;
    if (auto e = read_number(o, QStringLiteral("top_p"), 0, 1, sp.top_p)) return *e;
    if (auto e = read_number(o, QStringLiteral("presence_penalty"), -2, 2, sp.presence_penalty))
        return *e;
    if (auto e = read_number(o, QStringLiteral("frequency_penalty"), -2, 2, sp.frequency_penalty))
        return *e;
    std::optional<double> top_k, seed, max_tokens, n;
    if (auto e = read_integer(o, QStringLiteral("top_k"), 0, 1e9, top_k)) return *e;
    if (auto e =
            read_integer(o, QStringLiteral("seed"), -9007199254740991.0, 9007199254740991.0, seed))
        return *e;
    if (auto e = read_integer(o, QStringLiteral("n"), 1, 1, n)) return *e;
    const QString max_key = o.contains(u"max_completion_tokens")
                                ? QStringLiteral("max_completion_tokens")
                                : QStringLiteral("max_tokens");
    if (auto e = read_integer(o, max_key, 1, limits.max_tokens, max_tokens)) return *e;
    if (top_k) sp.top_k = int(*top_k);
    if (seed) sp.seed = std::uint64_t(std::int64_t(*seed));
    job.max_tokens = max_tokens ? int(*max_tokens) : std::min(512, limits.max_tokens);
    if (auto e = read_stop(o, job.stop)) return *e;

    const QJsonValue bias = o.value(u"logit_bias");
    if (!bias.isUndefined() && !bias.isNull()) {
        if (!bias.isObject()) return wrong_type(QStringLiteral("logit_bias"), "an object");
        const QJsonObject b = bias.toObject();
        if (b.size() > 300)
            return bad(QStringLiteral("'logit_bias' takes at most 300 tokens."),
                       QStringLiteral("logit_bias"));
        for (auto it = b.begin(); it != b.end(); ++it) {
            bool ok = false;
            const int token = it.key().toInt(&ok);
            if (!ok || token < 0 || token >= tokenizer.vocab_size())
                return bad(QStringLiteral("'logit_bias' key '%1' is not a token id.").arg(it.key()),
                           QStringLiteral("logit_bias"));
            if (!it.value().isDouble())
                return wrong_type(QStringLiteral("logit_bias"), "an object of numbers");
            const double v = it.value().toDouble();
            if (v < -100 || v > 100)
                return bad(QStringLiteral("'logit_bias' values must be between -100 and 100."),
                           QStringLiteral("logit_bias"));
            job.logit_bias.emplace_back(token, float(v));
        }
    }

    const QJsonValue session = o.value(u"session");
    if (!session.isUndefined() && !session.isNull()) {
        if (!session.isString()) return wrong_type(QStringLiteral("session"), "a string");
        const QString s = session.toString();
        if (s.isEmpty() || s.size() > 128)
            return bad(QStringLiteral("'session' must be 1 to 128 characters."),
                       QStringLiteral("session"));
        job.session = s.toStdString();
    }

    const std::size_t prompt_tokens = tokenizer.encode(job.prompt).size();
    if (prompt_tokens > std::size_t(limits.max_prompt_tokens))
        return bad(QStringLiteral("The prompt has %1 tokens; this server takes at most %2.")
                       .arg(prompt_tokens)
                       .arg(limits.max_prompt_tokens),
                   endpoint == Endpoint::Chat ? QStringLiteral("messages")
                                              : QStringLiteral("prompt"),
                   QStringLiteral("context_length_exceeded"));
    return r;
}

QJsonObject usage_json(const JobEvent& done) {
    return QJsonObject{
        {u"prompt_tokens"_s, done.prompt_tokens},
        {u"completion_tokens"_s, done.completion_tokens},
        {u"total_tokens"_s, done.prompt_tokens + done.completion_tokens},
        {u"prompt_tokens_details"_s, QJsonObject{{u"cached_tokens"_s, done.cached_tokens}}}};
}

QJsonValue reason_json(const QString& reason) {
    return reason.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(reason);
}

} // namespace

QByteArray ApiError::toJson() const {
    auto or_null = [](const QString& s) {
        return s.isEmpty() ? QJsonValue(QJsonValue::Null) : QJsonValue(s);
    };
    const QJsonObject error{{u"message"_s, message},
                            {u"type"_s, type},
                            {u"param"_s, or_null(param)},
                            {u"code"_s, or_null(code)}};
    return QJsonDocument(QJsonObject{{u"error"_s, error}}).toJson(QJsonDocument::Compact);
}

std::variant<ParsedRequest, ApiError> parse_request(Endpoint endpoint, const QByteArray& body,
                                                    const QString& model_id,
                                                    const Tokenizer& tokenizer,
                                                    const ApiLimits& limits) {
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(body, &err);
    if (err.error != QJsonParseError::NoError)
        return bad(
            QStringLiteral("We could not parse the JSON body of your request (%1 at offset %2).")
                .arg(err.errorString())
                .arg(err.offset),
            {}, QStringLiteral("invalid_json"));
    if (!doc.isObject())
        return bad(QStringLiteral("The request body must be a JSON object."), {},
                   QStringLiteral("invalid_json"));
    try {
        return parse_object(endpoint, doc.object(), model_id, tokenizer, limits);
    } catch (const std::exception& e) {
        return bad(QString::fromUtf8(e.what()));
    }
}

QByteArray completion_json(Endpoint endpoint, const QString& id, const QString& model,
                           qint64 created, const QString& text, const JobEvent& done) {
    QJsonObject choice{
        {u"index"_s, 0},
        {u"finish_reason"_s, reason_json(QString::fromStdString(done.finish_reason))},
        {u"logprobs"_s, QJsonValue::Null}};
    if (endpoint == Endpoint::Chat)
        choice.insert(u"message"_s, QJsonObject{{u"role"_s, u"assistant"_s}, {u"content"_s, text}});
    else
        choice.insert(u"text"_s, text);
    const QJsonObject o{
        {u"id"_s, id},
        {u"object"_s, endpoint == Endpoint::Chat ? u"chat.completion"_s : u"text_completion"_s},
        {u"created"_s, created},
        {u"model"_s, model},
        {u"choices"_s, QJsonArray{choice}},
        {u"usage"_s, usage_json(done)}};
    return QJsonDocument(o).toJson(QJsonDocument::Compact);
}

QByteArray stream_event(Endpoint endpoint, const QString& id, const QString& model, qint64 created,
                        const QString& text, const QString& finish_reason, bool first,
                        const JobEvent* usage) {
    QJsonArray choices;
    if (!usage) {
        QJsonObject choice{{u"index"_s, 0},
                           {u"finish_reason"_s, reason_json(finish_reason)},
                           {u"logprobs"_s, QJsonValue::Null}};
        if (endpoint == Endpoint::Chat) {
            QJsonObject delta;
            if (first) delta.insert(u"role"_s, u"assistant"_s);
            if (!text.isEmpty() || (first && finish_reason.isEmpty()))
                delta.insert(u"content"_s, text);
            choice.insert(u"delta"_s, delta);
        } else {
            choice.insert(u"text"_s, text);
        }
        choices.append(choice);
    }
    QJsonObject o{{u"id"_s, id},
                  {u"object"_s,
                   endpoint == Endpoint::Chat ? u"chat.completion.chunk"_s : u"text_completion"_s},
                  {u"created"_s, created},
                  {u"model"_s, model},
                  {u"choices"_s, choices}};
    if (usage) o.insert(u"usage"_s, usage_json(*usage));
    return "data: " + QJsonDocument(o).toJson(QJsonDocument::Compact) + "\n\n";
}

QByteArray model_json(const QString& model_id, qint64 created) {
    return QJsonDocument(QJsonObject{{u"id"_s, model_id},
                                     {u"object"_s, u"model"_s},
                                     {u"created"_s, created},
                                     {u"owned_by"_s, u"gander"_s}})
        .toJson(QJsonDocument::Compact);
}

QByteArray models_json(const QString& model_id, qint64 created) {
    const QJsonObject m = QJsonDocument::fromJson(model_json(model_id, created)).object();
    return QJsonDocument(QJsonObject{{u"object"_s, u"list"_s}, {u"data"_s, QJsonArray{m}}})
        .toJson(QJsonDocument::Compact);
}

} // namespace gander::server
