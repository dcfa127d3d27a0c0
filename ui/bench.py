"""``dispatch-console bench ...``: measurements that print figures.

Headless by default; ``--gui`` runs the same soak with the real main window (offscreen or on a screen),
which is the only path here that loads QtWidgets.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path


def soak(seconds: float, speed: float, *, as_json: bool, gui: bool) -> int:
    from app.bench.soak import run_soak

    if gui:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from ui.main_window import MainWindow

        app = QApplication.instance() or QApplication([])
        settings_dir = tempfile.TemporaryDirectory(prefix="dc-soak-ui-")
        settings = QSettings(str(Path(settings_dir.name) / "ui.ini"), QSettings.Format.IniFormat)
        result = run_soak(seconds, speed, make_window=lambda position: MainWindow(position, settings))
        settings_dir.cleanup()
    else:
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance() or QCoreApplication([])
        result = run_soak(seconds, speed)
    del app
    if as_json:
        print(json.dumps(result.summary()))
    else:
        for key, value in result.summary().items():
            print(f"{key:24} {value}")
    return 0
