"""`dispatch-console diag lines|serial-loopback|monitor URL`: the serial bench, headless.

- ``lines`` streams modem-line changes as JSON lines: first ``{"t": 0, "state": {...}}``, then
  ``{"t", "line", "active"}`` per change (``t`` in seconds since the start). Ctrl-C ends it (exit 0).
- ``serial-loopback`` runs the loopback plug test: exit 0 all passed, 1 something failed, 2 the port
  cannot be opened (or the arguments are wrong).
- ``monitor`` prints a hex+ASCII dump with STX/ETX marked and, with ``--capture``, writes the bytes
  exactly as received to a file that ``dispatch-console ali parse`` reads.

The checks live in ``app/bench/serial_checks.py`` and ``app/bench/serial_monitor.py``; with a profile
(``--config``/``--demo``, or the installed one), a port a configured radio keys on is opened at its
unkeyed levels and the loopback test on it needs ``--yes``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


def _baudrate(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid baud rate {text!r}") from None
    if not 50 <= value <= 921600:
        raise argparse.ArgumentTypeError(f"baud rate {value} is outside 50-921600")
    return value


def _err(check: str, message: str) -> None:
    print(f"diag {check}: {message}", file=sys.stderr, flush=True)


def _profile(args: argparse.Namespace, check: str) -> Any | int:
    """The profile asked for or installed; None when there is none; an exit code when it is unreadable."""
    from app.config import ProfileError
    from ui.cli import resolve_profile

    try:
        profile, _, _ = resolve_profile(getattr(args, "config", None), getattr(args, "demo", False))
    except ProfileError as err:
        _err(check, str(err))
        return EXIT_USAGE
    except FileNotFoundError:
        return None
    return profile


def _port_context(args: argparse.Namespace, check: str) -> tuple[Any, list, tuple[bool, bool]] | int:
    from app.bench.serial_checks import idle_levels, ptt_uses

    profile = _profile(args, check)
    if isinstance(profile, int):
        return profile
    uses = ptt_uses(profile, args.url) if profile is not None else []
    return profile, uses, idle_levels(uses)


def _settings(profile: Any, url: str, baudrate: int | None):
    from app.bench.serial_checks import configured_settings
    from hardware.serial.ports import LineSettings

    base = (configured_settings(profile, url) if profile is not None else None) or LineSettings()
    if baudrate:
        base = LineSettings(baudrate, base.bytesize, base.parity, base.stopbits, base.timeout)
    return base


# --- diag lines


def add_lines(checks, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "lines", parents=[profile_options], help="stream a serial port's modem-line changes as JSON lines",
        description="Opens URL with RTS and DTR unkeyed and prints CTS, DSR, CD and RI: one line with the "
                    "starting state, then one JSON line per change {\"t\", \"line\", \"active\"}. Ctrl-C ends it.",
    )
    cmd.add_argument("url", metavar="URL", help="a device path, COM3, rfc2217://HOST:PORT, socket://, loop://")
    cmd.add_argument("--seconds", type=_positive_float, metavar="S", help="stop after S seconds (default: Ctrl-C)")


def run_lines(args: argparse.Namespace) -> int:
    from app.bench.serial_checks import PortOpenError, watch_lines
    from hardware.serial.modem_lines import NoModemLines

    context = _port_context(args, "lines")
    if isinstance(context, int):
        return context
    _profile_, _uses, idle = context

    def emit(record) -> None:
        print(json.dumps(record.as_dict()), flush=True)

    _err("lines", f"watching {args.url}; Ctrl-C ends")
    try:
        watch_lines(args.url, emit, seconds=args.seconds, idle=idle)
    except PortOpenError as err:
        _err("lines", str(err))
        return EXIT_USAGE
    except NoModemLines as err:
        _err("lines", f"no modem lines: {err.strerror or err}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_OK  # the port was released on the way out
    except OSError as err:
        _err("lines", f"{args.url} failed: {err.strerror or err}")
        return EXIT_FAILED
    return EXIT_OK


# --- diag serial-loopback


def add_loopback(checks, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "serial-loopback", parents=[profile_options], help="test a serial port through a loopback plug",
        description="With a loopback plug fitted: sends a test pattern at the configured speed and compares what "
                    "comes back, then raises RTS and DTR in turn and checks RTS->CTS, DTR->DSR (required) and "
                    "DTR->CD, DTR->RI (not-wired when the plug leaves them out). Exit 0 all passed, 1 a check "
                    "failed, 2 the port cannot be opened.",
    )
    cmd.add_argument("url", metavar="URL", help="a device path, COM3, rfc2217://HOST:PORT, loop://")
    cmd.add_argument("--baudrate", type=_baudrate, metavar="N",
                     help="speed to test (default: the profile's for this port, else 9600)")
    cmd.add_argument("--yes", action="store_true",
                     help="the port keys a configured radio: confirm the radio is unplugged and the plug fitted")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")


def run_loopback(args: argparse.Namespace) -> int:
    from app.bench.serial_checks import PortOpenError, loopback_test

    context = _port_context(args, "serial-loopback")
    if isinstance(context, int):
        return context
    profile, uses, idle = context
    if uses and not args.yes:
        names = ", ".join(f"{u.radio_name} (PTT on {u.line.upper()})" for u in uses)
        _err("serial-loopback", f"{args.url} keys {names}; the test raises RTS and DTR. Unplug the radio, fit "
                                f"the loopback plug and run again with --yes")
        return EXIT_USAGE
    settings = _settings(profile, args.url, args.baudrate)

    last = [-1]

    def progress(fraction: float, text: str) -> None:
        percent = int(fraction * 100)
        if not args.json and percent // 10 != last[0] // 10:
            last[0] = percent
            print(f"{percent:3d}% {text}", file=sys.stderr, flush=True)

    try:
        result = loopback_test(args.url, settings, progress=progress, idle=idle)
    except PortOpenError as err:
        if args.json:
            print(json.dumps({"url": args.url, "passed": False, "error": str(err)}))
        _err("serial-loopback", str(err))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("serial-loopback", "cancelled; the port was released")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        for line in loopback_table(result):
            print(line)
    return EXIT_OK if result.passed else EXIT_FAILED


def loopback_table(result) -> list[str]:
    """The loopback result for people."""
    rows = [f"port       {result.url}"]
    data = result.data
    if data is not None:
        verdict = "pass" if data.passed else "FAIL"
        rows.append(f"data       {verdict}: {data.sent} sent, {data.received} received, {data.errors} errors, "
                    f"{data.missing} missing, {data.extra} extra at {data.baudrate} baud "
                    f"({data.bytes_per_s:.0f} bytes/s)")
        if data.first_error_at is not None:
            rows.append(f"           first wrong byte at offset {data.first_error_at}")
    for pair in result.pairs:
        rows.append(f"{pair.name:<10} {pair.result}: {pair.detail}")
    rows.extend(f"note       {note}" for note in result.notes)
    rows.append(f"result     {result.verdict}")
    return rows


# --- diag monitor


def add_monitor(checks, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "monitor", parents=[profile_options], help="hex+ASCII monitor of a live serial port, STX/ETX marked",
        description="Prints what arrives on URL as hex and ASCII, 16 bytes a row; a row starts at each STX, "
                    "STX shows as [02 and ETX as 03] (« and » in the ASCII column). --capture writes the bytes "
                    "exactly as received to FILE, which `dispatch-console ali parse FILE` reads.",
    )
    cmd.add_argument("url", metavar="URL", help="a device path, COM3, rfc2217://HOST:PORT, socket://HOST:PORT")
    cmd.add_argument("--capture", metavar="FILE", help="write the raw bytes to FILE (replaced)")
    cmd.add_argument("--seconds", type=_positive_float, metavar="S", help="stop after S seconds (default: Ctrl-C)")
    cmd.add_argument("--baudrate", type=_baudrate, metavar="N",
                     help="speed (default: the profile's for this port, else 9600)")


def run_monitor(args: argparse.Namespace) -> int:
    import time

    from app.bench.serial_checks import PortOpenError
    from app.bench.serial_monitor import HexDump, PortSession

    context = _port_context(args, "monitor")
    if isinstance(context, int):
        return context
    profile, _uses, idle = context
    settings = _settings(profile, args.url, args.baudrate)
    dump = HexDump()
    last_data = [0.0]
    failure: list[str] = []

    def opened(ok: bool, how: str) -> None:
        if ok:
            target = f"; capturing to {args.capture}" if args.capture else ""
            _err("monitor", f"monitoring {args.url} at {settings.baudrate} baud ({how}){target}; Ctrl-C ends")

    def data(chunk: bytes, t: float) -> None:
        last_data[0] = t
        for row in dump.feed(chunk):
            print(row, flush=True)

    def idle_tick() -> None:
        if time.monotonic() - last_data[0] > 0.1:
            for row in dump.flush():
                print(row, flush=True)

    def lines(record) -> None:
        if record.state is None:
            _err("monitor", f"{record.line.upper()} {'on' if record.active else 'off'} at {record.t:.3f} s")

    session = PortSession(args.url, settings, idle=idle, on_open=opened, on_data=data, on_idle=idle_tick,
                          on_lines=lines, on_closed=lambda reason: failure.append(reason) if reason else None)
    if args.capture:
        try:
            session.start_capture(args.capture)
        except OSError as err:
            _err("monitor", f"cannot write {args.capture}: {err.strerror or err}")
            return EXIT_USAGE
    try:
        session.run(args.seconds)
    except PortOpenError as err:
        _err("monitor", str(err))
        return EXIT_USAGE
    except KeyboardInterrupt:
        pass  # run's finally released the port and closed the capture
    for row in dump.flush():
        print(row, flush=True)
    if args.capture:
        _err("monitor", f"{dump.offset} bytes captured to {args.capture}")
    if failure:
        _err("monitor", failure[0])
        return EXIT_FAILED
    return EXIT_OK


CHECKS = {
    "lines": (add_lines, run_lines),
    "serial-loopback": (add_loopback, run_loopback),
    "monitor": (add_monitor, run_monitor),
}
