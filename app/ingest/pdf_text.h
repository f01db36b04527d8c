// The text layer of a PDF, page by page, through Qt PDF. Only text is read; nothing is rendered.
#pragma once

#include <QString>

namespace gander::ingest {

struct PdfText {
    QString text; // pages separated by a blank line
    int pages = 0;
    QString error; // for the user; empty on success (text may still be empty: no text layer)
};

// Safe on any input: a damaged, truncated, encrypted or non-PDF file gives `error`, not a crash.
// Callable from any thread (Qt PDF serialises its library internally).
PdfText extractPdfText(const QString& path);

} // namespace gander::ingest
