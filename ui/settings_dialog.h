// Settings: model (file, backend, precision, vocabulary, threads), sampling (RWKV G1 defaults),
// system prompt, theme, data folder. Reads and writes AppSettings; applying is the caller's job.
#pragma once

#include "app_settings.h"

#include <QDialog>

class QComboBox;
class QDoubleSpinBox;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace gander::ui {

class SettingsDialog final : public QDialog {
    Q_OBJECT
public:
    explicit SettingsDialog(gander::app::AppSettings* settings, QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(SettingsDialog)

    // Writes the fields to the settings.
    void save();

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
};

} // namespace gander::ui
