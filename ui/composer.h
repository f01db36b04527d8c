// Where the user writes: Enter sends, Shift+Enter inserts a newline, Esc stops (or cancels an
// edit). One button is Send while idle and Stop while a reply streams; the paper clip beside the
// editor attaches documents. Pasted (or dropped) files are offered as attachments, and so is a
// pasted text too long to read in the editor; Ctrl+Shift+V pastes any text as text.
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

    // A pasted text longer than this becomes an attachment instead of flooding the editor.
    static constexpr int kLongPaste = 2000;

signals:
    void submit();
    void escape();
    void filesPasted(const QStringList& paths);
    void longTextPasted(const QString& text);
    void imagePasted();

protected:
    void keyPressEvent(QKeyEvent* event) override;
    bool canInsertFromMimeData(const QMimeData* source) const override;
    void insertFromMimeData(const QMimeData* source) override;
};

class Composer final : public QWidget {
    Q_OBJECT
public:
    explicit Composer(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(Composer)

    ComposerEdit* edit() const { return m_edit; }
    QPushButton* sendButton() const { return m_send; }
    QToolButton* attachButton() const { return m_attach; }
    void setReplying(bool replying);
    bool replying() const { return m_replying; }
    // Shown above the editor while an earlier message is being edited.
    void setEditing(bool editing);
    void setModelReady(bool ready);

signals:
    void sendRequested(const QString& text);
    void stopRequested();
    void editCancelled();
    void attachRequested();

private:
    void trySend();

    ComposerEdit* m_edit;
    QToolButton* m_attach;
    QPushButton* m_send;
    QWidget* m_editBanner;
    QLabel* m_hint;
    bool m_replying = false;
    bool m_editing = false;
    bool m_ready = false;
};

} // namespace gander::ui
