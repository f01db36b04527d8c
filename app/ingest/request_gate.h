// Numbered requests for a worker on its own thread, and their cancellation; shared by the engine
// worker (app/engine_worker.h) and the ingestion worker. The host numbers each request in the
// order it queues it (post_numbered); cancelUpTo(n), from any thread, cancels every request
// numbered up to n: the running one sees cancelled() at its next check, queued ones as they begin.
// So a cancel pressed before its request started is not lost.
#pragma once

#include <QMetaObject>
#include <QtGlobal>

#include <atomic>
#include <utility>

namespace gander::ingest {

class RequestGate {
public:
    // Any thread.
    void cancelUpTo(quint64 request) {
        quint64 current = m_upTo.load();
        while (request > current && !m_upTo.compare_exchange_weak(current, request)) {
        }
        // The running request, if it is one of those cancelled. Should begin() clear the flag
        // between these two lines, it reads m_upTo after clearing and sets the flag again.
        const quint64 running = m_running.load();
        if (running != 0 && running <= request) m_flag.store(true);
    }
    // The worker's thread, just before request number `request` runs.
    void begin(quint64 request) {
        m_running.store(request);
        m_flag.store(false);
        if (request <= m_upTo.load()) m_flag.store(true);
    }
    bool cancelled() const { return m_flag.load(); }
    // For code that polls a flag (scanFileSet); set from either thread, cleared only by begin().
    const std::atomic<bool>* flag() const { return &m_flag; }

private:
    std::atomic<quint64> m_upTo{0};
    std::atomic<quint64> m_running{0};
    std::atomic<bool> m_flag{false};
};

// Numbers the request (++issued), then runs call(worker) on the worker's thread after
// worker->beginRequest(number).
template <typename Worker, typename F> void post_numbered(Worker* worker, quint64& issued, F&& call) {
    QMetaObject::invokeMethod(
        worker,
        [w = worker, id = ++issued, call = std::forward<F>(call)] {
            w->beginRequest(id);
            call(w);
        },
        Qt::QueuedConnection);
}

} // namespace gander::ingest
