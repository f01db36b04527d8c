// The documents attached to the message being written: one chip per document (name, token count,
// remove), a chip in red for a file that could not be read (with the reason as its tooltip), the
// note when a document will be summarised in parts, and a one-click "Summarise" action.
// Files dropped on the bar are offered through filesDropped(); the owner loads them
// (IngestHost::loadDocument) and calls addDocument()/addFailure() with the results.
#pragma once

#include <ingest_types.h>

#include <QFrame>
#include <QWidget>

class QHBoxLayout;
class QLabel;
class QPushButton;

namespace gander::ui {

// One attached document as the bar holds it: what the ingestion worker measured.
struct AttachedDocument {
    gander::ingest::Document document;
    int tokens = 0;
    bool exact = false;
    QString notice; // set when the document is over the budget: it will be summarised in parts
    bool inParts() const { return !notice.isEmpty(); }
};

class AttachmentChip final : public QFrame {
    Q_OBJECT
public:
    // `tokens` < 0: a failed document, `text` is the message.
    AttachmentChip(const QString& name, const QString& detail, const QString& tooltip, bool failed,
                   QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(AttachmentChip)
    QString name() const { return m_name; }

signals:
    void removeRequested();

protected:
    // Drawn from the current palette (not a style sheet), so a theme change repaints it right.
    void paintEvent(QPaintEvent* event) override;

private:
    QString m_name;
    bool m_failed;
};

class AttachmentBar final : public QWidget {
    Q_OBJECT
public:
    explicit AttachmentBar(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(AttachmentBar)

    void addDocument(const gander::ingest::Document& document, int tokens, bool exact,
                     const QString& notice);
    void addDocument(const AttachedDocument& attached);
    void addFailure(const QString& path, const QString& message);
    void clear();
    QList<gander::ingest::Document> documents() const;
    QList<AttachedDocument> attached() const { return m_attached; }
    bool hasDocumentsInParts() const;
    int totalTokens() const;

signals:
    void summariseRequested();
    void documentRemoved(const QString& path);
    void filesDropped(const QStringList& paths);
    void changed();

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void addChip(AttachmentChip* chip);
    void refresh();

    QHBoxLayout* m_chips;
    QLabel* m_notice;
    QPushButton* m_summarise;
    QList<AttachedDocument> m_attached;
};

} // namespace gander::ui
