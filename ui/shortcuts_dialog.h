// Help > Keyboard Shortcuts: every shortcut of the window, from the same table that binds them.
#pragma once

#include <QDialog>
#include <QKeySequence>
#include <QList>

namespace gander::ui {

struct ShortcutInfo {
    QString action;
    QKeySequence keys;
};

class ShortcutsDialog final : public QDialog {
    Q_OBJECT
public:
    ShortcutsDialog(const QList<ShortcutInfo>& shortcuts, QWidget* parent = nullptr);
    Q_DISABLE_COPY_MOVE(ShortcutsDialog)
};

} // namespace gander::ui
