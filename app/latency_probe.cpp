#include "latency_probe.h"

#include <algorithm>
#include <cmath>

using namespace Qt::StringLiterals;

namespace gander::app {

LatencyProbe::LatencyProbe(QObject* parent) : QObject(parent) {
    m_timer.setTimerType(Qt::PreciseTimer);
    m_timer.setInterval(kIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &LatencyProbe::tick);
}

void LatencyProbe::start() {
    m_samples.clear();
    m_clock.start();
    m_last = m_clock.nsecsElapsed();
    m_timer.start();
}

void LatencyProbe::stop() {
    m_timer.stop();
}

void LatencyProbe::tick() {
    const qint64 now = m_clock.nsecsElapsed();
    m_samples.append(std::max(0.0, (now - m_last) / 1e6 - kIntervalMs));
    m_last = now;
}

double LatencyProbe::percentile(double p) const {
    if (m_samples.isEmpty()) return 0;
    QList<double> sorted = m_samples;
    std::sort(sorted.begin(), sorted.end());
    const auto index = qsizetype(std::ceil(p / 100.0 * sorted.size())) - 1;
    return sorted[std::clamp<qsizetype>(index, 0, sorted.size() - 1)];
}

double LatencyProbe::maximum() const {
    return m_samples.isEmpty() ? 0 : *std::max_element(m_samples.begin(), m_samples.end());
}

QString LatencyProbe::summary() const {
    return u"event-loop latency over %1 ticks: p50 %2 ms, p99 %3 ms, max %4 ms"_s
        .arg(m_samples.size())
        .arg(percentile(50), 0, 'f', 1)
        .arg(percentile(99), 0, 'f', 1)
        .arg(maximum(), 0, 'f', 1);
}

} // namespace gander::app
