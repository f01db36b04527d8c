// The common subset of .gitignore patterns, for folders that are not git repositories:
// comments, blank lines, "!" negation, a trailing "/" (folders only), a leading or inner "/"
// (anchored to the .gitignore's folder), "*", "?", "[...]" and "**" ("**/x", "x/**", "a/**/b"),
// "\" escapes. Deeper .gitignore files override shallower ones; within a file the last match
// wins. (Like git, a file inside an ignored folder cannot be re-included: the walk never enters
// the folder.)
#pragma once

#include <QList>
#include <QRegularExpression>
#include <QString>

namespace gander::ingest {

class GitignoreRules final {
public:
    // `base`: the folder of the .gitignore, relative to the walk's root ("" for the root).
    GitignoreRules(const QString& base, const QString& fileContent);

    enum class Verdict { None, Ignore, Include };
    // `path`: relative to the walk's root, '/'-separated.
    Verdict match(const QString& path, bool isDir) const;
    bool isEmpty() const { return m_rules.isEmpty(); }

private:
    struct Rule {
        QRegularExpression regex;
        bool negate = false;
        bool dirOnly = false;
        bool anchored = false; // matched against the path from base, else against the name
    };
    QString m_base;
    QList<Rule> m_rules;
};

// A stack of rule sets from the root down to the current folder.
class GitignoreStack final {
public:
    void push(GitignoreRules rules) { m_sets.append(std::move(rules)); }
    void pop() { m_sets.removeLast(); }
    int depth() const { return int(m_sets.size()); }
    bool ignored(const QString& path, bool isDir) const;

private:
    QList<GitignoreRules> m_sets;
};

// The glob of one pattern as a regular expression over '/'-separated paths (exposed for tests).
QString gitGlobToRegex(const QString& glob);

} // namespace gander::ingest
