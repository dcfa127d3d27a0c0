"""Technician checks of the position's radios: key one for N seconds, check a rigctld link, send a
tone-remote keying sequence. Used by ``dispatch-console diag ptt|rig|trc`` and the Technician view.

Never left keyed: every keying is undone in a ``finally`` (cancel, Ctrl-C/SIGTERM turned into a
cancel by the caller, an exception), and the driver's ``stop`` unkeys again before it returns.

Two ways to key:
- ``key_radio``: builds the radio's own driver from its profile entry (the console is not running;
  the command line). Reports the driver's confirmations (``KeyStateChanged``) with their times.
- ``PositionKeyTest``: keys a channel of a running position through its console (instant transmit
  from the source "technician"), so the key is arbitrated, logged and shown on the tile like any other.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from hardware.events import CarrierChanged, KeyStateChanged, LinkChanged, LinkState

Progress = Callable[[float, float], None]  # (done, total) in seconds
TECHNICIAN_SOURCE = "technician"
MAX_KEY_S = 120.0  # a technician's test, not a transmission: longer is refused


class KeyTestError(Exception):
    """The test could not be run (the message says why); nothing was keyed."""


# --- key a radio through its own driver ------------------------------------------------------------


class _Recorder:
    """The driver's event sink; the test waits on it (events arrive on the driver's thread)."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._cond = threading.Condition()

    def __call__(self, event: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, match: Callable[[Any], bool], timeout: float, cancel: threading.Event | None,
                 after: int = 0) -> Any:
        """The first event from index ``after`` that matches; None on time-out or cancel."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if match(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (cancel is not None and cancel.is_set()):
                    return None
                self._cond.wait(min(remaining, 0.05))  # short: a cancel from a signal handler is seen soon

    def mark(self) -> int:
        with self._cond:
            return len(self.events)


@dataclass
class KeyReport:
    radio: str
    kind: str
    address: str
    requested_s: float
    result: str = "failed"  # ok | cancelled | failed
    error: str = ""
    link: str = ""  # the link's detail when it came up
    keyed_wall: float | None = None  # the radio confirmed keyed (Unix seconds)
    unkeyed_wall: float | None = None  # the radio confirmed unkeyed
    keyed_s: float | None = None  # confirmed keyed -> confirmed unkeyed
    key_confirm_ms: float | None = None  # key asked -> keyed confirmed
    unkey_confirm_ms: float | None = None  # unkey asked -> unkeyed confirmed
    confirmations: list[dict[str, Any]] = field(default_factory=list)  # every KeyStateChanged: t_s, keyed, error
    carrier: list[dict[str, Any]] = field(default_factory=list)  # carrier edges seen: t_s, active (a loop plug shows the key)
    unkeyed: bool = True  # False only if the driver still says keyed after stop (never expected)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def radio_address(cfg: Any) -> str:
    if cfg.kind == "serial":
        return f"{cfg.url} (PTT on {cfg.ptt_line.upper()})"
    if cfg.kind == "hamlib":
        return f"rigctld {cfg.host}:{cfg.port}"
    if cfg.kind == "tone-remote":
        return f"audio output {cfg.tx_output}"
    return "simulated"


def key_radio(cfg: Any, seconds: float, *, cancel: threading.Event | None = None, progress: Progress | None = None,
              link_timeout_s: float = 5.0, confirm_timeout_s: float = 3.0) -> KeyReport:
    """Key the radio of profile entry ``cfg`` for ``seconds`` through its own driver, then unkey it.
    Raises KeyTestError when it cannot even be tried (a tone-remote radio: ``trc_test``)."""
    if not 0 < seconds <= MAX_KEY_S:
        raise KeyTestError(f"--seconds {seconds:g} must be more than 0 and at most {MAX_KEY_S:g}")
    if cfg.kind == "tone-remote":
        raise KeyTestError(f"radio {cfg.id!r} is a tone-remote radio: it keys through the sound device; "
                           f"use 'diag trc {cfg.id}' (or key it from the Technician view)")
    from app.drivers import build_radio

    recorder = _Recorder()
    built = build_radio(cfg, recorder)
    if built.driver is None:
        raise KeyTestError(f"radio {cfg.id!r}: {built.problem}")
    report = KeyReport(cfg.id, cfg.kind, radio_address(cfg), seconds)
    key_driver(built.driver, report, recorder, cancel=cancel or threading.Event(), progress=progress,
               link_timeout_s=link_timeout_s, confirm_timeout_s=confirm_timeout_s)
    return report


def key_driver(driver: Any, report: KeyReport, recorder: _Recorder, *, cancel: threading.Event,
               progress: Progress | None, link_timeout_s: float, confirm_timeout_s: float) -> None:
    """Start ``driver``, key it for ``report.requested_s``, unkey and stop it; fills ``report``."""
    start = time.monotonic()
    asked_key: float | None = None
    keyed_at: float | None = None
    driver.start()
    try:
        link = recorder.wait_for(lambda e: isinstance(e, LinkChanged) and e.state in (LinkState.UP, LinkState.FAULT),
                                 link_timeout_s, cancel)
        if link is None:
            report.result, report.error = _stopped_or(cancel, f"the link did not come up within {link_timeout_s:g} s"
                                                      + _last_link(recorder))
            return
        report.link = link.detail
        if link.state is LinkState.FAULT:
            report.error = f"link fault: {link.detail}"
            return
        mark = recorder.mark()
        asked_key = time.monotonic()
        driver.key(True)
        confirmed = recorder.wait_for(lambda e: isinstance(e, KeyStateChanged), confirm_timeout_s, cancel, mark)
        if confirmed is None:
            report.result, report.error = _stopped_or(cancel, f"no key confirmation within {confirm_timeout_s:g} s")
            return
        if not confirmed.keyed:
            report.error = confirmed.error or "the radio reported unkeyed"
            return
        keyed_at = time.monotonic()
        report.keyed_wall = time.time()
        report.key_confirm_ms = (keyed_at - asked_key) * 1000.0
        while not cancel.is_set():
            held = time.monotonic() - keyed_at
            if held >= report.requested_s:
                break
            if progress is not None:
                progress(held, report.requested_s)
            cancel.wait(min(0.05, report.requested_s - held))
        report.result = "cancelled" if cancel.is_set() else "ok"
    finally:
        mark = recorder.mark()
        asked_unkey = time.monotonic()
        driver.key(False)  # first, whatever happened above
        if asked_key is not None:
            unkeyed = recorder.wait_for(lambda e: isinstance(e, KeyStateChanged) and not e.keyed,
                                        confirm_timeout_s, None, mark)
            if unkeyed is not None and keyed_at is not None:
                report.unkeyed_wall = time.time()
                report.unkey_confirm_ms = (time.monotonic() - asked_unkey) * 1000.0
                report.keyed_s = time.monotonic() - keyed_at
        driver.stop()  # unkeys again before it returns
        report.unkeyed = not bool(getattr(driver, "keyed", False))
        report.confirmations = [
            {"t_s": round(max(0.0, _mono(e.t) - start), 4), "keyed": e.keyed, "error": e.error}
            for e in list(recorder.events) if isinstance(e, KeyStateChanged)
        ]
        report.carrier = [{"t_s": round(max(0.0, _mono(e.t) - start), 4), "active": e.active}
                          for e in list(recorder.events) if isinstance(e, CarrierChanged)]
        if progress is not None and report.result == "ok":
            progress(report.requested_s, report.requested_s)


def _mono(t: float) -> float:
    return t  # hardware.events.now() is time.monotonic()


def _stopped_or(cancel: threading.Event, error: str) -> tuple[str, str]:
    return ("cancelled", "cancelled before the radio was keyed") if cancel.is_set() else ("failed", error)


def _last_link(recorder: _Recorder) -> str:
    links = [e for e in recorder.events if isinstance(e, LinkChanged)]
    return f" (last: {links[-1].state.value}: {links[-1].detail})" if links else ""


# --- rigctld link check ----------------------------------------------------------------------------


@dataclass
class RigReport:
    address: str
    ok: bool = False
    error: str = ""
    model: str = ""
    manufacturer: str = ""
    backend_version: str = ""
    info: str = ""
    frequency_hz: int | None = None
    mode: str = ""
    passband_hz: int | None = None
    ptt: bool | None = None
    dcd: bool | None = None  # None: the rig cannot tell
    connect_ms: float | None = None
    round_trip_ms: float | None = None  # median of the single-line commands' answers

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rig_check(host: str, port: int, *, timeout_s: float = 2.0) -> RigReport:
    """Ask rigctld for its rig's model (``\\dump_caps``), info (``_``), frequency, mode, PTT and DCD.
    Nothing is changed on the rig."""
    from hardware.radio.rigctld import RigctldClient, RigctldError

    report = RigReport(f"{host}:{port}")
    try:
        caps = _dump_caps(host, port, timeout_s)
    except OSError as err:
        report.error = f"rigctld {report.address}: {err}"
        return report
    report.model = caps.get("Model name", "")
    report.manufacturer = caps.get("Mfg name", "")
    report.backend_version = caps.get("Backend version", "")
    client = RigctldClient(host, port, timeout_s)
    times: list[float] = []
    try:
        t0 = time.monotonic()
        client.connect()
        report.connect_ms = (time.monotonic() - t0) * 1000.0

        def ask(command: str):
            t = time.monotonic()
            reply = client.command(command)
            times.append((time.monotonic() - t) * 1000.0)
            return reply

        info = ask("_")
        report.info = info.values.get("Info", "") if info.ok else ""
        freq = ask("f")
        if freq.ok:
            report.frequency_hz = int(float(freq.values.get("Frequency", "0")))
        mode = ask("m")
        if mode.ok:
            report.mode = mode.values.get("Mode", "")
            passband = mode.values.get("Passband", "")
            report.passband_hz = int(passband) if passband.lstrip("-").isdigit() else None
        ptt = ask("t")
        if not ptt.ok:
            raise RigctldError(f"rigctld {report.address} answered RPRT {ptt.code} to 't' (get PTT)")
        report.ptt = ptt.values.get("PTT", "0") not in ("0", "")
        dcd = ask("\\get_dcd")
        report.dcd = (dcd.values.get("DCD", "0") not in ("0", "")) if dcd.ok else None
        report.ok = True
    except (RigctldError, ValueError) as err:
        report.error = str(err)
    finally:
        client.close()
    if times:
        report.round_trip_ms = sorted(times)[len(times) // 2]
    return report


def _dump_caps(host: str, port: int, timeout_s: float) -> dict[str, str]:
    """``\\dump_caps`` in the newline-separated extended form: many ``Key:\\tvalue`` lines, then RPRT."""
    deadline = time.monotonic() + timeout_s
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(b"+\\dump_caps\n")
        data = b""
        while True:
            lines = data.split(b"\n")
            done = next((ln for ln in lines[:-1] if ln.startswith(b"RPRT ")), None)
            if done is not None:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise OSError(f"no answer to \\dump_caps within {timeout_s:g} s")
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise OSError("closed the connection during \\dump_caps")
            data += chunk
            if len(data) > 1_000_000:
                raise OSError("\\dump_caps answer longer than 1 MB")
    code = done.decode("ascii", "replace")[5:].strip()
    if code != "0":
        raise OSError(f"\\dump_caps answered RPRT {code}")
    caps: dict[str, str] = {}
    for raw in lines:
        key, sep, value = raw.decode("utf-8", "replace").partition(":")
        if sep and key and key not in caps:
            caps[key.strip()] = value.strip()
    return caps


# --- tone-remote keying sequence -----------------------------------------------------------------


@dataclass
class TrcSegment:
    name: str  # HLGT | function | LLGT
    expected_hz: float
    expected_dbfs: float
    measured_hz: float | None = None
    level_dbfs: float | None = None
    ok: bool = False


@dataclass
class TrcReport:
    radio: str
    backend: str
    device: str
    output: int  # 1-based device channel
    function: str
    function_hz: float
    hold_s: float
    result: str = "failed"  # ok | cancelled | failed
    error: str = ""
    ready_ms: float | None = None  # keyed -> the engine says the keying tones are out
    output_peak_dbfs: float | None = None  # the engine's meter on that output while the guard is held
    output_rms_dbfs: float | None = None
    segments: list[TrcSegment] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FREQ_TOLERANCE_HZ = 5.0
LEVEL_TOLERANCE_DB = 1.0


def trc_test(profile: Any, radio_id: str, *, function: str = "F1", hold_s: float = 0.5,
             cancel: threading.Event | None = None, progress: Progress | None = None,
             backend: Any = None) -> TrcReport:
    """Open the profile's sound device, key the radio's tone-remote line through an Engine (guard +
    function tone, guard held ``hold_s``), unkey, and measure what the engine wrote to that output.
    Raises KeyTestError when the radio cannot be tested this way."""
    import numpy as np

    from app.audio.endpoints import audio_map
    from app.audio.engine import Engine
    from app.dsp.trc import FUNCTION_DB, FUNCTION_S, GUARD_HZ, HLGT_DB, HLGT_S, LLGT_DB
    from hardware.audio.base import AudioDeviceError, StreamSpec, open_backend

    cfg = next((r for r in profile.radios if r.id == radio_id), None)
    if cfg is None:
        raise KeyTestError(f"no radio {radio_id!r} in the profile (radios: {', '.join(r.id for r in profile.radios)})")
    if not cfg.tx_output:
        raise KeyTestError(f"radio {radio_id!r} has no tx_output on the sound device")
    table = {"F1": cfg.function_hz, **cfg.functions} if cfg.kind == "tone-remote" else {"F1": 1950.0}
    if cfg.kind == "tone-remote":
        table["monitor"] = cfg.monitor_hz
    name = next((k for k in table if k.lower() == function.strip().lower()), None)
    if name is None:
        raise KeyTestError(f"radio {radio_id!r} has no function {function!r} (it has {', '.join(table)})")
    if not 0 < hold_s <= 30:
        raise KeyTestError(f"hold {hold_s:g} s must be more than 0 and at most 30")
    hz = float(table[name])
    audio = profile.audio
    amap = audio_map(audio.channels, [(r.id, r.name, r.kind, r.rx_input, r.tx_output) for r in profile.radios])
    column = amap.radio_tx.get(radio_id, amap.trc_outputs.get(radio_id))
    if column is None:
        raise KeyTestError(f"radio {radio_id!r}: tx_output {cfg.tx_output!r} is not in [audio.channels]")
    rate, frames = audio.samplerate, audio.blocksize
    n_in, n_out = max(amap.n_in, 1), amap.n_out
    engine = Engine(n_in, n_out, frames, rate, trc_outputs=(column,))
    total_s = HLGT_S + FUNCTION_S + hold_s + 0.3
    capture = np.zeros(int(total_s * rate) + 4 * frames, dtype=np.float32)
    written = [0]
    lead_blocks = [0]

    def callback(inp, out, status) -> None:  # the audio thread: no allocation
        engine.process(inp, out, status)
        n = written[0]
        if n == 0 and not engine.playing():
            lead_blocks[0] += 1
            return
        m = min(out.shape[0], capture.shape[0] - n)
        if m > 0:
            capture[n:n + m] = out[:m, column]
            written[0] = n + m

    try:
        be = backend or open_backend(audio.backend)
        spec = StreamSpec(device=audio.device, samplerate=rate, blocksize=frames, latency=audio.latency,
                          inputs=n_in, outputs=n_out)
        stream = be.open(spec, callback)
    except (AudioDeviceError, ValueError) as err:
        raise KeyTestError(f"sound device: {err}") from None
    report = TrcReport(radio_id, audio.backend, stream.device_name, column + 1, name, hz, hold_s)
    cancel = cancel or threading.Event()
    stream.start()
    try:
        t0 = time.monotonic()
        engine.key_trc(column, hz, test_level_dbfs=audio.test_level_dbfs)
        while not engine.trc_ready(column):
            if cancel.wait(0.002):
                break
            if time.monotonic() - t0 > 2.0:
                report.error = "the keying tones were not played within 2 s: the sound device is not running"
                return report
        if not cancel.is_set():
            report.ready_ms = (time.monotonic() - t0) * 1000.0
        held_from = time.monotonic()
        while not cancel.is_set() and time.monotonic() - held_from < hold_s:
            if progress is not None:
                progress(time.monotonic() - t0, HLGT_S + FUNCTION_S + hold_s)
            cancel.wait(0.02)
        report.output_peak_dbfs = float(engine.output_levels[0][column])
        report.output_rms_dbfs = float(engine.output_levels[1][column])
    finally:
        engine.unkey_trc(column)  # the base station unkeys when the guard tone stops
        wait_until = time.monotonic() + 4 * frames / rate + 0.05
        while time.monotonic() < wait_until:
            time.sleep(0.005)
        stream.close()
    if cancel.is_set():
        report.result, report.error = "cancelled", "cancelled"
        return report
    samples = capture[:written[0]].astype(np.float64)
    level = audio.test_level_dbfs
    plan = [("HLGT", GUARD_HZ, level + HLGT_DB, 0.0, HLGT_S),
            ("function", hz, level + FUNCTION_DB, HLGT_S, HLGT_S + FUNCTION_S),
            ("LLGT", GUARD_HZ, level + LLGT_DB, HLGT_S + FUNCTION_S, HLGT_S + FUNCTION_S + hold_s)]
    report.segments = [_measure(samples, rate, *entry) for entry in plan]
    report.result = "ok" if all(s.ok for s in report.segments) else "failed"
    if report.result != "ok":
        bad = [s.name for s in report.segments if not s.ok]
        report.error = f"out of tolerance: {', '.join(bad)}"
    return report


def _measure(samples: Any, rate: int, name: str, hz: float, dbfs: float, start_s: float, end_s: float) -> TrcSegment:
    from app.dsp.measure import peak_frequency, tone_level_dbfs

    margin = 0.005  # the tones' ramps
    a, b = int((start_s + margin) * rate), int((end_s - margin) * rate)
    segment = TrcSegment(name, hz, dbfs)
    if b - a < int(0.01 * rate) or b > len(samples):
        return segment
    part = samples[a:b]
    segment.measured_hz = round(peak_frequency(part, rate, resolution_hz=0.5), 1)
    segment.level_dbfs = round(tone_level_dbfs(part, segment.measured_hz, rate), 2)
    segment.ok = (abs(segment.measured_hz - hz) <= FREQ_TOLERANCE_HZ
                  and math.isfinite(segment.level_dbfs) and abs(segment.level_dbfs - dbfs) <= LEVEL_TOLERANCE_DB)
    return segment


# --- key a channel of a running position ---------------------------------------------------------


class PositionKeyTest(QObject):
    """Keys one channel of a running Position for N seconds through its console; always releases.

    ``finished(dict)`` carries radio, requested_s, result (ok | cancelled | failed), error, keyed_wall,
    unkeyed_wall, keyed_s. The channel's transmit state comes from the console snapshots.
    """

    progress = Signal(float, float)  # held, requested seconds
    finished = Signal(object)

    def __init__(self, position: Any, channel_id: str, seconds: float, *, confirm_timeout_s: float = 3.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        if not 0 < seconds <= MAX_KEY_S:
            raise KeyTestError(f"{seconds:g} s must be more than 0 and at most {MAX_KEY_S:g}")
        self.position = position
        self.channel_id = channel_id
        self.seconds = seconds
        self.confirm_timeout_s = confirm_timeout_s
        self.result: dict[str, Any] = {"radio": channel_id, "requested_s": seconds, "result": "failed", "error": "",
                                       "keyed_wall": None, "unkeyed_wall": None, "keyed_s": None}
        self._phase = "idle"  # idle | keying | held | releasing | done
        self._pressed = False
        self._failed_before = ""
        self._keyed_t = 0.0
        self._asked_t = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._tick)

    @property
    def running(self) -> bool:
        return self._phase in ("keying", "held", "releasing")

    def start(self) -> None:
        if self._phase != "idle":
            return
        before = self._channel(self.position.console)
        self._failed_before = before.failed_to_key if before is not None else ""
        self.position.console_changed.connect(self._on_console)
        self._phase = "keying"
        self._asked_t = time.monotonic()
        self._press(True)
        self._timer.start()

    def cancel(self) -> None:
        if self._phase in ("keying", "held"):
            self.result["result"] = "cancelled"
            self._release()

    def _press(self, pressed: bool) -> None:
        self._pressed = pressed
        self.position.instant_transmit(self.channel_id, TECHNICIAN_SOURCE, pressed)

    def _channel(self, snapshot: Any) -> Any:
        return next((c for c in snapshot.channels if c.id == self.channel_id), None)

    def _on_console(self, snapshot: Any) -> None:
        ch = self._channel(snapshot)
        if ch is None:
            return
        if self._phase == "keying":
            if ch.transmitting and ch.tx_source == TECHNICIAN_SOURCE:
                self._phase = "held"
                self._keyed_t = time.monotonic()
                self.result["keyed_wall"] = time.time()
            elif ch.failed_to_key and ch.failed_to_key != self._failed_before:
                self.result["error"] = ch.failed_to_key
                self._release()
        elif self._phase == "releasing":
            if not ch.transmitting or ch.tx_source != TECHNICIAN_SOURCE:
                if ch.latched and ch.transmitting:
                    return
                self._done()
        elif self._phase == "held" and not ch.transmitting:
            self.result["error"] = ch.failed_to_key or "the channel unkeyed before the time was up"
            self._release()

    def _tick(self) -> None:
        now_t = time.monotonic()
        if self._phase == "keying" and now_t - self._asked_t > self.confirm_timeout_s:
            self.result["error"] = f"not keyed within {self.confirm_timeout_s:g} s"
            self._release()
        elif self._phase == "held":
            held = now_t - self._keyed_t
            self.progress.emit(min(held, self.seconds), self.seconds)
            if held >= self.seconds:
                self.result["result"] = "ok"
                self._release()
        elif self._phase == "releasing":
            ch = self._channel(self.position.console)
            if ch is not None and ch.transmitting and ch.latched and ch.tx_source == TECHNICIAN_SOURCE:
                self._press(True)  # a latching console class: a second press releases
                self._press(False)
            if now_t - self._asked_t > self.confirm_timeout_s:
                self.result["error"] = self.result["error"] or "no unkey confirmation from the console"
                self._done()

    def _release(self) -> None:
        self._phase = "releasing"
        self._asked_t = time.monotonic()
        self._press(False)

    def _done(self) -> None:
        self._phase = "done"
        self._timer.stop()
        try:
            self.position.console_changed.disconnect(self._on_console)
        except (RuntimeError, TypeError):
            pass
        if self.result["keyed_wall"] is not None:
            self.result["unkeyed_wall"] = time.time()
            self.result["keyed_s"] = time.monotonic() - self._keyed_t
        if self.result["result"] == "ok" and self.result["error"]:
            self.result["result"] = "failed"
        self.finished.emit(dict(self.result))
