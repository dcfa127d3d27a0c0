"""Directory panel: typing filters, Up/Down move while the box keeps focus, Enter dials, outside text stays plain."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel

from app.calls.directory import DirectoryEntry
from ui.calltaker.directory_panel import DirectoryPanel

HOSTILE = "<b>x</b><img src=x>"
ENTRIES = (
    DirectoryEntry("Little Rock Police Department", "(501) 555-0121", "police", "ask for the watch desk", (), 2),
    DirectoryEntry("Little Rock Fire Department", "(501) 555-0122", "fire", "", (), 3),
    DirectoryEntry("Metropolitan Emergency Medical Services", "(501) 555-0123", "EMS", "", ("MEMS",), 4),
    DirectoryEntry(HOSTILE, "(501) 555-0124", "<i>cat</i>", f"notes {HOSTILE}", (), 5),
)


@pytest.fixture
def panel(qtbot) -> DirectoryPanel:
    widget = DirectoryPanel()
    qtbot.addWidget(widget)
    widget.set_entries(ENTRIES)
    widget.show()
    qtbot.waitExposed(widget)
    widget.focus_search()
    qtbot.waitUntil(widget.search_box.hasFocus)
    return widget


def shown(panel: DirectoryPanel, column: int) -> list[str]:
    """What the list displays in ``column``, row by row."""
    model = panel.model
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def shown_names(panel: DirectoryPanel) -> list[str]:
    return shown(panel, 0)


def test_all_entries_in_file_order_before_typing(panel):
    assert shown_names(panel) == [entry.name for entry in ENTRIES]
    assert panel.count_label.text() == "4 of 4"
    assert panel.current_entry() == ENTRIES[0]


def test_typing_filters(panel, qtbot):
    qtbot.keyClicks(panel.search_box, "lrfd")
    assert shown_names(panel) == ["Little Rock Fire Department"]
    assert panel.count_label.text() == "1 of 4"
    panel.search_box.clear()
    qtbot.keyClicks(panel.search_box, "zzz")
    assert shown_names(panel) == []
    assert panel.current_entry() is None
    assert not panel.dial_button.isEnabled()


def test_enter_dials_the_highlighted_entry(panel, qtbot):
    qtbot.keyClicks(panel.search_box, "rock")
    assert shown_names(panel) == ["Little Rock Police Department", "Little Rock Fire Department"]
    qtbot.keyClick(panel.search_box, Qt.Key.Key_Down)
    assert panel.search_box.hasFocus()
    assert panel.search_box.text() == "rock"  # the arrow moved the list, not the cursor's text
    with qtbot.waitSignal(panel.dial_requested, timeout=1000) as signal:
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
    assert signal.args == [ENTRIES[1]]


def test_up_and_down_stop_at_the_ends(panel, qtbot):
    for _ in range(10):
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Down)
    assert panel.current_entry() == ENTRIES[-1]
    qtbot.keyClick(panel.search_box, Qt.Key.Key_Up)
    assert panel.current_entry() == ENTRIES[-2]
    qtbot.keyClick(panel.search_box, Qt.Key.Key_PageUp)
    assert panel.current_entry() == ENTRIES[0]


def test_enter_with_nothing_found_emits_nothing(panel, qtbot):
    qtbot.keyClicks(panel.search_box, "nothing like this")
    with qtbot.assertNotEmitted(panel.dial_requested, wait=50):
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)


def test_escape_clears_the_search(panel, qtbot):
    qtbot.keyClicks(panel.search_box, "mems")
    assert shown_names(panel) == ["Metropolitan Emergency Medical Services"]
    qtbot.keyClick(panel.search_box, Qt.Key.Key_Escape)
    assert panel.search_box.text() == ""
    assert len(shown_names(panel)) == 4


def test_button_follows_the_dial_method_and_dials(panel, qtbot):
    assert panel.dial_button.text().startswith("Copy")
    panel.set_dial_method("dtmf")
    assert panel.dial_button.text().startswith("Dial")
    qtbot.keyClicks(panel.search_box, "mems")
    with qtbot.waitSignal(panel.dial_requested, timeout=1000) as signal:
        qtbot.mouseClick(panel.dial_button, Qt.MouseButton.LeftButton)
    assert signal.args == [ENTRIES[2]]
    assert panel.status_label.text() == "Dialling (501) 555-0123 — Metropolitan Emergency Medical Services"
    with pytest.raises(ValueError, match="dial method must be one of copy, dtmf"):
        panel.set_dial_method("carrier pigeon")


def test_copy_puts_the_digits_on_the_clipboard(panel, qtbot):
    QGuiApplication.clipboard().setText("before")
    panel.set_dial_method("copy")
    qtbot.keyClicks(panel.search_box, "lrpd")
    with qtbot.waitSignal(panel.dial_requested, timeout=1000):
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Enter)
    assert QGuiApplication.clipboard().text() == "5015550121"


def test_double_click_dials_that_row(panel, qtbot):
    view = panel.table
    rect = view.visualRect(panel.model.index(2, 0))
    # A real double-click is a click followed by QTest's double-click (press + DblClick on the same row).
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.current_entry() == ENTRIES[2]
    with qtbot.waitSignal(panel.dial_requested, timeout=1000) as signal:
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [ENTRIES[2]]


def test_outside_text_is_shown_literally(panel, qtbot):
    qtbot.keyClicks(panel.search_box, "555-0124")
    assert shown_names(panel) == [HOSTILE]
    assert shown(panel, 1) == ["(501) 555-0124"]
    assert shown(panel, 2) == ["<i>cat</i>"]
    assert panel.current_entry() == ENTRIES[3]
    assert panel.notes_label.text() == f"notes {HOSTILE}"
    for label in panel.findChildren(QLabel):
        assert label.textFormat() == Qt.TextFormat.PlainText
    panel.set_dial_method("dtmf")
    with qtbot.waitSignal(panel.dial_requested, timeout=1000):
        qtbot.keyClick(panel.search_box, Qt.Key.Key_Return)
    assert panel.status_label.text() == f"Dialling (501) 555-0124 — {HOSTILE}"


def test_control_bytes_in_a_name_become_visible(panel):
    panel.set_entries((DirectoryEntry("Bad\x1b[31mName\nTwo", "988"),))
    assert shown_names(panel) == ["Bad<0x1B>[31mName<LF>Two"]


def test_no_directory_loaded(qtbot):
    widget = DirectoryPanel()
    qtbot.addWidget(widget)
    assert widget.count_label.text() == "no directory loaded"
    assert not widget.dial_button.isEnabled()
    widget.dial_current()  # nothing to dial: no signal, no error
