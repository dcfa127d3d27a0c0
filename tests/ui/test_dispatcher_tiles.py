"""Dispatcher tiles and action bar on hand-made snapshots: what each shows and what each sends.

``ConsoleRecorder`` extends the shared Recorder (tests/ui/fakes.py) with the console commands of issue 4.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from app.snapshots import ChannelView, ConsoleSnapshot  # noqa: E402
from tests.ui.fakes import Recorder  # noqa: E402
from ui.dispatcher.channel_tile import PATCH_COLOURS, tot_text  # noqa: E402
from ui.dispatcher.view import DispatcherView  # noqa: E402
from ui.theme.stylesheet import current_palette  # noqa: E402

HOSTILE = "<b>X</b><img src=x>"


class ConsoleRecorder(Recorder):
    def instant_transmit(self, channel_id: str, source: str, pressed: bool) -> None:
        self.commands.append(("instant_transmit", channel_id, source, pressed))

    def talk_back(self, source: str, pressed: bool) -> None:
        self.commands.append(("talk_back", source, pressed))

    def monitor(self, channel_id: str, on: bool) -> None:
        self.commands.append(("monitor", channel_id, on))

    def send_alert(self, kind: str, channel_ids: tuple[str, ...] = ()) -> None:
        self.commands.append(("send_alert", kind, tuple(channel_ids)))

    def acknowledge_emergency(self, channel_id: str) -> None:
        self.commands.append(("acknowledge_emergency", channel_id))

    def patch(self, group_id: str, channel_ids: tuple[str, ...]) -> None:
        self.commands.append(("patch", group_id, tuple(channel_ids)))

    def unpatch(self, group_id: str) -> None:
        self.commands.append(("unpatch", group_id))

    def set_mute(self, channel_id: str, muted: bool) -> None:
        self.commands.append(("set_mute", channel_id, muted))

    def replay_last(self, channel_id: str) -> None:
        self.commands.append(("replay_last", channel_id))


@pytest.fixture
def position() -> ConsoleRecorder:
    return ConsoleRecorder()


@pytest.fixture
def view(qtbot, position) -> DispatcherView:
    v = DispatcherView(position)
    qtbot.addWidget(v)
    v.resize(1400, 900)
    v.show()
    qtbot.waitExposed(v)
    return v


def snap(*channels: ChannelView, **kw) -> ConsoleSnapshot:
    return ConsoleSnapshot(channels=channels, **kw)


def test_tile_shows_patch_unit_monitor_and_failed_to_key(view):
    view.render(snap(
        ChannelView("a", "FIRE", "sim", link="up", patch_group="P1", receiving=True, unit_id="1101", monitor=True),
        ChannelView("b", "EMS", "sim", link="up", patch_group="P2"),
        ChannelView("c", "PD", "sim", link="up", selected=True, failed_to_key="busy: receiving"),
        patch_ids=("P1", "P2"), patches=(("a",), ("b",)),
    ))
    a, b, c = (view.grid.tile(x) for x in "abc")
    assert a.patch_badge.text() == "⇄ P1" and b.patch_badge.text() == "⇄ P2"
    assert a.patch_badge._bg.name() == PATCH_COLOURS[0] and b.patch_badge._bg.name() == PATCH_COLOURS[1]
    assert "UNIT 1101" in a.detail_label.text() and "RX" in a.lamp_label.text()
    assert a.monitor_button.isChecked() and "MON" in a.monitor_button.text()
    assert "patch P1" in a.accessibleDescription() and "monitor on" in a.accessibleDescription()
    assert "DID NOT KEY: busy: receiving" in c.notice_label.text()
    assert c.property("state") == "failed" and c.property("selected") is True
    assert c.notice_label.palette().color(c.notice_label.foregroundRole()).name() == current_palette().warn
    assert c.patch_badge.text() == ""


def test_tot_countdown_ticks_and_warns(qtbot, view):
    deadline = time.monotonic() + 2.5
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up", transmitting=True, tx_source="console",
                                 tx_deadline_t=deadline)))
    tile = view.grid.tile("a")
    assert tile.tot_label.text() == "TOT 0:03"
    qtbot.waitUntil(lambda: tile.tot_label.text() == "TOT 0:02", timeout=2000)  # the grid ticks it
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up", transmitting=True, tx_source="console",
                                 tx_deadline_t=deadline, tot_warning=True, latched=True)))
    assert tile.tot_label.text().startswith("LATCHED 0:0")
    assert tile.tot_label._bg.name() == current_palette().warn
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up")))
    assert tile.tot_label.text() == ""
    qtbot.waitUntil(lambda: not view.grid._ticker.isActive(), timeout=2000)  # nothing moves: no timer


def test_tot_text_rounds_up_and_stops_at_zero():
    view = ChannelView("a", "A", "sim", transmitting=True, tx_deadline_t=100.0)
    assert tot_text(view, 40.2) == "TOT 1:00"
    assert tot_text(view, 101.0) == "TOT 0:00"
    assert tot_text(ChannelView("a", "A", "sim", tx_deadline_t=100.0), 40.0) == ""


def test_emergency_flashes_until_acknowledged(qtbot, view, position):
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up", emergency=True, emergency_unit=HOSTILE)))
    tile = view.grid.tile("a")
    assert tile.emergency_row.isVisibleTo(tile)
    assert tile.emergency_label.text() == f"⚠ EMERGENCY · UNIT {HOSTILE}"  # plain text, painted literally
    assert "EMERGENCY" in view.summary_label.text()
    seen = set()
    qtbot.waitUntil(lambda: seen.add(tile._flash_on) or seen == {True, False}, timeout=3000)
    qtbot.mouseClick(tile.ack_button, Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("acknowledge_emergency", "a")
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up")))
    assert not tile.emergency_row.isVisibleTo(tile)
    qtbot.waitUntil(lambda: not view.grid._ticker.isActive(), timeout=2000)
    assert not tile._flash_on


def test_tile_buttons_send_monitor_and_instant_transmit(qtbot, view, position):
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up"), ChannelView("b", "EMS", "sim", link="up")))
    tile = view.grid.tile("b")
    qtbot.mouseClick(tile.monitor_button, Qt.MouseButton.LeftButton)
    qtbot.mousePress(tile.tx_button, Qt.MouseButton.LeftButton)
    assert position.commands == [("monitor", "b", True), ("instant_transmit", "b", "console", True)]
    qtbot.mouseRelease(tile.tx_button, Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("instant_transmit", "b", "console", False)
    qtbot.mousePress(tile.tx_button, Qt.MouseButton.LeftButton)
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up")))  # the channel went away while held
    assert position.commands[-1] == ("instant_transmit", "b", "console", False)


def test_action_bar_alerts_patches_and_talks_back(qtbot, view, position):
    channels = (ChannelView("a", "FIRE", "sim", link="up", selected=True),
                ChannelView("b", "EMS", "sim", link="up", selected=True),
                ChannelView("c", "PD", "sim", link="up"))
    view.render(snap(*channels, patch_ids=("P1",), patches=(("c", "x"),)))
    bar = view.actions
    assert not bar.talk_back_button.isEnabled()  # nothing received yet
    qtbot.mouseClick(bar.alert_buttons["alert2"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(bar.patch_button, Qt.MouseButton.LeftButton)
    assert position.commands == [("send_alert", "alert2", ("a", "b")), ("patch", "P2", ("a", "b"))]
    patched = tuple(ChannelView(c.id, c.name, "sim", link="up", selected=c.selected,
                                patch_group="P2" if c.selected else "") for c in channels)
    view.render(snap(*patched, patch_ids=("P2",), last_active="c"))
    qtbot.mouseClick(bar.unpatch_button, Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("unpatch", "P2")
    assert "PD" in bar.talk_back_button.text()
    qtbot.mousePress(bar.talk_back_button, Qt.MouseButton.LeftButton)
    qtbot.mouseRelease(bar.talk_back_button, Qt.MouseButton.LeftButton)
    assert position.commands[-2:] == [("talk_back", "console", True), ("talk_back", "console", False)]
    view.render(snap(*(ChannelView(c.id, c.name, "sim", link="up") for c in channels)))
    assert not bar.alert_buttons["alert1"].isEnabled() and not bar.patch_button.isEnabled()


def test_latched_ptt_button_says_how_to_stop(view):
    view.render(snap(ChannelView("a", "FIRE", "sim", link="up", selected=True, transmitting=True,
                                 tx_source="console", latched=True), latching=("console",), ptt_sources=("console",)))
    assert "PRESS TO STOP" in view.ptt_bar.button.text()
    assert "latching" in view.ptt_bar.button.toolTip()


def test_state_changes_repaint_without_restyling(qtbot, view):
    """Receive flicker on every tile: a state change costs a repaint, not a stylesheet pass."""
    ids = [f"c{i}" for i in range(12)]
    quiet = tuple(ChannelView(c, c.upper(), "sim", link="up") for c in ids)
    busy = tuple(ChannelView(c, c.upper(), "sim", link="up", receiving=True, unit_id="1101") for c in ids)
    view.render(snap(*quiet))
    qtbot.wait(10)
    tile = view.grid.tile("c0")
    font_before = tile.name_label.font().pixelSize()
    start = time.perf_counter()
    rounds = 50
    for k in range(rounds):
        view.render(snap(*(busy if k % 2 == 0 else quiet)))
        view.grid.repaint()  # paint now, inside the timed loop
    per_change_ms = (time.perf_counter() - start) * 1000 / rounds
    # The stylesheet's font for the name survived (no restyle resets it) and the state is painted.
    assert tile.name_label.font().pixelSize() == font_before
    assert tile.property("state") == "idle"
    print(f"12 tiles rx on/off, render + repaint: {per_change_ms:.2f} ms per change")
    assert per_change_ms < 100  # generous: a regression to per-widget restyling shows up as far more
