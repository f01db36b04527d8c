// Token counting over gander::Tokenizer, with a size-based estimate as the fallback.
#include "token_counter.h"

#include <gander/tokenizer.h>

#include <QLocale>

using namespace Qt::StringLiterals;

namespace gander::ingest {

TokenCounter::TokenCounter(std::shared_ptr<const gander::Tokenizer> tokenizer)
    : m_tokenizer(std::move(tokenizer)) {}

int TokenCounter::count(const std::string& utf8) const {
    if (!m_tokenizer)
        return int((utf8.size() + kEstimateBytesPerToken - 1) / kEstimateBytesPerToken);
    return int(m_tokenizer->encode(utf8).size());
}

int TokenCounter::count(const QString& text) const {
    return count(text.toUtf8().toStdString());
}

std::vector<std::int32_t> TokenCounter::encode(const QString& text) const {
    if (!m_tokenizer) return {};
    return m_tokenizer->encode(text.toUtf8().toStdString());
}

QString formatTokenCount(qint64 tokens) {
    if (tokens < 1000) return QString::number(tokens);
    if (tokens < 1000000)
        return QString::number(double(tokens) / 1000.0, 'f', tokens < 10000 ? 1 : 0) + u"K"_s;
    return QString::number(double(tokens) / 1e6, 'f', 1) + u"M"_s;
}

} // namespace gander::ingest
