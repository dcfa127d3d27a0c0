"""Fixtures shared by the GUI tests."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings


@pytest.fixture
def demo_window(qtbot, tmp_path):
    """The real demo position (null sound device, simulated radios) in the main window at 1440x900:
    ``(position, window)``; PTT released and the position stopped at teardown."""
    from app.config import load_demo_profile
    from app.position import Position
    from ui.main_window import MainWindow

    real = Position(load_demo_profile(), demo=True, data_path=tmp_path / "demo.sqlite3")
    window = MainWindow(real, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.resize(1440, 900)
    window.show()
    real.start()
    yield real, window
    window.release_ptt()
    assert real.stop(timeout=3.0)
