// How a document becomes prompt text: one user turn of the chat format, headed by the file's name
// and kind, e.g.
//
//   User: Attached document: report.pdf (PDF, 12 pages)
//   <the text, blank lines removed as the chat format requires>
//
// A document whose turn is longer than the budget (64K tokens by default: what the 7.2B model was
// measured on) is cut into parts of at most `partBudget` tokens at paragraph, then line
// boundaries; each part is summarised on its own and the summaries combined (map, then reduce).
#pragma once

#include "ingest_types.h"
#include "token_counter.h"

#include <optional>
#include <string>

namespace gander::ingest {

constexpr int kDefaultDocumentBudget = 64 * 1024;
constexpr int kDefaultPartBudget = 16 * 1024;

// "Attached document: report.pdf (PDF, 12 pages)"; with parts: "... part 2 of 5".
QString documentHeader(const Document& document, int part = 0, int parts = 0);
// The text of the chat message that carries the document: "<header>\n<text>". Stored as a user
// message, it gives back exactly documentTurn() through gander::format_chat_turn, so rebuilding a
// conversation from its text meets the cached state.
QString documentMessageText(const Document& document);
// The exact text fed to the model for the document: "User: <header>\n<text>\n\n".
std::string documentTurn(const Document& document);
// True for a message text made by documentMessageText().
bool isDocumentMessage(const QString& messageText);

struct DocumentPlan {
    int tokens = 0; // of documentTurn(), exact when the counter is
    int budget = 0;
    bool inParts = false;
    // With inParts: each part's full turn ("User: <header, part i of n>\n<text>\n\n"), each at
    // most partBudget tokens, in order, together covering the whole text.
    std::vector<std::string> parts;
    QString notice; // for the user when inParts, else empty
};

DocumentPlan planDocument(const Document& document, const TokenCounter& counter,
                          int budget = kDefaultDocumentBudget, int partBudget = kDefaultPartBudget);

// The chat message that stands for a document summarised in parts: the document's header with its
// size and the number of parts, then the part summaries, one paragraph each:
//
//   Attached document: thesis.pdf (PDF, 300 pages), 180000 tokens, summarised in 12 parts
//   Part 1: <summary>
//   Part 2: <summary>
//
// A document message like any other (isDocumentMessage() is true), so the engine reads it through
// the state cache and the transcript shows it as a chip; the question follows as its own turn.
QString partsMessageText(const Document& document, int tokens, const QStringList& partSummaries);

// What a document message says about its document, for the transcript's chip.
struct DocumentMessageInfo {
    QString name;
    QString kind; // as in the header: "PDF", "text", "source code", ...
    int pages = 0;
    int tokens = 0; // the whole document's, when the header gives it (summarised in parts)
    int parts = 0;  // > 0: the message holds that many part summaries, not the text
    QString body;   // everything after the header line
};
// Empty for a message that is not a document message (or whose header is not ours).
std::optional<DocumentMessageInfo> describeDocumentMessage(const QString& messageText);

// The question behind the one-click "Summarise" action.
QString summariseRequest();
// The request that follows part `part` (1-based) of `parts`.
QString partSummaryRequest(int part, int parts);
// The last user turn of a summary in parts: the part summaries, then what to do with them.
QString combineRequest(const QString& documentName, const QStringList& partSummaries);

} // namespace gander::ingest
