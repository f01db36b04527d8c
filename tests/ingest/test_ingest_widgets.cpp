// The ingestion widgets, offscreen: chips with token counts and failures, the Summarise action,
// prefill progress with speed and cancel, the codebase panel's counts, progress and file list
// (a click opens the file). With GANDER_SCREENSHOTS set, each widget is saved there as a PNG.
#include "attachment_bar.h"
#include "codebase_panel.h"
#include "ingest_controller.h"
#include "prefill_progress.h"

#include <context_files_model.h>
#include <document_prompt.h>
#include <ingest_worker.h>

#include "ingest_test_util.h"

#include <gander/tokenizer.h>

#include <QAbstractItemModelTester>
#include <QDesktopServices>
#include <QLabel>
#include <QListView>
#include <QMimeData>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>
#include <QUrl>

using namespace Qt::StringLiterals;
using namespace gander::ingest;
using namespace gander::ui;

namespace {

void screenshot(QWidget* w, const QString& name) {
    const QString dir = qEnvironmentVariable("GANDER_SCREENSHOTS");
    if (dir.isEmpty()) return;
    QDir().mkpath(dir);
    QTest::qWait(20); // let pending layout requests run, as the event loop would before painting
    w->grab().save(QDir(dir).filePath(name + u".png"_s));
}

Document doc(const QString& name, const QString& kind) {
    Document d;
    d.path = u"/home/ann/"_s + name;
    d.name = name;
    d.kind = kind;
    d.text = u"x"_s;
    return d;
}

} // namespace

// Receives the file URLs QDesktopServices would hand to the desktop.
class UrlCatcher final : public QObject {
    Q_OBJECT
public:
    QList<QUrl> urls;
public slots:
    void open(const QUrl& url) { urls += url; }
};

class TestIngestWidgets final : public QObject {
    Q_OBJECT
private slots:
    void attachmentBar() {
        AttachmentBar bar;
        bar.resize(640, 90);
        QSignalSpy summarise(&bar, &AttachmentBar::summariseRequested);
        QSignalSpy removed(&bar, &AttachmentBar::documentRemoved);
        auto* button = bar.findChild<QPushButton*>(u"summarise"_s);
        QVERIFY(button);
        bar.addDocument(doc(u"report.pdf"_s, u"pdf"_s), 12345, true, {});
        bar.addDocument(doc(u"notes.md"_s, u"markdown"_s), 812, false, {});
        bar.addDocument(doc(u"thesis.pdf"_s, u"pdf"_s), 180000, true,
                        u"“thesis.pdf” is 180,000 tokens long, more than the 65,536 that fit in "
                        "one prompt. It will be summarised in 12 parts, and the part summaries "
                        "combined."_s);
        bar.addFailure(u"/home/ann/scan.pdf"_s, u"“scan.pdf” has no text to read."_s);
        bar.show();
        QVERIFY(QTest::qWaitForWindowExposed(&bar));
        screenshot(&bar, u"attachment-bar"_s);
        {
            // The chips take their colours from the palette: check them on a dark one too.
            QPalette dark;
            dark.setColor(QPalette::Window, QColor(0x20, 0x22, 0x25));
            dark.setColor(QPalette::WindowText, QColor(0xe8, 0xe8, 0xe8));
            dark.setColor(QPalette::Text, QColor(0xe8, 0xe8, 0xe8));
            dark.setColor(QPalette::Base, QColor(0x18, 0x19, 0x1b));
            dark.setColor(QPalette::AlternateBase, QColor(0x2c, 0x2f, 0x33));
            dark.setColor(QPalette::Button, QColor(0x2c, 0x2f, 0x33));
            dark.setColor(QPalette::ButtonText, QColor(0xe8, 0xe8, 0xe8));
            dark.setColor(QPalette::Mid, QColor(0x55, 0x58, 0x5c));
            dark.setColor(QPalette::PlaceholderText, QColor(0x9a, 0x9d, 0xa1));
            const QPalette light = bar.palette();
            bar.setPalette(dark);
            bar.setAutoFillBackground(true);
            screenshot(&bar, u"attachment-bar-dark"_s);
            bar.setPalette(light);
        }

        QCOMPARE(bar.documents().size(), 3);
        QCOMPARE(bar.totalTokens(), 12345 + 812 + 180000);
        QStringList details;
        for (auto* l : bar.findChildren<QLabel*>(u"chipDetail"_s)) details += l->text();
        QVERIFY(details.contains(u"12K tokens"_s));
        QVERIFY(details.contains(u"~812 tokens"_s)); // an estimate says so
        QVERIFY(details.contains(u"cannot be read"_s));
        QVERIFY(bar.findChild<QLabel*>(u"partsNotice"_s)->isVisible());

        QTest::mouseClick(button, Qt::LeftButton);
        QCOMPARE(summarise.size(), 1);

        // Remove the first chip: the document goes, the signal names it.
        auto* chip = bar.findChildren<AttachmentChip*>().first();
        QTest::mouseClick(chip->findChild<QToolButton*>(u"chipRemove"_s), Qt::LeftButton);
        QCOMPARE(removed.size(), 1);
        QCOMPARE(removed.first().first().toString(), u"/home/ann/report.pdf"_s);
        QCOMPARE(bar.documents().size(), 2);
        bar.clear();
        QVERIFY(bar.documents().isEmpty());
        QVERIFY(!button->isEnabled());
        QVERIFY(!bar.isVisible()); // an empty bar takes no room in the composer
    }

    void prefillProgress() {
        PrefillProgress progress;
        progress.resize(520, 50);
        QSignalSpy cancel(&progress, &PrefillProgress::cancelRequested);
        progress.start(u"Reading report.pdf (64K tokens)…"_s, 65536);
        QTest::qWait(300);
        progress.setProgress(0.1);
        QVERIFY(progress.isVisible());
        QVERIFY2(progress.speedText().contains(u"tokens/s"_s), qPrintable(progress.speedText()));
        QVERIFY(progress.speedText().contains(u"left"_s));
        QVERIFY(QTest::qWaitForWindowExposed(&progress));
        screenshot(&progress, u"prefill-progress"_s);
        auto* button = progress.findChild<QPushButton*>(u"progressCancel"_s);
        QTest::mouseClick(button, Qt::LeftButton);
        QTest::mouseClick(button, Qt::LeftButton); // disabled after the first click
        QCOMPARE(cancel.size(), 1);
        progress.finish();
        QVERIFY(!progress.isVisible());
    }

    void codebasePanel() {
        QTemporaryDir dir;
        CodebasePanel panel;
        panel.resize(380, 420);
        QSignalSpy chosen(&panel, &CodebasePanel::folderChosen);
        QSignalSpy cancel(&panel, &CodebasePanel::cancelRequested);
        QSignalSpy opened(&panel, &CodebasePanel::fileOpened);
        QAbstractItemModelTester tester(panel.filesModel(),
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        screenshot(&panel, u"codebase-empty"_s);

        panel.setFolder(dir.path());
        QCOMPARE(chosen.size(), 1);
        FileSetResult files;
        files.root = dir.path();
        files.git = true;
        files.files = {u"src/main.cpp"_s, u"src/config/loader.cpp"_s, u"README.md"_s};
        files.bytes = 48000;
        files.skipped = {4, 2, 3, 5, 1, 0};
        panel.setScanResult(files);
        panel.setIndexProgress(1, 3, 120);
        QCOMPARE(panel.findChild<QLabel*>(u"codebaseSkipped"_s)->text(),
                 u"Skipped: 4 ignored, 2 lock files, 3 build folders, 5 binary, 1 too large."_s);
        screenshot(&panel, u"codebase-indexing"_s);
        QTest::mouseClick(panel.findChild<QPushButton*>(u"progressCancel"_s), Qt::LeftButton);
        QCOMPARE(cancel.size(), 1);

        IndexReport report;
        report.files = 3;
        report.chunks = 17;
        report.updated = 3;
        panel.setIndexReport(report);
        QVERIFY(
            panel.findChild<QLabel*>(u"codebaseStatus"_s)->text().startsWith(u"3 files indexed"_s));

        CodeContext context;
        context.budget = 49152;
        context.tokens = 6120;
        context.files = {u"src/config/loader.cpp"_s, u"src/main.cpp"_s};
        context.chunks = {{u"src/config/loader.cpp"_s, 1, 40, 9.5},
                          {u"src/config/loader.cpp"_s, 80, 120, 4.0},
                          {u"src/main.cpp"_s, 10, 30, 2.0}};
        panel.setContext(context);
        QCOMPARE(panel.filesModel()->rowCount(), 2);
        QCOMPARE(panel.filesModel()->index(0, 0).data(ContextFilesModel::RangesRole).toString(),
                 u"lines 1-40, 80-120"_s);
        screenshot(&panel, u"codebase-context"_s);

        // A click opens the file through the desktop (caught here).
        UrlCatcher catcher;
        QDesktopServices::setUrlHandler(u"file"_s, &catcher, "open");
        auto* view = panel.findChild<QListView*>(u"contextFiles"_s);
        const QRect rect = view->visualRect(panel.filesModel()->index(1, 0));
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, rect.center());
        QDesktopServices::unsetUrlHandler(u"file"_s);
        QCOMPARE(opened.size(), 1);
        QCOMPARE(catcher.urls.value(0),
                 QUrl::fromLocalFile(QDir(dir.path()).filePath(u"src/main.cpp"_s)));
    }

    // The main window's side of it: a drop with a folder and a file, then a send.
    void controller() {
        QTemporaryDir dir;
        const QString repo = dir.filePath(u"repo"_s);
        QVERIFY(gander::testing::writeFile(repo + u"/src/config/loader.cpp"_s,
                                           "bool parseConfigFile(const char* path) {\n"
                                           "    return path != nullptr;\n}\n"));
        QVERIFY(gander::testing::writeFile(
            repo + u"/src/main.cpp"_s, "int main() { return parseConfigFile(\"a\") ? 0 : 1; }\n"));
        QVERIFY(gander::testing::writeFile(dir.filePath(u"notes.md"_s), "# Notes\nBuy milk.\n"));
        IngestController controller(dir.filePath(u"data"_s));
        controller.loadTokenizer(u"bytes"_s, {}, {});
        QSignalSpy loaded(controller.host()->worker(), &IngestWorker::documentLoaded);
        QSignalSpy indexed(controller.host()->worker(), &IngestWorker::indexFinished);
        QSignalSpy summarise(&controller, &IngestController::summariseRequested);

        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(repo), QUrl::fromLocalFile(dir.filePath(u"notes.md"_s))});
        QVERIFY(IngestController::canHandle(&mime));
        QVERIFY(controller.handleDrop(&mime));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.size(), 1, 30000);
        QTRY_COMPARE_WITH_TIMEOUT(indexed.size(), 1, 30000);
        QCOMPARE(controller.attachments()->documents().size(), 1);
        QVERIFY(loaded.first().at(2).toBool()); // exact counts: the tokenizer was loaded
        QCOMPARE(controller.codebase()->folder(), QDir::cleanPath(repo));

        QTest::mouseClick(controller.attachments()->findChild<QPushButton*>(u"summarise"_s),
                          Qt::LeftButton);
        QCOMPARE(summarise.size(), 1);
        QCOMPARE(summarise.first().first().toString(), summariseRequest());

        QStringList before;
        bool called = false;
        controller.prepareSend(u"Where is parseConfigFile defined?"_s,
                               [&](const QStringList& messages) {
                                   before = messages;
                                   called = true;
                               });
        QTRY_VERIFY_WITH_TIMEOUT(called, 30000);
        QCOMPARE(before.size(), 2);
        QVERIFY(isDocumentMessage(before[0]));
        QVERIFY(before[0].contains(u"Buy milk."_s));
        QVERIFY(before[1].contains(u"=== src/config/loader.cpp"_s)); // the whole small codebase
        QVERIFY(controller.attachments()->documents().isEmpty());    // sent: cleared
        QVERIFY(!controller.progress()->isHidden()); // reading the document is shown
        QCOMPARE(controller.codebase()->filesModel()->rowCount(), 2);

        QMimeData text;
        text.setText(u"not a file"_s);
        QVERIFY(!IngestController::canHandle(&text));
    }
};

QTEST_MAIN(TestIngestWidgets)
#include "test_ingest_widgets.moc"
