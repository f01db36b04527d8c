// Rows of (file, line ranges) from a CodeContext.
#include "context_files_model.h"

#include <QDir>
#include <QMap>

using namespace Qt::StringLiterals;

namespace gander::ingest {

ContextFilesModel::ContextFilesModel(QObject* parent) : QAbstractListModel(parent) {}

void ContextFilesModel::setContext(const QString& root, const CodeContext& context) {
    beginResetModel();
    m_root = root;
    m_rows.clear();
    QMap<QString, QStringList> ranges;
    for (const ChunkRef& c : context.chunks) {
        ranges[c.path] +=
            context.whole ? u"whole file"_s : u"%1-%2"_s.arg(c.startLine).arg(c.endLine);
    }
    for (auto it = ranges.cbegin(); it != ranges.cend(); ++it) {
        const QString text =
            context.whole ? it.value().first() : u"lines "_s + it.value().join(u", "_s);
        m_rows += Row{it.key(), text};
    }
    endResetModel();
}

void ContextFilesModel::clear() {
    beginResetModel();
    m_rows.clear();
    endResetModel();
}

int ContextFilesModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant ContextFilesModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& row = m_rows[index.row()];
    switch (role) {
    case Qt::DisplayRole:
        return u"%1  ·  %2"_s.arg(row.path, row.ranges);
    case PathRole:
        return row.path;
    case Qt::ToolTipRole:
        return u"%1 — %2"_s.arg(row.path, row.ranges);
    case AbsolutePathRole:
        return QDir(m_root).filePath(row.path);
    case RangesRole:
        return row.ranges;
    default:
        return {};
    }
}

QHash<int, QByteArray> ContextFilesModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert(PathRole, "path");
    names.insert(AbsolutePathRole, "absolutePath");
    names.insert(RangesRole, "ranges");
    return names;
}

} // namespace gander::ingest
