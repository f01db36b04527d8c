// Schema history. Never edit a migration that has shipped: add a new one. tests/app holds a frozen
// copy of the version-1 schema and checks that it upgrades with its data intact.
#include "migrations.h"

using namespace Qt::StringLiterals;

namespace gander::app {

const QList<Migration>& migrations() {
    static const QList<Migration> all = {
        {1,
         {
             u"CREATE TABLE conversations ("
             "  id INTEGER PRIMARY KEY,"
             "  title TEXT NOT NULL,"
             "  created_at INTEGER NOT NULL,"
             "  updated_at INTEGER NOT NULL)"_s,
             u"CREATE TABLE messages ("
             "  id INTEGER PRIMARY KEY,"
             "  conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
             "  role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),"
             "  content TEXT NOT NULL,"
             "  created_at INTEGER NOT NULL)"_s,
             u"CREATE INDEX messages_by_conversation ON messages(conversation_id, id)"_s,
         }},
        // Branches: a message's parent is the message it answers or follows; an edit or a
        // regeneration adds a sibling instead of replacing. Existing history becomes one chain.
        {2,
         {
             u"ALTER TABLE messages ADD COLUMN parent_id INTEGER"
             "  REFERENCES messages(id) ON DELETE CASCADE"_s,
             u"UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p"
             "  WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)"_s,
             u"CREATE INDEX messages_by_parent ON messages(parent_id)"_s,
             u"ALTER TABLE messages ADD COLUMN tokens INTEGER NOT NULL DEFAULT 0"_s,
             u"ALTER TABLE messages ADD COLUMN tokens_per_second REAL NOT NULL DEFAULT 0"_s,
             u"ALTER TABLE messages ADD COLUMN prefill_tokens INTEGER NOT NULL DEFAULT 0"_s,
             u"ALTER TABLE messages ADD COLUMN finish INTEGER NOT NULL DEFAULT 0"_s,
             u"ALTER TABLE conversations ADD COLUMN leaf_id INTEGER"_s,
             u"ALTER TABLE conversations ADD COLUMN system_prompt TEXT NOT NULL DEFAULT ''"_s,
             u"ALTER TABLE conversations ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0"_s,
             u"UPDATE conversations SET leaf_id ="
             "  (SELECT max(id) FROM messages WHERE conversation_id = conversations.id)"_s,
         }},
        // Full-text search over message text. The trigram tokenizer matches substrings in any
        // script (Chinese and Japanese have no spaces for a word tokenizer to split on).
        {3,
         {
             u"CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages',"
             "  content_rowid='id', tokenize='trigram')"_s,
             u"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
             "  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"_s,
             u"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
             "  INSERT INTO messages_fts(messages_fts, rowid, content)"
             "  VALUES ('delete', old.id, old.content); END"_s,
             u"CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
             "  INSERT INTO messages_fts(messages_fts, rowid, content)"
             "  VALUES ('delete', old.id, old.content);"
             "  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END"_s,
             u"INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')"_s,
         }},
        // One saved session state per conversation: a cache of its text, valid only for the
        // message it ends at and the model (fingerprint) that made it.
        {4,
         {
             u"CREATE TABLE states ("
             "  conversation_id INTEGER PRIMARY KEY"
             "    REFERENCES conversations(id) ON DELETE CASCADE,"
             "  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
             "  fingerprint TEXT NOT NULL,"
             "  tokens INTEGER NOT NULL,"
             "  blob BLOB NOT NULL,"
             "  saved_at INTEGER NOT NULL)"_s,
         }},
    };
    return all;
}

int latestSchemaVersion() {
    return migrations().constLast().version;
}

} // namespace gander::app
