// Counts tokens the way the loaded model will see them. Without a tokenizer (no model loaded yet)
// it estimates from the UTF-8 size, and says so, so the UI can show "~12K tokens".
//
// Threads: immutable after construction; copies share the tokenizer, which is thread-safe.
#pragma once

#include <QMetaType>
#include <QString>

#include <cstdint>
#include <memory>
#include <vector>

namespace gander {
class Tokenizer;
}

namespace gander::ingest {

class TokenCounter final {
public:
    explicit TokenCounter(std::shared_ptr<const gander::Tokenizer> tokenizer = {});

    bool exact() const { return m_tokenizer != nullptr; }
    int count(const QString& text) const;
    int count(const std::string& utf8) const;
    // Empty when there is no tokenizer.
    std::vector<std::int32_t> encode(const QString& text) const;
    const gander::Tokenizer* tokenizer() const { return m_tokenizer.get(); }

    // Bytes per token assumed by the estimate (RWKV World averages ~3.5-4 on English and code).
    static constexpr int kEstimateBytesPerToken = 4;

private:
    std::shared_ptr<const gander::Tokenizer> m_tokenizer;
};

// "812", "12.3K", "1.2M" for chips and labels.
QString formatTokenCount(qint64 tokens);

} // namespace gander::ingest

Q_DECLARE_METATYPE(gander::ingest::TokenCounter)
