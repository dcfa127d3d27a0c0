"""The Call-taker view's pop: location first, prompts, flags, rebids, callbacks - and outside text kept literal.

The first tests render snapshots through a recording stand-in for Position (the view's only
dependency); the last one sends a hostile spill through a real Position, its ALI reader and parser.
"""

from __future__ import annotations

import time
from types import MappingProxyType

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel

from app.ali.layouts import load_layout
from app.ali.parse import parse_frame
from app.ali.framing import Framer
from app.snapshots import (
    CallbackAttempt,
    CallbackView,
    CallsSnapshot,
    CallView,
    RegistryFlag,
    SpillView,
    TimelineEntry,
)
from hardware.sim.spills import DEMO_RECORDS, format_30w, frame, rebid_of
from tests.ui.test_views import Recorder
from ui.calltaker.view import CallTakerView

NOW = time.time()
WPH1 = DEMO_RECORDS[2]


def parsed_spill(record, seq: int = 1, *, text: str | None = None) -> SpillView:
    raw = frame(text if text is not None else format_30w(record, "2001", NOW))
    (item,) = Framer().feed(raw)
    result = parse_frame(item, load_layout("30w"))
    return SpillView(NOW - 5, result["raw"], result["kind"], item.bcc_ok, tuple(result["errors"]), 3,
                     MappingProxyType(result["record"]), result["header"], result["position"], "30w", seq)


def view_for(qtbot, position=None):
    position = position or Recorder()
    view = CallTakerView(position)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    return view, position


def test_location_comes_first_then_the_caller(qtbot):
    view, _ = view_for(qtbot)
    busn = DEMO_RECORDS[1]
    call = CallView(1, "911-1", "answered", NOW - 10, NOW - 6, spills=(parsed_spill(busn),), uid="u1")
    view.render(CallsSnapshot(active=call))
    block = view.active.location
    assert block.location_label.text().splitlines() == ["4410 N ACADEMY BLVD", "BLDG C", "DEMO CITY CO"]
    assert block.agencies_label.text() == "ESN 00231  ·  DEMO CITY PD  ·  DEMO CITY FD  ·  DEMO COUNTY EMS"
    assert block.values["ani"].text() == "(719) 555-0102"
    assert block.values["class_of_service"].text() == "BUSN · Business"
    assert block.values["name"].text() == "DEMO COUNTY SCHOOL DIST 11"
    assert not view.active.warning_row.isVisible()


def test_phase1_prompts_to_confirm_and_rebid_and_history_can_be_picked(qtbot):
    view, position = view_for(qtbot)
    first = parsed_spill(WPH1, 1)
    call = CallView(1, "911-1", "answered", NOW - 10, NOW - 6, spills=(first,), uid="u1",
                    location_warning="Wireless Phase I: this is the cell site")
    view.render(CallsSnapshot(active=call, can_rebid=True))
    assert view.active.warning_row.isVisible() and "Phase I" in view.active.warning_label.text()
    assert "+38.900000, -104.800000  ±2070 m" in view.active.location.location_label.text()
    qtbot.mouseClick(view.active.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.active.rebid_button, Qt.MouseButton.LeftButton)
    assert position.commands == [("confirm_location",), ("request_rebid",)]

    second = parsed_spill(rebid_of(WPH1), 2)
    view.render(CallsSnapshot(active=CallView(1, "911-1", "answered", NOW - 10, NOW - 6, spills=(first, second),
                                              uid="u1"), can_rebid=True))
    assert view.active.spill_picker.isVisible() and view.active.spill_picker.count() == 2
    assert "±9 m" in view.active.location.location_label.text()
    view.active.spill_picker.activated.emit(0)  # the call-taker looks back at the Phase I spill
    assert view.active.shown_spill is first and "±2070 m" in view.active.location.location_label.text()
    third = parsed_spill(WPH1, 3)
    view.render(CallsSnapshot(active=CallView(1, "911-1", "answered", NOW - 10, NOW - 6,
                                              spills=(first, second, third), uid="u1"), can_rebid=True))
    assert view.active.shown_spill is first  # a picked spill stays picked until the call changes


def test_rebid_button_is_off_without_a_request_string(qtbot):
    view, position = view_for(qtbot)
    call = CallView(1, "911-1", "answered", NOW - 10, NOW - 6, spills=(parsed_spill(WPH1),), uid="u1")
    view.render(CallsSnapshot(active=call, can_rebid=False))
    assert not view.active.rebid_button.isEnabled()
    view.rebid()
    assert position.commands == []


def test_registry_flags_are_prominent_and_literal(qtbot):
    view, _ = view_for(qtbot)
    flag = RegistryFlag("<b>DOE</b>", "oxygen in use", "home O2 \x1b[31m no flames", matched_on="phone")
    call = CallView(1, "911-1", "answered", NOW - 10, NOW - 6, spills=(parsed_spill(DEMO_RECORDS[0]),), uid="u1",
                    flags=(flag,))
    view.render(CallsSnapshot(active=call))
    label = view.active.flag_label
    assert label.isVisible() and label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == "⚑ OXYGEN IN USE: <b>DOE</b>  (matched on phone)\n    home O2 <0x1B>[31m no flames"


def test_unparsed_spill_shows_raw_text_and_reason(qtbot):
    view, _ = view_for(qtbot)
    odd = parsed_spill(None, text="GARBLED SPILL")
    call = CallView(1, "911-1", "answered", NOW - 10, NOW - 6, spills=(odd,), uid="u1",
                    location_warning="The spill did not read as a location")
    view.render(CallsSnapshot(active=call))
    assert odd.kind == "unparsed"
    assert view.active.details.currentWidget() is view.active.ali_text
    assert "GARBLED SPILL" in view.active.ali_text.toPlainText()  # unparsed: shown at once, not deferred
    assert view.active.errors_label.isVisible()


def test_hang_up_release_and_callback_outcomes_send_commands(qtbot):
    view, position = view_for(qtbot)
    call = CallView(1, "911-1", "answered", NOW - 10, NOW - 6, uid="u1",
                    timeline=(TimelineEntry(NOW - 10, "ring", "ringing on 911-1"),))
    items = (
        CallbackView("u9", "7195550199", "abandoned", NOW - 300, "911-2", "1000 OAK VALLEY DR",
                     (CallbackAttempt(NOW - 100, "no_answer", "jo@CT-1"),)),
        CallbackView("u8", "7195550198", "hang-up", NOW - 900, closed=True),
    )
    view.render(CallsSnapshot(active=call, callbacks=items))
    assert view.history.tabText(view.callbacks_tab) == "CALLBACKS (1) ⚠"
    assert view.callbacks.model.column_texts(3) == ["(719) 555-0199", "(719) 555-0198"]
    assert view.callbacks.model.column_texts(6) == ["OPEN", "DONE"]
    assert "No answer" in view.callbacks.model.column_texts(5)[0]

    qtbot.mouseClick(view.hang_up_button, Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("release_call", True)

    view.callbacks.table.selectRow(1)
    assert not view.callbacks.outcome_buttons["reached"].isEnabled()  # closed items take no outcome
    view.callbacks.table.selectRow(0)
    view.callbacks.note.setText("spoke to caller, misdial")
    qtbot.mouseClick(view.callbacks.outcome_buttons["reached"], Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("record_callback", "u9", "reached", "spoke to caller, misdial")
    assert view.callbacks.note.text() == ""


def test_manual_ring_button_only_for_manual_ring_source(qtbot):
    view, position = view_for(qtbot)
    view.render(CallsSnapshot())
    assert not view.ring_button.isVisible()
    view.render(CallsSnapshot(manual_ring=True))
    assert view.ring_button.isVisible()
    qtbot.mouseClick(view.ring_button, Qt.MouseButton.LeftButton)
    assert position.commands == [("manual_ring", "MANUAL")]


def test_hostile_spill_through_a_real_position_shows_literally(qtbot, tmp_path):
    """A spill carrying markup and ANSI escapes, sent down the simulated ALI line, parsed and popped."""
    from app.config import load_profile
    from app.position import Position
    from ui.main_window import MainWindow

    path = tmp_path / "p.toml"
    path.write_text('[position]\nname = "T"\nrole = "calltaker"\n'
                    '[ali]\nurl = "sim://phone"\nlayout = "30w"\n'
                    '[phone]\nkind = "sim"\ncalls_per_minute = 0.0\nseed = 1\n')
    position = Position(load_profile(path), data_path=tmp_path / "p.sqlite3")
    window = MainWindow(position, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    position.start()
    try:
        record = DEMO_RECORDS[0]
        hostile = format_30w(record, "2001").replace("DOE, JANE                   ", "<b>DOE</b><img src=x>\x1b[31mJ")
        position.driver("phone").ring(0)
        qtbot.waitUntil(lambda: bool(position.calls.ringing), timeout=3000)
        position.answer_call()
        qtbot.waitUntil(lambda: bool(position.calls.active and position.calls.active.spills), timeout=3000)
        position.driver("phone").send_raw(frame(hostile))
        qtbot.waitUntil(lambda: len(position.calls.active.spills) == 2, timeout=3000)
        panel = window.calltaker.active
        assert panel.location.values["name"].text() == "<b>DOE</b><img src=x><0x1B>[31mJ"
        qtbot.waitUntil(lambda: "<b>DOE</b><img src=x><0x1B>[31mJ" in panel.ali_text.toPlainText())
        assert "&lt;b&gt;DOE" in panel.ali_text.document().toHtml()
        rich = [w.objectName() for w in window.findChildren(QLabel) if w.textFormat() != Qt.TextFormat.PlainText]
        assert rich == []
    finally:
        window.close()
        position.stop()


def test_ctrl_d_opens_the_directory_and_enter_transfers_the_call(qtbot, tmp_path):
    from PySide6.QtGui import QGuiApplication

    from app.calls.directory import DirectoryEntry
    from ui.main_window import MainWindow

    position = Recorder()
    position.directory = (DirectoryEntry("JACKSONVILLE FIRE", "(910) 555-0111", "fire", keys=("JFD",)),
                          DirectoryEntry("DEMO CITY PD", "719-555-0110", "police"))
    window = MainWindow(position, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    position.calls_changed.emit(CallsSnapshot(active=CallView(1, "911-1", "answered", NOW - 9, NOW - 5, uid="u1")))
    window.directory_action.trigger()
    directory = window.calltaker.directory
    qtbot.waitUntil(directory.isVisible)
    qtbot.keyClicks(directory.panel.search_box, "demo")
    qtbot.keyClick(directory.panel.search_box, Qt.Key.Key_Return)
    assert position.commands[-1] == ("record_transfer", "DEMO CITY PD", "719-555-0110", "copy")
    assert QGuiApplication.clipboard().text() == "7195550110"
    qtbot.waitUntil(lambda: not directory.isVisible())
