// Helpers for the ingestion tests: writing files, generated repositories, process memory and
// socket checks read from /proc/self.
#pragma once

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace gander::testing {

inline bool writeFile(const QString& path, const QByteArray& bytes) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

// Kibibytes of a "Vm...:" line of /proc/self/status (VmHWM: peak resident, VmRSS: resident now).
inline qint64 procStatusKiB(const char* field) {
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly)) return -1;
    for (const QByteArray& line : f.readAll().split('\n'))
        if (line.startsWith(field))
            return line.mid(qstrlen(field) + 1).trimmed().split(' ')[0].toLongLong();
    return -1;
}

// Resets VmHWM to the current RSS (Linux >= 4.0: write "5" to clear_refs), so that a later
// VmHWM reading is the peak of what ran in between. False when the kernel refuses.
inline bool resetPeakRss() {
    QFile f(QStringLiteral("/proc/self/clear_refs"));
    return f.open(QIODevice::WriteOnly) && f.write("5") == 1;
}

// The process's open sockets, from the targets of /proc/self/fd/* ("socket:[12345]").
inline QStringList openSockets() {
    QStringList sockets;
    const QDir fds(QStringLiteral("/proc/self/fd"));
    for (const QString& fd :
         fds.entryList(QDir::AllEntries | QDir::System | QDir::NoDotAndDotDot)) {
        const QString target = QFile::symLinkTarget(fds.filePath(fd));
        if (target.contains(QStringLiteral("socket:"))) sockets += target;
    }
    return sockets;
}

inline bool haveGit() {
    QProcess p;
    p.start(QStringLiteral("git"), {QStringLiteral("--version")});
    return p.waitForFinished(10000) && p.exitCode() == 0;
}

inline bool runGit(const QString& dir, const QStringList& args) {
    QProcess p;
    p.setWorkingDirectory(dir);
    p.start(QStringLiteral("git"),
            QStringList{QStringLiteral("-c"), QStringLiteral("user.name=t"), QStringLiteral("-c"),
                        QStringLiteral("user.email=t@t")} +
                args);
    return p.waitForFinished(30000) && p.exitCode() == 0;
}

} // namespace gander::testing
