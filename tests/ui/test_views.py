"""Role views and main window: render hand-made snapshots, check what is shown and what is sent.

``Recorder`` (tests/ui/fakes.py) has the same signals and methods as app.position.Position and records
every command.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QEvent, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QKeyEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel  # noqa: E402

from app.snapshots import (  # noqa: E402
    CallsSnapshot,
    CallView,
    ChannelView,
    ConsoleSnapshot,
    DeviceStatus,
    LoggedEvent,
    PositionInfo,
    SpillView,
    StatusSnapshot,
)
from tests.ui.fakes import Recorder  # noqa: E402
from ui.calltaker.view import CallTakerView  # noqa: E402
from ui.dispatcher.keyboard_ptt import KEYBOARD_PTT_KEY  # noqa: E402
from ui.dispatcher.view import DispatcherView  # noqa: E402
from ui.main_window import GEOMETRY_KEY, ROLE_KEY, THEME_KEY, MainWindow  # noqa: E402
from ui.roles import role_key  # noqa: E402
from ui.technician.view import TechnicianView  # noqa: E402
from ui.theme import THEMES, apply_theme, load_stylesheet  # noqa: E402
from ui.theme.palette import NIGHT  # noqa: E402
from ui.widgets.plain import plain_tooltip, visible_controls  # noqa: E402

NOW = time.time()
HOSTILE_NAME = "<b>X</b><img src=x>"
HOSTILE_ALI = "<STX>211 WPH2 <b>bold</b>\n\x1b[31mRED ST\x1b[0m <img src=x>\n<ETX>"


def channels() -> tuple[ChannelView, ...]:
    return (
        ChannelView("a", "FIRE DISPATCH", "serial", selected=True, link="up"),
        ChannelView("b", "FIRE TAC 2", "hamlib", receiving=True, unit_id="E-231", link="up"),
        ChannelView("c", "POLICE NORTH", "sim", transmitting=True, tx_source="footswitch", link="up"),
        ChannelView("d", "POLICE SOUTH", "sim", failed_to_key="radio did not confirm", link="up"),
        ChannelView("e", "EMS OPS", "serial", link="down", link_detail="/dev/ttyUSB2 gone"),
        ChannelView("f", "PUBLIC WORKS", "sim", key_pending=True, link="up"),
    )


def spill(raw: str = "<STX>LOCATION<ETX>", bcc_ok: bool | None = True, errors: tuple[str, ...] = ()) -> SpillView:
    return SpillView(received_wall=NOW - 5, raw_text=raw, kind="ali", bcc_ok=bcc_ok, errors=errors)


def devices() -> tuple[DeviceStatus, ...]:
    return (
        DeviceStatus("r1", "Fire Radio", "radio", "up", "ttyUSB0"),
        DeviceStatus("r2", "EMS Radio", "radio", "down", "no such device"),
        DeviceStatus("ali", "ALI line", "ali", "fault", "permission denied"),
        DeviceStatus("hs", "Headset", "audio", "unknown"),
    )


@pytest.fixture
def position() -> Recorder:
    return Recorder()


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, position, settings) -> MainWindow:
    win = MainWindow(position, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    return win


@pytest.fixture
def restore_app_style(qapp):
    style, palette = qapp.style().name(), qapp.palette()
    yield
    qapp.setStyleSheet("")
    qapp.setPalette(palette)
    qapp.setStyle(style)


# ---- dispatcher ---------------------------------------------------------------------------------

def test_tiles_show_each_state_in_words(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.render(ConsoleSnapshot(channels=channels()))
    tile = view.grid.tile

    assert tile("a").property("selected") is True
    assert tile("a").selected_label.isVisibleTo(tile("a"))
    assert not tile("b").selected_label.isVisibleTo(tile("b"))

    assert "RX" in tile("b").lamp_label.text()
    assert "E-231" in tile("b").detail_label.text()
    assert "TX" in tile("c").lamp_label.text()
    assert "footswitch" in tile("c").detail_label.text()
    assert "radio did not confirm" in tile("d").notice_label.text()
    assert "KEYING" in tile("f").lamp_label.text()
    assert "LINK DOWN" in tile("e").lamp_label.text()
    assert "/dev/ttyUSB2 gone" in tile("e").notice_label.text()

    states = {cid: tile(cid).property("state") for cid in "abcdef"}
    assert states == {"a": "idle", "b": "rx", "c": "tx", "d": "failed", "e": "down", "f": "pending"}


def test_render_updates_tiles_in_place_and_drops_removed_channels(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.render(ConsoleSnapshot(channels=channels()))
    first = view.grid.tile("b")
    view.render(ConsoleSnapshot(channels=(ChannelView("b", "FIRE TAC 2", "hamlib", link="up"),)))
    assert view.grid.tile("b") is first
    assert "RX" not in first.lamp_label.text()
    assert view.grid.tile("a") is None


def test_tile_restyles_when_its_link_goes_down(qtbot, position, qapp, restore_app_style):
    apply_theme(qapp, "night")
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.render(ConsoleSnapshot(channels=(ChannelView("a", "FIRE", "sim", link="up"),)))
    name = view.grid.tile("a").name_label
    text_colour = name.palette().color(name.foregroundRole()).name()
    view.render(ConsoleSnapshot(channels=(ChannelView("a", "FIRE", "sim", link="down"),)))
    assert name.palette().color(name.foregroundRole()).name() == NIGHT.down != text_colour
    view.render(ConsoleSnapshot(channels=(ChannelView("a", "FIRE", "sim", link="up"),)))
    assert name.palette().color(name.foregroundRole()).name() == text_colour


def test_click_selects_exclusively_and_ctrl_click_toggles(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.render(ConsoleSnapshot(channels=channels()))
    view.show()
    qtbot.waitExposed(view)

    qtbot.mouseClick(view.grid.tile("b"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.grid.tile("c"), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier)

    assert position.commands == [("select_channel", "b", True), ("select_channel", "c", False)]


def test_ptt_button_press_and_release_send_console_ptt(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.render(ConsoleSnapshot(channels=channels()))
    view.show()
    qtbot.waitExposed(view)
    button = view.ptt_bar.button

    qtbot.mousePress(button, Qt.MouseButton.LeftButton)
    assert position.commands == [("ptt", "console", True)]
    qtbot.mouseRelease(button, Qt.MouseButton.LeftButton)
    assert position.commands == [("ptt", "console", True), ("ptt", "console", False)]


def test_ptt_button_names_the_selected_channels_and_shows_transmit(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.render(ConsoleSnapshot(channels=channels()))
    assert view.ptt_bar.target_label.text() == "FIRE DISPATCH"
    keyed = tuple(
        ChannelView(c.id, c.name, c.kind, selected=c.selected, transmitting=c.selected, link="up") for c in channels()
    )
    view.render(ConsoleSnapshot(channels=keyed, ptt_sources=("console",)))
    assert view.ptt_bar.button.property("state") == "tx"
    assert "TRANSMITTING" in view.ptt_bar.button.text()


def test_hiding_the_view_while_ptt_is_held_releases_it(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    qtbot.mousePress(view.ptt_bar.button, Qt.MouseButton.LeftButton)
    view.hide()
    assert position.commands[-1] == ("ptt", "console", False)


# ---- keyboard: PTT key and role switching --------------------------------------------------------

def test_keyboard_ptt_press_release_and_autorepeat_ignored(qtbot, window, position):
    qtbot.keyPress(window, KEYBOARD_PTT_KEY)
    repeat = QKeyEvent(QEvent.Type.KeyPress, KEYBOARD_PTT_KEY, Qt.KeyboardModifier.NoModifier, "", True)
    QApplication.sendEvent(window, repeat)
    qtbot.keyRelease(window, KEYBOARD_PTT_KEY)

    ptt = [command for command in position.commands if command[0] == "ptt"]
    assert ptt == [("ptt", "keyboard", True), ("ptt", "keyboard", False)]


def test_closing_the_window_releases_keyboard_ptt(qtbot, window, position):
    qtbot.keyPress(window, KEYBOARD_PTT_KEY)
    window.close()
    assert position.commands[-1] == ("ptt", "keyboard", False)


def test_roles_switch_by_keyboard(qtbot, window):
    assert window.role == "dispatcher"
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.role == "calltaker")
    assert window.stack.currentWidget() is window.calltaker
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.role == "technician")
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.role == "dispatcher")
    assert window.header.tabs.currentIndex() == 0


def test_role_tabs_show_their_shortcut(window):
    tabs = window.header.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())] == [
        "Dispatcher   Ctrl+1",
        "Call-taker   Ctrl+2",
        "Technician   Ctrl+3",
    ]
    assert "Ctrl+2" in tabs.tabToolTip(1)


def test_answer_key_works_from_any_view_and_release_only_in_call_taker(qtbot, window, position):
    ringing = CallView(11, "2", "ringing", ring_wall=NOW - 3)
    position.calls_changed.emit(CallsSnapshot(ringing=(ringing,)))
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert window.role == "calltaker"
    assert ("answer_call", None) in position.commands

    active = CallView(11, "2", "answered", ring_wall=NOW - 3, answer_wall=NOW - 1)
    position.calls_changed.emit(CallsSnapshot(active=active))
    window.show_role("dispatcher")
    qtbot.keyClick(window, Qt.Key.Key_F8)
    assert ("release_call", False) not in position.commands
    window.show_role("calltaker")
    qtbot.keyClick(window, Qt.Key.Key_F8)
    assert ("release_call", False) in position.commands


# ---- settings --------------------------------------------------------------------------------------

def test_geometry_and_role_are_restored_from_settings(qtbot, position, tmp_path):
    path = str(tmp_path / "restore.ini")
    first = MainWindow(position, QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.setGeometry(10, 20, 780, 700)  # inside the offscreen 800x800 screen
    first.show_role("technician")
    saved = first.geometry()
    first.close()

    stored = QSettings(path, QSettings.Format.IniFormat)
    assert stored.value(ROLE_KEY) == "technician"
    assert stored.value(GEOMETRY_KEY)

    second = MainWindow(position, QSettings(path, QSettings.Format.IniFormat))
    qtbot.addWidget(second)
    assert second.role == "technician"
    second.show()
    qtbot.waitExposed(second)
    restored = second.geometry()
    assert restored.size() == saved.size()
    # The position may move by the title-bar estimate Qt makes for a window not yet decorated.
    assert abs(restored.x() - saved.x()) <= 8 and abs(restored.y() - saved.y()) <= 8


def test_without_saved_role_the_profile_role_is_used(qtbot, settings):
    position = Recorder(PositionInfo(name="CT 3", role="Call-Taker"))
    win = MainWindow(position, settings)
    qtbot.addWidget(win)
    assert win.role == "calltaker"


@pytest.mark.parametrize(
    ("text", "key"),
    [("dispatcher", "dispatcher"), ("Call-Taker", "calltaker"), ("call_taker", "calltaker"),
     ("tech", "technician"), ("", None), (None, None), ("janitor", None)],
)
def test_role_names_are_matched_however_spelled(text, key):
    assert role_key(text) == key


def test_theme_switch_applies_and_is_saved(qtbot, window, settings, restore_app_style):
    window.set_theme("day")
    assert settings.value(THEME_KEY) == "day"
    assert QApplication.instance().styleSheet() == load_stylesheet("day")
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert settings.value(THEME_KEY) == "night"
    assert window.theme_actions["night"].isChecked()


@pytest.mark.parametrize("theme", THEMES)
def test_every_theme_fills_all_its_colours(theme):
    sheet = load_stylesheet(theme)
    assert "${" not in sheet
    assert "#channelTile" in sheet


# ---- header, banner, status bar --------------------------------------------------------------------

def test_demo_banner_only_in_demo(qtbot, settings):
    live = MainWindow(Recorder(PositionInfo(name="P", role="dispatcher", demo=False)), settings)
    qtbot.addWidget(live)
    assert live.demo_banner is None
    assert "DEMO" not in live.windowTitle()
    demo = MainWindow(Recorder(PositionInfo(name="P", role="dispatcher", demo=True)), settings)
    qtbot.addWidget(demo)
    assert demo.demo_banner is not None
    assert "SIMULATED HARDWARE" in demo.demo_banner.label.text()
    assert "DEMO" in demo.windowTitle()


def test_status_bar_shows_every_device_with_state_in_words(window, position):
    position.status_changed.emit(StatusSnapshot(devices=devices()))
    bar = window.device_bar
    assert bar.lamp_texts() == ["● Fire Radio", "▲ EMS Radio DOWN", "✖ ALI line FAULT", "○ Headset UNKNOWN"]
    assert [lamp.property("link") for lamp in bar.lamps.values()] == ["up", "down", "fault", "unknown"]
    assert "no such device" in bar.lamps["r2"].toolTip()
    assert bar.summary.text() == "DEVICES 1/4 UP"

    position.status_changed.emit(StatusSnapshot(devices=devices()[:2]))
    assert len(bar.lamp_texts()) == 2


def test_header_counts_ringing_lines(window, position):
    position.calls_changed.emit(CallsSnapshot(ringing=(CallView(1, "1", "ringing", NOW), CallView(2, "4", "ringing", NOW))))
    assert window.header.ringing_badge.isVisibleTo(window)
    assert "2 RINGING" in window.header.ringing_badge.text()
    position.calls_changed.emit(CallsSnapshot())
    assert not window.header.ringing_badge.isVisibleTo(window)


def test_clock_shows_24h_time_with_seconds(window):
    text = window.header.clock.time_label.text()
    assert len(text) == 8 and text[2] == ":" and text[5] == ":"
    assert 0 <= int(text[:2]) <= 23


# ---- call-taker ------------------------------------------------------------------------------------

def test_active_call_shows_location_first_with_rebid_times_and_bcc_warning(qtbot, position):
    view = CallTakerView(position)
    qtbot.addWidget(view)
    call = CallView(
        7, "3", "answered", ring_wall=NOW - 20, answer_wall=NOW - 12.6,
        spills=(spill("<STX>FIRST<ETX>"), spill("<STX>SECOND<ETX>", bcc_ok=False, errors=("BCC mismatch",))),
    )
    view.render(CallsSnapshot(active=call))
    panel = view.active

    qtbot.waitUntil(lambda: panel.ali_text.toPlainText() == "<STX>SECOND<ETX>")  # painted after the location
    assert "rebid 2 of 2" in panel.spill_label.text()
    assert panel.bcc_label.isVisibleTo(view)
    assert "BCC BAD" in panel.bcc_label.text()
    assert "BCC mismatch" in panel.errors_label.text()
    assert panel.delay_label.text() == "ANSWER DELAY 7 s"
    assert panel.ring_label.text().startswith("RING ")
    assert view.release_button.isEnabled()

    view.render(CallsSnapshot(active=CallView(8, "1", "answered", NOW - 4, NOW - 2, spills=(spill(),))))
    assert not panel.bcc_label.isVisibleTo(view)
    assert panel.spill_label.text().startswith("ALI 1 of 1")


def test_ringing_calls_listed_and_answer_buttons_send_commands(qtbot, position):
    view = CallTakerView(position)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.render(CallsSnapshot(ringing=(CallView(1, "1", "ringing", NOW - 9), CallView(2, "4", "ringing", NOW - 2))))

    texts = view.ringing.item_texts()
    assert len(texts) == 2 and "LINE 1" in texts[0] and "LINE 4" in texts[1]
    assert not view.release_button.isEnabled()
    qtbot.waitUntil(lambda: view.ringing.property("flash") is True)  # flashing while ringing

    qtbot.mouseClick(view.answer_button, Qt.MouseButton.LeftButton)
    assert position.commands == [("answer_call", None)]
    view.ringing.setCurrentRow(1)
    qtbot.mouseClick(view.answer_button, Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("answer_call", 2)

    view.render(CallsSnapshot())
    assert not view.answer_button.isEnabled()
    assert view.ringing.property("flash") is False


def test_recent_calls_and_unassigned_spills_are_listed(qtbot, position):
    view = CallTakerView(position)
    qtbot.addWidget(view)
    recent = (CallView(5, "2", "released", NOW - 100, NOW - 93, NOW - 40), CallView(4, "1", "abandoned", NOW - 300))
    stray = (spill("<STX>STRAY ONE<ETX>"), spill("<STX>STRAY TWO<ETX>", bcc_ok=False))
    view.render(CallsSnapshot(recent=recent, unassigned_spills=stray))

    history = view.history
    assert history.recent_model.rowCount() == 2
    assert history.recent_model.column_texts(3) == ["7 s", "—"]
    assert history.recent_model.column_texts(5) == ["RELEASED", "ABANDONED"]
    assert history.tabText(1).startswith("UNASSIGNED ALI (2)")
    assert history.unassigned.list.count() == 2
    history.unassigned.list.setCurrentRow(1)
    assert history.unassigned.text.toPlainText() == "<STX>STRAY TWO<ETX>"


# ---- technician ------------------------------------------------------------------------------------

def test_device_table_lists_every_device(qtbot, position):
    view = TechnicianView(position)
    qtbot.addWidget(view)
    position.status_changed.emit(StatusSnapshot(devices=devices()))
    model = view.devices.model_rows
    assert model.column_texts(1) == ["r1", "r2", "ali", "hs"]
    assert model.column_texts(3) == ["● UP", "▲ DOWN", "✖ FAULT", "○ UNKNOWN"]
    assert model.column_texts(4)[1] == "no such device"
    assert view.info.values["Profile"].text() == "/etc/pos1.toml"
    assert view.info.values["Data"].text() == "/var/lib/pos1"


def test_event_log_is_bounded_and_follows_unless_scrolled_up(qtbot, position):
    view = TechnicianView(position)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    log = view.log
    for number in range(view.LOG_LIMIT + 20):
        position.event_logged.emit(LoggedEvent(NOW + number, "key", "fire1", "footswitch", f"event {number}"))

    assert log.log_model.rowCount() == view.LOG_LIMIT
    assert log.log_model.row_texts(0)[4] == "event 20"
    assert log.log_model.row_texts(view.LOG_LIMIT - 1)[4] == f"event {view.LOG_LIMIT + 19}"
    bar = log.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum())

    bar.setValue(bar.maximum() // 2)
    held = bar.value()
    position.event_logged.emit(LoggedEvent(NOW, "unkey", "fire1", "footswitch", "while reading"))
    assert bar.value() <= held  # the row that fell off the top may shift it up one, never down to the end


# ---- plain text: nothing from outside is rendered as markup ---------------------------------------

def test_outside_text_shows_literally_everywhere(qtbot, window, position):
    position.console_changed.emit(ConsoleSnapshot(channels=(ChannelView("x", HOSTILE_NAME, "sim", link="up"),)))
    position.status_changed.emit(StatusSnapshot(devices=(DeviceStatus("d", HOSTILE_NAME, "radio", "down", HOSTILE_NAME),)))
    call = CallView(1, "<i>9</i>", "answered", NOW - 9, NOW - 5, spills=(spill(HOSTILE_ALI, errors=(HOSTILE_NAME,)),))
    position.calls_changed.emit(CallsSnapshot(active=call, unassigned_spills=(spill(HOSTILE_ALI),)))

    tile = window.dispatcher.grid.tile("x")
    assert tile.name_label.text() == HOSTILE_NAME
    assert "&lt;b&gt;X&lt;/b&gt;&lt;img src=x&gt;" in tile.toolTip()  # tooltips are escaped HTML
    assert "<img" not in tile.toolTip()
    assert window.device_bar.lamps["d"].text() == f"▲ {HOSTILE_NAME} DOWN"

    ali = window.calltaker.active.ali_text
    qtbot.waitUntil(lambda: bool(ali.toPlainText()))  # the raw text follows the location
    assert ali.toPlainText() == "<STX>211 WPH2 <b>bold</b>\n<0x1B>[31mRED ST<0x1B>[0m <img src=x>\n<ETX>"
    assert "&lt;b&gt;bold&lt;/b&gt;" in ali.document().toHtml()  # held as text, not as markup
    assert window.calltaker.active.line_label.text() == "LINE <i>9</i>"
    assert HOSTILE_NAME in window.calltaker.active.errors_label.text()

    # Every label in the window is pinned to plain text, whatever it shows now.
    labels = window.findChildren(QLabel)
    assert labels
    rich = [label.objectName() or label.text() for label in labels if label.textFormat() != Qt.TextFormat.PlainText]
    assert rich == []


def test_visible_controls_and_tooltip_escaping():
    assert visible_controls("a\x1b[31mb\x02\r\n\x7f") == "a<0x1B>[31mb<STX><CR><LF><DEL>"
    assert visible_controls("line1\nline2\tx", keep_newlines=True) == "line1\nline2\tx"
    tip = plain_tooltip("<b>X</b>", "two\nthree")
    assert "&lt;b&gt;X&lt;/b&gt;" in tip and tip.count("<br/>") == 2


def test_channel_tile_keyboard_selection(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.render(ConsoleSnapshot(channels=channels()))
    view.show()
    qtbot.waitExposed(view)
    tile = view.grid.tile("d")
    tile.setFocus()
    qtbot.keyClick(tile, Qt.Key.Key_Space, Qt.KeyboardModifier.ControlModifier)
    assert position.commands == [("select_channel", "d", False)]
