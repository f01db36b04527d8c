// Measures how late the event loop of the thread it lives on runs a short repeating timer: the
// delay a user feels between an input event and its handling. Used by the tests while a reply
// streams, and by the app with GANDER_LATENCY=1 (printed at exit).
#pragma once

#include <QElapsedTimer>
#include <QList>
#include <QObject>
#include <QTimer>

namespace gander::app {

class LatencyProbe final : public QObject {
    Q_OBJECT
public:
    explicit LatencyProbe(QObject* parent = nullptr);
    Q_DISABLE_COPY_MOVE(LatencyProbe)

    void start();
    void stop();
    // Lateness in milliseconds of each tick behind its schedule.
    const QList<double>& samples() const { return m_samples; }
    double percentile(double p) const;
    double maximum() const;
    QString summary() const;

private:
    void tick();

    static constexpr int kIntervalMs = 5;
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    QList<double> m_samples;
};

} // namespace gander::app
