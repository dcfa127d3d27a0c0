"""Calls at this position: ring, answer, the ALI spill that pops on answer, rebids, transfer, release,
abandon, and the callback list.

Lives on the control thread. The ALI line's bytes are stored raw as they arrive; each whole frame is
parsed with the site's layout and logged, and only when the store has committed the log record (so
everything before it is durable too) does it pop. If the store is slow or failing, the spill pops
anyway after ``POP_FALLBACK_MS``, marked as not yet saved: a call-taker must never wait on a disk
for a location. A frame that does not parse pops as raw text with the reason.

Which call a spill belongs to is decided when its last byte arrives: the call in hand if it has no
spill yet or shares a number (ANI, pANI/ESRK, callback) with it - then a second spill is a rebid
that updates the call and keeps the history; otherwise a ringing or recently ended call with the
same number; otherwise it is listed as unassigned, never dropped.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any, Callable, Mapping

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.ali.framing import Frame, Framer, Garbage, printable
from app.ali.layouts import Layout
from app.ali.parse import parse_frame
from app.calls.callbacks import OUTCOMES, CallbackBook
from app.calls.location import call_keys, location_warning, one_line_location, wants_rebid
from app.calls.tty import TtyConversation
from app.eventlog import EventLog
from app.snapshots import AliLinkStats, CallsSnapshot, CallView, RegistryFlag, SpillView, TimelineEntry
from app.store import StoreError, StoreWriter
from hardware.events import BytesReceived, RingChanged, SignalDecoded

RECENT_CALLS = 50  # ended calls kept in memory for the view; the store has them all
UNASSIGNED_SPILLS = 20
POP_FALLBACK_MS = 500
LATE_SPILL_S = 600.0  # a spill this long after a call ended can still be matched to it (late rebid)
ACK, NAK = b"\x06", b"\x15"

RegistryMatcher = Callable[[list[str], Mapping[str, Any]], tuple[RegistryFlag, ...]]


@dataclass
class _Call:
    id: int
    uid: str
    line: str
    call_ref: str
    state: str
    ring_wall: float
    ani: str = ""
    answer_wall: float | None = None
    end_wall: float | None = None
    spills: list[SpillView] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    timeline: list[TimelineEntry] = field(default_factory=list)
    flags: tuple[RegistryFlag, ...] = ()
    location_confirmed: bool = False
    hang_up: bool = False
    tty: TtyConversation | None = None
    _view: CallView | None = None

    def changed(self) -> None:
        self._view = None

    def view(self) -> CallView:
        if self._view is None:
            spill = self.spills[-1] if self.spills else None
            warning = "" if self.location_confirmed else location_warning(
                spill.kind if spill else None, spill.record if spill else {})
            self._view = CallView(
                self.id, self.line, self.state, self.ring_wall, self.answer_wall, self.end_wall,
                tuple(self.spills), self.uid, self.ani, tuple(self.timeline), self.flags,
                self.location_confirmed, warning, self.hang_up,
                tty=self.tty.view() if self.tty is not None else None)
        return self._view


@dataclass
class _PendingSpill:
    spill: SpillView
    call: _Call | None  # where the spill goes; None = unassigned
    reason: str = ""  # why unassigned
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
        layout: Layout | None = None,
        layout_problem: str = "",
        position_id: str = "",
        ack: bool = False,
        rebid_request: bytes = b"",
        auto_rebid_s: float | None = None,
        ring_source: str = "phone",
        transfer_method: str = "copy",
        operator: str = "",
        phone_answer: Callable[[str], None] | None = None,
        phone_release: Callable[[str], None] | None = None,
        ali_send: Callable[[bytes], bool] | None = None,
        match_registry: RegistryMatcher | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._events = events
        self._store = store
        self._ali_device = ali_device
        self._framer = Framer(bcc=bcc)
        self._layout = layout
        self._layout_problem = layout_problem or "no ALI layout configured"
        self._position_id = position_id.strip()
        self._ack = ack
        self._rebid_request = rebid_request
        self._ring_source = ring_source
        self._transfer_method = transfer_method
        self.operator = operator
        self._phone_answer = phone_answer or (lambda ref: None)
        self._phone_release = phone_release or (lambda ref: None)
        self._ali_send = ali_send
        self._match_registry = match_registry
        self._ids = itertools.count(1)
        self._spill_seq = itertools.count(1)
        self._ringing: dict[int, _Call] = {}
        self._active: _Call | None = None
        self._recent: deque[_Call] = deque(maxlen=RECENT_CALLS)
        self._unassigned: deque[SpillView] = deque(maxlen=UNASSIGNED_SPILLS)
        self._pending: dict[int, _PendingSpill] = {}
        self._pending_keys = itertools.count(1)
        self.callbacks = CallbackBook()
        self._seq = 0
        self.last_frame_t: float | None = None
        self.frames_received = 0
        self._ali_stats = AliLinkStats()
        self._committed.connect(self._on_committed)
        self._auto_rebid = QTimer(self)
        self._auto_rebid.setInterval(int((auto_rebid_s or 0) * 1000))
        self._auto_rebid.timeout.connect(lambda: self.request_rebid(automatic=True))
        self._auto_rebid_enabled = bool(auto_rebid_s)
        self._send_tty: Callable[[str], "int | None"] | None = None

    def set_tty_sender(self, send: Callable[[str], "int | None"] | None) -> None:
        """The audio service's send_tty: typed replies go out as Baudot on the phone line."""
        self._send_tty = send

    # -- TTY on the phone line -------------------------------------------------------------------
    def on_tty(self, ev: SignalDecoded) -> None:
        """Decoded TTY from the phone line: live characters and carrier go to the call in hand."""
        call = self._active
        live = ev.extra.get("live")
        if call is None or live is None:  # no call, or the decoder's end-of-turn summary (already shown live)
            return
        first = call.tty is None
        if first:
            call.tty = TtyConversation()
        if live == "carrier":
            ended = call.tty.carrier(bool(ev.extra.get("carrier")))
            if ended:
                self._store.log_call_event(call.uid, "tty.rx", line=call.line, detail={"text": ended})
        elif live == "char" and isinstance(ev.value, str):
            call.tty.char(ev.value)
        if first:
            self._timeline(call, "tty", "TTY tones detected", {})
            self._events.log("call.tty", channel=call.line, source="phone", detail=f"call {call.id}: TTY detected")
        call.changed()
        self._publish()

    @Slot(str)
    def send_tty(self, text: str) -> None:
        """Send the call-taker's typed reply to the caller as TTY and keep it with the call."""
        call = self._active
        text = text.strip()
        if call is None or not text:
            return
        voice = self._send_tty(text) if self._send_tty is not None else None
        if voice is None:
            self._events.log("call.tty.refused", channel=call.line, source="console",
                             detail="the reply could not be sent (no phone line audio)")
            return
        if call.tty is None:
            call.tty = TtyConversation()
        call.tty.typed(text)
        self._store.log_call_event(call.uid, "tty.tx", line=call.line, detail={"text": text})
        call.changed()
        self._publish()

    @property
    def can_rebid(self) -> bool:
        return bool(self._rebid_request) and self._ali_send is not None

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
        waited = call.answer_wall - call.ring_wall
        self._timeline(call, "answer", f"answered after {waited:.1f} s", {"answer_s": round(waited, 3)},
                       wall=call.answer_wall)
        self._events.log("call.answer", channel=call.line, source="console",
                         detail=f"call {call.id} answered after {waited:.1f} s")
        self._match_flags(call)
        self._update_auto_rebid()
        self._publish()

    @Slot(bool)
    def release_call(self, hang_up: bool = False) -> None:
        """Release the call in hand; ``hang_up`` puts it on the callback list (caller hung up)."""
        call = self._active
        if call is None:
            return
        self._active = None
        call.state = "released"
        call.end_wall = time.time()
        call.hang_up = hang_up
        self._phone_release(call.call_ref)
        talk = call.end_wall - (call.answer_wall or call.end_wall)
        self._timeline(call, "release", "released as a hang-up" if hang_up else "released",
                       {"talk_s": round(talk, 3), "hang_up": hang_up}, wall=call.end_wall)
        self._events.log("call.release", channel=call.line, source="console",
                         detail=f"call {call.id}" + (" hang-up: call back" if hang_up else ""))
        if hang_up:
            self._open_callback(call, "hang-up")
        self._recent.appendleft(call)
        self._update_auto_rebid()
        self._publish()

    @Slot(str)
    def manual_ring(self, line: str = "MANUAL") -> None:
        """The call-taker marks a line as ringing (ring source "manual", or a line the console cannot see)."""
        self._start_ringing(line or "MANUAL", "", "", "manual", "console")

    @Slot()
    def request_rebid(self, automatic: bool = False) -> bool:
        """Ask the CPE for a fresh spill for the call in hand (the site's rebid request string)."""
        call = self._active
        if call is None:
            return False
        if not self.can_rebid:
            if not automatic:
                self._events.log("ali.rebid.unavailable", source="console",
                                 detail="this site has no rebid request string, or no ALI link to send it on")
            return False
        sent = bool(self._ali_send(self._rebid_request))  # type: ignore[misc]
        how = "automatic" if automatic else "manual"
        text = f"{how} rebid requested" if sent else f"{how} rebid NOT sent: ALI link down"
        self._timeline(call, "rebid_request", text, {"automatic": automatic, "sent": sent})
        self._events.log("ali.rebid.request" if sent else "ali.rebid.failed", channel=call.line,
                         source=self._ali_device, detail=f"call {call.id}: {text}")
        self._publish()
        return sent

    @Slot()
    def confirm_location(self) -> None:
        """The call-taker has confirmed the location with the caller."""
        call = self._active
        if call is None or call.location_confirmed:
            return
        call.location_confirmed = True
        self._timeline(call, "location_confirmed", "location confirmed with the caller", {})
        self._events.log("call.location.confirmed", channel=call.line, source="console", detail=f"call {call.id}")
        self._publish()

    @Slot(str, str, str)
    def record_transfer(self, name: str, number: str, method: str) -> None:
        """Log a transfer of the call in hand (or a dial with no call, which is logged but not on a call)."""
        call = self._active
        detail = f"{name} {number} ({method})"
        self._events.log("call.transfer", channel=call.line if call else "", source="console",
                         detail=(f"call {call.id}: " if call else "no call: ") + detail)
        if call is not None:
            self._timeline(call, "transfer", f"transfer to {name} {number} ({method})",
                           {"name": name, "number": number, "method": method})
            self._publish()

    @Slot(str, str, str)
    def record_callback(self, call_uid: str, outcome: str, note: str = "") -> None:
        if outcome not in OUTCOMES:
            self._events.log("callback.refused", source="console", detail=f"unknown outcome {outcome!r}")
            return
        if not self.callbacks.record(call_uid, outcome, self.operator, note):
            self._events.log("callback.refused", source="console", detail=f"no open callback for call {call_uid}")
            return
        closes = OUTCOMES[outcome][1]
        self._store.log_call_event(call_uid, "callback_outcome", detail={
            "outcome": outcome, "who": self.operator, "note": note, "closes": closes})
        self._events.log("callback." + outcome, source="console",
                         detail=f"call {call_uid} by {self.operator}" + (f": {note}" if note else ""))
        self._publish()

    @Slot()
    def shutdown(self) -> None:
        """On the control thread, before it stops: timers must be stopped by the thread that runs them."""
        self._auto_rebid.stop()

    def load_callbacks(self, db_path: Any) -> None:
        """Open callback items from earlier sessions (called once at start, on the control thread)."""
        try:
            found = self.callbacks.load(db_path)
        except StoreError as err:
            self._events.log("callback.load.error", source="console", detail=str(err))
            return
        if found:
            self._publish()

    # -- driver events --------------------------------------------------------------------------
    def on_ring(self, ev: RingChanged) -> None:
        if ev.ringing:
            source = "ri" if self._ring_source == "ri" else "phone"
            self._start_ringing(ev.line, ev.call_ref, ev.ani, source, ev.device)
            return
        call = next((c for c in self._ringing.values() if c.call_ref == ev.call_ref and c.line == ev.line), None)
        if call is None:
            return  # stopped ringing because we answered it
        del self._ringing[call.id]
        call.state = "abandoned"
        call.end_wall = time.time()
        rang = call.end_wall - call.ring_wall
        self._timeline(call, "abandon", f"caller hung up after ringing {rang:.1f} s",
                       {"rang_s": round(rang, 3), "ani": call.ani}, wall=call.end_wall)
        self._events.log("call.abandoned", channel=call.line, source=ev.device,
                         detail=f"call {call.id} rang {rang:.1f} s")
        self._open_callback(call, "abandoned")
        self._recent.appendleft(call)
        self._publish()

    def on_bytes(self, ev: BytesReceived) -> None:
        # Raw first: the bytes are queued for the store before anything is made of them.
        self._store.save_raw(ev.device, ev.data)
        for item in self._framer.feed(ev.data):
            if isinstance(item, Garbage):
                self._events.log("ali.garbage", source=ev.device, detail=f"{item.reason}: {printable(item.data)}")
                self._ali_error(f"{item.reason}: {printable(item.data)}")
            else:
                self._on_frame(item, ev.device)

    def on_link_lost(self) -> None:
        for item in self._framer.flush():
            self._events.log("ali.garbage", source=self._ali_device, detail=f"{item.reason}: {printable(item.data)}")

    # -- calls ----------------------------------------------------------------------------------
    def _start_ringing(self, line: str, call_ref: str, ani: str, source: str, device: str) -> _Call:
        call = _Call(next(self._ids), uuid.uuid4().hex[:16], line, call_ref, "ringing", time.time(), ani=ani)
        if ani:
            call.keys.add(ani)
        self._ringing[call.id] = call
        self._timeline(call, "ring", f"ringing on {line}" + (f" from {ani}" if ani else "") + f" ({source})",
                       {"ani": ani, "source": source, "call_ref": call_ref}, wall=call.ring_wall)
        self._events.log("call.ring", channel=line, source=device, detail=f"call {call.id} {call_ref} {ani}".strip())
        self._publish()
        return call

    def _timeline(self, call: _Call, kind: str, text: str, detail: dict[str, Any], *, wall: float | None = None) -> None:
        wall = wall if wall is not None else time.time()
        call.timeline.append(TimelineEntry(wall, kind, text))
        call.changed()
        self._store.log_call_event(call.uid, kind, line=call.line, detail=detail, wall=wall)

    def _open_callback(self, call: _Call, reason: str) -> None:
        view = call.view()
        number = view.number
        spill = view.current_spill
        location = one_line_location(spill.record) if spill is not None else ""
        if self.callbacks.open(call.uid, number, reason, line=call.line, location=location):
            self._store.log_call_event(call.uid, "callback_open", line=call.line, detail={
                "number": number, "reason": reason, "location": location})
            self._events.log("callback.open", channel=call.line, source="console",
                             detail=f"call {call.id} {reason}: call back {number or '(number unknown)'}")

    def _match_flags(self, call: _Call) -> None:
        if self._match_registry is None:
            return
        spill = call.spills[-1] if call.spills else None
        record = spill.record if spill is not None and spill.kind == "ali" else {}
        phones = [p for p in {call.ani, *(str(record.get(k) or "") for k in ("ani", "callback"))} if p]
        try:
            flags = self._match_registry(sorted(phones), record)
        except Exception as err:  # noqa: BLE001 - a registry fault must not stop the pop
            self._events.log("registry.fault", source="registry", detail=f"{type(err).__name__}: {err}")
            return
        new = [f for f in flags if f not in call.flags]
        if new or len(flags) != len(call.flags):
            call.flags = tuple(flags)
            call.changed()
            for flag in new:
                self._timeline(call, "registry_match", f"registry: {flag.category} — {flag.name} ({flag.matched_on})",
                               {"name": flag.name, "category": flag.category, "matched_on": flag.matched_on})
                self._events.log("registry.match", channel=call.line, source="registry",
                                 detail=f"call {call.id}: {flag.category}: {flag.name} by {flag.matched_on}")

    # -- frames ---------------------------------------------------------------------------------
    def _ali_error(self, what: str) -> None:
        self._ali_stats = replace(self._ali_stats, errors=self._ali_stats.errors + 1, last_error=what)
        self._publish()

    def _on_frame(self, frame: Frame, device: str) -> None:
        self.last_frame_t = time.monotonic()
        self.frames_received += 1
        stats = self._ali_stats
        now = time.time()
        heartbeat = frame.kind == "heartbeat"
        self._ali_stats = replace(stats, frames=stats.frames + 1, last_frame_wall=now,
                                  heartbeats=stats.heartbeats + heartbeat,
                                  last_heartbeat_wall=now if heartbeat else stats.last_heartbeat_wall)
        if self._ack and self._ali_send is not None:
            self._ali_send(NAK if frame.bcc_ok is False else ACK)
        if frame.bcc_ok is False:
            self._ali_error(f"{frame.kind}: block check mismatch")
        if frame.kind == "heartbeat":
            if frame.bcc_ok is False:
                self._events.log("ali.heartbeat.bad", source=device, detail="block check mismatch")
            else:
                self._publish()  # the heartbeat's age is shown to the technician
            return
        if frame.kind == "status":
            self._events.log("ali.status", source=device, detail=printable(frame.payload))
            return
        spill = self._spill_from(frame)
        if spill.kind != "ali":
            self._ali_error(f"unparsed: {'; '.join(spill.errors) or 'not a spill'}")
        call, reason = self._target_for(spill)
        key = next(self._pending_keys)
        self._pending[key] = _PendingSpill(spill, call, reason)
        shown_errors = f" [{'; '.join(spill.errors)}]" if spill.errors else ""
        # The frame's log record commits after the raw bytes queued before it: durable, then shown.
        self._events.log("ali.frame" if spill.kind == "ali" else "ali.unparsed", source=device,
                         channel=call.line if call else "", detail=spill.raw_text + shown_errors,
                         on_committed=lambda row, k=key: self._committed.emit(k, row))
        QTimer.singleShot(POP_FALLBACK_MS, self, lambda k=key: self._show(k, None))

    def _spill_from(self, frame: Frame) -> SpillView:
        if self._layout is None:
            kind, errors, record, header, position, raw = "unparsed", (self._layout_problem,), {}, None, None, None
        else:
            parsed = parse_frame(frame, self._layout)
            kind, errors, record = parsed["kind"], tuple(parsed["errors"]), parsed["record"]
            header, position, raw = parsed["header"], parsed["position"], parsed["raw"]
        return SpillView(time.time(), raw if raw is not None else printable(frame.payload), kind, frame.bcc_ok,
                         errors, None, MappingProxyType(dict(record)), header, position,
                         self._layout.name if self._layout else "", next(self._spill_seq))

    def _target_for(self, spill: SpillView) -> tuple[_Call | None, str]:
        if self._position_id and spill.position and spill.position != self._position_id:
            return None, f"spill for position {spill.position}, not {self._position_id}"
        keys = call_keys(spill.record) if spill.kind == "ali" else frozenset()
        active = self._active
        if active is not None:
            if not active.spills or not keys or keys & active.keys:
                return active, ""
            return None, "its numbers differ from the call in hand"
        if keys:
            for call in self._ringing.values():
                if keys & call.keys:
                    return call, ""
        if self._ring_source == "frame" and spill.kind == "ali":
            ani = str(spill.record.get("ani") or "")
            return self._start_ringing("ALI", "", ani, "frame", self._ali_device), ""
        if keys:
            now = time.time()
            for call in self._recent:
                if call.end_wall is not None and now - call.end_wall < LATE_SPILL_S and keys & call.keys:
                    return call, ""
        return None, "no call answered"

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
                self._replace_spill(pending, replace(pending.spill, stored_id=row_id))
                self._publish()
                return
        elif pending.shown:
            return
        pending.shown = True
        pending.spill = replace(pending.spill, stored_id=row_id)
        if pending.call is not None:
            self._attach(pending.call, pending.spill)
        else:
            self._unassigned.appendleft(pending.spill)
            self._events.log("ali.unassigned", source=self._ali_device, detail=pending.reason)
        self._publish()

    def _attach(self, call: _Call, spill: SpillView) -> None:
        rebid = bool(call.spills)
        before = call.spills[-1].value("class_of_service") if rebid else None
        call.spills.append(spill)
        if spill.kind == "ali":
            call.keys |= call_keys(spill.record)
        cos = spill.value("class_of_service")
        if rebid:
            text = f"rebid: {before or '?'} → {cos or '?'}"
        else:
            text = f"ALI received: {cos or spill.kind}"
        self._timeline(call, "spill", text, {
            "raw_id": spill.stored_id, "kind": spill.kind, "cos": cos,
            "ani": spill.value("ani"), "rebid": rebid}, wall=spill.received_wall)
        if rebid:
            self._events.log("ali.rebid", channel=call.line, source=self._ali_device,
                             detail=f"call {call.id}: {text}")
        self._match_flags(call)
        view = call.view()
        self.callbacks.update_location(call.uid, view.number, one_line_location(spill.record))
        self._update_auto_rebid()

    def _replace_spill(self, pending: _PendingSpill, new: SpillView) -> None:
        old = pending.spill
        pending.spill = new
        call = pending.call
        if call is not None and old in call.spills:
            call.spills[call.spills.index(old)] = new
            call.changed()
        elif old in self._unassigned:
            self._unassigned[self._unassigned.index(old)] = new

    def _update_auto_rebid(self) -> None:
        call = self._active
        want = (self._auto_rebid_enabled and self.can_rebid and call is not None and bool(call.spills)
                and call.spills[-1].kind == "ali" and wants_rebid(call.spills[-1].record))
        if want and not self._auto_rebid.isActive():
            self._auto_rebid.start()
        elif not want and self._auto_rebid.isActive():
            self._auto_rebid.stop()

    # -- state ----------------------------------------------------------------------------------
    def snapshot(self) -> CallsSnapshot:
        return CallsSnapshot(
            tuple(c.view() for c in self._ringing.values()),
            self._active.view() if self._active else None,
            tuple(c.view() for c in self._recent),
            tuple(self._unassigned),
            self._seq,
            self.callbacks.views(),
            self.can_rebid,
            self._ring_source == "manual",
            self._transfer_method,
            self._ali_stats,
        )

    def _publish(self) -> None:
        self._seq += 1
        self.changed.emit(self.snapshot())
