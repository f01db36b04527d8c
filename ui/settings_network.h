// The settings dialog's two network pages: the local API server (other programs on this
// computer use the model) and the remote backend (a server elsewhere answers instead of the
// model here). Each reads and writes its keys of AppSettings; applying them is the window's job.
#pragma once

#include "app_settings.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QMessageBox;
class QPushButton;
class QSpinBox;
class QToolButton;

namespace gander::remote {
class RemoteClient;
}
namespace gander::server {
class ServerControl;
}

namespace gander::ui {

class ServerSettingsPage final : public QWidget {
    Q_OBJECT
public:
    explicit ServerSettingsPage(gander::app::AppSettings* settings, QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(ServerSettingsPage)

    void load();
    void save();
    // The running server, whose state the status line shows (none: "applies after OK").
    void setControl(gander::server::ServerControl* control);
    // A new random key: 32 characters of [A-Za-z0-9], from the system's random source.
    static QString generateKey();

private:
    void showAddress();
    void showStatus();

    gander::app::AppSettings* m_settings;
    gander::server::ServerControl* m_control = nullptr;
    QCheckBox* m_enabled;
    QSpinBox* m_port;
    QLineEdit* m_key;
    QToolButton* m_reveal;
    QLabel* m_address;
    QLabel* m_status;
};

class RemoteSettingsPage final : public QWidget {
    Q_OBJECT
public:
    explicit RemoteSettingsPage(gander::app::AppSettings* settings, QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(RemoteSettingsPage)

    void load();
    void save();
    // The question asked the first time the remote server is turned on (null when not showing).
    QMessageBox* confirmation() const { return m_confirmation; }

private:
    void onEnabledToggled(bool on);
    void showWarning();
    void fetchModels();

    gander::app::AppSettings* m_settings;
    gander::remote::RemoteClient* m_lister = nullptr; // made on the first "Fetch models"
    QLabel* m_warning;
    QCheckBox* m_enabled;
    QLineEdit* m_url;
    QLineEdit* m_key;
    QComboBox* m_model;
    QPushButton* m_fetch;
    QLabel* m_fetchStatus;
    QMessageBox* m_confirmation = nullptr;
    bool m_confirmed = false; // the user agreed, now or before
};

} // namespace gander::ui
