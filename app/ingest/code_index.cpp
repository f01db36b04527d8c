// FTS5 index of a codebase: schema, incremental update by content hash, BM25 search.
#include "code_index.h"

#include "chunker.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringDecoder>
#include <QVariant>

#include <algorithm>
#include <atomic>
#include <tuple>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {

constexpr int kSchemaVersion = 1;
constexpr qint64 kChunkBits = 20; // up to a million chunks per file

std::atomic<int> g_connections{0};

const QSet<QString>& stopWords() {
    static const QSet<QString> words = {
        u"a"_s,       u"an"_s,      u"the"_s,      u"is"_s,      u"are"_s,    u"was"_s,
        u"be"_s,      u"to"_s,      u"of"_s,       u"in"_s,      u"on"_s,     u"for"_s,
        u"and"_s,     u"or"_s,      u"it"_s,       u"its"_s,     u"this"_s,   u"that"_s,
        u"what"_s,    u"where"_s,   u"which"_s,    u"who"_s,     u"how"_s,    u"why"_s,
        u"when"_s,    u"does"_s,    u"do"_s,       u"did"_s,     u"with"_s,   u"from"_s,
        u"by"_s,      u"at"_s,      u"as"_s,       u"can"_s,     u"i"_s,      u"me"_s,
        u"my"_s,      u"we"_s,      u"you"_s,      u"your"_s,    u"there"_s,  u"here"_s,
        u"about"_s,   u"into"_s,    u"should"_s,   u"would"_s,   u"could"_s,  u"please"_s,
        u"explain"_s, u"show"_s,    u"tell"_s,     u"find"_s,    u"code"_s,   u"file"_s,
        u"files"_s,   u"defined"_s, u"define"_s,   u"defines"_s, u"used"_s,   u"use"_s,
        u"work"_s,    u"works"_s,   u"function"_s, u"class"_s,   u"method"_s, u"implemented"_s,
        u"happen"_s,  u"happens"_s};
    return words;
}

QString readText(const QByteArray& bytes) {
    QStringDecoder decoder(QStringDecoder::Utf8);
    QString text = decoder.decode(bytes);
    if (decoder.hasError()) text = QString::fromLatin1(bytes);
    if (text.startsWith(QChar(0xFEFF))) text.remove(0, 1);
    return text;
}

// The identifiers of a chunk, split into words, for the `words` column.
QString identifierWords(const QString& text) {
    static const QRegularExpression ident(uR"([A-Za-z_][A-Za-z0-9_]*)"_s);
    QSet<QString> seen;
    QStringList out;
    for (auto it = ident.globalMatch(text); it.hasNext();) {
        const QString id = it.next().captured(0);
        if (seen.contains(id)) continue;
        seen.insert(id);
        const QStringList parts = splitIdentifier(id);
        if (parts.size() > 1) out += parts;
    }
    return out.join(u' ');
}

} // namespace

CodeIndex::CodeIndex() : m_connection(u"gander-code-index-%1"_s.arg(g_connections.fetch_add(1))) {}

CodeIndex::~CodeIndex() {
    if (QSqlDatabase::contains(m_connection)) {
        QSqlDatabase::database(m_connection, false).close();
        QSqlDatabase::removeDatabase(m_connection);
    }
}

bool CodeIndex::open(const QString& path) {
    if (openOnce(path)) return true;
    if (!QFileInfo::exists(path)) return false;
    // Damaged or not SQLite at all: the index is a cache, so start it again from nothing.
    QSqlDatabase::database(m_connection, false).close();
    for (const QString& suffix : {QString(), u"-wal"_s, u"-shm"_s}) QFile::remove(path + suffix);
    return openOnce(path);
}

bool CodeIndex::openOnce(const QString& path) {
    m_open = false;
    QDir().mkpath(QFileInfo(path).absolutePath());
    auto db = QSqlDatabase::contains(m_connection)
                  ? QSqlDatabase::database(m_connection, false)
                  : QSqlDatabase::addDatabase(u"QSQLITE"_s, m_connection);
    db.setDatabaseName(path);
    if (!db.open()) {
        m_error = u"%1: %2"_s.arg(path, db.lastError().text());
        return false;
    }
    QSqlQuery q(db);
    q.exec(u"PRAGMA journal_mode=WAL"_s);
    q.exec(u"PRAGMA synchronous=NORMAL"_s);
    int version = 0;
    if (q.exec(u"PRAGMA user_version"_s) && q.next()) version = q.value(0).toInt();
    if (version != kSchemaVersion) {
        // The index is a cache: an old or foreign layout is dropped and rebuilt.
        const QStringList drop = {u"DROP TABLE IF EXISTS chunks"_s, u"DROP TABLE IF EXISTS files"_s,
                                  u"DROP TABLE IF EXISTS meta"_s};
        const QStringList create = {
            u"CREATE TABLE files (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE,"
            " hash TEXT NOT NULL, bytes INTEGER NOT NULL, lines INTEGER NOT NULL,"
            " content TEXT NOT NULL)"_s,
            u"CREATE VIRTUAL TABLE chunks USING fts5(path UNINDEXED, start_line UNINDEXED,"
            " end_line UNINDEXED, body, words, defs, tokenize = \"unicode61 tokenchars '_'\")"_s,
            u"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)"_s,
            u"PRAGMA user_version = %1"_s.arg(kSchemaVersion)};
        db.transaction();
        for (const QString& s : drop + create) {
            if (!q.exec(s)) {
                m_error = u"%1: %2"_s.arg(path, q.lastError().text());
                db.rollback();
                return false;
            }
        }
        db.commit();
    }
    m_open = true;
    return true;
}

IndexReport CodeIndex::update(const FileSetResult& set, const Progress& progress) {
    IndexReport report;
    QElapsedTimer clock;
    clock.start();
    if (!m_open) {
        report.error = u"the index is not open"_s;
        return report;
    }
    auto db = QSqlDatabase::database(m_connection, false);
    QSqlQuery q(db);

    QHash<QString, QPair<qint64, QString>> known; // path -> (id, hash)
    q.exec(u"SELECT id, path, hash FROM files"_s);
    while (q.next())
        known.insert(q.value(1).toString(), {q.value(0).toLongLong(), q.value(2).toString()});

    QSqlQuery insertFile(db), updateFile(db), deleteFile(db), insertChunk(db), deleteChunks(db);
    insertFile.prepare(
        u"INSERT INTO files (path, hash, bytes, lines, content) VALUES (?,?,?,?,?)"_s);
    updateFile.prepare(u"UPDATE files SET hash=?, bytes=?, lines=?, content=? WHERE id=?"_s);
    deleteFile.prepare(u"DELETE FROM files WHERE id=?"_s);
    insertChunk.prepare(u"INSERT INTO chunks (rowid, path, start_line, end_line, body, words, defs)"
                        " VALUES (?,?,?,?,?,?,?)"_s);
    deleteChunks.prepare(u"DELETE FROM chunks WHERE rowid >= ? AND rowid < ?"_s);

    auto fail = [&](const QSqlQuery& query) {
        report.error = query.lastError().text();
        db.rollback();
        return report;
    };

    const QDir root(set.root);
    const int total = int(set.files.size());
    db.transaction();
    int done = 0;
    for (const QString& path : set.files) {
        if (progress && !progress(done, total)) {
            report.cancelled = true;
            break;
        }
        ++done;
        QFile file(root.filePath(path));
        if (!file.open(QIODevice::ReadOnly)) continue; // vanished since the scan
        const QByteArray bytes = file.readAll();
        report.bytesRead += bytes.size();
        const QString hash =
            QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha1).toHex());
        const auto it = known.constFind(path);
        if (it != known.constEnd() && it->second == hash) {
            ++report.unchanged;
            continue;
        }
        const QString text = readText(bytes);
        const QList<Chunk> chunks = chunkText(text);
        const int lines = chunks.isEmpty() ? 0 : chunks.last().endLine;
        qint64 id = 0;
        if (it != known.constEnd()) {
            id = it->first;
            deleteChunks.addBindValue(id << kChunkBits);
            deleteChunks.addBindValue((id + 1) << kChunkBits);
            if (!deleteChunks.exec()) return fail(deleteChunks);
            updateFile.addBindValue(hash);
            updateFile.addBindValue(bytes.size());
            updateFile.addBindValue(lines);
            updateFile.addBindValue(text);
            updateFile.addBindValue(id);
            if (!updateFile.exec()) return fail(updateFile);
        } else {
            insertFile.addBindValue(path);
            insertFile.addBindValue(hash);
            insertFile.addBindValue(bytes.size());
            insertFile.addBindValue(lines);
            insertFile.addBindValue(text);
            if (!insertFile.exec()) return fail(insertFile);
            id = insertFile.lastInsertId().toLongLong();
        }
        qint64 n = 0;
        for (const Chunk& c : chunks) {
            if (n >= (qint64(1) << kChunkBits)) break;
            insertChunk.addBindValue((id << kChunkBits) + n++);
            insertChunk.addBindValue(path);
            insertChunk.addBindValue(c.startLine);
            insertChunk.addBindValue(c.endLine);
            insertChunk.addBindValue(c.text);
            insertChunk.addBindValue(identifierWords(c.text));
            // Defined names whole and split, so "user settings" finds load_user_settings'
            // definition before its callers.
            QStringList defs = c.defines;
            for (const QString& d : c.defines)
                if (const QStringList parts = splitIdentifier(d); parts.size() > 1) defs += parts;
            insertChunk.addBindValue(defs.join(u' '));
            if (!insertChunk.exec()) return fail(insertChunk);
        }
        ++report.updated;
    }

    if (!report.cancelled) {
        // Files that left the set (deleted, now ignored, now too large) leave the index.
        const QSet<QString> present(set.files.cbegin(), set.files.cend());
        for (auto it = known.cbegin(); it != known.cend(); ++it) {
            if (present.contains(it.key())) continue;
            deleteChunks.addBindValue(it->first << kChunkBits);
            deleteChunks.addBindValue((it->first + 1) << kChunkBits);
            if (!deleteChunks.exec()) return fail(deleteChunks);
            deleteFile.addBindValue(it->first);
            if (!deleteFile.exec()) return fail(deleteFile);
            ++report.removed;
        }
        q.prepare(u"INSERT OR REPLACE INTO meta (key, value) VALUES ('root', ?)"_s);
        q.addBindValue(set.root);
        q.exec();
        if (progress) progress(total, total);
    }
    if (!db.commit()) {
        report.error = db.lastError().text();
        db.rollback();
        return report;
    }
    report.files = int(files().size());
    report.chunks = chunkCount();
    report.seconds = clock.nsecsElapsed() / 1e9;
    return report;
}

QString CodeIndex::ftsQuery(const QString& question) {
    static const QRegularExpression word(uR"([A-Za-z_][A-Za-z0-9_]*|[0-9]+)"_s);
    QStringList terms;
    auto add = [&](const QString& t) {
        const QString lower = t.toLower();
        if (lower.size() < 2 || stopWords().contains(lower) || terms.contains(lower)) return;
        terms += lower;
    };
    for (auto it = word.globalMatch(question); it.hasNext();) {
        const QString w = it.next().captured(0);
        add(w); // whole: matches identifiers in body and defs
        const QStringList parts = splitIdentifier(w);
        if (parts.size() > 1)
            for (const QString& p : parts) add(p); // parts: match the words column
        if (terms.size() >= 48) break;
    }
    QStringList quoted;
    for (const QString& t : terms) quoted += u'"' + t + u'"';
    return quoted.join(u" OR "_s);
}

QList<ScoredChunk> CodeIndex::search(const QString& question, int limit) const {
    QList<ScoredChunk> out;
    const QString match = ftsQuery(question);
    if (!m_open || match.isEmpty()) return out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    // Column weights: path, start, end (unindexed), body, words, defs.
    q.prepare(u"SELECT path, start_line, end_line, body, bm25(chunks, 0, 0, 0, 1.0, 0.5, 12.0) AS s"
              " FROM chunks WHERE chunks MATCH ? ORDER BY s LIMIT ?"_s);
    q.addBindValue(match);
    q.addBindValue(limit);
    if (!q.exec()) return out;
    while (q.next()) {
        ScoredChunk c;
        c.ref.path = q.value(0).toString();
        c.ref.startLine = q.value(1).toInt();
        c.ref.endLine = q.value(2).toInt();
        c.text = q.value(3).toString();
        c.ref.score = -q.value(4).toDouble(); // bm25() is lower for better matches
        out += c;
    }
    return out;
}

QList<ScoredChunk> CodeIndex::overview(int limit) const {
    QList<ScoredChunk> out;
    if (!m_open) return out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.prepare(u"SELECT path, start_line, end_line, body FROM chunks WHERE (rowid & ?) = 0"_s);
    q.addBindValue((qint64(1) << kChunkBits) - 1);
    if (!q.exec()) return out;
    while (q.next())
        out += ScoredChunk{{q.value(0).toString(), q.value(1).toInt(), q.value(2).toInt(), 0},
                           q.value(3).toString()};
    auto rank = [](const QString& path) {
        const bool readme = path.section(u'/', -1).toLower().startsWith(u"readme"_s);
        return std::tuple(!readme, path.count(u'/'), path);
    };
    std::sort(out.begin(), out.end(), [&](const ScoredChunk& a, const ScoredChunk& b) {
        return rank(a.ref.path) < rank(b.ref.path);
    });
    if (out.size() > limit) out.resize(limit);
    return out;
}

QStringList CodeIndex::files() const {
    QStringList out;
    if (!m_open) return out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.exec(u"SELECT path FROM files ORDER BY path"_s);
    while (q.next()) out += q.value(0).toString();
    return out;
}

qint64 CodeIndex::totalBytes() const {
    if (!m_open) return 0;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    return q.exec(u"SELECT COALESCE(SUM(bytes), 0) FROM files"_s) && q.next()
               ? q.value(0).toLongLong()
               : 0;
}

int CodeIndex::chunkCount() const {
    if (!m_open) return 0;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    return q.exec(u"SELECT COUNT(*) FROM chunks"_s) && q.next() ? q.value(0).toInt() : 0;
}

QList<IndexedFile> CodeIndex::allFiles() const {
    QList<IndexedFile> out;
    if (!m_open) return out;
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    q.exec(u"SELECT path, content, lines FROM files ORDER BY path"_s);
    while (q.next())
        out += IndexedFile{q.value(0).toString(), q.value(1).toString(), q.value(2).toInt()};
    return out;
}

QString CodeIndex::root() const {
    if (!m_open) return {};
    QSqlQuery q(QSqlDatabase::database(m_connection, false));
    return q.exec(u"SELECT value FROM meta WHERE key = 'root'"_s) && q.next()
               ? q.value(0).toString()
               : QString();
}

} // namespace gander::ingest
