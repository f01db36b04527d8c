// The engine worker reads the documents that open a conversation through the document state
// cache: a second conversation about the same document restores the state instead of reading it.
// (Proved by a planted cache entry: the worker's state then counts the planted state's tokens.)
// And its summarise request: a document over the budget summarised part by part, the messages
// stored only once every part is done, a stop that stores nothing, and a conversation under way
// that is not read again.
#include "chat_store.h"
#include "document_loader.h"
#include "document_prompt.h"
#include "engine_worker.h"
#include "state_cache.h"
#include "token_counter.h"

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

    void summariseInPartsStoresThePartsThenReplies() {
        Fixture f;
        QVERIFY(f.open(m_dir.filePath(u"parts.sqlite"_s)));
        const qint64 c = f.store.createConversation(u"t"_s, u"Be brief."_s);
        const Document shortDoc = documentFromText(u"short.txt"_s, u"A short note."_s);
        const Document longDoc = longDocument();
        const DocumentPlan plan = planDocument(longDoc, TokenCounter(gander::make_byte_tokenizer()),
                                               kBudget, kPartBudget);
        QVERIFY(plan.inParts);
        const int parts = int(plan.parts.size());
        QVERIFY(parts >= 3);

        QSignalSpy progress(f.worker.get(), &EngineWorker::partsProgress);
        QSignalSpy summarised(f.worker.get(), &EngineWorker::partSummarised);
        QSignalSpy stored(f.worker.get(), &EngineWorker::partsStored);
        QSignalSpy finished(f.worker.get(), &EngineWorker::replyFinished);
        QSignalSpy failed(f.worker.get(), &EngineWorker::replyFailed);
        f.worker->beginRequest(1);
        f.worker->summarise(request(c, 0, {shortDoc, longDoc}));
        QVERIFY2(failed.isEmpty(),
                 failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
        QCOMPARE(finished.size(), 1);
        QCOMPARE(summarised.size(), parts);
        QCOMPARE(summarised.last().at(2).toInt(), parts);
        QCOMPARE(progress.first().at(1).toString(), u"long.txt"_s);
        QCOMPARE(progress.last().at(3).toInt(), parts);
        QCOMPARE(stored.size(), 1);
        QCOMPARE(stored.first().at(2).toInt(), 1);     // one document in parts
        QCOMPARE(stored.first().at(3).toInt(), parts); // in this many parts

        // Short document, part summaries, codebase context, question, reply: in that order.
        const auto conversation = f.store.conversation(c);
        const QList<Message> path = f.store.path(conversation->leafId);
        QCOMPARE(path.size(), 5);
        QCOMPARE(path[0].text, documentMessageText(shortDoc));
        const auto info = describeDocumentMessage(path[1].text);
        QVERIFY(info.has_value());
        QCOMPARE(info->name, u"long.txt"_s);
        QCOMPARE(info->parts, parts);
        QCOMPARE(info->tokens, plan.tokens);
        for (const QList<QVariant>& s : std::as_const(summarised))
            QVERIFY(path[1].text.contains(s.at(4).toString().simplified()));
        QVERIFY(!path[1].text.contains(u"Line 400 of"_s)); // the summaries, not the text
        QCOMPARE(path[2].text, u"=== src/main.cpp ==="_s);
        QCOMPARE(path[3].text, summariseRequest());
        QCOMPARE(path[3].id, stored.first().at(1).toLongLong());
        QCOMPARE(path[4].role, Role::Assistant);
        QCOMPARE(finished.first().at(1).toLongLong(), path[4].id);
    }

    void stopWhileSummarisingStoresNothing() {
        Fixture f;
        QVERIFY(f.open(m_dir.filePath(u"stop.sqlite"_s)));
        const qint64 c = f.store.createConversation(u"t"_s);
        QSignalSpy summarised(f.worker.get(), &EngineWorker::partSummarised);
        QSignalSpy stored(f.worker.get(), &EngineWorker::partsStored);
        QSignalSpy failed(f.worker.get(), &EngineWorker::replyFailed);
        // Stop once the first part is summarised (the worker runs on this thread).
        connect(f.worker.get(), &EngineWorker::partSummarised, this,
                [&] { f.worker->requestStop(7); });
        f.worker->beginRequest(7);
        f.worker->summarise(request(c, 0, {longDocument()}));
        QCOMPARE(summarised.size(), 1);
        QCOMPARE(failed.size(), 1);
        QVERIFY(failed.first().at(1).toString().contains(u"nothing was stored"_s));
        QVERIFY(stored.isEmpty());
        QCOMPARE(f.store.conversation(c)->leafId, 0);
    }

    // In a conversation under way, the state before the document is kept and restored: the
    // conversation is not read again, neither before summarising nor for the reply.
    void summariseInAConversationUnderWay() {
        Fixture f;
        QVERIFY(f.open(m_dir.filePath(u"under-way.sqlite"_s)));
        const qint64 c = f.store.createConversation(u"t"_s);
        const qint64 first = f.store.addMessage(c, 0, Role::User, u"Hello there."_s);
        QSignalSpy finished(f.worker.get(), &EngineWorker::replyFinished);
        QSignalSpy rebuild(f.worker.get(), &EngineWorker::rebuildProgress);
        GenerateRequest hello;
        hello.userMessageId = first;
        hello.maxTokens = 8;
        f.worker->beginRequest(1);
        f.worker->generate(hello);
        QCOMPARE(finished.size(), 1);
        const qint64 reply = finished.first().at(1).toLongLong();
        rebuild.clear();
        f.worker->forget(c); // as after switching conversations: the saved state is used

        f.worker->beginRequest(2);
        f.worker->summarise(request(c, reply, {longDocument()}));
        QCOMPARE(finished.size(), 2);
        QVERIFY2(rebuild.isEmpty(), "the conversation was read again");
        const QList<Message> path = f.store.path(f.store.conversation(c)->leafId);
        QCOMPARE(path.size(), 6); // hello, reply, parts, codebase, question, reply
        QCOMPARE(path[1].id, reply);
        QVERIFY(describeDocumentMessage(path[2].text).has_value());
    }

private:
    static constexpr int kBudget = 2000;
    static constexpr int kPartBudget = 1000;

    struct Fixture {
        ChatStore store;
        std::unique_ptr<EngineWorker> worker;
        bool open(const QString& db) {
            const QString model = gander::testing::fixturePath(u"rwkv7/trained-tiny.pth"_s);
            if (!QFileInfo::exists(model) || !store.open(db)) return false;
            worker = std::make_unique<EngineWorker>(db);
            QSignalSpy loaded(worker.get(), &EngineWorker::modelLoaded);
            ModelRequest request;
            request.path = model;
            request.backend = u"cpu"_s;
            worker->loadModel(request);
            return loaded.size() == 1;
        }
    };

    static Document longDocument() {
        QString text;
        for (int i = 1; i <= 400; ++i) text += u"Line %1 of the long notes.\n"_s.arg(i);
        return documentFromText(u"long.txt"_s, text); // ~10,800 bytes: byte-level model
    }

    static SummariseRequest request(qint64 c, qint64 parent, const QList<Document>& documents) {
        SummariseRequest r;
        r.conversationId = c;
        r.parentId = parent;
        r.documents = documents;
        r.after = {u"=== src/main.cpp ==="_s};
        r.question = summariseRequest();
        r.budget = kBudget;
        r.partBudget = kPartBudget;
        r.maxTokensPerPart = 16;
        r.reply.maxTokens = 16;
        r.reply.sampling.seed = 5;
        return r;
    }

    QTemporaryDir m_dir;
};

QTEST_GUILESS_MAIN(TestEngineDocuments)
#include "test_engine_documents.moc"
