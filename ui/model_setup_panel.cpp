#include "model_setup_panel.h"

#include "model_files.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;
using namespace gander::app;

namespace gander::ui {

ModelSetupPanel::ModelSetupPanel(QWidget* parent)
    : QWidget(parent), m_file(new QLabel(this)), m_precision(new QComboBox(this)),
      m_backend(new QComboBox(this)), m_load(new QPushButton(tr("Load model"), this)),
      m_progress(new QProgressBar(this)), m_error(new QLabel(this)) {
    auto* title = new QLabel(tr("Set up a model"), this);
    QFont big = title->font();
    big.setPointSizeF(big.pointSizeF() * 1.6);
    big.setBold(true);
    title->setFont(big);
    auto* intro = new QLabel(
        tr("Gander runs RWKV-7 models on this computer, offline. Choose a model file "
           "(<code>.pth</code> or <code>.safetensors</code> as released, or a Gander cache "
           "file). Official RWKV-7 G1 models: <a href=\"%1\">%1</a>. Your conversations stay "
           "readable without a model.")
            .arg(officialModelsUrl()),
        this);
    intro->setWordWrap(true);
    intro->setOpenExternalLinks(true);
    intro->setTextFormat(Qt::RichText);

    auto* choose = new QPushButton(tr("Choose model file…"), this);
    m_file->setText(tr("No file chosen"));
    m_file->setWordWrap(true);
    m_backend->addItem(tr("Automatic (NVIDIA card if usable, else CPU)"), u"auto"_s);
    m_backend->addItem(tr("NVIDIA card (CUDA)"), u"cuda"_s);
    m_backend->addItem(tr("CPU"), u"cpu"_s);
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(false);
    m_progress->hide();
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(u"color: #c0392b;"_s);
    m_error->hide();
    m_load->setEnabled(false);
    m_load->setDefault(true);

    auto* form = new QFormLayout;
    form->addRow(tr("Model file:"), choose);
    form->addRow(QString(), m_file);
    form->addRow(tr("Precision:"), m_precision);
    form->addRow(tr("Backend:"), m_backend);

    auto* box = new QWidget(this);
    box->setMaximumWidth(620);
    auto* inner = new QVBoxLayout(box);
    inner->addWidget(title);
    inner->addWidget(intro);
    inner->addSpacing(12);
    inner->addLayout(form);
    inner->addWidget(m_load, 0, Qt::AlignRight);
    inner->addWidget(m_progress);
    inner->addWidget(m_error);

    // Centred by stretches on both sides, not by an alignment: an aligned widget gets its size
    // hint, whose height ignores how the wrapped introduction breaks at the width it is given
    // (the text was cut and the form squeezed at some window sizes). Here the box takes up to
    // 620 px and its height follows its width.
    auto* row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(box, 3);
    row->addStretch(1);
    auto* outer = new QVBoxLayout(this);
    outer->addStretch(1);
    outer->addLayout(row);
    outer->addStretch(2);

    updateEstimates();
    connect(choose, &QPushButton::clicked, this, &ModelSetupPanel::choose);
    connect(m_load, &QPushButton::clicked, this,
            [this] { emit loadRequested(m_path, precision(), backend()); });
}

void ModelSetupPanel::choose() {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Choose a model"), QString(), modelFileFilter());
    if (!path.isEmpty()) setModelPath(path);
}

void ModelSetupPanel::setModelPath(const QString& path) {
    m_path = path;
    const QFileInfo info(path);
    m_file->setText(path.isEmpty() ? tr("No file chosen")
                                   : u"%1 (%2)"_s.arg(info.fileName(), formatBytes(info.size())));
    m_load->setEnabled(!path.isEmpty());
    updateEstimates();
}

QString ModelSetupPanel::precision() const {
    return m_precision->currentData().toString();
}
QString ModelSetupPanel::backend() const {
    return m_backend->currentData().toString();
}

void ModelSetupPanel::updateEstimates() {
    const QString keep = precision();
    const qint64 params = estimateParameters(m_path);
    m_precision->clear();
    for (const PrecisionChoice& c : precisionChoices(params)) {
        const QString label =
            params > 0 ? tr("%1 — about %2").arg(c.label, formatBytes(c.bytes)) : c.label;
        m_precision->addItem(label, c.id);
    }
    m_precision->setCurrentIndex(qMax(0, m_precision->findData(keep)));
}

void ModelSetupPanel::setLoading(bool loading) {
    m_load->setEnabled(!loading && !m_path.isEmpty());
    m_progress->setVisible(loading);
    if (loading) {
        m_progress->setValue(0);
        m_error->hide();
    }
}

void ModelSetupPanel::setProgress(double done) {
    m_progress->setValue(int(done * 1000));
}

void ModelSetupPanel::setError(const QString& message) {
    m_error->setText(tr("The model could not be loaded: %1").arg(message));
    m_error->setVisible(!message.isEmpty());
}

} // namespace gander::ui
