// The numbered schema migrations of the chat database. Migration N turns a database at
// user_version N-1 into one at N; ChatStore applies the missing ones in one transaction.
#pragma once

#include <QList>
#include <QStringList>

namespace gander::app {

struct Migration {
    int version;
    QStringList statements;
};

// All migrations, in order; the last one's version is the schema this build writes.
const QList<Migration>& migrations();
int latestSchemaVersion();

// 'GAND': marks the file as ours, so another program's SQLite file is refused rather than altered.
constexpr int kApplicationId = 0x47414e44;

} // namespace gander::app
