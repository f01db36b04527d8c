#include "settings_network.h"

#include "remote_chat.h"
#include "remote_client.h"
#include "server_control.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;
using gander::app::AppSettings;
using gander::remote::RemoteClient;
using gander::server::ServerControl;

namespace gander::ui {

namespace {

// A secret's field: masked, with a Show/Hide toggle (and any further buttons) beside it.
QWidget* secretRow(QLineEdit* edit, QToolButton** reveal, const QString& name,
                   QList<QWidget*> more = {}) {
    auto* row = new QWidget;
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    edit->setEchoMode(QLineEdit::Password);
    auto* button = new QToolButton(row);
    button->setObjectName(name);
    button->setText(QObject::tr("Show"));
    button->setCheckable(true);
    button->setToolTip(QObject::tr("Show or hide the key"));
    QObject::connect(button, &QToolButton::toggled, edit, [edit, button](bool shown) {
        edit->setEchoMode(shown ? QLineEdit::Normal : QLineEdit::Password);
        button->setText(shown ? QObject::tr("Hide") : QObject::tr("Show"));
    });
    layout->addWidget(edit, 1);
    layout->addWidget(button);
    for (QWidget* w : more) layout->addWidget(w);
    *reveal = button;
    return row;
}

QLabel* note(const QString& text) {
    auto* label = new QLabel(text);
    label->setWordWrap(true);
    label->setEnabled(false); // the palette's quieter colour
    return label;
}

} // namespace

// --- the local API server -------------------------------------------------------------------

ServerSettingsPage::ServerSettingsPage(AppSettings* settings, QWidget* parent)
    : QWidget(parent), m_settings(settings),
      m_enabled(new QCheckBox(tr("Serve the model to other programs on this computer"))),
      m_port(new QSpinBox), m_key(new QLineEdit), m_address(new QLabel), m_status(new QLabel) {
    m_enabled->setObjectName(u"serverEnabled"_s);
    m_port->setObjectName(u"serverPort"_s);
    m_key->setObjectName(u"serverKey"_s);
    m_address->setObjectName(u"serverAddress"_s);
    m_status->setObjectName(u"serverStatus"_s);

    auto* form = new QFormLayout(this);
    form->addRow(note(tr("An OpenAI-compatible API for editors, scripts and agents, with the "
                         "model chosen on the Model page (the server loads its own copy of it). "
                         "It is off unless you turn it on here.")));
    form->addRow(m_enabled);
    m_port->setRange(1024, 65535);
    form->addRow(tr("Port:"), m_port);
    auto* generate = new QPushButton(tr("Generate"));
    generate->setObjectName(u"serverKeyGenerate"_s);
    generate->setToolTip(tr("A new random key (the old one stops working once applied)"));
    connect(generate, &QPushButton::clicked, this, [this] { m_key->setText(generateKey()); });
    m_key->setPlaceholderText(tr("None: any program on this computer may use it"));
    form->addRow(tr("API key:"), secretRow(m_key, &m_reveal, u"serverKeyReveal"_s, {generate}));
    m_address->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(tr("Address:"), m_address);
    form->addRow(QString(), note(tr("It listens on 127.0.0.1 only: other computers cannot "
                                    "connect. Programs send the key as \"Authorization: Bearer "
                                    "KEY\".")));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    form->addRow(tr("Status:"), m_status);
    connect(m_port, &QSpinBox::valueChanged, this, &ServerSettingsPage::showAddress);
    connect(m_enabled, &QCheckBox::toggled, this, &ServerSettingsPage::showStatus);
    load();
}

QString ServerSettingsPage::generateKey() {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    QString key;
    for (int i = 0; i < 32; ++i)
        key += QLatin1Char(kAlphabet[QRandomGenerator::system()->bounded(62)]);
    return key;
}

void ServerSettingsPage::setControl(ServerControl* control) {
    if (m_control) m_control->disconnect(this);
    m_control = control;
    if (m_control)
        connect(m_control, &ServerControl::stateChanged, this, &ServerSettingsPage::showStatus);
    showStatus();
}

void ServerSettingsPage::showAddress() {
    m_address->setText(u"http://127.0.0.1:%1/v1"_s.arg(m_port->value()));
}

void ServerSettingsPage::showStatus() {
    QString text = m_control ? m_control->statusText() : tr("Applies when the settings are saved");
    const bool failed = m_control && m_control->state() == ServerControl::State::Failed;
    const bool on = m_control && m_control->state() != ServerControl::State::Off;
    if (m_enabled->isChecked() != on && m_control)
        text += tr(" (press Apply or OK to turn it %1)")
                    .arg(m_enabled->isChecked() ? tr("on") : tr("off"));
    m_status->setText(text);
    m_status->setStyleSheet(failed ? u"color: #b3261e;"_s : QString());
}

void ServerSettingsPage::load() {
    m_enabled->setChecked(m_settings->serverEnabled());
    m_port->setValue(m_settings->serverPort());
    m_key->setText(m_settings->serverApiKey());
    showAddress();
    showStatus();
}

void ServerSettingsPage::save() {
    m_settings->setServerEnabled(m_enabled->isChecked());
    m_settings->setServerPort(m_port->value());
    m_settings->setServerApiKey(m_key->text().trimmed());
}

// --- the remote backend ---------------------------------------------------------------------

RemoteSettingsPage::RemoteSettingsPage(AppSettings* settings, QWidget* parent)
    : QWidget(parent), m_settings(settings), m_warning(new QLabel),
      m_enabled(new QCheckBox(tr("Use a remote server instead of the model on this computer"))),
      m_url(new QLineEdit), m_key(new QLineEdit), m_model(new QComboBox),
      m_fetch(new QPushButton(tr("Fetch models"))), m_fetchStatus(new QLabel) {
    m_warning->setObjectName(u"remoteWarning"_s);
    m_enabled->setObjectName(u"remoteEnabled"_s);
    m_url->setObjectName(u"remoteUrl"_s);
    m_key->setObjectName(u"remoteKey"_s);
    m_model->setObjectName(u"remoteModel"_s);
    m_fetch->setObjectName(u"remoteFetch"_s);
    m_fetchStatus->setObjectName(u"remoteFetchStatus"_s);

    auto* form = new QFormLayout(this);
    m_warning->setWordWrap(true);
    form->addRow(m_warning);
    form->addRow(m_enabled);
    m_url->setPlaceholderText(u"http://gpu-box:8000/v1"_s);
    form->addRow(tr("Server address:"), m_url);
    QToolButton* reveal = nullptr;
    m_key->setPlaceholderText(tr("None"));
    form->addRow(tr("API key:"), secretRow(m_key, &reveal, u"remoteKeyReveal"_s));
    m_model->setEditable(true);
    m_model->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    auto* modelRow = new QWidget;
    auto* modelLayout = new QHBoxLayout(modelRow);
    modelLayout->setContentsMargins(0, 0, 0, 0);
    modelLayout->addWidget(m_model, 1);
    modelLayout->addWidget(m_fetch);
    form->addRow(tr("Model:"), modelRow);
    m_fetchStatus->setWordWrap(true);
    form->addRow(QString(), m_fetchStatus);
    form->addRow(note(tr("Any OpenAI-compatible server works: vLLM, llama.cpp's server, or "
                         "Gander's own on another machine. Conversation states are not saved "
                         "with a remote server: it is sent the whole conversation with every "
                         "message. The chat history stays in this computer's database.")));
    connect(m_enabled, &QCheckBox::toggled, this, &RemoteSettingsPage::onEnabledToggled);
    connect(m_url, &QLineEdit::textChanged, this, &RemoteSettingsPage::showWarning);
    connect(m_fetch, &QPushButton::clicked, this, &RemoteSettingsPage::fetchModels);
    load();
}

void RemoteSettingsPage::showWarning() {
    const QUrl url = RemoteClient::baseUrlFromText(m_url->text());
    if (!url.isEmpty() && !RemoteClient::sendsTextOffMachine(url)) {
        m_warning->setText(tr("This address is on this computer (loopback): your text stays "
                              "here."));
        m_warning->setStyleSheet(u"padding: 8px; border-radius: 6px;"_s);
        return;
    }
    m_warning->setText(tr("Sends your text off this computer. While this is on, every message "
                          "you send goes to the server below, with the whole conversation "
                          "before it and the documents attached to it."));
    m_warning->setStyleSheet(
        u"background: #fdecea; color: #611a15; padding: 8px; border-radius: 6px;"_s);
}

void RemoteSettingsPage::onEnabledToggled(bool on) {
    if (!on || m_confirmed) return;
    // The first time: ask, and leave the box unticked unless the user agrees.
    {
        const QSignalBlocker block(m_enabled);
        m_enabled->setChecked(false);
    }
    if (m_confirmation) return;
    const QUrl url = RemoteClient::baseUrlFromText(m_url->text());
    const QString where = url.isEmpty() ? tr("the server you set here") : url.host();
    m_confirmation = new QMessageBox(
        QMessageBox::Warning, tr("Send your text to another server?"),
        tr("With the remote server on, each message you send goes to %1, with the whole "
           "conversation before it and any documents attached to it. Whoever runs that server "
           "can read it.\n\nThe model on this computer is not used, and conversation states are "
           "not saved.")
            .arg(where),
        QMessageBox::NoButton, this);
    m_confirmation->setObjectName(u"remoteConfirm"_s);
    QPushButton* yes =
        m_confirmation->addButton(tr("Use the remote server"), QMessageBox::AcceptRole);
    yes->setObjectName(u"remoteConfirmYes"_s);
    m_confirmation->addButton(QMessageBox::Cancel);
    m_confirmation->setDefaultButton(QMessageBox::Cancel);
    m_confirmation->setAttribute(Qt::WA_DeleteOnClose);
    connect(m_confirmation, &QMessageBox::finished, this, [this, box = m_confirmation, yes] {
        const bool agreed = box->clickedButton() == yes;
        m_confirmation = nullptr;
        if (!agreed) return;
        m_confirmed = true;
        m_enabled->setChecked(true);
    });
    m_confirmation->open();
}

void RemoteSettingsPage::fetchModels() {
    const QUrl url = RemoteClient::baseUrlFromText(m_url->text());
    if (url.isEmpty()) {
        m_fetchStatus->setText(tr("Enter the server's address first (http://host:port/v1)."));
        return;
    }
    if (!m_lister) {
        m_lister = new RemoteClient(this);
        m_lister->setIdleTimeout(15);
        connect(m_lister, &RemoteClient::modelsListed, this, [this](const QStringList& ids) {
            m_fetch->setEnabled(true);
            const QString current = m_model->currentText();
            m_model->clear();
            m_model->addItems(ids);
            const int keep = int(ids.indexOf(current));
            if (keep >= 0)
                m_model->setCurrentIndex(keep);
            else if (ids.isEmpty())
                m_model->setEditText(current);
            m_fetchStatus->setText(ids.isEmpty() ? tr("The server lists no models.")
                                   : ids.size() == 1
                                       ? tr("1 model on the server.")
                                       : tr("%1 models on the server.").arg(ids.size()));
        });
        connect(m_lister, &RemoteClient::failed, this, [this](const QString& message, int status) {
            m_fetch->setEnabled(true);
            m_fetchStatus->setText(gander::app::RemoteChat::describeFailure(
                m_lister->endpoint().base_url, message, status));
        });
    }
    m_lister->setEndpoint({url, m_key->text().trimmed(), {}});
    m_fetch->setEnabled(false);
    m_fetchStatus->setText(tr("Asking %1…").arg(url.toString()));
    m_lister->listModels();
}

void RemoteSettingsPage::load() {
    m_confirmed = m_settings->remoteConfirmed();
    {
        const QSignalBlocker block(m_enabled);
        m_enabled->setChecked(m_settings->remoteEnabled());
    }
    m_url->setText(m_settings->remoteUrl());
    m_key->setText(m_settings->remoteApiKey());
    m_model->setEditText(m_settings->remoteModel());
    showWarning();
}

void RemoteSettingsPage::save() {
    m_settings->setRemoteEnabled(m_enabled->isChecked());
    if (m_enabled->isChecked()) m_settings->setRemoteConfirmed(true);
    m_settings->setRemoteUrl(m_url->text().trimmed());
    m_settings->setRemoteApiKey(m_key->text().trimmed());
    m_settings->setRemoteModel(m_model->currentText().trimmed());
}

} // namespace gander::ui
