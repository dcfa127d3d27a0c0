"""A simulated 9-1-1 phone system (CPE): calls ring at this position and, once answered, the ALI
spill arrives over a byte stream, split into pieces with small gaps as a 9600-baud line delivers it.

Calls arrive at random (Poisson, ``calls_per_minute``) or on demand (``ring``). A call not answered
within ``abandon_after_s`` stops ringing (abandoned). A wireless Phase I call is rebid to Phase II
``rebid_after_s`` after answer. A heartbeat frame is sent every ``heartbeat_s``.
Ringing is reported as ``RingChanged`` events; the spill goes to ``link`` (anything with ``write``).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from hardware.events import DeviceFault, EventSink, LinkChanged, LinkState, RingChanged, now
from hardware.sim.spills import DEMO_RECORDS, HEARTBEAT, SimRecord, format_30w, frame, rebid_of
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

TRUNKS = ("911-1", "911-2", "911-3", "911-4")
BYTES_PER_S_9600 = 960  # 10 bits a character on the wire


class ByteWriter(Protocol):
    def write(self, data: bytes) -> int: ...


@dataclass
class _SimCall:
    ref: str
    line: str
    record: SimRecord
    ringing: bool = True
    answered: bool = False
    released: bool = False


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    action: Callable[[], None] = field(compare=False)


class SimulatedPhoneSystem(DriverThread):
    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        link: ByteWriter,
        *,
        calls_per_minute: float = 1.5,
        abandon_after_s: float = 40.0,
        rebid_after_s: float | None = 12.0,
        heartbeat_s: float = 30.0,
        jitter_ms: float = 5.0,
        seed: int | None = None,
        position_header: str = "2001",
        with_bcc: bool = True,
        records: tuple[SimRecord, ...] = DEMO_RECORDS,
        line_rate_bytes_per_s: float = BYTES_PER_S_9600 * 20,
    ) -> None:
        super().__init__(device_id, sink)
        self.link = link
        self.calls_per_minute = calls_per_minute
        self.abandon_after_s = abandon_after_s
        self.rebid_after_s = rebid_after_s
        self.heartbeat_s = heartbeat_s
        self.jitter_s = jitter_ms / 1000.0
        self.position_header = position_header
        self.with_bcc = with_bcc
        self.records = records
        # The demo runs the line faster than 9600 baud so the pop is quick; split writes are kept.
        self.line_rate = line_rate_bytes_per_s
        self._rng = random.Random(seed)
        self._calls: dict[str, _SimCall] = {}
        self._refs = itertools.count(1)
        self._due: list[_Due] = []
        self._due_seq = itertools.count()

    # -- what the app (or a test) calls, from any thread -------------------------------------
    def ring(self, record_index: int | None = None) -> None:
        """Start a call now."""
        self.post(self._new_call, record_index)

    def answer(self, call_ref: str = "") -> None:
        """The position answered ``call_ref`` (or the oldest ringing call)."""
        self.post(self._answer, call_ref)

    def release(self, call_ref: str = "") -> None:
        self.post(self._release, call_ref)

    def send_raw(self, data: bytes) -> None:
        """Put arbitrary bytes on the line (garbage, a hand-made frame) - for tests and the bench."""
        self.post(self._write, data)

    # -- the phone system's thread ------------------------------------------------------------
    def run_loop(self) -> None:
        self.emit(LinkChanged(self.device_id, LinkState.UP, "simulated"))
        self._schedule(self._next_arrival(), self._arrival)
        if self.heartbeat_s > 0:
            self._schedule(self.heartbeat_s, self._heartbeat)
        while not self.stopping:
            # One command or the next due action, whichever comes first: a command may schedule
            # something sooner (a spill after answer), so the wait is worked out again each time.
            wait = self._due[0].at - time.monotonic() if self._due else 3600.0
            if wait > 0:
                self.wait_command(wait)
            while self._due and self._due[0].at <= time.monotonic() and not self.stopping:
                heapq.heappop(self._due).action()

    def _schedule(self, delay_s: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._due, _Due(time.monotonic() + delay_s, next(self._due_seq), action))

    def _next_arrival(self) -> float:
        if self.calls_per_minute <= 0:
            return 24 * 3600.0
        return self._rng.expovariate(self.calls_per_minute / 60.0)

    def _arrival(self) -> None:
        self._new_call(None)
        self._schedule(self._next_arrival(), self._arrival)

    def _heartbeat(self) -> None:
        self._write(frame(HEARTBEAT, self.with_bcc))
        self._schedule(self.heartbeat_s, self._heartbeat)

    def _new_call(self, record_index: int | None) -> None:
        ref = f"SIM{next(self._refs):05d}"
        busy = {c.line for c in self._calls.values() if not c.released}
        line = next((t for t in TRUNKS if t not in busy), None)
        if line is None:
            log.info("simulated call %s dropped: all trunks busy", ref)
            return
        if record_index is None:
            record = self._rng.choice(self.records)
        else:
            record = self.records[record_index % len(self.records)]
        call = _SimCall(ref, line, record)
        self._calls[ref] = call
        self.emit(RingChanged(self.device_id, line, True, now(), ref, record.ani))
        self._schedule(self.abandon_after_s, lambda: self._abandon(ref))

    def _abandon(self, ref: str) -> None:
        call = self._calls.get(ref)
        if call and call.ringing:
            call.ringing = False
            call.released = True
            self.emit(RingChanged(self.device_id, call.line, False, now(), ref))
            self._forget(ref)

    def _find(self, ref: str, *, ringing: bool) -> _SimCall | None:
        if ref:
            return self._calls.get(ref)
        candidates = [c for c in self._calls.values() if c.ringing == ringing and not c.released]
        return candidates[0] if candidates else None

    def _answer(self, ref: str) -> None:
        call = self._find(ref, ringing=True)
        if call is None or not call.ringing:
            return
        call.ringing = False
        call.answered = True
        self.emit(RingChanged(self.device_id, call.line, False, now(), call.ref))
        # The CPE spills a moment after answer: ALI query round trip.
        self._schedule(self._rng.uniform(0.05, 0.3), lambda: self._spill(call, call.record))
        rebid = rebid_of(call.record)
        if rebid is not None and self.rebid_after_s:
            self._schedule(self.rebid_after_s, lambda: self._spill(call, rebid))

    def _release(self, ref: str) -> None:
        call = self._find(ref, ringing=False)
        if call is None:
            return
        call.released = True
        self._forget(call.ref)

    def _forget(self, ref: str) -> None:
        # Keep the table small over a long run; scheduled actions hold their own reference.
        self._calls.pop(ref, None)

    def _spill(self, call: _SimCall, record: SimRecord) -> None:
        if call.released:
            return
        self._write(frame(format_30w(record, self.position_header), self.with_bcc))

    def _write(self, data: bytes) -> None:
        """Send ``data`` in pieces of random size at the line rate, as a UART and a USB adapter do."""
        pos = 0
        try:
            while pos < len(data) and not self.stopping:
                piece = data[pos : pos + self._rng.randint(1, 64)]
                self.link.write(piece)
                pos += len(piece)
                gap = len(piece) / self.line_rate + self._rng.uniform(0, self.jitter_s / 10)
                time.sleep(gap)
        except (OSError, TimeoutError) as exc:
            self.emit(DeviceFault(self.device_id, f"cannot write to the ALI line: {exc}"))
