// Prefill/indexing progress with speed and cancel.
#include "prefill_progress.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QVBoxLayout>

using namespace Qt::StringLiterals;

namespace gander::ui {

PrefillProgress::PrefillProgress(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    // Title and speed on one line, bar and Cancel below: the bar keeps the whole width even in a
    // narrow side panel.
    auto* top = new QHBoxLayout;
    m_title = new QLabel(this);
    m_title->setObjectName(u"progressTitle"_s);
    m_speed = new QLabel(this);
    m_speed->setObjectName(u"progressSpeed"_s);
    m_speed->setForegroundRole(QPalette::PlaceholderText);
    m_speed->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    top->addWidget(m_title, 1);
    top->addWidget(m_speed);
    layout->addLayout(top);
    auto* row = new QHBoxLayout;
    m_bar = new QProgressBar(this);
    m_bar->setRange(0, 1000);
    m_bar->setTextVisible(false);
    m_bar->setMaximumHeight(10);
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(u"progressCancel"_s);
    row->addWidget(m_bar, 1);
    row->addWidget(m_cancel);
    layout->addLayout(row);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        m_cancel->setEnabled(false); // one request is enough; the worker stops at its next chunk
        m_title->setText(tr("Cancelling…"));
        emit cancelRequested();
    });
    hide();
}

void PrefillProgress::start(const QString& title, qint64 total, const QString& units) {
    m_title->setText(title);
    m_total = total;
    m_units = units;
    m_done = 0;
    m_bar->setValue(0);
    m_speed->clear();
    m_cancel->setEnabled(true);
    m_clock.start();
    show();
}

QString PrefillProgress::speedText() const {
    const double seconds = m_clock.isValid() ? m_clock.nsecsElapsed() / 1e9 : 0;
    if (seconds < 0.2 || m_done <= 0) return {};
    const double rate = m_done * double(m_total) / seconds;
    const double left = seconds * (1.0 - m_done) / m_done;
    const QLocale locale;
    QString text = tr("%1 %2/s").arg(locale.toString(qRound64(rate)), m_units);
    if (m_done < 1.0 && left >= 1.0)
        text += left < 90 ? tr(", %1 s left").arg(qRound(left))
                          : tr(", %1 min left").arg(qRound(left / 60));
    return text;
}

void PrefillProgress::setProgress(double done) {
    m_done = std::clamp(done, 0.0, 1.0);
    m_bar->setValue(int(m_done * 1000));
    m_speed->setText(speedText());
}

void PrefillProgress::setTitle(const QString& title) {
    if (m_cancel->isEnabled()) m_title->setText(title);
}

QString PrefillProgress::title() const {
    return m_title->text();
}

void PrefillProgress::finish(const QString& message) {
    m_bar->setValue(1000);
    if (message.isEmpty()) {
        hide();
        return;
    }
    m_title->setText(message);
    m_cancel->setEnabled(false);
}

} // namespace gander::ui
