"""The report's steps: each gathers one section and never raises for what it finds (no Qt widgets).

A step takes the ``ReportContext`` and returns a ``Section`` with PASS, FAIL or SKIPPED and a one-line
reason. Nothing here keys a transmitter: serial ports are opened at the lines' idle levels (what the
radio's own driver holds them at) and closed at once, rigctld is only asked questions, and the
throwaway position that reports link states is stopped (which unkeys everything) before the next step.

Run beside a live console, the throwaway position finds the local serial ports it holds busy (ports
are opened exclusively) and leaves Hamlib radios out (a rigctld link unkeys a radio it finds keyed).
A network serial port (rfc2217://, socket://) shared by a terminal server that accepts a second
connection is the one thing the report cannot guard: run it with --skip-slow beside such a console.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from app.report.model import FAIL, PASS, SKIPPED, Section
from app.report.redact import REMOVED, redact, redact_text

LINK_SECONDS = 8.0  # at most: how long the throwaway position may take to bring its links up
EVENT_WINDOW_S = 24 * 3600.0  # "recent" errors: the last day ...
EVENT_SCAN = 5000  # ... within the last this many events
EVENT_LIMIT = 100  # rows listed
BENCH_INPUTS, BENCH_BLOCKS = 8, 2000
MEDIAN_LIMIT_PCT = 50.0  # bench audio: a callback taking half the block leaves no room for the rest
LATENCY_REPEATS = 3


@dataclass
class ReportContext:
    """What the steps work from. ``position`` is the GUI's running position: its link states are read
    instead of starting another, and the devices it holds are not opened a second time."""

    profile: Any = None  # app.config.Profile, or None when none could be read
    profile_path: str = ""
    profile_problem: str = ""  # why there is no profile
    profile_failed: bool = False  # a profile was named but could not be read (a FAIL, not a skip)
    store_path: Path | None = None  # the position's event log
    position: Any = None
    skip_slow: bool = False
    link_seconds: float = LINK_SECONDS
    cancel: threading.Event = field(default_factory=threading.Event)
    latency_settle_s: float = 0.25  # silence before the first latency probe (longer when a loop is wired late)
    status: Any = None  # the StatusSnapshot the link step saw (the inventory marks devices open with it)

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()


def _section(name: str, title: str, status: str, summary: str, data: Any = None) -> Section:
    return Section(name, title, status, summary, data)


# --- versions and platform ---------------------------------------------------------------------


def _dist_version(*names: str) -> str | None:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _portaudio_version() -> str:
    try:
        import sounddevice  # lazy: device library; importing it loads PortAudio

        return str(sounddevice.get_portaudio_version()[1])
    except (ImportError, OSError) as err:
        return f"not usable: {err}"


def _rigctld_version() -> str | None:
    exe = shutil.which("rigctld")
    if exe is None:
        return None
    try:
        done = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError) as err:
        return f"{exe}: did not answer --version: {err}"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else f"{exe}: printed no version"


def versions(ctx: ReportContext) -> Section:
    from PySide6 import QtCore

    from app import __version__

    found: dict[str, str | None] = {
        "dispatch-console": __version__,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "PySide6": _dist_version("PySide6", "PySide6-Essentials") or getattr(sys.modules.get("PySide6"), "__version__", None),
        "Qt": QtCore.qVersion(),
        "numpy": _dist_version("numpy"),
        "pydantic": _dist_version("pydantic"),
        "pyserial": _dist_version("pyserial"),
        "sounddevice": _dist_version("sounddevice"),
        "PortAudio": _portaudio_version() if _dist_version("sounddevice") else None,
        "python-rtmidi": _dist_version("python-rtmidi"),
        "pyqtgraph": _dist_version("pyqtgraph"),
        "PyAudio": _dist_version("PyAudio", "pyaudio"),
        "rigctld (Hamlib)": _rigctld_version(),
    }
    data = {name: value if value is not None else "not installed" for name, value in found.items()}
    missing = [name for name, value in found.items() if value is None]
    summary = f"{len(found) - len(missing)} components found"
    if missing:
        summary += "; not installed: " + ", ".join(missing)
    return _section("versions", "Versions", PASS, summary, data)


def _memory_mb() -> int | None:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)
    except (ValueError, OSError, AttributeError):  # not POSIX (Windows): leave it out
        return None


def platform_info(ctx: ReportContext) -> Section:
    data = {
        "os": platform.system(),
        "release": platform.release(),  # the kernel on Linux
        "version": platform.version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "memory_mb": _memory_mb(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "display": os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY") or "",
        "qt_platform": os.environ.get("QT_QPA_PLATFORM", ""),
    }
    memory = f", {data['memory_mb']} MB" if data["memory_mb"] else ""
    summary = f"{data['os']} {data['release']} on {data['machine']}, {data['cpus']} CPUs{memory}"
    return _section("platform", "Platform", PASS, summary, data)


# --- the profile -------------------------------------------------------------------------------


def _count_removed(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_count_removed(v) for v in value.values())
    if isinstance(value, list):
        return sum(_count_removed(v) for v in value)
    return value.count(REMOVED) if isinstance(value, str) else 0


def profile_section(ctx: ReportContext) -> Section:
    profile = ctx.profile
    if profile is None:
        return _section("profile", "Profile", FAIL if ctx.profile_failed else SKIPPED,
                        ctx.profile_problem or "no profile was given")
    settings = redact(profile.model_dump(mode="json"))
    removed = _count_removed(settings)
    summary = (f"{profile.position.name}: {len(profile.radios)} radios, {len(profile.inputs)} inputs, "
               f"audio {profile.audio.backend}, ALI {'on' if profile.ali else 'off'}; "
               f"{removed} secret value{'s' if removed != 1 else ''} removed")
    return _section("profile", "Profile (secrets removed)", PASS, summary,
                    {"path": redact_text(ctx.profile_path), "settings": settings})


# --- inventory -----------------------------------------------------------------------------------


def inventory(ctx: ReportContext) -> Section:
    title = "Inventory"
    try:
        from app.inventory import build_inventory
        from hardware.discovery import discover
    except ImportError as err:
        return _section("inventory", title, SKIPPED, f"device discovery is not available: {err}")
    status = ctx.position.status if ctx.position is not None else ctx.status
    found = build_inventory(_discover_beside(ctx.position) if ctx.position is not None else discover(),
                            ctx.profile, status)
    data = found.as_dict()
    missing = [c for c in found.configured if c.found is False]
    problems = list(found.discovery.problems)
    summary = (f"{len(found.discovery.serial_ports)} serial ports, {len(found.discovery.audio_devices)} audio "
               f"devices, {len(found.discovery.midi_ports)} MIDI ports; {len(found.configured)} configured devices")
    if missing:
        summary += "; not found: " + "; ".join(f"{c.id} ({c.found_as or c.address})" for c in missing)
    if problems:
        summary += "; could not list: " + "; ".join(problems)
    return _section("inventory", title, FAIL if missing else PASS, summary, data)


def _discover_beside(_position: Any) -> Any:
    """A scan for a running console: sound devices are listed in a child process, so the console's own
    PortAudio (which may run the sound device) is never re-initialised under it."""
    import json
    from dataclasses import replace

    from hardware.discovery import discover, discovery_from_dict

    try:
        done = subprocess.run([sys.executable, "-m", "hardware.discovery"], capture_output=True, text=True,
                              timeout=20, check=False)
        if done.returncode != 0:
            raise OSError(f"device scan process exited {done.returncode}: {done.stderr.strip()[-300:]}")
        return discovery_from_dict(json.loads(done.stdout))
    except (OSError, ValueError, subprocess.SubprocessError) as err:  # a frozen build, a broken library
        scan = discover(audio=False)
        return replace(scan, problems=(*scan.problems, f"audio: not listed ({err})"))


# --- link states ---------------------------------------------------------------------------------

_BAD_LINKS = ("down", "fault")
_NOT_STARTED = "not started"


def _link_rows(snapshot: Any) -> list[dict[str, Any]]:
    return [{"id": d.id, "label": d.label, "kind": d.kind, "state": d.state, "detail": d.detail}
            for d in getattr(snapshot, "devices", ())]


def _links_verdict(rows: list[dict[str, Any]], how: str) -> Section:
    bad = [r for r in rows if r["state"] in _BAD_LINKS]
    unknown = [r for r in rows if r["state"] == "unknown"]
    up = sum(1 for r in rows if r["state"] == "up")
    started = sum(1 for r in rows if r["state"] != _NOT_STARTED)
    summary = f"{up} of {started} links up ({how})"
    if bad:
        summary += "; " + "; ".join(f"{r['id']} {r['state']}: {r['detail'] or 'no reason given'}" for r in bad)
    if unknown:
        summary += "; no state yet: " + ", ".join(r["id"] for r in unknown)
    status = FAIL if bad or unknown else PASS
    return _section("links", "Configured devices' links", status, summary, rows)


def links(ctx: ReportContext) -> Section:
    if ctx.position is not None:
        return _links_verdict(_link_rows(ctx.position.status), "the running console")
    if ctx.profile is None:
        return _section("links", "Configured devices' links", SKIPPED, ctx.profile_problem or "no profile")
    if ctx.skip_slow:
        return _section("links", "Configured devices' links", SKIPPED,
                        "skipped (--skip-slow): the position was not started")
    ctx.status = run_position_briefly(ctx)
    # The throwaway position's own store is not the position's: the events section reads the real one.
    rows = [r for r in _link_rows(ctx.status) if r["kind"] != "store"]
    rows += [{"id": r.id, "label": r.name, "kind": "radio", "state": _NOT_STARTED,
              "detail": "checked read-only in the rigctld section"} for r in ctx.profile.radios if r.kind == "hamlib"]
    return _links_verdict(rows, f"a position started for {ctx.link_seconds:g} s at most")


def run_position_briefly(ctx: ReportContext) -> Any:
    """Start a position on the profile's drivers with a throwaway event log, wait until every link
    has a state (or ``link_seconds``), and stop it; its last StatusSnapshot. Runs the Qt event loop of this thread."""
    from PySide6.QtCore import QCoreApplication

    from app.position import Position

    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("the link check needs a QCoreApplication on this thread")
    # Hamlib radios stay out: a rigctld link unkeys a radio it finds keyed when it connects, and the
    # radio may be keyed by the console this report is run beside. The rigctld step only asks.
    profile = ctx.profile.model_copy(update={"radios": [r for r in ctx.profile.radios if r.kind != "hamlib"]})
    with tempfile.TemporaryDirectory(prefix="dc-report-") as folder:
        position = Position(profile, profile_path=ctx.profile_path, data_path=Path(folder) / "report.sqlite3")
        try:
            position.start()
            deadline = time.monotonic() + ctx.link_seconds
            while time.monotonic() < deadline and not ctx.cancelled:
                app.processEvents()
                states = [d.state for d in position.status.devices]
                if states and "unknown" not in states:
                    break
                time.sleep(0.02)
            app.processEvents()
            return position.status
        finally:
            position.stop()


# --- serial ports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortToCheck:
    device: str  # the profile's device id
    url: str
    role: str  # "radio", "input", "ali", "ring"
    rts: bool | None  # the idle levels the device's driver holds the lines at
    dtr: bool | None


def configured_ports(profile: Any) -> list[PortToCheck]:
    """Every serial port the profile names, with the lines' idle levels (never a key-up)."""
    ports: list[PortToCheck] = []
    for radio in profile.radios:
        if radio.kind == "serial":
            idle = not radio.ptt_active_high
            ports.append(PortToCheck(radio.id, radio.url, "radio", idle, idle))
    for source in profile.inputs:
        if source.kind == "serial-line":
            ports.append(PortToCheck(source.id, source.url, "input", source.power, source.power))
    if profile.ali is not None and not profile.ali.url.startswith(("sim://", "tcp-listen://")):
        ports.append(PortToCheck(profile.ali.id, profile.ali.url, "ali", False, False))
    if profile.calls.ring_url:
        ports.append(PortToCheck("ring", profile.calls.ring_url, "ring", False, False))
    return ports


def check_port_opens(port: PortToCheck) -> dict[str, Any]:
    """Open the port at its idle line levels (the serial bench's quiet open), read its modem lines and
    put them back and close it (in finally). Raises OSError naming the port when it does not open."""
    from app.bench.serial_checks import open_quiet, release
    from hardware.serial.ports import LineSettings

    rts, dtr = bool(port.rts), bool(port.dtr)
    started = time.perf_counter()
    handle, has_lines = open_quiet(port.url, LineSettings(timeout=0), rts=rts, dtr=dtr)
    try:
        opened_ms = (time.perf_counter() - started) * 1000.0
        lines: dict[str, Any] | str = "this port has no modem lines (a pseudo-terminal)"
        if has_lines:
            lines = {}
            for name in ("cts", "dsr", "cd", "ri"):
                try:
                    lines[name] = bool(getattr(handle, name))
                except (OSError, NotImplementedError, ValueError) as err:
                    lines[name] = f"unreadable: {err}"
    finally:
        if has_lines:
            release(handle, rts, dtr)
        else:
            handle.close()
    return {"opened_ms": round(opened_ms, 2), "lines": lines}


def serial_ports(ctx: ReportContext) -> Section:
    title = "Serial ports open"
    if ctx.profile is None:
        return _section("serial", title, SKIPPED, ctx.profile_problem or "no profile")
    ports = configured_ports(ctx.profile)
    if not ports:
        return _section("serial", title, SKIPPED, "the profile names no serial port")
    rows: list[dict[str, Any]] = []
    for port in ports:
        row: dict[str, Any] = {"device": port.device, "role": port.role, "url": redact_text(port.url)}
        if ctx.cancelled:
            row.update(result=SKIPPED, detail="cancelled")
        elif ctx.position is not None:
            row.update(result=SKIPPED, detail="held by the running console: see its link state")
        else:
            try:
                row.update(result=PASS, **check_port_opens(port))
            except OSError as err:  # serial.SerialException is an OSError
                row.update(result=FAIL, detail=redact_text(str(err)))
        rows.append(row)
    failed = [r for r in rows if r["result"] == FAIL]
    opened = sum(1 for r in rows if r["result"] == PASS)
    if failed:
        reasons = "; ".join(f"{r['device']}: {r['detail']}" for r in failed)
        return _section("serial", title, FAIL, f"{len(failed)} of {len(rows)} ports did not open: {reasons}", rows)
    if not opened:
        return _section("serial", title, SKIPPED, rows[0]["detail"], rows)
    return _section("serial", title, PASS, f"{opened} of {len(rows)} ports opened and closed", rows)


# --- rigctld ---------------------------------------------------------------------------------------


def check_rigctld(host: str, port: int, timeout_s: float = 2.0) -> dict[str, Any]:
    """The radio bench's rigctld check: model, frequency, mode, PTT and DCD, asked, never set.
    Raises RigctldError when rigctld does not answer."""
    from app.bench.radio_checks import rig_check
    from hardware.radio.rigctld import RigctldError

    report = rig_check(host, port, timeout_s=timeout_s)
    if not report.ok:
        raise RigctldError(report.error or f"rigctld {host}:{port} did not answer")
    return {k: v for k, v in report.as_dict().items() if k not in ("ok", "error", "address")}


def rigctld_links(ctx: ReportContext) -> Section:
    title = "rigctld links"
    if ctx.profile is None:
        return _section("rigctld", title, SKIPPED, ctx.profile_problem or "no profile")
    radios = [r for r in ctx.profile.radios if r.kind == "hamlib"]
    if not radios:
        return _section("rigctld", title, SKIPPED, "the profile has no Hamlib radio")
    from hardware.radio.rigctld import RigctldError

    rows = []
    for radio in radios:
        row: dict[str, Any] = {"radio": radio.id, "address": f"{radio.host}:{radio.port}"}
        if ctx.cancelled:
            row.update(result=SKIPPED, detail="cancelled")
        else:
            try:
                row.update(result=PASS, **check_rigctld(radio.host, radio.port))
            except RigctldError as err:
                row.update(result=FAIL, detail=str(err))
        rows.append(row)
    failed = [r for r in rows if r["result"] == FAIL]
    if failed:
        return _section("rigctld", title, FAIL, "; ".join(f"{r['radio']}: {r['detail']}" for r in failed), rows)
    answered = [r for r in rows if r["result"] == PASS]
    summary = "; ".join(f"{r['radio']} {r.get('model') or ''} {r['frequency_hz']} Hz, PTT {'on' if r['ptt'] else 'off'}"
                        .replace("  ", " ") for r in answered) or "cancelled"
    return _section("rigctld", title, PASS if answered else SKIPPED, summary, rows)


# --- audio -----------------------------------------------------------------------------------------


def audio_latency(ctx: ReportContext) -> Section:
    title = "Audio round-trip latency"
    if ctx.profile is None:
        return _section("audio-latency", title, SKIPPED, ctx.profile_problem or "no profile")
    audio = ctx.profile.audio
    if audio.backend == "null":
        return _section("audio-latency", title, SKIPPED, "the null audio device has no inputs to loop back to")
    if ctx.skip_slow:
        return _section("audio-latency", title, SKIPPED, "skipped (--skip-slow)")
    if ctx.position is not None:
        return _section("audio-latency", title, SKIPPED,
                        "the running console holds the sound device: use the AUDIO tab's latency test")
    from app.audio.latency import LatencyError, measure_round_trip
    from hardware.audio.base import (
        AudioDeviceError,
        StreamSpec,
        open_backend,
        resolve_device,
    )

    output = audio.channels.get("headset_left", 1)
    input_ = audio.channels.get("headset_mic", 1)
    spec = StreamSpec(device=audio.device, samplerate=audio.samplerate, blocksize=audio.blocksize,
                      latency=audio.latency, inputs=input_, outputs=output)
    where = {"backend": audio.backend, "device": audio.device or "(default)", "output": output, "input": input_}
    try:
        backend = open_backend(audio.backend)
        if audio.device:
            resolve_device(backend.name, backend.devices(), spec, None)
        result = measure_round_trip(backend, spec, output - 1, input_ - 1, repeats=LATENCY_REPEATS,
                                    settle_s=ctx.latency_settle_s)
    except AudioDeviceError as err:
        return _section("audio-latency", title, FAIL, f"the sound device cannot be used: {err}", where)
    except LatencyError as err:
        message = str(err)
        if "nothing received" in message:  # no loop plugged in: not a fault of the position
            return _section("audio-latency", title, SKIPPED,
                            f"no loopback from output {output} to input {input_}: {message}", where)
        return _section("audio-latency", title, FAIL, message, where)
    figures = result.as_dict()
    summary = (f"{result.measured_ms:.2f} ms measured vs {result.reported_ms:.2f} ms reported "
               f"(output {output} -> input {input_})")
    return _section("audio-latency", title, PASS, summary, {**where, **figures})


def bench_audio(ctx: ReportContext) -> Section:
    title = "Audio processing time (bench audio)"
    if ctx.skip_slow:
        return _section("bench-audio", title, SKIPPED, "skipped (--skip-slow)")
    from app.bench.audio import run_audio_bench

    audio = ctx.profile.audio if ctx.profile is not None else None
    blocksize = audio.blocksize if audio is not None else 128
    rate = audio.samplerate if audio is not None else 48000
    figures = run_audio_bench(BENCH_INPUTS, blocksize=blocksize, samplerate=rate, blocks=BENCH_BLOCKS)
    summary = (f"{BENCH_INPUTS} inputs, {blocksize} frames at {rate} Hz: median {figures['median_us']:.0f} us "
               f"({figures['median_pct']:.1f} % of the block), p99 {figures['p99_us']:.0f} us "
               f"({figures['p99_pct']:.1f} %)")
    # Judged on the median, the engine's own cost: the p99 of a timing loop on a shared machine also
    # counts the time other processes held the CPU (the real callback runs at real-time priority).
    status = PASS if figures["median_pct"] < MEDIAN_LIMIT_PCT else FAIL
    if status == FAIL:
        summary += f": the median is over {MEDIAN_LIMIT_PCT:g} % of the block, too little headroom for the device"
    elif figures["p99_pct"] >= 100.0:
        summary += "; the p99 is over one block: the machine was busy while this ran"
    return _section("bench-audio", title, status, summary, figures)


# --- the event log ----------------------------------------------------------------------------------

_ERROR_WORDS = frozenset({"error", "fault", "failed", "lost", "down", "crash", "timeout"})
_WARNING_WORDS = frozenset({"refused", "problem", "unavailable", "warning", "bad", "garbage", "off",
                            "restart", "tot_warning"})


def event_severity(kind: str) -> str | None:
    """"error", "warning" or None for an event kind such as ``link.fault`` or ``ptt.refused``."""
    words = kind.lower().replace("-", ".").split(".")
    if any(word in _ERROR_WORDS for word in words):
        return "error"
    if any(word in _WARNING_WORDS for word in words):
        return "warning"
    return None


def recent_events(ctx: ReportContext) -> Section:
    title = "Recent errors and warnings (event log)"
    path = ctx.store_path
    if path is None:
        return _section("events", title, SKIPPED, ctx.profile_problem or "no event log was named")
    if not Path(path).exists():
        return _section("events", title, SKIPPED, f"no event log yet at {path}")
    from app.store import StoreError
    from app.store.reader import escape_text, tail_events

    try:
        events = tail_events(path, EVENT_SCAN)
    except StoreError as err:
        return _section("events", title, FAIL, str(err))
    since = time.time() - EVENT_WINDOW_S
    rows = []
    for event in events:
        severity = event_severity(event.kind)
        if severity is None or event.wall < since:
            continue
        rows.append({"time": _local_time(event.wall), "severity": severity, "kind": escape_text(event.kind),
                     "channel": escape_text(event.channel), "source": escape_text(event.source),
                     "detail": escape_text(redact_text(event.detail))})
    errors = sum(1 for r in rows if r["severity"] == "error")
    warnings = len(rows) - errors
    scope = f"in the last 24 h of {path} ({len(events)} events read)"
    summary = f"{errors} errors, {warnings} warnings {scope}"
    data = {"path": str(path), "events_read": len(events), "listed": rows[-EVENT_LIMIT:]}
    return _section("events", title, FAIL if errors else PASS, summary, data)


def _local_time(wall: float) -> str:
    try:
        return datetime.fromtimestamp(wall).astimezone().isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return f"@{wall!r}"
