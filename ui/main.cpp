// gander: the desktop application.
//
//   gander [--data-dir DIR] [--model FILE] [--settings FILE.ini]
//
// --data-dir and --model override the saved settings for this run (and are remembered);
// --settings uses another settings file (for a portable or a test set-up).
#include "app_settings.h"
#include "build_info.h"
#include "main_window.h"
#include "theme.h"

#include <QApplication>
#include <QCommandLineParser>

using namespace Qt::StringLiterals;

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(u"Gander"_s);
    QApplication::setApplicationName(u"Gander"_s);
    // "0.1.0, CUDA kernels for sm_75 ... sm_120, PTX for compute_120 (CUDA 13.0.88)": --version
    // says which cards this build has kernels for (installer/build_info.h).
    QApplication::setApplicationVersion(QString::fromLatin1(gander_version_line()));
    QApplication::setDesktopFileName(u"gander"_s);

    QCommandLineParser parser;
    parser.setApplicationDescription(u"Chat with RWKV-7 language models, offline."_s);
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption dataDir(u"data-dir"_s, u"Folder of the chat history."_s, u"DIR"_s);
    QCommandLineOption model(u"model"_s, u"Model file to load."_s, u"FILE"_s);
    QCommandLineOption settingsFile(u"settings"_s, u"Settings file (INI) to use."_s, u"FILE"_s);
    parser.addOptions({dataDir, model, settingsFile});
    parser.process(app);

    gander::app::AppSettings settings(parser.value(settingsFile));
    if (parser.isSet(dataDir)) settings.setDataDir(parser.value(dataDir));
    if (parser.isSet(model)) settings.setModelPath(parser.value(model));
    gander::ui::applyTheme(settings.theme());

    // The window starts the local API server when the settings turn it on (docs/server.md), and
    // starts, restarts or stops it whenever the settings dialog is applied.
    gander::ui::MainWindow window(&settings);
    window.show();
    return app.exec();
}
