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

    Theme theme() const;
    void setTheme(Theme theme);
    // Where the chat database lives; defaults to the platform's application data folder.
    QString dataDir() const;
    void setDataDir(const QString& dir);
    QString databasePath() const;

    ModelRequest modelRequest() const;
    void sync() { m_settings->sync(); }

private:
    std::unique_ptr<QSettings> m_settings;
};

} // namespace gander::app
