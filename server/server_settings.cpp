// Reading the local server's options from the app's QSettings.
#include "server_settings.h"

#include <QSettings>

#include <memory>

using namespace Qt::StringLiterals;

namespace gander::server {

std::optional<ServerOptions> server_options_from_settings(const QString& ini_file,
                                                          const QStringList& vocab_search_dirs) {
    const auto settings = ini_file.isEmpty()
                              ? std::make_unique<QSettings>()
                              : std::make_unique<QSettings>(ini_file, QSettings::IniFormat);
    return server_options_from_settings(*settings, vocab_search_dirs);
}

std::optional<ServerOptions> server_options_from_settings(const QSettings& settings,
                                                          const QStringList& vocab_search_dirs) {
    if (!settings.value(u"server/enabled"_s, false).toBool()) return std::nullopt;
    ServerOptions o;
    o.model_path = settings.value(u"model/path"_s).toString();
    if (o.model_path.isEmpty()) return std::nullopt;
    o.vocab_path = settings.value(u"model/vocab"_s).toString();
    o.vocab_search_dirs = vocab_search_dirs;
    const int port = settings.value(u"server/port"_s, 8089).toInt();
    o.port = quint16(port >= 1 && port <= 65535 ? port : 8089);
    o.api_key = settings.value(u"server/api_key"_s).toString();
    o.scheduler.max_active = qBound(1, settings.value(u"server/parallel"_s, 4).toInt(), 64);
    o.threads = qMax(0, settings.value(u"model/threads"_s, 0).toInt());
    if (const auto b =
            parse_backend(settings.value(u"model/backend"_s, u"auto"_s).toString().toStdString()))
        o.backend = *b;
    const QString precision = settings.value(u"model/precision"_s).toString();
    if (!precision.isEmpty()) o.precision = parse_precision(precision.toStdString());
    return o;
}

} // namespace gander::server
