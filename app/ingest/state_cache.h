// Saved session states after a document, as files in a cache folder, so that a second question
// about the same document (in this conversation or another) costs no prefill.
//
// A key names exactly what the state holds: the model's fingerprint and a hash of the tokens fed
// from the starting state (and of that state's own key when it was not the zero state). Files are
// "<key>.state", written atomically (QSaveFile); the oldest are deleted when the folder passes its
// size limit. A file that fails to load (damaged, another model) is deleted and counts as a miss.
//
// Threads: the methods may be called from any thread; two caches on the same folder are safe
// (atomic renames), at worst both compute the same state.
#pragma once

#include <QByteArray>
#include <QString>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gander::ingest {

class StateCache final {
public:
    // 2 GiB holds ~60 states of the 7.2B model (33 MiB each in fp32).
    explicit StateCache(const QString& folder, qint64 maxBytes = qint64(2) * 1024 * 1024 * 1024);
    Q_DISABLE_COPY_MOVE(StateCache)

    QString folder() const { return m_folder; }
    // Hex key for `tokens` fed after the state named `startKey` ("" = the zero state).
    static QByteArray key(const QString& modelFingerprint, std::span<const std::int32_t> tokens,
                          const QByteArray& startKey = {});

    std::optional<std::vector<std::uint8_t>> load(const QByteArray& key) const;
    bool store(const QByteArray& key, std::span<const std::uint8_t> blob);
    void remove(const QByteArray& key);
    qint64 sizeOnDisk() const;
    // Deletes the least recently used files until the folder is within its limit.
    void trim();

private:
    QString pathFor(const QByteArray& key) const;

    QString m_folder;
    qint64 m_maxBytes;
};

} // namespace gander::ingest
