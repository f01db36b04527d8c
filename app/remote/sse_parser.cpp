// Incremental server-sent-events parsing (the subset chat completion streams use).
#include "sse_parser.h"

namespace gander::remote {

QList<QByteArray> SseParser::feed(const QByteArray& bytes) {
    QList<QByteArray> out;
    for (const char c : bytes) {
        if (m_last_cr && c == '\n') {
            m_last_cr = false;
            continue;
        }
        m_last_cr = false;
        if (c == '\r' || c == '\n') {
            m_last_cr = c == '\r';
            end_line(out);
            continue;
        }
        if (m_line.size() + m_data.size() >= kMaxEventBytes) {
            m_overflow = true; // the rest of this event is dropped
            continue;
        }
        m_line.append(c);
    }
    return out;
}

void SseParser::end_line(QList<QByteArray>& out) {
    if (m_line.isEmpty()) { // blank line: the event is complete
        if (m_have_data) out.append(m_data);
        m_data.clear();
        m_have_data = false;
        return;
    }
    if (m_line.startsWith("data:")) {
        QByteArray value = m_line.mid(5);
        if (value.startsWith(' ')) value.remove(0, 1);
        if (m_have_data) m_data.append('\n');
        m_data.append(value);
        m_have_data = true;
    }
    m_line.clear();
}

} // namespace gander::remote
