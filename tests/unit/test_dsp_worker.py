from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from app.audio.dsp_worker import MAX_FAILURES, DecodeInput, DspWorker
from app.dsp.mdc1200 import encode_mdc1200
from app.dsp.recall import RecallRecorder
from app.dsp.signaling import make_decoder
from hardware.events import SignalDecoded

RATE = 48_000
FRAMES = 128


def _write(recorder: RecallRecorder, columns: np.ndarray) -> None:
    """Push (n, channels) float32 audio at 48 kHz through the recorder as the callback would."""
    n = columns.shape[0] - columns.shape[0] % FRAMES
    for start in range(0, n, FRAMES):
        recorder.write(np.ascontiguousarray(columns[start:start + FRAMES], dtype=np.float32))


def _two_channels(first: np.ndarray, seconds: float = 1.5) -> np.ndarray:
    block = np.zeros((int(RATE * seconds), 2), dtype=np.float32)
    block[int(0.2 * RATE):int(0.2 * RATE) + len(first), 0] = first
    return block


def test_an_mdc1200_id_on_one_channel_is_reported_for_that_radio_only() -> None:
    recorder = RecallRecorder(2, FRAMES, seconds=5.0, rate=RATE)
    got: list[SignalDecoded] = []
    worker = DspWorker(recorder, [DecodeInput("fire", 0, ("mdc1200",)), DecodeInput("ems", 1, ("mdc1200", "dtmf"))],
                       got.append)
    _write(recorder, _two_channels(np.ones(RATE, dtype=np.float32) * 0.1))  # before start: not decoded
    worker.poll()
    burst = encode_mdc1200(0x01, 0x80, "1101", samplerate=RATE)
    for _ in range(3):
        _write(recorder, _two_channels(burst, 0.5))
        worker.poll()
    _write(recorder, np.zeros((RATE, 2), dtype=np.float32))
    worker.poll()
    assert [(e.device, e.kind, e.value["unit"], e.value["meaning"]) for e in got] == [("fire", "mdc1200", "1101", "PTT ID")] * 3
    assert got[0].t <= got[1].t <= got[2].t


class _Broken:
    def __init__(self, fail_times: int) -> None:
        self.fail_times = fail_times

    def feed(self, block: np.ndarray) -> list:
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("boom")
        return []

    def flush(self) -> list:
        return []


def test_a_failing_decoder_is_logged_by_channel_and_kind_and_the_others_keep_decoding(caplog) -> None:
    recorder = RecallRecorder(1, FRAMES, seconds=5.0, rate=RATE)
    made: list[str] = []

    def factory(kind: str, rate: int, **options):
        made.append(kind)
        return _Broken(10**6) if kind == "dtmf" else make_decoder(kind, rate, **options)

    got: list[SignalDecoded] = []
    worker = DspWorker(recorder, [DecodeInput("pd-north", 0, ("dtmf", "mdc1200"))], got.append, factory=factory)
    worker.poll()
    burst = encode_mdc1200(0x00, 0x81, "2222", samplerate=RATE)
    with caplog.at_level(logging.ERROR, logger="app.audio.dsp_worker"):
        for _ in range(MAX_FAILURES + 2):
            _write(recorder, _two_channels(burst, 0.6)[:, :1])
            worker.poll()
        _write(recorder, np.zeros((RATE, 1), dtype=np.float32))
        worker.poll()
    failures = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert len(failures) == MAX_FAILURES
    assert all("dtmf decoder on pd-north" in m for m in failures)
    assert any("switched off" in r.getMessage() for r in caplog.records)
    assert made.count("dtmf") == MAX_FAILURES  # first one, then a fresh one after each failure but the last
    assert len(got) == MAX_FAILURES + 2 and all(e.value["unit"] == "2222" for e in got)


def test_falling_behind_skips_to_what_the_ring_holds(caplog) -> None:
    recorder = RecallRecorder(1, FRAMES, seconds=1.0, rate=RATE)
    worker = DspWorker(recorder, [DecodeInput("x", 0, ("dtmf",))], lambda e: None)
    worker.poll()
    _write(recorder, np.zeros((3 * RATE, 1), dtype=np.float32))
    with caplog.at_level(logging.WARNING, logger="app.audio.dsp_worker"):
        worker.poll()
    assert any("behind" in r.getMessage() for r in caplog.records)
    assert worker.samples_fed == recorder.capacity


def test_the_thread_polls_until_stopped() -> None:
    recorder = RecallRecorder(1, FRAMES, seconds=1.0, rate=RATE)
    seen = threading.Event()
    worker = DspWorker(recorder, [DecodeInput("x", 0, ("mdc1200",))], lambda e: seen.set(), period_s=0.005)
    worker.start()
    try:
        _write(recorder, _two_channels(encode_mdc1200(0x01, 0x80, "1234", samplerate=RATE), 0.8)[:, :1])
        assert seen.wait(5.0)
    finally:
        assert worker.stop(2.0)
    assert worker.polls > 0


@pytest.mark.parametrize("text", ["HELLO 911"])
def test_tty_characters_are_reported_as_they_arrive(text: str) -> None:
    from app.dsp.baudot import encode_tty

    recorder = RecallRecorder(1, FRAMES, seconds=10.0, rate=RATE)
    got: list[SignalDecoded] = []
    worker = DspWorker(recorder, [DecodeInput("phone", 0, ("tty",))], got.append)
    worker.poll()
    signal = encode_tty(text, samplerate=RATE)
    audio = np.zeros((len(signal) + RATE, 1), dtype=np.float32)
    audio[:len(signal), 0] = signal
    for start in range(0, len(audio), RATE // 10):
        _write(recorder, audio[start:start + RATE // 10])
        worker.poll()
    chars = "".join(e.value for e in got if e.extra.get("live") == "char")
    carriers = [e.extra["carrier"] for e in got if e.extra.get("live") == "carrier"]
    assert chars == text
    assert carriers == [True, False]
    assert [e.value for e in got if "live" not in e.extra] == [text]
