// Small steps the window tests share.
#pragma once

#include <QListView>
#include <QTest>

#include "conversation_list_model.h"
#include "conversation_sidebar.h"
#include "main_window.h"

namespace gander::testing {

// Opens conversation `row` of the sidebar the way a user does: a click on its entry.
inline void clickConversation(ui::MainWindow& window, int row) {
    QListView* list = window.sidebar()->list();
    QTest::mouseClick(list->viewport(), Qt::LeftButton, {},
                      list->visualRect(window.conversationModel()->index(row)).center());
}

} // namespace gander::testing
