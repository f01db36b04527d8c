// Owns the engine thread and the EngineWorker on it; the GUI's handle on the engine.
//
// Every call returns at once: it queues a request on the worker's thread. Connect to worker()'s
// signals for results (they arrive queued on the caller's thread). The destructor stops any reply
// in progress and joins the thread (quit(); wait();) before the worker's data goes away.
#pragma once

#include "engine_worker.h"

#include <QObject>
#include <QThread>

namespace gander::app {

class EngineHost final : public QObject {
    Q_OBJECT
public:
    explicit EngineHost(const QString& databasePath, QObject* parent = nullptr);
    ~EngineHost() override;
    Q_DISABLE_COPY_MOVE(EngineHost)

    EngineWorker* worker() const { return m_worker; }
    bool busy() const { return m_busy; }

    void loadModel(const ModelRequest& request);
    void unloadModel();
    void prepare(qint64 conversationId, qint64 leafId);
    void generate(const GenerateRequest& request);
    void summarise(const SummariseRequest& request);
    void forget(qint64 conversationId);
    // Stops the reply (or load, or rebuild) running and any request queued before this call.
    void stop() { m_worker->requestStop(m_issued); }

signals:
    void busyChanged(bool busy);

private:
    void setBusy(bool busy);
    template <typename F> void post(F&& call);

    QThread m_thread;
    EngineWorker* m_worker; // lives on m_thread; deleted there when the thread finishes
    bool m_busy = false;
    quint64 m_issued = 0; // requests numbered in the order they are queued
    int m_pendingReplies = 0;
};

} // namespace gander::app
