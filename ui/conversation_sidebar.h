// The left column: search box, "New conversation", the list (most recent first, or the search
// results with the matches highlighted), and the undo bar after a deletion.
#pragma once

#include <QTimer>
#include <QWidget>

class QLabel;
class QLineEdit;
class QListView;
class QPushButton;

namespace gander::app {
class ConversationListModel;
}

namespace gander::ui {

class ConversationSidebar final : public QWidget {
    Q_OBJECT
public:
    explicit ConversationSidebar(gander::app::ConversationListModel* model,
                                 QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(ConversationSidebar)

    QLineEdit* searchBox() const { return m_search; }
    QListView* list() const { return m_list; }
    QPushButton* undoButton() const { return m_undo; }
    qint64 currentId() const;
    void select(qint64 conversationId);
    void renameCurrent();
    // Shows "Deleted “title”  [Undo]" for a while.
    void offerUndo(const QString& title);
    void hideUndo();

signals:
    void conversationActivated(qint64 conversationId);
    void newRequested();
    void deleteRequested(qint64 conversationId);
    void undoRequested();

protected:
    void contextMenuEvent(QContextMenuEvent* event) override;

private:
    gander::app::ConversationListModel* m_model;
    QLineEdit* m_search;
    QListView* m_list;
    QWidget* m_undoBar;
    QLabel* m_undoText;
    QPushButton* m_undo;
    QTimer m_undoTimer;
    QTimer m_searchDelay;
};

} // namespace gander::ui
