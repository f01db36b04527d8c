// Chunking by definitions and blank lines; identifier splitting for the index's word column.
#include "chunker.h"

#include <QRegularExpression>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {

bool isBlank(const QString& line) {
    return line.trimmed().isEmpty();
}

bool startsUnindented(const QString& line) {
    return !line.isEmpty() && !line[0].isSpace() && line[0] != u'}' && line[0] != u')';
}

// Names defined on line i; for C-like signatures the next lines tell a definition ('{' comes
// first) from a declaration (';' comes first), since signatures often span several lines.
QStringList namesAt(const QStringList& lines, int i) {
    const QString& line = lines[i];
    // Keyword definitions in most languages people keep in a repository.
    static const QRegularExpression keyword(
        uR"(^\s*(?:export\s+|pub(?:\([\w:]+\))?\s+|public\s+|private\s+|protected\s+|static\s+|)"
        uR"(async\s+|abstract\s+|final\s+|default\s+|inline\s+|virtual\s+|override\s+)*)"
        uR"((?:def|class|struct|enum|union|interface|trait|impl|fn|func|function|type|)"
        uR"(namespace|module|macro_rules!|object|record|protocol|extension|sub|proc)\s+)"
        uR"((?:\([^)]*\)\s*)?([A-Za-z_$][\w$]*))"_s);
    // C-like function definitions at column 0: "int foo(", "Foo::Bar baz(", "static void x(".
    static const QRegularExpression cfunc(
        uR"(^(?:[A-Za-z_][\w:<>,*&\s]*[\s*&])?([A-Za-z_][\w]*(?:::[A-Za-z_~][\w]*)*)\s*\([^;]*$)"_s);
    static const QRegularExpression define(uR"(^\s*#\s*define\s+([A-Za-z_]\w*))"_s);
    static const QRegularExpression assign(
        uR"(^(?:export\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*=)"_s);
    static const QStringList notNames = {u"if"_s,     u"for"_s,    u"while"_s, u"switch"_s,
                                         u"return"_s, u"sizeof"_s, u"catch"_s};

    QStringList names;
    for (const QRegularExpression* re : {&keyword, &define, &assign}) {
        const auto m = re->match(line);
        if (m.hasMatch()) names += m.captured(1);
    }
    if (names.isEmpty() && startsUnindented(line)) {
        const auto m = cfunc.match(line);
        if (m.hasMatch()) {
            const QString full = m.captured(1);
            const QString last = full.section(u"::"_s, -1);
            bool declaration = false;
            for (int k = i; k < int(lines.size()) && k < i + 6; ++k) {
                // "{}" is a default argument or an empty initialiser, not a body.
                const QString rest = lines[k].mid(k == i ? m.capturedEnd(1) : 0).remove(u"{}"_s);
                const qsizetype brace = rest.indexOf(u'{');
                const qsizetype semi = rest.indexOf(u';');
                if (brace < 0 && semi < 0) continue;
                declaration = semi >= 0 && (brace < 0 || semi < brace);
                break;
            }
            if (!notNames.contains(last) && !declaration) {
                names += last;
                if (full != last) names += full.section(u"::"_s, 0, 0); // the class, too
            }
        }
    }
    return names;
}

} // namespace

QStringList definedNames(const QString& line) {
    return namesAt({line}, 0);
}

QStringList splitIdentifier(const QString& identifier) {
    QStringList words;
    QString current;
    auto flush = [&] {
        if (!current.isEmpty()) words += current.toLower();
        current.clear();
    };
    for (qsizetype i = 0; i < identifier.size(); ++i) {
        const QChar c = identifier[i];
        if (!c.isLetterOrNumber()) {
            flush();
            continue;
        }
        if (!current.isEmpty()) {
            const QChar prev = current.back();
            const bool nextLower = i + 1 < identifier.size() && identifier[i + 1].isLower();
            // "parseConfig" -> parse|Config; "HTTPServer" -> HTTP|Server; "utf8Decode" ->
            // utf8|Decode
            if (c.isUpper() && (prev.isLower() || prev.isDigit() || (prev.isUpper() && nextLower)))
                flush();
        }
        current += c;
    }
    flush();
    return words;
}

QList<Chunk> chunkText(const QString& text, const ChunkOptions& options) {
    QStringList lines = text.split(u'\n');
    if (!lines.isEmpty() && lines.last().isEmpty()) lines.removeLast();
    for (QString& l : lines)
        if (l.endsWith(u'\r')) l.chop(1);
    const int n = int(lines.size());

    // Where a piece may start: a definition line, or an unindented line after a blank one.
    std::vector<bool> boundary(std::size_t(n) + 1, false);
    std::vector<QStringList> names(std::size_t(n) + 1);
    for (int i = 0; i < n; ++i) {
        names[std::size_t(i)] = namesAt(lines, i);
        const bool afterBlank = i > 0 && isBlank(lines[i - 1]) && startsUnindented(lines[i]);
        const bool definition = startsUnindented(lines[i]) && !names[std::size_t(i)].isEmpty();
        boundary[std::size_t(i)] = i == 0 || afterBlank || definition;
    }
    // A definition's comment or decorators belong with it: move its boundary up over them.
    for (int i = 1; i < n; ++i) {
        if (!boundary[std::size_t(i)] || isBlank(lines[i - 1])) continue;
        int j = i;
        while (j > 0 && !isBlank(lines[j - 1]) && !boundary[std::size_t(j - 1)]) {
            const QString t = lines[j - 1].trimmed();
            if (!(t.startsWith(u"//"_s) || t.startsWith(u'#') || t.startsWith(u"/*"_s) ||
                  t.startsWith(u'*') || t.startsWith(u'@') || t.startsWith(u"--"_s)))
                break;
            --j;
        }
        if (j != i) {
            boundary[std::size_t(i)] = false;
            boundary[std::size_t(j)] = true;
        }
    }

    QList<Chunk> chunks;
    int start = 0;
    auto emitChunk = [&](int from, int to) { // [from, to)
        while (from < to && isBlank(lines[from])) ++from;
        while (to > from && isBlank(lines[to - 1])) --to;
        if (from >= to) return;
        Chunk c;
        c.startLine = from + 1;
        c.endLine = to;
        c.text = lines.mid(from, to - from).join(u'\n');
        for (int i = from; i < to; ++i) c.defines += names[std::size_t(i)];
        c.defines.removeDuplicates();
        chunks += c;
    };
    for (int i = 1; i <= n; ++i) {
        const int length = i - start;
        const bool atBoundary = i == n || boundary[std::size_t(i)];
        if (atBoundary && (length >= options.minLines || i == n)) {
            emitChunk(start, i);
            start = i;
        } else if (length >= options.maxLines) {
            // Too long without a boundary: cut at the last blank line, else here.
            int cut = i;
            for (int j = i - 1; j > start + options.minLines; --j)
                if (isBlank(lines[j])) {
                    cut = j + 1;
                    break;
                }
            emitChunk(start, cut);
            start = cut;
        }
    }
    return chunks;
}

} // namespace gander::ingest
