"""Builds hardware drivers from a position profile.

Each builder returns a ``Built`` record: the driver (or None with the reason it could not be made),
so a device the profile names but this machine cannot drive shows as FAULT with a clear reason
instead of stopping the console.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hardware.events import EventSink


SIM_PHONE_URL = "sim://phone"


@dataclass
class Built:
    id: str
    label: str
    kind: str  # status kind: radio, input, ali, phone
    driver_kind: str  # the profile's kind
    driver: Any = None
    problem: str = ""  # why there is no driver
    stoppers: list[Callable[[], None]] = field(default_factory=list)  # extra clean-up (close a pty)


def build_radio(cfg: Any, sink: EventSink) -> Built:
    built = Built(cfg.id, cfg.name, "radio", cfg.kind)
    if cfg.kind == "sim":
        from hardware.sim.radio import SimulatedRadio

        built.driver = SimulatedRadio(
            cfg.id, sink,
            bursts_per_minute=cfg.bursts_per_minute,
            burst_seconds=tuple(cfg.burst_seconds),
            seed=cfg.seed,
            jitter_ms=cfg.jitter_ms,
            unit_ids=tuple(cfg.unit_ids),
        )
    else:
        built.problem = f"no driver for radio kind '{cfg.kind}' in this version"
    return built


def build_input(cfg: Any, sink: EventSink) -> Built:
    built = Built(cfg.id, cfg.id, "input", cfg.kind)
    if cfg.kind == "sim":
        from hardware.sim.footswitch import SimulatedFootswitch

        built.driver = SimulatedFootswitch(cfg.id, sink, presses=[tuple(p) for p in cfg.presses], seed=cfg.seed)
    elif cfg.kind == "keyboard":
        built.problem = ""  # the GUI is the device; nothing to drive
    else:
        built.problem = f"no driver for input kind '{cfg.kind}' in this version"
    return built


def build_phone_and_ali(profile: Any, sink: EventSink) -> tuple[Built | None, Built | None]:
    """The phone system (simulated or none) and the ALI line reader, which may read from it."""
    phone_cfg = getattr(profile, "phone", None)
    ali_cfg = getattr(profile, "ali", None)
    phone: Built | None = None
    link: Any = None
    if phone_cfg is not None and phone_cfg.kind == "sim":
        from hardware.sim.links import MemoryLink, PtyLink
        from hardware.sim.phone import SimulatedPhoneSystem

        link = PtyLink() if phone_cfg.transport == "pty" else MemoryLink()
        phone = Built(phone_cfg.id, "Phone system (simulated)", "phone", "sim")
        phone.driver = SimulatedPhoneSystem(
            phone_cfg.id, sink, link,
            calls_per_minute=phone_cfg.calls_per_minute,
            abandon_after_s=phone_cfg.abandon_after_s,
            rebid_after_s=phone_cfg.rebid_after_s,
            jitter_ms=phone_cfg.jitter_ms,
            seed=phone_cfg.seed,
            with_bcc=ali_cfg.bcc if ali_cfg is not None else True,
        )
        phone.stoppers.append(link.close)
    elif phone_cfg is not None and phone_cfg.kind != "none":
        phone = Built(phone_cfg.id, "Phone system", "phone", phone_cfg.kind,
                      problem=f"no driver for phone kind '{phone_cfg.kind}' in this version")

    if ali_cfg is None:
        return phone, None
    ali = Built(ali_cfg.id, "ALI link", "ali", "serial")
    from hardware.serial.reader import ByteStreamReader

    if ali_cfg.url == SIM_PHONE_URL:
        if link is None:
            ali.problem = f"{SIM_PHONE_URL} needs a [phone] with kind = \"sim\""
            return phone, ali
        if hasattr(link, "slave_path"):
            url = link.slave_path
            ali.driver = ByteStreamReader(ali_cfg.id, sink, _serial_opener(url, ali_cfg), describe=f"{url} (simulated)")
        else:
            ali.driver = ByteStreamReader(ali_cfg.id, sink, lambda: link, describe="simulated phone system")
    elif ali_cfg.url.startswith("tcp-listen://"):
        ali.problem = "tcp-listen:// ALI links arrive with the ANI/ALI issue"
    else:
        ali.driver = ByteStreamReader(ali_cfg.id, sink, _serial_opener(ali_cfg.url, ali_cfg), describe=ali_cfg.url)
    return phone, ali


def _serial_opener(url: str, ali_cfg: Any) -> Callable[[], Any]:
    from hardware.serial.ports import LineSettings, open_port

    settings = LineSettings(ali_cfg.baudrate, ali_cfg.bytesize, ali_cfg.parity, ali_cfg.stopbits)
    # The ALI line is receive-only; leave RTS/DTR as the port's driver sets them.
    return lambda: open_port(url, settings, rts=None, dtr=None)


RING_LINE_ID = "ring"


def build_ring_line(calls_cfg: Any, sink: EventSink) -> Built | None:
    """The serial port whose modem line rings (``[calls] ring_source = "ri"``); None for other ring sources."""
    if calls_cfg is None or calls_cfg.ring_source != "ri":
        return None
    from hardware.serial.ports import open_port
    from hardware.serial.ring_line import RingLineWatcher

    url, line = calls_cfg.ring_url, calls_cfg.ring_line
    built = Built(RING_LINE_ID, f"Ring line ({line})", "phone", "ri")
    # Ring input only: leave RTS/DTR as the port's driver sets them.
    built.driver = RingLineWatcher(RING_LINE_ID, sink, lambda: open_port(url, rts=None, dtr=None),
                                   line=line, trunk=line, describe=url)
    return built
