// The settings dialog over a real settings file: what is saved shows again, edits are saved, and
// "RWKV G1 defaults" restores the sampling defaults. The API server page round-trips and turns a
// real server on and off while the window runs (a TCP connection to it succeeds, then is
// refused); the remote page asks before its first use.
#include "../app/fixtures.h"

#include "app_settings.h"
#include "main_window.h"
#include "server_control.h"
#include "settings_dialog.h"
#include "settings_network.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

using namespace Qt::StringLiterals;
using namespace gander::app;
using namespace gander::ui;
using gander::server::ServerControl;

namespace {

template <typename T> T* named(QWidget* w, const QString& name) {
    T* found = w->findChild<T*>(name);
    if (!found) qWarning("no %s", qPrintable(name));
    return found;
}

// A loopback port nobody listens on (free a moment ago).
quint16 freePort() {
    QTcpServer probe;
    if (!probe.listen(QHostAddress::LocalHost)) return 0;
    return probe.serverPort();
}

// Connects to 127.0.0.1:port; true when something accepted the connection.
bool accepts(quint16 port, QAbstractSocket::SocketError* error = nullptr) {
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    const bool ok = socket.waitForConnected(5000);
    if (error) *error = socket.error();
    return ok;
}

// One HTTP request on a fresh connection; the status line's code (0: no answer).
int httpStatus(quint16 port, const QByteArray& request) {
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(5000)) return 0;
    socket.write(request);
    QByteArray answer;
    while (!answer.contains("\r\n") && socket.waitForReadyRead(10000)) answer += socket.readAll();
    const QList<QByteArray> words = answer.split(' ');
    return words.size() > 1 ? words[1].toInt() : 0;
}

void clickButton(QDialogButtonBox* box, QDialogButtonBox::StandardButton which) {
    QTest::mouseClick(box->button(which), Qt::LeftButton);
}

} // namespace

class TestSettingsDialog final : public QObject {
    Q_OBJECT
private slots:
    void roundTripsEveryField() {
        QTemporaryDir dir;
        AppSettings settings(dir.filePath(u"s.ini"_s));
        settings.setModelPath(u"/models/rwkv7-g1.pth"_s);
        settings.setBackend(u"cpu"_s);
        settings.setPrecision(u"int8"_s);
        settings.setThreads(3);
        Sampling s;
        s.temperature = 0.7;
        s.topP = 0.5;
        s.topK = 40;
        settings.setSampling(s);
        settings.setMaxReplyTokens(777);
        settings.setSystemPrompt(u"Be kind."_s);
        settings.setTheme(Theme::Dark);
        settings.setDataDir(dir.filePath(u"data"_s));

        SettingsDialog dialog(&settings);
        dialog.save(); // unchanged fields write back what they showed
        QCOMPARE(settings.modelPath(), u"/models/rwkv7-g1.pth"_s);
        QCOMPARE(settings.backend(), u"cpu"_s);
        QCOMPARE(settings.precision(), u"int8"_s);
        QCOMPARE(settings.threads(), 3);
        QCOMPARE(settings.sampling().temperature, 0.7);
        QCOMPARE(settings.sampling().topK, 40);
        QCOMPARE(settings.maxReplyTokens(), 777);
        QCOMPARE(settings.systemPrompt(), u"Be kind."_s);
        QCOMPARE(settings.theme(), Theme::Dark);
        QCOMPARE(settings.databasePath(), dir.filePath(u"data/gander.db"_s));

        dialog.findChild<QPlainTextEdit*>()->setPlainText(u"Answer in French."_s);
        for (QPushButton* b : dialog.findChildren<QPushButton*>())
            if (b->text() == u"RWKV G1 defaults"_s) QTest::mouseClick(b, Qt::LeftButton);
        dialog.save();
        QCOMPARE(settings.systemPrompt(), u"Answer in French."_s);
        const Sampling g1;
        QCOMPARE(settings.sampling().temperature, g1.temperature);
        QCOMPARE(settings.sampling().topP, g1.topP);
        QCOMPARE(settings.sampling().topK, g1.topK);
        QCOMPARE(settings.sampling().presencePenalty, g1.presencePenalty);
        QCOMPARE(settings.sampling().frequencyPenalty, g1.frequencyPenalty);
        QCOMPARE(settings.sampling().penaltyDecay, g1.penaltyDecay);
    }

    void defaultsAreTheG1Chat() {
        QTemporaryDir dir;
        AppSettings settings(dir.filePath(u"empty.ini"_s));
        const Sampling s = settings.sampling();
        QCOMPARE(s.temperature, 1.0);
        QCOMPARE(s.topP, 0.3);
        QCOMPARE(s.presencePenalty, 0.5);
        QCOMPARE(s.frequencyPenalty, 0.5);
        QCOMPARE(s.penaltyDecay, 0.996);
        QCOMPARE(settings.backend(), u"auto"_s);
        QCOMPARE(settings.theme(), Theme::System);
        QVERIFY(!settings.serverEnabled()); // nothing listens unless the user says so
        QCOMPARE(settings.serverPort(), 8089);
        QVERIFY(!settings.remoteEnabled()); // nothing is sent anywhere unless the user says so
        QVERIFY(!settings.remoteConfirmed());
    }

    void serverPageRoundTrips() {
        QTemporaryDir dir;
        AppSettings settings(dir.filePath(u"s.ini"_s));
        settings.setServerEnabled(true);
        settings.setServerPort(18089);
        settings.setServerApiKey(u"s3cret"_s);
        SettingsDialog dialog(&settings);
        dialog.save();
        QVERIFY(settings.serverEnabled());
        QCOMPARE(settings.serverPort(), 18089);
        QCOMPARE(settings.serverApiKey(), u"s3cret"_s);

        auto* enabled = named<QCheckBox>(&dialog, u"serverEnabled"_s);
        auto* port = named<QSpinBox>(&dialog, u"serverPort"_s);
        auto* key = named<QLineEdit>(&dialog, u"serverKey"_s);
        auto* reveal = named<QToolButton>(&dialog, u"serverKeyReveal"_s);
        auto* address = named<QLabel>(&dialog, u"serverAddress"_s);
        QVERIFY(enabled && port && key && reveal && address);
        QVERIFY(enabled->isChecked());
        QCOMPARE(address->text(), u"http://127.0.0.1:18089/v1"_s);
        // The key is masked until the user asks to see it.
        QCOMPARE(key->echoMode(), QLineEdit::Password);
        QTest::mouseClick(reveal, Qt::LeftButton);
        QCOMPARE(key->echoMode(), QLineEdit::Normal);
        QTest::mouseClick(reveal, Qt::LeftButton);
        QCOMPARE(key->echoMode(), QLineEdit::Password);

        QTest::mouseClick(named<QPushButton>(&dialog, u"serverKeyGenerate"_s), Qt::LeftButton);
        const QString generated = key->text();
        QCOMPARE(generated.size(), 32);
        QVERIFY(generated != u"s3cret"_s);
        for (QChar c : generated) QVERIFY(c.isLetterOrNumber() && c.unicode() < 128);
        QTest::mouseClick(named<QPushButton>(&dialog, u"serverKeyGenerate"_s), Qt::LeftButton);
        QVERIFY(key->text() != generated); // a new one each time
        port->setValue(9123);
        QCOMPARE(address->text(), u"http://127.0.0.1:9123/v1"_s);
        enabled->setChecked(false);
        dialog.save();
        QVERIFY(!settings.serverEnabled());
        QCOMPARE(settings.serverPort(), 9123);
        QCOMPARE(settings.serverApiKey(), key->text());
        // The file holds it, for the next start.
        AppSettings again(dir.filePath(u"s.ini"_s));
        QCOMPARE(again.serverPort(), 9123);
        QCOMPARE(again.serverApiKey(), key->text());
    }

    // The first time the remote backend is ticked, the user is asked; Cancel leaves it off.
    void remotePageAsksFirstAndRoundTrips() {
        QTemporaryDir dir;
        AppSettings settings(dir.filePath(u"s.ini"_s));
        SettingsDialog dialog(&settings);
        auto* page = dialog.remotePage();
        auto* enabled = named<QCheckBox>(&dialog, u"remoteEnabled"_s);
        auto* url = named<QLineEdit>(&dialog, u"remoteUrl"_s);
        auto* key = named<QLineEdit>(&dialog, u"remoteKey"_s);
        auto* model = named<QComboBox>(&dialog, u"remoteModel"_s);
        auto* warning = named<QLabel>(&dialog, u"remoteWarning"_s);
        QVERIFY(enabled && url && key && model && warning);
        QVERIFY(!enabled->isChecked());
        QVERIFY(warning->text().contains(u"off this computer"_s));
        QCOMPARE(key->echoMode(), QLineEdit::Password);

        url->setText(u"gpu-box.example:8000"_s);
        QVERIFY(warning->text().contains(u"off this computer"_s));
        QTest::mouseClick(enabled, Qt::LeftButton);
        QVERIFY(!enabled->isChecked());
        QVERIFY(page->confirmation());
        QVERIFY(page->confirmation()->text().contains(u"gpu-box.example"_s));
        grabFor(&dialog, u"settings-remote-off-machine"_s, 5);
        if (const QString dir = qEnvironmentVariable("GANDER_GRAB_DIR"); !dir.isEmpty())
            page->confirmation()->grab().save(QDir(dir).filePath(u"remote-confirm.png"_s));
        QTest::mouseClick(page->confirmation()->button(QMessageBox::Cancel), Qt::LeftButton);
        QTRY_VERIFY(!page->confirmation());
        QVERIFY(!enabled->isChecked());
        dialog.save();
        QVERIFY(!settings.remoteEnabled());
        QVERIFY(!settings.remoteConfirmed());

        QTest::mouseClick(enabled, Qt::LeftButton);
        QVERIFY(page->confirmation());
        QTest::mouseClick(named<QPushButton>(page->confirmation(), u"remoteConfirmYes"_s),
                          Qt::LeftButton);
        QTRY_VERIFY(!page->confirmation());
        QVERIFY(enabled->isChecked());
        key->setText(u"  k3y "_s);
        model->setEditText(u"llama-3-70b"_s);
        dialog.save();
        QVERIFY(settings.remoteEnabled());
        QVERIFY(settings.remoteConfirmed());
        QCOMPARE(settings.remoteUrl(), u"gpu-box.example:8000"_s);
        QCOMPARE(settings.remoteApiKey(), u"k3y"_s);
        QCOMPARE(settings.remoteModel(), u"llama-3-70b"_s);

        // Once agreed, turning it off and on again asks nothing.
        SettingsDialog second(&settings);
        auto* enabled2 = named<QCheckBox>(&second, u"remoteEnabled"_s);
        QVERIFY(enabled2->isChecked());
        QCOMPARE(named<QComboBox>(&second, u"remoteModel"_s)->currentText(), u"llama-3-70b"_s);
        QTest::mouseClick(enabled2, Qt::LeftButton);
        QTest::mouseClick(enabled2, Qt::LeftButton);
        QVERIFY(enabled2->isChecked());
        QVERIFY(!second.remotePage()->confirmation());

        // A server on this computer is said to be one.
        named<QLineEdit>(&second, u"remoteUrl"_s)->setText(u"http://127.0.0.1:8089/v1"_s);
        QVERIFY(named<QLabel>(&second, u"remoteWarning"_s)->text().contains(u"stays here"_s));
        grabFor(&second, u"settings-remote"_s, 5);
    }

    // Apply in the window's settings dialog starts the API server, and again stops it: a TCP
    // connection to its port is accepted, then refused. A taken port and a key are handled.
    void serverStartsAndStopsLive() {
        const QString model = gander::testing::fixturePath(u"rwkv7/trained-tiny.pth"_s);
        GANDER_REQUIRE_FIXTURE(model);
        QTemporaryDir dir;
        AppSettings settings(dir.filePath(u"s.ini"_s));
        settings.setDataDir(dir.filePath(u"data"_s));
        settings.setModelPath(model);
        settings.setBackend(u"cpu"_s);
        settings.setThreads(1);
        MainWindow window(&settings);
        window.show();
        QCOMPARE(window.serverControl()->state(), ServerControl::State::Off);

        window.action(u"settings"_s)->trigger();
        auto* dialog = window.findChild<SettingsDialog*>();
        QVERIFY(dialog);
        QTRY_VERIFY(dialog->isVisible());
        auto* buttons = dialog->findChild<QDialogButtonBox*>();
        auto* enabled = named<QCheckBox>(dialog, u"serverEnabled"_s);
        auto* port = named<QSpinBox>(dialog, u"serverPort"_s);
        auto* status = named<QLabel>(dialog, u"serverStatus"_s);
        QVERIFY(buttons && enabled && port && status);
        QVERIFY(status->text().startsWith(u"Off"_s));

        const quint16 p = freePort();
        QVERIFY(p >= 1024);
        QVERIFY(!accepts(p));
        port->setValue(p);
        QTest::mouseClick(enabled, Qt::LeftButton);
        QVERIFY(status->text().contains(u"press Apply"_s));
        clickButton(buttons, QDialogButtonBox::Apply);
        QTRY_VERIFY_WITH_TIMEOUT(window.serverControl()->state() == ServerControl::State::Running,
                                 60000);
        QVERIFY2(status->text().contains(u"Running at http://127.0.0.1:%1/v1"_s.arg(p)),
                 qPrintable(status->text()));
        QVERIFY(accepts(p));
        QCOMPARE(httpStatus(p, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"), 200);
        grabFor(dialog, u"settings-server"_s, 4);

        // A key, applied: the running server restarts and asks for it.
        auto* key = named<QLineEdit>(dialog, u"serverKey"_s);
        key->setText(u"k3y"_s);
        clickButton(buttons, QDialogButtonBox::Apply);
        QTRY_VERIFY_WITH_TIMEOUT(window.serverControl()->state() == ServerControl::State::Running,
                                 60000);
        QCOMPARE(httpStatus(p, "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n"), 401);
        QCOMPARE(httpStatus(p, "GET /v1/models HTTP/1.1\r\nHost: x\r\n"
                               "Authorization: Bearer k3y\r\n\r\n"),
                 200);

        // Off: the port is closed at once, the window goes on.
        QTest::mouseClick(enabled, Qt::LeftButton);
        clickButton(buttons, QDialogButtonBox::Apply);
        QCOMPARE(window.serverControl()->state(), ServerControl::State::Off);
        QVERIFY(status->text().startsWith(u"Off"_s));
        QAbstractSocket::SocketError error{};
        QVERIFY(!accepts(p, &error));
        QCOMPARE(error, QAbstractSocket::ConnectionRefusedError);

        // A port another program holds: the status line says so, nothing crashes.
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress::LocalHost));
        port->setValue(squatter.serverPort());
        QTest::mouseClick(enabled, Qt::LeftButton);
        clickButton(buttons, QDialogButtonBox::Apply);
        QTRY_VERIFY_WITH_TIMEOUT(window.serverControl()->state() == ServerControl::State::Failed,
                                 60000);
        QVERIFY2(status->text().contains(u"in use"_s), qPrintable(status->text()));
        grabFor(dialog, u"settings-server-port-in-use"_s, 4);
        // Freed, and applied again: it runs (a failure is not remembered as "no change").
        squatter.close();
        clickButton(buttons, QDialogButtonBox::Apply);
        QTRY_VERIFY_WITH_TIMEOUT(window.serverControl()->state() == ServerControl::State::Running,
                                 60000);
        QVERIFY(accepts(port->value()));

        const int chosen = port->value();
        clickButton(buttons, QDialogButtonBox::Ok); // the dialog deletes itself when closed
        QTRY_VERIFY(!window.findChild<SettingsDialog*>());
        QCOMPARE(window.serverControl()->state(), ServerControl::State::Running);
        AppSettings saved(dir.filePath(u"s.ini"_s));
        QVERIFY(saved.serverEnabled());
        QCOMPARE(saved.serverPort(), chosen);
        QCOMPARE(saved.serverApiKey(), u"k3y"_s);
    }

private:
    // With GANDER_GRAB_DIR set, the dialog's page `tab` is saved there as NAME.png (to look at).
    static void grabFor(QDialog* dialog, const QString& name, int tab) {
        const QString dir = qEnvironmentVariable("GANDER_GRAB_DIR");
        if (dir.isEmpty()) return;
        if (auto* tabs = dialog->findChild<QTabWidget*>()) tabs->setCurrentIndex(tab);
        dialog->show();
        dialog->grab().save(QDir(dir).filePath(name + u".png"_s));
    }
};

QTEST_MAIN(TestSettingsDialog)
#include "test_settings_dialog.moc"
