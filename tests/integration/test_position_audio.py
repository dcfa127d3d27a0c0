"""The audio engine inside a whole position: console state -> mix plan -> what each output carries.

Runs on the clock-driven null device with simulated radios feeding their receive columns, so the
real engine, supervisor thread, control thread and console are all in the loop.
"""

from __future__ import annotations

import sqlite3

import pytest

from app.config import load_profile
from app.position import Position

PROFILE = """
schema_version = 1
[position]
name = "AUDIO-1"
[audio]
backend = "null"
blocksize = 128
[audio.channels]
headset_left = 1
headset_right = 2
select_speaker = 3
unselect_speaker = 4
headset_mic = 1
fire_rx = 2
pd_rx = 3
fire_tx = 5
pd_tx = 6
[[radios]]
id = "fire"
name = "FIRE"
kind = "sim"
bursts_per_minute = 0.0
rx_input = "fire_rx"
tx_output = "fire_tx"
[[radios]]
id = "pd"
name = "PD"
kind = "sim"
bursts_per_minute = 0.0
rx_input = "pd_rx"
tx_output = "pd_tx"
"""

HL, HR, SEL, UNSEL, FIRE_TX, PD_TX = 0, 1, 2, 3, 4, 5
FIRE_RX = 1
SILENT = -100.0
HEARD = -40.0


# A jackbox whose contact closes when the headset is plugged in, and a phone system with one caller.
EXTRAS = """
[[inputs]]
id = "jackbox"
kind = "sim"
action = "jackbox"
[ali]
url = "sim://phone"
[phone]
kind = "sim"
calls_per_minute = 0.0
"""


def start(qtbot, tmp_path, text: str) -> Position:
    path = tmp_path / "position.toml"
    path.write_text(text)
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    pos.start()
    qtbot.waitUntil(lambda: pos.audio.state == "up", timeout=5000)
    return pos


@pytest.fixture
def position(qtbot, tmp_path):
    pos = start(qtbot, tmp_path, PROFILE)
    yield pos
    pos.stop()


def rms(pos: Position, side: str, column: int) -> float:
    inputs, outputs = pos.audio_levels()
    return float((inputs if side == "in" else outputs)[1, column])


def channel(pos: Position, cid: str):
    return next(c for c in pos.console.channels if c.id == cid)


def test_unselected_channel_plays_on_the_unselect_speaker_only(qtbot, position):
    position.driver("fire").inject_burst(3.0)
    qtbot.waitUntil(lambda: rms(position, "in", FIRE_RX) > HEARD and rms(position, "out", UNSEL) > HEARD,
                    timeout=3000)
    assert rms(position, "out", HL) < SILENT and rms(position, "out", SEL) < SILENT
    assert rms(position, "out", FIRE_TX) < SILENT and rms(position, "out", PD_TX) < SILENT


def test_selecting_moves_the_channel_to_the_headset_at_the_pan_law_level(qtbot, position):
    position.select_channel("fire", True)
    qtbot.waitUntil(lambda: channel(position, "fire").selected, timeout=2000)
    position.driver("fire").inject_burst(3.0)
    qtbot.waitUntil(lambda: rms(position, "out", HL) > HEARD, timeout=3000)
    assert rms(position, "out", UNSEL) < SILENT
    # Centre pan is -3.01 dB in each ear; both ears and the input are metered over the same block.
    levels = [(rms(position, "in", FIRE_RX), rms(position, "out", HL), rms(position, "out", HR)) for _ in range(5)]
    assert any(abs(i - l - 3.01) < 0.05 and abs(i - r - 3.01) < 0.05 for i, l, r in levels), levels


def test_mute_and_volume_follow_the_console(qtbot, position):
    position.select_channel("fire", True)
    position.driver("fire").inject_burst(5.0)
    qtbot.waitUntil(lambda: rms(position, "out", HL) > HEARD, timeout=3000)
    position.set_mute("fire", True)
    qtbot.waitUntil(lambda: channel(position, "fire").muted and rms(position, "out", HL) < SILENT, timeout=2000)
    assert rms(position, "in", FIRE_RX) > HEARD  # still received, just not heard
    position.set_mute("fire", False)
    position.set_volume("fire", -20.0)
    qtbot.waitUntil(lambda: channel(position, "fire").volume_db == -20.0, timeout=2000)
    qtbot.waitUntil(lambda: abs(rms(position, "in", FIRE_RX) - rms(position, "out", HL) - 23.01) < 0.05,
                    timeout=2000)


def test_recall_replays_the_last_transmission_into_the_headset_only(qtbot, position, tmp_path):
    fire = position.driver("fire")
    fire.inject_burst(0.6)
    qtbot.waitUntil(lambda: channel(position, "fire").receiving, timeout=2000)
    qtbot.waitUntil(lambda: not channel(position, "fire").receiving, timeout=3000)
    qtbot.waitUntil(lambda: rms(position, "in", FIRE_RX) < SILENT, timeout=2000)
    position.replay_last("fire")
    qtbot.waitUntil(lambda: position.audio.replaying == "fire", timeout=2000)
    qtbot.waitUntil(lambda: rms(position, "out", HL) > HEARD, timeout=2000)
    assert rms(position, "in", FIRE_RX) < SILENT  # what plays is the recording, not the radio
    assert rms(position, "out", FIRE_TX) < SILENT and rms(position, "out", PD_TX) < SILENT
    qtbot.waitUntil(lambda: position.audio.replaying == "", timeout=3000)  # the clip ends by itself
    position.stop()
    rows = sqlite3.connect(tmp_path / "pos.sqlite3").execute(
        "SELECT kind, channel, detail FROM events WHERE kind LIKE 'recall.%'").fetchall()
    assert rows and rows[0][:2] == ("recall.replay", "fire") and rows[0][2].startswith("0.6 s from ")


def test_recall_with_nothing_received_says_so(qtbot, position):
    logged = []
    position.event_logged.connect(logged.append)
    position.replay_last("pd")
    qtbot.waitUntil(lambda: any(e.kind == "recall.empty" for e in logged), timeout=2000)
    assert position.audio.replaying == ""


def test_technician_test_tone_on_one_output(qtbot, position):
    position.test_tone(SEL, True)
    qtbot.waitUntil(lambda: SEL in position.audio.test_tones, timeout=2000)
    # 1004 Hz at the -10 dBFS test level: RMS -13.01 dBFS.
    qtbot.waitUntil(lambda: abs(rms(position, "out", SEL) + 13.01) < 0.1, timeout=2000)
    assert rms(position, "out", HL) < SILENT and rms(position, "out", FIRE_TX) < SILENT
    position.test_tone(SEL, False)
    qtbot.waitUntil(lambda: rms(position, "out", SEL) < SILENT, timeout=2000)
    assert position.audio.test_tones == ()


def test_alert_goes_out_on_the_channel_with_sidetone_in_the_headset(qtbot, position):
    position.play_tone("alert1", ("fire",))
    # Alert 1 is 1000 Hz at the test level (-10 dBFS peak, -13.01 RMS); sidetone 12 dB lower.
    qtbot.waitUntil(lambda: abs(rms(position, "out", FIRE_TX) + 13.01) < 0.1, timeout=2000)
    assert abs(rms(position, "out", HL) + 25.01) < 0.1 and abs(rms(position, "out", HR) + 25.01) < 0.1
    assert rms(position, "out", PD_TX) < SILENT and rms(position, "out", UNSEL) < SILENT


def test_local_emergency_alarm_never_reaches_a_transmitter(qtbot, position):
    position.alarm_tone(True)
    qtbot.waitUntil(lambda: rms(position, "out", SEL) > HEARD and rms(position, "out", HL) > HEARD, timeout=2000)
    assert rms(position, "out", FIRE_TX) < SILENT and rms(position, "out", PD_TX) < SILENT
    position.alarm_tone(False)
    qtbot.waitUntil(lambda: rms(position, "out", SEL) < SILENT, timeout=2000)


def test_unplugged_headset_moves_selected_audio_to_the_select_speaker(qtbot, tmp_path):
    pos = start(qtbot, tmp_path, PROFILE + EXTRAS)
    try:
        pos.select_channel("fire", True)
        pos.driver("fire").inject_burst(6.0)
        qtbot.waitUntil(lambda: rms(pos, "out", HL) > HEARD and rms(pos, "out", SEL) < SILENT, timeout=3000)
        jackbox = pos.driver("jackbox")
        jackbox.press()  # plugged in: nothing changes
        jackbox.release()  # unplugged
        qtbot.waitUntil(lambda: rms(pos, "out", SEL) > HEARD and rms(pos, "out", HL) < SILENT, timeout=2000)
        # Mono at channel gain on the speaker: the input's level, not the -3 dB of a centre pan.
        assert any(abs(rms(pos, "in", FIRE_RX) - rms(pos, "out", SEL)) < 0.05 for _ in range(5))
        jackbox.press()
        qtbot.waitUntil(lambda: rms(pos, "out", HL) > HEARD and rms(pos, "out", SEL) < SILENT, timeout=2000)
    finally:
        pos.stop()


def test_radio_ducks_in_the_headset_while_a_call_is_up(qtbot, tmp_path):
    pos = start(qtbot, tmp_path, PROFILE + EXTRAS)
    try:
        pos.select_channel("fire", True)
        pos.driver("fire").inject_burst(8.0)
        qtbot.waitUntil(lambda: rms(pos, "out", HL) > HEARD, timeout=3000)
        assert any(abs(rms(pos, "in", FIRE_RX) - rms(pos, "out", HL) - 3.01) < 0.05 for _ in range(5))
        pos.driver("phone").ring(0)
        qtbot.waitUntil(lambda: bool(pos.calls.ringing), timeout=3000)
        pos.answer_call()
        qtbot.waitUntil(lambda: pos.calls.active is not None, timeout=3000)
        # The default duck is 12 dB on top of the pan law's 3.01 dB.
        qtbot.waitUntil(lambda: abs(rms(pos, "in", FIRE_RX) - rms(pos, "out", HL) - 15.01) < 0.05, timeout=2000)
        pos.release_call()
        qtbot.waitUntil(lambda: abs(rms(pos, "in", FIRE_RX) - rms(pos, "out", HL) - 3.01) < 0.05, timeout=2000)
    finally:
        pos.stop()
