// Where the user writes: Enter sends, Shift+Enter inserts a newline, Esc stops (or cancels an
// edit). One button is Send while idle and Stop while a reply streams.
#pragma once

#include <QPlainTextEdit>
#include <QWidget>

class QLabel;
class QPushButton;
class QToolButton;

namespace gander::ui {

class ComposerEdit final : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit ComposerEdit(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(ComposerEdit)
    QSize sizeHint() const override;

signals:
    void submit();
    void escape();

protected:
    void keyPressEvent(QKeyEvent* event) override;
};

class Composer final : public QWidget {
    Q_OBJECT
public:
    explicit Composer(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(Composer)

    ComposerEdit* edit() const { return m_edit; }
    QPushButton* sendButton() const { return m_send; }
    void setReplying(bool replying);
    bool replying() const { return m_replying; }
    // Shown above the editor while an earlier message is being edited.
    void setEditing(bool editing);
    void setModelReady(bool ready);

signals:
    void sendRequested(const QString& text);
    void stopRequested();
    void editCancelled();

private:
    void trySend();

    ComposerEdit* m_edit;
    QPushButton* m_send;
    QWidget* m_editBanner;
    QLabel* m_hint;
    bool m_replying = false;
    bool m_editing = false;
    bool m_ready = false;
};

} // namespace gander::ui
