// A forgiving HTML-to-text pass: it never fails, whatever the markup; broken tags end at the
// next '>' or at the end of the text.
#include "html_text.h"

#include <QHash>
#include <QSet>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {

const QHash<QString, QString>& entities() {
    static const QHash<QString, QString> map = {
        {u"amp"_s, u"&"_s},        {u"lt"_s, u"<"_s},          {u"gt"_s, u">"_s},
        {u"quot"_s, u"\""_s},      {u"apos"_s, u"'"_s},        {u"nbsp"_s, u" "_s},
        {u"copy"_s, u"\u00a9"_s},  {u"reg"_s, u"\u00ae"_s},    {u"mdash"_s, u"\u2014"_s},
        {u"ndash"_s, u"\u2013"_s}, {u"hellip"_s, u"\u2026"_s}, {u"lsquo"_s, u"\u2018"_s},
        {u"rsquo"_s, u"\u2019"_s}, {u"ldquo"_s, u"\u201c"_s},  {u"rdquo"_s, u"\u201d"_s},
        {u"bull"_s, u"\u2022"_s},  {u"middot"_s, u"\u00b7"_s}, {u"times"_s, u"\u00d7"_s},
        {u"euro"_s, u"\u20ac"_s},  {u"pound"_s, u"\u00a3"_s},  {u"deg"_s, u"\u00b0"_s},
        {u"rarr"_s, u"\u2192"_s},  {u"larr"_s, u"\u2190"_s},   {u"shy"_s, QString()}};
    return map;
}

bool isBlockTag(const QString& name) {
    static const QSet<QString> tags = {
        u"p"_s,      u"div"_s,        u"br"_s,      u"h1"_s,      u"h2"_s,         u"h3"_s,
        u"h4"_s,     u"h5"_s,         u"h6"_s,      u"ul"_s,      u"ol"_s,         u"li"_s,
        u"tr"_s,     u"table"_s,      u"pre"_s,     u"section"_s, u"article"_s,    u"header"_s,
        u"footer"_s, u"blockquote"_s, u"hr"_s,      u"dl"_s,      u"dt"_s,         u"dd"_s,
        u"nav"_s,    u"main"_s,       u"aside"_s,   u"figure"_s,  u"figcaption"_s, u"title"_s,
        u"form"_s,   u"address"_s,    u"details"_s, u"summary"_s};
    return tags.contains(name);
}

// Appends a line break unless the output already ends with one (or is empty).
void newline(QString& out) {
    while (out.endsWith(u' ')) out.chop(1);
    if (!out.isEmpty() && !out.endsWith(u'\n')) out += u'\n';
}

} // namespace

QString decodeHtmlEntities(const QString& text) {
    QString out;
    out.reserve(text.size());
    for (qsizetype i = 0; i < text.size(); ++i) {
        if (text[i] != u'&') {
            out += text[i];
            continue;
        }
        const qsizetype semi = text.indexOf(u';', i + 1);
        if (semi < 0 || semi - i > 12) {
            out += text[i];
            continue;
        }
        const QString name = text.mid(i + 1, semi - i - 1);
        QString replacement;
        bool known = false;
        if (name.startsWith(u'#')) {
            bool ok = false;
            const uint code = name.startsWith(u"#x"_s, Qt::CaseInsensitive)
                                  ? name.mid(2).toUInt(&ok, 16)
                                  : name.mid(1).toUInt(&ok, 10);
            if (ok && code > 0 && code <= 0x10FFFF && (code < 0xD800 || code > 0xDFFF)) {
                const char32_t c = code;
                replacement = QString::fromUcs4(&c, 1);
                known = true;
            }
        } else if (auto it = entities().constFind(name); it != entities().constEnd()) {
            replacement = *it;
            known = true;
        }
        if (!known) {
            out += text[i];
            continue;
        }
        out += replacement;
        i = semi;
    }
    return out;
}

QString htmlToText(const QString& html) {
    QString out;
    out.reserve(html.size() / 2);
    QString pending; // text since the last tag, entities still encoded
    int pre = 0;     // depth of <pre>: whitespace is kept inside

    auto flushText = [&] {
        if (pending.isEmpty()) return;
        QString t = decodeHtmlEntities(pending);
        pending.clear();
        if (pre > 0) {
            out += t;
            return;
        }
        // Outside <pre>, any run of whitespace is one space, and none starts a line.
        for (const QChar c : t) {
            if (c.isSpace()) {
                if (!out.isEmpty() && !out.endsWith(u' ') && !out.endsWith(u'\n')) out += u' ';
            } else {
                out += c;
            }
        }
    };

    const qsizetype n = html.size();
    for (qsizetype i = 0; i < n;) {
        const QChar c = html[i];
        if (c != u'<') {
            pending += c;
            ++i;
            continue;
        }
        if (html.mid(i, 4) == u"<!--"_s) {
            const qsizetype end = html.indexOf(u"-->"_s, i + 4);
            i = end < 0 ? n : end + 3;
            continue;
        }
        const qsizetype close = html.indexOf(u'>', i + 1);
        if (close < 0) { // a '<' that opens no tag is text
            pending += c;
            ++i;
            continue;
        }
        QString tag = html.mid(i + 1, close - i - 1).trimmed();
        i = close + 1;
        const bool closing = tag.startsWith(u'/');
        if (closing) tag.remove(0, 1);
        qsizetype nameEnd = 0;
        while (nameEnd < tag.size() && (tag[nameEnd].isLetterOrNumber() || tag[nameEnd] == u'-'))
            ++nameEnd;
        const QString name = tag.left(nameEnd).toLower();
        if (name.isEmpty()) continue; // <!DOCTYPE>, <?xml?>, stray '<>'

        flushText();
        if (!closing && (name == u"script"_s || name == u"style"_s || name == u"noscript"_s ||
                         name == u"template"_s || name == u"svg"_s)) {
            // Skip the element's content up to its closing tag.
            const qsizetype end = html.indexOf(u"</"_s + name, i, Qt::CaseInsensitive);
            if (end < 0) {
                i = n;
            } else {
                const qsizetype gt = html.indexOf(u'>', end);
                i = gt < 0 ? n : gt + 1;
            }
            continue;
        }
        if (name == u"pre"_s) pre = closing ? qMax(0, pre - 1) : pre + 1;
        if (name == u"li"_s && !closing) {
            newline(out);
            out += u"- "_s;
        } else if (name == u"td"_s || name == u"th"_s) {
            if (!closing && !out.isEmpty() && !out.endsWith(u'\n')) out += u"\t"_s;
        } else if (isBlockTag(name)) {
            newline(out);
            // Paragraph-like blocks are separated by a blank line, as a reader would see them.
            const bool heading = name.size() == 2 && name[0] == u'h' && name[1].isDigit();
            if (closing && (name == u"p"_s || heading)) out += u'\n';
        }
    }
    flushText();
    // At most one blank line in a row.
    while (out.contains(u"\n\n\n"_s)) out.replace(u"\n\n\n"_s, u"\n\n"_s);
    return out.trimmed();
}

} // namespace gander::ingest
