// Shown when no model is loaded: choose a model file, a precision (with the memory each needs) and
// a backend, then load with a progress bar; errors are shown here in plain words.
#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;

namespace gander::ui {

class ModelSetupPanel final : public QWidget {
    Q_OBJECT
public:
    explicit ModelSetupPanel(QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(ModelSetupPanel)

    void setModelPath(const QString& path);
    QString modelPath() const { return m_path; }
    QString precision() const;
    QString backend() const;
    void setLoading(bool loading);
    void setProgress(double done);
    void setError(const QString& message);
    QPushButton* loadButton() const { return m_load; }

signals:
    void loadRequested(const QString& path, const QString& precision, const QString& backend);

private:
    void choose();
    void updateEstimates();

    QString m_path;
    QLabel* m_file;
    QComboBox* m_precision;
    QComboBox* m_backend;
    QPushButton* m_load;
    QProgressBar* m_progress;
    QLabel* m_error;
};

} // namespace gander::ui
