"""Starts the desktop console around one ``position`` (app.position.Position, wired by ui.cli)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from ui.main_window import THEME_KEY, MainWindow
from ui.theme import apply_theme
from ui.widgets.app_icon import app_icon

if TYPE_CHECKING:  # the lead composes the position; the GUI only needs its duck type at run time
    from app.position import Position

APP_NAME = "dispatch-console"  # also the X11 WM class: packaging/linux's StartupWMClass
ORG_NAME = "dispatch-console"
# The desktop entry's id (packaging/linux/<id>.desktop): Wayland links the window to it by this name.
DESKTOP_ID = "org.dispatchconsole.DispatchConsole"


def run_gui(position: "Position", *, settings_path: Path) -> int:
    """Show the console, start the position's services, run the event loop; returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationDisplayName("Dispatch Console")
    app.setDesktopFileName(DESKTOP_ID)
    app.setWindowIcon(app_icon())

    settings_path.parent.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    apply_theme(app, settings.value(THEME_KEY))

    window = MainWindow(position, settings)
    # Unkey before the services stop: the window lets go of its PTT first, then the position
    # shuts down (which unkeys every transmitter itself).
    app.aboutToQuit.connect(window.release_ptt)
    app.aboutToQuit.connect(position.stop)
    if window.has_saved_geometry:
        window.show()  # restoreGeometry brought back the size and the maximized state
    else:
        window.showMaximized()
    position.start()
    return app.exec()
