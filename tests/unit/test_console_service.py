"""ConsoleService keying rules with simulated radios on their own threads (events come back through a
queued signal, as in the position) and a real event store.

Times are configured short (tens of ms) and waited for with qtbot.waitUntil, never slept.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import sqlite3  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QObject, Signal, Slot  # noqa: E402

from app.console.service import ConsoleService  # noqa: E402
from app.console.settings import ConsoleSettings, RadioKeying  # noqa: E402
from app.eventlog import EventLog  # noqa: E402
from app.snapshots import LoggedEvent  # noqa: E402
from app.store import StoreWriter  # noqa: E402
from hardware.events import (  # noqa: E402
    CarrierChanged, DeviceEvent, DeviceFault, EmergencyDeclared, InputChanged, KeyStateChanged, LinkChanged,
    LinkState,
)
from hardware.sim.radio import SimulatedRadio  # noqa: E402

RADIOS = ("fire", "ems", "police")


class Router(QObject):
    """Driver events, queued to this (the test's) thread, handed to the console like ControlHub does."""

    event = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.console: ConsoleService | None = None
        self.event.connect(self.route)

    def sink(self, ev: DeviceEvent) -> None:
        self.event.emit(ev)

    @Slot(object)
    def route(self, ev: DeviceEvent) -> None:
        c = self.console
        if c is None:  # the rig is being torn down
            return
        if isinstance(ev, CarrierChanged):
            c.on_carrier(ev)
        elif isinstance(ev, KeyStateChanged):
            c.on_key_state(ev)
        elif isinstance(ev, InputChanged):
            c.on_input(ev)
        elif isinstance(ev, LinkChanged):
            c.on_link(ev)
        elif isinstance(ev, DeviceFault):
            c.on_fault(ev)
        elif isinstance(ev, EmergencyDeclared):
            c.on_emergency(ev)


class NeverConfirms:
    """A radio interface that takes key requests and never answers (a dead serial cable)."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self.requests: list[bool] = []

    def start(self) -> None:
        pass

    def key(self, on: bool) -> None:
        self.requests.append(on)

    def stop(self, timeout: float = 2.0) -> bool:
        return True


@dataclass
class Rig:
    console: ConsoleService
    radios: dict[str, SimulatedRadio]
    logged: list[LoggedEvent]
    router: Router
    store: StoreWriter
    tones: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    alarms: list[bool] = field(default_factory=list)

    def view(self, cid: str):
        return next(v for v in self.console.snapshot().channels if v.id == cid)

    def kinds(self, kind: str) -> list[LoggedEvent]:
        return [e for e in self.logged if e.kind == kind]


@pytest.fixture
def make_rig(qtbot, tmp_path):
    made: list[Rig] = []

    def make(settings: ConsoleSettings | None = None, extra=()) -> Rig:
        store = StoreWriter(tmp_path / f"console{len(made)}.sqlite3")
        store.start()
        events = EventLog(store)
        logged: list[LoggedEvent] = []
        events.logged.connect(logged.append)
        router = Router()
        radios = {rid: SimulatedRadio(rid, router.sink, bursts_per_minute=0, jitter_ms=0, seed=1) for rid in RADIOS}
        drivers = [(rid, rid.upper(), "sim", radio) for rid, radio in radios.items()] + list(extra)
        console = ConsoleService(drivers, events, ptt_inputs={"foot", "headset"},
                                 settings=settings or ConsoleSettings(), operator="tester@POS 1")
        router.console = console
        rig = Rig(console, radios, logged, router, store)
        voice_ids = iter(range(100, 1000))

        def play(kind: str, channels: tuple[str, ...]) -> int:
            rig.tones.append((kind, channels))
            return next(voice_ids)

        console.set_tone_player(play)
        console.alarm.connect(rig.alarms.append)
        for radio in radios.values():
            radio.start()
        qtbot.waitUntil(lambda: all(rig.view(r).link == "up" for r in RADIOS))
        made.append(rig)
        return rig

    yield make
    for rig in made:
        rig.console.shutdown()
        for radio in rig.radios.values():
            assert radio.stop(2.0)
        rig.router.console = None
        rig.store.stop()


def settings(**kw) -> ConsoleSettings:
    base = dict(source_classes={"foot": "footswitch", "headset": "headset", "desk": "desk"})
    base.update(kw)
    return ConsoleSettings(**base)


def keyed(rig: Rig, cid: str) -> bool:
    return rig.view(cid).transmitting and rig.radios[cid].keyed


def idle(rig: Rig, cid: str) -> bool:
    v = rig.view(cid)
    return not v.transmitting and not v.key_pending and not rig.radios[cid].keyed


# ---- multi-select, instant transmit, talk back --------------------------------------------------

def test_multi_select_keys_every_target_and_marks_the_one_that_failed(make_rig, qtbot):
    dead = NeverConfirms("old")
    rig = make_rig(settings(key_confirm_s=0.1), extra=[("old", "OLD", "serial", dead)])
    rig.console.select_channel("fire")
    rig.console.select_channel("ems", exclusive=False)
    rig.console.select_channel("old", exclusive=False)
    rig.console.ptt("console", True)
    qtbot.waitUntil(lambda: keyed(rig, "fire") and keyed(rig, "ems"))
    qtbot.waitUntil(lambda: "did not confirm" in rig.view("old").failed_to_key)
    assert dead.requests[0] is True and dead.requests[-1] is False  # asked to key, then made safe
    assert idle(rig, "police")
    rig.console.ptt("console", False)
    qtbot.waitUntil(lambda: idle(rig, "fire") and idle(rig, "ems"))
    assert [e.channel for e in rig.kinds("ptt.failed")] == ["old"]
    assert {e.channel for e in rig.kinds("ptt.unkey")} == {"fire", "ems"}
    assert all(e.source == "console" and e.detail == "released" for e in rig.kinds("ptt.unkey"))


def test_instant_transmit_keys_one_channel_whatever_is_selected(make_rig, qtbot):
    rig = make_rig()
    rig.console.select_channel("fire")
    rig.console.instant_transmit("police", "console", True)
    qtbot.waitUntil(lambda: keyed(rig, "police"))
    assert idle(rig, "fire")
    rig.console.ptt("console", True)  # the general PTT of the same source is a hold of its own
    qtbot.waitUntil(lambda: keyed(rig, "fire"))
    rig.console.instant_transmit("police", "console", False)
    qtbot.waitUntil(lambda: idle(rig, "police"))
    assert keyed(rig, "fire")
    rig.console.ptt("console", False)
    qtbot.waitUntil(lambda: idle(rig, "fire"))


def test_talk_back_keys_the_channel_that_received_last(make_rig, qtbot):
    rig = make_rig()
    rig.console.talk_back("console", True)
    assert rig.kinds("ptt.refused")[-1].detail == "no channel has received yet"
    rig.radios["ems"].inject_burst(0.05, "E12")
    qtbot.waitUntil(lambda: rig.console.snapshot().last_active == "ems" and not rig.view("ems").receiving)
    rig.console.select_channel("fire")
    rig.console.talk_back("console", True)
    qtbot.waitUntil(lambda: keyed(rig, "ems"))
    assert idle(rig, "fire")
    rig.console.talk_back("console", False)
    qtbot.waitUntil(lambda: idle(rig, "ems"))


# ---- priority ------------------------------------------------------------------------------------

def test_higher_source_takes_over_and_lower_one_is_refused(make_rig, qtbot):
    rig = make_rig(settings())
    rig.console.select_channel("fire")
    rig.console.ptt("foot", True)
    qtbot.waitUntil(lambda: keyed(rig, "fire"))
    assert rig.view("fire").tx_source == "foot"
    rig.console.ptt("console", True)  # the console button outranks the footswitch
    assert rig.view("fire").tx_source == "console" and rig.console.holder_of("fire") == "console"
    assert rig.kinds("ptt.takeover")[-1].detail == "from foot"
    rig.console.ptt("headset", True)  # lower than the console: refused
    assert rig.kinds("ptt.refused")[-1].detail == "held by console"
    rig.console.ptt("foot", False)  # the footswitch's release no longer unkeys anything
    rig.console.ptt("headset", False)
    assert keyed(rig, "fire")
    rig.console.ptt("console", False)
    qtbot.waitUntil(lambda: idle(rig, "fire"))
    assert rig.kinds("ptt.unkey")[-1].source == "console"


def test_configured_priority_and_equal_sources_do_not_fight(make_rig, qtbot):
    rig = make_rig(settings(priority=("footswitch", "console", "headset", "desk"),
                            source_classes={"foot": "footswitch", "foot2": "footswitch"}))
    rig.console.select_channel("ems")
    rig.console.ptt("foot", True)
    qtbot.waitUntil(lambda: keyed(rig, "ems"))
    rig.console.ptt("console", True)  # now below the footswitch
    rig.console.ptt("foot2", True)  # same class: the first one keeps it
    assert [e.source for e in rig.kinds("ptt.refused")] == ["console", "foot2"]
    assert rig.console.holder_of("ems") == "foot"
    rig.console.ptt("foot", False)
    qtbot.waitUntil(lambda: idle(rig, "ems"))


def test_input_lost_while_pressed_unkeys(make_rig, qtbot):
    rig = make_rig(settings())
    rig.console.select_channel("fire")
    rig.router.sink(InputChanged("foot", True))
    qtbot.waitUntil(lambda: keyed(rig, "fire"))
    rig.router.sink(LinkChanged("foot", LinkState.DOWN, "unplugged"))
    qtbot.waitUntil(lambda: idle(rig, "fire"))
    assert rig.kinds("ptt.unkey")[-1].detail == "input lost: unplugged"


# ---- latching and the time-out timer -------------------------------------------------------------

def test_latching_press_toggles_and_the_time_out_still_fires(make_rig, qtbot):
    rig = make_rig(settings(latching=frozenset({"console"}), tot_s=0.4, tot_warning_s=0.2))
    rig.console.select_channel("police")
    rig.console.ptt("console", True)
    rig.console.ptt("console", False)  # a latched press survives its release
    qtbot.waitUntil(lambda: keyed(rig, "police"))
    view = rig.view("police")
    assert view.latched and view.tx_deadline_t is not None
    rig.console.ptt("console", True)  # second press: off
    qtbot.waitUntil(lambda: idle(rig, "police"))
    assert rig.kinds("ptt.unkey")[-1].detail == "latch released"

    rig.console.ptt("console", True)
    rig.console.ptt("console", False)
    qtbot.waitUntil(lambda: idle(rig, "police") and rig.kinds("ptt.tot_warning") != [], timeout=2000)
    warned, timed_out = rig.kinds("ptt.tot_warning")[-1], rig.kinds("ptt.unkey")[-1]
    assert 0.1 <= timed_out.wall - warned.wall < 0.4  # the warning came tot_warning_s before
    assert rig.kinds("ptt.unkey")[-1].detail == "time-out after 0.4 s"
    assert rig.kinds("ptt.tot_warning")[-1].channel == "police"
    rig.console.ptt("console", True)  # the latch went with the time-out: this press keys afresh
    qtbot.waitUntil(lambda: keyed(rig, "police"))


def test_time_out_unkeys_a_held_ptt_and_release_after_is_quiet(make_rig, qtbot):
    rig = make_rig(settings(tot_s=0.2, tot_warning_s=0.1))
    rig.console.select_channel("fire")
    rig.console.ptt("foot", True)
    qtbot.waitUntil(lambda: keyed(rig, "fire"))
    qtbot.waitUntil(lambda: idle(rig, "fire"), timeout=2000)
    unkeys = len(rig.kinds("ptt.unkey"))
    rig.console.ptt("foot", False)
    assert len(rig.kinds("ptt.unkey")) == unkeys


# ---- busy-channel lockout, talk permit, key-up delay -----------------------------------------------

def test_busy_lockout_refuses_then_a_second_press_overrides(make_rig, qtbot):
    rig = make_rig(settings(radios={"fire": RadioKeying(busy_lockout=True)}, lockout_override_s=5.0))
    rig.console.select_channel("fire")
    rig.radios["fire"].inject_burst(3.0, "E1")
    qtbot.waitUntil(lambda: rig.view("fire").receiving)
    rig.console.ptt("console", True)
    assert rig.view("fire").failed_to_key.startswith("busy")
    assert not rig.view("fire").key_pending
    rig.console.ptt("console", False)
    rig.console.ptt("console", True)  # again within the window: keys anyway
    assert rig.view("fire").key_pending
    assert rig.kinds("ptt.override")[-1].detail.startswith("busy channel keyed: pressed again")
    rig.console.ptt("console", False)
    qtbot.waitUntil(lambda: idle(rig, "fire"))


def test_busy_lockout_explicit_override_and_window_expiry(make_rig, qtbot):
    rig = make_rig(settings(radios={"ems": RadioKeying(busy_lockout=True)}, lockout_override_s=0.0))
    rig.console.select_channel("ems")
    rig.radios["ems"].inject_burst(3.0)
    qtbot.waitUntil(lambda: rig.view("ems").receiving)
    rig.console.ptt("console", True)
    rig.console.ptt("console", False)
    qtbot.wait(5)  # past a zero-length override window
    rig.console.ptt("console", True)
    assert not rig.view("ems").key_pending  # refused again
    rig.console.ptt("console", False)
    rig.console.ptt("console", True, override=True)
    assert rig.view("ems").key_pending
    assert rig.kinds("ptt.override")[-1].detail == "busy channel keyed: override"
    rig.console.ptt("console", False)


def test_key_up_delay_then_talk_permit(make_rig, qtbot):
    rig = make_rig(settings(radios={"fire": RadioKeying(talk_permit=True, key_up_delay_ms=150)}))
    shown: list[float] = []  # when the channel first showed keyed
    rig.console.changed.connect(lambda snap: shown.append(time.time()) if not shown and any(
        v.id == "fire" and v.transmitting for v in snap.channels) else None)
    rig.console.select_channel("fire")
    rig.console.ptt("console", True)
    assert rig.tones == []
    qtbot.waitUntil(lambda: rig.view("fire").transmitting)
    assert shown[0] - rig.kinds("ptt.key")[-1].wall >= 0.15  # not before the key-up delay
    assert rig.tones == [("talk_permit", ("fire",))]
    rig.console.ptt("console", False)
    qtbot.waitUntil(lambda: idle(rig, "fire"))


# ---- patches -----------------------------------------------------------------------------------------

def test_patch_repeats_carrier_with_hang_time(make_rig, qtbot):
    rig = make_rig(settings(patch_hang_s=0.3))
    rig.console.patch("p1", ("fire", "ems", "police"))
    snap = rig.console.snapshot()
    assert snap.patches == (("fire", "ems", "police"),) and snap.patch_ids == ("p1",)
    assert rig.view("ems").patch_group == "p1"
    rig.radios["fire"].inject_burst(0.2, "E7")
    qtbot.waitUntil(lambda: keyed(rig, "ems") and keyed(rig, "police"))
    assert rig.view("ems").tx_source == "patch:p1" and idle(rig, "fire")
    qtbot.waitUntil(lambda: idle(rig, "ems") and idle(rig, "police"), timeout=2000)
    rx_end = next(e for e in rig.logged if e.kind == "rx.end" and e.channel == "fire")
    unkey = next(e for e in rig.logged if e.kind == "ptt.unkey" and e.channel == "ems")
    assert unkey.detail == "patch hang time over"
    assert unkey.wall - rx_end.wall >= 0.29  # held for the hang time after the carrier dropped


def test_operator_takes_a_patched_channel_and_unpatch_unkeys(make_rig, qtbot):
    rig = make_rig(settings(patch_hang_s=5.0))
    rig.console.patch("p1", ("fire", "ems"))
    rig.console.patch("p2", ("police", "ems"))  # ems moves: p1 has one channel left and dissolves
    snap = rig.console.snapshot()
    assert snap.patch_ids == ("p2",) and rig.view("fire").patch_group == ""
    rig.radios["police"].inject_burst(0.05)
    qtbot.waitUntil(lambda: keyed(rig, "ems"))
    rig.console.instant_transmit("ems", "console", True)  # the operator outranks the patch
    assert rig.console.holder_of("ems") == "console"
    rig.console.instant_transmit("ems", "console", False)
    qtbot.waitUntil(lambda: idle(rig, "ems"))
    rig.radios["police"].inject_burst(0.05)
    qtbot.waitUntil(lambda: keyed(rig, "ems"))
    rig.console.unpatch("p2")
    qtbot.waitUntil(lambda: idle(rig, "ems"))
    assert rig.view("ems").patch_group == "" and rig.console.snapshot().patches == ()
    assert rig.kinds("ptt.unkey")[-1].detail == "unpatched"
    rig.console.patch("bad", ("fire", "nope"))
    assert "unknown channel" in rig.kinds("patch.refused")[-1].detail


def test_talking_on_a_patched_channel_keys_the_whole_patch(make_rig, qtbot):
    rig = make_rig(settings(patch_hang_s=0.2))
    rig.console.patch("p1", ("fire", "ems"))
    rig.console.select_channel("fire")
    rig.console.ptt("console", True)
    qtbot.waitUntil(lambda: keyed(rig, "fire") and keyed(rig, "ems"))
    assert rig.console.holder_of("ems") == "console" and idle(rig, "police")
    rig.console.ptt("console", False)
    qtbot.waitUntil(lambda: idle(rig, "fire") and idle(rig, "ems"))


# ---- alerts ---------------------------------------------------------------------------------------------

def test_alert_holds_ptt_for_the_tone_and_releases_after(make_rig, qtbot):
    rig = make_rig(settings(radios={"ems": RadioKeying(key_up_delay_ms=50)}))
    rig.console.select_channel("fire")
    rig.console.send_alert("alert2", ("fire", "ems"))
    assert rig.view("fire").alert == "alert2"
    qtbot.waitUntil(lambda: rig.tones != [])
    assert rig.tones == [("alert2", ("fire", "ems"))]  # once both were on the air
    assert keyed(rig, "fire") and keyed(rig, "ems")
    rig.console.ptt("foot", True)  # lower than an alert: refused while the tone plays
    assert rig.console.holder_of("fire") == "alert:alert2"
    rig.console.on_voice_finished(100)
    qtbot.waitUntil(lambda: idle(rig, "fire") and idle(rig, "ems"))
    assert rig.kinds("ptt.unkey")[-1].detail == "alert alert2 sent"
    rig.console.send_alert("siren", ())
    assert "unknown alert" in rig.kinds("alert.refused")[-1].detail


def test_alert_on_selected_without_a_tone_path_unkeys(make_rig, qtbot):
    rig = make_rig()
    rig.console.set_tone_player(lambda kind, channels: None)  # no transmit output for it
    rig.console.select_channel("police")
    rig.console.send_alert("alert1", ())
    qtbot.waitUntil(lambda: rig.kinds("ptt.unkey") != [])
    qtbot.waitUntil(lambda: idle(rig, "police"))
    assert "no tone" in rig.kinds("ptt.unkey")[-1].detail


# ---- emergency ------------------------------------------------------------------------------------------

def test_emergency_sounds_until_acknowledged_and_the_ack_is_logged(make_rig, qtbot, tmp_path):
    rig = make_rig()
    rig.radios["police"].inject_emergency("2B4F")
    qtbot.waitUntil(lambda: rig.view("police").emergency)
    assert rig.view("police").emergency_unit == "2B4F" and rig.alarms == [True]
    rig.router.sink(EmergencyDeclared("fire", "", source="mdc1200"))
    qtbot.waitUntil(lambda: rig.view("fire").emergency)
    rig.console.acknowledge_emergency("police")
    assert rig.alarms == [True]  # fire is still not acknowledged
    rig.console.acknowledge_emergency("fire")
    assert rig.alarms == [True, False] and not rig.view("police").emergency
    acks = rig.kinds("emergency.ack")
    assert [(a.channel, a.source, a.detail) for a in acks] == [
        ("police", "tester@POS 1", "unit 2B4F"), ("fire", "tester@POS 1", "unit unknown")]
    assert rig.store.flush()
    with sqlite3.connect(rig.store.path) as db:
        rows = db.execute("SELECT kind, channel, source FROM events WHERE kind LIKE 'emergency%' ORDER BY id").fetchall()
    assert ("emergency", "police", "sim") in rows and ("emergency.ack", "police", "tester@POS 1") in rows


# ---- fail safe ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["shutdown", "fail_safe"])
def test_shutdown_and_fail_safe_unkey_patches_and_alerts(make_rig, qtbot, how):
    rig = make_rig(settings(patch_hang_s=30.0))
    rig.console.patch("p1", ("fire", "ems"))
    rig.radios["fire"].inject_burst(0.05)
    qtbot.waitUntil(lambda: keyed(rig, "ems"))
    rig.console.send_alert("alert1", ("police",))
    qtbot.waitUntil(lambda: keyed(rig, "police"))
    rig.radios["ems"].inject_emergency("1111")
    qtbot.waitUntil(lambda: rig.view("ems").emergency)
    if how == "shutdown":
        rig.console.shutdown()
    else:
        rig.console.fail_safe("audio device lost")
    qtbot.waitUntil(lambda: all(idle(rig, r) for r in RADIOS))
    assert rig.console.snapshot().ptt_sources == ()
    if how == "shutdown":
        assert rig.alarms[-1] is False
        rig.console.ptt("console", True)
        assert rig.kinds("ptt.refused")[-1].detail == "console shutting down"
    else:
        rig.console.select_channel("fire")
        rig.console.ptt("console", True)  # keying works again after a fail-safe
        qtbot.waitUntil(lambda: keyed(rig, "fire"))
        rig.console.ptt("console", False)


def test_radio_fault_while_held_drops_it(make_rig, qtbot):
    rig = make_rig()
    rig.console.select_channel("fire")
    rig.console.ptt("console", True)
    qtbot.waitUntil(lambda: keyed(rig, "fire"))
    rig.router.sink(DeviceFault("fire", "cable pulled"))
    qtbot.waitUntil(lambda: rig.view("fire").link == "fault")
    assert not rig.view("fire").transmitting and not rig.radios["fire"].keyed
    assert rig.console.holder_of("fire") == ""
