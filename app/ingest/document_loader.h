// Reads a file the user attached as text: plain text, Markdown, source code, PDF (its text layer),
// HTML (as text). Anything else, a PDF without text, or a damaged file gives Document::error, a
// sentence for the user; nothing here throws or crashes on bad input.
#pragma once

#include "ingest_types.h"

namespace gander::ingest {

struct LoadOptions {
    // Larger files are refused before being read (a 64K-token prompt is about 256 KiB of text;
    // a PDF's file is much larger than its text).
    qint64 maxFileBytes = 64 * 1024 * 1024;
};

// Thread-safe; may take seconds for a large PDF, so call it off the GUI thread.
Document loadDocument(const QString& path, const LoadOptions& options = {});
// The same for text that did not come from a file (pasted): kind "text", name as given.
Document documentFromText(const QString& name, const QString& text);
// "text", "markdown", "source", "html", "pdf", or empty when the extension says nothing.
QString kindFromFileName(const QString& fileName);

} // namespace gander::ingest
