"""`dispatch-console diag list`: serial ports, sound devices, MIDI ports and the profile's devices.

With ``--json`` one object: app.inventory.Inventory.as_dict(). Without a profile (none given, none
installed) only what is plugged in is listed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def add_list(checks: Any, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "list", parents=[profile_options],
        help="inventory: serial ports, sound devices, MIDI ports and the profile's devices",
        description="Lists serial ports (description, USB VID:PID, serial number), sound devices per audio "
                    "backend (host API, channels, default rate), MIDI input and output ports, and each device "
                    "the profile configures with whether it is found on this machine.",
    )
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cmd.add_argument("--no-audio", action="store_true", help="skip the sound devices (PortAudio is not loaded)")


def usage_error(message: str) -> int:
    """Say what is wrong with the command as given; the usage exit code."""
    print(f"diag: {message}", file=sys.stderr)
    return EXIT_USAGE


def load_profile_or_none(args: argparse.Namespace) -> Any:
    """The profile asked for (or installed), None when there is none; an int exit code when it is bad."""
    from app.config import ProfileError
    from ui.cli import resolve_profile

    try:
        profile, _, _ = resolve_profile(getattr(args, "config", None), getattr(args, "demo", False))
    except ProfileError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError:
        return None
    except OSError as err:  # --config naming a file that cannot be read
        return usage_error(f"cannot read the profile: {err}")
    return profile


def run_list(args: argparse.Namespace) -> int:
    profile = load_profile_or_none(args)
    if isinstance(profile, int):
        return profile
    from app.inventory import build_inventory
    from hardware.discovery import discover

    inventory = build_inventory(discover(audio=not args.no_audio), profile)
    if args.json:
        print(json.dumps(inventory.as_dict()))
        return EXIT_OK
    for line in inventory_lines(inventory):
        print(line)
    return EXIT_OK


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "NO")


def inventory_lines(inventory: Any) -> list[str]:
    d = inventory.discovery
    lines = [f"SERIAL PORTS ({len(d.serial_ports)})"]
    for p in d.serial_ports:
        usb = f"  USB {p.usb_id}" if p.usb_id else ""
        serial = f"  S/N {p.serial_number}" if p.serial_number else ""
        lines.append(f"  {p.device:<20} {p.description or '-'}{usb}{serial}")
    lines.append(f"AUDIO DEVICES ({len(d.audio_devices)})")
    for a in d.audio_devices:
        lines.append(f"  {a.backend:<11} [{a.index}] {a.name}  ({a.hostapi}, {a.max_inputs} in, "
                     f"{a.max_outputs} out, {a.default_samplerate:g} Hz)")
    lines.append(f"MIDI PORTS ({len(d.midi_ports)})")
    for m in d.midi_ports:
        lines.append(f"  {m.api:<5} {m.direction:<3} [{m.index}] {m.name}")
    if inventory.configured:
        lines.append(f"CONFIGURED DEVICES ({len(inventory.configured)})")
        lines.append(f"  {'id':<14} {'kind':<18} {'found':<6} {'open':<5} {'ok':<4} address / found as")
        for c in inventory.configured:
            lines.append(f"  {c.id:<14} {c.kind + '/' + c.driver_kind:<18} {_yes_no(c.found):<6} "
                         f"{_yes_no(c.open):<5} {_yes_no(c.healthy):<4} {c.address}  ({c.found_as})")
    if d.problems:
        lines.append("NOT LISTED")
        lines.extend(f"  {problem}" for problem in d.problems)
    return lines
