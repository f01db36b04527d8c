// State cache files: hashed keys, atomic writes, least-recently-used trimming.
#include "state_cache.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace gander::ingest {

StateCache::StateCache(const QString& folder, qint64 maxBytes)
    : m_folder(folder), m_maxBytes(maxBytes) {
    QDir().mkpath(m_folder);
}

QByteArray StateCache::key(const QString& modelFingerprint, std::span<const std::int32_t> tokens,
                           const QByteArray& startKey) {
    QCryptographicHash hash(QCryptographicHash::Sha256);
    hash.addData("gander-document-state-v1");
    hash.addData(modelFingerprint.toUtf8());
    hash.addData(QByteArrayView("\0", 1));
    hash.addData(startKey);
    hash.addData(QByteArrayView("\0", 1));
    // Token ids as little-endian int32 (what every supported platform stores).
    hash.addData(QByteArrayView(reinterpret_cast<const char*>(tokens.data()),
                                qsizetype(tokens.size_bytes())));
    return hash.result().toHex().left(40);
}

QString StateCache::pathFor(const QByteArray& key) const {
    return QDir(m_folder).filePath(QString::fromLatin1(key) + u".state"_s);
}

std::optional<std::vector<std::uint8_t>> StateCache::load(const QByteArray& key) const {
    QFile file(pathFor(key));
    if (!file.open(QIODevice::ReadOnly)) return std::nullopt;
    std::vector<std::uint8_t> blob(std::size_t(file.size()));
    if (file.read(reinterpret_cast<char*>(blob.data()), qint64(blob.size())) != qint64(blob.size()))
        return std::nullopt;
    file.close();
    // Touch it, so that trimming keeps what is in use.
    if (file.open(QIODevice::ReadWrite))
        file.setFileTime(QDateTime::currentDateTimeUtc(), QFileDevice::FileModificationTime);
    return blob;
}

bool StateCache::store(const QByteArray& key, std::span<const std::uint8_t> blob) {
    QDir().mkpath(m_folder);
    QSaveFile file(pathFor(key));
    if (!file.open(QIODevice::WriteOnly)) return false;
    if (file.write(reinterpret_cast<const char*>(blob.data()), qint64(blob.size())) !=
        qint64(blob.size())) {
        file.cancelWriting();
        return false;
    }
    if (!file.commit()) return false;
    trim();
    return true;
}

void StateCache::remove(const QByteArray& key) {
    QFile::remove(pathFor(key));
}

qint64 StateCache::sizeOnDisk() const {
    qint64 total = 0;
    for (const QFileInfo& f : QDir(m_folder).entryInfoList({u"*.state"_s}, QDir::Files))
        total += f.size();
    return total;
}

void StateCache::trim() {
    QFileInfoList files = QDir(m_folder).entryInfoList({u"*.state"_s}, QDir::Files, QDir::Time);
    // QDir::Time sorts newest first: keep from the front, delete from the back.
    qint64 total = 0;
    for (const QFileInfo& f : files) total += f.size();
    while (total > m_maxBytes && files.size() > 1) {
        const QFileInfo oldest = files.takeLast();
        total -= oldest.size();
        QFile::remove(oldest.filePath());
    }
}

} // namespace gander::ingest
