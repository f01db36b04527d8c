// The files a reply was given, as a list model for the codebase panel: one row per file ("path  ·
// lines 10-42, 80-120" or "... · whole file"), with the path and ranges also as roles. GUI thread.
#pragma once

#include "ingest_types.h"

#include <QAbstractListModel>

namespace gander::ingest {

class ContextFilesModel final : public QAbstractListModel {
    Q_OBJECT
public:
    enum Roles { PathRole = Qt::UserRole + 1, AbsolutePathRole, RangesRole };

    explicit ContextFilesModel(QObject* parent = nullptr);
    Q_DISABLE_COPY_MOVE(ContextFilesModel)

    // `root`: the codebase folder, to make absolute paths for opening the files.
    void setContext(const QString& root, const CodeContext& context);
    void clear();
    QString root() const { return m_root; }

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

private:
    struct Row {
        QString path;
        QString ranges;
    };
    QString m_root;
    QList<Row> m_rows;
};

} // namespace gander::ingest
