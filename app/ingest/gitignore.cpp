// .gitignore parsing and matching: each pattern becomes one anchored regular expression.
#include "gitignore.h"

#include <QStringList>

using namespace Qt::StringLiterals;

namespace gander::ingest {

QString gitGlobToRegex(const QString& glob) {
    QString rx;
    const qsizetype n = glob.size();
    for (qsizetype i = 0; i < n; ++i) {
        const QChar c = glob[i];
        if (c == u'\\' && i + 1 < n) {
            rx += QRegularExpression::escape(QString(glob[++i]));
        } else if (c == u'*') {
            if (i + 1 < n && glob[i + 1] == u'*') {
                const bool atStart = i == 0 || glob[i - 1] == u'/';
                const bool atEnd = i + 2 == n || glob[i + 2] == u'/';
                ++i;
                if (atStart && atEnd) {
                    if (i + 1 < n) { // "**/": zero or more folders
                        rx += u"(?:.*/)?"_s;
                        ++i;
                    } else { // trailing "**": everything inside
                        rx += u".*"_s;
                    }
                    continue;
                }
                rx += u"[^/]*"_s; // "a**b" is two stars
            } else {
                rx += u"[^/]*"_s;
            }
        } else if (c == u'?') {
            rx += u"[^/]"_s;
        } else if (c == u'[') {
            const qsizetype close = glob.indexOf(u']', i + 2);
            if (close < 0) {
                rx += u"\\["_s;
                continue;
            }
            QString set = glob.mid(i + 1, close - i - 1);
            if (set.startsWith(u'!')) set[0] = u'^';
            set.replace(u"\\"_s, u"\\\\"_s);
            rx += u'[' + set + u']';
            i = close;
        } else {
            rx += QRegularExpression::escape(QString(c));
        }
    }
    return rx;
}

GitignoreRules::GitignoreRules(const QString& base, const QString& fileContent) : m_base(base) {
    const QStringList lines = fileContent.split(u'\n');
    for (QString line : lines) {
        if (line.endsWith(u'\r')) line.chop(1);
        if (line.isEmpty() || line.startsWith(u'#')) continue;
        // Trailing spaces are dropped unless escaped.
        while (line.endsWith(u' ') && !line.endsWith(u"\\ "_s)) line.chop(1);
        if (line.isEmpty()) continue;
        Rule rule;
        if (line.startsWith(u'!')) {
            rule.negate = true;
            line.remove(0, 1);
        } else if (line.startsWith(u"\\!"_s) || line.startsWith(u"\\#"_s)) {
            line.remove(0, 1);
        }
        if (line.endsWith(u'/')) {
            rule.dirOnly = true;
            line.chop(1);
        }
        if (line.isEmpty()) continue;
        // A slash anywhere but at the end anchors the pattern to the .gitignore's folder.
        rule.anchored = line.contains(u'/');
        if (line.startsWith(u'/')) line.remove(0, 1);
        rule.regex = QRegularExpression(QRegularExpression::anchoredPattern(gitGlobToRegex(line)));
        if (!rule.regex.isValid()) continue; // a pattern git would reject too
        m_rules.append(std::move(rule));
    }
}

GitignoreRules::Verdict GitignoreRules::match(const QString& path, bool isDir) const {
    QString relative = path;
    if (!m_base.isEmpty()) {
        if (!path.startsWith(m_base + u'/')) return Verdict::None;
        relative = path.mid(m_base.size() + 1);
    }
    const QString name = relative.section(u'/', -1);
    for (auto it = m_rules.crbegin(); it != m_rules.crend(); ++it) {
        if (it->dirOnly && !isDir) continue;
        const bool hit = it->regex.match(it->anchored ? relative : name).hasMatch();
        if (hit) return it->negate ? Verdict::Include : Verdict::Ignore;
    }
    return Verdict::None;
}

bool GitignoreStack::ignored(const QString& path, bool isDir) const {
    for (auto it = m_sets.crbegin(); it != m_sets.crend(); ++it) {
        switch (it->match(path, isDir)) {
        case GitignoreRules::Verdict::Ignore:
            return true;
        case GitignoreRules::Verdict::Include:
            return false;
        case GitignoreRules::Verdict::None:
            break;
        }
    }
    return false;
}

} // namespace gander::ingest
