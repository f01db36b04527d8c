// The settings dialog over a real settings file: what is saved shows again, edits are saved, and
// "RWKV G1 defaults" restores the sampling defaults.
#include "app_settings.h"
#include "settings_dialog.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::app;
using namespace gander::ui;

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
    }
};

QTEST_MAIN(TestSettingsDialog)
#include "test_settings_dialog.moc"
