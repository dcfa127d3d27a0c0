"""The audio engine: what the sound device's callback does with each block, and the control-side
calls that change it (pure: NumPy and app.dsp only, no Qt).

One block (``process``), in order:
1. ``out = inp @ G`` for every output but the tone-remote (TRC) lines.
2. TRC lines: their voice path (``inp @ G`` for those columns) goes through the 2175 Hz notch, all
   lines in one block-filter matmul (app/dsp/blockiir.py), and is added only while the line is keyed
   and its keying tones are over (to the sample); before that the line carries the tones alone.
3. Voices (tones, keying, replay): each active voice renders into its row of a (max_voices, frames)
   buffer, and all of them reach the outputs through ONE matmul with a (max_voices, n_out) route
   matrix. Rows of stopped voices have zero routes.
4. Meters on inputs and outputs (one ``Meter`` over both), a clip counter, then the clip to [-1, 1]
   into the device's ``out``.
5. The technician's scope tap copies the one column it watches (app/audio/scope.py); instant recall
   gets the receive inputs; counters take the device's status bits.

Why no lock: everything a block reads from the control side is one immutable ``_Mix`` (plan-derived
matrices, the voice list and its route matrix, the TRC keying voices) that the control thread
replaces with one attribute assignment; ``process`` reads that attribute once per block. A change
takes effect at the next block. Voices themselves are touched only by the callback once playing
(the control side reads ``done``/``ready``, which the callback keeps in small arrays). Voices that
ended are reported back through ``_done_ids`` (slot -> id of the voice that ended there), so a slot
reused by a new voice is never mistaken for the old one.

``process`` allocates nothing at steady state (tests/unit/test_engine.py proves it with
tests/allocations.py). Cost: every NumPy call is about a microsecond whatever its size, so the work
is arranged in few calls (one matmul for all voices, one for both TRC notches, one meter over inputs
and outputs). At 32 inputs x 8 outputs x 128 frames with two lines keyed, three more voices, recall
on 16 inputs and the meters, a block takes about 45 µs on a 2-CPU machine (1.7 % of the 2.67 ms
period; ``dispatch-console bench audio`` measures it against its budget of 3 %).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from app.audio.buffers import BufferLayout, EngineBuffers
from app.audio.scope import ScopeTap, ScopeWriter, scope_capacity
from app.audio.voices import TrcVoice
from app.dsp.meters import Meter
from app.dsp.mixplan import MixPlan
from app.dsp.recall import OUT_RATE, RecallRecorder, rate_factor
from app.dsp.tones import TEST_LEVEL_DBFS
from app.dsp.trc import block_notch

# PortAudio's status flags (hardware/audio/base.py has the same values).
INPUT_UNDERFLOW, INPUT_OVERFLOW, OUTPUT_UNDERFLOW, OUTPUT_OVERFLOW = 1, 2, 4, 8
# Engine.counters columns.
BLOCKS, INPUT_UNDERFLOWS, INPUT_OVERFLOWS, OUTPUT_UNDERFLOWS, OUTPUT_OVERFLOWS, CLIPPED_BLOCKS = range(6)
# A replaced mix is kept this long by the thread that replaced it: the callback may still be in a
# block with it, and the last reference must not drop there (freeing a clip of seconds is a munmap
# in the middle of a block).
RETIRE_S = 1.0

COUNTER_NAMES = ("blocks", "input_underflow", "input_overflow", "output_underflow", "output_overflow",
                 "clipped_blocks")
_STATUS_COUNTERS = ((INPUT_UNDERFLOW, INPUT_UNDERFLOWS), (INPUT_OVERFLOW, INPUT_OVERFLOWS),
                    (OUTPUT_UNDERFLOW, OUTPUT_UNDERFLOWS), (OUTPUT_OVERFLOW, OUTPUT_OVERFLOWS))


class Voice(Protocol):
    """Anything that renders samples block by block (ToneGenerator, ToneVoice, ClipVoice, TrcVoice)."""

    @property
    def done(self) -> bool: ...

    def fill(self, out: np.ndarray, *, add: bool = False) -> None: ...


@dataclass(frozen=True, eq=False)
class _Mix:
    """Everything one block reads from the control side, published as one reference."""

    plan: MixPlan
    G: np.ndarray  # plan.G with the TRC lines' columns zeroed: their voice path goes through the notch
    G_trc: np.ndarray  # (n_in, trc lines): those columns
    voices: tuple[tuple[int, int, Voice], ...]  # (slot, voice id, voice)
    routes: np.ndarray  # (max_voices, n_out) float32: row = slot
    keyers: tuple[TrcVoice | None, ...]  # keying voice of each TRC line, None while unkeyed
    keyer_ids: tuple[int, ...]  # their voice ids (0 while unkeyed)


@dataclass
class _Playing:
    """The control thread's record of one voice."""

    slot: int
    voice: Voice
    routes: dict[int, float]
    operator_only: bool


def _silent_plan(n_in: int, n_out: int, transmit: frozenset[int]) -> MixPlan:
    G = np.zeros((n_in, n_out), dtype=np.float32)
    G.flags.writeable = False
    replay = np.zeros(n_out, dtype=np.float32)
    replay.flags.writeable = False
    return MixPlan(G=G, transmit_outputs=transmit, live_transmit=frozenset(), replay_gains=replay)


class Engine:
    def __init__(self, n_in: int, n_out: int, frames: int, samplerate: int, *,
                 recall_inputs: Sequence[int] = (), recall_seconds: float = 600.0,
                 trc_outputs: Sequence[int] = (), max_voices: int = 16,
                 buffers: EngineBuffers | None = None, publish: Callable[[_Mix], None] | None = None) -> None:
        """``buffers``: the arrays the callback writes (``layout_for`` sizes them), e.g. in shared memory
        when the callback runs in the audio process; new local ones by default. ``publish``: called with
        every new mix on the control side (the console sends it to the audio process)."""
        if n_in < 0 or n_out < 0:
            raise ValueError(f"engine: channel counts must not be negative (inputs {n_in}, outputs {n_out})")
        if frames < 1 or samplerate < 1:
            raise ValueError(f"engine: frames ({frames}) and sample rate ({samplerate}) must be positive")
        if max_voices < 1:
            raise ValueError(f"engine: max_voices must be at least 1, got {max_voices}")
        for kind, cols, n in (("recall input", recall_inputs, n_in), ("TRC output", trc_outputs, n_out)):
            bad = [c for c in cols if not 0 <= c < n]
            if bad:
                raise ValueError(f"engine: {kind} {bad[0]} is outside 0..{n - 1}")
            if len(set(cols)) != len(cols):
                raise ValueError(f"engine: a {kind} is listed twice: {list(cols)}")
        self.n_in, self.n_out, self.frames, self.samplerate = n_in, n_out, frames, samplerate
        self.max_voices = max_voices
        self.trc_outputs = tuple(trc_outputs)
        if recall_inputs:
            rate_factor(samplerate)  # a clear ValueError for a rate recall cannot record at (the caller says why)
        layout = self.layout_for(n_in, n_out, samplerate, recall_inputs=recall_inputs, recall_seconds=recall_seconds,
                                 trc_outputs=trc_outputs, max_voices=max_voices)
        if buffers is None:
            buffers = EngineBuffers.local(layout)
        elif replace(buffers.layout, clock_capacity=0) != layout:  # block timing is the benchmark's extra
            raise ValueError(f"engine: buffers are laid out for {buffers.layout}, the engine needs {layout}")
        self.buffers = buffers
        self.recall: RecallRecorder | None = None
        if recall_inputs:
            self.recall = RecallRecorder(len(recall_inputs), frames, recall_seconds, columns=tuple(recall_inputs),
                                         rate=samplerate, ring=buffers.recall_ring, counts=buffers.recall_counts)

        # ---- read by anyone (the GUI polls these; a torn read only mixes two blocks' readings)
        self._meter = Meter(frames, n_in + n_out, split=n_in, levels=buffers.levels)
        self.input_levels = self._meter.levels[:, :n_in]  # (2, n_in) dBFS: row 0 peak, row 1 RMS
        self.output_levels = self._meter.levels[:, n_in:]  # (2, n_out), before the clip: an over reads > 0
        self.counters = buffers.counters
        self.scope = ScopeTap(buffers.scope_ring, buffers.scope_state, samplerate, n_in, n_out)  # choose + read
        self._publish = publish

        # ---- callback buffers, made once
        self._out = np.zeros((frames, n_out), dtype=np.float32)  # the mix before the clip
        self._out_peaks = self.output_levels[0]
        self._voice_rows = np.zeros((max_voices, frames), dtype=np.float32)
        self._rows = list(self._voice_rows)  # one view per slot
        self._rows_t = self._voice_rows.T
        self._voice_mix = np.zeros((frames, n_out), dtype=np.float32)
        self._notch = block_notch(samplerate, frames, len(self.trc_outputs)) if self.trc_outputs else None
        self._trc_columns = [self._out[:, o] for o in self.trc_outputs]
        self._done_ids = buffers.done_ids  # slot -> id of the voice that ended there
        self._trc_ids, self._trc_left = buffers.trc_ids, buffers.trc_left
        self._live: dict[int, Voice] = {}  # audio process: voice id -> the voice object playing here
        self._retired: deque[tuple[float, _Mix]] = deque()  # (when replaced, mix): see RETIRE_S
        self._scope = ScopeWriter(buffers.scope_ring, buffers.scope_state, n_in, n_out)  # the technician's scope tap

        # ---- control side
        self._ids = itertools.count(1)
        self._playing: dict[int, _Playing] = {}
        self._keyed: dict[int, int] = {}  # TRC output -> its keying voice's id
        self._plan = _silent_plan(n_in, n_out, frozenset(self.trc_outputs))
        self._plan_parts = self._split(self._plan)
        self._mix = self._make_mix()  # not published: the audio process starts silent and gets the first mix

    # ---- callback side ---------------------------------------------------------------------------

    def process(self, inp: np.ndarray, out: np.ndarray, status: int = 0) -> None:
        """One block: inp (frames, n_in) and out (frames, n_out), float32 C-contiguous; fills all of out."""
        mix = self._mix  # read once: the whole block uses one mix
        mixed = self._out
        np.matmul(inp, mix.G, out=mixed)
        if self._notch is not None:
            self._trc_voice_path(inp, mix)
        if mix.voices:
            rows, done_ids = self._rows, self._done_ids
            for slot, voice_id, voice in mix.voices:
                if voice.done:
                    rows[slot].fill(0.0)  # ended: silent until the control side drops it
                    done_ids[slot] = voice_id
                    continue
                voice.fill(rows[slot])
                if voice.done:
                    done_ids[slot] = voice_id
            np.matmul(self._rows_t, mix.routes, out=self._voice_mix)
            np.add(mixed, self._voice_mix, out=mixed)
        self._meter.measure_pair(inp, mixed)
        counters = self.counters
        if self.n_out and np.maximum.reduce(self._out_peaks) > 0.0:
            counters[CLIPPED_BLOCKS] += 1
        np.minimum(mixed, 1.0, out=out)
        np.maximum(out, -1.0, out=out)
        self._scope.write(inp, out)  # one column copied, only while the scope watches
        if self.recall is not None:
            self.recall.write(inp)
        counters[BLOCKS] += 1
        if status:
            for flag, column in _STATUS_COUNTERS:
                if status & flag:
                    counters[column] += 1

    def _trc_voice_path(self, inp: np.ndarray, mix: _Mix) -> None:
        notch = self._notch
        np.matmul(inp, mix.G_trc, out=notch.input)
        notched = notch.run()  # the filter runs on every line all the time, so it is settled when a line opens
        frames = self.frames
        trc_ids, trc_left = self._trc_ids, self._trc_left
        for j, keyer in enumerate(mix.keyers):
            trc_ids[j] = mix.keyer_ids[j]
            if keyer is None:
                continue  # unkeyed: nothing reaches the line
            left = keyer.keying_left  # before this block's tones are rendered
            trc_left[j] = left - frames if left > frames else 0  # what the control side reads as ready
            if left >= frames:
                continue  # keying tones still playing: the voice path stays shut
            column = notched[:, j]
            if left:
                column[:left].fill(0.0)  # opens at the first sample of the low-level guard tone
            np.add(self._trc_columns[j], column, out=self._trc_columns[j])

    # ---- control side (control thread only; each call takes effect at the next block) ------------

    @property
    def plan(self) -> MixPlan:
        return self._plan

    def set_plan(self, plan: MixPlan) -> None:
        G = plan.G
        if G.shape != (self.n_in, self.n_out) or G.dtype != np.float32 or not G.flags.c_contiguous:
            raise ValueError(
                f"mix plan: G must be C-contiguous float32 {(self.n_in, self.n_out)}, got {G.dtype} {G.shape}")
        self._plan = plan
        self._plan_parts = self._split(plan)
        self._remix()  # operator-only routes depend on the plan's transmit outputs

    def play(self, voice: Voice, routes: Mapping[int, float], *, operator_only: bool = False) -> int:
        """Start ``voice`` on ``routes`` (output column -> linear gain); returns its id.

        ``operator_only`` (recall replay): routes to a transmit output of the current plan, or to a
        TRC line, are dropped, now and whenever the plan changes.
        """
        voice_id = self._add(voice, routes, operator_only)
        self._remix()
        return voice_id

    def stop(self, voice_id: int) -> None:
        """End a voice at the next block (unknown or already finished ids are ignored)."""
        if self._drop(voice_id):
            self._remix()

    def finished(self) -> list[int]:
        """Ids of voices that ended by themselves since the last call, now dropped (stopped ones are not listed)."""
        ended = [vid for vid, p in self._playing.items() if self._done_ids[p.slot] == vid]
        for vid in ended:
            self._drop(vid)
        if ended:
            self._remix()
        return ended

    def key_trc(self, output: int, function_hz: float | str, *, test_level_dbfs: float = TEST_LEVEL_DBFS,
                sidetone: Mapping[int, float] = {}) -> None:
        """Key the tone-remote line on ``output``: HLGT + function tone, then LLGT held until ``unkey_trc``.

        ``function_hz``: a frequency, or a name from app.dsp.trc.DEFAULT_FUNCTIONS ("F1", "monitor").

        ``sidetone`` routes the tones to the operator too (e.g. headset columns at the sidetone gain).
        The line's voice path opens when the keying tones end (``trc_ready``). Keying a keyed line
        starts the sequence again (a new function).
        """
        if output not in self.trc_outputs:
            raise ValueError(f"engine: output {output} is not a tone-remote line ({list(self.trc_outputs)})")
        keyer = TrcVoice(function_hz, self.samplerate, test_level_dbfs=test_level_dbfs, max_block=self.frames)
        previous = self._keyed.get(output)
        if previous is not None:
            self._drop(previous)
        try:
            self._keyed[output] = self._add(keyer, {**sidetone, output: 1.0}, False)
        finally:  # on a refusal the line is left unkeyed, never half-keyed
            self._remix()

    def unkey_trc(self, output: int) -> None:
        """Stop the guard tone (the base station unkeys) and shut the line's voice path."""
        voice_id = self._keyed.pop(output, None)
        if voice_id is not None:
            self._drop(voice_id)
            self._remix()

    def playing(self) -> list[int]:
        """Ids of the voices playing (keying voices included), oldest first."""
        return list(self._playing)

    def trc_ready(self, output: int) -> bool:
        """The line's keying tones have been played (by the callback, wherever it runs)."""
        voice_id = self._keyed.get(output)
        if voice_id is None:
            return False
        j = self.trc_outputs.index(output)
        return int(self._trc_ids[j]) == voice_id and int(self._trc_left[j]) == 0

    @staticmethod
    def layout_for(n_in: int, n_out: int, samplerate: int, *, recall_inputs: Sequence[int] = (),
                   recall_seconds: float = 600.0, trc_outputs: Sequence[int] = (), max_voices: int = 16,
                   clock_capacity: int = 0) -> BufferLayout:
        """The shared arrays an engine with these settings needs."""
        return BufferLayout(n_in, n_out, max_voices, len(trc_outputs), len(recall_inputs),
                            int(recall_seconds * OUT_RATE) if recall_inputs else 0, clock_capacity,
                            scope_capacity(samplerate))

    # ---- audio-process side --------------------------------------------------------------------

    def adopt(self, mix: _Mix) -> None:
        """Play ``mix`` from the console from the next block on (the audio process's receiver thread).

        Voices this process already plays come as ``None`` and keep their place; new ones come as
        objects. One reference swap, as on the control side.
        """
        live = self._live
        voices = []
        for slot, voice_id, voice in mix.voices:
            playing = voice if voice is not None else live.get(voice_id)
            if playing is not None:
                voices.append((slot, voice_id, playing))
        by_id = {voice_id: voice for _, voice_id, voice in voices}
        keyers = tuple(by_id.get(k) if k else None for k in mix.keyer_ids)
        self._live = by_id
        self._swap(replace(mix, voices=tuple(voices), keyers=keyers))  # type: ignore[arg-type]

    # ---- internals -------------------------------------------------------------------------------

    def _add(self, voice: Voice, routes: Mapping[int, float], operator_only: bool) -> int:
        checked: dict[int, float] = {}
        for output, gain in routes.items():
            if not (isinstance(output, (int, np.integer)) and 0 <= output < self.n_out):
                raise ValueError(f"engine: route to output {output!r} is outside 0..{self.n_out - 1}")
            if not math.isfinite(gain):
                raise ValueError(f"engine: route gain {gain!r} to output {output} is not a finite number")
            checked[int(output)] = float(gain)
        max_block = getattr(voice, "max_block", self.frames)
        if max_block < self.frames:
            raise ValueError(f"engine: the voice renders at most {max_block} samples a block, blocks are {self.frames}")
        used = {p.slot for p in self._playing.values()}
        free = [slot for slot in range(self.max_voices) if slot not in used]
        if not free:
            raise ValueError(f"engine: all {self.max_voices} voice slots are playing")
        voice_id = next(self._ids)
        self._playing[voice_id] = _Playing(free[0], voice, checked, operator_only)
        return voice_id

    def _drop(self, voice_id: int) -> bool:
        if self._playing.pop(voice_id, None) is None:
            return False
        for output, keyer_id in list(self._keyed.items()):
            if keyer_id == voice_id:
                del self._keyed[output]
        return True

    def _split(self, plan: MixPlan) -> tuple[np.ndarray, np.ndarray]:
        columns = list(self.trc_outputs)
        G = np.array(plan.G, dtype=np.float32, order="C")
        G_trc = np.ascontiguousarray(G[:, columns])
        G[:, columns] = 0.0
        for matrix in (G, G_trc):
            matrix.flags.writeable = False
        return G, G_trc

    def _swap(self, mix: _Mix) -> None:
        """The callback plays ``mix`` from its next block; the one replaced is retired (RETIRE_S)."""
        now = time.monotonic()
        retired = self._retired
        retired.append((now, self._mix))
        self._mix = mix
        while now - retired[0][0] > RETIRE_S:
            retired.popleft()  # freed here, on the control or receiver thread

    def _make_mix(self) -> _Mix:
        blocked = self._plan.transmit_outputs | frozenset(self.trc_outputs)
        routes = np.zeros((self.max_voices, self.n_out), dtype=np.float32)
        for playing in self._playing.values():
            for output, gain in playing.routes.items():
                if not (playing.operator_only and output in blocked):
                    routes[playing.slot, output] = gain
        routes.flags.writeable = False
        voices = tuple((p.slot, vid, p.voice) for vid, p in self._playing.items())
        keyers = tuple(self._keyer(o) for o in self.trc_outputs)
        keyer_ids = tuple(self._keyed.get(o, 0) if k is not None else 0 for o, k in zip(self.trc_outputs, keyers))
        G, G_trc = self._plan_parts
        return _Mix(self._plan, G, G_trc, voices, routes, keyers, keyer_ids)

    def _remix(self) -> None:
        mix = self._make_mix()
        self._swap(mix)
        if self._publish is not None:
            self._publish(mix)

    def _keyer(self, output: int) -> TrcVoice | None:
        voice_id = self._keyed.get(output)
        if voice_id is None:
            return None
        voice = self._playing[voice_id].voice
        return voice if isinstance(voice, TrcVoice) else None


def outgoing_mix(mix: _Mix, sent: set[int]) -> _Mix:
    """``mix`` as sent to the audio process: voices it already has (ids in ``sent``) as ``None``, no
    keyer objects (it finds them by id); ``sent`` becomes the ids in this mix."""
    voices = tuple((slot, vid, None if vid in sent else voice) for slot, vid, voice in mix.voices)
    sent.clear()
    sent.update(vid for _, vid, _ in mix.voices)
    return replace(mix, voices=voices, keyers=())  # type: ignore[arg-type]
