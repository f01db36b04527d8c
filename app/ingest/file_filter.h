// The rules that keep a file out of a codebase's prompt text regardless of .gitignore: lock files,
// build folders, binary content, size.
#pragma once

#include <QByteArray>
#include <QString>

namespace gander::ingest {

// package-lock.json, yarn.lock, Cargo.lock, go.sum, *.lock, ...: machine-written, long, useless
// to the model.
bool isLockFile(const QString& fileName);
// build, build-*, cmake-build-*, node_modules, target, dist, __pycache__, .venv, .git, ...
bool isBuildFolder(const QString& folderName);
// A NUL byte, or more than 1 in 64 bytes that are control characters other than tab, line feed,
// carriage return, form feed and escape, in `head` (the first few KiB of the file).
bool looksBinary(const QByteArray& head);
// How many bytes looksBinary() wants to see.
constexpr qint64 kSniffBytes = 8192;

} // namespace gander::ingest
