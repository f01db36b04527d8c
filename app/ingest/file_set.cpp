// Codebase file set: git's list or a .gitignore-aware walk, then the same filters for both.
#include "file_set.h"

#include "file_filter.h"
#include "gitignore.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSet>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {

// Runs git in `root`; nullopt when git is missing, fails, or `root` is not in a work tree.
std::optional<QStringList> git(const QString& root, const QStringList& args) {
    QProcess process;
    process.setProgram(u"git"_s);
    process.setArguments(QStringList{u"-C"_s, root} + args);
    // Never prompt, never take locks in the user's repository, never page.
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(u"GIT_TERMINAL_PROMPT"_s, u"0"_s);
    env.insert(u"GIT_OPTIONAL_LOCKS"_s, u"0"_s);
    env.insert(u"GIT_PAGER"_s, u"cat"_s);
    process.setProcessEnvironment(env);
    process.setStandardInputFile(QProcess::nullDevice());
    process.start(QIODevice::ReadOnly);
    if (!process.waitForStarted(5000)) return std::nullopt;
    if (!process.waitForFinished(120000) || process.exitStatus() != QProcess::NormalExit ||
        process.exitCode() != 0) {
        process.kill();
        process.waitForFinished(1000);
        return std::nullopt;
    }
    QStringList out;
    for (const QByteArray& entry : process.readAllStandardOutput().split('\0'))
        if (!entry.isEmpty()) out += QString::fromUtf8(entry);
    return out;
}

struct Filter {
    const FileSetOptions& options;
    QDir root;
    FileSetResult& result;
    QSet<QString> buildFolders;

    // Applies the name, size and content rules to one file; keeps it or counts why not.
    void consider(const QString& relative) {
        const QStringList parts = relative.split(u'/');
        for (int i = 0; i + 1 < parts.size(); ++i) {
            if (isBuildFolder(parts[i])) {
                buildFolders.insert(parts.mid(0, i + 1).join(u'/'));
                return;
            }
        }
        if (isLockFile(parts.last())) {
            ++result.skipped.lockFiles;
            return;
        }
        const QFileInfo info(root.filePath(relative));
        if (info.isDir()) return;   // a submodule: its files are its own repository's
        if (!info.exists()) return; // deleted from the work tree but still tracked
        if (info.size() > options.maxFileBytes) {
            ++result.skipped.tooLarge;
            return;
        }
        QFile file(info.filePath());
        if (!file.open(QIODevice::ReadOnly)) {
            ++result.skipped.unreadable;
            return;
        }
        if (looksBinary(file.read(kSniffBytes))) {
            ++result.skipped.binary;
            return;
        }
        result.files += relative;
        result.bytes += info.size();
    }
};

bool cancelled(const std::atomic<bool>* cancel) {
    return cancel && cancel->load(std::memory_order_relaxed);
}

// Depth-first walk; `relative` is the folder being read ("" for the root).
bool walk(Filter& filter, GitignoreStack& rules, const QString& relative,
          const std::atomic<bool>* cancel) {
    const QDir dir(relative.isEmpty() ? filter.root.path() : filter.root.filePath(relative));
    const QString gitignore = dir.filePath(u".gitignore"_s);
    bool pushed = false;
    if (QFile file(gitignore); file.open(QIODevice::ReadOnly)) {
        rules.push(GitignoreRules(relative, QString::fromUtf8(file.readAll())));
        pushed = true;
    }
    const QFileInfoList entries = dir.entryInfoList(
        QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot, QDir::Name);
    bool ok = true;
    for (const QFileInfo& entry : entries) {
        if (cancelled(cancel)) {
            ok = false;
            break;
        }
        const QString path =
            relative.isEmpty() ? entry.fileName() : relative + u'/' + entry.fileName();
        // Links to folders are not followed (they can loop); links to files are read.
        const bool isDir = entry.isDir() && !entry.isSymLink();
        if (entry.isDir() && entry.isSymLink()) continue;
        if (isDir && isBuildFolder(entry.fileName())) {
            if (entry.fileName() != u".git"_s) filter.buildFolders.insert(path);
            continue;
        }
        if (rules.ignored(path, isDir)) {
            ++filter.result.skipped.ignored;
            continue;
        }
        if (isDir) {
            if (!walk(filter, rules, path, cancel)) {
                ok = false;
                break;
            }
        } else if (entry.isFile()) {
            filter.consider(path);
        }
    }
    if (pushed) rules.pop();
    return ok;
}

} // namespace

FileSetResult scanFileSet(const QString& rootPath, const FileSetOptions& options,
                          const std::atomic<bool>* cancel) {
    FileSetResult result;
    const QFileInfo rootInfo(rootPath);
    result.root = QDir::cleanPath(rootInfo.absoluteFilePath());
    if (!rootInfo.isDir()) {
        result.error = u"“%1” is not a folder."_s.arg(rootPath);
        return result;
    }
    Filter filter{options, QDir(result.root), result, {}};

    std::optional<QStringList> listed;
    if (options.useGit)
        listed = git(result.root, {u"ls-files"_s, u"-z"_s, u"-co"_s, u"--exclude-standard"_s});
    if (listed) {
        result.git = true;
        if (auto ignored = git(result.root, {u"ls-files"_s, u"-z"_s, u"-oi"_s,
                                             u"--exclude-standard"_s, u"--directory"_s}))
            result.skipped.ignored = int(ignored->size());
        for (const QString& path : *listed) {
            if (cancelled(cancel)) break;
            filter.consider(path);
        }
    } else {
        GitignoreStack rules;
        walk(filter, rules, QString(), cancel);
    }
    if (cancelled(cancel)) {
        result.files.clear();
        result.error = u"cancelled"_s;
        return result;
    }
    result.skipped.buildFolders = int(filter.buildFolders.size());
    result.files.sort();
    return result;
}

} // namespace gander::ingest
