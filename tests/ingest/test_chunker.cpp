// Chunking and identifiers: what a line defines (C-like signatures told from declarations across
// lines), identifier splitting, and chunks that start at definitions and keep their comments.
#include "chunker.h"

#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::ingest;

class TestChunker final : public QObject {
    Q_OBJECT
private slots:
    void definedNames_data() {
        QTest::addColumn<QString>("line");
        QTest::addColumn<QStringList>("names");
        QTest::newRow("python def")
            << u"def load_user_settings(path):"_s << QStringList{u"load_user_settings"_s};
        QTest::newRow("python class") << u"class Loader(Base):"_s << QStringList{u"Loader"_s};
        QTest::newRow("rust pub fn")
            << u"pub(crate) async fn run_all() {"_s << QStringList{u"run_all"_s};
        QTest::newRow("go method")
            << u"func (s *Server) Serve(l net.Listener) error {"_s << QStringList{u"Serve"_s};
        QTest::newRow("js function")
            << u"export function parseArgs(argv) {"_s << QStringList{u"parseArgs"_s};
        QTest::newRow("js const") << u"const handler = (req) => {"_s << QStringList{u"handler"_s};
        QTest::newRow("c function")
            << u"static int count_lines(const char* s) {"_s << QStringList{u"count_lines"_s};
        QTest::newRow("c++ member")
            << u"QString Foo::bar(int x) const {"_s << QStringList{u"bar"_s, u"Foo"_s};
        QTest::newRow("c declaration") << u"int count_lines(const char* s);"_s << QStringList{};
        QTest::newRow("call in body") << u"    count_lines(s);"_s << QStringList{};
        QTest::newRow("if") << u"if (x) {"_s << QStringList{};
        QTest::newRow("macro") << u"#define MAX_TOKENS 64"_s << QStringList{u"MAX_TOKENS"_s};
        QTest::newRow("struct") << u"struct ChunkRef {"_s << QStringList{u"ChunkRef"_s};
    }
    void definedNames() {
        QFETCH(QString, line);
        QFETCH(QStringList, names);
        QCOMPARE(gander::ingest::definedNames(line), names);
    }

    void multiLineDeclarationIsNotADefinition() {
        const QString header = u"#pragma once\n\nCodeContext buildCodeContext(const CodeIndex& a,\n"
                               "                             int budget = {});\n"_s;
        QVERIFY(chunkText(header).first().defines.isEmpty());
        const QString source = u"CodeContext buildCodeContext(const CodeIndex& a,\n"
                               "                             int budget) {\n    return {};\n}\n"_s;
        QCOMPARE(chunkText(source).first().defines, QStringList{u"buildCodeContext"_s});
    }

    void splitIdentifier_data() {
        QTest::addColumn<QString>("identifier");
        QTest::addColumn<QStringList>("words");
        QTest::newRow("camel") << u"parseConfigFile"_s
                               << QStringList{u"parse"_s, u"config"_s, u"file"_s};
        QTest::newRow("pascal acronym")
            << u"HTTPServerError"_s << QStringList{u"http"_s, u"server"_s, u"error"_s};
        QTest::newRow("snake") << u"load_user_settings"_s
                               << QStringList{u"load"_s, u"user"_s, u"settings"_s};
        QTest::newRow("screaming")
            << u"MAX_TOKEN_COUNT"_s << QStringList{u"max"_s, u"token"_s, u"count"_s};
        QTest::newRow("digits") << u"utf8Decode"_s << QStringList{u"utf8"_s, u"decode"_s};
        QTest::newRow("single") << u"main"_s << QStringList{u"main"_s};
    }
    void splitIdentifier() {
        QFETCH(QString, identifier);
        QFETCH(QStringList, words);
        QCOMPARE(gander::ingest::splitIdentifier(identifier), words);
    }

    void chunksFollowDefinitions() {
        QString text;
        for (int f = 0; f < 4; ++f) {
            text += u"// Function %1 does things.\nint f%1(int x) {\n"_s.arg(f);
            for (int l = 0; l < 14; ++l) text += u"    x += %1;\n"_s.arg(l);
            text += u"    return x;\n}\n\n"_s;
        }
        const QList<Chunk> chunks = chunkText(text);
        QCOMPARE(chunks.size(), 4);
        for (int f = 0; f < 4; ++f) {
            QVERIFY(chunks[f].text.startsWith(u"// Function %1"_s.arg(f))); // comment kept with it
            QCOMPARE(chunks[f].defines, QStringList{u"f%1"_s.arg(f)});
            QCOMPARE(chunks[f].startLine, 1 + f * 19);
            QCOMPARE(chunks[f].endLine, 18 + f * 19);
        }
    }

    void longRunsAreCut() {
        QString text;
        for (int l = 0; l < 500; ++l) text += u"    value%1 = compute();\n"_s.arg(l);
        const QList<Chunk> chunks = chunkText(text, {12, 80});
        QVERIFY(chunks.size() >= 500 / 80);
        int expected = 1;
        for (const Chunk& c : chunks) {
            QCOMPARE(c.startLine, expected); // contiguous, nothing lost
            QVERIFY(c.endLine - c.startLine + 1 <= 80);
            expected = c.endLine + 1;
        }
        QCOMPARE(expected, 501);
    }

    void emptyAndOddInput() {
        QVERIFY(chunkText(QString()).isEmpty());
        QVERIFY(chunkText(u"\n\n\n"_s).isEmpty());
        QCOMPARE(chunkText(u"x\r\ny\r\n"_s).first().text, u"x\ny"_s);
    }
};

QTEST_GUILESS_MAIN(TestChunker)
#include "test_chunker.moc"
