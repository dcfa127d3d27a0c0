"""The engine's routing through real PortAudio on a real JACK server, heard by an independent peer stream.

One stream runs ``Engine.process`` as its callback. A second stream, the peer, is opened by the test
through the same backend: its outputs are jack_connect-ed to the engine's inputs (radios' receive
audio, the phone line, the headset mic, each a tone of its own frequency) and its inputs capture
every engine output. Plans come from ``compute_plan``; levels are read with single-bin DFTs
(app/dsp/measure.py) over windows holding whole cycles of every tone, so the tones do not leak
into each other's bins and "not elsewhere" means below -100 dBFS.

Port names are read from jack_lsp as each stream registers them (PortAudio numbers them in the
order streams open), never assumed.
"""

from __future__ import annotations

import math
import os
import queue
import re
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest

from app.audio.engine import INPUT_OVERFLOWS, OUTPUT_UNDERFLOWS, Engine
from app.dsp.measure import tone_level_dbfs
from app.dsp.mixplan import ChannelState, Endpoints, MixOptions, MixState, PhoneState, compute_plan
from app.dsp.trc import FUNCTION_DB, FUNCTION_S, HLGT_DB, HLGT_S, LLGT_DB, MIN_HLGT_S
from app.dsp.tones import TEST_LEVEL_DBFS
from hardware.audio.base import AudioStream, StreamSpec, open_backend, portaudio_jack_lost
from tests.conftest import require_peer
from tests.jack import JackServer, unique_name

pytestmark = pytest.mark.peer("jackd")

RATE, FRAMES = 48000, 128  # JackServer's defaults: one engine block per JACK period
# Engine inputs (what the peer plays) and outputs (what the peer hears).
MIC, PHONE_RX, A_RX, B_RX = range(4)
HS_L, HS_R, SELECT_SPK, UNSELECT_SPK, PHONE_TX, A_TX, B_TX, TRC_LINE = range(8)
N_IN, N_OUT = 4, 8
ENDPOINTS = Endpoints(
    n_in=N_IN, n_out=N_OUT, radio_rx={"A": A_RX, "B": B_RX}, radio_tx={"A": A_TX, "B": B_TX, "C": TRC_LINE},
    phone_rx=PHONE_RX, phone_tx=PHONE_TX, headset_mics=(MIC,), headset_left=HS_L, headset_right=HS_R,
    select_speaker=SELECT_SPK, unselect_speaker=UNSELECT_SPK,
)
TONE_DBFS = -20.0
# Every frequency is a multiple of 25 Hz, so any window of k * 1920 samples (k * 40 ms) holds whole cycles.
SOURCES = {MIC: (400.0, 2175.0), PHONE_RX: (700.0,), A_RX: (1000.0,), B_RX: (1500.0,)}
MIC_HZ, MIC_GUARD_HZ, PHONE_HZ, A_HZ, B_HZ = 400.0, 2175.0, 700.0, 1000.0, 1500.0
PAN_DB = 20 * math.log10(math.cos(math.pi / 4))  # centre pan: -3.01 dB in each ear
SILENT = -100.0
SETTLE_S = 0.05  # a plan takes effect at the engine's next block; the loop through JACK adds a few more
WINDOW = 4 * 1920  # 160 ms
WAIT_TIMEOUT_S = 5.0


class Peer:
    """The test's own stream: plays a looped second of tones into the engine, records its outputs in a ring."""

    def __init__(self, ring_seconds: float = 4.0) -> None:
        t = np.arange(RATE + FRAMES) / RATE  # one second and one block, so a block never wraps
        self.table = np.zeros((RATE + FRAMES, N_IN), dtype=np.float32)
        for column, freqs in SOURCES.items():
            for hz in freqs:
                self.table[:, column] += 10 ** (TONE_DBFS / 20) * np.sin(2 * math.pi * hz * t)
        self.ring = np.zeros((round(ring_seconds * RATE), N_OUT), dtype=np.float32)
        self.frames = 0  # recorded so far; advanced after the copy, so every counted frame is in the ring
        self.late_blocks = 0  # blocks PortAudio flagged (an xrun of the server: a block lost or repeated)

    def __call__(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        if status & 0xF:  # under/overflow bits (priming output is not lateness)
            self.late_blocks += 1
        n, start = out.shape[0], self.frames
        loop = start % RATE
        out[:] = self.table[loop:loop + n]
        at = start % self.ring.shape[0]
        if at + n <= self.ring.shape[0]:
            self.ring[at:at + n] = inp
        else:
            split = self.ring.shape[0] - at
            self.ring[at:] = inp[:split]
            self.ring[:n - split] = inp[split:]
        self.frames = start + n

    def wait_for(self, frames: int) -> None:
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        while self.frames < frames:
            assert time.monotonic() < deadline, f"the peer stream stalled at {self.frames} frames"
            time.sleep(0.005)  # polling the callback's frame count; the deadline bounds it

    def window(self, start: int, length: int) -> np.ndarray:
        """Engine outputs for frames [start, start + length), once the peer has recorded them."""
        self.wait_for(start + length)
        assert self.frames - start <= self.ring.shape[0], "the window was overwritten before it was read"
        rows = np.arange(start, start + length) % self.ring.shape[0]
        return self.ring[rows].astype(np.float64)

    def next_window(self, length: int = WINDOW) -> np.ndarray:
        """What the engine sends once the latest change has reached the outputs."""
        return self.window(self.frames + round(SETTLE_S * RATE), length)


@dataclass
class Rig:
    server: JackServer
    backend_name: str
    engine: Engine
    peer: Peer
    streams: list[AudioStream]

    def set(self, state: MixState) -> np.ndarray:
        """What the outputs carry once ``state`` is in effect; a window the server had an xrun in
        (a block lost or repeated) is recorded again, up to 3 times."""
        self.engine.set_plan(compute_plan(state, ENDPOINTS))
        for _attempt in range(3):
            xruns = _xruns(self)
            window = self.peer.next_window()
            if _xruns(self) == xruns:
                break
        return window  # after three tries with xruns, the levels are judged anyway (most survive one)


def _new_ports(server: JackServer, before: set[str], kind: str) -> list[str]:
    ports = [p for p in server.ports() if p not in before and re.search(rf":{kind}_\d+$", p)]
    return sorted(ports, key=lambda p: int(p.rsplit("_", 1)[1]))


def _wait_for_auto_connections(server: JackServer, ports: set[str]) -> set[tuple[str, str]]:
    """PortAudio connects each port of a started stream to a system port; wait for all of them."""
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while True:
        links = {pair for pair in server.connections() if pair[0] in ports or pair[1] in ports}
        if {p for pair in links for p in pair} >= ports:
            return links
        assert time.monotonic() < deadline, f"PortAudio never connected {sorted(ports)}: {links}"
        time.sleep(0.01)  # polling jack_lsp; the deadline bounds it


@pytest.fixture(scope="module")
def server():
    for program in ("jackd", "jack_lsp", "jack_connect", "jack_disconnect"):
        require_peer(program)
    with pytest.MonkeyPatch.context() as patch:
        jack = JackServer(unique_name())
        patch.setenv("JACK_DEFAULT_SERVER", jack.name)
        try:
            yield jack
        finally:
            jack.stop()


class _InProcess:
    """The engine's callback on a stream of this process (``process = "inline"``)."""

    def __init__(self, backend: Any, streams: list[AudioStream]) -> None:
        self.backend, self.streams = backend, streams

    def open(self) -> Engine:
        engine = Engine(N_IN, N_OUT, FRAMES, RATE, trc_outputs=(TRC_LINE,))
        self.streams.append(self.backend.open(StreamSpec("system", RATE, FRAMES, "low", N_IN, N_OUT), engine.process))
        return engine

    def close(self) -> None:
        pass


class _AudioProcess:
    """The engine's callback in the audio process (app/audio/process.py), the console's default."""

    def __init__(self) -> None:
        self.process: Any = None
        self.shared: Any = None

    def open(self) -> Engine:
        from app.audio.buffers import SharedBuffers
        from app.audio.host import HostConfig
        from app.audio.process import AudioProcess
        from hardware.events import LinkChanged, LinkState

        settings = {"trc_outputs": (TRC_LINE,)}
        layout = Engine.layout_for(N_IN, N_OUT, RATE, **settings)
        self.shared = SharedBuffers.create(layout)
        reports: queue.SimpleQueue = queue.SimpleQueue()
        config = HostConfig("sounddevice", StreamSpec("system", RATE, FRAMES, "low", N_IN, N_OUT), layout,
                            self.shared.name, "audio", settings)
        self.process = AudioProcess(config, self.shared, reports.put)
        engine = Engine(N_IN, N_OUT, FRAMES, RATE, buffers=self.shared.buffers, publish=self.process.publish,
                        **settings)
        self.process.start()
        event = reports.get(timeout=WAIT_TIMEOUT_S * 2)
        assert isinstance(event, LinkChanged) and event.state is LinkState.UP, event
        assert self.process.pid not in (0, os.getpid())
        # What the audio process made of its scheduling and memory, for the technician (and the log).
        scheduling = self.process.info.scheduling
        assert "callback thread SCHED_" in scheduling and "memory" in scheduling, scheduling
        return engine

    def close(self) -> None:
        if self.process is not None:
            assert self.process.stop(5.0)
        if self.shared is not None:
            self.shared.close()


@pytest.fixture(scope="module", params=["sounddevice", "pyaudio", "audio-process"])
def rig(request, server):
    from hardware.audio.base import AudioDeviceError

    try:
        backend = open_backend("sounddevice" if request.param == "audio-process" else request.param)
    except AudioDeviceError as exc:
        pytest.skip(str(exc))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JACK_DEFAULT_SERVER", server.name)  # the audio process inherits it
        backend.rescan()  # PortAudio reads JACK_DEFAULT_SERVER when it initialises
        peer = Peer()
        streams: list[AudioStream] = []
        side = _AudioProcess() if request.param == "audio-process" else _InProcess(backend, streams)
        try:
            # PyAudio opens max(inputs, outputs) channels each way and uses the first ones.
            before = set(server.ports())
            engine = side.open()
            engine_in, engine_out = _new_ports(server, before, "in"), _new_ports(server, before, "out")
            before = set(server.ports())
            streams.append(backend.open(StreamSpec("system", RATE, FRAMES, "low", N_OUT, N_IN), peer))
            peer_in, peer_out = _new_ports(server, before, "in"), _new_ports(server, before, "out")
            ours = set(engine_in + engine_out + peer_in + peer_out)
            assert (len(engine_in) >= N_IN and len(engine_out) == N_OUT and len(peer_in) == N_OUT
                    and len(peer_out) >= N_IN), sorted(ours)
            engine_in, peer_out = engine_in[:N_IN], peer_out[:N_IN]
            for stream in streams:
                stream.start()
            for source, destination in _wait_for_auto_connections(server, ours):
                server.disconnect(source, destination)
            for source, destination in [*zip(peer_out, engine_in), *zip(engine_out, peer_in)]:
                server.connect(source, destination)
            assert {pair for pair in server.connections() if pair[0] in ours} == {
                *zip(peer_out, engine_in), *zip(engine_out, peer_in)}
            peer.wait_for(peer.frames + RATE // 10)  # both streams running on the new graph
            yield Rig(server, request.param, engine, peer, streams)
        finally:
            for stream in streams:
                stream.close()
            side.close()
            # Let go of the server before it stops (tests/jack.py says why).
            patch.setenv("JACK_DEFAULT_SERVER", f"{server.name}-stopped")
            assert not portaudio_jack_lost()
            backend.rescan()


def level(window: np.ndarray, output: int, hz: float) -> float:
    return tone_level_dbfs(window[:, output], hz, RATE)


def heard_on(window: np.ndarray, hz: float) -> set[int]:
    return {o for o in range(N_OUT) if level(window, o, hz) > SILENT}


def state(*channels: ChannelState, **kwargs) -> MixState:
    return MixState(channels=channels, **kwargs)


A_SELECTED = ChannelState("A", selected=True)
B_UNSELECTED = ChannelState("B")
C_TRC = ChannelState("C")


def test_selected_radio_reaches_the_headset_at_its_level_and_nowhere_else(rig):
    heard = rig.set(state(A_SELECTED, B_UNSELECTED, C_TRC))
    assert level(heard, HS_L, A_HZ) == pytest.approx(TONE_DBFS + PAN_DB, abs=0.05)
    assert level(heard, HS_R, A_HZ) == pytest.approx(TONE_DBFS + PAN_DB, abs=0.05)
    assert heard_on(heard, A_HZ) == {HS_L, HS_R}
    # Unselected, speaker mode: the unselect speaker only, at channel gain.
    assert level(heard, UNSELECT_SPK, B_HZ) == pytest.approx(TONE_DBFS, abs=0.05)
    assert heard_on(heard, B_HZ) == {UNSELECT_SPK}
    # No call, nothing keyed: the phone and the mic go nowhere.
    assert heard_on(heard, PHONE_HZ) == set() and heard_on(heard, MIC_HZ) == set()


def test_unselected_channel_in_headset_mode_is_9_db_down_and_off_the_speaker(rig):
    headset_mode = MixOptions(unselect_mode="headset", unselect_db=-9.0)
    heard = rig.set(state(A_SELECTED, B_UNSELECTED, C_TRC, options=headset_mode))
    for ear in (HS_L, HS_R):
        assert level(heard, ear, A_HZ) == pytest.approx(TONE_DBFS + PAN_DB, abs=0.05)
        assert level(heard, ear, B_HZ) == pytest.approx(TONE_DBFS + PAN_DB - 9.0, abs=0.05)
    assert heard_on(heard, B_HZ) == {HS_L, HS_R}


def test_mute_silences_a_channel_for_the_operator_but_not_its_patch(rig):
    muted = replace(A_SELECTED, mute=True, receiving=True)
    heard = rig.set(state(muted, B_UNSELECTED, C_TRC))
    assert heard_on(heard, A_HZ) == set()
    assert level(heard, UNSELECT_SPK, B_HZ) == pytest.approx(TONE_DBFS, abs=0.05)  # the other channel still plays
    patched = rig.set(state(muted, B_UNSELECTED, C_TRC, patches=(("A", "B"),)))
    assert heard_on(patched, A_HZ) == {B_TX}


def test_phone_call_ducks_radio_in_the_headset_and_sends_the_mic_down_the_line(rig):
    on_call = rig.set(state(A_SELECTED, B_UNSELECTED, C_TRC, phone=PhoneState(call_active=True)))
    for ear in (HS_L, HS_R):
        assert level(on_call, ear, PHONE_HZ) == pytest.approx(TONE_DBFS + PAN_DB, abs=0.05)
        assert level(on_call, ear, A_HZ) == pytest.approx(TONE_DBFS + PAN_DB - 12.0, abs=0.05)
    assert heard_on(on_call, PHONE_HZ) == {HS_L, HS_R}
    assert level(on_call, PHONE_TX, MIC_HZ) == pytest.approx(TONE_DBFS, abs=0.05)
    assert heard_on(on_call, MIC_HZ) == {PHONE_TX}  # no sidetone while nothing is keyed
    assert level(on_call, UNSELECT_SPK, B_HZ) == pytest.approx(TONE_DBFS, abs=0.05)  # the speaker is not ducked
    hung_up = rig.set(state(A_SELECTED, B_UNSELECTED, C_TRC))
    assert level(hung_up, HS_L, A_HZ) == pytest.approx(TONE_DBFS + PAN_DB, abs=0.05)
    assert heard_on(hung_up, PHONE_HZ) == set()


def test_patch_sends_a_receiving_channel_to_the_other_transmitter_only_while_it_receives(rig):
    a_receiving = replace(A_SELECTED, receiving=True)
    heard = rig.set(state(a_receiving, B_UNSELECTED, C_TRC, patches=(("A", "B"),)))
    assert level(heard, B_TX, A_HZ) == pytest.approx(TONE_DBFS, abs=0.05)
    assert heard_on(heard, A_HZ) == {HS_L, HS_R, B_TX}  # never back to its own transmitter
    assert heard_on(heard, B_HZ) == {UNSELECT_SPK}  # B has no carrier: nothing of it goes to A
    dropped = rig.set(state(A_SELECTED, B_UNSELECTED, C_TRC, patches=(("A", "B"),)))
    assert B_TX not in heard_on(dropped, A_HZ)


def _boundary(x: np.ndarray, near: int, before: tuple[float, ...], after: tuple[float, ...],
              search: int, side: int = 240) -> int:
    """The sample where the line switches from tones ``before`` to tones ``after``, to the sample.

    For each candidate within ``search`` of ``near``, sinusoids at the known frequencies are fitted
    by least squares to ``side`` samples on each side; the true switch leaves (almost) no residual.
    """
    def residual(lo: int, hi: int, freqs: tuple[float, ...]) -> float:
        segment = x[lo:hi]
        if not freqs:
            return float(np.dot(segment, segment))
        n = np.arange(lo, hi)
        basis = np.column_stack([f(2 * math.pi * hz * n / RATE) for hz in freqs for f in (np.sin, np.cos)])
        fitted, *_ = np.linalg.lstsq(basis, segment, rcond=None)
        left = segment - basis @ fitted
        return float(np.dot(left, left))

    candidates = range(max(side, near - search), near + search + 1)
    return min(candidates, key=lambda b: residual(b - side, b, before) + residual(b, b + side, after))


def _xruns(rig: Rig) -> int:
    counters = rig.engine.counters
    return rig.peer.late_blocks + int(counters[OUTPUT_UNDERFLOWS] + counters[INPUT_OVERFLOWS])


def _key_and_record(rig: Rig) -> np.ndarray:
    """The line from 50 ms before keying to 0.5 s after the keying tones; measured again (up to 3
    times) when the server had an xrun meanwhile: a lost or repeated block is no timing to judge."""
    engine, peer = rig.engine, rig.peer
    heard = np.zeros((0, N_OUT))
    for _attempt in range(3):
        xruns = _xruns(rig)
        start_frame = peer.frames - RATE // 20  # 50 ms already recorded: silence before the keying
        try:
            engine.key_trc(TRC_LINE, 1950.0, sidetone={SELECT_SPK: 0.25})
            deadline = time.monotonic() + WAIT_TIMEOUT_S
            while not engine.trc_ready(TRC_LINE):
                assert time.monotonic() < deadline, "the keying tones never finished"
                time.sleep(0.005)  # polling the engine's state; the deadline bounds it
            heard = peer.window(start_frame, peer.frames - start_frame + RATE // 2)
        finally:
            engine.unkey_trc(TRC_LINE)
        if _xruns(rig) == xruns:
            break
        peer.next_window()  # let the line fall silent before keying again
    return heard  # after three keyings with xruns, judged anyway


def test_tone_remote_keying_sequence_timing_and_levels_on_the_line(rig):
    keyed = state(A_SELECTED, B_UNSELECTED, replace(C_TRC, keyed=True))
    rig.set(keyed)  # the mic is routed to the line, but an unkeyed TRC line carries nothing
    heard = _key_and_record(rig)
    line = heard[:, TRC_LINE]

    # Where each segment starts, found from the signal alone.
    nonzero = np.flatnonzero(line)
    assert nonzero.size, "nothing came down the tone-remote line"
    begin = _boundary(line, int(nonzero[0]), (), (2175.0,), search=4)
    # Peak over each cycle-long stretch: the HLGT peaks at 0.63, the function tone at 0.2.
    peaks = np.lib.stride_tricks.sliding_window_view(np.abs(line[begin:]), 24).max(axis=1)
    guard_drops = begin + int(np.argmax(peaks < 0.3)) + 24
    function_begins = _boundary(line, guard_drops, (2175.0,), (1950.0,), search=48)
    function_ends = _boundary(line, function_begins + 1920, (1950.0,), (2175.0, MIC_HZ), search=480)
    hlgt_ms, function_ms = (function_begins - begin) / 48.0, (function_ends - function_begins) / 48.0
    print(f"\n{rig.backend_name}: HLGT {hlgt_ms:.3f} ms, function tone {function_ms:.3f} ms")
    assert hlgt_ms >= MIN_HLGT_S * 1000
    assert hlgt_ms == pytest.approx(HLGT_S * 1000, abs=0.03)  # to the sample
    assert function_ms == pytest.approx(FUNCTION_S * 1000, abs=0.03)
    assert not line[:begin].any()  # silence on the line until it is keyed

    # Levels relative to the line test level, each over whole cycles inside its segment.
    hlgt_level, function_level, llgt_level = (TEST_LEVEL_DBFS + db for db in (HLGT_DB, FUNCTION_DB, LLGT_DB))
    guard = heard[begin + 960:begin + 960 + 3840]
    assert level(guard, TRC_LINE, 2175.0) == pytest.approx(hlgt_level, abs=0.05)
    assert level(heard[function_begins:function_ends], TRC_LINE, 1950.0) == pytest.approx(function_level, abs=0.05)
    # The voice path is shut while the keying tones play ...
    assert level(guard, TRC_LINE, MIC_HZ) < SILENT
    assert level(heard[function_begins:function_ends], TRC_LINE, MIC_HZ) < SILENT
    # ... and opens under the low-level guard tone, notched: the mic's own 2175 Hz does not reach the line.
    held = heard[function_ends + 1920:function_ends + 3 * 1920]
    assert level(held, TRC_LINE, MIC_HZ) == pytest.approx(TONE_DBFS, abs=0.1)
    assert level(held, TRC_LINE, 2175.0) == pytest.approx(llgt_level, abs=0.1)
    # The operator hears the tones on the sidetone route, 12 dB down (its gain of 0.25).
    assert level(guard, SELECT_SPK, 2175.0) == pytest.approx(hlgt_level + 20 * math.log10(0.25), abs=0.05)

    unkeyed = rig.peer.next_window()
    assert level(unkeyed, TRC_LINE, 2175.0) < SILENT and level(unkeyed, TRC_LINE, MIC_HZ) < SILENT
