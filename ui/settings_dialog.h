// Settings: model (file, backend, precision, vocabulary, threads), sampling (RWKV G1 defaults),
// system prompt, theme, data folder, the local API server and the remote backend
// (settings_network.h). Reads and writes AppSettings; applying is the caller's job, on applied().
#pragma once

#include "app_settings.h"

#include <QDialog>

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace gander::server {
class ServerControl;
}

namespace gander::ui {

class RemoteSettingsPage;
class ServerSettingsPage;

class SettingsDialog final : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(gander::app::AppSettings* settings, QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(SettingsDialog)

    // Writes the fields to the settings.
    void save();
    // The local server the API page shows the state of (optional).
    void setServerControl(gander::server::ServerControl* control);
    ServerSettingsPage* serverPage() const { return m_serverPage; }
    RemoteSettingsPage* remotePage() const { return m_remotePage; }

signals:
    // Apply or OK was pressed: the fields are saved; the caller applies them.
    void applied();

private:
    void load();
    void showSampling(const gander::app::Sampling& s);

    gander::app::AppSettings* m_settings;
    QLineEdit* m_model;
    QComboBox* m_backend;
    QComboBox* m_precision;
    QLineEdit* m_vocab;
    QSpinBox* m_threads;
    QDoubleSpinBox* m_temperature;
    QDoubleSpinBox* m_topP;
    QSpinBox* m_topK;
    QDoubleSpinBox* m_presence;
    QDoubleSpinBox* m_frequency;
    QDoubleSpinBox* m_decay;
    QSpinBox* m_maxTokens;
    QPlainTextEdit* m_systemPrompt;
    QComboBox* m_theme;
    QLineEdit* m_dataDir;
    ServerSettingsPage* m_serverPage;
    RemoteSettingsPage* m_remotePage;
    QSpinBox* m_codeBudget;
};

} // namespace gander::ui
