// Server-sent events as OpenAI-compatible servers stream them: "data: <payload>" lines, events
// separated by a blank line. Bytes arrive in arbitrary pieces; feed() returns the payloads of the
// events completed so far. Comments (":..."), "event:"/"id:"/"retry:" fields are skipped; several
// data lines of one event are joined with "\n"; LF, CRLF and CR line ends are all accepted.
#pragma once

#include <QByteArray>
#include <QList>

namespace gander::remote {

class SseParser final {
public:
    QList<QByteArray> feed(const QByteArray& bytes);
    // A limit on one event, so a server that never ends a line cannot grow memory without bound.
    static constexpr qsizetype kMaxEventBytes = 8 * 1024 * 1024;
    bool overflowed() const { return m_overflow; }

private:
    QByteArray m_line; // the current, unfinished line
    QByteArray m_data; // data lines of the current event
    bool m_have_data = false;
    bool m_last_cr = false; // the previous piece ended in CR: a following LF belongs to it
    bool m_overflow = false;
    void end_line(QList<QByteArray>& out);
};

} // namespace gander::remote
