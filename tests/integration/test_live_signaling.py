"""Live signaling through a whole position on the null audio device: the simulated radio's receive audio
carries MDC1200, the audio callback writes it into the recall ring, the DSP worker decodes it, the console
shows the unit on the tile; pages keyed out and released; TTY on the phone line during a call."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from app.config import load_profile
from app.dsp.baudot import encode_tty
from app.dsp.signaling import decode
from app.position import Position

PROFILE = """
schema_version = 1
[position]
name = "SIG-1"
[audio]
backend = "null"
blocksize = 128
recall_minutes = {recall}
[audio.channels]
headset_left = 1
headset_right = 2
phone_tx = 3
phone_rx = 1
fire_rx = 2
pd_rx = 3
fire_tx = 4
pd_tx = 5
[signaling]
aliases = "units.csv"
ack_emergency = true
phone_tty = true
[[radios]]
id = "fire"
name = "FIRE"
kind = "sim"
bursts_per_minute = 0.0
jitter_ms = 0.0
rx_input = "fire_rx"
tx_output = "fire_tx"
decoders = ["mdc1200"]
[[radios]]
id = "pd"
name = "PD"
kind = "sim"
bursts_per_minute = 0.0
jitter_ms = 0.0
rx_input = "pd_rx"
tx_output = "pd_tx"
decoders = ["mdc1200", "qc2"]
[ali]
url = "sim://phone"
[phone]
kind = "sim"
calls_per_minute = 0.0
"""

PHONE_TX, FIRE_TX = 2, 3


def start(qtbot, tmp_path, recall: float = 1.0) -> Position:
    (tmp_path / "units.csv").write_text("unit,name\n1101,Engine 1\n2222,<b>Medic</b> 2\nzz,bad\n")
    path = tmp_path / "position.toml"
    path.write_text(PROFILE.format(recall=recall))
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    pos.start()
    qtbot.waitUntil(lambda: pos.audio.state == "up", timeout=5000)
    return pos


@pytest.fixture
def position(qtbot, tmp_path):
    pos = start(qtbot, tmp_path)
    yield pos
    pos.stop()


def channel(pos: Position, cid: str):
    return next(c for c in pos.console.channels if c.id == cid)


def events(tmp_path, kind: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(tmp_path / "pos.sqlite3") as db:
        return db.execute("SELECT channel, source, detail FROM events WHERE kind = ? ORDER BY id", (kind,)).fetchall()


@pytest.mark.parametrize("recall", [1.0, 0.0])
def test_a_burst_with_an_mdc1200_id_shows_the_unit_and_its_name_on_the_tile(qtbot, tmp_path, recall) -> None:
    pos = start(qtbot, tmp_path, recall)
    try:
        assert pos.dsp_worker is not None
        pos.driver("fire").inject_burst(1.5, "1101")
        qtbot.waitUntil(lambda: channel(pos, "fire").unit_id == "1101", timeout=5000)
        view = channel(pos, "fire")
        assert view.unit_name == "Engine 1"
        assert channel(pos, "pd").unit_id == ""  # decoded on the fire input only
    finally:
        pos.stop()
    assert ("fire", "mdc1200", "MDC1200 PTT ID · unit 1101 (Engine 1)") in events(tmp_path, "signal")
    assert any("units.csv:4" in d for _, _, d in events(tmp_path, "signaling.aliases.problem"))
    # The carrier event no longer names the unit: the decoder did.
    assert all("1101" not in d for _, _, d in events(tmp_path, "rx.start"))


def test_an_mdc1200_emergency_burst_starts_the_emergency_workflow_and_the_ack_is_transmitted(qtbot, tmp_path,
                                                                                                 position) -> None:
    position.driver("pd").inject_emergency("2222")
    qtbot.waitUntil(lambda: channel(position, "pd").emergency, timeout=5000)
    view = channel(position, "pd")
    assert view.emergency_unit == "2222" and view.unit_name == "<b>Medic</b> 2"
    position.acknowledge_emergency("pd")
    # ack_emergency: the console keys pd for the MDC1200 acknowledge and lets go after it.
    qtbot.waitUntil(lambda: channel(position, "pd").transmitting, timeout=3000)
    assert channel(position, "pd").tx_source == "signal:mdc1200"
    qtbot.waitUntil(lambda: not channel(position, "pd").transmitting and not channel(position, "pd").key_pending,
                    timeout=3000)
    qtbot.waitUntil(lambda: bool(events(tmp_path, "signal.send")), timeout=3000)  # the store writes on its own thread
    assert ("pd", "mdc1200", "unit 2222") in events(tmp_path, "emergency")
    sent = events(tmp_path, "signal.send")
    assert sent == [("pd", "console", "mdc1200 emergency acknowledge to 2222")]


def test_a_page_keys_the_channel_for_the_signal_and_releases_after(qtbot, tmp_path, position) -> None:
    levels: list[float] = []
    engine = position.engine

    def sample() -> bool:
        if channel(position, "fire").transmitting:
            levels.append(float(engine.output_levels[1, FIRE_TX]))
        return bool(levels) and not channel(position, "fire").transmitting

    position.send_signal("dtmf", {"digits": "5551234"}, ("fire",))
    qtbot.waitUntil(lambda: channel(position, "fire").transmitting, timeout=3000)
    assert channel(position, "fire").alert == "dtmf 5551234"
    qtbot.waitUntil(sample, timeout=5000)
    assert max(levels) > -30.0  # the tones went out on the fire transmit output while keyed
    assert not position.driver("fire").keyed
    # The store writes on its own thread: wait for the records, not just the screen.
    qtbot.waitUntil(lambda: any("alert dtmf sent" in d for _, _, d in events(tmp_path, "ptt.unkey")), timeout=3000)
    assert events(tmp_path, "signal.send") == [("fire", "console", "dtmf 5551234")]


def test_a_bad_page_is_refused_before_anything_is_keyed(qtbot, tmp_path, position) -> None:
    position.send_signal("dtmf", {"digits": "55X"}, ("fire",))
    qtbot.waitUntil(lambda: bool(events(tmp_path, "signal.refused")), timeout=3000)
    assert not channel(position, "fire").transmitting and not position.driver("fire").keyed
    assert "'X' is not a DTMF key" in events(tmp_path, "signal.refused")[0][2]


def test_tty_on_the_phone_line_during_a_call_opens_the_conversation_and_replies_go_out(qtbot, tmp_path,
                                                                                         position) -> None:
    position.driver("phone").ring(0)
    qtbot.waitUntil(lambda: bool(position.calls.ringing), timeout=3000)
    position.answer_call()
    qtbot.waitUntil(lambda: position.calls.active is not None, timeout=3000)
    rate = position.profile.audio.samplerate
    position.sim_phone_line.play(encode_tty("HELLO I NEED HELP", samplerate=rate))
    def conversation() -> bool:
        tty = position.calls.active.tty
        return tty is not None and bool(tty.lines) and tty.lines[-1].text == "HELLO I NEED HELP" and not tty.receiving

    qtbot.waitUntil(conversation, timeout=10000)
    uid = position.calls.active.uid

    voices_before = set(position.engine.playing())
    position.send_tty("GA 911 WHAT IS YOUR ADDRESS")
    qtbot.waitUntil(lambda: len(position.calls.active.tty.lines) == 2, timeout=3000)
    assert position.calls.active.tty.lines[-1].who == "calltaker"
    # The reply plays on phone_tx: its samples decode back to the text, and the output carries it.
    new = [v for v in position.engine.playing() if v not in voices_before]
    assert new
    playing = position.engine._playing[new[0]]
    assert PHONE_TX in playing.routes
    (decoded,) = decode("tty", playing.voice.samples, rate)
    assert decoded.value == "GA 911 WHAT IS YOUR ADDRESS"
    qtbot.waitUntil(lambda: position.engine.output_levels[1, PHONE_TX] > -30.0, timeout=3000)

    position.stop()
    with sqlite3.connect(tmp_path / "pos.sqlite3") as db:
        rows = db.execute("SELECT kind, detail FROM call_events WHERE call_uid = ? AND kind LIKE 'tty%' ORDER BY id",
                          (uid,)).fetchall()
    assert [r[0] for r in rows] == ["tty", "tty.rx", "tty.tx"]
    assert '"HELLO I NEED HELP"' in rows[1][1] and '"GA 911 WHAT IS YOUR ADDRESS"' in rows[2][1]
