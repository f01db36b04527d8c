// A codebase to ask about: choose or drop a folder; see how many files were indexed and how many
// were skipped and why; follow the indexing with progress, speed and Cancel; and see the files the
// last reply was given (a click opens one with the desktop's default application).
//
// The panel only shows and asks: the owner connects folderChosen() to IngestHost::indexCodebase,
// the worker's signals to the set...() slots, and cancelRequested() to IngestHost::cancel().
#pragma once

#include <ingest_types.h>

#include <QWidget>

class QLabel;
class QListView;
class QPushButton;

namespace gander::ingest {
class ContextFilesModel;
}

namespace gander::ui {

class PrefillProgress;

class CodebasePanel final : public QWidget {
    Q_OBJECT
public:
    explicit CodebasePanel(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(CodebasePanel)

    QString folder() const { return m_folder; }
    gander::ingest::ContextFilesModel* filesModel() const { return m_model; }
    // "4 ignored, 2 lock files, 3 build folders, 5 binary, 1 too large" (empty when none).
    static QString skippedText(const gander::ingest::SkipCounts& skipped);

public slots:
    // A folder dialog, then setFolder().
    void chooseFolder();
    // Takes the folder as the codebase and asks for it to be indexed.
    void setFolder(const QString& folder);
    void setScanResult(const gander::ingest::FileSetResult& files);
    void setIndexProgress(int done, int total, double filesPerSecond);
    void setIndexReport(const gander::ingest::IndexReport& report);
    void setContext(const gander::ingest::CodeContext& context);

signals:
    void folderChosen(const QString& folder);
    void cancelRequested();
    void fileOpened(const QString& path);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    QString m_folder;
    QLabel* m_title;
    QLabel* m_dropHint;
    QLabel* m_status;
    QLabel* m_skipped;
    QPushButton* m_choose;
    PrefillProgress* m_progress;
    QLabel* m_filesTitle;
    QListView* m_files;
    gander::ingest::ContextFilesModel* m_model;
    gander::ingest::FileSetResult m_scan;
};

} // namespace gander::ui
