#include "transcript_model.h"

#include "chat_store.h"

using namespace Qt::StringLiterals;

namespace gander::app {

TranscriptModel::TranscriptModel(ChatStore* store, QObject* parent)
    : QAbstractListModel(parent), m_store(store) {}

int TranscriptModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(m_rows.size());
}

QString TranscriptModel::statsText(const ReplyStats& s) {
    QString text = u"%1 tokens · %2 tokens/s"_s.arg(s.tokens).arg(s.tokensPerSecond, 0, 'f', 1);
    if (s.finish == FinishReason::Stopped) text += u" · stopped"_s;
    if (s.finish == FinishReason::Length) text += u" · length limit"_s;
    return text;
}

QVariant TranscriptModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const Row& r = m_rows.at(index.row());
    const bool streamingRow = m_streaming && index.row() == m_rows.size() - 1;
    switch (role) {
    case Qt::DisplayRole:
        return r.message.text;
    case IdRole:
        return r.message.id;
    case RoleRole:
        return int(r.message.role);
    case StatsRole:
        if (r.message.role != Role::Assistant) return QString();
        return statsText(r.message.stats);
    case SiblingIndexRole:
        return r.siblingIndex;
    case SiblingCountRole:
        return r.siblingCount;
    case StreamingRole:
        return streamingRow;
    default:
        return {};
    }
}

QHash<int, QByteArray> TranscriptModel::roleNames() const {
    auto names = QAbstractListModel::roleNames();
    names.insert(IdRole, "messageId");
    names.insert(RoleRole, "role");
    names.insert(StatsRole, "stats");
    names.insert(SiblingIndexRole, "siblingIndex");
    names.insert(SiblingCountRole, "siblingCount");
    names.insert(StreamingRole, "streaming");
    return names;
}

void TranscriptModel::setConversation(qint64 conversationId) {
    m_conversation = conversationId;
    reload();
}

qint64 TranscriptModel::leafId() const {
    for (qsizetype i = m_rows.size() - 1; i >= 0; --i)
        if (m_rows[i].message.id != 0) return m_rows[i].message.id;
    return 0;
}

void TranscriptModel::reload() {
    beginResetModel();
    m_rows.clear();
    m_streaming = false;
    if (m_conversation && m_store && m_store->isOpen()) {
        if (const auto c = m_store->conversation(m_conversation)) {
            for (const Message& m : m_store->path(c->leafId))
                m_rows.append(Row{m, m.version, m.versions});
        }
    }
    endResetModel();
}

Message TranscriptModel::messageAt(int row) const {
    return row >= 0 && row < m_rows.size() ? m_rows[row].message : Message{};
}

QList<Message> TranscriptModel::messages() const {
    QList<Message> out;
    for (const Row& r : m_rows)
        if (r.message.id != 0) out.append(r.message);
    return out;
}

qint64 TranscriptModel::switchVersion(int row, int delta) {
    if (row < 0 || row >= m_rows.size() || m_streaming) return 0;
    const QList<qint64> siblings = m_store->siblings(m_rows[row].message.id);
    const qsizetype target = siblings.indexOf(m_rows[row].message.id) + delta;
    if (target < 0 || target >= siblings.size()) return 0;
    const qint64 leaf = m_store->branchEnd(siblings[target]);
    m_store->setLeaf(m_conversation, leaf);
    reload();
    return leaf;
}

void TranscriptModel::beginReply() {
    if (m_streaming) return;
    const int row = int(m_rows.size());
    beginInsertRows({}, row, row);
    Row r;
    r.message.conversationId = m_conversation;
    r.message.role = Role::Assistant;
    r.message.parentId = leafId();
    m_rows.append(r);
    m_streaming = true;
    endInsertRows();
}

void TranscriptModel::appendReply(const QString& text, int tokens, double tokensPerSecond) {
    if (!m_streaming) return;
    Row& r = m_rows.last();
    r.message.text += text;
    r.message.stats.tokens = tokens;
    r.message.stats.tokensPerSecond = tokensPerSecond;
    const QModelIndex i = index(int(m_rows.size()) - 1);
    emit dataChanged(i, i, {Qt::DisplayRole, StatsRole});
}

void TranscriptModel::endReply() {
    if (!m_streaming) return;
    const int row = int(m_rows.size()) - 1;
    beginRemoveRows({}, row, row);
    m_rows.removeLast();
    m_streaming = false;
    endRemoveRows();
}

QString TranscriptModel::replyText() const {
    return m_streaming ? m_rows.last().message.text : QString();
}

} // namespace gander::app
