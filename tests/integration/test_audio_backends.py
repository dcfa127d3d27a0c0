"""Both PortAudio backends against a real JACK server (dummy backend) through real PortAudio.

Each test gets its own jackd (tests/jack.py); ``portaudio_backend`` runs it once with sounddevice
and once with PyAudio, initialised against that server.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.dsp.measure import tone_level_dbfs
from hardware.audio.base import INPUT_OVERFLOW, OUTPUT_UNDERFLOW, AudioDeviceError, StreamSpec
from tests.jack import portaudio_backend  # noqa: F401 - fixture

RATE = 48000
TONE_HZ = 1000.0
TONE_AMPLITUDE = 0.5  # -6.02 dBFS


def spec(device: str = "system", blocksize: int = 128, inputs: int = 8, outputs: int = 8) -> StreamSpec:
    return StreamSpec(device=device, samplerate=RATE, blocksize=blocksize, latency="low", inputs=inputs, outputs=outputs)


class Blocks:
    """Engine callback: counts blocks, notes shapes and statuses, signals when ``wanted`` came."""

    def __init__(self, wanted: int = 5) -> None:
        self.wanted = wanted
        self.count = 0
        self.first_time = self.last_time = 0.0
        self.shapes: set[tuple] = set()
        self.statuses: list[int] = []
        self.done = threading.Event()

    def __call__(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        now = time.monotonic()
        if self.count == 0:
            self.first_time = now
        self.last_time = now
        self.count += 1
        self.shapes.add((inp.shape, out.shape, inp.dtype.str, out.dtype.str, inp.flags.c_contiguous,
                         out.flags.c_contiguous, out.flags.writeable))
        self.statuses.append(status)
        out.fill(0.0)
        if self.count >= self.wanted:
            self.done.set()


@pytest.fixture
def opened():
    streams = []

    def open_and_start(backend, stream_spec, callback):
        stream = backend.open(stream_spec, callback)
        streams.append(stream)
        stream.start()
        return stream

    yield open_and_start
    for stream in streams:
        stream.close()


def test_device_list_has_the_jack_server(portaudio_backend, jack_server):
    jack = [d for d in portaudio_backend.devices() if "JACK" in d.hostapi]
    assert [(d.name, d.max_inputs, d.max_outputs, d.default_samplerate) for d in jack] == [("system", 8, 8, 48000.0)]


def test_open_by_name_substring_and_by_index(portaudio_backend, opened):
    (jack,) = [d for d in portaudio_backend.devices() if "JACK" in d.hostapi]
    for device in ("SYST", str(jack.index)):
        blocks = Blocks()
        stream = opened(portaudio_backend, spec(device=device, inputs=2, outputs=2), blocks)
        assert blocks.done.wait(3), f"no callbacks from {device!r}"
        assert stream.device_name == "system" and stream.active
        stream.close()
        assert not stream.active


def test_unknown_device_or_too_many_channels_is_named(portaudio_backend):
    with pytest.raises(AudioDeviceError, match=r"no audio device matches 'no-such-card'.*system") as error:
        portaudio_backend.open(spec(device="no-such-card"), Blocks())
    assert portaudio_backend.name in str(error.value)
    with pytest.raises(AudioDeviceError, match=r"system.*cannot give 9 input"):
        portaudio_backend.open(spec(inputs=9), Blocks())
    with pytest.raises(AudioDeviceError, match="index 99"):
        portaudio_backend.open(spec(device="99"), Blocks())


def test_every_block_has_blocksize_frames_at_the_device_rate(portaudio_backend, opened):
    # 256-frame blocks from a 128-frame JACK period: PortAudio regroups, the callback still sees 256.
    blocks = Blocks(wanted=150)
    stream = opened(portaudio_backend, spec(blocksize=256, inputs=8, outputs=8), blocks)
    assert blocks.done.wait(5), f"{blocks.count} blocks in 5 s"
    rate = (blocks.count - 1) / (blocks.last_time - blocks.first_time)
    assert rate == pytest.approx(RATE / 256, rel=0.1)
    assert blocks.shapes == {((256, 8), (256, 8), "<f4", "<f4", True, True, True)}
    inp, out = stream.latency
    assert inp >= 0.0 and out >= 128 / RATE  # JACK reports at least its period on the way out


def test_one_way_and_asymmetric_streams(portaudio_backend, opened):
    for inputs, outputs in ((2, 0), (0, 2), (8, 2)):
        blocks = Blocks()
        stream = opened(portaudio_backend, spec(inputs=inputs, outputs=outputs), blocks)
        assert blocks.done.wait(3)
        assert blocks.shapes == {((128, inputs), (128, outputs), "<f4", "<f4", True, True, True)}
        stream.close()


class Loopback:
    """Plays a continuous tone on output 0 and records input 1 once recording is armed."""

    def __init__(self, seconds: float = 0.5) -> None:
        self.tone = (TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * np.arange(RATE) / RATE)).astype(np.float32)
        self.position = 0
        self.blocks = 0
        self.record_from: int | None = None
        self.recording = np.zeros(int(RATE * seconds), dtype=np.float32)
        self.recorded = 0
        self.full = threading.Event()

    def __call__(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        frames = out.shape[0]
        out.fill(0.0)
        out[:, 0] = self.tone[self.position:self.position + frames]
        self.position = (self.position + frames) % RATE  # 1 s of a 1 kHz tone is whole cycles
        self.blocks += 1
        if self.record_from is not None and self.blocks >= self.record_from and not self.full.is_set():
            end = min(self.recorded + frames, self.recording.size)
            self.recording[self.recorded:end] = inp[: end - self.recorded, 1]
            self.recorded = end
            if end == self.recording.size:
                self.full.set()


@pytest.mark.parametrize(("inputs", "outputs"), [(8, 8), (2, 1)])
def test_loopback_tone_arrives_at_its_level(portaudio_backend, jack_server, opened, inputs, outputs):
    loop = Loopback()
    opened(portaudio_backend, spec(inputs=inputs, outputs=outputs), loop)
    wait_for(lambda: ("system:capture_2", "PortAudio:in_1") in jack_server.connections())
    jack_server.disconnect("system:capture_2", "PortAudio:in_1")
    jack_server.connect("PortAudio:out_0", "PortAudio:in_1")
    loop.record_from = loop.blocks + 10  # the new connection is in the graph by then
    assert loop.full.wait(5)
    level = tone_level_dbfs(loop.recording, TONE_HZ, RATE)
    assert level == pytest.approx(20 * np.log10(TONE_AMPLITUDE), abs=0.1)


def test_status_flags_arrive_as_ints(portaudio_backend, opened):
    overrun = threading.Event()
    blocks = Blocks(wanted=60)

    def slow_once(inp, out, status):
        blocks(inp, out, status)
        if blocks.count == 20:
            overrun.wait(0.02)  # seven JACK periods: the server reports an xrun

    opened(portaudio_backend, spec(), slow_once)
    assert blocks.done.wait(5)
    flagged = [s for s in blocks.statuses if s]
    assert flagged, "no xrun reported"
    assert all(type(s) is int for s in blocks.statuses)
    assert flagged[0] & OUTPUT_UNDERFLOW and flagged[0] & INPUT_OVERFLOW  # PortAudio's JACK xrun flags


def wait_for(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        threading.Event().wait(0.02)
