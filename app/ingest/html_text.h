// HTML as plain text, without a browser engine (and so without fonts, a GUI or a network): tags
// dropped, block elements on their own lines, list items as "- ", scripts, styles and comments
// removed, whitespace collapsed outside <pre>, the common character entities decoded.
#pragma once

#include <QString>

namespace gander::ingest {

QString htmlToText(const QString& html);
// "&amp;" -> "&", "&#x41;" -> "A"; unknown entities are left as written.
QString decodeHtmlEntities(const QString& text);

} // namespace gander::ingest
