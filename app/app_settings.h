// The user's settings, with their defaults, over QSettings. Read and written on the GUI thread.
#pragma once

#include "engine_worker.h"

#include <QSettings>
#include <QString>

#include <memory>

namespace gander::app {

enum class Theme { System, Light, Dark };

class AppSettings final {
public:
    // `file` empty: the platform's usual place; tests pass an INI file in a temporary folder.
    explicit AppSettings(const QString& file = {});
    Q_DISABLE_COPY_MOVE(AppSettings)

    QString modelPath() const;
    void setModelPath(const QString& path);
    QString backend() const; // auto, cpu, cuda
    void setBackend(const QString& backend);
    QString precision() const; // "" (backend's choice), fp32, fp16, bf16, int8, int4
    void setPrecision(const QString& precision);
    QString vocabPath() const;
    void setVocabPath(const QString& path);
    int threads() const;
    void setThreads(int threads);

    Sampling sampling() const;
    void setSampling(const Sampling& sampling);
    int maxReplyTokens() const;
    void setMaxReplyTokens(int tokens);
    QString systemPrompt() const;
    void setSystemPrompt(const QString& prompt);
    // The most tokens a codebase's context may add to a question (ingest/codeBudgetTokens).
    int codeBudgetTokens() const;
    void setCodeBudgetTokens(int tokens);

    Theme theme() const;
    void setTheme(Theme theme);
    // Where the chat database lives; defaults to the platform's application data folder.
    QString dataDir() const;
    void setDataDir(const QString& dir);
    QString databasePath() const;

    ModelRequest modelRequest() const;

    // The local OpenAI-compatible server (docs/server.md): off unless the user turns it on.
    // server/... keys, read by gander::server::server_options_from_settings() too.
    bool serverEnabled() const;
    void setServerEnabled(bool enabled);
    int serverPort() const; // default 8089
    void setServerPort(int port);
    QString serverApiKey() const; // empty: no key asked
    void setServerApiKey(const QString& key);

    // The remote backend: an OpenAI-compatible server elsewhere answers instead of the engine.
    // Off unless the user turns it on; the text of every conversation sent goes to that server.
    bool remoteEnabled() const;
    void setRemoteEnabled(bool enabled);
    QString remoteUrl() const; // the base URL, e.g. http://gpu-box:8000/v1
    void setRemoteUrl(const QString& url);
    QString remoteApiKey() const;
    void setRemoteApiKey(const QString& key);
    QString remoteModel() const;
    void setRemoteModel(const QString& model);
    // Set once the user has confirmed, the first time, that text will leave the computer.
    bool remoteConfirmed() const;
    void setRemoteConfirmed(bool confirmed);
    // Seconds without a byte from the remote server before a reply fails (default 120).
    int remoteTimeout() const;
    void setRemoteTimeout(int seconds);

    // The store itself, for readers that share its keys (the local server's options).
    const QSettings& store() const { return *m_settings; }
    void sync() { m_settings->sync(); }

private:
    std::unique_ptr<QSettings> m_settings;
};

} // namespace gander::app
