"""The Dispatcher view on the real demo position: simulated radios, the audio engine on the null
device, the event store. Alerts hold PTT until the engine has played the tone; an emergency from
a simulated radio flashes until ACK; patches key by voice."""

from __future__ import annotations

import sqlite3

import pytest
from PySide6.QtCore import QSettings, Qt

from app.config import load_demo_profile
from app.position import Position
from ui.main_window import MainWindow


@pytest.fixture
def demo(qtbot, tmp_path):
    profile = load_demo_profile()
    for radio in profile.radios:
        if radio.kind == "sim":
            radio.bursts_per_minute = 0.0  # only the traffic the test makes
    position = Position(profile, demo=True, data_path=tmp_path / "demo.sqlite3")
    window = MainWindow(position, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    position.start()
    qtbot.waitUntil(lambda: all(c.link == "up" for c in position.console.channels), timeout=5000)
    yield position, window.dispatcher
    window.release_ptt()
    assert position.stop(timeout=3.0)


def channel(position, cid):
    return next(c for c in position.console.channels if c.id == cid)


def logged(position) -> list[tuple[str, str, str, str]]:
    assert position.store.flush()
    with sqlite3.connect(position.store.path) as db:
        return db.execute("SELECT kind, channel, source, detail FROM events ORDER BY id").fetchall()


def test_alert_button_keys_plays_the_tone_and_unkeys_after_it(qtbot, demo):
    position, view = demo
    qtbot.mouseClick(view.grid.tile("fire-disp"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.actions.alert_buttons["alert1"].isEnabled())
    qtbot.mouseClick(view.actions.alert_buttons["alert1"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: channel(position, "fire-disp").transmitting, timeout=3000)
    assert channel(position, "fire-disp").tx_source == "alert:alert1"
    assert "ALERT ALERT1" in view.grid.tile("fire-disp").detail_label.text()
    qtbot.waitUntil(lambda: not channel(position, "fire-disp").transmitting, timeout=10000)
    assert not position.driver("fire-disp").keyed
    rows = logged(position)
    kinds = [r[0] for r in rows]
    assert kinds.index("alert") < kinds.index("ptt.key") < kinds.index("audio.tone") < kinds.index("ptt.unkey")
    assert ("ptt.unkey", "fire-disp", "alert:alert1", "alert alert1 sent") in rows


def test_simulated_emergency_flashes_until_ack_and_the_ack_is_logged(qtbot, demo):
    position, view = demo
    position.driver("pd-north").inject_emergency("3A02")
    tile = view.grid.tile("pd-north")
    qtbot.waitUntil(lambda: tile.emergency_row.isVisibleTo(tile), timeout=3000)
    assert "3A02" in tile.emergency_label.text()
    seen = set()
    qtbot.waitUntil(lambda: seen.add(tile._flash_on) or seen == {True, False}, timeout=3000)
    qtbot.mouseClick(tile.ack_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tile.emergency_row.isVisibleTo(tile), timeout=3000)
    rows = logged(position)
    ack = next(r for r in rows if r[0] == "emergency.ack")
    assert ack[1] == "pd-north" and ack[2].endswith(f"@{position.profile.position.name}") and ack[3] == "unit 3A02"
    assert ("emergency.alarm", "", "console", "on") in rows and ("emergency.alarm", "", "console", "off") in rows


def test_patch_from_the_action_bar_keys_by_voice(qtbot, demo):
    position, view = demo
    qtbot.mouseClick(view.grid.tile("fire-disp"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(view.grid.tile("fire-tac2"), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: view.actions.patch_button.isEnabled())
    qtbot.mouseClick(view.actions.patch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.grid.tile("fire-tac2").patch_badge.text() == "⇄ P1", timeout=3000)
    position.driver("fire-disp").inject_burst(0.3, "1101")
    qtbot.waitUntil(lambda: channel(position, "fire-tac2").transmitting, timeout=3000)
    assert channel(position, "fire-tac2").tx_source == "patch:P1"
    qtbot.waitUntil(lambda: not channel(position, "fire-tac2").transmitting, timeout=10000)  # after the hang
    qtbot.mouseClick(view.actions.unpatch_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: position.console.patches == (), timeout=3000)
