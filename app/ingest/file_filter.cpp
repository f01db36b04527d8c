// Lock files, build folders and binary sniffing for the codebase file set.
#include "file_filter.h"

#include <QSet>
#include <QStringList>

using namespace Qt::StringLiterals;

namespace gander::ingest {

bool isLockFile(const QString& fileName) {
    static const QSet<QString> names = {u"package-lock.json"_s,
                                        u"npm-shrinkwrap.json"_s,
                                        u"yarn.lock"_s,
                                        u"pnpm-lock.yaml"_s,
                                        u"bun.lockb"_s,
                                        u"Cargo.lock"_s,
                                        u"poetry.lock"_s,
                                        u"Pipfile.lock"_s,
                                        u"composer.lock"_s,
                                        u"Gemfile.lock"_s,
                                        u"go.sum"_s,
                                        u"flake.lock"_s,
                                        u"uv.lock"_s,
                                        u"mix.lock"_s,
                                        u"Podfile.lock"_s,
                                        u"packages.lock.json"_s,
                                        u"pubspec.lock"_s,
                                        u"gradle.lockfile"_s};
    return names.contains(fileName) || fileName.endsWith(u".lock"_s);
}

bool isBuildFolder(const QString& name) {
    static const QSet<QString> names = {
        u".git"_s,        u"build"_s,         u"node_modules"_s, u"target"_s,  u"dist"_s,
        u"out"_s,         u"__pycache__"_s,   u".venv"_s,        u"venv"_s,    u".tox"_s,
        u".mypy_cache"_s, u".pytest_cache"_s, u".next"_s,        u".gradle"_s, u".cache"_s,
        u"_build"_s,      u".svn"_s,          u".hg"_s};
    return names.contains(name) || name.startsWith(u"build-"_s) ||
           name.startsWith(u"cmake-build-"_s);
}

bool looksBinary(const QByteArray& head) {
    int control = 0;
    for (const char c : head) {
        const auto b = static_cast<unsigned char>(c);
        if (b == 0) return true;
        if (b < 0x20 && b != '\t' && b != '\n' && b != '\r' && b != '\f' && b != 0x1b) ++control;
    }
    return control * 64 > head.size();
}

} // namespace gander::ingest
