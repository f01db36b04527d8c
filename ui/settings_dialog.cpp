#include "settings_dialog.h"

#include "model_files.h"
#include "settings_network.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;
using namespace gander::app;

namespace gander::ui {

namespace {

QWidget* withBrowse(QLineEdit* edit, const std::function<void()>& browse, QWidget* parent) {
    auto* row = new QWidget(parent);
    auto* layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* button = new QPushButton(QObject::tr("Browse…"), row);
    layout->addWidget(edit, 1);
    layout->addWidget(button);
    QObject::connect(button, &QPushButton::clicked, row, browse);
    return row;
}

QDoubleSpinBox* spin(double min, double max, double step, int decimals) {
    auto* s = new QDoubleSpinBox;
    s->setRange(min, max);
    s->setSingleStep(step);
    s->setDecimals(decimals);
    return s;
}

} // namespace

SettingsDialog::SettingsDialog(AppSettings* settings, QWidget* parent)
    : QDialog(parent), m_settings(settings), m_model(new QLineEdit), m_backend(new QComboBox),
      m_precision(new QComboBox), m_vocab(new QLineEdit), m_threads(new QSpinBox),
      m_temperature(spin(0, 3, 0.05, 2)), m_topP(spin(0, 1, 0.05, 2)), m_topK(new QSpinBox),
      m_presence(spin(0, 3, 0.05, 2)), m_frequency(spin(0, 3, 0.05, 2)),
      m_decay(spin(0.9, 1, 0.001, 3)), m_maxTokens(new QSpinBox),
      m_systemPrompt(new QPlainTextEdit), m_theme(new QComboBox), m_dataDir(new QLineEdit),
      m_serverPage(new ServerSettingsPage(settings)),
      m_remotePage(new RemoteSettingsPage(settings)), m_codeBudget(new QSpinBox) {
    setWindowTitle(tr("Settings"));
    auto* tabs = new QTabWidget(this);

    auto* model = new QWidget;
    auto* modelForm = new QFormLayout(model);
    modelForm->addRow(tr("Model file:"), withBrowse(
                                             m_model,
                                             [this] {
                                                 const QString p = QFileDialog::getOpenFileName(
                                                     this, tr("Choose a model"), m_model->text(),
                                                     modelFileFilter());
                                                 if (!p.isEmpty()) m_model->setText(p);
                                             },
                                             model));
    m_backend->addItem(tr("Automatic"), u"auto"_s);
    m_backend->addItem(tr("NVIDIA card (CUDA)"), u"cuda"_s);
    m_backend->addItem(tr("CPU"), u"cpu"_s);
    modelForm->addRow(tr("Backend:"), m_backend);
    for (const PrecisionChoice& c : precisionChoices(0)) m_precision->addItem(c.label, c.id);
    modelForm->addRow(tr("Precision:"), m_precision);
    m_vocab->setPlaceholderText(tr("Automatic (bytes, or rwkv_vocab_v20230424.txt)"));
    modelForm->addRow(tr("Vocabulary:"), withBrowse(
                                             m_vocab,
                                             [this] {
                                                 const QString p = QFileDialog::getOpenFileName(
                                                     this, tr("Choose a vocabulary"),
                                                     m_vocab->text());
                                                 if (!p.isEmpty()) m_vocab->setText(p);
                                             },
                                             model));
    m_threads->setRange(0, 256);
    m_threads->setSpecialValueText(tr("One per core"));
    modelForm->addRow(tr("CPU threads:"), m_threads);
    tabs->addTab(model, tr("Model"));

    auto* sampling = new QWidget;
    auto* samplingForm = new QFormLayout(sampling);
    samplingForm->addRow(tr("Temperature:"), m_temperature);
    samplingForm->addRow(tr("Top-p:"), m_topP);
    m_topK->setRange(0, 1000);
    m_topK->setSpecialValueText(tr("Off"));
    samplingForm->addRow(tr("Top-k:"), m_topK);
    samplingForm->addRow(tr("Presence penalty:"), m_presence);
    samplingForm->addRow(tr("Frequency penalty:"), m_frequency);
    samplingForm->addRow(tr("Penalty decay:"), m_decay);
    m_maxTokens->setRange(16, 1 << 20);
    samplingForm->addRow(tr("Longest reply (tokens):"), m_maxTokens);
    auto* defaults = new QPushButton(tr("RWKV G1 defaults"));
    connect(defaults, &QPushButton::clicked, this, [this] { showSampling(Sampling{}); });
    samplingForm->addRow(QString(), defaults);
    tabs->addTab(sampling, tr("Sampling"));

    auto* chat = new QWidget;
    auto* chatLayout = new QVBoxLayout(chat);
    auto* promptHelp = new QLabel(tr("System prompt for new conversations (each conversation "
                                     "keeps the prompt it started with):"));
    promptHelp->setWordWrap(true);
    chatLayout->addWidget(promptHelp);
    chatLayout->addWidget(m_systemPrompt);
    // The codebase context's budget (tokens per question): the retriever fills it, never more.
    auto* budgetForm = new QFormLayout;
    m_codeBudget->setObjectName(u"codeBudget"_s);
    m_codeBudget->setRange(1024, 1 << 20);
    m_codeBudget->setSingleStep(4096);
    m_codeBudget->setGroupSeparatorShown(true);
    m_codeBudget->setSuffix(tr(" tokens"));
    m_codeBudget->setToolTip(tr("The most a question about a codebase adds to the prompt: the "
                                "whole codebase when it fits, else its most relevant parts "
                                "(default 49,152)."));
    budgetForm->addRow(tr("Codebase context:"), m_codeBudget);
    chatLayout->addLayout(budgetForm);
    tabs->addTab(chat, tr("Chat"));

    auto* general = new QWidget;
    auto* generalForm = new QFormLayout(general);
    m_theme->addItem(tr("Follow the system"), int(Theme::System));
    m_theme->addItem(tr("Light"), int(Theme::Light));
    m_theme->addItem(tr("Dark"), int(Theme::Dark));
    generalForm->addRow(tr("Theme:"), m_theme);
    generalForm->addRow(tr("Data folder:"),
                        withBrowse(
                            m_dataDir,
                            [this] {
                                const QString d = QFileDialog::getExistingDirectory(
                                    this, tr("Data folder"), m_dataDir->text());
                                if (!d.isEmpty()) m_dataDir->setText(d);
                            },
                            general));
    auto* dataHelp = new QLabel(tr("The chat history (gander.db) lives here. A new folder takes "
                                   "effect at the next start."));
    dataHelp->setWordWrap(true);
    generalForm->addRow(QString(), dataHelp);
    tabs->addTab(general, tr("General"));

    tabs->addTab(m_serverPage, tr("API Server"));
    tabs->addTab(m_remotePage, tr("Remote Server"));

    auto* buttons = new QDialogButtonBox(
        QDialogButtonBox::Ok | QDialogButtonBox::Apply | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        save();
        emit applied();
        accept();
    });
    connect(buttons->button(QDialogButtonBox::Apply), &QPushButton::clicked, this, [this] {
        save();
        emit applied();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(tabs);
    layout->addWidget(buttons);
    load();
    resize(600, 460);
}

void SettingsDialog::showSampling(const Sampling& s) {
    m_temperature->setValue(s.temperature);
    m_topP->setValue(s.topP);
    m_topK->setValue(s.topK);
    m_presence->setValue(s.presencePenalty);
    m_frequency->setValue(s.frequencyPenalty);
    m_decay->setValue(s.penaltyDecay);
}

void SettingsDialog::load() {
    m_model->setText(m_settings->modelPath());
    m_backend->setCurrentIndex(qMax(0, m_backend->findData(m_settings->backend())));
    m_precision->setCurrentIndex(qMax(0, m_precision->findData(m_settings->precision())));
    m_vocab->setText(m_settings->vocabPath());
    m_threads->setValue(m_settings->threads());
    showSampling(m_settings->sampling());
    m_maxTokens->setValue(m_settings->maxReplyTokens());
    m_systemPrompt->setPlainText(m_settings->systemPrompt());
    m_theme->setCurrentIndex(qMax(0, m_theme->findData(int(m_settings->theme()))));
    m_dataDir->setText(m_settings->dataDir());
    m_codeBudget->setValue(m_settings->codeBudgetTokens());
}

void SettingsDialog::setServerControl(gander::server::ServerControl* control) {
    m_serverPage->setControl(control);
}

void SettingsDialog::save() {
    m_settings->setModelPath(m_model->text());
    m_settings->setBackend(m_backend->currentData().toString());
    m_settings->setPrecision(m_precision->currentData().toString());
    m_settings->setVocabPath(m_vocab->text());
    m_settings->setThreads(m_threads->value());
    Sampling s = m_settings->sampling();
    s.temperature = m_temperature->value();
    s.topP = m_topP->value();
    s.topK = m_topK->value();
    s.presencePenalty = m_presence->value();
    s.frequencyPenalty = m_frequency->value();
    s.penaltyDecay = m_decay->value();
    m_settings->setSampling(s);
    m_settings->setMaxReplyTokens(m_maxTokens->value());
    m_settings->setSystemPrompt(m_systemPrompt->toPlainText());
    m_settings->setTheme(static_cast<Theme>(m_theme->currentData().toInt()));
    m_settings->setDataDir(m_dataDir->text());
    m_settings->setCodeBudgetTokens(m_codeBudget->value());
    m_serverPage->save();
    m_remotePage->save();
    m_settings->sync();
}

} // namespace gander::ui
