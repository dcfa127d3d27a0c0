"""The audio callback's processing time per block (pure; no Qt): ``dispatch-console bench audio``.

Each configuration builds the engine a busy position runs: half the inputs are radio receive
channels (every other one selected, split between headset and unselect speaker), a phone call in
the headset, a patch, two tone-remote lines keyed (HLGT and function tone done, LLGT held, the mic
notched onto them), an alert on a conventional transmitter and DTMF on the phone line (each with
sidetone), a recall replay in the headset, instant recall on every radio input, and the meters.
It then times ``Engine.process`` on noise blocks made beforehand, with ``perf_counter_ns``.

The reference figure is a bare ``inp @ G`` matmul of the same shapes timed the same way in the same
process, so a figure from another machine can be compared as a ratio.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

import numpy as np

from app.audio.engine import CLIPPED_BLOCKS, Engine
from app.audio.voices import RecallVoice, ToneVoice
from app.calls.stats import nearest_rank
from app.dsp import tones
from app.dsp.mixplan import ChannelState, Endpoints, MixState, PhoneState, compute_plan, db_to_gain
from app.dsp.recall import OUT_RATE

INPUTS = (8, 16, 32)
BLOCKSIZES = (64, 128, 256)
OUTPUTS = 8
SAMPLERATE = 48_000
FEEDS = 8  # distinct noise blocks, cycled
# Output columns of the bench position.
HEADSET_L, HEADSET_R, SELECT_SPK, UNSELECT_SPK, PHONE_TX, TRC_A, TRC_B, RADIO_TX = range(8)


def realistic_engine(inputs: int, outputs: int, blocksize: int, samplerate: int, *,
                     replay_seconds: float) -> Engine:
    """An engine with everything a busy position runs at once (see the module docstring)."""
    if outputs < 8 or inputs < 4:
        raise ValueError(f"bench audio: needs at least 4 inputs and 8 outputs, got {inputs} and {outputs}")
    radios = inputs // 2
    names = [f"R{k + 1}" for k in range(radios)]
    ep = Endpoints(
        n_in=inputs, n_out=outputs,
        radio_rx={name: k for k, name in enumerate(names)},
        radio_tx={names[0]: TRC_A, names[1]: TRC_B, names[2]: RADIO_TX},
        phone_rx=radios, phone_tx=PHONE_TX, headset_mics=(radios + 1,), desk_mic=radios + 2,
        headset_left=HEADSET_L, headset_right=HEADSET_R, select_speaker=SELECT_SPK, unselect_speaker=UNSELECT_SPK,
    )
    channels = tuple(
        ChannelState(name=name, selected=k % 2 == 0, volume_db=-3.0 * (k % 3), pan=(k % 5 - 2) / 2.0,
                     receiving=k == 3, keyed=k in (0, 1))
        for k, name in enumerate(names)
    )
    plan = compute_plan(MixState(channels=channels, patches=((names[2], names[3]),),
                                 phone=PhoneState(call_active=True)), ep)
    engine = Engine(inputs, outputs, blocksize, samplerate, recall_inputs=tuple(range(radios)),
                    trc_outputs=(TRC_A, TRC_B))
    engine.set_plan(plan)
    sidetone = db_to_gain(tones.SIDETONE_DB)
    headset = {HEADSET_L: sidetone, HEADSET_R: sidetone}
    engine.key_trc(TRC_A, "F1", sidetone=headset)
    engine.key_trc(TRC_B, "F2", sidetone=headset)
    engine.play(ToneVoice(tones.alert2(), samplerate, repeat=True, max_block=blocksize), {RADIO_TX: 1.0, **headset})
    engine.play(ToneVoice(tones.dtmf("911#"), samplerate, repeat=True, max_block=blocksize), {PHONE_TX: 1.0, **headset})
    recorded = np.random.default_rng(7).integers(-3000, 3000, int(replay_seconds * OUT_RATE) + 1).astype(np.int16)
    replay_routes = {o: float(g) for o, g in enumerate(plan.replay_gains) if g}
    engine.play(RecallVoice(recorded, samplerate, max_block=blocksize), replay_routes, operator_only=True)
    return engine


def _time_blocks(step: Callable[[int], object], blocks: int) -> list[float]:
    """Microseconds per call of ``step(i)``, sorted."""
    times = [0] * blocks
    clock = time.perf_counter_ns
    for i in range(blocks):
        start = clock()
        step(i)
        times[i] = clock() - start
    return sorted(t / 1000.0 for t in times)


def run_audio_bench(inputs: int, outputs: int = OUTPUTS, blocksize: int = 128, samplerate: int = SAMPLERATE,
                    blocks: int = 3000) -> dict:
    """Time ``blocks`` calls of ``Engine.process`` for one configuration; figures in microseconds."""
    if blocks < 1:
        raise ValueError(f"bench audio: blocks must be at least 1, got {blocks}")
    warmup = max(100, blocks // 10)
    # The keying tones end within 170 ms; warm up past them too, so every block timed is the steady state.
    warmup = max(warmup, -(-int(0.2 * samplerate) // blocksize))
    engine = realistic_engine(inputs, outputs, blocksize, samplerate,
                              replay_seconds=(warmup + blocks) * blocksize / samplerate + 1.0)
    rng = np.random.default_rng(1)
    feeds = [rng.uniform(-0.05, 0.05, (blocksize, inputs)).astype(np.float32) for _ in range(FEEDS)]
    out = np.empty((blocksize, outputs), dtype=np.float32)
    process = engine.process
    for i in range(warmup):
        process(feeds[i % FEEDS], out)
    assert engine.trc_ready(TRC_A) and engine.trc_ready(TRC_B)
    times = _time_blocks(lambda i: process(feeds[i % FEEDS], out), blocks)
    G = engine.plan.G
    for i in range(warmup):
        np.matmul(feeds[i % FEEDS], G, out=out)
    reference = _time_blocks(lambda i: np.matmul(feeds[i % FEEDS], G, out=out), blocks)
    block_us = blocksize / samplerate * 1e6
    median = nearest_rank(times, 50)
    p99 = nearest_rank(times, 99)
    ref_median = nearest_rank(reference, 50)
    return {
        "inputs": inputs,
        "outputs": outputs,
        "blocksize": blocksize,
        "samplerate": samplerate,
        "block_us": round(block_us, 2),
        "median_us": round(median, 2),
        "p99_us": round(p99, 2),
        "max_us": round(times[-1], 2),
        "median_pct": round(100.0 * median / block_us, 2),
        "p99_pct": round(100.0 * p99 / block_us, 2),
        "reference_matmul_us": round(ref_median, 2),
        "ratio_to_reference": round(median / ref_median, 1) if ref_median > 0 else None,
        "blocks": blocks,
        "voices": len(engine.playing()),
        "recall_channels": engine.recall.channels if engine.recall is not None else 0,
        "clipped_blocks": int(engine.counters[CLIPPED_BLOCKS]),
    }


def run_all(inputs: Sequence[int] = INPUTS, blocksizes: Sequence[int] = BLOCKSIZES, outputs: int = OUTPUTS,
            samplerate: int = SAMPLERATE, blocks: int = 3000) -> dict:
    """Every configuration, as ``{"results": [...], ...}`` (the ``--json`` output)."""
    results = [run_audio_bench(n, outputs, b, samplerate, blocks) for n in inputs for b in blocksizes]
    return {"results": results, "numpy": np.__version__, "cpus": os.cpu_count()}
