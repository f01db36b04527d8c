// The engine worker reads the documents that open a conversation through the document state
// cache: a second conversation about the same document restores the state instead of reading it.
// (Proved by a planted cache entry: the worker's state then counts the planted state's tokens.)
#include "chat_store.h"
#include "document_loader.h"
#include "document_prompt.h"
#include "engine_worker.h"
#include "state_cache.h"

#include "fixtures.h"

#include <gander/chat.h>
#include <gander/gander.h>
#include <gander/tokenizer.h>

#include <QDir>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace Qt::StringLiterals;
using namespace gander::app;
using namespace gander::ingest;

class TestEngineDocuments final : public QObject {
    Q_OBJECT
private slots:
    void secondConversationRestoresTheDocument() {
        const QString model = gander::testing::fixturePath(u"rwkv7/trained-tiny.pth"_s);
        GANDER_REQUIRE_FIXTURE(model);
        QTemporaryDir dir;
        const QString db = dir.filePath(u"chat.sqlite"_s);
        ChatStore store;
        QVERIFY(store.open(db));
        QString text;
        for (int i = 0; i < 60; ++i) text += u"Line %1 of the notes.\n"_s.arg(i);
        const Document doc = documentFromText(u"notes.txt"_s, text);
        const qint64 docTokens = qint64(documentTurn(doc).size()); // byte-level model

        auto conversationWith = [&](const QString& question, qint64* leaf) {
            const qint64 c = store.createConversation(u"t"_s);
            const qint64 m = store.addMessage(c, 0, Role::User, documentMessageText(doc));
            *leaf = store.addMessage(c, m, Role::User, question);
            return c;
        };
        qint64 leaf1 = 0, leaf2 = 0;
        const qint64 c1 = conversationWith(u"What is it?"_s, &leaf1);
        const qint64 c2 = conversationWith(u"How long is it?"_s, &leaf2);

        EngineWorker worker(db);
        QSignalSpy loaded(&worker, &EngineWorker::modelLoaded);
        QSignalSpy prepared(&worker, &EngineWorker::prepared);
        ModelRequest request;
        request.path = model;
        request.backend = u"cpu"_s;
        worker.loadModel(request);
        QCOMPARE(loaded.size(), 1);

        worker.prepare(c1, leaf1);
        QCOMPARE(prepared.size(), 1);
        const qint64 question1 =
            qint64(gander::format_chat_turn({gander::ChatRole::User, "What is it?"}).size());
        QCOMPARE(prepared.last().at(2).toLongLong(), docTokens + question1);
        const QDir states(QFileInfo(db).absoluteDir().filePath(u"document-states"_s));
        const QStringList files = states.entryList({u"*.state"_s});
        QCOMPARE(files.size(), 1); // the document's state was cached

        // Plant a different (valid) state under the document's key: if the worker uses the
        // cache, the second conversation starts from it (1 token) instead of reading the text.
        auto planted = gander::load_model(model.toStdString(), {gander::BackendKind::Cpu});
        auto session = planted->new_session();
        session->feed('X');
        const auto blob = session->save_state();
        StateCache cache(states.path());
        QVERIFY(cache.store(QFileInfo(files.first()).completeBaseName().toLatin1(), blob));

        worker.prepare(c2, leaf2);
        QCOMPARE(prepared.size(), 2);
        const qint64 question2 =
            qint64(gander::format_chat_turn({gander::ChatRole::User, "How long is it?"}).size());
        QCOMPARE(prepared.last().at(2).toLongLong(), 1 + question2);
    }
};

QTEST_GUILESS_MAIN(TestEngineDocuments)
#include "test_engine_documents.moc"
