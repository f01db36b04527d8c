#include "model_files.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QLocale>

using namespace Qt::StringLiterals;

namespace gander::app {

QString modelFileFilter() {
    return QCoreApplication::translate("gander", "RWKV-7 models (*.pth *.safetensors *.gander);;"
                                                 "All files (*)");
}

qint64 estimateParameters(const QString& path) {
    const QFileInfo info(path);
    if (!info.isFile()) return 0;
    // Cache files are already quantized; their size is the memory they need.
    if (info.suffix() == "gander"_L1) return 0;
    return info.size() / 2;
}

QList<PrecisionChoice> precisionChoices(qint64 n) {
    // Bytes per weight, with the scales of the grouped quantized formats.
    return {
        {QString(), QCoreApplication::translate("gander", "Automatic (fp16 on the card)"), n * 2},
        {u"fp16"_s, u"fp16"_s, n * 2},
        {u"bf16"_s, u"bf16"_s, n * 2},
        {u"int8"_s, QCoreApplication::translate("gander", "int8 (smaller, slightly less exact)"),
         n + n / 32},
        {u"int4"_s, QCoreApplication::translate("gander", "int4 (smallest)"), n / 2 + n / 16},
        {u"fp32"_s, QCoreApplication::translate("gander", "fp32 (CPU reference)"), n * 4},
    };
}

QString formatBytes(qint64 bytes) {
    return QLocale().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}

QString officialModelsUrl() {
    return u"https://huggingface.co/BlinkDL/rwkv7-g1"_s;
}

} // namespace gander::app
