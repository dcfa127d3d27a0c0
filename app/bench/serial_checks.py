"""The technician's serial checks (pure: no Qt): loopback plug test, modem-line watch, PTT interlock.

- ``loopback_test`` sends a pattern at the port's speed through a loopback plug and compares what comes
  back byte for byte, then raises RTS and DTR one at a time and sees which input lines follow:
  RTS->CTS and DTR->DSR must (a standard plug wires them); DTR->CD and DTR->RI are reported as
  ``not-wired`` when the plug leaves them out. A port without modem lines (a pseudo-terminal, some USB
  adapters) gets ``no-modem-lines`` for every pair instead of an error.
- ``watch_lines`` reports the four input lines' starting levels, then every change, as records.
- ``interlock`` decides whether a technician may toggle RTS/DTR on a port a configured radio keys on.

Every check opens the port with RTS and DTR at their unkeyed levels and, whatever happens (failure,
cancel, Ctrl-C), drops them again and closes the port before returning: nothing is left keyed or held.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from hardware.serial.modem_lines import LINE_NAMES, LineWatcher, ModemLines, NoModemLines, WatchedLine, read_lines
from hardware.serial.ports import LineSettings, open_port

Progress = Callable[[float, str], None]  # (fraction done 0..1, what is happening)

# (output, input, required): a standard loopback plug wires RTS-CTS and DTR-DSR; DTR-CD/RI only some do.
LINE_PAIRS: tuple[tuple[str, str, bool], ...] = (
    ("rts", "cts", True),
    ("dtr", "dsr", True),
    ("dtr", "cd", False),
    ("dtr", "ri", False),
)
SETTLE_S = 0.5  # how long an input line may take to follow its output (an RFC 2217 round trip included)
_SAMPLE_S = 0.002
_WINDOW = 256  # bytes in flight at most: below any UART/driver buffer, so nothing is dropped for lack of room
_CHUNK = 64


class PortOpenError(OSError):
    """The port could not be opened (missing, busy, refused); the message names it."""

    def __str__(self) -> str:
        return str(self.strerror)


# --- opening ----------------------------------------------------------------------------------------


def open_quiet(url: str, settings: LineSettings = LineSettings(), *, rts: bool = False,
               dtr: bool = False) -> tuple[Any, bool]:
    """Open ``url`` with RTS/DTR at the given (unkeyed) levels from the first instant.

    Returns (port, True), or (port, False) for a port whose output lines cannot be set at all (a
    pseudo-terminal): it has no lines that could key anything. Raises ``PortOpenError``.
    """
    try:
        return open_port(url, settings, rts=rts, dtr=dtr), True
    except OSError as err:
        if err.errno not in (errno.ENOTTY, errno.EINVAL):
            raise PortOpenError(err.errno, f"cannot open {url}: {_reason(err)}") from err
    except ValueError as err:  # pyserial: an unknown URL scheme or a bad setting
        raise PortOpenError(errno.EINVAL, f"cannot open {url}: {err}") from err
    try:
        return open_port(url, settings, rts=None, dtr=None), False
    except (OSError, ValueError) as err:
        raise PortOpenError(getattr(err, "errno", None) or errno.EIO, f"cannot open {url}: {_reason(err)}") from err


def _reason(err: BaseException) -> str:
    return str(getattr(err, "strerror", None) or err)


def release(port: Any, rts: bool = False, dtr: bool = False) -> None:
    """Put RTS/DTR back at their unkeyed levels (where the port has them) and close the port."""
    try:
        port.rts = rts
        port.dtr = dtr
    except Exception:  # noqa: BLE001 - a failed or line-less port: closing is all that is left to do
        pass
    finally:
        port.close()


# --- loopback test ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataResult:
    """The data part of the loopback test: what was sent, what came back and how much differed."""

    baudrate: int
    sent: int
    received: int
    errors: int  # bytes that came back different from what was sent at that place
    missing: int  # bytes that never came back
    extra: int  # bytes that came back beyond what was sent
    seconds: float
    first_error_at: int | None = None

    @property
    def passed(self) -> bool:
        return self.sent > 0 and self.errors == 0 and self.missing == 0 and self.extra == 0

    @property
    def bytes_per_s(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class PairResult:
    """One output->input line pair: ``pass``, ``fail``, ``not-wired`` or ``no-modem-lines``."""

    output: str
    input: str
    result: str
    detail: str = ""
    required: bool = True

    @property
    def ok(self) -> bool:
        return self.result in ("pass", "no-modem-lines") or (self.result == "not-wired" and not self.required)

    @property
    def name(self) -> str:
        return f"{self.output.upper()}->{self.input.upper()}"


@dataclass(frozen=True)
class LoopbackResult:
    url: str
    data: DataResult | None
    pairs: tuple[PairResult, ...] = ()
    modem_lines: bool = True
    cancelled: bool = False
    error: str = ""  # the port failed during the test
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return (not self.cancelled and not self.error and self.data is not None and self.data.passed
                and len(self.pairs) == len(LINE_PAIRS) and all(p.ok for p in self.pairs))

    @property
    def verdict(self) -> str:
        if self.cancelled:
            return "CANCELLED"
        if self.error:
            return f"FAIL: {self.error}"
        if not self.passed:
            return "FAIL"
        return "PASS" if self.modem_lines else "PASS (data only: this port has no modem lines)"

    def as_dict(self) -> dict[str, Any]:
        data = None
        if self.data is not None:
            data = {**asdict(self.data), "passed": self.data.passed, "bytes_per_s": round(self.data.bytes_per_s, 1)}
        return {
            "url": self.url, "passed": self.passed, "verdict": self.verdict, "cancelled": self.cancelled,
            "error": self.error, "modem_lines": self.modem_lines, "data": data,
            "pairs": [{"pair": p.name, "output": p.output, "input": p.input, "result": p.result,
                       "required": p.required, "detail": p.detail} for p in self.pairs],
            "notes": list(self.notes),
        }


class _Cancelled(Exception):
    pass


def loopback_pattern(length: int) -> bytes:
    """Every byte value, then alternating bits, all-zero/all-one runs and text: what a bad cable,
    a wrong speed or a wrong parity setting shows up in."""
    block = bytes(range(256)) + b"\x55\xaa" * 16 + b"\x00\xff" * 16 + b"\x02LOOPBACK 0123456789\x03\r\n"
    return (block * (length // len(block) + 1))[:length]


def pattern_length(baudrate: int) -> int:
    """About one second of data at ``baudrate`` (10 bits a byte), 256..4096 bytes."""
    return max(256, min(4096, baudrate // 10))


def loopback_test(url: str, settings: LineSettings = LineSettings(), *, length: int | None = None,
                  progress: Progress | None = None, cancel: threading.Event | None = None,
                  settle_s: float = SETTLE_S, idle: tuple[bool, bool] = (False, False)) -> LoopbackResult:
    """Run the loopback plug test on ``url`` at ``settings`` and close the port again.

    ``idle`` is (RTS, DTR) when unkeyed: the port is opened, left and closed at those levels.
    Raises ``PortOpenError`` when the port cannot be opened; every later failure is in the result.
    """
    cancel = cancel or threading.Event()
    report = progress or (lambda fraction, text: None)
    pattern = loopback_pattern(length or pattern_length(settings.baudrate))
    # A short timeout keeps cancel prompt; the data loop waits on silence, not on single reads.
    quick = LineSettings(settings.baudrate, settings.bytesize, settings.parity, settings.stopbits, timeout=0.02)
    port, has_lines = open_quiet(url, quick, rts=idle[0], dtr=idle[1])
    data: DataResult | None = None
    pairs: list[PairResult] = []
    notes: list[str] = []
    try:
        report(0.0, f"sending {len(pattern)} bytes at {settings.baudrate} baud")
        data = _data_test(port, pattern, settings, lambda f: report(0.8 * f, "data"), cancel)
        if not has_lines:
            pairs = [PairResult(o, i, "no-modem-lines", "the port has no modem lines", r) for o, i, r in LINE_PAIRS]
        else:
            pairs = _pair_test(port, idle, settle_s, lambda f, text: report(0.8 + 0.2 * f, text), cancel)
        modem_lines = not any(p.result == "no-modem-lines" for p in pairs)
        if not modem_lines:
            notes.append("no modem lines: the port cannot report CTS/DSR/CD/RI, so no line pair was tested")
        report(1.0, "done")
        return LoopbackResult(url, data, tuple(pairs), modem_lines, notes=tuple(notes))
    except _Cancelled:
        return LoopbackResult(url, data, tuple(pairs), cancelled=True)
    except OSError as err:
        return LoopbackResult(url, data, tuple(pairs), error=f"{url} failed during the test: {_reason(err)}")
    finally:
        _close(port, has_lines, idle)


def _close(port: Any, has_lines: bool, idle: tuple[bool, bool]) -> None:
    if has_lines:
        release(port, *idle)
    else:
        port.close()


def _data_test(port: Any, pattern: bytes, settings: LineSettings, progress: Callable[[float], None],
               cancel: threading.Event) -> DataResult:
    port.reset_input_buffer()
    bits = 1 + settings.bytesize + (0 if settings.parity == "N" else 1) + settings.stopbits
    byte_s = bits / settings.baudrate
    silence_s = max(0.5, 64 * byte_s)  # nothing more for this long after the last byte was due: it is lost
    received = bytearray()
    sent = 0
    start = last = time.monotonic()
    while len(received) < len(pattern):
        if cancel.is_set():
            raise _Cancelled
        if sent < len(pattern) and sent - len(received) < _WINDOW:
            sent += port.write(pattern[sent:sent + _CHUNK]) or 0
        got = port.read(max(1, port.in_waiting))
        now = time.monotonic()
        if got:
            received += got
            last = now
            progress(min(1.0, len(received) / len(pattern)))
        elif now - last > silence_s + (sent - len(received)) * byte_s:
            break  # what is still in flight should have come back by now
    elapsed = time.monotonic() - start
    extra = port.read(port.in_waiting) if port.in_waiting else b""  # anything beyond the pattern is an error too
    received += extra
    errors, first = 0, None
    for index, (want, got_byte) in enumerate(zip(pattern, received)):
        if want != got_byte:
            errors += 1
            first = index if first is None else first
    return DataResult(settings.baudrate, sent, len(received), errors, max(0, len(pattern) - len(received)),
                      max(0, len(received) - len(pattern)), round(elapsed, 4), first)


def _pair_test(port: Any, idle: tuple[bool, bool], settle_s: float, progress: Progress,
               cancel: threading.Event) -> list[PairResult]:
    """Assert each output in turn (the other one idle) and see which inputs follow it."""
    try:
        read_lines(port)
    except NoModemLines:
        return [PairResult(o, i, "no-modem-lines", "the port has no modem lines", r) for o, i, r in LINE_PAIRS]
    idle_of = {"rts": idle[0], "dtr": idle[1]}
    follows: dict[str, dict[str, tuple[bool, bool]]] = {}  # output -> input -> (level asserted, level released)
    for step, out in enumerate(("rts", "dtr")):
        wanted = [i for o, i, req in LINE_PAIRS if o == out and req]
        progress(step / 2, f"{out.upper()} on")
        setattr(port, out, True)
        high = _settle(port, lambda lv: all(lv.get(i) for i in wanted), settle_s, cancel)
        progress(step / 2 + 0.25, f"{out.upper()} off")
        setattr(port, out, False)
        low = _settle(port, lambda lv: not any(lv.get(i) for i in wanted), settle_s, cancel)
        setattr(port, out, idle_of[out])
        follows[out] = {line: (high.get(line), low.get(line)) for line in LINE_NAMES}
    progress(1.0, "lines done")
    return [_judge(out, inp, required, follows) for out, inp, required in LINE_PAIRS]


def _settle(port: Any, done: Callable[[ModemLines], bool], settle_s: float, cancel: threading.Event) -> ModemLines:
    """The lines once ``done`` holds (plus a few samples, so lines changing together are all seen),
    or as they are after ``settle_s``."""
    deadline = time.monotonic() + settle_s
    while True:
        if cancel.is_set():
            raise _Cancelled
        levels = read_lines(port)
        if done(levels):
            cancel.wait(5 * _SAMPLE_S)
            return read_lines(port)
        if time.monotonic() >= deadline:
            return levels
        cancel.wait(_SAMPLE_S)


def _judge(out: str, inp: str, required: bool, follows: dict[str, dict[str, tuple[bool, bool]]]) -> PairResult:
    on, off = follows[out][inp]
    other = "dtr" if out == "rts" else "rts"
    other_on, other_off = follows[other][inp]
    name = f"{inp.upper()}"
    if on and not off:
        if other_on and not other_off:
            return PairResult(out, inp, "fail", f"{name} follows both RTS and DTR (lines shorted together?)", required)
        return PairResult(out, inp, "pass", f"{name} follows {out.upper()}", required)
    if off and not on:
        return PairResult(out, inp, "fail", f"{name} is inverted: it drops when {out.upper()} is asserted", required)
    if other_on and not other_off:
        return PairResult(out, inp, "fail", f"{name} follows {other.upper()}, not {out.upper()} (crossed wires?)",
                          required)
    level = "asserted" if on else "low"
    if required:
        return PairResult(out, inp, "fail", f"{name} stays {level} when {out.upper()} changes: "
                                            f"the {out.upper()}-{name} wire is missing or broken", required)
    return PairResult(out, inp, "not-wired", f"{name} stays {level}: this plug does not wire {out.upper()}-{name}",
                      required)


# --- watching the modem lines -----------------------------------------------------------------------


@dataclass(frozen=True)
class LineRecord:
    """One record of ``watch_lines``: the starting state (``line`` empty, ``state`` set) or a change."""

    t: float  # seconds since the watch started
    line: str = ""
    active: bool = False
    state: ModemLines | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.state is not None:
            return {"t": round(self.t, 6), "state": {name: self.state.get(name) for name in LINE_NAMES}}
        return {"t": round(self.t, 6), "line": self.line, "active": self.active}


def watch_lines(url: str, emit: Callable[[LineRecord], None], *, seconds: float | None = None,
                stop: threading.Event | None = None, idle: tuple[bool, bool] = (False, False),
                poll_s: float | None = None) -> str:
    """Emit the starting levels of CTS, DSR, CD and RI on ``url``, then each change, until ``seconds``
    pass or ``stop`` is set (Ctrl-C also ends it). Returns how changes were noticed.

    Raises ``PortOpenError``, or ``NoModemLines`` for a port without modem lines.
    """
    stop = stop or threading.Event()
    port, has_lines = open_quiet(url, rts=idle[0], dtr=idle[1])
    watcher = None
    try:
        kwargs = {"poll_s": poll_s} if poll_s else {}
        watcher = LineWatcher(port, [WatchedLine(name) for name in LINE_NAMES], **kwargs)
        start = time.monotonic()
        emit(LineRecord(0.0, state=ModemLines(*(watcher.active(name) for name in LINE_NAMES))))
        end = None if seconds is None else start + seconds
        while not stop.is_set():
            remaining = 0.25 if end is None else min(0.25, end - time.monotonic())
            if remaining <= 0:
                break
            for change in watcher.wait(remaining):
                emit(LineRecord(max(0.0, change.t - start), change.line, change.active))
        return watcher.how
    finally:
        if watcher is not None:
            watcher.close()
        _close(port, has_lines, idle)


# --- which ports key a radio: the PTT interlock -----------------------------------------------------


@dataclass(frozen=True)
class PttUse:
    """A configured radio that keys on a line of a port."""

    radio_id: str
    radio_name: str
    line: str  # "rts" or "dtr"
    active_high: bool

    @property
    def unkeyed_level(self) -> bool:
        return not self.active_high


def same_port(a: str, b: str) -> bool:
    """Whether two port URLs name the same port (a /dev/serial/by-id link and its ttyUSB0 are one)."""
    a, b = a.strip(), b.strip()
    if a == b:
        return True
    if "://" in a or "://" in b:
        return a.lower() == b.lower()
    if os.name == "nt":
        return a.upper().removeprefix("\\\\.\\") == b.upper().removeprefix("\\\\.\\")
    return os.path.realpath(a) == os.path.realpath(b)


def ptt_uses(profile: Any, url: str) -> list[PttUse]:
    """The configured radios that key on ``url`` (serial radios whose PTT is RTS or DTR of that port)."""
    uses = []
    for radio in getattr(profile, "radios", None) or ():
        if getattr(radio, "kind", "") == "serial" and same_port(radio.url, url):
            uses.append(PttUse(radio.id, radio.name, radio.ptt_line, radio.ptt_active_high))
    return uses


def idle_levels(uses: Iterable[PttUse]) -> tuple[bool, bool]:
    """(RTS, DTR) that key none of ``uses``: low, except a PTT line that keys when low."""
    levels = {"rts": False, "dtr": False}
    for use in uses:
        levels[use.line] = use.unkeyed_level
    return levels["rts"], levels["dtr"]


@dataclass(frozen=True)
class InterlockDecision:
    allowed: bool
    needs_confirmation: bool
    reason: str = ""


def interlock(uses: Iterable[PttUse], keyed: Iterable[str], *, confirmed: bool) -> InterlockDecision:
    """May a technician toggle RTS/DTR of a port these radios key on?

    Refused while the console has any of them keyed (whatever was confirmed); otherwise allowed once
    the technician confirmed, or at once for a port no radio keys on.
    """
    uses = list(uses)
    if not uses:
        return InterlockDecision(True, False)
    keyed_now = set(keyed)
    for use in uses:
        if use.radio_id in keyed_now:
            return InterlockDecision(False, False, f"{use.radio_name} ({use.radio_id}) is keyed by the console: "
                                                   f"its PTT line {use.line.upper()} cannot be toggled now")
    names = ", ".join(f"{u.radio_name} ({u.radio_id}, PTT on {u.line.upper()})" for u in uses)
    if confirmed:
        return InterlockDecision(True, True, f"confirmed: this port keys {names}")
    return InterlockDecision(False, True, f"this port keys {names}: toggling its lines may key the radio")


def keyed_radios(console: Any) -> set[str]:
    """Ids of the channels the console has keyed or is keying, from a ConsoleSnapshot."""
    return {c.id for c in getattr(console, "channels", ()) if c.transmitting or c.key_pending}


# --- where the technician finds ports ---------------------------------------------------------------


def configured_settings(profile: Any, url: str) -> LineSettings | None:
    """The profile's serial settings for ``url`` (the ALI link's), or None when it configures none."""
    ali = getattr(profile, "ali", None)
    if ali is not None and same_port(ali.url, url):
        return LineSettings(ali.baudrate, ali.bytesize, ali.parity, ali.stopbits)
    return None


def configured_ports(profile: Any) -> list[tuple[str, str]]:
    """(URL, what uses it) for every serial port the profile names: radios, inputs, ALI, ring line."""
    found: list[tuple[str, str]] = []
    for radio in getattr(profile, "radios", None) or ():
        if getattr(radio, "kind", "") == "serial":
            found.append((radio.url, f"radio {radio.name} (PTT {radio.ptt_line.upper()})"))
    for source in getattr(profile, "inputs", None) or ():
        if getattr(source, "kind", "") == "serial-line":
            found.append((source.url, f"input {source.id} ({source.line.upper()})"))
    ali = getattr(profile, "ali", None)
    if ali is not None and not ali.url.startswith(("sim:", "tcp-listen:")):
        found.append((ali.url, f"ALI link ({ali.baudrate} baud)"))
    calls = getattr(profile, "calls", None)
    if calls is not None and getattr(calls, "ring_url", ""):
        found.append((calls.ring_url, f"ring line ({calls.ring_line})"))
    return found


def system_ports() -> list[tuple[str, str]]:
    """(device, description) of the serial ports the operating system lists (the inventory's list)."""
    from hardware.discovery import list_serial_ports

    ports, _problems = list_serial_ports()
    described = []
    for info in ports:
        extra = f" [{info.usb_id}]" if info.usb_id else ""
        described.append((info.device, f"{info.description or info.device}{extra}"))
    return described


def port_choices(profile: Any) -> list[tuple[str, str]]:
    """The profile's ports first, then every other port the system lists; each URL once."""
    choices: list[tuple[str, str]] = []
    for url, what in configured_ports(profile) + system_ports():
        for index, (known, known_what) in enumerate(choices):
            if same_port(known, url):
                if what not in known_what:
                    choices[index] = (known, f"{known_what}; {what}")
                break
        else:
            choices.append((url, what))
    return choices
