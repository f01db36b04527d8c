// Whole codebase or ranked chunks, measured and trimmed to the budget.
#include "retriever.h"

#include <QFileInfo>
#include <QLocale>
#include <QMap>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {

QString chunkHeader(const ChunkRef& ref) {
    return u"=== %1, lines %2-%3 ==="_s.arg(ref.path).arg(ref.startLine).arg(ref.endLine);
}

QString fileHeader(const QString& path, int lines) {
    return u"=== %1 (%2 lines) ==="_s.arg(path).arg(lines);
}

struct Piece {
    ChunkRef ref;
    QString text; // header + body
    int tokens = 0;
};

QString assemble(const QString& intro, const QString& tree, const QList<Piece>& pieces) {
    QString text = intro;
    if (!tree.isEmpty()) text += tree;
    for (const Piece& p : pieces) text += p.text;
    return text;
}

} // namespace

QString repositoryTree(const QStringList& files, int maxLines) {
    QMap<QString, int> folders; // "a/" and "a/b/" -> files below
    QStringList topFiles;
    for (const QString& f : files) {
        const QStringList parts = f.split(u'/');
        if (parts.size() == 1) {
            topFiles += f;
            continue;
        }
        folders[parts[0] + u'/'] += 1;
        if (parts.size() > 2) folders[parts[0] + u'/' + parts[1] + u'/'] += 1;
    }
    QStringList lines;
    for (auto it = folders.cbegin(); it != folders.cend(); ++it) {
        const int depth = int(it.key().count(u'/')) - 1;
        const QString name = it.key().section(u'/', depth, depth) + u'/';
        lines += QString(depth * 2, u' ') + name + u" (%1 files)"_s.arg(it.value());
    }
    lines += topFiles;
    if (lines.size() > maxLines) {
        const qsizetype more = lines.size() - maxLines;
        lines = lines.mid(0, maxLines);
        lines += u"... and %1 more entries"_s.arg(more);
    }
    return lines.join(u'\n') + u'\n';
}

CodeContext buildCodeContext(const CodeIndex& index, const QString& question,
                             const TokenCounter& counter, const RetrieveOptions& options) {
    CodeContext context;
    context.budget = options.budget;
    const QString name = options.name.isEmpty() ? QFileInfo(index.root()).fileName() : options.name;
    const QStringList files = index.files();
    const QLocale locale;

    // 1. The whole codebase, if it can fit: a token is at least one byte with every tokenizer
    // Gander uses, and rarely more than 8, so only a plausible candidate is measured.
    const qint64 bytes = index.totalBytes();
    if (!files.isEmpty() && bytes <= qint64(options.budget) * 8) {
        QString text = u"Codebase “%1”: all %2 files.\n"_s.arg(name).arg(files.size());
        const QList<IndexedFile> all = index.allFiles();
        for (const IndexedFile& f : all) {
            text += fileHeader(f.path, f.lines) + u'\n' + f.content;
            if (!text.endsWith(u'\n')) text += u'\n';
        }
        const int tokens = counter.count(text);
        if (tokens <= options.budget) {
            context.text = text;
            context.tokens = tokens;
            context.whole = true;
            context.files = files;
            for (const IndexedFile& f : all) context.chunks += ChunkRef{f.path, 1, f.lines, 0};
            return context;
        }
    }

    // 2. Tree and ranked chunks.
    QString intro = u"Codebase “%1”: %2 files, too large to give entire (%3 tokens at most); "
                    "here are its layout and the parts that match the question.\n"_s.arg(name)
                        .arg(files.size())
                        .arg(locale.toString(options.budget));
    int used = counter.count(intro);
    if (used > options.budget) return context; // a budget too small for anything
    QString tree = u"Layout:\n"_s + repositoryTree(files, options.treeLines);
    int treeTokens = counter.count(tree);
    // The tree is an aid, not the answer: at most an eighth of the budget.
    if (treeTokens > options.budget / 8 || used + treeTokens > options.budget) {
        tree.clear();
        treeTokens = 0;
    }
    used += treeTokens;

    QList<Piece> chosen;
    auto offer = [&](const ScoredChunk& c) {
        for (const Piece& p : chosen)
            if (p.ref.path == c.ref.path && p.ref.startLine == c.ref.startLine) return;
        Piece p{c.ref, chunkHeader(c.ref) + u'\n' + c.text + u'\n', 0};
        p.tokens = counter.count(p.text);
        if (used + p.tokens > options.budget) return; // a smaller, lower-ranked one may fit
        used += p.tokens;
        chosen += p;
    };
    for (const ScoredChunk& c : index.search(question, options.candidates)) offer(c);
    // A question that names little in the code ("explain this codebase") gets the READMEs and
    // the start of the files nearest the top, after whatever did match.
    if (used < options.budget / 4)
        for (const ScoredChunk& c : index.overview(options.candidates)) offer(c);
    // Path order reads better than rank order, and keeps a file's pieces together.
    auto byPlace = [](const Piece& a, const Piece& b) {
        return a.ref.path != b.ref.path ? a.ref.path < b.ref.path
                                        : a.ref.startLine < b.ref.startLine;
    };
    std::sort(chosen.begin(), chosen.end(), byPlace);

    // Tokens of a concatenation can differ from the sum of its parts' counts at the seams:
    // measure the real text and drop the lowest-ranked piece until it fits.
    QString text = assemble(intro, tree, chosen);
    int tokens = counter.count(text);
    while (tokens > options.budget && !chosen.isEmpty()) {
        auto worst =
            std::min_element(chosen.begin(), chosen.end(), [](const Piece& a, const Piece& b) {
                return a.ref.score < b.ref.score;
            });
        chosen.erase(worst);
        text = assemble(intro, tree, chosen);
        tokens = counter.count(text);
    }
    if (tokens > options.budget && !tree.isEmpty()) {
        tree.clear();
        text = assemble(intro, tree, chosen);
        tokens = counter.count(text);
    }
    if (tokens > options.budget) return context;
    context.text = text;
    context.tokens = tokens;
    for (const Piece& p : chosen) {
        context.chunks += p.ref;
        if (!context.files.contains(p.ref.path)) context.files += p.ref.path;
    }
    context.files.sort();
    return context;
}

} // namespace gander::ingest
