// Document loading: the extension picks the reader, the content confirms it (a ".txt" that holds
// NUL bytes is refused, a file without extension that is valid UTF-8 is read as text).
#include "document_loader.h"

#include "file_filter.h"
#include "html_text.h"
#include "pdf_text.h"

#include <QCryptographicHash>
#include <QFile>
#include <QFileInfo>
#include <QSet>
#include <QStringDecoder>

using namespace Qt::StringLiterals;

namespace gander::ingest {

namespace {

const QSet<QString>& sourceSuffixes() {
    static const QSet<QString> s = {
        u"c"_s,    u"h"_s,      u"cc"_s,    u"cpp"_s,     u"cxx"_s,   u"hpp"_s,   u"hh"_s,
        u"hxx"_s,  u"cu"_s,     u"cuh"_s,   u"m"_s,       u"mm"_s,    u"rs"_s,    u"go"_s,
        u"py"_s,   u"pyi"_s,    u"js"_s,    u"mjs"_s,     u"cjs"_s,   u"ts"_s,    u"tsx"_s,
        u"jsx"_s,  u"java"_s,   u"kt"_s,    u"kts"_s,     u"scala"_s, u"swift"_s, u"cs"_s,
        u"fs"_s,   u"rb"_s,     u"php"_s,   u"pl"_s,      u"pm"_s,    u"lua"_s,   u"r"_s,
        u"jl"_s,   u"hs"_s,     u"ml"_s,    u"mli"_s,     u"ex"_s,    u"exs"_s,   u"erl"_s,
        u"clj"_s,  u"lisp"_s,   u"el"_s,    u"scm"_s,     u"zig"_s,   u"nim"_s,   u"d"_s,
        u"dart"_s, u"v"_s,      u"sv"_s,    u"vhd"_s,     u"sh"_s,    u"bash"_s,  u"zsh"_s,
        u"fish"_s, u"ps1"_s,    u"bat"_s,   u"cmake"_s,   u"mk"_s,    u"make"_s,  u"sql"_s,
        u"json"_s, u"yaml"_s,   u"yml"_s,   u"toml"_s,    u"ini"_s,   u"cfg"_s,   u"conf"_s,
        u"xml"_s,  u"qml"_s,    u"proto"_s, u"graphql"_s, u"css"_s,   u"scss"_s,  u"less"_s,
        u"vue"_s,  u"svelte"_s, u"tex"_s,   u"gradle"_s,  u"glsl"_s,  u"hlsl"_s,  u"wgsl"_s,
        u"asm"_s,  u"s"_s,      u"diff"_s,  u"patch"_s};
    return s;
}

// Formats people try to attach that are not text, with what to do instead.
QString unsupportedHint(const QString& suffix) {
    static const QHash<QString, QString> hints = {
        {u"docx"_s, u"a Word document: save it as PDF or plain text first"_s},
        {u"doc"_s, u"a Word document: save it as PDF or plain text first"_s},
        {u"odt"_s, u"an OpenDocument text: save it as PDF or plain text first"_s},
        {u"rtf"_s, u"rich text: save it as plain text first"_s},
        {u"epub"_s, u"an e-book: convert it to PDF or plain text first"_s},
        {u"xlsx"_s, u"a spreadsheet: export the sheet as CSV first"_s},
        {u"ods"_s, u"a spreadsheet: export the sheet as CSV first"_s},
        {u"pptx"_s, u"a presentation: export it as PDF first"_s},
        {u"png"_s, u"an image: Gander reads text only"_s},
        {u"jpg"_s, u"an image: Gander reads text only"_s},
        {u"jpeg"_s, u"an image: Gander reads text only"_s},
        {u"gif"_s, u"an image: Gander reads text only"_s},
        {u"zip"_s, u"an archive: unpack it and attach the folder as a codebase"_s},
        {u"gz"_s, u"an archive: unpack it first"_s}};
    return hints.value(suffix);
}

QByteArray textHash(const QString& text) {
    return QCryptographicHash::hash(text.toUtf8(), QCryptographicHash::Sha256).toHex();
}

Document fail(Document d, const QString& message) {
    d.kind.clear();
    d.text.clear();
    d.error = message;
    return d;
}

const QString kSupported =
    u"Gander can read plain text, Markdown, source code, PDF (with a text layer) and HTML."_s;

} // namespace

QString kindFromFileName(const QString& fileName) {
    const QString suffix = QFileInfo(fileName).suffix().toLower();
    if (suffix == u"pdf"_s) return u"pdf"_s;
    if (suffix == u"md"_s || suffix == u"markdown"_s || suffix == u"mdown"_s) return u"markdown"_s;
    if (suffix == u"html"_s || suffix == u"htm"_s || suffix == u"xhtml"_s) return u"html"_s;
    if (suffix == u"txt"_s || suffix == u"text"_s || suffix == u"log"_s || suffix == u"csv"_s ||
        suffix == u"tsv"_s || suffix == u"rst"_s || suffix == u"org"_s || suffix == u"adoc"_s)
        return u"text"_s;
    if (sourceSuffixes().contains(suffix)) return u"source"_s;
    return {};
}

Document documentFromText(const QString& name, const QString& text) {
    Document d;
    d.name = name;
    d.kind = u"text"_s;
    d.text = text;
    d.hash = textHash(text);
    return d;
}

Document loadDocument(const QString& path, const LoadOptions& options) {
    Document d;
    const QFileInfo info(path);
    d.path = info.absoluteFilePath();
    d.name = info.fileName();
    if (!info.exists()) return fail(d, u"“%1” does not exist."_s.arg(d.name));
    if (info.isDir())
        return fail(
            d, u"“%1” is a folder: drop it on the codebase panel to ask about its files."_s.arg(
                   d.name));
    if (info.size() > options.maxFileBytes)
        return fail(
            d, u"“%1” is %2 MiB, more than the %3 MiB Gander reads as a document."_s.arg(d.name)
                   .arg(info.size() / (1024 * 1024))
                   .arg(options.maxFileBytes / (1024 * 1024)));

    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return fail(d, u"“%1” could not be opened: %2."_s.arg(d.name, file.errorString()));
    const QByteArray head = file.peek(kSniffBytes);
    QString kind = kindFromFileName(d.name);
    if (head.startsWith("%PDF-")) kind = u"pdf"_s;

    if (kind == u"pdf"_s) {
        file.close();
        PdfText pdf = extractPdfText(d.path);
        if (!pdf.error.isEmpty()) return fail(d, pdf.error);
        if (pdf.text.trimmed().isEmpty())
            return fail(d, u"“%1” has no text to read (%2 pages, probably scanned images). Run it "
                           "through a text recogniser (OCR) first."_s.arg(d.name)
                               .arg(pdf.pages));
        d.kind = kind;
        d.pages = pdf.pages;
        d.text = pdf.text;
        d.hash = textHash(d.text);
        return d;
    }

    if (const QString hint = unsupportedHint(QFileInfo(d.name).suffix().toLower()); !hint.isEmpty())
        return fail(d, u"“%1” is %2. %3"_s.arg(d.name, hint, kSupported));
    // UTF-16 (as Windows tools write it) is full of NUL bytes but is text: its BOM says so.
    const bool utf16 = head.startsWith("\xff\xfe") || head.startsWith("\xfe\xff");
    if (!utf16 && looksBinary(head))
        return fail(d, u"“%1” is not a text file. %2"_s.arg(d.name, kSupported));

    const QByteArray bytes = file.readAll();
    if (file.error() != QFile::NoError)
        return fail(d, u"“%1” could not be read: %2."_s.arg(d.name, file.errorString()));
    QStringDecoder decoder(utf16 ? QStringDecoder::Utf16 : QStringDecoder::Utf8);
    QString text = decoder.decode(bytes);
    if (decoder.hasError()) {
        // Not UTF-8: older text files are often Latin-1; anything else would be binary already.
        text = QString::fromLatin1(bytes);
    }
    if (text.startsWith(QChar(0xFEFF))) text.remove(0, 1);
    text.replace(u"\r\n"_s, u"\n"_s);
    if (kind == u"html"_s) text = htmlToText(text);
    if (kind.isEmpty()) kind = u"text"_s;
    if (text.trimmed().isEmpty()) return fail(d, u"“%1” is empty."_s.arg(d.name));
    d.kind = kind;
    d.text = text;
    d.hash = textHash(text);
    return d;
}

} // namespace gander::ingest
