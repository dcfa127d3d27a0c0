"""The real demo: main window offscreen on the demo profile, every role view, simulated activity arriving."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from app.config import load_demo_profile
from app.position import Position
from ui.main_window import MainWindow


@pytest.fixture
def demo(qtbot, tmp_path):
    position = Position(load_demo_profile(), demo=True, data_path=tmp_path / "demo.sqlite3")
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(position, settings)
    qtbot.addWidget(window)
    window.show()
    position.start()
    yield position, window
    window.release_ptt()
    assert position.stop(timeout=3.0)


def _visible_text(widget) -> str:
    from PySide6.QtCore import QAbstractListModel
    from PySide6.QtWidgets import QAbstractItemView, QPlainTextEdit, QWidget

    parts = []
    for child in widget.findChildren(QWidget):
        if not child.isVisibleTo(widget):
            continue
        if isinstance(child, QPlainTextEdit):
            parts.append(child.toPlainText())
        elif callable(getattr(child, "text", None)):
            parts.append(child.text())
    for view in widget.findChildren(QAbstractItemView):
        model = view.model()
        if model is None:
            continue
        # A QListWidget's model refuses columnCount() from Python; lists have one column.
        columns = 1 if isinstance(model, QAbstractListModel) else model.columnCount()
        for row in range(model.rowCount()):
            for col in range(columns):
                parts.append(str(model.index(row, col).data() or ""))
    return "\n".join(parts)


def test_demo_window_shows_every_role_and_live_activity(qtbot, demo):
    position, window = demo
    # Every configured device reports its link, and the status bar shows them all.
    qtbot.waitUntil(lambda: all(d.state == "up" for d in position.status.devices), timeout=5000)
    status_text = _visible_text(window.statusBar())
    for device in position.status.devices:
        assert device.label[:6] in status_text

    # Dispatcher: a receive burst on a simulated radio lights its tile.
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.role == "dispatcher"
    position.driver("ems-1").inject_burst(2.0, "2231")
    qtbot.waitUntil(lambda: "2231" in _visible_text(window.dispatcher), timeout=3000)

    # Call-taker: a simulated 9-1-1 call rings, is answered, and its spill pops as raw text.
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.role == "calltaker"
    position.driver("phone").ring(1)
    qtbot.waitUntil(lambda: bool(position.calls.ringing), timeout=3000)
    window.answer_call()
    qtbot.waitUntil(lambda: "DEMO COUNTY SCHOOL" in _visible_text(window.calltaker), timeout=3000)

    # Technician: the live event log shows what just happened.
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.role == "technician"
    qtbot.waitUntil(lambda: "call.answer" in _visible_text(window.technician), timeout=3000)
