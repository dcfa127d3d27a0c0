"""Immutable views of console state that the control thread hands to the GUI.

The GUI renders these and nothing else: it never reads a service's attributes. Every string in here
that came from outside (ALI text, device names, config labels) must be shown as plain text.
Times named ``*_t`` are ``time.monotonic()``; times named ``*_wall`` are Unix seconds for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.calls.tty import TtyView

EMPTY_RECORD: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ChannelView:
    id: str
    name: str
    kind: str  # radio driver kind: sim, serial, hamlib, tone-remote
    selected: bool = False
    receiving: bool = False
    transmitting: bool = False
    key_pending: bool = False  # asked to key, driver has not confirmed yet
    failed_to_key: str = ""  # why the last key request failed; empty when it did not
    link: str = "unknown"  # LinkState value
    link_detail: str = ""
    unit_id: str = ""  # last unit heard, when known
    unit_name: str = ""  # its name from the site's unit alias table ("" when not listed)
    last_rx_wall: float | None = None
    tx_source: str = ""  # input that keyed it
    volume_db: float = 0.0  # what the operator hears of it (patches are not affected)
    pan: float = 0.0  # -1 left ear .. +1 right ear
    muted: bool = False
    monitor: bool = False  # the operator opened its audio regardless of squelch
    channels: tuple[str, ...] = ()  # what the operator can switch the radio to (hamlib channels, tone-remote functions)
    tuned: str = ""  # the one it is on ("" = not switched by the console)
    patch_group: str = ""  # the patch group it is in ("" = none)
    tx_deadline_t: float | None = None  # monotonic time the transmit time-out fires (while keyed)
    tot_warning: bool = False  # the time-out is close: the tile warns
    latched: bool = False  # keyed by a latching PTT (press again to unkey)
    alert: str = ""  # the alert tone being sent on it
    emergency: bool = False  # a unit declared an emergency here, not yet acknowledged
    emergency_unit: str = ""
    emergency_wall: float | None = None


@dataclass(frozen=True, slots=True)
class ConsoleSnapshot:
    channels: tuple[ChannelView, ...] = ()
    ptt_sources: tuple[str, ...] = ()  # inputs currently holding PTT
    seq: int = 0
    patches: tuple[tuple[str, ...], ...] = ()  # groups of channel ids patched together
    patch_ids: tuple[str, ...] = ()  # the group id of each entry of ``patches``
    last_active: str = ""  # the channel that received most recently ("talk back" keys it)
    latching: tuple[str, ...] = ()  # PTT classes whose press toggles


@dataclass(frozen=True, slots=True)
class SpillView:
    received_wall: float
    raw_text: str  # the frame as text, control bytes shown as <STX>-style tokens
    kind: str  # "ali", "heartbeat", "status", "unparsed"
    bcc_ok: bool | None
    errors: tuple[str, ...] = ()
    stored_id: int | None = None  # row id in the event log once durable
    # What the layout read (app.ali.parse RECORD_KEYS; absent fields None). Read-only mapping.
    record: Mapping[str, Any] = field(default_factory=lambda: EMPTY_RECORD)
    header: str | None = None
    position: str | None = None  # the position field of the header, when the layout has one
    layout: str = ""
    seq: int = 0  # per position, in arrival order; tells two identical spills apart

    def value(self, name: str) -> Any:
        return self.record.get(name)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    wall: float
    kind: str  # ring, answer, spill, rebid_request, transfer, location_confirmed, release, abandon, callback_*
    text: str  # one plain line for the timeline list


@dataclass(frozen=True, slots=True)
class RegistryFlag:
    """A special-needs or premise registry entry that matches the call in hand."""

    name: str
    category: str
    notes: str
    address: str = ""
    phone: str = ""
    matched_on: str = ""  # "phone", "address", "phone+address"


@dataclass(frozen=True, slots=True)
class CallView:
    id: int
    line: str
    state: str  # "ringing", "answered", "released", "abandoned"
    ring_wall: float
    answer_wall: float | None = None
    end_wall: float | None = None
    spills: tuple[SpillView, ...] = ()  # oldest first; the last one is current
    uid: str = ""
    ani: str = ""  # from the ring, when the phone system gave it; the spill's ANI is in the spill
    timeline: tuple[TimelineEntry, ...] = ()
    flags: tuple[RegistryFlag, ...] = ()
    location_confirmed: bool = False
    # Why the location must be confirmed with the caller ("" when it need not be): Phase I, no coordinates...
    location_warning: str = ""
    hang_up: bool = False
    tty: TtyView | None = None  # the TTY conversation, once Baudot tones were heard on the call

    @property
    def current_spill(self) -> SpillView | None:
        return self.spills[-1] if self.spills else None

    @property
    def number(self) -> str:
        """The best number to call back: the spill's callback, its ANI, or the ring's ANI."""
        spill = self.current_spill
        if spill is not None:
            for key in ("callback", "ani"):
                value = spill.value(key)
                if value:
                    return str(value)
        return self.ani


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    wall: float
    outcome: str  # reached, no_answer, voicemail, sent_unit
    who: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class CallbackView:
    """A hang-up or abandoned call that must be called back, and what has been tried."""

    call_uid: str
    number: str
    reason: str  # "abandoned" or "hang-up"
    opened_wall: float
    line: str = ""
    location: str = ""  # one line: the last known address or coordinates
    attempts: tuple[CallbackAttempt, ...] = ()
    closed: bool = False


@dataclass(frozen=True, slots=True)
class AliLinkStats:
    """What the ALI link delivered since start, for the technician."""

    frames: int = 0  # whole frames: spills, heartbeats, status messages
    heartbeats: int = 0
    errors: int = 0  # bytes outside frames, bad block checks, spills the layout could not read
    last_frame_wall: float | None = None
    last_heartbeat_wall: float | None = None
    last_error: str = ""


@dataclass(frozen=True, slots=True)
class CallsSnapshot:
    ringing: tuple[CallView, ...] = ()
    active: CallView | None = None  # the call this position is on
    recent: tuple[CallView, ...] = ()  # ended calls, newest first, bounded
    unassigned_spills: tuple[SpillView, ...] = ()  # spills that arrived with no call answered
    seq: int = 0
    callbacks: tuple[CallbackView, ...] = ()  # open items first (oldest first), then recently closed
    can_rebid: bool = False  # the site has a rebid request string and the ALI link can send it
    manual_ring: bool = False  # ring source is the call-taker's Ring button
    transfer_method: str = "copy"  # "copy" or "dtmf"
    ali: AliLinkStats = AliLinkStats()


@dataclass(frozen=True, slots=True)
class AudioCounters:
    """What the audio callback counted since the engine started (PortAudio's status bits)."""

    blocks: int = 0
    input_underflows: int = 0
    input_overflows: int = 0
    output_underflows: int = 0
    output_overflows: int = 0
    clipped_blocks: int = 0


@dataclass(frozen=True, slots=True)
class AudioSnapshot:
    state: str = "unknown"  # LinkState value of the sound device
    detail: str = ""
    alarm: str = ""  # shown to the operator while non-empty: the device is lost and transmitters were unkeyed
    # The sound system failed in a way only a fresh process recovers from (PortAudio after its JACK
    # server died): the GUI restarts the console (restart_after_s in the profile).
    restart_required: bool = False
    restart_after_s: float = 0.0
    backend: str = ""
    device: str = ""
    samplerate: int = 0
    blocksize: int = 0
    latency_ms: tuple[float, float] = (0.0, 0.0)  # (input, output) as the stream reports them
    restarts: int = 0
    counters: AudioCounters = AudioCounters()
    recall: str = ""  # why instant recall is not running; "" when it is
    replaying: str = ""  # the channel whose last transmission is playing in the headset
    test_tones: tuple[int, ...] = ()  # output columns playing the technician's test tone
    input_labels: tuple[str, ...] = ()
    output_labels: tuple[str, ...] = ()
    seq: int = 0


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    id: str
    label: str
    kind: str  # "radio", "input", "ali", "phone", "audio", "store"
    state: str  # LinkState value
    detail: str = ""
    since_wall: float | None = None


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    devices: tuple[DeviceStatus, ...] = ()
    seq: int = 0


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """One line of the event log as the Technician view lists it."""

    wall: float
    kind: str
    channel: str = ""
    source: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PositionInfo:
    name: str
    role: str
    site: str = ""
    profile_path: str = ""
    demo: bool = False
    data_path: str = ""
