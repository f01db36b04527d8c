// A document message in the transcript, shown as a chip instead of its (long) text: a file icon,
// the document's name, its kind, pages and token count, or, for a document summarised in parts,
// the number of parts. A click (or Space/Enter) expands the message to its text and collapses it.
#pragma once

#include <QFrame>

class QLabel;

namespace gander::ui {

class DocumentChip final : public QFrame {
    Q_OBJECT
public:
    explicit DocumentChip(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(DocumentChip)

    // `detail`: "PDF · 12 pages · 12.3K tokens", "text · 180K tokens · summarised in 12 parts".
    void setDocument(const QString& name, const QString& detail);
    void setExpanded(bool expanded);
    bool expanded() const { return m_expanded; }
    QString name() const;
    QString detail() const;

signals:
    void toggled(bool expanded);

protected:
    void mouseReleaseEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void paintEvent(QPaintEvent* event) override;
    void enterEvent(QEnterEvent* event) override;
    void leaveEvent(QEvent* event) override;

private:
    QLabel* m_icon;
    QLabel* m_name;
    QLabel* m_detail;
    QLabel* m_arrow;
    bool m_expanded = false;
    bool m_hover = false;
};

} // namespace gander::ui
