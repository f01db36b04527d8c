// The files of a codebase that may go into a prompt.
//
// In a git work tree: `git ls-files -co --exclude-standard` (tracked files plus untracked ones that
// no ignore rule covers), run as a local program through QProcess. Elsewhere, or when git is
// missing or refuses the folder: a walk that honours every .gitignore on the way down (see
// gitignore.h). Either way lock files, build folders, binary files and files over the size limit
// are skipped and counted.
#pragma once

#include "ingest_types.h"

#include <atomic>

namespace gander::ingest {

struct FileSetOptions {
    qint64 maxFileBytes = 1024 * 1024;
    bool useGit = true; // false: always walk (tests; folders where git is slow)
};

// Blocking; run it off the GUI thread. `cancel` (may be null) is polled between files; a cancelled
// scan returns error "cancelled".
FileSetResult scanFileSet(const QString& root, const FileSetOptions& options = {},
                          const std::atomic<bool>* cancel = nullptr);

} // namespace gander::ingest
