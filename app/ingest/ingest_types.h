// Plain values passed between the ingestion core, its worker thread and the widgets (by value
// across threads, hence the metatypes at the end).
#pragma once

#include <QByteArray>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace gander::ingest {

// A document read as text, or the reason it could not be.
struct Document {
    QString path;
    QString name; // file name shown to the user
    QString kind; // "text", "markdown", "source", "pdf", "html"; empty when it failed
    QString text;
    int pages = 0;   // PDF only
    QByteArray hash; // SHA-256 of text as UTF-8, hex
    QString error;   // for the user: what is wrong and what would work
    bool ok() const { return error.isEmpty(); }
};

// What a codebase scan left out, by kind. Build folders count folders; the rest count files.
struct SkipCounts {
    int ignored = 0;   // matched a .gitignore rule (folders count once)
    int lockFiles = 0; // package-lock.json, Cargo.lock, ...
    int buildFolders = 0;
    int binary = 0;     // NUL or control bytes near the start
    int tooLarge = 0;   // over the size limit
    int unreadable = 0; // permission denied, vanished while scanning
    int total() const {
        return ignored + lockFiles + buildFolders + binary + tooLarge + unreadable;
    }
};

struct FileSetResult {
    QString root;      // absolute, clean
    bool git = false;  // the list came from `git ls-files`
    QStringList files; // relative to root, '/'-separated, sorted
    qint64 bytes = 0;  // sum of the kept files' sizes
    SkipCounts skipped;
    QString error; // root missing or not a folder; cancelled
};

// What an indexing run did.
struct IndexReport {
    int files = 0;     // files in the index afterwards
    int updated = 0;   // new or changed files (re)chunked
    int unchanged = 0; // same content hash: left alone
    int removed = 0;   // gone from the file set
    int chunks = 0;    // chunks in the index afterwards
    double seconds = 0;
    qint64 bytesRead = 0;
    bool cancelled = false;
    QString error;
};

// A piece of a file chosen for a prompt.
struct ChunkRef {
    QString path;
    int startLine = 0; // 1-based, inclusive
    int endLine = 0;
    double score = 0; // higher is better; 0 when the whole codebase was given
};

// The prompt text for a question about a codebase, and what it was made of.
struct CodeContext {
    QString text;
    int tokens = 0; // of `text`, counted with the tokenizer in use
    int budget = 0;
    bool whole = false; // every indexed file, entire
    QStringList files;  // files given (entire or in part), sorted
    QList<ChunkRef> chunks;
};

} // namespace gander::ingest

Q_DECLARE_METATYPE(gander::ingest::Document)
Q_DECLARE_METATYPE(gander::ingest::FileSetResult)
Q_DECLARE_METATYPE(gander::ingest::IndexReport)
Q_DECLARE_METATYPE(gander::ingest::CodeContext)
