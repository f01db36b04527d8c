// Light, dark or the system's palette, applied to the whole application.
#pragma once

#include "app_settings.h"

namespace gander::ui {

void applyTheme(gander::app::Theme theme);
// Whether the palette now in use is dark (to pick contrasting colours in custom painting).
bool isDarkPalette();

} // namespace gander::ui
