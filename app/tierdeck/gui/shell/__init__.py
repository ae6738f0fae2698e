"""The window's frame: app start, main window, tray, settings, theme, icons, fonts."""
