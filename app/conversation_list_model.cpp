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
    beginResetModel();
    m_rows = fetch();
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
