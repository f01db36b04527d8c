// The full-text index of a codebase, in its own SQLite file (never in the chat database: it is a
// cache that can be deleted and rebuilt at any time).
//
//   files(id, path, hash, bytes, lines, content)     one row per indexed file
//   chunks: FTS5(path, start_line, end_line, body, words, defs)
//     body  the chunk's text (identifiers stay whole: '_' is a token character)
//     words the chunk's identifiers split into words (parseConfig -> parse config)
//     defs  the identifiers the chunk defines, ranked far above mere uses
//   a chunk's rowid is (file id << 20) + its number, so a file's chunks go in one range delete.
//
// update() re-chunks only files whose content hash changed and drops files that left the set.
// One CodeIndex is one connection: create and use it on one thread (each thread its own).
// Failures never throw: update() reports them in IndexReport::error, the others return empty.
#pragma once

#include "ingest_types.h"

#include <functional>

namespace gander::ingest {

struct ScoredChunk {
    ChunkRef ref;
    QString text;
};

struct IndexedFile {
    QString path;
    QString content;
    int lines = 0;
};

class CodeIndex final {
public:
    CodeIndex();
    ~CodeIndex();
    Q_DISABLE_COPY_MOVE(CodeIndex)

    // Creates the file if needed. A file that is not an index of this version is rebuilt empty;
    // a damaged one (or one that is not SQLite) is deleted and made again: pass only paths that
    // hold indexes (IngestHost::indexPathFor).
    bool open(const QString& path);
    bool isOpen() const { return m_open; }
    QString error() const { return m_error; }

    // (done, total) after each file; return false to stop (what was done is kept, consistent).
    using Progress = std::function<bool(int done, int total)>;
    IndexReport update(const FileSetResult& files, const Progress& progress = {});

    // Best chunks for the question's words and identifiers, best first (BM25, definitions
    // weighted highest). Empty when no word of the question is in the index.
    QList<ScoredChunk> search(const QString& question, int limit = 100) const;
    // The first chunk of each file, READMEs first, then shallow files before deep ones: what to
    // show when a question names nothing in the index ("explain this codebase").
    QList<ScoredChunk> overview(int limit = 200) const;
    QStringList files() const; // sorted
    qint64 totalBytes() const; // of all indexed files
    int chunkCount() const;
    // Every indexed file with its content, sorted by path (for "the whole codebase fits").
    QList<IndexedFile> allFiles() const;
    QString root() const; // the folder last indexed

    // The FTS5 query for a question (exposed for tests): quoted terms joined by OR.
    static QString ftsQuery(const QString& question);

private:
    bool openOnce(const QString& path);

    QString m_connection;
    QString m_error;
    bool m_open = false;
};

} // namespace gander::ingest
