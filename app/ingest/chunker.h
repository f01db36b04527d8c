// Cuts a source file into chunks for the index: pieces that start where a top-level definition or
// a paragraph starts (a blank line followed by an unindented line), so that a chunk tends to hold
// one function, class or section; small neighbours are merged and long runs cut.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace gander::ingest {

struct Chunk {
    int startLine = 0; // 1-based, inclusive
    int endLine = 0;
    QString text;        // the lines, '\n'-joined, no trailing newline
    QStringList defines; // identifiers this chunk appears to define (for ranking)
};

struct ChunkOptions {
    int minLines = 12; // merge smaller pieces into their neighbour
    int maxLines = 80; // cut longer ones (at a blank line when there is one)
};

QList<Chunk> chunkText(const QString& text, const ChunkOptions& options = {});
// Identifiers a line defines: "def foo", "class Foo", "fn foo", "struct Foo", "#define FOO",
// "int foo(...) {" at column 0, "const foo = (" ...
QStringList definedNames(const QString& line);
// "parseConfigFile" -> parse, config, file; "MAX_TOKEN_COUNT" -> max, token, count; lowercase.
QStringList splitIdentifier(const QString& identifier);

} // namespace gander::ingest
