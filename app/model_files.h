// What the model set-up panel tells the user before loading: the files we read, the precisions
// and roughly how much memory each needs, and where official models come from.
#pragma once

#include <QList>
#include <QString>

namespace gander::app {

struct PrecisionChoice {
    QString id;       // "" (backend's choice), fp32, fp16, bf16, int8, int4
    QString label;    // for the combo box
    qint64 bytes = 0; // estimated weight memory for the chosen file (0: unknown)
};

// File dialog filter for the model files the engine reads.
QString modelFileFilter();
// Parameters guessed from the file size (official .pth/.safetensors files store bf16 weights).
qint64 estimateParameters(const QString& path);
QList<PrecisionChoice> precisionChoices(qint64 parameters);
QString formatBytes(qint64 bytes);
// Where to download the official RWKV-7 G1 models.
QString officialModelsUrl();

} // namespace gander::app
