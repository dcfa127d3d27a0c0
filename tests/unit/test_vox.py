"""The VOX detector on synthetic level sequences (exact times), and the poller over a meter array."""

from __future__ import annotations

import numpy as np
import pytest

from app.audio.vox import STALE_S, VoxPoller, vox_radios, without_carrier
from app.config import schema
from app.dsp.meters import FLOOR_DBFS
from app.dsp.vox import VoxDetector
from hardware.events import CarrierChanged, KeyStateChanged

STEP = 0.010  # a reading every 10 ms, as the poller reads


def run(detector: VoxDetector, levels: list[float], step: float = STEP) -> list[tuple[float, bool]]:
    """Feed ``levels`` at t = 0, step, 2 step...; the (t, state) of each edge."""
    edges = []
    for k, level in enumerate(levels):
        t = round(k * step, 9)
        edge = detector.update(level, t)
        if edge is not None:
            edges.append((t, edge))
    return edges


def test_opens_after_the_attack_time_above_the_threshold():
    vox = VoxDetector(-40.0, attack_s=0.030, hang_s=0.800)
    # Silence for 50 ms, then speech level: above since t=0.05, open at 0.08 (30 ms later), not before.
    edges = run(vox, [-90.0] * 5 + [-20.0] * 10)
    assert edges == [(0.08, True)]
    assert vox.active


def test_a_burst_shorter_than_the_attack_does_not_open():
    vox = VoxDetector(-40.0, attack_s=0.030, hang_s=0.800)
    # 20 ms above (a click), a dip, 20 ms above again: the count starts afresh after the dip.
    assert run(vox, [-10.0, -10.0, -10.0, -60.0, -10.0, -10.0, -10.0, -60.0] * 3) == []
    assert not vox.active


def test_the_threshold_itself_counts_as_above():
    vox = VoxDetector(-40.0, attack_s=0.0, hang_s=0.0)
    assert vox.update(-40.0, 0.0) is True
    assert vox.update(-40.001, 0.01) is False


def test_closes_after_the_hang_time_below_and_gaps_between_words_keep_it_open():
    vox = VoxDetector(-40.0, attack_s=0.030, hang_s=0.200)
    speech = [-20.0] * 10  # opens at t=0.03
    gap = [-70.0] * 15  # 150 ms between words: shorter than the hang
    tail = [-70.0] * 30
    edges = run(vox, speech + gap + speech + tail)
    # Last loud reading at index 34 (t=0.34); below from t=0.35; closed 200 ms later, at 0.55.
    assert edges == [(0.03, True), (0.55, False)]


def test_a_loud_reading_during_the_hang_restarts_it():
    vox = VoxDetector(-40.0, attack_s=0.0, hang_s=0.100)
    edges = run(vox, [-20.0] + [-70.0] * 9 + [-20.0] + [-70.0] * 20)
    # Opens at 0; the reading at 0.10 is loud (the hang had 90 ms); below from 0.11, closed at 0.21.
    assert edges == [(0.0, True), (0.21, False)]


def test_uneven_reading_times_use_the_clock_not_the_count():
    vox = VoxDetector(-40.0, attack_s=0.030, hang_s=0.800)
    assert vox.update(-20.0, 100.000) is None
    assert vox.update(-20.0, 100.029) is None
    assert vox.update(-20.0, 100.030) is True
    assert vox.update(-80.0, 100.500) is None
    assert vox.update(-80.0, 101.299) is None
    assert vox.update(-80.0, 101.300) is False


def test_a_nan_reading_counts_as_silence_and_reset_closes_at_once():
    vox = VoxDetector(-40.0, attack_s=0.0, hang_s=5.0)
    assert vox.update(-20.0, 0.0) is True
    assert vox.update(float("nan"), 0.01) is None  # the hang runs
    assert vox.reset() is False and not vox.active
    assert vox.reset() is None


def test_bad_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="must not be negative"):
        VoxDetector(-40.0, attack_s=-0.01)
    with pytest.raises(ValueError, match="not a number"):
        VoxDetector(float("nan"))


# ---- the poller, over a levels array as the engine writes it --------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def poller(qapp, levels: np.ndarray, counters: np.ndarray, clock: Clock, events: list) -> VoxPoller:
    radios = {"fire": (1, VoxDetector(-40.0, 0.030, 0.100)), "pd": (2, VoxDetector(-40.0, 0.030, 0.100))}
    return VoxPoller(levels, counters, radios, events.append, clock=clock)


def test_poller_reports_each_radios_carrier_from_its_own_rms_column(qapp):
    levels = np.full((2, 3), FLOOR_DBFS, dtype=np.float32)
    counters = np.zeros(6, dtype=np.int64)
    clock, events = Clock(), []
    vox = poller(qapp, levels, counters, clock, events)
    start = clock.t
    levels[0, 2] = -10.0  # a loud peak on PD but a quiet RMS: RMS decides
    levels[1, 1] = -25.0  # FIRE talks
    for _ in range(6):
        vox.poll()
        counters[0] += 4
        clock.t += STEP
    assert events == [CarrierChanged("fire", True, t=pytest.approx(start + 0.03))]
    assert vox.active("fire") and not vox.active("pd")
    levels[1, 1] = FLOOR_DBFS
    for _ in range(12):
        vox.poll()
        counters[0] += 4
        clock.t += STEP
    assert [(e.device, e.active) for e in events] == [("fire", True), ("fire", False)]


def test_poller_reads_silence_when_the_audio_callback_stops(qapp):
    levels = np.full((2, 3), FLOOR_DBFS, dtype=np.float32)
    counters = np.zeros(6, dtype=np.int64)
    clock, events = Clock(), []
    vox = poller(qapp, levels, counters, clock, events)
    levels[1, 1] = -25.0
    for _ in range(5):
        vox.poll()
        counters[0] += 4
        clock.t += STEP
    assert vox.active("fire")
    # The device is lost: the meter keeps its last (loud) reading, but no block comes.
    lost_at = clock.t
    while clock.t < lost_at + STALE_S + 0.2:
        vox.poll()
        clock.t += STEP
    assert not vox.active("fire")
    closed = events[-1]
    assert (closed.device, closed.active) == ("fire", False)
    assert closed.t == pytest.approx(lost_at + STALE_S + 0.1, abs=STEP * 1.01)


def test_poller_refuses_a_column_outside_the_meters(qapp):
    levels = np.full((2, 2), FLOOR_DBFS, dtype=np.float32)
    with pytest.raises(ValueError, match="'fire' listens on input column 5, outside the device's 0..1"):
        VoxPoller(levels, np.zeros(6, dtype=np.int64), {"fire": (5, VoxDetector())}, lambda e: None)


def test_poller_timer_runs_on_the_event_loop(qtbot):
    levels = np.full((2, 2), -20.0, dtype=np.float32)
    counters = np.zeros(6, dtype=np.int64)
    events: list = []
    vox = VoxPoller(levels, counters, {"fire": (1, VoxDetector(-40.0, 0.03, 0.1))}, events.append)
    vox.start()
    try:
        qtbot.waitUntil(lambda: len(events) == 1, timeout=2000)
        # No audio block ever comes (the counter stands still): after 100 ms it reads silence and closes.
        qtbot.waitUntil(lambda: len(events) == 2, timeout=2000)
    finally:
        vox.stop()
    assert [e.active for e in events] == [True, False]


# ---- profile -> detectors ----------------------------------------------------------------------


def test_profile_vox_settings_make_detectors_for_enabled_radios_with_a_receive_column():
    radios = [
        schema.SerialRadio(kind="serial", id="a", name="A", url="loop://", carrier_line="none", rx_input="a_rx",
                           vox=schema.Vox(enabled=True, threshold_dbfs=-35.0, attack_ms=50.0, hang_ms=1200.0)),
        schema.SimRadio(kind="sim", id="b", name="B", rx_input="b_rx"),
    ]
    found = vox_radios(radios, {"a": 4, "b": 5})
    assert list(found) == ["a"]
    column, detector = found["a"]
    assert (column, detector.threshold_dbfs, detector.attack_s, detector.hang_s) == (4, -35.0, 0.05, 1.2)


def test_vox_defaults_and_rx_input_required():
    assert schema.Vox() == schema.Vox(enabled=False, threshold_dbfs=-40.0, attack_ms=30.0, hang_ms=800.0)
    with pytest.raises(ValueError, match="vox.enabled needs an rx_input"):
        schema.SimRadio(kind="sim", id="b", name="B", vox=schema.Vox(enabled=True))


def test_without_carrier_drops_only_the_drivers_carrier():
    got: list = []
    sink = without_carrier(got.append)
    sink(CarrierChanged("a", True))
    sink(KeyStateChanged("a", True))
    assert [type(e) for e in got] == [KeyStateChanged]
