// gander-server: the OpenAI-compatible API without the window.
//
//   gander-server --model FILE [--vocab FILE] [--port N] [--api-key KEY] [--backend auto|cpu|cuda]
//                 [--precision fp32|fp16|bf16|int8|int4] [--parallel N] [--session-budget-mb N]
//
// Without --vocab: bytes for a test model of <= 512 tokens, else rwkv_vocab_v20230424.txt beside
// the model. Listens on 127.0.0.1 only. Prints "listening on http://127.0.0.1:PORT/v1" once ready
// (tests read the port from it with --port 0). Exit 0 on SIGINT/SIGTERM, 2 on a usage error, 1 when
// it cannot load the model or listen.
#include "local_server.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

using gander::server::LocalServer;
using gander::server::ServerOptions;

namespace {

int g_signal_fds[2] = {-1, -1};

void on_signal(int) {
    const char c = 1;
    [[maybe_unused]] auto n = ::write(g_signal_fds[0], &c, 1);
}

int usage_error(const QString& message) {
    std::fprintf(stderr, "gander-server: %s\n", qPrintable(message));
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("gander-server"));
    QCommandLineParser p;
    p.setApplicationDescription(
        QStringLiteral("OpenAI-compatible API for a Gander model, on 127.0.0.1 only."));
    p.addHelpOption();
    const QCommandLineOption model({QStringLiteral("model")}, QStringLiteral("Model file."),
                                   QStringLiteral("FILE"));
    const QCommandLineOption vocab(
        {QStringLiteral("vocab")},
        QStringLiteral("Tokenizer vocabulary (default: bytes for small test models, else "
                       "rwkv_vocab_v20230424.txt beside the model)."),
        QStringLiteral("FILE"));
    const QCommandLineOption port({QStringLiteral("port")},
                                  QStringLiteral("TCP port on 127.0.0.1 (0: any free one)."),
                                  QStringLiteral("N"), QStringLiteral("8089"));
    const QCommandLineOption key({QStringLiteral("api-key")},
                                 QStringLiteral("Require 'Authorization: Bearer KEY'."),
                                 QStringLiteral("KEY"));
    const QCommandLineOption backend({QStringLiteral("backend")},
                                     QStringLiteral("auto, cpu or cuda."), QStringLiteral("NAME"),
                                     QStringLiteral("auto"));
    const QCommandLineOption precision({QStringLiteral("precision")},
                                       QStringLiteral("fp32, fp16, bf16, int8 or int4."),
                                       QStringLiteral("NAME"));
    const QCommandLineOption threads({QStringLiteral("threads")},
                                     QStringLiteral("CPU threads (0: one per core)."),
                                     QStringLiteral("N"), QStringLiteral("0"));
    const QCommandLineOption parallel({QStringLiteral("parallel")},
                                      QStringLiteral("Requests decoded together."),
                                      QStringLiteral("N"), QStringLiteral("16"));
    const QCommandLineOption budget({QStringLiteral("session-budget-mb")},
                                    QStringLiteral("Memory for saved session states."),
                                    QStringLiteral("MB"), QStringLiteral("256"));
    const QCommandLineOption max_body({QStringLiteral("max-body-kb")},
                                      QStringLiteral("Largest request body."), QStringLiteral("KB"),
                                      QStringLiteral("1024"));
    p.addOptions(
        {model, vocab, port, key, backend, precision, threads, parallel, budget, max_body});
    if (!p.parse(QCoreApplication::arguments())) return usage_error(p.errorText());
    if (p.isSet(QStringLiteral("help"))) {
        std::fputs(qPrintable(p.helpText()), stdout);
        return 0;
    }
    if (!p.isSet(model)) return usage_error(QStringLiteral("--model FILE is required"));

    ServerOptions o;
    o.model_path = p.value(model);
    o.vocab_path = p.value(vocab);
    o.api_key = p.value(key);
    bool ok = true;
    auto number = [&](const QCommandLineOption& opt, int lo, int hi) {
        bool good = false;
        const int v = p.value(opt).toInt(&good);
        if (!good || v < lo || v > hi) ok = false;
        return v;
    };
    o.port = quint16(number(port, 0, 65535));
    o.threads = number(threads, 0, 1024);
    o.scheduler.max_active = number(parallel, 1, 256);
    o.scheduler.session_budget = std::size_t(number(budget, 0, 1 << 20)) << 20;
    o.http.max_body_bytes = qsizetype(number(max_body, 1, 1 << 20)) * 1024;
    if (!ok) return usage_error(QStringLiteral("a numeric option is out of range"));
    const auto kind = gander::parse_backend(p.value(backend).toStdString());
    if (!kind) return usage_error(QStringLiteral("unknown backend: ") + p.value(backend));
    o.backend = *kind;
    if (p.isSet(precision)) {
        o.precision = gander::parse_precision(p.value(precision).toStdString());
        if (!o.precision)
            return usage_error(QStringLiteral("unknown precision: ") + p.value(precision));
    }

    // SIGINT/SIGTERM end the event loop through a socket pair, the only safe way out of a handler.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, g_signal_fds) != 0) return 1;
    QSocketNotifier notifier(g_signal_fds[1], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &app,
                     [] { QCoreApplication::exit(0); });
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);

    LocalServer server;
    QObject::connect(&server, &LocalServer::started, &app, [&server](quint16 p) {
        std::printf("gander-server: model %s\ngander-server: listening on http://127.0.0.1:%u/v1\n",
                    qPrintable(server.modelId()), unsigned(p));
        std::fflush(stdout);
    });
    QObject::connect(&server, &LocalServer::failed, &app, [](const QString& message) {
        std::fprintf(stderr, "gander-server: %s\n", qPrintable(message));
        QCoreApplication::exit(1);
    });
    server.start(o);
    const int rc = app.exec();
    server.stop();
    return rc;
}
