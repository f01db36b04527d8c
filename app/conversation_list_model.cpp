#include "conversation_list_model.h"

#include "chat_store.h"

using namespace Qt::StringLiterals;

namespace gander::app {

ConversationListModel::ConversationListModel(ChatStore* store, QObject* parent)
    : QAbstractListModel(parent), m_store(store) {
    m_rows = fetch();
}

int ConversationListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

QVariant ConversationListModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& r = m_rows.at(index.row());
    switch (role) {
    case Qt::DisplayRole:
    case Qt::EditRole:
        return r.title;
    case Qt::ToolTipRole:
        return r.title;
    case IdRole:
        return r.id;
    case SnippetRole:
        return r.snippet;
    case UpdatedRole:
        return r.updated;
    default:
        return {};
    }
}

QHash<int, QByteArray> ConversationListModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert(IdRole, "conversationId");
    names.insert(SnippetRole, "snippet");
    names.insert(UpdatedRole, "updated");
    return names;
}

Qt::ItemFlags ConversationListModel::flags(const QModelIndex& index) const {
    if (!index.isValid()) return Qt::NoItemFlags;
    return QAbstractListModel::flags(index) | Qt::ItemIsEditable | Qt::ItemNeverHasChildren;
}

bool ConversationListModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::EditRole ||
        !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return false;
    const QString title = value.toString().simplified();
    Row& r = m_rows[index.row()];
    if (title.isEmpty() || title == r.title) return false;
    if (!m_store->renameConversation(r.id, title)) return false;
    r.title = title;
    emit dataChanged(index, index, {Qt::DisplayRole, Qt::EditRole, Qt::ToolTipRole});
    return true;
}

QList<ConversationListModel::Row> ConversationListModel::fetch() const {
    QList<Row> rows;
    if (!m_store || !m_store->isOpen()) return rows;
    if (m_query.trimmed().isEmpty()) {
        for (const Conversation& c : m_store->conversations())
            rows.append({c.id, c.title, QString(), c.updatedAt});
    } else {
        for (const SearchHit& h : m_store->search(m_query))
            rows.append({h.conversationId, h.title, h.snippet, QDateTime()});
    }
    return rows;
}

void ConversationListModel::setSearch(const QString& query) {
    if (query == m_query) return;
    m_query = query;
    reload();
}

void ConversationListModel::reload() {
    QList<Row> rows = fetch();
    // Same conversations in the same order (the usual case after a reply): update in place, so
    // that the selection and an open rename editor survive.
    bool sameOrder = rows.size() == m_rows.size();
    for (qsizetype i = 0; sameOrder && i < rows.size(); ++i) sameOrder = rows[i].id == m_rows[i].id;
    if (sameOrder) {
        for (qsizetype i = 0; i < rows.size(); ++i) {
            const Row& r = rows[i];
            const Row& old = m_rows[i];
            if (r.title == old.title && r.snippet == old.snippet && r.updated == old.updated)
                continue;
            m_rows[i] = r;
            emit dataChanged(index(int(i)), index(int(i)));
        }
        return;
    }
    beginResetModel();
    m_rows = std::move(rows);
    endResetModel();
}

int ConversationListModel::rowOf(qint64 conversationId) const {
    for (qsizetype i = 0; i < m_rows.size(); ++i)
        if (m_rows[i].id == conversationId) return int(i);
    return -1;
}

qint64 ConversationListModel::idAt(int row) const {
    return row >= 0 && row < m_rows.size() ? m_rows[row].id : 0;
}

} // namespace gander::app
