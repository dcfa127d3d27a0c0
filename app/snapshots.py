"""Immutable views of console state that the control thread hands to the GUI.

The GUI renders these and nothing else: it never reads a service's attributes. Every string in here
that came from outside (ALI text, device names, config labels) must be shown as plain text.
Times named ``*_t`` are ``time.monotonic()``; times named ``*_wall`` are Unix seconds for display.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    last_rx_wall: float | None = None
    tx_source: str = ""  # input that keyed it


@dataclass(frozen=True, slots=True)
class ConsoleSnapshot:
    channels: tuple[ChannelView, ...] = ()
    ptt_sources: tuple[str, ...] = ()  # inputs currently holding PTT
    seq: int = 0


@dataclass(frozen=True, slots=True)
class SpillView:
    received_wall: float
    raw_text: str  # the frame as text, control bytes shown as <STX>-style tokens
    kind: str  # "ali", "heartbeat", "status", "unparsed"
    bcc_ok: bool | None
    errors: tuple[str, ...] = ()
    stored_id: int | None = None  # row id in the raw spill table once durable


@dataclass(frozen=True, slots=True)
class CallView:
    id: int
    line: str
    state: str  # "ringing", "answered", "released", "abandoned"
    ring_wall: float
    answer_wall: float | None = None
    end_wall: float | None = None
    spills: tuple[SpillView, ...] = ()  # oldest first; the last one is current

    @property
    def current_spill(self) -> SpillView | None:
        return self.spills[-1] if self.spills else None


@dataclass(frozen=True, slots=True)
class CallsSnapshot:
    ringing: tuple[CallView, ...] = ()
    active: CallView | None = None  # the call this position is on
    recent: tuple[CallView, ...] = ()  # ended calls, newest first, bounded
    unassigned_spills: tuple[SpillView, ...] = ()  # spills that arrived with no call answered
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
