"""The position's inventory: what is plugged in (hardware/discovery.py) next to what the profile
configures, with each configured device marked found, open and healthy.

- found: the thing the profile names is on this machine now (a listed serial port or an existing
  device path, a MIDI port whose name contains the configured text, a sound device matching the
  profile's name or index). None when it cannot be told without connecting (network URLs, rigctld).
- open / healthy: from the running position's link states (``position.status``): up = open and
  healthy, down = not open, fault = open or not, not healthy. None without a running position
  (``diag list`` from the command line).

Pure: no Qt, no I/O beyond ``os.path`` checks of device paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from hardware.discovery import Discovery

NETWORK_SCHEMES = ("socket://", "rfc2217://", "tcp-listen://", "tcp://", "udp://")


@dataclass(frozen=True, slots=True)
class ConfiguredDevice:
    id: str
    label: str
    kind: str  # radio | input | ali | phone | audio
    driver_kind: str  # the profile's kind: serial, hamlib, midi, ...
    address: str  # what the profile points at: a URL, a port name, host:port
    found: bool | None = None  # None: cannot be told without connecting
    found_as: str = ""  # the discovered entry it matched, or why it was not found / not checked
    state: str = ""  # the position's LinkState value ("" without a running position)
    detail: str = ""
    open: bool | None = None
    healthy: bool | None = None


@dataclass(frozen=True, slots=True)
class Inventory:
    discovery: Discovery
    configured: tuple[ConfiguredDevice, ...] = ()

    def as_dict(self) -> dict:
        return {**self.discovery.as_dict(), "configured": [asdict(c) for c in self.configured]}

    def device(self, device_id: str) -> ConfiguredDevice | None:
        return next((c for c in self.configured if c.id == device_id), None)


def build_inventory(discovery: Discovery, profile: Any | None = None, status: Any | None = None) -> Inventory:
    """``profile``: a loaded Profile (None: discovered devices only). ``status``: the position's
    StatusSnapshot (None: open/healthy unknown)."""
    if profile is None:
        return Inventory(discovery)
    states = {d.id: d for d in getattr(status, "devices", ())} if status is not None else {}
    devices = []
    for device_id, label, kind, driver_kind, address in configured_entries(profile):
        found, found_as = _find(driver_kind, kind, address, discovery, profile)
        link = states.get(device_id)
        state, detail = (link.state, link.detail) if link is not None else ("", "")
        devices.append(ConfiguredDevice(device_id, label, kind, driver_kind, address, found, found_as,
                                        state, detail, *_open_healthy(state)))
    return Inventory(discovery, tuple(devices))


def configured_entries(profile: Any) -> Iterable[tuple[str, str, str, str, str]]:
    """(id, label, kind, driver kind, address) of every device the profile configures, in display order."""
    for r in profile.radios:
        if r.kind == "serial":
            address = r.url
        elif r.kind == "hamlib":
            address = f"{r.host}:{r.port}"
        elif r.kind == "tone-remote":
            address = f"audio output {r.tx_output}"
        else:
            address = "simulated"
        yield r.id, r.name, "radio", r.kind, address
    for i in profile.inputs:
        if i.kind == "midi":
            address = i.port
        elif i.kind == "serial-line":
            address = i.url
        elif i.kind == "evdev":
            address = i.device
        else:
            address = "simulated" if i.kind == "sim" else "this window"
        yield i.id, i.id, "input", i.kind, address
    if profile.phone is not None and profile.phone.kind != "none":
        yield profile.phone.id, "Phone system", "phone", profile.phone.kind, "simulated"
    if profile.ali is not None:
        yield profile.ali.id, "ALI link", "ali", "serial", profile.ali.url
    if profile.calls.ring_source == "ri":
        yield "ring", f"Ring line ({profile.calls.ring_line})", "phone", "ri", profile.calls.ring_url
    audio = profile.audio
    yield "audio", "Sound device", "audio", audio.backend, audio.device or "default device"


def _open_healthy(state: str) -> tuple[bool | None, bool | None]:
    if state == "up":
        return True, True
    if state in ("down", "fault"):
        return False, False
    return None, None


def _find(driver_kind: str, kind: str, address: str, discovery: Discovery, profile: Any) -> tuple[bool | None, str]:
    if address in ("simulated", "this window") or driver_kind == "sim":
        return True, "simulated" if driver_kind == "sim" or address == "simulated" else "the console window"
    if kind == "audio":
        return _find_audio(driver_kind, profile.audio.device, discovery)
    if driver_kind == "hamlib":
        return None, "network: checked by connecting (diag rig)"
    if driver_kind == "tone-remote":
        return _find_audio(profile.audio.backend, profile.audio.device, discovery)
    if driver_kind == "midi":
        return _find_midi(address, discovery)
    if driver_kind == "evdev":
        if address.startswith("/dev/"):
            return (True, "device file exists") if os.path.exists(address) else (False, "no such device file")
        return None, "found by name when the input starts"
    return _find_serial(address, discovery)


def _find_serial(url: str, discovery: Discovery) -> tuple[bool | None, str]:
    lowered = url.lower()
    if lowered.startswith("sim://"):
        return True, "simulated"
    if lowered.startswith("loop://"):
        return True, "in-process loop-back"
    if lowered.startswith(NETWORK_SCHEMES):
        return None, "network: checked by connecting"
    real = os.path.realpath(url) if url.startswith("/") else url
    for port in discovery.serial_ports:
        if port.device in (url, real) or port.device.lower() == lowered:
            return True, " ".join(part for part in (port.device, port.description, port.usb_id) if part)
    if url.startswith("/") and os.path.exists(url):
        return True, f"{real} exists (not a listed serial port)"
    return False, "not plugged in" if url.startswith("/") or lowered.startswith("com") else "not listed"


def _find_midi(port: str, discovery: Discovery) -> tuple[bool, str]:
    wanted = port.casefold()
    for entry in discovery.midi_ports:
        if entry.direction == "in" and wanted in entry.name.casefold():
            return True, f"{entry.name} ({entry.api})"
    return False, "no MIDI input port with that name"


def _find_audio(backend: str, device: str, discovery: Discovery) -> tuple[bool | None, str]:
    if backend == "null":
        return True, "null device (no sound card needed)"
    mine = [d for d in discovery.audio_devices if d.backend == backend]
    if not mine:
        return False, f"{backend} lists no devices"
    if not device:
        return True, f"default of {len(mine)} device(s)"
    if device.isdigit():
        match = next((d for d in mine if d.index == int(device)), None)
    else:
        match = next((d for d in mine if device.casefold() in d.name.casefold()), None)
    if match is None:
        return False, f"no {backend} device matches {device!r}"
    return True, f"[{match.index}] {match.name} ({match.hostapi})"
