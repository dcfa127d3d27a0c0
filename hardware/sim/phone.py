"""A simulated 9-1-1 phone system (CPE): calls ring at this position and, once answered, the ALI
spill arrives over a byte stream, split into pieces with small gaps as a 9600-baud line delivers it.

Calls arrive at random (Poisson, ``calls_per_minute``) or on demand (``ring``). A call not answered
within ``abandon_after_s`` stops ringing (abandoned). A wireless Phase I call is rebid to Phase II
``rebid_after_s`` after answer. A heartbeat frame is sent every ``heartbeat_s``.
Ringing is reported as ``RingChanged`` events; the spill goes to ``link`` (anything with ``write``).

When the link also has ``receive`` (``MemoryLink``, ``PtyLink``), the phone system listens to what the
console sends back, as a CPE with a two-way ALI port does:
- the rebid request (``rebid_request``, found anywhere in the stream) re-sends the answered call's spill,
  as Phase II if the call is still wireless Phase I;
- NAK (0x15) re-sends the last frame, once; ACK (0x06) is counted;
- with ``expect_ack``, a spill not ACKed within ``ack_timeout_s`` is re-sent once.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol

from hardware.events import DeviceFault, EventSink, LinkChanged, LinkState, RingChanged, now
from hardware.sim.spills import DEMO_RECORDS, HEARTBEAT, SimRecord, format_30w, frame, rebid_of
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

TRUNKS = ("911-1", "911-2", "911-3", "911-4")
BYTES_PER_S_9600 = 960  # 10 bits a character on the wire
ACK, NAK = 0x06, 0x15
DEFAULT_REBID_REQUEST = b"\x02RB\x03"


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
    shown: SimRecord | None = None  # the record last spilled for this call


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
        rebid_request: bytes = DEFAULT_REBID_REQUEST,
        expect_ack: bool = False,
        ack_timeout_s: float = 2.0,
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
        # The return path (console -> phone system): read by a helper thread, handled on this one.
        if not rebid_request:
            raise ValueError("rebid_request must not be empty")
        self.rebid_request = bytes(rebid_request)
        self.expect_ack = expect_ack
        self.ack_timeout_s = ack_timeout_s
        self._receiver: threading.Thread | None = None
        self._rx_tail = b""  # the end of the stream so far, for a rebid request split across reads
        self._last_frame = b""
        self._last_frame_resent = False
        self._frames_sent = 0  # numbers each frame, so an ACK time-out knows which frame it was for
        self._acked_through = 0
        self.acks_received = 0
        self.naks_received = 0
        self.rebid_requests_received = 0
        self.frames_resent = 0
        self.ack_checks = 0  # spills whose ACK time-out has passed (acknowledged or not)

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
        if hasattr(self.link, "receive"):
            self._receiver = threading.Thread(target=self._receive_loop, name=f"driver:{self.device_id}:rx",
                                              daemon=True)
            self._receiver.start()
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
        self._send_frame(frame(HEARTBEAT, self.with_bcc))
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
        call.shown = record
        number = self._send_frame(frame(format_30w(record, self.position_header), self.with_bcc))
        if self.expect_ack:
            self._schedule(self.ack_timeout_s, lambda: self._check_acked(number))

    def _send_frame(self, data: bytes) -> int:
        self._last_frame, self._last_frame_resent = data, False
        self._frames_sent += 1
        self._write(data)
        return self._frames_sent

    def _resend_last(self, why: str) -> None:
        if not self._last_frame or self._last_frame_resent:
            log.info("simulated phone system: %s, but the last frame was already re-sent", why)
            return
        log.info("simulated phone system: %s, re-sending the last frame", why)
        self._last_frame_resent = True
        self.frames_resent += 1
        self._write(self._last_frame)

    def _check_acked(self, number: int) -> None:
        self.ack_checks += 1
        if self._acked_through < number and number == self._frames_sent:
            self._resend_last(f"no ACK within {self.ack_timeout_s:g} s")

    # -- the return path ------------------------------------------------------------------------
    def _receive_loop(self) -> None:
        """On the helper thread: hand whatever the console sends to the phone system's thread."""
        while not self.stopping:
            try:
                data = self.link.receive(4096, 0.1)  # type: ignore[attr-defined]
            except OSError as exc:
                # The console closed its end (it is stopping, or a test cut the cable): nothing to answer.
                log.info("simulated phone system: return path closed: %s", exc)
                return
            if data:
                self.post(self._on_console_bytes, data)

    def _on_console_bytes(self, data: bytes) -> None:
        for byte in data:
            if byte == ACK:
                self.acks_received += 1
                self._acked_through = self._frames_sent
            elif byte == NAK:
                self.naks_received += 1
                self._resend_last("NAK received")
        # A request may arrive split across reads: search the new bytes with the tail of the old ones.
        stream = self._rx_tail + data
        start = 0
        while (found := stream.find(self.rebid_request, start)) >= 0:
            start = found + len(self.rebid_request)
            self.rebid_requests_received += 1
            self._rebid_requested()
        keep = len(self.rebid_request) - 1
        self._rx_tail = stream[max(start, len(stream) - keep):] if keep else b""

    def _rebid_requested(self) -> None:
        answered = [c for c in self._calls.values() if c.answered and not c.released]
        if not answered:
            log.info("simulated phone system: rebid request with no answered call")
            return
        call = answered[-1]
        current = call.shown or call.record
        record = rebid_of(current) or current
        # The CPE queries the ALI database again: the answer comes after a round trip.
        self._schedule(self._rng.uniform(0.05, 0.3), lambda: self._spill(call, record))

    def on_exit(self) -> None:
        receiver = self._receiver
        if receiver is not None and receiver is not threading.current_thread():
            receiver.join(0.5)

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
