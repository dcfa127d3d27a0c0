"""Calls at this position: ringing, answer, release, abandon, and the ALI spill that pops on answer.

Lives on the control thread. The ALI line's bytes are stored raw as they arrive; a whole frame is
logged, and only when the store has committed it (so everything before it is durable too) does it
pop. If the store is slow or failing, the spill pops anyway after ``POP_FALLBACK_MS`` marked as not
yet saved: a call-taker must never wait on a disk for a location.
Parsing the spill into fields is app.ali's job; here the raw text is shown.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.ali.framing import Frame, Framer, Garbage, printable
from app.eventlog import EventLog
from app.snapshots import CallsSnapshot, CallView, SpillView
from app.store import StoreWriter
from hardware.events import BytesReceived, RingChanged

RECENT_CALLS = 50  # ended calls kept in memory for the view; the store has them all
UNASSIGNED_SPILLS = 20
POP_FALLBACK_MS = 500


@dataclass
class _Call:
    id: int
    line: str
    call_ref: str
    state: str
    ring_wall: float
    answer_wall: float | None = None
    end_wall: float | None = None
    spills: list[SpillView] = field(default_factory=list)

    def view(self) -> CallView:
        return CallView(self.id, self.line, self.state, self.ring_wall, self.answer_wall, self.end_wall, tuple(self.spills))


@dataclass
class _PendingSpill:
    spill: SpillView
    call_id: int | None  # the call that was active when the frame completed
    shown: bool = False


class CallsService(QObject):
    changed = Signal(object)  # CallsSnapshot
    # Emitted by the store writer's thread; queued to this object's (control) thread.
    _committed = Signal(int, int)  # pending key, stored row id

    def __init__(
        self,
        events: EventLog,
        store: StoreWriter,
        *,
        ali_device: str = "",
        bcc: bool = True,
        phone_answer: Callable[[str], None] | None = None,
        phone_release: Callable[[str], None] | None = None,
        on_link_health: Callable[[str, str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._events = events
        self._store = store
        self._ali_device = ali_device
        self._framer = Framer(bcc=bcc)
        self._phone_answer = phone_answer or (lambda ref: None)
        self._phone_release = phone_release or (lambda ref: None)
        self._ids = itertools.count(1)
        self._ringing: dict[int, _Call] = {}
        self._active: _Call | None = None
        self._recent: deque[CallView] = deque(maxlen=RECENT_CALLS)
        self._unassigned: deque[SpillView] = deque(maxlen=UNASSIGNED_SPILLS)
        self._pending: dict[int, _PendingSpill] = {}
        self._pending_keys = itertools.count(1)
        self._seq = 0
        self.last_frame_t: float | None = None
        self.frames_received = 0
        self._committed.connect(self._on_committed)

    # -- commands -------------------------------------------------------------------------------
    @Slot(object)
    def answer_call(self, call_id: int | None = None) -> None:
        if self._active is not None:
            self._events.log("call.answer.refused", source="console",
                             detail=f"already on call {self._active.id}; release it first")
            return
        if not self._ringing:
            return
        call = self._ringing.pop(call_id if call_id in self._ringing else min(self._ringing))
        call.state = "answered"
        call.answer_wall = time.time()
        self._active = call
        self._phone_answer(call.call_ref)
        self._events.log("call.answer", channel=call.line, source="console",
                         detail=f"call {call.id} answered after {call.answer_wall - call.ring_wall:.1f} s")
        self._publish()

    @Slot()
    def release_call(self) -> None:
        call = self._active
        if call is None:
            return
        self._active = None
        call.state = "released"
        call.end_wall = time.time()
        self._phone_release(call.call_ref)
        self._recent.appendleft(call.view())
        self._events.log("call.release", channel=call.line, source="console", detail=f"call {call.id}")
        self._publish()

    # -- driver events --------------------------------------------------------------------------
    def on_ring(self, ev: RingChanged) -> None:
        if ev.ringing:
            call = _Call(next(self._ids), ev.line, ev.call_ref, "ringing", time.time())
            self._ringing[call.id] = call
            self._events.log("call.ring", channel=ev.line, source=ev.device, detail=f"call {call.id} {ev.call_ref}")
            self._publish()
            return
        call = next((c for c in self._ringing.values() if c.call_ref == ev.call_ref and c.line == ev.line), None)
        if call is None:
            return  # stopped ringing because we answered it
        del self._ringing[call.id]
        call.state = "abandoned"
        call.end_wall = time.time()
        self._recent.appendleft(call.view())
        self._events.log("call.abandoned", channel=call.line, source=ev.device,
                         detail=f"call {call.id} rang {call.end_wall - call.ring_wall:.1f} s")
        self._publish()

    def on_bytes(self, ev: BytesReceived) -> None:
        # Raw first: the bytes are queued for the store before anything is made of them.
        self._store.save_raw(ev.device, ev.data)
        for item in self._framer.feed(ev.data):
            if isinstance(item, Garbage):
                self._events.log("ali.garbage", source=ev.device, detail=f"{item.reason}: {printable(item.data)}")
            else:
                self._on_frame(item, ev.device)

    def on_link_lost(self) -> None:
        for item in self._framer.flush():
            self._events.log("ali.garbage", source=self._ali_device, detail=f"{item.reason}: {printable(item.data)}")

    # -- frames ---------------------------------------------------------------------------------
    def _on_frame(self, frame: Frame, device: str) -> None:
        self.last_frame_t = time.monotonic()
        self.frames_received += 1
        kind = frame.kind
        errors = () if frame.bcc_ok is not False else (f"block check mismatch (received 0x{frame.bcc:02X})",)
        if kind == "heartbeat":
            if frame.bcc_ok is False:
                self._events.log("ali.heartbeat.bad", source=device, detail=errors[0])
            return
        text = printable(frame.payload)
        if kind == "status":
            self._events.log("ali.status", source=device, detail=text)
            return
        spill = SpillView(time.time(), text, kind, frame.bcc_ok, errors)
        key = next(self._pending_keys)
        self._pending[key] = _PendingSpill(spill, self._active.id if self._active else None)
        # The frame's log record commits after the raw bytes queued before it: durable, then shown.
        self._events.log("ali.frame", source=device, detail=text + (f" [{errors[0]}]" if errors else ""),
                         on_committed=lambda row, k=key: self._committed.emit(k, row))
        QTimer.singleShot(POP_FALLBACK_MS, self, lambda k=key: self._show(k, None))

    @Slot(int, int)
    def _on_committed(self, key: int, row_id: int) -> None:
        self._show(key, row_id)

    def _show(self, key: int, row_id: int | None) -> None:
        pending = self._pending.get(key)
        if pending is None:
            return
        if row_id is not None:
            del self._pending[key]
            if pending.shown:
                # Shown unsaved by the fallback: now mark it saved in place.
                self._replace_spill(pending.spill, replace(pending.spill, stored_id=row_id))
                self._publish()
                return
        elif pending.shown:
            return
        pending.shown = True
        spill = replace(pending.spill, stored_id=row_id)
        pending.spill = spill
        if self._active is not None and pending.call_id in (self._active.id, None):
            self._active.spills.append(spill)
        else:
            self._unassigned.appendleft(spill)
        self._publish()

    def _replace_spill(self, old: SpillView, new: SpillView) -> None:
        if self._active is not None and old in self._active.spills:
            self._active.spills[self._active.spills.index(old)] = new
        elif old in self._unassigned:
            self._unassigned[self._unassigned.index(old)] = new

    # -- state ----------------------------------------------------------------------------------
    def snapshot(self) -> CallsSnapshot:
        return CallsSnapshot(
            tuple(c.view() for c in self._ringing.values()),
            self._active.view() if self._active else None,
            tuple(self._recent),
            tuple(self._unassigned),
            self._seq,
        )

    def _publish(self) -> None:
        self._seq += 1
        self.changed.emit(self.snapshot())
