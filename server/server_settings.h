// The desktop app's switch for the local server: its options from the app's settings store.
//
// Keys (the settings dialog writes them; all optional):
//   server/enabled  bool, default false     server/port  int, default 8089
//   server/api_key  string, default none    server/parallel  int, default 4
// and the model the app uses: model/path, model/backend, model/precision, model/vocab,
// model/threads (the same keys as app/app_settings.cpp). The server loads its own copy of the
// model.
#pragma once

#include "local_server.h"

#include <QString>
#include <QStringList>

class QSettings;

#include <optional>

namespace gander::server {

// `ini_file`: the app's --settings file, or empty for the platform's usual store (call after
// QCoreApplication's organisation and application names are set). nullopt when the server is off
// or no model is chosen.
std::optional<ServerOptions>
server_options_from_settings(const QString& ini_file, const QStringList& vocab_search_dirs = {});
// The same from a settings store already open (the app's AppSettings::store()).
std::optional<ServerOptions>
server_options_from_settings(const QSettings& settings, const QStringList& vocab_search_dirs = {});

} // namespace gander::server
