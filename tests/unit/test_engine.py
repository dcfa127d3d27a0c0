"""Audio engine (callback side) and its voices: exact routing, voices, tone-remote keying with the gated
and notched voice path, clipping, counters, meters, recall columns, and no allocation at steady state."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from app.audio.engine import CLIPPED_BLOCKS, Engine
from app.audio.voices import ClipVoice, RecallVoice, ToneVoice, TrcVoice
from app.dsp import tones, trc
from app.dsp.measure import peak_frequency, tone_level_dbfs
from app.dsp.meters import FLOOR_DBFS, Meter
from app.dsp.mixplan import MixPlan, db_to_gain
from app.dsp.recall import RecallRecorder
from app.dsp.tones import SIDETONE_DB, TEST_LEVEL_DBFS, ToneGenerator
from tests.allocations import steady_state_allocations

RATE = 48_000
HLGT_N, FUNCTION_N = round(0.130 * RATE), round(0.040 * RATE)  # 6240 and 1920 samples
KEYING_N = HLGT_N + FUNCTION_N


def plan_of(g: np.ndarray, transmit: tuple[int, ...] = ()) -> MixPlan:
    G = np.ascontiguousarray(g, dtype=np.float32)
    G.flags.writeable = False
    return MixPlan(G=G, transmit_outputs=frozenset(transmit), live_transmit=frozenset(),
                   replay_gains=np.zeros(G.shape[1], dtype=np.float32))


def run(engine: Engine, signal: np.ndarray, status: int = 0) -> np.ndarray:
    """Feed (samples, n_in) through the engine block by block (zero-padded); returns (samples, n_out)."""
    frames = engine.frames
    blocks = -(-signal.shape[0] // frames)
    padded = np.zeros((blocks * frames, engine.n_in), dtype=np.float32)
    padded[:signal.shape[0]] = signal
    out = np.empty((blocks * frames, engine.n_out), dtype=np.float32)
    for b in range(blocks):
        engine.process(padded[b * frames:(b + 1) * frames], out[b * frames:(b + 1) * frames], status)
    return out[:signal.shape[0]]


def sine(freq: float, samples: int, amp: float) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(samples) / RATE)


def keying_reference(function_hz: float, samples: int, level: float = TEST_LEVEL_DBFS) -> np.ndarray:
    """HLGT + function tone, then the LLGT repeating, as ToneGenerator renders them (float64)."""
    keying = ToneGenerator(trc.keying_sequence(function_hz, test_level_dbfs=level), RATE).render()
    hold = ToneGenerator(trc.llgt(RATE, test_level_dbfs=level).segments, RATE, repeat=True)
    rest = np.zeros(max(0, samples - keying.size), dtype=np.float32)
    hold.fill(rest)
    return np.concatenate([keying, rest])[:samples].astype(np.float64)


# ---- routing ------------------------------------------------------------------------------------


def test_output_is_the_plan_applied_to_the_inputs():
    rng = np.random.default_rng(4)
    g = rng.uniform(-0.3, 0.3, (6, 5))
    engine = Engine(6, 5, 64, RATE)
    engine.set_plan(plan_of(g))
    x = rng.uniform(-0.5, 0.5, (64 * 20, 6)).astype(np.float32)
    out = run(engine, x)
    np.testing.assert_allclose(out, x.astype(np.float64) @ np.float32(g).astype(np.float64), rtol=0, atol=1e-6)
    assert engine.counters[0] == 20 and engine.counters[1:].tolist() == [0] * 5


def test_a_new_plan_takes_effect_at_the_next_block_and_a_bad_one_is_refused():
    engine = Engine(2, 2, 32, RATE)
    x = np.ones((32, 2), dtype=np.float32) * 0.25
    assert np.all(run(engine, x) == 0.0)  # silent until the first plan
    engine.set_plan(plan_of(np.eye(2)))
    assert np.all(run(engine, x) == 0.25)
    with pytest.raises(ValueError, match=r"C-contiguous float32 \(2, 2\)"):
        engine.set_plan(plan_of(np.eye(3)))


# ---- voices -------------------------------------------------------------------------------------


def test_a_voice_reaches_the_transmit_output_at_full_level_and_the_headset_at_sidetone():
    engine = Engine(1, 3, 128, RATE)
    tx, headset = 2, 0
    tone = ToneVoice(tones.line_test_tone(seconds=10.0), RATE, max_block=128)
    engine.play(tone, {tx: 1.0, headset: db_to_gain(SIDETONE_DB)})
    out = run(engine, np.zeros((RATE // 2, 1), dtype=np.float32))
    assert tone_level_dbfs(out[:, tx], tones.TEST_TONE_HZ, RATE) == pytest.approx(TEST_LEVEL_DBFS, abs=0.01)
    assert tone_level_dbfs(out[:, headset], tones.TEST_TONE_HZ, RATE) == pytest.approx(
        TEST_LEVEL_DBFS + SIDETONE_DB, abs=0.01)
    assert np.all(out[:, 1] == 0.0)


def test_voices_finish_at_their_last_sample_and_are_reported_once():
    engine = Engine(1, 1, 100, RATE)
    short = ToneVoice([tones.Segment((1000.0,), -6.0, 0.01)], RATE, max_block=100)  # 480 samples
    gen = ToneGenerator([tones.Segment((500.0,), -6.0, 0.02)], RATE)  # a ToneGenerator is a voice too: 960 samples
    first = engine.play(short, {0: 1.0})
    second = engine.play(gen, {0: 1.0})
    out = run(engine, np.zeros((500, 1), dtype=np.float32))[:, 0]
    assert engine.finished() == [first]
    assert engine.finished() == []
    out = np.concatenate([out, run(engine, np.zeros((600, 1), dtype=np.float32))[:, 0]])
    assert engine.finished() == [second]
    want = np.zeros(1100)
    want[:480] += ToneGenerator([tones.Segment((1000.0,), -6.0, 0.01)], RATE).render()
    want[:960] += ToneGenerator([tones.Segment((500.0,), -6.0, 0.02)], RATE).render()
    np.testing.assert_allclose(out, want, rtol=0, atol=2e-7)


def test_stop_ends_a_voice_at_the_next_block_and_it_is_not_reported_as_finished():
    engine = Engine(1, 2, 64, RATE)
    alarm = engine.play(ToneVoice(tones.emergency_alarm(), RATE, repeat=True, max_block=64), {1: 0.5})
    silence = np.zeros((64, 1), dtype=np.float32)
    assert np.abs(run(engine, silence)[:, 1]).max() > 0.1
    engine.stop(alarm)
    engine.stop(alarm)  # twice, or an unknown id: ignored
    assert np.all(run(engine, silence) == 0.0)
    assert engine.finished() == []


def test_operator_only_voices_never_reach_a_transmit_output():
    engine = Engine(1, 4, 64, RATE, trc_outputs=(3,))
    engine.set_plan(plan_of(np.zeros((1, 4)), transmit=(2,)))
    clip = np.random.default_rng(1).uniform(-0.5, 0.5, RATE).astype(np.float32)
    engine.play(ClipVoice(clip), {0: 1.0, 1: 0.5, 2: 1.0, 3: 1.0}, operator_only=True)
    out = run(engine, np.zeros((6400, 1), dtype=np.float32))
    np.testing.assert_array_equal(out[:, 0], clip[:6400])
    np.testing.assert_allclose(out[:, 1], clip[:6400] * 0.5, rtol=1e-7)
    assert np.all(out[:, 2:] == 0.0)  # the plan's transmit output, and the tone-remote line
    engine.set_plan(plan_of(np.zeros((1, 4)), transmit=(1,)))  # output 1 transmits now, output 2 no longer
    out = run(engine, np.zeros((640, 1), dtype=np.float32))
    np.testing.assert_array_equal(out[:, 0], clip[6400:7040])
    np.testing.assert_array_equal(out[:, 2], clip[6400:7040])
    assert np.all(out[:, 1] == 0.0) and np.all(out[:, 3] == 0.0)


def test_play_refuses_bad_routes_short_voices_and_a_full_engine():
    engine = Engine(1, 2, 128, RATE, max_voices=2)
    with pytest.raises(ValueError, match="output 2 is outside 0..1"):
        engine.play(ClipVoice(np.zeros(10, dtype=np.float32)), {2: 1.0})
    with pytest.raises(ValueError, match="not a finite number"):
        engine.play(ClipVoice(np.zeros(10, dtype=np.float32)), {0: float("nan")})
    with pytest.raises(ValueError, match="at most 64 samples a block, blocks are 128"):
        engine.play(ToneVoice(tones.alert1(), RATE, max_block=64), {0: 1.0})
    for _ in range(2):
        engine.play(ClipVoice(np.zeros(10, dtype=np.float32)), {0: 1.0})
    with pytest.raises(ValueError, match="all 2 voice slots are playing"):
        engine.play(ClipVoice(np.zeros(10, dtype=np.float32)), {0: 1.0})
    run(engine, np.zeros((128, 1), dtype=np.float32))
    assert len(engine.finished()) == 2
    engine.play(ClipVoice(np.zeros(10, dtype=np.float32)), {0: 1.0})  # slots are free again


# ---- tone remote --------------------------------------------------------------------------------


@pytest.mark.parametrize("frames", [32, 100, 128, 441])
def test_key_trc_plays_hlgt_function_then_llgt_to_the_sample(frames):
    engine = Engine(1, 2, frames, RATE, trc_outputs=(1,))
    engine.key_trc(1, 1950.0, sidetone={0: db_to_gain(SIDETONE_DB)})
    out = run(engine, np.zeros((KEYING_N + RATE // 2, 1), dtype=np.float32))
    want = keying_reference(1950.0, out.shape[0])
    np.testing.assert_allclose(out[:, 1], want, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out[:, 0], want * db_to_gain(SIDETONE_DB), rtol=0, atol=1e-6)
    line = out[:, 1]
    hlgt, function, llgt = line[:HLGT_N], line[HLGT_N:KEYING_N], line[KEYING_N:]
    assert tone_level_dbfs(hlgt, trc.GUARD_HZ, RATE) == pytest.approx(TEST_LEVEL_DBFS + 6.0, abs=0.05)
    assert tone_level_dbfs(function, 1950.0, RATE) == pytest.approx(TEST_LEVEL_DBFS - 4.0, abs=0.05)
    assert tone_level_dbfs(llgt, trc.GUARD_HZ, RATE) == pytest.approx(TEST_LEVEL_DBFS - 24.0, abs=0.05)
    assert engine.trc_ready(1)


def test_the_voice_path_opens_when_the_keying_tones_end_and_is_notched():
    frames, mic, line = 128, 0, 2
    engine = Engine(2, 3, frames, RATE, trc_outputs=(line,))
    g = np.zeros((2, 3))
    g[mic, line] = 1.0  # the plan routes the mic to the line (the channel is keyed)
    engine.set_plan(plan_of(g, transmit=(line,)))
    samples = KEYING_N + RATE
    voice = sine(1000.0, samples, 0.3) + sine(trc.GUARD_HZ, samples, 0.3)
    x = np.zeros((samples, 2), dtype=np.float32)
    x[:, mic] = voice
    assert not engine.trc_ready(line)
    assert np.all(run(engine, x[:frames]) == 0.0)  # not keyed: nothing reaches the line
    engine.key_trc(line, 1850.0)
    ready_after = -(-KEYING_N // frames)
    readiness = []
    out = np.empty((samples - frames, 3), dtype=np.float32)
    for b in range((samples - frames) // frames):
        out[b * frames:(b + 1) * frames] = run(engine, x[(b + 1) * frames:(b + 2) * frames])
        readiness.append(engine.trc_ready(line))
    assert readiness.index(True) == ready_after - 1
    used = (samples - frames) // frames * frames
    path = out[:used, line].astype(np.float64) - keying_reference(1850.0, used)
    assert np.abs(path[:KEYING_N]).max() < 1e-6  # shut to the last keying sample
    reference = x[:frames + used, mic].astype(np.float64)
    trc.NotchFilter(RATE).process(reference)  # the per-sample notch, running from the first block on like the engine's
    np.testing.assert_allclose(path[KEYING_N:], reference[frames + KEYING_N:], rtol=0, atol=2e-6)
    settled = path[KEYING_N + RATE // 10:]
    source = voice[frames + KEYING_N + RATE // 10:frames + used]
    assert tone_level_dbfs(source, trc.GUARD_HZ, RATE) - tone_level_dbfs(settled, trc.GUARD_HZ, RATE) >= 30.0
    assert abs(tone_level_dbfs(settled, 1000.0, RATE) - tone_level_dbfs(source, 1000.0, RATE)) <= 0.5


def test_unkey_stops_the_guard_tone_and_shuts_the_line():
    engine = Engine(1, 1, 64, RATE, trc_outputs=(0,))
    engine.set_plan(plan_of(np.ones((1, 1)), transmit=(0,)))
    x = np.full((KEYING_N + 640, 1), 0.1, dtype=np.float32)
    engine.key_trc(0, "F2")
    assert np.abs(run(engine, x)[-64:, 0]).max() > 0.01  # LLGT and the (notched) mic
    engine.unkey_trc(0)
    assert not engine.trc_ready(0)
    assert np.all(run(engine, x[:640]) == 0.0)
    engine.unkey_trc(0)  # again: nothing to do
    with pytest.raises(ValueError, match="output 1 is not a tone-remote line"):
        Engine(1, 2, 64, RATE, trc_outputs=(0,)).key_trc(1, 1950.0)
    with pytest.raises(trc.ToneError, match="guard tone"):
        engine.key_trc(0, 2175.0)


# ---- clip, counters, meters, recall -------------------------------------------------------------


def test_clipping_is_clipped_and_counted():
    engine = Engine(2, 1, 32, RATE)
    engine.set_plan(plan_of(np.ones((2, 1))))
    x = np.full((32 * 3, 2), 0.9, dtype=np.float32)
    x[64:] = 0.2  # the third block does not clip
    out = run(engine, x)
    assert np.all(out[:64] == 1.0) and np.allclose(out[64:], 0.4)
    assert engine.counters[CLIPPED_BLOCKS] == 2
    run(engine, x[:32])
    assert engine.output_levels[0, 0] == pytest.approx(20 * np.log10(1.8), abs=1e-3)  # metered before the clip


def test_counters_follow_the_status_bits():
    engine = Engine(1, 1, 16, RATE)
    block = np.zeros((16, 1), dtype=np.float32)
    for status in (0, 1, 2 | 4, 8, 1 | 2 | 4 | 8, 16):  # 16 (priming output) counts nothing
        run(engine, block, status)
    assert engine.counters.tolist() == [6, 2, 2, 2, 2, 0]


def test_meters_read_what_app_dsp_meters_reads_for_inputs_and_outputs():
    rng = np.random.default_rng(8)
    engine = Engine(5, 3, 128, RATE)
    g = rng.uniform(-0.3, 0.3, (5, 3))
    engine.set_plan(plan_of(g))
    x = rng.uniform(-0.5, 0.5, (128, 5)).astype(np.float32)
    x[:, 4] = 0.0
    out = run(engine, x)
    np.testing.assert_allclose(engine.input_levels, Meter(128, 5).measure(x), rtol=0, atol=1e-4)
    np.testing.assert_allclose(engine.output_levels, Meter(128, 3).measure(out), rtol=0, atol=1e-4)
    assert engine.input_levels[:, 4].tolist() == pytest.approx([FLOOR_DBFS, FLOOR_DBFS], abs=1e-4)


def test_recall_records_only_the_recall_inputs():
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (128 * 40, 5)).astype(np.float32)
    engine = Engine(5, 1, 128, RATE, recall_inputs=(3, 1), recall_seconds=2.0)
    run(engine, x)
    direct = RecallRecorder(2, 128, 2.0)
    for b in range(40):
        direct.write(np.ascontiguousarray(x[b * 128:(b + 1) * 128, [3, 1]]))
    assert engine.recall is not None and engine.recall.written == direct.written == -(-128 * 40 // 6)
    for c in range(2):
        np.testing.assert_array_equal(engine.recall.samples(c, 0, direct.written), direct.samples(c, 0, direct.written))
    assert Engine(5, 1, 128, RATE).recall is None


def test_a_rate_recall_cannot_use_is_a_clear_error():
    with pytest.raises(ValueError, match="multiple of 8000 Hz.*44100 Hz is not"):
        Engine(2, 2, 128, 44_100, recall_inputs=(0,))
    Engine(2, 2, 128, 44_100)  # without recall the engine runs at any rate


# ---- allocation ---------------------------------------------------------------------------------


def test_process_allocates_nothing_with_everything_running():
    frames = 128
    engine = Engine(8, 6, frames, RATE, recall_inputs=(0, 1, 2, 3), recall_seconds=1.0, trc_outputs=(4, 5))
    g = np.random.default_rng(2).uniform(0, 0.2, (8, 6))
    engine.set_plan(plan_of(g, transmit=(3, 4, 5)))
    engine.key_trc(4, 1950.0, sidetone={0: 0.25})
    engine.key_trc(5, 1750.0, sidetone={1: 0.25})
    engine.play(ToneVoice(tones.alert2(), RATE, repeat=True, max_block=frames), {3: 1.0, 0: 0.25})
    engine.play(ToneVoice(tones.dtmf("0123456789"), RATE, repeat=True, max_block=frames), {2: 0.5})
    engine.play(ToneGenerator(tones.alert3(), RATE, repeat=True), {1: 0.5})
    replay = np.random.default_rng(3).uniform(-0.2, 0.2, RATE * 10).astype(np.float32)
    engine.play(ClipVoice(replay), {0: 1.0, 1: 1.0, 3: 1.0}, operator_only=True)
    inp = np.random.default_rng(4).uniform(-0.4, 0.4, (frames, 8)).astype(np.float32)
    out = np.empty((frames, 6), dtype=np.float32)
    # Warm up past the end of the keying and the first segment boundaries, so NumPy's small caches
    # (array dimensions) have met every shape the callback makes; then 1000 traced blocks, in which
    # tones cross many segment boundaries and the 1 s recall ring wraps twice.
    found = steady_state_allocations(lambda: engine.process(inp, out, 1), warmup=400)
    assert found.grown == []
    assert found.peak_bytes < 2048  # transient views, ints and reduce iterators; one output block is 3 KB
    assert engine.trc_ready(4) and engine.counters[0] == 1400


# ---- voices -------------------------------------------------------------------------------------

MIXED = tones.alert2(pairs=2) + tones.dtmf("5#") + tones.alert3(pulses=2) + tones.qc2_page("1", "23")


@pytest.mark.parametrize("block", [1, 7, 64, 128, 1000])
@pytest.mark.parametrize("repeat", [False, True])
def test_tone_voice_renders_what_tone_generator_renders(block, repeat):
    reference = ToneGenerator(MIXED, RATE, repeat=repeat, gain_db=-3.0)
    total = reference.total_samples + 5000
    want = np.zeros(total, dtype=np.float32)
    reference.fill(want)
    voice = ToneVoice(MIXED, RATE, repeat=repeat, gain_db=-3.0, max_block=block)
    got = np.full(total, 7.0, dtype=np.float32)  # fill must overwrite everything
    for start in range(0, total, block):
        voice.fill(got[start:start + block])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert voice.done is not repeat
    mixed = np.full(total, 0.25, dtype=np.float32)
    again = ToneVoice(MIXED, RATE, repeat=repeat, gain_db=-3.0, max_block=block)
    for start in range(0, total, block):
        again.fill(mixed[start:start + block], add=True)
    np.testing.assert_allclose(mixed, want + 0.25, rtol=0, atol=1e-6)


def test_tone_voice_levels_and_frequency():
    out = np.zeros(RATE, dtype=np.float32)
    ToneVoice(tones.line_test_tone(), RATE, max_block=RATE).fill(out)
    assert tone_level_dbfs(out, tones.TEST_TONE_HZ, RATE) == pytest.approx(TEST_LEVEL_DBFS, abs=0.01)
    assert peak_frequency(out, RATE) == pytest.approx(tones.TEST_TONE_HZ, abs=0.05)
    with pytest.raises(ValueError, match="longer than max_block 64"):
        ToneVoice(tones.alert1(), RATE, max_block=64).fill(np.zeros(65, dtype=np.float32))


def test_clip_voice_plays_once_then_silence():
    clip = ClipVoice(np.arange(1, 11, dtype=np.float32))
    out = np.full(4, 9.0, dtype=np.float32)
    seen = []
    for _ in range(4):
        clip.fill(out)
        seen += out.tolist()
    assert seen == [*range(1, 11), 0, 0, 0, 0, 0, 0] and clip.done and clip.position == 10
    with pytest.raises(ValueError, match="one channel"):
        ClipVoice(np.zeros((4, 2), dtype=np.float32))


def test_trc_voice_switches_to_the_guard_tone_at_the_exact_sample():
    voice = TrcVoice(1950.0, RATE, max_block=1000)
    assert voice.keying_left == KEYING_N and not voice.ready
    out = np.zeros(KEYING_N + 3000, dtype=np.float32)
    for start in range(0, out.size, 1000):
        voice.fill(out[start:start + 1000])
    assert voice.ready and not voice.done
    np.testing.assert_allclose(out, keying_reference(1950.0, out.size), rtol=0, atol=1e-6)


def test_voices_fill_without_allocating():
    voices = [ToneVoice(MIXED, RATE, repeat=True, max_block=128), TrcVoice(1550.0, RATE, max_block=128),
              ClipVoice(np.zeros(RATE * 5, dtype=np.float32))]
    row = np.zeros(128, dtype=np.float32)

    def step() -> None:
        for v in voices:
            v.fill(row)
            v.fill(row, add=True)

    found = steady_state_allocations(step)
    assert found.grown == []


def test_a_recall_voice_fills_without_allocating():
    voice = RecallVoice(np.full(8000 * 5, 1000, dtype=np.int16), RATE, max_block=128)
    row = np.zeros(128, dtype=np.float32)

    def step() -> None:
        voice.fill(row)
        voice.fill(row, add=True)

    assert steady_state_allocations(step).grown == []


def test_the_engine_and_voices_load_no_qt():
    code = ("import sys, json, app.audio.engine, app.audio.voices; "
            "print(json.dumps([m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]))")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_a_mix_sent_to_the_audio_process_plays_the_same_and_voices_go_across_once():
    """The console's engine publishes mixes; the audio process's engine adopts them (pickled, as
    app/audio/process.py sends them) and renders exactly what the console's own callback would."""
    import pickle

    from app.audio.engine import outgoing_mix
    from app.audio.voices import ToneVoice
    from app.dsp.tones import alert2

    frames, rate = 128, 48000
    sent_mixes = []
    console = Engine(2, 3, frames, rate, trc_outputs=(2,), publish=sent_mixes.append)
    reference = Engine(2, 3, frames, rate, trc_outputs=(2,))
    # The audio process's engine writes the console's arrays (shared memory in real life).
    remote = Engine(2, 3, frames, rate, trc_outputs=(2,), buffers=console.buffers)
    sent: set[int] = set()

    def deliver() -> None:
        for mix in sent_mixes:
            remote.adopt(pickle.loads(pickle.dumps(outgoing_mix(mix, sent))))
        sent_mixes.clear()

    inp = np.random.default_rng(5).standard_normal((frames, 2)).astype(np.float32) * 0.1
    out_ref, out_remote = np.zeros((frames, 3), np.float32), np.zeros((frames, 3), np.float32)
    for engine in (console, reference):
        engine.play(ToneVoice(alert2(), rate, max_block=frames), {0: 0.5, 1: 0.25})
        engine.key_trc(2, "F1")
    deliver()
    keying_blocks = -(-round(0.170 * rate) // frames)  # 130 ms HLGT + 40 ms function tone
    for block in range(keying_blocks + 5):
        assert console.trc_ready(2) == (block >= keying_blocks), f"block {block}"
        reference.process(inp, out_ref)
        remote.process(inp, out_remote)
        np.testing.assert_array_equal(out_remote, out_ref, err_msg=f"block {block}")
        if block == 10:  # a new plan: the playing voices are named by id only and keep their phase
            console.set_plan(reference.plan)
            assert all(voice is None for _, _, voice in outgoing_mix(sent_mixes[-1], set(sent)).voices)
            deliver()
    assert console.trc_ready(2)  # the keying state came back through the shared arrays
    np.testing.assert_array_equal(console.output_levels, reference.output_levels)


def test_a_stopped_clip_is_freed_by_the_control_side_not_in_the_next_block(monkeypatch):
    import gc
    import weakref

    import app.audio.engine as engine_module

    engine = Engine(1, 1, 128, RATE)
    clip = ClipVoice(np.zeros(RATE * 20, dtype=np.float32))  # 20 s: freeing it is a munmap
    gone = weakref.ref(clip)
    voice_id = engine.play(clip, {0: 1.0})
    del clip
    run(engine, np.zeros((128, 1), dtype=np.float32))
    engine.stop(voice_id)
    gc.collect()
    # The callback may still be in a block with the old mix: it must not hold the last reference.
    assert gone() is not None
    monkeypatch.setattr(engine_module, "RETIRE_S", 0.0)
    engine.set_plan(plan_of(np.ones((1, 1), dtype=np.float32)))  # the next swap, a while later
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize("rate,block", [(48000, 128), (48000, 256), (16000, 64), (8000, 32), (48000, 100)])
def test_a_recall_replay_plays_what_upsample_gives_block_by_block(rate, block):
    import pickle

    from app.dsp.recall import upsample

    held = (np.random.default_rng(rate + block).uniform(-1, 1, 3001) * 30000).astype(np.int16)
    want = upsample(held, rate)
    # As the audio process gets it: pickled (the 8 kHz samples go, the upsampling bank is made there).
    voice = pickle.loads(pickle.dumps(RecallVoice(held, rate, max_block=block)))
    assert len(pickle.dumps(voice)) < held.nbytes + 1000
    got, out = [], np.zeros(block, dtype=np.float32)
    while not voice.done:
        voice.fill(out)
        got.append(out.copy())
    played = np.concatenate(got)
    np.testing.assert_allclose(played[:want.size], want, rtol=0, atol=2e-6)
    assert not played[want.size:].any()  # the last block is padded with silence
    added = np.ones(block, dtype=np.float32)
    RecallVoice(held, rate, max_block=block).fill(added, add=True)
    np.testing.assert_allclose(added, 1.0 + want[:block], rtol=0, atol=2e-6)
