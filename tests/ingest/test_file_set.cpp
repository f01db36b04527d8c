// The codebase file set on a generated repository: the same files kept and the same counts
// skipped whether the list comes from git or from the .gitignore-aware walk; the gitignore
// matcher on its own, pattern by pattern.
#include "file_set.h"
#include "gitignore.h"

#include "ingest_test_util.h"

#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::ingest;
using gander::testing::writeFile;

namespace {

// A small repository with everything the file set must tell apart.
void makeRepository(const QString& root) {
    auto w = [&](const QString& rel, const QByteArray& bytes) {
        QVERIFY2(writeFile(root + u'/' + rel, bytes), qPrintable(rel));
    };
    w(u".gitignore"_s, "# comment\n*.log\n!keep.log\n/secret.txt\ntmpout/\ndocs/**/draft*.md\n");
    w(u"README.md"_s, "# Demo\n\nA demo repository.\n");
    w(u"app.log"_s, "noise\n");
    w(u"keep.log"_s, "kept by a negation\n");
    w(u"secret.txt"_s, "anchored to the root\n");
    w(u"sub/secret.txt"_s, "not at the root: kept\n");
    w(u"src/main.cpp"_s, "int main() { return 0; }\n");
    w(u"src/util/strings.h"_s, "#pragma once\n");
    w(u"src/util/.gitignore"_s, "generated_*.cpp\n!generated_keep.cpp\n");
    w(u"src/util/generated_a.cpp"_s, "// generated\n");
    w(u"src/util/generated_keep.cpp"_s, "// kept by a nested negation\n");
    w(u"docs/guide/draft1.md"_s, "draft\n");
    w(u"docs/guide/final.md"_s, "final\n");
    w(u"tmpout/x.cpp"_s, "ignored folder\n");
    w(u"build/CMakeCache.txt"_s, "build folder\n");
    w(u"build/main.o"_s, QByteArray("\x7f"
                                    "ELF\0\0",
                                    6));
    w(u"node_modules/pkg/index.js"_s, "module.exports = 1;\n");
    w(u"package-lock.json"_s, "{}\n");
    w(u"Cargo.lock"_s, "# lock\n");
    w(u"assets/logo.png"_s, QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
    w(u"data/blob.bin"_s, QByteArray(200, '\x01') + "text");
    w(u"big/huge.txt"_s, QByteArray(70 * 1024, 'x'));
}

const QStringList kExpected = {u".gitignore"_s,
                               u"README.md"_s,
                               u"docs/guide/final.md"_s,
                               u"keep.log"_s,
                               u"src/main.cpp"_s,
                               u"src/util/.gitignore"_s,
                               u"src/util/generated_keep.cpp"_s,
                               u"src/util/strings.h"_s,
                               u"sub/secret.txt"_s};

} // namespace

class TestFileSet final : public QObject {
    Q_OBJECT
private slots:
    void scan_data() {
        QTest::addColumn<bool>("git");
        QTest::newRow("walk, honouring .gitignore") << false;
        QTest::newRow("git ls-files") << true;
    }
    void scan() {
        QFETCH(bool, git);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        makeRepository(dir.path());
        if (git) {
            if (!gander::testing::haveGit()) QFAIL("git is not installed");
            QVERIFY(gander::testing::runGit(dir.path(), {u"init"_s, u"-q"_s}));
            // Some files tracked (build output too, as happens), the rest untracked.
            QVERIFY(gander::testing::runGit(
                dir.path(), {u"add"_s, u".gitignore"_s, u"README.md"_s, u"src"_s, u"build"_s}));
            QVERIFY(gander::testing::runGit(dir.path(), {u"commit"_s, u"-qm"_s, u"initial"_s}));
        }
        FileSetOptions options;
        options.maxFileBytes = 64 * 1024;
        options.useGit = git;
        const FileSetResult result = scanFileSet(dir.path(), options);
        QVERIFY2(result.error.isEmpty(), qPrintable(result.error));
        QCOMPARE(result.git, git);
        QCOMPARE(result.files, kExpected);
        QCOMPARE(result.skipped.ignored, 5); // app.log, secret.txt, tmpout/, generated_a, draft1
        QCOMPARE(result.skipped.lockFiles, 2);
        QCOMPARE(result.skipped.buildFolders, 2); // build/, node_modules/
        QCOMPARE(result.skipped.binary, 2);
        QCOMPARE(result.skipped.tooLarge, 1);
        QCOMPARE(result.skipped.unreadable, 0);
    }

    void notAFolder() {
        QTemporaryDir dir;
        const FileSetResult r = scanFileSet(dir.filePath(u"missing"_s));
        QVERIFY(!r.error.isEmpty());
        QVERIFY(r.files.isEmpty());
    }

    void cancel() {
        QTemporaryDir dir;
        makeRepository(dir.path());
        std::atomic<bool> cancel{true};
        const FileSetResult r = scanFileSet(dir.path(), {0, false}, &cancel);
        QCOMPARE(r.error, u"cancelled"_s);
        QVERIFY(r.files.isEmpty());
    }

    void gitignore_data() {
        QTest::addColumn<QString>("base");
        QTest::addColumn<QString>("rules");
        QTest::addColumn<QString>("path");
        QTest::addColumn<bool>("isDir");
        QTest::addColumn<bool>("ignored");
        QTest::newRow("name at any depth") << ""
                                           << "*.o"
                                           << "a/b/c.o" << false << true;
        QTest::newRow("name, other suffix") << ""
                                            << "*.o"
                                            << "a/b/c.oo" << false << false;
        QTest::newRow("dir-only on a file") << ""
                                            << "out/"
                                            << "out" << false << false;
        QTest::newRow("dir-only on a dir") << ""
                                           << "out/"
                                           << "x/out" << true << true;
        QTest::newRow("anchored at root") << ""
                                          << "/todo.txt"
                                          << "todo.txt" << false << true;
        QTest::newRow("anchored, deeper") << ""
                                          << "/todo.txt"
                                          << "a/todo.txt" << false << false;
        QTest::newRow("inner slash anchors") << ""
                                             << "doc/frotz"
                                             << "a/doc/frotz" << false << false;
        QTest::newRow("leading **") << ""
                                    << "**/foo"
                                    << "a/b/foo" << false << true;
        QTest::newRow("leading ** at root") << ""
                                            << "**/foo"
                                            << "foo" << false << true;
        QTest::newRow("trailing **") << ""
                                     << "abc/**"
                                     << "abc/x/y" << false << true;
        QTest::newRow("middle **") << ""
                                   << "a/**/b"
                                   << "a/x/y/b" << false << true;
        QTest::newRow("middle ** zero dirs") << ""
                                             << "a/**/b"
                                             << "a/b" << false << true;
        QTest::newRow("star stops at slash") << ""
                                             << "a/*.c"
                                             << "a/b/c.c" << false << false;
        QTest::newRow("question mark") << ""
                                       << "?.txt"
                                       << "x.txt" << false << true;
        QTest::newRow("class") << ""
                               << "[ab].txt"
                               << "b.txt" << false << true;
        QTest::newRow("negated class") << ""
                                       << "[!ab].txt"
                                       << "b.txt" << false << false;
        QTest::newRow("negation wins later") << ""
                                             << "*.log\n!keep.log"
                                             << "keep.log" << false << false;
        QTest::newRow("later rule wins") << ""
                                         << "!keep.log\n*.log"
                                         << "keep.log" << false << true;
        QTest::newRow("escaped hash") << ""
                                      << "\\#x"
                                      << "#x" << false << true;
        QTest::newRow("comment") << ""
                                 << "#x"
                                 << "#x" << false << false;
        QTest::newRow("trailing spaces") << ""
                                         << "a.txt   "
                                         << "a.txt" << false << true;
        QTest::newRow("nested base") << "src"
                                     << "/gen.c"
                                     << "src/gen.c" << false << true;
        QTest::newRow("nested base, outside") << "src"
                                              << "gen.c"
                                              << "lib/gen.c" << false << false;
        QTest::newRow("bad class is literal") << ""
                                              << "[abc"
                                              << "[abc" << false << true;
    }
    void gitignore() {
        QFETCH(QString, base);
        QFETCH(QString, rules);
        QFETCH(QString, path);
        QFETCH(bool, isDir);
        QFETCH(bool, ignored);
        GitignoreStack stack;
        stack.push(GitignoreRules(base, rules));
        QCOMPARE(stack.ignored(path, isDir), ignored);
    }

    void deeperFileOverrides() {
        GitignoreStack stack;
        stack.push(GitignoreRules(QString(), u"*.gen\n"_s));
        stack.push(GitignoreRules(u"keep"_s, u"!*.gen\n"_s));
        QVERIFY(stack.ignored(u"a.gen"_s, false));
        QVERIFY(!stack.ignored(u"keep/a.gen"_s, false));
    }
};

QTEST_GUILESS_MAIN(TestFileSet)
#include "test_file_set.moc"
