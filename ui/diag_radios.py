"""`dispatch-console diag ptt|rig|trc`: key a radio for a set time, check a rigctld link, send a
tone-remote keying sequence. The work is in app/bench/radio_checks.py; this is arguments and output.

``diag ptt`` never leaves the radio keyed: SIGINT (Ctrl-C) and SIGTERM become a cancel that unkeys,
and the driver unkeys again when it stops. A radio marked ``live = true`` is refused without
``--yes-live`` (exit 2 with the reason).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ui.diag_inventory import load_profile_or_none, usage_error as _usage

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not 0 < value <= 120:
        raise argparse.ArgumentTypeError(f"{value:g} s must be more than 0 and at most 120")
    return value


def _profile_radio(args: argparse.Namespace) -> tuple[Any, Any] | int:
    profile = load_profile_or_none(args)
    if isinstance(profile, int):
        return profile
    if profile is None:
        return _usage("no position profile: use --config FILE (or --demo)")
    cfg = next((r for r in profile.radios if r.id == args.radio), None)
    if cfg is None:
        known = ", ".join(r.id for r in profile.radios) or "none"
        return _usage(f"no radio {args.radio!r} in the profile (radios: {known})")
    return profile, cfg


def _radio_to_key(args: argparse.Namespace, refused: str) -> tuple[Any, Any] | int:
    """``_profile_radio``, refused (``refused`` says what is not done) for a live radio without --yes-live."""
    found = _profile_radio(args)
    if isinstance(found, int):
        return found
    _profile, cfg = found
    if cfg.live and not args.yes_live:
        return _usage(f"radio {cfg.id!r} ({cfg.name}) is marked live = true (on the air); {refused}")
    return found


@contextmanager
def _signals_cancel(cancel: threading.Event) -> Iterator[list[str]]:
    """SIGINT and SIGTERM set ``cancel`` (the radio is unkeyed by the test's own clean-up) instead of
    raising or killing mid-transmission; the handlers are restored afterwards."""
    caught: list[str] = []

    def handler(signum: int, _frame: Any) -> None:
        caught.append(signal.Signals(signum).name)
        cancel.set()

    names = [s for s in ("SIGINT", "SIGTERM") if hasattr(signal, s)]
    previous = {name: signal.signal(getattr(signal, name), handler) for name in names}
    try:
        yield caught
    finally:
        for name, old in previous.items():
            signal.signal(getattr(signal, name), old)


def _clock(wall: float | None) -> str:
    if wall is None:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(wall)) + f".{int(wall * 1000) % 1000:03d}"


# --- diag ptt


def add_ptt(checks: Any, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "ptt", parents=[profile_options], help="key a configured radio for S seconds, then unkey it",
        description="Keys RADIO through its own driver (the console must not be running on the same port) "
                    "for S seconds and unkeys it; Ctrl-C or SIGTERM unkeys at once. A radio marked live = true "
                    "is refused without --yes-live. Prints when it was keyed and unkeyed and every confirmation "
                    "the radio gave. Exit codes: 0 keyed and unkeyed, 1 the test failed or was cancelled, "
                    "2 refused or bad arguments.",
    )
    cmd.add_argument("radio", metavar="RADIO", help="the radio's id in the profile")
    cmd.add_argument("--seconds", type=_seconds, required=True, metavar="S", help="how long to key (at most 120)")
    cmd.add_argument("--yes-live", action="store_true", help="confirm keying a radio marked live (on the air)")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")


def run_ptt(args: argparse.Namespace) -> int:
    found = _radio_to_key(args, "not keyed without --yes-live")
    if isinstance(found, int):
        return found
    _profile, cfg = found
    from app.bench.radio_checks import KeyTestError, key_radio

    cancel = threading.Event()
    announced = [False]

    def progress(held: float, total: float) -> None:
        if not announced[0]:
            announced[0] = True
            print(f"KEYED {cfg.id}: holding {total:g} s (Ctrl-C unkeys)", file=sys.stderr, flush=True)

    with _signals_cancel(cancel) as caught:
        try:
            report = key_radio(cfg, args.seconds, cancel=cancel, progress=progress)
        except KeyTestError as err:
            return _usage(str(err))
    data = {**report.as_dict(), "live": cfg.live, "cancelled_by": caught[0] if caught else ""}
    if args.json:
        print(json.dumps(data))
    else:
        for line in _ptt_lines(data):
            print(line)
    return EXIT_OK if report.result == "ok" and report.unkeyed else EXIT_ERROR


def _ptt_lines(d: dict[str, Any]) -> list[str]:
    lines = [
        f"radio        {d['radio']} ({d['kind']}) {d['address']}{'  LIVE' if d['live'] else ''}",
        f"link         {d['link'] or '-'}",
        f"result       {d['result']}" + (f": {d['error']}" if d["error"] else "")
        + (f" (by {d['cancelled_by']})" if d["cancelled_by"] else ""),
        f"keyed at     {_clock(d['keyed_wall'])}" + (f"  (confirmed {d['key_confirm_ms']:.1f} ms after the request)"
                                                     if d["key_confirm_ms"] is not None else ""),
        f"unkeyed at   {_clock(d['unkeyed_wall'])}" + (f"  (confirmed {d['unkey_confirm_ms']:.1f} ms after the request)"
                                                       if d["unkey_confirm_ms"] is not None else ""),
        f"keyed for    {d['keyed_s']:.3f} s of {d['requested_s']:g} s" if d["keyed_s"] is not None
        else f"keyed for    - of {d['requested_s']:g} s",
    ]
    for c in d["confirmations"]:
        lines.append(f"confirmed    +{c['t_s']:.3f} s {'KEYED' if c['keyed'] else 'unkeyed'}"
                     + (f" ({c['error']})" if c["error"] else ""))
    for c in d["carrier"]:
        lines.append(f"carrier      +{c['t_s']:.3f} s {'ON' if c['active'] else 'off'}")
    lines.append("state        unkeyed" if d["unkeyed"] else "state        STILL KEYED: check the radio")
    return lines


# --- diag rig


def add_rig(checks: Any, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "rig", parents=[profile_options], help="rigctld link check: model, frequency, mode, PTT, DCD",
        description="Connects to the rigctld of a hamlib radio in the profile (or HOST:PORT) and asks its rig's "
                    "model (\\dump_caps), info, frequency, mode, PTT and DCD. Changes nothing. Exit 1 when "
                    "rigctld does not answer.",
    )
    cmd.add_argument("radio", metavar="RADIO", help="a hamlib radio's id in the profile, or HOST:PORT")
    cmd.add_argument("--timeout", type=_seconds, default=2.0, metavar="S", help="answer time-out (default 2 s)")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")


def run_rig(args: argparse.Namespace) -> int:
    host, port = _rig_address(args)
    if port is None:
        return host if isinstance(host, int) else _usage(str(host))
    from app.bench.radio_checks import rig_check

    report = rig_check(host, port, timeout_s=args.timeout)
    if args.json:
        print(json.dumps({"radio": args.radio, **report.as_dict()}))
    else:
        r = report
        for line in (
            f"rigctld      {r.address}" + (f"  (connect {r.connect_ms:.1f} ms, answers {r.round_trip_ms:.1f} ms)"
                                           if r.connect_ms is not None and r.round_trip_ms is not None else ""),
            f"result       {'ok' if r.ok else 'FAILED: ' + r.error}",
            f"model        {r.manufacturer} {r.model}".rstrip() + (f" (backend {r.backend_version})"
                                                                  if r.backend_version else ""),
            f"info         {r.info or '-'}",
            f"frequency    {r.frequency_hz if r.frequency_hz is not None else '-'} Hz",
            f"mode         {r.mode or '-'}" + (f" {r.passband_hz} Hz" if r.passband_hz else ""),
            f"PTT          {_onoff(r.ptt)}",
            f"DCD          {_onoff(r.dcd)}",
        ):
            print(line)
    return EXIT_OK if report.ok else EXIT_ERROR


def _onoff(value: bool | None) -> str:
    return "-" if value is None else ("ON" if value else "off")


def _rig_address(args: argparse.Namespace) -> tuple[Any, int | None]:
    """(host, port), or (exit code / message, None)."""
    text = args.radio
    if ":" in text and not (getattr(args, "config", None) or getattr(args, "demo", False)):
        host, _, port = text.rpartition(":")
        if port.isdigit() and 0 < int(port) < 65536 and host:
            return host, int(port)
        return f"{text!r}: expected HOST:PORT", None
    found = _profile_radio(args)
    if isinstance(found, int):
        return found, None
    _profile, cfg = found
    if cfg.kind != "hamlib":
        return f"radio {cfg.id!r} is a {cfg.kind} radio, not a hamlib (rigctld) one", None
    return cfg.host, cfg.port


# --- diag trc


def add_trc(checks: Any, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "trc", parents=[profile_options], help="send a tone-remote keying sequence on a radio's transmit output",
        description="Opens the profile's sound device, keys RADIO's tone-remote line (high-level guard tone, "
                    "the function tone, then the low-level guard tone held --hold seconds), unkeys, and measures "
                    "the frequency and level of each part as the engine wrote them to the output. On the null "
                    "device nothing is heard but the levels are measured. Exit 1 when a part is out of tolerance.",
    )
    cmd.add_argument("radio", metavar="RADIO", help="a radio's id in the profile (with a tx_output)")
    cmd.add_argument("--function", default="F1", metavar="F", help="function name: F1 (default), F2.., monitor")
    cmd.add_argument("--hold", type=_seconds, default=0.5, metavar="S", help="seconds of low-level guard (default 0.5)")
    cmd.add_argument("--yes-live", action="store_true", help="confirm keying a radio marked live (on the air)")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")


def run_trc(args: argparse.Namespace) -> int:
    found = _radio_to_key(args, "the keying sequence is not sent without --yes-live")
    if isinstance(found, int):
        return found
    profile, cfg = found
    from app.bench.radio_checks import KeyTestError, trc_test

    cancel = threading.Event()
    with _signals_cancel(cancel):
        try:
            report = trc_test(profile, cfg.id, function=args.function, hold_s=args.hold, cancel=cancel)
        except KeyTestError as err:
            return _usage(str(err))
    if args.json:
        print(json.dumps(report.as_dict()))
    else:
        r = report
        print(f"line         {r.radio}: output {r.output} of {r.device} ({r.backend})")
        print(f"function     {r.function} {r.function_hz:g} Hz, guard held {r.hold_s:g} s")
        print(f"result       {r.result}" + (f": {r.error}" if r.error else ""))
        if r.ready_ms is not None:
            print(f"keying tones out after {r.ready_ms:.1f} ms")
        if r.output_peak_dbfs is not None:
            print(f"output meter peak {r.output_peak_dbfs:.1f} dBFS, RMS {r.output_rms_dbfs:.1f} dBFS (guard held)")
        for s in r.segments:
            measured = (f"{s.measured_hz:.1f} Hz {s.level_dbfs:+.2f} dBFS" if s.measured_hz is not None else "-")
            print(f"  {s.name:<9} expected {s.expected_hz:g} Hz {s.expected_dbfs:+.1f} dBFS  measured {measured}"
                  f"  {'ok' if s.ok else 'OUT'}")
    return EXIT_OK if report.result == "ok" else EXIT_ERROR
