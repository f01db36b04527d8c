#include "app_settings.h"

#include <retriever.h>

#include <QCoreApplication>
#include <QDir>
#include <QStandardPaths>

using namespace Qt::StringLiterals;

namespace gander::app {

AppSettings::AppSettings(const QString& file)
    : m_settings(file.isEmpty() ? std::make_unique<QSettings>()
                                : std::make_unique<QSettings>(file, QSettings::IniFormat)) {}

QString AppSettings::modelPath() const {
    return m_settings->value(u"model/path"_s).toString();
}
void AppSettings::setModelPath(const QString& path) {
    m_settings->setValue(u"model/path"_s, path);
}
QString AppSettings::backend() const {
    return m_settings->value(u"model/backend"_s, u"auto"_s).toString();
}
void AppSettings::setBackend(const QString& b) {
    m_settings->setValue(u"model/backend"_s, b);
}
QString AppSettings::precision() const {
    return m_settings->value(u"model/precision"_s).toString();
}
void AppSettings::setPrecision(const QString& p) {
    m_settings->setValue(u"model/precision"_s, p);
}
QString AppSettings::vocabPath() const {
    return m_settings->value(u"model/vocab"_s).toString();
}
void AppSettings::setVocabPath(const QString& p) {
    m_settings->setValue(u"model/vocab"_s, p);
}
int AppSettings::threads() const {
    return m_settings->value(u"model/threads"_s, 0).toInt();
}
void AppSettings::setThreads(int t) {
    m_settings->setValue(u"model/threads"_s, t);
}

Sampling AppSettings::sampling() const {
    const Sampling d; // the RWKV G1 chat defaults
    Sampling s;
    s.temperature = m_settings->value(u"sampling/temperature"_s, d.temperature).toDouble();
    s.topP = m_settings->value(u"sampling/top_p"_s, d.topP).toDouble();
    s.topK = m_settings->value(u"sampling/top_k"_s, d.topK).toInt();
    s.presencePenalty = m_settings->value(u"sampling/presence"_s, d.presencePenalty).toDouble();
    s.frequencyPenalty = m_settings->value(u"sampling/frequency"_s, d.frequencyPenalty).toDouble();
    s.penaltyDecay = m_settings->value(u"sampling/decay"_s, d.penaltyDecay).toDouble();
    s.seed = m_settings->value(u"sampling/seed"_s, d.seed).toULongLong();
    return s;
}

void AppSettings::setSampling(const Sampling& s) {
    m_settings->setValue(u"sampling/temperature"_s, s.temperature);
    m_settings->setValue(u"sampling/top_p"_s, s.topP);
    m_settings->setValue(u"sampling/top_k"_s, s.topK);
    m_settings->setValue(u"sampling/presence"_s, s.presencePenalty);
    m_settings->setValue(u"sampling/frequency"_s, s.frequencyPenalty);
    m_settings->setValue(u"sampling/decay"_s, s.penaltyDecay);
    m_settings->setValue(u"sampling/seed"_s, s.seed);
}

int AppSettings::maxReplyTokens() const {
    return m_settings->value(u"sampling/max_tokens"_s, 1024).toInt();
}
void AppSettings::setMaxReplyTokens(int t) {
    m_settings->setValue(u"sampling/max_tokens"_s, t);
}
QString AppSettings::systemPrompt() const {
    return m_settings->value(u"chat/system_prompt"_s).toString();
}
void AppSettings::setSystemPrompt(const QString& p) {
    m_settings->setValue(u"chat/system_prompt"_s, p);
}

int AppSettings::codeBudgetTokens() const {
    const int tokens =
        m_settings->value(u"ingest/codeBudgetTokens"_s, ingest::kDefaultCodeBudget).toInt();
    return tokens > 0 ? tokens : ingest::kDefaultCodeBudget; // a damaged value is not a budget
}
void AppSettings::setCodeBudgetTokens(int tokens) {
    m_settings->setValue(u"ingest/codeBudgetTokens"_s, tokens);
}

Theme AppSettings::theme() const {
    const QString t = m_settings->value(u"ui/theme"_s, u"system"_s).toString();
    if (t == "light"_L1) return Theme::Light;
    if (t == "dark"_L1) return Theme::Dark;
    return Theme::System;
}

void AppSettings::setTheme(Theme theme) {
    const char* names[] = {"system", "light", "dark"};
    m_settings->setValue(u"ui/theme"_s, QString::fromLatin1(names[int(theme)]));
}

QString AppSettings::dataDir() const {
    const QString dir = m_settings->value(u"data/dir"_s).toString();
    if (!dir.isEmpty()) return dir;
    return QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
}
void AppSettings::setDataDir(const QString& dir) {
    m_settings->setValue(u"data/dir"_s, dir);
}
QString AppSettings::databasePath() const {
    return QDir(dataDir()).filePath(u"gander.db"_s);
}

ModelRequest AppSettings::modelRequest() const {
    ModelRequest r;
    r.path = modelPath();
    r.backend = backend();
    r.precision = precision();
    r.threads = threads();
    r.vocabPath = vocabPath();
    r.vocabSearchDirs = {dataDir(), QCoreApplication::applicationDirPath(),
                         QCoreApplication::applicationDirPath() + u"/../share/gander"_s};
    // The first int8/int4 load of a model converts it (minutes for 7B); later loads read this.
    r.weightCacheDir = QDir(dataDir()).filePath(u"weights"_s);
    return r;
}

bool AppSettings::serverEnabled() const {
    return m_settings->value(u"server/enabled"_s, false).toBool();
}
void AppSettings::setServerEnabled(bool enabled) {
    m_settings->setValue(u"server/enabled"_s, enabled);
}
int AppSettings::serverPort() const {
    const int port = m_settings->value(u"server/port"_s, 8089).toInt();
    return port >= 1 && port <= 65535 ? port : 8089;
}
void AppSettings::setServerPort(int port) {
    m_settings->setValue(u"server/port"_s, port);
}
QString AppSettings::serverApiKey() const {
    return m_settings->value(u"server/api_key"_s).toString();
}
void AppSettings::setServerApiKey(const QString& key) {
    m_settings->setValue(u"server/api_key"_s, key);
}

bool AppSettings::remoteEnabled() const {
    return m_settings->value(u"remote/enabled"_s, false).toBool();
}
void AppSettings::setRemoteEnabled(bool enabled) {
    m_settings->setValue(u"remote/enabled"_s, enabled);
}
QString AppSettings::remoteUrl() const {
    return m_settings->value(u"remote/url"_s).toString();
}
void AppSettings::setRemoteUrl(const QString& url) {
    m_settings->setValue(u"remote/url"_s, url);
}
QString AppSettings::remoteApiKey() const {
    return m_settings->value(u"remote/api_key"_s).toString();
}
void AppSettings::setRemoteApiKey(const QString& key) {
    m_settings->setValue(u"remote/api_key"_s, key);
}
QString AppSettings::remoteModel() const {
    return m_settings->value(u"remote/model"_s).toString();
}
void AppSettings::setRemoteModel(const QString& model) {
    m_settings->setValue(u"remote/model"_s, model);
}
bool AppSettings::remoteConfirmed() const {
    return m_settings->value(u"remote/confirmed"_s, false).toBool();
}
void AppSettings::setRemoteConfirmed(bool confirmed) {
    m_settings->setValue(u"remote/confirmed"_s, confirmed);
}
int AppSettings::remoteTimeout() const {
    return qBound(1, m_settings->value(u"remote/timeout_s"_s, 120).toInt(), 3600);
}
void AppSettings::setRemoteTimeout(int seconds) {
    m_settings->setValue(u"remote/timeout_s"_s, seconds);
}

} // namespace gander::app
