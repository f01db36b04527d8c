// Progress of reading a document into the model (or of indexing a codebase): what is being read,
// a bar, the speed ("2,306 tokens/s, 12 s left") and Cancel. The owner feeds it fractions from the
// engine's progress signal; the speed is computed here from the elapsed time.
#pragma once

#include <QElapsedTimer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace gander::ui {

class PrefillProgress final : public QWidget {
    Q_OBJECT
public:
    explicit PrefillProgress(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(PrefillProgress)

    // `units`: what the total counts ("tokens", "files"); the speed is given in them.
    void start(const QString& title, qint64 total, const QString& units = tr("tokens"));
    void setProgress(double done);
    // A new title while it runs ("… part 3 of 12"), unless a cancel is under way.
    void setTitle(const QString& title);
    QString title() const;
    // Hides the widget; `message` (e.g. "Read from the cache: no prefill") shows instead if given.
    void finish(const QString& message = {});
    double progress() const { return m_done; }
    QString speedText() const;

signals:
    void cancelRequested();

private:
    QLabel* m_title;
    QProgressBar* m_bar;
    QLabel* m_speed;
    QPushButton* m_cancel;
    QElapsedTimer m_clock;
    qint64 m_total = 0;
    QString m_units;
    double m_done = 0;
};

} // namespace gander::ui
