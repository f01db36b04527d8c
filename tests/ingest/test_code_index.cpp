// The codebase index and retrieval on generated repositories: the defining file is found from a
// question, the budget is never exceeded (data-driven over budgets and tokenizers), re-indexing
// touches only changed files, cancel keeps the index consistent, the worker thread reports by
// signals, no socket is opened, and the indexing speed is reported.
#include "code_index.h"
#include "context_files_model.h"
#include "file_set.h"
#include "ingest_worker.h"
#include "retriever.h"

#include "fixtures.h"
#include "ingest_test_util.h"

#include <gander/tokenizer.h>

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QSemaphore>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::ingest;
using gander::testing::writeFile;

namespace {

// "path:start-end score" of each hit, for failure messages.
QByteArray describe(const QList<ScoredChunk>& hits) {
    QStringList out;
    for (const ScoredChunk& h : hits)
        out += u"%1:%2-%3 %4"_s.arg(h.ref.path)
                   .arg(h.ref.startLine)
                   .arg(h.ref.endLine)
                   .arg(h.ref.score);
    return out.join(u"; "_s).toUtf8();
}

// A C++/Python repository of `modules` modules, plus files that define the identifiers the
// questions ask about, and files that only use them (uses must not outrank the definition).
void makeCodebase(const QString& root, int modules) {
    for (int m = 0; m < modules; ++m) {
        QByteArray text = "// Module " + QByteArray::number(m) +
                          ": helpers for the demo.\n"
                          "#include \"common.h\"\n\n";
        for (int f = 0; f < 6; ++f) {
            const QByteArray name =
                "module" + QByteArray::number(m) + "_step" + QByteArray::number(f);
            text += "// Advances the pipeline by one step.\nint " + name +
                    "(int value) {\n"
                    "    int total = value * " +
                    QByteArray::number(f + 2) +
                    ";\n"
                    "    for (int i = 0; i < 8; ++i) total += i;\n"
                    "    return total;\n}\n\n";
        }
        if (m % 7 == 3) text += "void reload() {\n    parseConfigFile(\"app.ini\");\n}\n";
        QVERIFY(writeFile(root + u"/src/mod%1/module%2.cpp"_s.arg(m % 5).arg(m), text));
    }
    QVERIFY(writeFile(root + u"/src/config/loader.cpp"_s,
                      "#include \"loader.h\"\n\n"
                      "// Reads key = value lines; returns false when the file cannot be read.\n"
                      "bool parseConfigFile(const std::string& path) {\n"
                      "    std::ifstream in(path);\n    if (!in) return false;\n"
                      "    return readPairs(in);\n}\n"));
    QVERIFY(writeFile(
        root + u"/src/config/loader.h"_s,
        "#pragma once\n#include <string>\nbool parseConfigFile(const std::string& path);\n"));
    QVERIFY(writeFile(root + u"/tools/settings/user.py"_s,
                      "import json\n\n\ndef load_user_settings(path):\n"
                      "    \"\"\"Missing keys fall back to the defaults.\"\"\"\n"
                      "    with open(path) as f:\n        data = json.load(f)\n"
                      "    return {**DEFAULTS, **data}\n"));
    QVERIFY(writeFile(root + u"/tools/cli.py"_s,
                      "from settings.user import load_user_settings\n\n"
                      "def main():\n    print(load_user_settings('a.json'))\n"));
    QVERIFY(writeFile(root + u"/README.md"_s, "# Demo\n\nA generated codebase.\n"));
}

std::shared_ptr<const gander::Tokenizer> tokenizerNamed(const QString& name) {
    if (name == u"bytes"_s) return gander::make_byte_tokenizer();
    const QString vocab = gander::testing::fixturePath(u"tokenizer/rwkv_vocab_v20230424.txt"_s);
    if (!QFileInfo::exists(vocab)) return {};
    return gander::load_world_tokenizer(vocab.toStdString());
}

IndexReport indexFolder(CodeIndex& index, const QString& root) {
    return index.update(scanFileSet(root, {1024 * 1024, false}));
}

} // namespace

class TestCodeIndex final : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_root = m_dir.filePath(u"repo"_s);
        makeCodebase(m_root, 40);
        QVERIFY(m_index.open(m_dir.filePath(u"index.sqlite"_s)));
        const IndexReport report = indexFolder(m_index, m_root);
        QVERIFY2(report.error.isEmpty(), qPrintable(report.error));
        QCOMPARE(report.updated, 45);
        QCOMPARE(report.files, 45);
        QVERIFY(report.chunks > 45);
    }

    void findsDefinition_data() {
        QTest::addColumn<QString>("question");
        QTest::addColumn<QString>("file");
        QTest::newRow("camelCase")
            << u"Where is parseConfigFile defined, and what does it return?"_s
            << u"src/config/loader.cpp"_s;
        QTest::newRow("snake_case")
            << u"How does load_user_settings handle missing keys?"_s << u"tools/settings/user.py"_s;
        QTest::newRow("numbered") << u"What does module17_step4 compute?"_s
                                  << u"src/mod2/module17.cpp"_s;
    }
    void findsDefinition() {
        QFETCH(QString, question);
        QFETCH(QString, file);
        const QList<ScoredChunk> hits = m_index.search(question, 10);
        QVERIFY(!hits.isEmpty());
        QVERIFY2(hits.first().ref.path == file, describe(hits).constData());
        QVERIFY(hits.first().ref.startLine >= 1);
        QVERIFY(hits.first().ref.endLine >= hits.first().ref.startLine);
        // And it is among the files a small context gives.
        const CodeContext context = buildCodeContext(
            m_index, question, TokenCounter(gander::make_byte_tokenizer()), {2000, {}, 40, 200});
        QVERIFY(!context.whole);
        QVERIFY2(context.files.contains(file), qPrintable(context.files.join(u", "_s)));
        QVERIFY(context.text.contains(u"=== %1, lines "_s.arg(file)));
    }

    void splitWordsFindIdentifiers() {
        // "user settings" reaches load_user_settings through the words column.
        const QList<ScoredChunk> hits = m_index.search(u"how are user settings loaded"_s, 5);
        QVERIFY(!hits.isEmpty());
        QVERIFY2(hits.first().ref.path == u"tools/settings/user.py"_s, describe(hits).constData());
    }

    void vagueQuestionGetsAnOverview() {
        const CodeContext context =
            buildCodeContext(m_index, u"Explain this to me"_s,
                             TokenCounter(gander::make_byte_tokenizer()), {3000, {}, 40, 200});
        QVERIFY(!context.whole);
        QVERIFY(context.tokens <= 3000);
        QCOMPARE(context.chunks.value(0).path, u"README.md"_s); // path order puts it first anyway
        QVERIFY(context.files.contains(u"README.md"_s));
        QVERIFY(context.files.size() >= 3);
    }

    void ftsQuery() {
        QCOMPARE(CodeIndex::ftsQuery(u"Where is parseConfigFile?"_s),
                 u"\"parseconfigfile\" OR \"parse\" OR \"config\""_s);
        QCOMPARE(CodeIndex::ftsQuery(u"what is it"_s), QString());
        // Quotes and FTS5 operators in a question are never syntax.
        QCOMPARE(CodeIndex::ftsQuery(u"\"NEAR(\" AND * -x"_s), u"\"near\""_s);
    }

    void budgetNeverExceeded_data() {
        QTest::addColumn<QString>("tokenizer");
        QTest::addColumn<int>("budget");
        for (const QString& t : {u"bytes"_s, u"world"_s})
            for (int budget : {60, 200, 500, 1000, 2000, 4000, 8000, 16000, 48 * 1024, 400000})
                QTest::addRow("%s, %d", qPrintable(t), budget) << t << budget;
    }
    void budgetNeverExceeded() {
        QFETCH(QString, tokenizer);
        QFETCH(int, budget);
        const auto tok = tokenizerNamed(tokenizer);
        if (!tok) QFAIL("missing fixture tokenizer/rwkv_vocab_v20230424.txt (set GANDER_FIXTURES)");
        const TokenCounter counter(tok);
        const QString question = u"Where is parseConfigFile defined? Which module calls reload?"_s;
        // The whole codebase's size in this tokenizer decides which way retrieval must go.
        const CodeContext all = buildCodeContext(m_index, question, counter, {1 << 30, u"demo"_s});
        QVERIFY(all.whole);
        const bool whole = all.tokens <= budget;
        const CodeContext context =
            buildCodeContext(m_index, question, counter, {budget, u"demo"_s, 40, 200});
        const int measured = int(tok->encode(context.text.toUtf8().toStdString()).size());
        QCOMPARE(measured, context.tokens);
        QVERIFY2(measured <= budget, qPrintable(u"%1 > %2"_s.arg(measured).arg(budget)));
        QCOMPARE(context.whole, whole);
        if (whole) QCOMPARE(context.files.size(), 45);
        if (budget >= 1000) {
            QVERIFY(!context.chunks.isEmpty());
            QVERIFY(context.files.contains(u"src/config/loader.cpp"_s));
        }
        if (!whole && budget >= 4000) QVERIFY(context.text.contains(u"Layout:\n"_s));
    }

    void reindexOnlyChanged() {
        QTemporaryDir dir;
        const QString root = dir.filePath(u"repo"_s);
        makeCodebase(root, 10);
        CodeIndex index;
        QVERIFY(index.open(dir.filePath(u"i.sqlite"_s)));
        QCOMPARE(indexFolder(index, root).updated, 15);

        const IndexReport again = indexFolder(index, root);
        QCOMPARE(again.updated, 0);
        QCOMPARE(again.unchanged, 15);

        QVERIFY(writeFile(root + u"/src/mod1/module1.cpp"_s,
                          "int computeChecksumTable(int n) {\n    return n * 3;\n}\n"));
        QVERIFY(writeFile(root + u"/src/new_file.cpp"_s, "int brandNewFunction() { return 1; }\n"));
        QVERIFY(QFile::remove(root + u"/tools/cli.py"_s));
        const IndexReport changed = indexFolder(index, root);
        QCOMPARE(changed.updated, 2);
        QCOMPARE(changed.unchanged, 13);
        QCOMPARE(changed.removed, 1);
        QCOMPARE(changed.files, 15);
        QCOMPARE(index.search(u"computeChecksumTable"_s, 5).value(0).ref.path,
                 u"src/mod1/module1.cpp"_s);
        for (const ScoredChunk& c :
             index.search(u"module1_step3"_s, 100)) // the old content is gone
            QVERIFY(c.ref.path != u"src/mod1/module1.cpp"_s);
        for (const ScoredChunk& c : index.search(u"load_user_settings"_s, 20))
            QVERIFY(c.ref.path != u"tools/cli.py"_s);

        // A second connection (another thread's) reads the same file.
        CodeIndex reader;
        QVERIFY(reader.open(dir.filePath(u"i.sqlite"_s)));
        QCOMPARE(reader.files().size(), 15);
    }

    void cancelKeepsIndexConsistent() {
        QTemporaryDir dir;
        const QString root = dir.filePath(u"repo"_s);
        makeCodebase(root, 20);
        CodeIndex index;
        QVERIFY(index.open(dir.filePath(u"i.sqlite"_s)));
        const FileSetResult files = scanFileSet(root, {1024 * 1024, false});
        const IndexReport partial = index.update(files, [](int done, int) { return done < 5; });
        QVERIFY(partial.cancelled);
        QCOMPARE(partial.files, 5);
        const IndexReport rest = index.update(files);
        QCOMPARE(rest.unchanged, 5);
        QCOMPARE(rest.updated, 20);
    }

    // The race the numbered requests fix: Cancel pressed while the indexing is still queued
    // behind other work. The worker used to clear its flag when the request began, so the
    // cancel was lost and the whole folder was indexed.
    void cancelBeforeTheRequestStartsIsNotLost() {
        QTemporaryDir dir;
        const QString root = dir.filePath(u"repo"_s);
        makeCodebase(root, 10);
        IngestHost host;
        QSignalSpy finished(host.worker(), &IngestWorker::indexFinished);
        QSemaphore started, release;
        // Keep the worker's thread busy, so the next request waits in its queue.
        QMetaObject::invokeMethod(
            host.worker(),
            [&] {
                started.release();
                release.acquire();
            },
            Qt::QueuedConnection);
        QVERIFY(started.tryAcquire(1, 10000));
        const QString index = IngestHost::indexPathFor(dir.filePath(u"data"_s), root);
        host.indexCodebase(root, index);
        host.cancel();
        release.release();
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        const auto cancelled = finished.first().first().value<IndexReport>();
        QVERIFY(cancelled.cancelled);
        QCOMPARE(cancelled.files, 0);

        // A request queued after the cancel runs in full.
        host.indexCodebase(root, index);
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 2, 60000);
        const auto full = finished.last().first().value<IndexReport>();
        QVERIFY2(!full.cancelled, qPrintable(full.error));
        QCOMPARE(full.files, 15);
    }

    void damagedIndexFileIsRebuilt() {
        QTemporaryDir dir;
        const QString path = dir.filePath(u"i.sqlite"_s);
        QVERIFY(writeFile(path, QByteArray(4096, 'z')));
        CodeIndex index;
        // Not SQLite: the cache is made again, and works.
        QVERIFY2(index.open(path), qPrintable(index.error()));
        QCOMPARE(indexFolder(index, m_root).files, 45);
        QVERIFY(!index.search(u"parseConfigFile"_s).isEmpty());
    }

    void workerThreadBySignals_data() {
        QTest::addColumn<bool>("git");
        QTest::newRow("folder") << false;
        QTest::newRow("git repository") << true;
    }
    void workerThreadBySignals() {
        QFETCH(bool, git);
        QTemporaryDir dir;
        const QString root = dir.filePath(u"repo"_s);
        makeCodebase(root, 10);
        if (git) QVERIFY(gander::testing::runGit(root, {u"init"_s, u"-q"_s}));
        IngestHost host;
        host.setTokenizer(gander::make_byte_tokenizer());
        QSignalSpy scanned(host.worker(), &IngestWorker::scanFinished);
        QSignalSpy finished(host.worker(), &IngestWorker::indexFinished);
        QSignalSpy context(host.worker(), &IngestWorker::contextReady);
        const QStringList socketsBefore = gander::testing::openSockets();
        host.indexCodebase(root, IngestHost::indexPathFor(dir.filePath(u"data"_s), root));
        // The spies record on the worker's thread: a signal can land before a wait() would start.
        QTRY_COMPARE_WITH_TIMEOUT(finished.size(), 1, 60000);
        QCOMPARE(scanned.size(), 1);
        QCOMPARE(scanned.first().first().value<FileSetResult>().git, git);
        const auto report = finished.first().first().value<IndexReport>();
        QVERIFY2(report.error.isEmpty(), qPrintable(report.error));
        QCOMPARE(report.files, 15);
        host.buildContext(7, u"where is parseConfigFile defined"_s, 1500);
        QTRY_COMPARE_WITH_TIMEOUT(context.size(), 1, 30000);
        QCOMPARE(context.first().first().toLongLong(), 7);
        const auto ctx = context.first().last().value<CodeContext>();
        QVERIFY(ctx.tokens <= 1500);
        QVERIFY(ctx.files.contains(u"src/config/loader.cpp"_s));
        QCOMPARE(gander::testing::openSockets(), socketsBefore); // indexing opened no socket

        ContextFilesModel model;
        QAbstractItemModelTester tester(&model,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setContext(root, ctx);
        QCOMPARE(model.rowCount(), ctx.files.size());
        QCOMPARE(model.index(0, 0).data(ContextFilesModel::AbsolutePathRole).toString(),
                 QDir(root).filePath(ctx.files.first()));
        QVERIFY(model.index(0, 0)
                    .data(ContextFilesModel::RangesRole)
                    .toString()
                    .startsWith(u"lines "_s));
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }

    void indexingSpeed() {
        QTemporaryDir dir;
        const QString root = dir.filePath(u"repo"_s);
        makeCodebase(root, 1500);
        QElapsedTimer clock;
        clock.start();
        const FileSetResult files = scanFileSet(root, {1024 * 1024, false});
        const double scanSeconds = clock.nsecsElapsed() / 1e9;
        CodeIndex index;
        QVERIFY(index.open(dir.filePath(u"i.sqlite"_s)));
        const IndexReport first = index.update(files);
        const IndexReport second = index.update(files);
        QCOMPARE(first.updated, files.files.size());
        QCOMPARE(second.updated, 0);
        qInfo("indexing: %lld files, %.1f MB: scan %.2f s, first index %.2f s (%.0f files/s, "
              "%.1f MB/s, %d chunks), unchanged re-index %.2f s",
              qint64(files.files.size()), files.bytes / 1e6, scanSeconds, first.seconds,
              files.files.size() / first.seconds, files.bytes / 1e6 / first.seconds, first.chunks,
              second.seconds);
        QElapsedTimer search;
        search.start();
        const CodeContext ctx = buildCodeContext(index, u"Where is parseConfigFile defined?"_s,
                                                 TokenCounter(tokenizerNamed(u"bytes"_s)), {});
        qInfo("retrieval over %d chunks, 48K budget: %.0f ms, %d tokens, %lld files", first.chunks,
              search.nsecsElapsed() / 1e6, ctx.tokens, qint64(ctx.files.size()));
        QVERIFY(ctx.files.contains(u"src/config/loader.cpp"_s));
    }

private:
    QTemporaryDir m_dir;
    QString m_root;
    CodeIndex m_index;
};

QTEST_GUILESS_MAIN(TestCodeIndex)
#include "test_code_index.moc"
