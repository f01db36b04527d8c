// A conversation's visible branch as Markdown (for reading) or JSON (for other tools).
#pragma once

#include "chat_types.h"

#include <QByteArray>
#include <QList>
#include <QString>

namespace gander::app {

QString exportMarkdown(const Conversation& conversation, const QList<Message>& messages);
QByteArray exportJson(const Conversation& conversation, const QList<Message>& messages);
// Writes either format, chosen by the file's extension (.json, else Markdown). False and
// `error` set when the file cannot be written.
bool exportToFile(const QString& path, const Conversation& conversation,
                  const QList<Message>& messages, QString* error);

} // namespace gander::app
