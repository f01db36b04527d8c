// Document turns, budgets and the split into parts.
#include "document_prompt.h"

#include <gander/chat.h>

#include <QLocale>
#include <QRegularExpression>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {

const QString kHeaderStart = u"Attached document: "_s;

QString kindLabel(const QString& kind) {
    if (kind == u"pdf"_s) return u"PDF"_s;
    if (kind == u"markdown"_s) return u"Markdown"_s;
    if (kind == u"html"_s) return u"web page"_s;
    if (kind == u"source"_s) return u"source code"_s;
    return u"text"_s;
}

std::string turn(const QString& header, QStringView text) {
    QString body = header + u'\n';
    body += text;
    return gander::format_chat_turn({gander::ChatRole::User, body.toUtf8().toStdString()});
}

// Pieces of `text` no longer than `maxChars`, cut at blank lines, then at line ends, then
// anywhere; concatenated they give `text` back.
QList<QStringView> pieces(QStringView text, qsizetype maxChars) {
    QList<QStringView> out;
    while (!text.isEmpty()) {
        if (text.size() <= maxChars) {
            out += text;
            break;
        }
        const QStringView window = text.left(maxChars);
        qsizetype cut = window.lastIndexOf(u"\n\n"_s);
        if (cut < maxChars / 4) cut = window.lastIndexOf(u'\n');
        if (cut < maxChars / 4) cut = maxChars - 1;
        // Never split a surrogate pair.
        if (text[cut].isHighSurrogate()) ++cut;
        out += text.left(cut + 1);
        text = text.mid(cut + 1);
    }
    return out;
}

} // namespace

QString documentHeader(const Document& document, int part, int parts) {
    QString header = kHeaderStart + u"%1 (%2"_s.arg(document.name, kindLabel(document.kind));
    if (document.pages > 0) header += u", %1 pages"_s.arg(document.pages);
    header += u")"_s;
    if (parts > 0) header += u", part %1 of %2"_s.arg(part).arg(parts);
    return header;
}

QString documentMessageText(const Document& document) {
    return documentHeader(document) + u'\n' + document.text;
}

std::string documentTurn(const Document& document) {
    return turn(documentHeader(document), document.text);
}

bool isDocumentMessage(const QString& messageText) {
    return messageText.startsWith(kHeaderStart);
}

DocumentPlan planDocument(const Document& document, const TokenCounter& counter, int budget,
                          int partBudget) {
    DocumentPlan plan;
    plan.budget = budget;
    const std::string whole = documentTurn(document);
    plan.tokens = counter.count(whole);
    if (plan.tokens <= budget) return plan;

    // Cut the text in proportion to its measured density, then check each part exactly and cut
    // again where a part came out too long (the header and density vary from part to part).
    partBudget = std::max(256, std::min(partBudget, budget));
    const double charsPerToken = double(document.text.size()) / std::max(1, plan.tokens);
    qsizetype maxChars = qsizetype(charsPerToken * (partBudget - 64) * 0.9);
    QList<QStringView> texts = pieces(document.text, std::max<qsizetype>(maxChars, 64));
    for (int round = 0; round < 8; ++round) {
        const int n = int(texts.size());
        QList<QStringView> next;
        bool allFit = true;
        for (int i = 0; i < n; ++i) {
            const std::string t = turn(documentHeader(document, i + 1, n), texts[i]);
            if (counter.count(t) <= partBudget || texts[i].size() < 2) {
                next += texts[i];
            } else {
                allFit = false;
                next += pieces(texts[i], texts[i].size() / 2 + 1);
            }
        }
        texts = next;
        if (allFit) break;
    }
    plan.inParts = true;
    const int n = int(texts.size());
    for (int i = 0; i < n; ++i)
        plan.parts.push_back(turn(documentHeader(document, i + 1, n), texts[i]));
    const QLocale locale;
    plan.notice = u"“%1” is %2 tokens long, more than the %3 that fit in one prompt. It will be "
                  "summarised in %4 parts, and the part summaries combined."_s
                      .arg(document.name, locale.toString(plan.tokens), locale.toString(budget))
                      .arg(n);
    return plan;
}

QString partsMessageText(const Document& document, int tokens, const QStringList& partSummaries) {
    QString text = documentHeader(document) +
                   u", %1 tokens, summarised in %2 parts"_s.arg(tokens).arg(partSummaries.size());
    for (int i = 0; i < partSummaries.size(); ++i) {
        // One line per part: the chat format turns blank lines into single newlines anyway.
        QString summary = partSummaries[i].simplified();
        if (summary.isEmpty()) summary = u"(no summary)"_s;
        text += u"\nPart %1: %2"_s.arg(QString::number(i + 1), summary);
    }
    return text;
}

std::optional<DocumentMessageInfo> describeDocumentMessage(const QString& messageText) {
    if (!isDocumentMessage(messageText)) return std::nullopt;
    const qsizetype end = messageText.indexOf(u'\n');
    const QString header = messageText.left(end < 0 ? messageText.size() : end);
    // The name may hold parentheses itself ("notes (1).txt"): the kind is the last group.
    static const QRegularExpression pattern(
        u"^Attached document: (.+) \\(([^()]*)\\)(?:, (\\d+) tokens, summarised in (\\d+) parts)?$"_s);
    const auto match = pattern.match(header);
    if (!match.hasMatch()) return std::nullopt;
    DocumentMessageInfo info;
    info.name = match.captured(1);
    const QStringList kind = match.captured(2).split(u", "_s);
    info.kind = kind.value(0);
    static const QRegularExpression pages(u"^(\\d+) pages$"_s);
    if (const auto p = pages.match(kind.value(1)); p.hasMatch()) info.pages = p.captured(1).toInt();
    info.tokens = match.captured(3).toInt();
    info.parts = match.captured(4).toInt();
    info.body = end < 0 ? QString() : messageText.mid(end + 1);
    return info;
}

QString summariseRequest() {
    return u"Summarise the attached document. Start with one sentence on what it is, then give its "
           "main points as a short list, and end with any conclusions or open questions it "
           "states."_s;
}

QString partSummaryRequest(int part, int parts) {
    return u"This is part %1 of %2 of a longer document. Summarise this part in a few sentences, "
           "keeping names, numbers and conclusions."_s.arg(part)
               .arg(parts);
}

QString combineRequest(const QString& documentName, const QStringList& partSummaries) {
    QString text =
        u"Here are summaries of the %1 parts of “%2”, in order:\n"_s.arg(partSummaries.size())
            .arg(documentName);
    for (int i = 0; i < partSummaries.size(); ++i)
        text += u"Part %1: %2\n"_s.arg(i + 1).arg(partSummaries[i].trimmed());
    text += u"Combine them into one summary of the whole document: one sentence on what it is, its "
            "main points as a short list, then its conclusions."_s;
    return text;
}

} // namespace gander::ingest
