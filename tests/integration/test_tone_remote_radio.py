"""Tone-remote radios keyed through the audio engine, and VOX carrier from receive audio.

Two rigs, both on the clock-driven null sound device (real time, real engine, real supervisor thread):
- an AudioService with a ToneRemoteRadio and a probe that keeps what the line output carried, so
  the keying tones are measured sample by sample (levels, frequencies, where the voice starts);
- whole positions (console, control thread, drivers) keyed by PTT, watched through the engine's
  output meters, and a simulated radio whose carrier comes from its audio through VOX.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QTimer

from app.audio.endpoints import audio_map
from app.audio.engine import Engine
from app.audio.service import AudioService, mix_options
from app.audio.tone_remote import ToneRemoteRadio
from app.config import load_profile
from app.config.schema import Mix
from app.control import DeviceBridge
from app.dsp.measure import peak_frequency, tone_level_dbfs
from app.dsp.trc import FUNCTION_S, GUARD_HZ, HLGT_S
from app.eventlog import EventLog
from app.position import Position
from app.snapshots import ChannelView, ConsoleSnapshot
from app.store import StoreWriter
from hardware.audio.base import StreamSpec, open_backend
from hardware.audio.supervisor import AudioSupervisor
from hardware.events import KeyStateChanged, LinkChanged, LinkState

RATE, FRAMES = 48000, 128
TEST_LEVEL = -10.0  # dBFS: HLGT -4, function -14, LLGT -34
VOICE_HZ, VOICE_DBFS = 1000.0, -20.0
KEYING_S = HLGT_S + FUNCTION_S  # 170 ms
BLOCK_S = FRAMES / RATE
CHANNELS = {"headset_left": 1, "headset_right": 2, "headset_mic": 1, "base_rx": 2, "base_tx": 3}
LINE, MIC = 2, 0


class LineRig:
    """AudioService + ToneRemoteRadio on the null device; the mic carries a steady 'voice' tone and
    every block of the line output is kept (the probe copies it after the engine filled it)."""

    def __init__(self, tmp_path, **radio_settings) -> None:
        self.amap = audio_map(CHANNELS, [("base", "BASE", "tone-remote", "base_rx", "base_tx")])
        self.engine = Engine(self.amap.n_in, self.amap.n_out, FRAMES, RATE,
                             trc_outputs=tuple(self.amap.trc_outputs.values()))
        self.store = StoreWriter(tmp_path / "trc.sqlite3")
        self.store.start()
        self.service = AudioService(self.amap, self.engine, EventLog(self.store), options=mix_options(Mix()),
                                    patch_hang_s=2.0, test_level_dbfs=TEST_LEVEL, backend="null",
                                    samplerate=RATE, blocksize=FRAMES)
        self.reports: list = []  # what the radio and the device reported, in order, on this thread
        self.bridge = DeviceBridge()
        self.bridge.event.connect(self._on_event)
        self.radio = ToneRemoteRadio("base", self.bridge.sink, self.service, **radio_settings)
        self._lock = threading.Lock()
        self._line: list[np.ndarray] = []
        self._voice_phase = 0
        # 1000 Hz at 48 kHz repeats every 48 samples: three blocks of 128 (384 = 8 x 48) loop seamlessly.
        n = np.arange(3 * FRAMES)
        cycle = 10 ** (VOICE_DBFS / 20) * np.sin(2 * math.pi * VOICE_HZ * n / RATE)
        self._voice = cycle.astype(np.float32).reshape(3, FRAMES)
        spec = StreamSpec(device="", samplerate=RATE, blocksize=FRAMES, latency="low",
                          inputs=self.amap.n_in, outputs=self.amap.n_out)
        self.supervisor = AudioSupervisor(open_backend("null", input_source=self._mic), spec, self._callback,
                                          self.bridge.sink)
        self.service.start()
        self.radio.start()
        self.supervisor.start()

    def _mic(self, inp: np.ndarray) -> None:
        inp[:, MIC] = self._voice[self._voice_phase % 3]
        self._voice_phase += 1

    def _callback(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        self.engine.process(inp, out, status)
        with self._lock:
            self._line.append(out[:, LINE].copy())

    def _on_event(self, ev) -> None:
        if isinstance(ev, LinkChanged) and ev.device == "audio":
            self.service.on_link(ev)
        self.reports.append(ev)

    def line(self) -> np.ndarray:
        with self._lock:
            return np.concatenate(self._line)

    def mark(self) -> int:
        with self._lock:
            return sum(block.shape[0] for block in self._line)

    def talk(self) -> None:
        """The console's state while the operator keys this channel: the mic goes to the line."""
        view = ChannelView("base", "BASE", "tone-remote", selected=True, key_pending=True)
        self.service.on_console(ConsoleSnapshot(channels=(view,)))

    def key_states(self) -> list[KeyStateChanged]:
        return [ev for ev in self.reports if isinstance(ev, KeyStateChanged)]

    def close(self) -> None:
        self.radio.stop()
        self.supervisor.stop()
        self.service.shutdown()
        self.store.stop()


@pytest.fixture
def rig(qtbot, tmp_path):
    made = []

    def make(**settings) -> LineRig:
        r = LineRig(tmp_path, **settings)
        made.append(r)
        qtbot.waitUntil(lambda: r.service.snapshot().state == "up", timeout=5000)
        qtbot.waitUntil(lambda: any(isinstance(e, LinkChanged) and e.device == "base" for e in r.reports),
                        timeout=2000)
        return r

    yield make
    for r in made:
        r.close()


def keying_start(line: np.ndarray, since: int) -> int:
    nonzero = np.flatnonzero(line[since:])
    assert nonzero.size, "nothing came down the tone-remote line"
    return since + int(nonzero[0])


def level(line: np.ndarray, start_s: float, end_s: float, hz: float, origin: int) -> float:
    return tone_level_dbfs(line[origin + int(start_s * RATE):origin + int(end_s * RATE)], hz, RATE)


def test_the_radio_follows_the_sound_device_link(rig):
    r = rig()
    links = [ev for ev in r.reports if isinstance(ev, LinkChanged) and ev.device == "base"]
    assert [(ev.state, ev.detail) for ev in links] == [(LinkState.UP, "sound device up: " + r.service.snapshot().detail)]


def test_ptt_keys_after_guard_and_function_tone_with_voice_under_the_low_level_guard(qtbot, rig):
    r = rig()
    r.talk()
    since = r.mark()
    t0 = time.monotonic()
    r.radio.key(True)
    assert r.radio.key_pending  # the console shows key pending while the tones go out
    qtbot.waitUntil(lambda: any(ev.keyed for ev in r.key_states()), timeout=2000)
    keyed = r.key_states()[-1]
    assert keyed == KeyStateChanged("base", True, t=keyed.t) and not keyed.error
    took = keyed.t - t0
    print(f"\nkey to keyed: {took * 1000:.1f} ms (tones {KEYING_S * 1000:.0f} ms)")
    assert KEYING_S - BLOCK_S <= took <= KEYING_S + 0.25
    qtbot.waitUntil(lambda: r.mark() > since + int(0.6 * RATE), timeout=3000)
    line = r.line()
    begin = keying_start(line, since)
    # HLGT +6 dB, the F1 function tone -4 dB, then LLGT -24 dB with the voice, all against the test level.
    assert level(line, 0.005, 0.125, GUARD_HZ, begin) == pytest.approx(TEST_LEVEL + 6, abs=0.05)
    assert level(line, 0.005, 0.125, VOICE_HZ, begin) < -90  # the voice path is shut while keying
    function = line[begin + int(0.1325 * RATE):begin + int(0.1675 * RATE)]
    assert peak_frequency(function, RATE) == pytest.approx(1950.0, abs=1.0)
    assert tone_level_dbfs(function, 1950.0, RATE) == pytest.approx(TEST_LEVEL - 4, abs=0.3)
    assert level(line, 0.1325, 0.1675, VOICE_HZ, begin) < VOICE_DBFS - 30  # only the function tone's leakage
    assert level(line, 0.2, 0.5, GUARD_HZ, begin) == pytest.approx(TEST_LEVEL - 24, abs=0.1)
    assert level(line, 0.2, 0.5, VOICE_HZ, begin) == pytest.approx(VOICE_DBFS, abs=0.1)
    # The voice starts with the low-level guard tone, to the block (the engine: to the sample).
    voice_starts = begin + int(np.argmax(np.abs(line[begin + int(0.171 * RATE):]) > 0.05)) + int(0.171 * RATE)
    assert voice_starts - begin <= int(KEYING_S * RATE) + FRAMES

    r.radio.key(False)  # on this (the control) thread: the guard tone stops at the next block
    released = r.mark()
    qtbot.waitUntil(lambda: r.mark() > released + 4 * FRAMES, timeout=2000)
    after = r.line()[released + 2 * FRAMES:]
    assert not after.any(), "the line still carries something after the release"
    qtbot.waitUntil(lambda: not r.key_states()[-1].keyed, timeout=1000)
    assert not r.radio.keyed


def test_selecting_f2_sends_the_function_command_and_keys_with_f2(qtbot, rig):
    r = rig(functions={"F2": 1850.0, "F3": 1750.0})
    since = r.mark()
    assert r.radio.select_function("f2") == 1850.0 and r.radio.function == "F2"
    # Changing channel: guard + F2 with no guard tone held, and the station is not keyed.
    qtbot.waitUntil(lambda: r.mark() > since + int(0.4 * RATE), timeout=3000)
    line = r.line()
    begin = keying_start(line, since)
    assert level(line, 0.005, 0.125, GUARD_HZ, begin) == pytest.approx(TEST_LEVEL + 6, abs=0.05)
    assert peak_frequency(line[begin + int(0.1325 * RATE):begin + int(0.1675 * RATE)], RATE) == pytest.approx(
        1850.0, abs=1.0)
    assert not line[begin + int(0.175 * RATE):].any()  # nothing held: the base station stays unkeyed
    assert r.key_states() == []

    since = r.mark()
    r.radio.key(True)
    qtbot.waitUntil(lambda: any(ev.keyed for ev in r.key_states()), timeout=2000)
    qtbot.waitUntil(lambda: r.mark() > since + int(0.4 * RATE), timeout=3000)
    r.radio.key(False)
    line = r.line()
    begin = keying_start(line, since)
    function = line[begin + int(0.1325 * RATE):begin + int(0.1675 * RATE)]
    assert peak_frequency(function, RATE) == pytest.approx(1850.0, abs=1.0)
    assert level(line, 0.2, 0.35, GUARD_HZ, begin) == pytest.approx(TEST_LEVEL - 24, abs=0.1)


def test_monitor_sends_the_monitor_function_without_keying(qtbot, rig):
    r = rig(monitor_hz=2050.0)
    since = r.mark()
    r.radio.monitor(True)
    qtbot.waitUntil(lambda: r.mark() > since + int(0.4 * RATE), timeout=3000)
    line = r.line()
    begin = keying_start(line, since)
    assert peak_frequency(line[begin + int(0.1325 * RATE):begin + int(0.1675 * RATE)], RATE) == pytest.approx(
        2050.0, abs=1.0)
    assert not line[begin + int(0.175 * RATE):].any()
    assert r.key_states() == [] and not r.radio.keyed


def test_an_unknown_function_is_refused_with_the_names_the_radio_has(rig):
    r = rig(functions={"F2": 1850.0})
    with pytest.raises(ValueError, match=r"'base' has no function 'F7' \(it has F1, F2\)"):
        r.radio.select_function("F7")
    assert r.radio.function == "F1"


def test_bad_tones_are_refused_when_the_radio_is_made(rig):
    service = rig().service
    with pytest.raises(ValueError, match="'base': function tone 2175 Hz is the guard tone"):
        ToneRemoteRadio("base", lambda ev: None, service, functions={"F2": 2175.0})
    with pytest.raises(ValueError, match="guard_hz 2100 Hz is not supported"):
        ToneRemoteRadio("base", lambda ev: None, service, guard_hz=2100.0)


def test_unkey_from_another_thread_reaches_the_line(qtbot, rig):
    r = rig()
    r.radio.key(True)
    qtbot.waitUntil(lambda: any(ev.keyed for ev in r.key_states()), timeout=2000)
    worker = threading.Thread(target=r.radio.key, args=(False,))  # a signal handler, the fail-safe sweep
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: not r.radio.keyed, timeout=1000)
    released = r.mark()
    qtbot.waitUntil(lambda: r.mark() > released + 4 * FRAMES, timeout=2000)
    assert not r.line()[released + 2 * FRAMES:].any()
    qtbot.waitUntil(lambda: not r.key_states()[-1].keyed, timeout=1000)


def test_a_radio_whose_line_is_not_on_the_sound_device_fails_to_key_with_the_reason(qtbot, rig):
    r = rig()
    other = ToneRemoteRadio("spare", r.bridge.sink, r.service)  # no "spare" line in the audio map
    other.start()
    other.key(True)
    qtbot.waitUntil(lambda: any(ev.device == "spare" for ev in r.key_states()), timeout=1000)
    failed = next(ev for ev in r.key_states() if ev.device == "spare")
    assert not failed.keyed and failed.error == "tone-remote radio 'spare' has no transmit line on the sound device"
    assert any(isinstance(e, LinkChanged) and e.device == "spare" and e.state is LinkState.FAULT for e in r.reports)


def test_a_lost_sound_device_unkeys_and_refuses_keying(qtbot, rig):
    r = rig()
    r.radio.key(True)
    qtbot.waitUntil(lambda: any(ev.keyed for ev in r.key_states()), timeout=2000)
    r.bridge.sink(LinkChanged("audio", LinkState.DOWN, "null: stalled"))  # as the supervisor reports it
    qtbot.waitUntil(lambda: not r.radio.keyed, timeout=1000)
    qtbot.waitUntil(lambda: any(isinstance(e, LinkChanged) and e.device == "base" and e.state is LinkState.DOWN
                                for e in r.reports), timeout=1000)
    r.radio.key(True)
    qtbot.waitUntil(lambda: r.key_states()[-1].error != "", timeout=1000)
    assert r.key_states()[-1].error == "sound device is down: null: stalled"


# ---- whole positions ------------------------------------------------------------------------------

PROFILE = """
schema_version = 1
[position]
name = "TRC-1"
[audio]
backend = "null"
blocksize = 128
test_level_dbfs = -10.0
[audio.channels]
headset_left = 1
headset_right = 2
headset_mic = 1
base_rx = 2
base_tx = 3
fire_rx = 3
fire_tx = 4
[[radios]]
id = "base"
name = "BASE"
kind = "tone-remote"
rx_input = "base_rx"
tx_output = "base_tx"
functions = { F2 = 1850.0 }
vox = { enabled = true }
[[radios]]
id = "fire"
name = "FIRE"
kind = "sim"
bursts_per_minute = 0.0
rx_input = "fire_rx"
tx_output = "fire_tx"
vox = { enabled = true, threshold_dbfs = -40.0, attack_ms = 30.0, hang_ms = 300.0 }
"""
BASE_TX, FIRE_RX = 2, 2


@pytest.fixture
def position(qtbot, tmp_path):
    path = tmp_path / "position.toml"
    path.write_text(PROFILE)
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    pos.start()
    qtbot.waitUntil(lambda: pos.audio.state == "up", timeout=5000)
    qtbot.waitUntil(lambda: channel(pos, "base").link == "up", timeout=2000)
    yield pos
    pos.stop()


def channel(pos: Position, cid: str) -> ChannelView:
    return next(c for c in pos.console.channels if c.id == cid)


def out_peak(pos: Position, column: int) -> float:
    return float(pos.audio_levels()[1][0, column])


def test_position_ptt_on_a_tone_remote_channel_pending_then_keyed_then_released(qtbot, position):
    position.select_channel("base", True)
    qtbot.waitUntil(lambda: channel(position, "base").selected, timeout=2000)
    seen_pending = []
    t0 = time.monotonic()
    position.ptt("console", True)
    qtbot.waitUntil(lambda: channel(position, "base").key_pending or channel(position, "base").transmitting,
                    timeout=2000)
    seen_pending.append(channel(position, "base").key_pending)
    pending_peak = out_peak(position, BASE_TX)
    qtbot.waitUntil(lambda: channel(position, "base").transmitting, timeout=2000)
    took = time.monotonic() - t0
    print(f"\nPTT to transmitting: {took * 1000:.1f} ms")
    assert seen_pending == [True]
    assert pending_peak > TEST_LEVEL - 4 - 0.5  # the high-level guard or function tone was on the line
    assert took >= KEYING_S - BLOCK_S
    # Keyed, mic silent on the null device: only the low-level guard tone (-34 dBFS) is on the line.
    qtbot.waitUntil(lambda: abs(out_peak(position, BASE_TX) - (TEST_LEVEL - 24)) < 0.1, timeout=2000)
    position.ptt("console", False)
    qtbot.waitUntil(lambda: not channel(position, "base").transmitting, timeout=2000)
    qtbot.waitUntil(lambda: out_peak(position, BASE_TX) < -100, timeout=2000)


def test_position_tone_remote_radio_selected_to_f2_keys(qtbot, position):
    base = position.driver("base")
    assert isinstance(base, ToneRemoteRadio) and base.functions == {"F1": 1950.0, "F2": 1850.0}
    assert position.vox is not None and position.vox.watching == {"base": 1, "fire": 2}
    QTimer.singleShot(0, base, lambda: base.select_function("F2"))  # on the control thread, where it lives
    qtbot.waitUntil(lambda: base.function == "F2", timeout=2000)
    position.select_channel("base", True)
    qtbot.waitUntil(lambda: channel(position, "base").selected, timeout=2000)
    position.ptt("console", True)
    qtbot.waitUntil(lambda: channel(position, "base").transmitting, timeout=2000)
    qtbot.waitUntil(lambda: abs(out_peak(position, BASE_TX) - (TEST_LEVEL - 24)) < 0.1, timeout=2000)
    position.ptt("console", False)
    qtbot.waitUntil(lambda: not channel(position, "base").transmitting, timeout=2000)


def test_position_vox_carrier_follows_the_simulated_radios_audio(qtbot, position):
    fire = position.driver("fire")
    assert not channel(position, "fire").receiving
    # The simulator's own carrier edges are dropped for a VOX radio: only its audio can open the channel.
    fire.inject_burst(1.0)
    qtbot.waitUntil(lambda: channel(position, "fire").receiving, timeout=3000)
    qtbot.waitUntil(lambda: not fire.carrier, timeout=3000)  # the burst ends: its audio stops
    silent_at = time.monotonic()
    qtbot.waitUntil(lambda: not channel(position, "fire").receiving, timeout=3000)
    assert time.monotonic() - silent_at < 0.3 + 1.0  # the hang, then closed on silence
    assert float(position.audio_levels()[0][1, FIRE_RX]) < -100
    assert not channel(position, "base").receiving  # the tone-remote line's receive stayed silent


# ---- on JACK, with the sound device in its own audio process ----------------------------------------

JACK_PROFILE = """
schema_version = 1
[position]
name = "TRC-JACK"
[audio]
backend = "sounddevice"
device = "system"
blocksize = 128
latency = "low"
test_level_dbfs = -10.0
process = "separate"
[audio.channels]
headset_left = 1
headset_right = 2
headset_mic = 1
base_tx = 3
[[radios]]
id = "base"
name = "BASE"
kind = "tone-remote"
tx_output = "base_tx"
"""


def test_jack_audio_process_keys_after_the_tones_and_a_wedged_server_unkeys(qtbot, tmp_path, jack_server,
                                                                             monkeypatch):
    from hardware.audio.base import open_backend
    from tests.integration.test_audio_failsafe import let_go_of_jack

    open_backend("sounddevice").rescan()  # PortAudio reads JACK_DEFAULT_SERVER when it initialises
    path = tmp_path / "position.toml"
    path.write_text(JACK_PROFILE)
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    try:
        pos.start()
        qtbot.waitUntil(lambda: pos.audio.state == "up", timeout=8000)
        qtbot.waitUntil(lambda: channel(pos, "base").link == "up", timeout=2000)
        pos.select_channel("base", True)
        qtbot.waitUntil(lambda: channel(pos, "base").selected, timeout=2000)
        t0 = time.monotonic()
        pos.ptt("console", True)
        qtbot.waitUntil(lambda: channel(pos, "base").key_pending, timeout=2000)
        qtbot.waitUntil(lambda: channel(pos, "base").transmitting, timeout=3000)
        took = time.monotonic() - t0
        print(f"\nJACK, audio process: PTT to transmitting {took * 1000:.1f} ms")
        assert took >= KEYING_S - BLOCK_S
        # The meters come back from the audio process through shared memory: LLGT alone (silent capture).
        qtbot.waitUntil(lambda: abs(out_peak(pos, BASE_TX) - (TEST_LEVEL - 24)) < 0.1, timeout=2000)

        jack_server.pause()  # the sound server wedges: the line is dead, so the channel must not stay keyed
        qtbot.waitUntil(lambda: pos.audio.alarm != "", timeout=5000)
        qtbot.waitUntil(lambda: not channel(pos, "base").transmitting and not pos.driver("base").keyed,
                        timeout=2000)
        qtbot.waitUntil(lambda: channel(pos, "base").link == "down", timeout=2000)
        jack_server.resume()
        qtbot.waitUntil(lambda: pos.audio.state == "up" and channel(pos, "base").link == "up", timeout=15000)
        pos.ptt("console", False)
    finally:
        pos.stop()
        let_go_of_jack(jack_server, monkeypatch)
