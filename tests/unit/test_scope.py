"""The scope tap (one engine column at full rate, written by the callback) and the spectrum in dBFS."""

from __future__ import annotations

import math
import multiprocessing

import numpy as np
import pytest

from app.audio.buffers import SharedBuffers
from app.audio.engine import Engine
from app.audio.scope import (
    RecallScope,
    rms_dbfs,
    scope_capacity,
    spectrum_dbfs,
)
from app.audio.voices import ToneVoice
from app.dsp import tones
from app.dsp.mixplan import MixPlan
from tests.allocations import steady_state_allocations

RATE, FRAMES = 48_000, 128


def plan_of(g: np.ndarray) -> MixPlan:
    G = np.ascontiguousarray(g, dtype=np.float32)
    G.flags.writeable = False
    return MixPlan(G=G, transmit_outputs=frozenset(), live_transmit=frozenset(),
                   replay_gains=np.zeros(G.shape[1], dtype=np.float32))


def sine(hz: float, n: int, level: float = 0.5, start: int = 0) -> np.ndarray:
    t = np.arange(start, start + n) / RATE
    return (level * np.sin(2 * math.pi * hz * t)).astype(np.float32)


def feed(engine: Engine, column_signal: dict[int, np.ndarray], blocks: int, start: int = 0) -> None:
    out = np.empty((FRAMES, engine.n_out), dtype=np.float32)
    for b in range(blocks):
        inp = np.zeros((FRAMES, engine.n_in), dtype=np.float32)
        for col, sig in column_signal.items():
            inp[:, col] = sig[(start + b) * FRAMES:(start + b + 1) * FRAMES]
        engine.process(inp, out)


def test_tap_is_off_until_a_column_is_chosen_then_holds_exactly_that_column():
    engine = Engine(3, 2, FRAMES, RATE)
    a, b = sine(500.0, FRAMES * 40), sine(1500.0, FRAMES * 40, 0.25)
    feed(engine, {0: a, 2: b}, 5)
    assert engine.scope.written == 0 and engine.scope.snapshot(50).samples.size == 0
    engine.scope.select_input(2)
    feed(engine, {0: a, 2: b}, 10, start=5)
    snap = engine.scope.snapshot(1000)  # asks for more than there is: what came since the choice
    assert snap.samples.shape == (10 * FRAMES,) and snap.samplerate == RATE
    np.testing.assert_array_equal(snap.samples, b[5 * FRAMES:15 * FRAMES])
    np.testing.assert_array_equal(engine.scope.snapshot(1.0).samples, b[15 * FRAMES - 48:15 * FRAMES])


def test_tap_on_an_output_sees_the_clipped_mix_and_a_voice():
    engine = Engine(1, 2, FRAMES, RATE)
    engine.set_plan(plan_of(np.array([[0.0, 4.0]])))  # input 0 to output 1 at +12 dB: it clips
    engine.play(ToneVoice(tones.line_test_tone(), RATE, repeat=True, max_block=FRAMES), {0: 1.0})
    engine.scope.select_output(1)
    feed(engine, {0: sine(300.0, FRAMES * 20, 0.5)}, 20)
    assert float(np.max(engine.scope.snapshot(50).samples)) == 1.0  # what the device got, not the mix
    engine.scope.select_output(0)
    feed(engine, {0: np.zeros(FRAMES * 100, dtype=np.float32)}, 100)
    spectrum = spectrum_dbfs(engine.scope.snapshot(250).samples, RATE)
    hz, level = spectrum.peak()
    assert hz == pytest.approx(1004.0, abs=1.0)
    assert level == pytest.approx(tones.TEST_LEVEL_DBFS, abs=0.5)  # a sine's peak at its level


def test_ring_wraps_and_a_new_choice_starts_afresh():
    engine = Engine(2, 0, FRAMES, RATE)
    capacity = engine.scope.capacity
    assert capacity == scope_capacity(RATE) == RATE
    blocks = capacity // FRAMES + 7  # wraps (48000 is not a multiple of 128: a block straddles the end)
    ramp = (np.arange(blocks * FRAMES) % 30011 / 30011).astype(np.float32)
    engine.scope.select(0)
    feed(engine, {0: ramp}, blocks)
    np.testing.assert_array_equal(engine.scope.snapshot(1000).samples, ramp[-capacity:])
    engine.scope.select(1)
    feed(engine, {0: ramp, 1: -ramp}, 3)
    np.testing.assert_array_equal(engine.scope.snapshot(1000).samples, -ramp[:3 * FRAMES])
    engine.scope.select(None)
    feed(engine, {0: ramp}, 3)
    assert engine.scope.snapshot(10).samples.size == 0


def test_bad_columns_are_refused_by_name():
    scope = Engine(2, 3, FRAMES, RATE).scope
    with pytest.raises(ValueError, match="column 5 is outside 0..4"):
        scope.select(5)
    with pytest.raises(ValueError, match="output 3 is outside 0..2"):
        scope.select_output(3)
    with pytest.raises(ValueError, match="input -1"):
        scope.select_input(-1)


def test_process_with_the_tap_on_allocates_nothing():
    engine = Engine(8, 6, FRAMES, RATE, recall_inputs=(0, 1), recall_seconds=1.0)
    engine.set_plan(plan_of(np.random.default_rng(1).uniform(0, 0.2, (8, 6))))
    engine.play(ToneVoice(tones.alert2(), RATE, repeat=True, max_block=FRAMES), {3: 1.0})
    engine.scope.select_output(3)
    inp = np.random.default_rng(4).uniform(-0.4, 0.4, (FRAMES, 8)).astype(np.float32)
    out = np.empty((FRAMES, 6), dtype=np.float32)
    found = steady_state_allocations(lambda: engine.process(inp, out), warmup=400)  # the ring wraps 2x+
    assert found.grown == []
    assert found.peak_bytes < 2048
    assert engine.scope.written == 1400 * FRAMES


def _audio_side(name: str, layout, select_seen: multiprocessing.Event, go: multiprocessing.Event) -> None:
    """Another process running the callback on the shared buffers (as app/audio/host.py does)."""
    shared = SharedBuffers.attach(layout, name)
    engine = Engine(layout.n_in, layout.n_out, FRAMES, RATE, buffers=shared.buffers)
    inp = np.zeros((FRAMES, layout.n_in), dtype=np.float32)
    inp[:, 1] = 0.5
    out = np.empty((FRAMES, layout.n_out), dtype=np.float32)
    go.wait(10)
    for _ in range(50):
        engine.process(inp, out)
    select_seen.set()
    shared.close()


def test_the_choice_and_the_samples_cross_processes_through_shared_memory():
    layout = Engine.layout_for(2, 1, RATE)
    shared = SharedBuffers.create(layout)
    try:
        here = Engine(2, 1, FRAMES, RATE, buffers=shared.buffers)  # the console's control side
        here.scope.select_input(1)
        context = multiprocessing.get_context("spawn")
        done, go = context.Event(), context.Event()
        process = context.Process(target=_audio_side, args=(shared.name, layout, done, go))
        process.start()
        go.set()
        assert done.wait(30)
        process.join(10)
        snap = here.scope.snapshot(1000)
        assert snap.samples.shape == (50 * FRAMES,) and np.all(snap.samples == 0.5)
    finally:
        shared.close()


def test_recall_scope_reads_a_radio_at_8_khz():
    engine = Engine(2, 1, FRAMES, RATE, recall_inputs=(1,), recall_seconds=2.0)
    feed(engine, {1: sine(1000.0, FRAMES * 200, 0.5)}, 200)
    snap = RecallScope(engine.recall, 0).snapshot(250)
    assert snap.samplerate == 8000 and snap.samples.shape == (2000,)
    hz, level = spectrum_dbfs(snap.samples, 8000).peak()
    assert hz == pytest.approx(1000.0, abs=2.0) and level == pytest.approx(-6.0, abs=0.7)
    assert rms_dbfs(snap.samples) == pytest.approx(-9.0, abs=0.5)


def test_spectrum_of_silence_and_of_too_little():
    assert spectrum_dbfs(np.zeros(4096, dtype=np.float32), RATE).dbfs.max() == -140.0
    assert spectrum_dbfs(np.zeros(4, dtype=np.float32), RATE).freqs.size == 0
    with pytest.raises(ValueError, match="sample rate"):
        spectrum_dbfs(np.zeros(100), 0)
