"""The calls service against a real store: pop, rebids, stray spills, callbacks, location prompts, ACK/NAK.

Spills are built with the simulator's 30W formatter and fed as the ALI reader delivers them (split
into pieces); the store is a real SQLite file, so "stored before shown" is checked for real.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from app.ali.layouts import load_layout
from app.calls.service import ACK, NAK, CallsService
from app.eventlog import EventLog
from app.snapshots import RegistryFlag
from app.store import StoreWriter
from hardware.events import BytesReceived, RingChanged
from hardware.sim.spills import DEMO_RECORDS, HEARTBEAT, format_30w, frame, rebid_of

RESD, BUSN, WPH1, WPH2, VOIP = (DEMO_RECORDS[i] for i in range(5))


class Calls:
    """A CallsService on the test's thread with a real store, and what it sent back on the ALI link."""

    def __init__(self, tmp_path, **options):
        self.db = tmp_path / "calls.sqlite3"
        self.store = StoreWriter(self.db)
        self.store.start()
        self.events = EventLog(self.store)
        self.sent: list[bytes] = []
        self.link_up = True
        self.snapshots = []
        self.fed = bytearray()
        options.setdefault("layout", load_layout("30w"))
        options.setdefault("ali_send", self._send)
        self.service = CallsService(self.events, self.store, ali_device="ali", operator="tester@CT-1", **options)
        self.service.changed.connect(self.snapshots.append)

    def _send(self, data: bytes) -> bool:
        if self.link_up:
            self.sent.append(data)
        return self.link_up

    @property
    def snap(self):
        return self.service.snapshot()

    def ring(self, ani="", ref="R1", line="911-1"):
        self.service.on_ring(RingChanged("phone", line, True, 0.0, ref, ani))

    def stop_ringing(self, ref="R1", line="911-1"):
        self.service.on_ring(RingChanged("phone", line, False, 0.0, ref))

    def feed(self, data: bytes, pieces: int = 3):
        self.fed += data
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            self.service.on_bytes(BytesReceived("ali", data[i:i + step], 0.0))

    def spill(self, record, *, bcc=True, header="2001"):
        self.feed(frame(format_30w(record, header), bcc))

    def close(self):
        self.store.stop()

    def call_events(self):
        self.store.flush()
        with sqlite3.connect(self.db) as db:
            return [(uid, kind, json.loads(detail)) for uid, kind, detail in
                    db.execute("SELECT call_uid, kind, detail FROM call_events ORDER BY id")]


@pytest.fixture
def calls(qtbot, tmp_path):
    c = Calls(tmp_path)
    yield c
    c.close()


def answered(calls, qtbot, record, **kw):
    calls.ring(record.ani)
    calls.service.answer_call()
    calls.spill(record, **kw)
    qtbot.waitUntil(lambda: bool(calls.snap.active and calls.snap.active.spills), timeout=3000)
    return calls.snap.active


def test_spill_pops_parsed_after_its_raw_bytes_are_stored(qtbot, calls):
    call = answered(calls, qtbot, BUSN)
    spill = call.current_spill
    assert spill.stored_id is not None, "popped before the store committed it"
    assert spill.kind == "ali" and spill.bcc_ok is True and spill.errors == ()
    assert spill.value("ani") == "7195550102"
    assert spill.value("house_number") == "4410" and spill.value("street") == "ACADEMY BLVD"
    assert spill.value("prefix_directional") == "N" and spill.value("location") == "BLDG C"
    assert spill.value("class_of_service") == "BUSN" and spill.value("service") == "Business"
    assert call.location_warning == ""
    with sqlite3.connect(calls.db) as db:
        raw = b"".join(r[0] for r in db.execute("SELECT data FROM raw_spills ORDER BY id"))
    assert raw == bytes(calls.fed)  # every byte, as received


def test_phase1_rebid_updates_the_same_call_and_keeps_history(qtbot, calls):
    call = answered(calls, qtbot, WPH1)
    assert "Phase I" in call.location_warning
    calls.spill(rebid_of(WPH1))
    qtbot.waitUntil(lambda: len(calls.snap.active.spills) == 2, timeout=3000)
    call = calls.snap.active
    assert [s.value("class_of_service") for s in call.spills] == ["WPH1", "WPH2"]
    assert call.location_warning == ""  # Phase II with 9 m uncertainty
    assert len(calls.snap.ringing) == 0 and calls.snap.unassigned_spills == ()
    assert any("rebid: WPH1 → WPH2" in e.text for e in call.timeline)
    # and back down again: a later Phase I rebid brings the warning back
    calls.spill(WPH1)
    qtbot.waitUntil(lambda: len(calls.snap.active.spills) == 3, timeout=3000)
    assert "Phase I" in calls.snap.active.location_warning
    kinds = [k for _uid, k, _d in calls.call_events()]
    assert kinds == ["ring", "answer", "spill", "spill", "spill"]


def test_spill_with_other_numbers_during_a_call_is_listed_not_attached(qtbot, calls):
    answered(calls, qtbot, RESD)
    calls.spill(BUSN)
    qtbot.waitUntil(lambda: len(calls.snap.unassigned_spills) == 1, timeout=3000)
    assert len(calls.snap.active.spills) == 1
    assert calls.snap.unassigned_spills[0].value("ani") == BUSN.ani


def test_spill_with_no_call_is_unassigned_and_late_rebid_finds_its_ended_call(qtbot, calls):
    calls.spill(RESD)
    qtbot.waitUntil(lambda: len(calls.snap.unassigned_spills) == 1, timeout=3000)
    answered(calls, qtbot, WPH1)
    calls.service.release_call()
    calls.spill(rebid_of(WPH1))
    qtbot.waitUntil(lambda: len(calls.snap.recent[0].spills) == 2, timeout=3000)
    assert len(calls.snap.unassigned_spills) == 1


def test_frame_that_does_not_fit_pops_raw_with_reason(qtbot, calls):
    calls.ring()
    calls.service.answer_call()
    calls.feed(frame("NOT A 30W SPILL\r\nJUST TEXT"))
    qtbot.waitUntil(lambda: bool(calls.snap.active.spills), timeout=3000)
    spill = calls.snap.active.current_spill
    assert spill.kind == "unparsed" and spill.errors
    assert "NOT A 30W SPILL" in spill.raw_text
    assert "did not read" in calls.snap.active.location_warning


def test_bad_block_check_is_shown_and_nakked(qtbot, calls):
    calls.service._ack = True
    data = bytearray(frame(format_30w(RESD, "2001")))
    data[-1] ^= 0x55
    calls.ring(RESD.ani)
    calls.service.answer_call()
    calls.feed(bytes(data))
    qtbot.waitUntil(lambda: bool(calls.snap.active.spills), timeout=3000)
    spill = calls.snap.active.current_spill
    assert spill.bcc_ok is False and any("block check" in e for e in spill.errors)
    assert spill.value("house_number") == "1000"  # still read: the call-taker sees it, flagged
    calls.feed(frame(HEARTBEAT))
    assert calls.sent == [NAK, ACK]


def test_abandoned_call_opens_a_callback_that_outcomes_close(qtbot, calls, tmp_path):
    calls.ring("7195550199", ref="A1")
    calls.stop_ringing(ref="A1")
    snap = calls.snap
    assert snap.recent[0].state == "abandoned"
    (item,) = snap.callbacks
    assert item.number == "7195550199" and item.reason == "abandoned" and not item.closed
    calls.service.record_callback(item.call_uid, "no_answer", "rang out")
    (item,) = calls.snap.callbacks
    assert not item.closed and item.attempts[0].outcome == "no_answer" and item.attempts[0].who == "tester@CT-1"
    calls.service.record_callback(item.call_uid, "sent_unit", "unit 12 sent")
    (item,) = calls.snap.callbacks
    assert item.closed and [a.outcome for a in item.attempts] == ["no_answer", "sent_unit"]
    calls.service.record_callback(item.call_uid, "reached")  # closed: refused, nothing recorded
    assert len(calls.snap.callbacks[0].attempts) == 2
    kinds = [k for _u, k, _d in calls.call_events()]
    assert kinds == ["ring", "abandon", "callback_open", "callback_outcome", "callback_outcome"]


def test_open_callbacks_survive_a_restart(qtbot, calls, tmp_path):
    calls.ring("7195550199", ref="A1")
    calls.stop_ringing(ref="A1")
    answered(calls, qtbot, WPH2)
    calls.service.release_call(hang_up=True)
    uid_abandoned = calls.snap.callbacks[0].call_uid
    calls.service.record_callback(uid_abandoned, "reached")
    calls.store.flush()
    again = CallsService(calls.events, calls.store)
    again.load_callbacks(calls.db)
    items = again.snapshot().callbacks
    open_items = [i for i in items if not i.closed]
    assert [(i.reason, i.number) for i in open_items] == [("hang-up", WPH2.callback)]
    assert "PINE CREEK RD" in open_items[0].location
    assert [i.closed for i in items] == [False, True]


def test_confirm_location_clears_the_prompt_and_is_on_the_timeline(qtbot, calls):
    answered(calls, qtbot, VOIP)
    assert "VoIP" in calls.snap.active.location_warning
    calls.service.confirm_location()
    assert calls.snap.active.location_warning == ""
    assert calls.snap.active.timeline[-1].kind == "location_confirmed"


def test_manual_and_automatic_rebid_send_the_sites_request(qtbot, tmp_path):
    c = Calls(tmp_path, rebid_request=b"\x02RB\x03", auto_rebid_s=0.05)
    try:
        assert c.service.can_rebid
        answered(c, qtbot, WPH1)
        qtbot.waitUntil(lambda: len(c.sent) >= 2, timeout=3000)  # automatic, while Phase I
        assert set(c.sent) == {b"\x02RB\x03"}
        c.spill(rebid_of(WPH1))
        qtbot.waitUntil(lambda: len(c.snap.active.spills) == 2, timeout=3000)
        assert not c.service._auto_rebid.isActive()  # Phase II: no more automatic rebids
        c.link_up = False
        assert c.service.request_rebid() is False
        assert "NOT sent" in c.snap.active.timeline[-1].text
    finally:
        c.close()


def test_rebid_is_refused_without_a_request_string(qtbot, calls):
    answered(calls, qtbot, WPH1)
    assert calls.snap.can_rebid is False
    assert calls.service.request_rebid() is False
    assert calls.sent == []


def test_spills_for_another_position_are_not_attached(qtbot, tmp_path):
    c = Calls(tmp_path, position_id="517")
    try:
        c.ring(RESD.ani)
        c.service.answer_call()
        c.spill(RESD, header="2001")  # position field reads "001"
        qtbot.waitUntil(lambda: len(c.snap.unassigned_spills) == 1, timeout=3000)
        assert c.snap.active.spills == ()
        c.spill(RESD, header="2517")
        qtbot.waitUntil(lambda: len(c.snap.active.spills) == 1, timeout=3000)
    finally:
        c.close()


def test_frame_ring_source_rings_a_call_from_the_spill(qtbot, tmp_path):
    c = Calls(tmp_path, ring_source="frame")
    try:
        c.spill(RESD)
        qtbot.waitUntil(lambda: len(c.snap.ringing) == 1 and bool(c.snap.ringing[0].spills), timeout=3000)
        assert c.snap.ringing[0].ani == RESD.ani
        c.service.answer_call()
        assert c.snap.active.current_spill.value("street") == "OAK VALLEY DR"
    finally:
        c.close()


def test_registry_flags_show_on_the_call(qtbot, tmp_path):
    seen = []

    def match(phones, record):
        seen.append((tuple(phones), record.get("street")))
        if RESD.ani in phones:
            return (RegistryFlag("DOE, JOHN", "oxygen in use", "home oxygen, no smoking", matched_on="phone"),)
        return ()

    c = Calls(tmp_path, match_registry=match)
    try:
        call = answered(c, qtbot, RESD)
        assert [f.category for f in call.flags] == ["oxygen in use"]
        assert seen[0] == ((RESD.ani,), None)  # at answer: the ring's ANI only
        assert seen[-1][1] == "OAK VALLEY DR"  # after the spill: its address too
        assert any(e.kind == "registry_match" for e in call.timeline)
    finally:
        c.close()


def test_transfer_is_logged_on_the_call(qtbot, calls):
    answered(calls, qtbot, RESD)
    calls.service.record_transfer("DEMO CITY PD", "7195550110", "copy")
    assert calls.snap.active.timeline[-1].text == "transfer to DEMO CITY PD 7195550110 (copy)"
    assert calls.call_events()[-1][1:] == ("transfer", {"method": "copy", "name": "DEMO CITY PD",
                                                       "number": "7195550110"})


def test_a_store_that_cannot_be_read_for_callbacks_is_logged_not_ignored(qtbot, calls, tmp_path):
    logged = []
    calls.events.logged.connect(logged.append)
    calls.service.load_callbacks(tmp_path / "missing.sqlite3")
    assert [(e.kind, "missing.sqlite3" in e.detail) for e in logged] == [("callback.load.error", True)]
    assert calls.snap.callbacks == ()


def test_the_link_counts_frames_heartbeats_and_errors_for_the_technician(qtbot, calls):
    assert calls.service.snapshot().ali.frames == 0
    calls.feed(frame(HEARTBEAT))
    calls.feed(b"\x15noise between frames")
    calls.feed(frame("NOT A 30W SPILL"))
    bad = bytearray(frame(HEARTBEAT))
    bad[-1] ^= 0x55
    calls.feed(bytes(bad))
    calls.feed(frame(format_30w(RESD, "2001")))
    qtbot.waitUntil(lambda: calls.snap.ali.frames == 4, timeout=3000)
    qtbot.waitUntil(lambda: len(calls.snap.unassigned_spills) == 2, timeout=3000)  # both shown, none lost
    stats = calls.snap.ali
    assert stats.heartbeats == 2 and stats.last_heartbeat_wall is not None
    assert stats.errors == 3  # the noise, the frame the layout could not read, the bad block check
    assert "block check" in stats.last_error
