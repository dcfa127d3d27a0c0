"""The arrays the audio callback writes and everyone else reads, in local or shared memory.

The engine's callback side and its control side talk through a few preallocated arrays: meters,
counters, which voices ended, how far each tone-remote line's keying has got, instant recall's ring,
and (for benchmarks) per-block timings. ``EngineBuffers`` holds them. In one process they are
ordinary NumPy arrays; when the callback runs in its own audio process (app/audio/process.py) they
are views into one ``multiprocessing.shared_memory`` block that both processes map, laid out by
``BufferLayout`` so both sides compute the same offsets. Writers and readers never lock: every
value is one aligned element the callback stores in place, and a reader accepts that a read may
straddle two blocks (as the GUI's meter poll always has).
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

from app.dsp.meters import FLOOR_DBFS

COUNTERS = 6  # app.audio.engine.COUNTER_NAMES
_ALIGN = 64  # each array starts on a cache line


@dataclass(frozen=True)
class BufferLayout:
    n_in: int
    n_out: int
    max_voices: int
    trc_lines: int
    recall_channels: int = 0
    recall_capacity: int = 0  # 8 kHz samples per channel
    clock_capacity: int = 0  # blocks timed (benchmarks); 0 = no timing
    scope_capacity: int = 0  # full-rate samples of the one column the technician's scope watches

    def fields(self) -> list[tuple[str, tuple[int, ...], np.dtype]]:
        recall = (self.recall_capacity, self.recall_channels) if self.recall_channels else (0, 0)
        return [
            ("levels", (2, self.n_in + self.n_out), np.dtype(np.float32)),
            ("counters", (COUNTERS,), np.dtype(np.int64)),
            ("done_ids", (self.max_voices,), np.dtype(np.int64)),
            ("trc_ids", (self.trc_lines,), np.dtype(np.int64)),
            ("trc_left", (self.trc_lines,), np.dtype(np.int64)),
            ("recall_ring", recall, np.dtype(np.int16)),
            ("recall_counts", (2,), np.dtype(np.int64)),
            ("clock_starts", (self.clock_capacity,), np.dtype(np.int64)),
            ("clock_spans", (self.clock_capacity,), np.dtype(np.int64)),
            ("clock_flags", (self.clock_capacity,), np.dtype(np.int64)),
            ("clock_state", (2,), np.dtype(np.int64)),  # [blocks timed, callback thread's native id]
            ("scope_ring", (self.scope_capacity,), np.dtype(np.float32)),
            ("scope_state", (4,), np.dtype(np.int64)),  # app/audio/scope.py: SELECT, WRITTEN, SINCE, WRITING
        ]

    def offsets(self) -> tuple[dict[str, int], int]:
        """Byte offset of each array and the total size."""
        offsets: dict[str, int] = {}
        at = 0
        for name, shape, dtype in self.fields():
            offsets[name] = at
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            at += -(-size // _ALIGN) * _ALIGN
        return offsets, max(at, _ALIGN)


class EngineBuffers:
    """The callback's shared arrays (attributes named as in ``BufferLayout.fields``)."""

    levels: np.ndarray  # (2, n_in + n_out) dBFS: row 0 peak, row 1 RMS; inputs first
    counters: np.ndarray
    done_ids: np.ndarray  # voice slot -> id of the voice that ended there
    trc_ids: np.ndarray  # TRC line -> id of the keying voice the last block played (0 = none)
    trc_left: np.ndarray  # TRC line -> keying samples still to play after the last block
    recall_ring: np.ndarray
    recall_counts: np.ndarray  # [8 kHz samples written per channel, blocks written]
    clock_starts: np.ndarray
    clock_spans: np.ndarray
    clock_flags: np.ndarray
    clock_state: np.ndarray
    scope_ring: np.ndarray  # the scope tap's ring (app/audio/scope.py)
    scope_state: np.ndarray  # [column asked for (-1 off), samples written, written when it started, column written]

    def __init__(self, layout: BufferLayout, memory: memoryview | None = None) -> None:
        self.layout = layout
        offsets, size = layout.offsets()
        for name, shape, dtype in layout.fields():
            if memory is None:
                array = np.zeros(shape, dtype=dtype)
            else:
                count = int(np.prod(shape, dtype=np.int64))
                array = np.frombuffer(memory, dtype=dtype, count=count, offset=offsets[name]).reshape(shape)
            setattr(self, name, array)

    @classmethod
    def local(cls, layout: BufferLayout) -> "EngineBuffers":
        buffers = cls(layout)
        buffers.reset()
        return buffers

    def reset(self) -> None:
        """Start values; also commits every page (a first touch inside the callback is a page fault)."""
        self.levels.fill(FLOOR_DBFS)
        for name in ("counters", "done_ids", "trc_ids", "trc_left", "recall_counts", "clock_starts",
                     "clock_spans", "clock_flags", "clock_state", "scope_ring"):
            getattr(self, name).fill(0)
        self.recall_ring.fill(0)
        self.scope_state[:] = (-1, 0, 0, -1)  # the tap is off until the scope asks for a column


class _Block(shared_memory.SharedMemory):
    """A shared-memory block that may outlive its close: NumPy views of it (the GUI's meter arrays)
    can be alive when it is collected, and the mapping then simply ends with the process."""

    def __del__(self) -> None:
        try:
            self.close()
        except BufferError:
            pass


class SharedBuffers:
    """``EngineBuffers`` in a shared-memory block: ``create`` in the console, ``attach`` in the audio process."""

    def __init__(self, layout: BufferLayout, shm: shared_memory.SharedMemory, owner: bool) -> None:
        self.layout = layout
        self.shm = shm
        self.owner = owner
        self.buffers = EngineBuffers(layout, shm.buf)

    @property
    def name(self) -> str:
        return self.shm.name

    @classmethod
    def create(cls, layout: BufferLayout) -> "SharedBuffers":
        _, size = layout.offsets()
        shared = cls(layout, _Block(create=True, size=size), owner=True)
        shared.buffers.reset()
        return shared

    @classmethod
    def attach(cls, layout: BufferLayout, name: str) -> "SharedBuffers":
        # The audio process is started by multiprocessing, so it shares the console's resource
        # tracker: its own registration of the block is the same entry, removed by the console.
        return cls(layout, _Block(name=name), owner=False)

    def close(self) -> None:
        """Remove the block's name (its creator) and drop this process's mapping when no array made
        from it is still in use (the GUI may hold meter views until the process ends)."""
        if self.owner:
            try:
                self.shm.unlink()
            except FileNotFoundError:
                pass
        self.buffers = None  # type: ignore[assignment]  # release our own views first
        try:
            self.shm.close()
        except BufferError:
            pass  # still viewed: the mapping ends with the process
