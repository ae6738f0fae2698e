"""Window geometry, splitter and tab, kept in an INI file in the config folder."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from tierdeck.core.paths import app_dirs, ensure_dir


def window_settings() -> QSettings:
    # An explicit file (not the platform registry/plist) so TIERDECK_HOME isolates it too.
    path = ensure_dir(app_dirs().config) / "window.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)
