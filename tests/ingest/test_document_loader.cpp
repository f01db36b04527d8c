// Documents as text: every supported kind, PDFs made at test time (with text, without text,
// truncated, garbage), formats that are refused with a message, HTML to text, and the worker's
// signals. Nothing here may crash on bad input.
#include "document_loader.h"
#include "document_prompt.h"
#include "html_text.h"
#include "ingest_worker.h"

#include "ingest_test_util.h"

#include <gander/tokenizer.h>

#include <QPainter>
#include <QPdfWriter>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::ingest;
using gander::testing::writeFile;

namespace {

// A PDF of `pages` pages; with `text` each page carries a line of it, without only a drawn box
// (what a scanned page looks like to a text extractor).
QByteArray makePdf(int pages, bool text) {
    QTemporaryDir dir;
    const QString path = dir.filePath(u"x.pdf"_s);
    {
        QPdfWriter writer(path);
        writer.setTitle(u"test"_s);
        QPainter painter(&writer);
        for (int p = 0; p < pages; ++p) {
            if (p > 0) writer.newPage();
            if (text) {
                painter.setFont(QFont(u"DejaVu Sans"_s, 12));
                painter.drawText(QPointF(200, 400),
                                 u"Page %1 says hello from Gander."_s.arg(p + 1));
            } else {
                painter.fillRect(QRectF(100, 100, 2000, 1500), Qt::darkGray);
            }
        }
    }
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestDocumentLoader final : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_textPdf = makePdf(2, true);
        QVERIFY(m_textPdf.startsWith("%PDF-"));
    }

    void kinds_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("contains"); // in the text, or in the error when kind is empty
        QTest::newRow("plain text") << u"notes.txt"_s << QByteArray("Buy milk.\r\nCall Ann.\r\n")
                                    << u"text"_s << u"Buy milk.\nCall Ann."_s;
        QTest::newRow("markdown") << u"README.md"_s << QByteArray("# Title\n\nSome *text*.\n")
                                  << u"markdown"_s << u"# Title"_s;
        QTest::newRow("source") << u"main.rs"_s << QByteArray("fn main() {}\n") << u"source"_s
                                << u"fn main()"_s;
        QTest::newRow("no extension, UTF-8")
            << u"LICENSE"_s << QByteArray("Copyright \xc2\xa9 2026\n") << u"text"_s
            << u"Copyright \u00a9 2026"_s;
        QTest::newRow("Latin-1") << u"old.txt"_s << QByteArray("caf\xe9\n") << u"text"_s
                                 << u"caf\u00e9"_s;
        QTest::newRow("BOM") << u"bom.txt"_s << QByteArray("\xef\xbb\xbfhello\n") << u"text"_s
                             << u"hello"_s;
        QTest::newRow("UTF-16") << u"windows.txt"_s << QByteArray("\xff\xfeh\0i\0 \0\xe9\0\n\0", 12)
                                << u"text"_s << u"hi \u00e9"_s;
        QTest::newRow("html") << u"page.html"_s
                              << QByteArray(
                                     "<html><head><title>T</title><style>p{color:red}</style>"
                                     "</head><body><h1>Heading</h1><p>Fish &amp; chips"
                                     "</p><script>alert(1)</script></body></html>")
                              << u"html"_s << u"Fish & chips"_s;
        QTest::newRow("pdf with text")
            << u"paper.pdf"_s << m_textPdf << u"pdf"_s << u"Page 2 says hello"_s;
        QTest::newRow("pdf without text")
            << u"scan.pdf"_s << makePdf(1, false) << QString() << u"no text"_s;
        QTest::newRow("truncated pdf")
            << u"cut.pdf"_s << m_textPdf.left(m_textPdf.size() / 3) << QString() << u"damaged"_s;
        QTest::newRow("garbage pdf") << u"junk.pdf"_s << QByteArray("%PDF-1.7\n\x01\x02garbage")
                                     << QString() << u"damaged"_s;
        QTest::newRow("pdf named txt")
            << u"renamed.txt"_s << m_textPdf << u"pdf"_s << u"Page 1 says hello"_s;
        QTest::newRow("word") << u"report.docx"_s << QByteArray("PK\x03\x04\x14\0\0\0", 8)
                              << QString() << u"Word document"_s;
        QTest::newRow("binary") << u"blob.dat"_s << QByteArray("\0\1\2\3ELF", 8) << QString()
                                << u"not a text file"_s;
        QTest::newRow("empty") << u"empty.txt"_s << QByteArray() << QString() << u"is empty"_s;
    }
    void kinds() {
        QFETCH(QString, name);
        QFETCH(QByteArray, bytes);
        QFETCH(QString, kind);
        QFETCH(QString, contains);
        const QString path = m_dir.filePath(name);
        QVERIFY(writeFile(path, bytes));
        const Document d = loadDocument(path);
        QCOMPARE(d.name, name);
        if (kind.isEmpty()) {
            QVERIFY(!d.ok());
            QVERIFY2(d.error.contains(contains), qPrintable(d.error));
            QVERIFY(d.error.contains(name)); // the message says which file
            QVERIFY(d.text.isEmpty());
        } else {
            QVERIFY2(d.ok(), qPrintable(d.error));
            QCOMPARE(d.kind, kind);
            QVERIFY2(d.text.contains(contains), qPrintable(d.text));
            QCOMPARE(d.hash.size(), 64);
        }
    }

    void pdfPagesAndHeader() {
        const QString path = m_dir.filePath(u"two.pdf"_s);
        QVERIFY(writeFile(path, m_textPdf));
        const Document d = loadDocument(path);
        QCOMPARE(d.pages, 2);
        QCOMPARE(documentHeader(d), u"Attached document: two.pdf (PDF, 2 pages)"_s);
        const std::string turn = documentTurn(d);
        QVERIFY(turn.starts_with("User: Attached document: two.pdf (PDF, 2 pages)\n"));
        QVERIFY(turn.ends_with("\n\n"));
        QVERIFY(turn.find("\n\n") == turn.size() - 2); // one turn: no blank line inside
    }

    void missingAndFolder() {
        QVERIFY(loadDocument(m_dir.filePath(u"nope.txt"_s)).error.contains(u"does not exist"_s));
        QVERIFY(loadDocument(m_dir.path()).error.contains(u"folder"_s));
        LoadOptions small;
        small.maxFileBytes = 4;
        QVERIFY(writeFile(m_dir.filePath(u"five.txt"_s), "12345"));
        QVERIFY(loadDocument(m_dir.filePath(u"five.txt"_s), small).error.contains(u"MiB"_s));
    }

    // Random damage to a real PDF: every result is a document or a message.
    void damagedPdfsNeverCrash() {
        QRandomGenerator rng(42);
        for (int i = 0; i < 40; ++i) {
            QByteArray bytes = m_textPdf;
            for (int k = 0; k < 20; ++k)
                bytes[rng.bounded(int(bytes.size()))] = char(rng.bounded(256));
            if (i % 3 == 0) bytes.truncate(rng.bounded(int(bytes.size())));
            const QString path = m_dir.filePath(u"fuzz%1.pdf"_s.arg(i));
            QVERIFY(writeFile(path, bytes));
            const Document d = loadDocument(path);
            if (d.ok()) {
                QCOMPARE(d.kind, u"pdf"_s);
                QVERIFY(!d.text.isEmpty());
            } else {
                QVERIFY(!d.error.isEmpty());
                QVERIFY(d.text.isEmpty());
            }
        }
    }

    void html_data() {
        QTest::addColumn<QString>("html");
        QTest::addColumn<QString>("text");
        QTest::newRow("paragraphs") << u"<p>one</p><p>two</p>"_s << u"one\n\ntwo"_s;
        QTest::newRow("list") << u"<ul><li>a</li><li>b</li></ul>"_s << u"- a\n- b"_s;
        QTest::newRow("whitespace") << u"<div>  a \n  b  </div>"_s << u"a b"_s;
        QTest::newRow("pre keeps it") << u"<pre>x  =\n  1</pre>"_s << u"x  =\n  1"_s;
        QTest::newRow("entities") << u"a &lt;b&gt; &#65;&#x42; &nbsp;&copy; &bogus;"_s
                                  << u"a <b> AB \u00a9 &bogus;"_s; // nbsp: a plain space
        QTest::newRow("script, style, comment")
            << u"x<script>if (a<b) {}</script><style>p{}</style><!-- c -->y"_s << u"xy"_s;
        QTest::newRow("unclosed tag") << u"a <b"_s << u"a <b"_s;
        QTest::newRow("unclosed script") << u"a<script>var x"_s << u"a"_s;
        QTest::newRow("table") << u"<table><tr><td>1</td><td>2</td></tr></table>"_s << u"1\t2"_s;
        QTest::newRow("br") << u"a<br>b<br/>c"_s << u"a\nb\nc"_s;
    }
    void html() {
        QFETCH(QString, html);
        QFETCH(QString, text);
        QCOMPARE(htmlToText(html), text);
    }

    void workerSignals() {
        IngestHost host;
        host.loadTokenizer(u"rwkv-world"_s, {}, {u"/nonexistent"_s}); // not found: estimates
        host.setTokenizer(gander::make_byte_tokenizer());
        QSignalSpy loaded(host.worker(), &IngestWorker::documentLoaded);
        QSignalSpy failed(host.worker(), &IngestWorker::documentFailed);
        const QString good = m_dir.filePath(u"w.pdf"_s);
        const QString bad = m_dir.filePath(u"w-bad.pdf"_s);
        QVERIFY(writeFile(good, m_textPdf));
        QVERIFY(writeFile(bad, "%PDF-1.4 nothing else"));
        host.loadDocument(good);
        host.loadDocument(bad);
        host.loadText(u"Pasted text"_s, u"hello there"_s);
        QTRY_COMPARE_WITH_TIMEOUT(loaded.size() + failed.size(), 3, 30000);
        QCOMPARE(loaded.size(), 2);
        QCOMPARE(failed.size(), 1);
        const auto doc = loaded.first().at(0).value<Document>();
        QCOMPARE(doc.kind, u"pdf"_s);
        // Byte tokenizer: tokens are the bytes of the exact turn.
        QCOMPARE(loaded.first().at(1).toInt(), int(documentTurn(doc).size()));
        QVERIFY(loaded.first().at(2).toBool());
        QCOMPARE(failed.first().at(0).toString(), bad);
        QVERIFY(failed.first().at(1).toString().contains(u"damaged"_s));
    }

private:
    QTemporaryDir m_dir;
    QByteArray m_textPdf;
};

QTEST_MAIN(TestDocumentLoader)
#include "test_document_loader.moc"
