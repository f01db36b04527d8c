// The sidebar's list: every conversation, most recent first, or the search results.
// Reads through the GUI thread's ChatStore; changes only on the GUI thread.
#pragma once

#include "chat_types.h"

#include <QAbstractListModel>

namespace gander::app {

class ChatStore;

class ConversationListModel final : public QAbstractListModel {
    Q_OBJECT
public:
    enum Roles { IdRole = Qt::UserRole + 1, SnippetRole, UpdatedRole };

    explicit ConversationListModel(ChatStore* store, QObject* parent = nullptr);
    Q_DISABLE_COPY_MOVE(ConversationListModel)

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;
    // Titles are edited in place (rename); the new title is stored at once.
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

    // Empty: all conversations; otherwise the conversations whose text matches.
    void setSearch(const QString& query);
    QString search() const { return m_query; }
    void reload();
    int rowOf(qint64 conversationId) const;
    qint64 idAt(int row) const;

private:
    struct Row {
        qint64 id;
        QString title;
        QString snippet;
        QDateTime updated;
    };
    QList<Row> fetch() const;

    ChatStore* m_store;
    QString m_query;
    QList<Row> m_rows;
};

} // namespace gander::app
