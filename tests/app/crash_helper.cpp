// Helper for test_crash_safety: streams a reply into a database until it is killed.
//
//   gander_crash_helper DATABASE MODEL
//
// Writes one finished reply (and its state), then replies endlessly to a second question while the
// GUI thread keeps writing (renaming the conversation every millisecond), and prints "streaming"
// once the second reply's text flows, so that the test's kill lands in the middle of real work.
#include "chat_store.h"
#include "engine_host.h"

#include <QCoreApplication>
#include <QTimer>

#include <cstdio>

using namespace Qt::StringLiterals;
using namespace gander::app;

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (argc != 3) {
        std::fprintf(stderr, "usage: gander_crash_helper DATABASE MODEL\n");
        return 2;
    }
    const QString database = QString::fromLocal8Bit(argv[1]);
    ChatStore store;
    if (!store.open(database)) return 1;
    const qint64 c = store.createConversation(u"Crash"_s);
    const qint64 u1 = store.addMessage(c, 0, Role::User, u"First, a short reply"_s);

    EngineHost host(database);
    QTimer writer;
    int round = 0;
    QObject::connect(&writer, &QTimer::timeout, &app,
                     [&] { store.renameConversation(c, u"Crash %1"_s.arg(++round)); });
    bool second = false;
    GenerateRequest endless;
    QObject::connect(host.worker(), &EngineWorker::modelLoaded, &app, [&] {
        GenerateRequest r;
        r.userMessageId = u1;
        r.maxTokens = 16;
        host.generate(r);
    });
    QObject::connect(host.worker(), &EngineWorker::stateSaved, &app, [&](qint64, qint64 replyId) {
        if (second) return;
        second = true;
        std::printf("first %lld\n", replyId);
        std::fflush(stdout);
        endless.userMessageId = store.addMessage(c, replyId, Role::User, u"Now never stop"_s);
        endless.maxTokens = 1 << 30;
        host.generate(endless);
        writer.start(1);
    });
    // A reply that ends by itself is reported, then regenerated, so that text keeps flowing.
    QObject::connect(host.worker(), &EngineWorker::replyFinished, &app, [&](qint64, qint64 id) {
        if (!second) return;
        std::printf("reply %lld\n", id);
        std::fflush(stdout);
        host.generate(endless);
    });
    QObject::connect(host.worker(), &EngineWorker::replyText, &app, [&] {
        if (!second) return;
        std::printf("streaming\n");
        std::fflush(stdout);
    });
    QObject::connect(host.worker(), &EngineWorker::modelLoadFailed, &app, [&](const QString& m) {
        std::fprintf(stderr, "%s\n", qPrintable(m));
        app.exit(1);
    });
    ModelRequest m;
    m.path = QString::fromLocal8Bit(argv[2]);
    m.backend = u"cpu"_s;
    host.loadModel(m);
    return app.exec();
}
