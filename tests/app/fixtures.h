// Where the Qt tests find the shared fixture models: $GANDER_FIXTURES, else the build's default.
// A missing fixture fails the test that needs it (QFAIL), it is never skipped.
#pragma once

#include <QDir>
#include <QFileInfo>
#include <QString>

namespace gander::testing {

inline QString fixturePath(const QString& relative) {
    QString dir = qEnvironmentVariable("GANDER_FIXTURES");
#ifdef GANDER_FIXTURES_DEFAULT
    if (dir.isEmpty()) dir = QStringLiteral(GANDER_FIXTURES_DEFAULT);
#endif
    return QDir(dir).filePath(relative);
}

} // namespace gander::testing

#define GANDER_REQUIRE_FIXTURE(path)                                                               \
    do {                                                                                           \
        if (!QFileInfo::exists(path))                                                              \
            QFAIL(                                                                                 \
                qPrintable(QStringLiteral("missing fixture %1 (set GANDER_FIXTURES)").arg(path))); \
    } while (0)
