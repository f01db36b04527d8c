// PDF text through QPdfDocument: load, check the status, then getAllText() for every page.
#include "pdf_text.h"

#include <QFileInfo>
#include <QPdfDocument>
#include <QPdfSelection>

using namespace Qt::StringLiterals;

namespace gander::ingest {

PdfText extractPdfText(const QString& path) {
    PdfText result;
    const QString name = QFileInfo(path).fileName();
    QPdfDocument document;
    const QPdfDocument::Error error = document.load(path);
    switch (error) {
    case QPdfDocument::Error::None:
        break;
    case QPdfDocument::Error::IncorrectPassword:
        result.error = u"“%1” is protected by a password; open it in a PDF viewer and save an "
                       "unprotected copy to attach it."_s.arg(name);
        return result;
    case QPdfDocument::Error::UnsupportedSecurityScheme:
        result.error = u"“%1” uses a kind of PDF encryption that cannot be read."_s.arg(name);
        return result;
    case QPdfDocument::Error::FileNotFound:
        result.error = u"“%1” could not be opened (it is missing or not readable)."_s.arg(name);
        return result;
    case QPdfDocument::Error::InvalidFileFormat:
    case QPdfDocument::Error::DataNotYetAvailable:
    case QPdfDocument::Error::Unknown:
        result.error =
            u"“%1” is damaged or is not a PDF file, so its text cannot be read."_s.arg(name);
        return result;
    }
    result.pages = document.pageCount();
    QStringList pages;
    pages.reserve(result.pages);
    for (int i = 0; i < result.pages; ++i) {
        const QString page = document.getAllText(i).text().trimmed();
        if (!page.isEmpty()) pages += page;
    }
    document.close();
    // Qt PDF ends lines with "\r\n" on some files; the prompt wants "\n".
    result.text = pages.join(u"\n\n"_s);
    result.text.replace(u"\r\n"_s, u"\n"_s);
    result.text.replace(u'\r', u'\n');
    return result;
}

} // namespace gander::ingest
