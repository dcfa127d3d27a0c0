"""The clock-driven null audio device, the backend factory and the stream spec (no sound hardware needed)."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import pytest

from hardware.audio.base import OUTPUT_UNDERFLOW, AudioDeviceError, StreamSpec, open_backend
from hardware.audio.null_backend import BlockDeadlines

RATE = 48000
BLOCK = 480  # 10 ms: long enough that a loaded machine does not wake a whole period late by accident
PERIOD = BLOCK / RATE
F32 = np.dtype(np.float32)


def spec(device: str = "", inputs: int = 4, outputs: int = 2, blocksize: int = BLOCK) -> StreamSpec:
    return StreamSpec(device=device, samplerate=RATE, blocksize=blocksize, latency="low", inputs=inputs, outputs=outputs)


class Recorder:
    """An engine callback that notes when it ran and what it got, and signals after ``wanted`` blocks."""

    def __init__(self, wanted: int, on_block=None) -> None:
        self.wanted = wanted
        self.times: list[float] = []
        self.statuses: list[int] = []
        self.shapes: set[tuple] = set()
        self.inputs: list[np.ndarray] = []
        self.done = threading.Event()
        self.on_block = on_block

    def __call__(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        self.times.append(time.monotonic())
        self.statuses.append(status)
        self.shapes.add((inp.shape, out.shape, inp.dtype, out.dtype, out.flags.c_contiguous, out.flags.writeable))
        self.inputs.append(inp.copy())
        out.fill(1.0)  # discarded by the device
        if self.on_block is not None:
            self.on_block(len(self.times))
        if len(self.times) >= self.wanted:
            self.done.set()


@pytest.fixture
def run_stream():
    streams = []

    def run(recorder: Recorder, stream_spec: StreamSpec | None = None, input_source=None, timeout: float = 5.0):
        stream = open_backend("null", input_source=input_source).open(stream_spec or spec(), recorder)
        streams.append(stream)
        stream.start()
        assert recorder.done.wait(timeout), f"only {len(recorder.times)} of {recorder.wanted} blocks in {timeout} s"
        stream.close()
        return stream

    yield run
    for stream in streams:
        stream.close()


def test_blocks_come_at_the_clock_rate_with_the_spec_shape(run_stream):
    recorder = Recorder(wanted=60)
    run_stream(recorder)
    intervals = np.diff(recorder.times[:60])
    # The median, because a loaded machine may wake late now and then; the exact schedule is checked below.
    assert float(np.median(intervals)) == pytest.approx(PERIOD, rel=0.05)
    assert recorder.shapes == {((BLOCK, 4), (BLOCK, 2), F32, F32, True, True)}


def test_deadlines_are_absolute_so_callback_time_does_not_add_up():
    clock = BlockDeadlines(PERIOD, start=100.0)
    now = 100.0
    for block in range(1, 60):
        now += clock.wait(now)  # the thread sleeps exactly as long as told
        assert clock.due(now) == 0
        assert now == pytest.approx(100.0 + block * PERIOD)
        now += 0.4 * PERIOD  # the callback's own run time
    assert clock.deadline == pytest.approx(100.0 + 60 * PERIOD)


def test_a_wake_within_a_period_is_on_time_and_keeps_the_schedule():
    clock = BlockDeadlines(PERIOD, start=0.0)
    assert clock.due(PERIOD + 0.9 * PERIOD) == 0  # late but within the device's buffer
    assert clock.wait(1.9 * PERIOD) == pytest.approx(0.1 * PERIOD)  # the next block still comes at 2 periods


def test_a_wake_more_than_a_period_late_underflows_once_and_reanchors():
    clock = BlockDeadlines(PERIOD, start=0.0)
    late = PERIOD + 3.5 * PERIOD
    assert clock.due(late) == OUTPUT_UNDERFLOW
    # No burst of catch-up blocks: the next is a whole period after the late one.
    assert clock.wait(late) == pytest.approx(PERIOD)
    assert clock.due(late + PERIOD) == 0


def test_inputs_are_silence_unless_the_source_fills_them(run_stream):
    silent = Recorder(wanted=3)
    run_stream(silent)
    assert all(not block.any() for block in silent.inputs)

    calls = []

    def radios(inp: np.ndarray) -> None:
        calls.append(inp.shape)
        if len(calls) == 1:
            inp[:, 3] = 0.75  # only the first block: the next must be silent again
        inp[:, 1] = len(calls) / 100

    filled = Recorder(wanted=3)
    run_stream(filled, input_source=radios)
    first, second = filled.inputs[:2]
    assert calls[0] == (BLOCK, 4)
    assert np.all(first[:, 1] == np.float32(0.01)) and np.all(first[:, 3] == 0.75)
    assert np.all(second[:, 1] == np.float32(0.02)) and not second[:, 3].any()
    assert not first[:, 0].any() and not first[:, 2].any()


def test_a_callback_that_overruns_makes_the_device_flag_underflow(run_stream):
    held = threading.Event()

    def slow_once(block: int) -> None:
        if block == 5:
            held.wait(3.5 * PERIOD)  # the callback overruns: the device's next deadline passes

    recorder = Recorder(wanted=12, on_block=slow_once)
    run_stream(recorder)
    assert recorder.statuses[5] & OUTPUT_UNDERFLOW, recorder.statuses


def test_device_list_latency_and_device_lookup():
    backend = open_backend("null")
    (device,) = backend.devices()
    assert (device.index, device.name, device.max_inputs, device.max_outputs) == (0, "null", 64, 64)
    for name in ("", "NULL", "0"):
        stream = backend.open(spec(device=name, inputs=64, outputs=64, blocksize=256), Recorder(1))
        assert stream.device_name == "null"
        assert stream.latency == (0.0, 256 / RATE)
        assert not stream.active  # not started
        stream.close()
    with pytest.raises(AudioDeviceError, match=r"'headset'.*null"):
        backend.open(spec(device="headset"), Recorder(1))
    with pytest.raises(AudioDeviceError, match="index 3"):
        backend.open(spec(device="3"), Recorder(1))
    with pytest.raises(AudioDeviceError, match="65 input"):
        backend.open(spec(inputs=65), Recorder(1))


def test_a_callback_that_raises_stops_the_stream():
    stream = open_backend("null").open(spec(), _raise)
    stream.start()
    deadline = time.monotonic() + 2
    while stream.active and time.monotonic() < deadline:
        threading.Event().wait(PERIOD)
    assert not stream.active
    stream.close()
    stream.close()  # idempotent


def _raise(inp, out, status):
    raise RuntimeError("engine broke")


def test_one_way_streams_get_an_empty_other_side(run_stream):
    receive_only = Recorder(wanted=2)
    run_stream(receive_only, spec(inputs=2, outputs=0))
    assert receive_only.shapes == {((BLOCK, 2), (BLOCK, 0), F32, F32, True, True)}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(inputs=0, outputs=0), "at least one input or output"),
        (dict(inputs=-1), ">= 0"),
        (dict(samplerate=0), "samplerate 0"),
        (dict(blocksize=0), "blocksize 0"),
        (dict(latency="medium"), "'medium'"),
        (dict(latency=0.0), "latency 0.0"),
    ],
)
def test_stream_spec_rejects_what_no_device_can_do(kwargs, message):
    fields = dict(device="usb", samplerate=RATE, blocksize=BLOCK, latency="low", inputs=2, outputs=2) | kwargs
    with pytest.raises(ValueError, match=message) as error:
        StreamSpec(**fields)
    assert "'usb'" in str(error.value)


def test_unknown_backend_is_named():
    with pytest.raises(AudioDeviceError, match=r"'portaudio'.*sounddevice, pyaudio, null"):
        open_backend("portaudio")


def test_supervisor_callback_wrapper_allocates_nothing():
    from hardware.audio.supervisor import AudioSupervisor
    from tests.allocations import steady_state_allocations

    def engine(inp, out, status):
        out.fill(0.5)

    supervisor = AudioSupervisor(open_backend("null"), spec(), engine, queue.SimpleQueue().put)
    inp = np.ones((BLOCK, 4), dtype=np.float32)
    out = np.zeros((BLOCK, 2), dtype=np.float32)
    baseline = steady_state_allocations(lambda: None).peak_bytes
    wrapped = steady_state_allocations(lambda: supervisor._on_block(inp, out, 0))
    assert supervisor.blocks == 1020
    assert wrapped.peak_bytes - baseline < 512  # a few transient scalars at most, nothing per block kept
