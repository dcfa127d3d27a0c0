"""``dispatch-console bench ptt``: time from an input edge to the radio being keyed, through the whole console.

Each path runs a real Position (store, control thread, ConsoleService) built from a small profile, so
the edge travels the console's own way: input driver -> its event -> the control thread -> the
console's PTT rules -> the radio driver. Only the two ends are instrumented:

- the edge: the moment the stimulus is applied: RTS set on the ``benchloop://`` port whose CTS the
  serial-line footswitch driver watches, a MIDI note-on sent from a python-rtmidi output on a private
  JACK server, or the simulated footswitch's ``press()``;
- keyed: the moment the serial radio driver sets RTS on its port (stamped inside the port's own RTS
  setter), or the moment the rigctld driver read ``RPRT 0`` for ``T 1`` (its KeyStateChanged's ``t``).

Between samples the switch is released, the radio seen unkeyed, and a random 10-30 ms pause keeps the
edges from locking to a poll period. A path whose driver or peer is missing is reported with the reason
and no figures. Targets (issue 4): p99 <= 5 ms for serial and MIDI paths, <= 10 ms to rigctld's ack.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.calls.stats import nearest_rank

SERIAL_TARGET_US, RIGCTLD_TARGET_US = 5000.0, 10000.0
WAIT_S = 2.0  # an edge not answered within this is a failed sample: the path is reported broken

HEADER = """schema_version = 1
[position]
name = "BENCH-PTT"
role = "dispatcher"
"""
SERIAL_RADIO = """[[radios]]
id = "radio"
name = "BENCH RADIO"
kind = "serial"
url = "benchloop://radio-tx"
ptt_line = "rts"
carrier_line = "none"
"""
HAMLIB_RADIO = """[[radios]]
id = "radio"
name = "BENCH RIG"
kind = "hamlib"
host = "127.0.0.1"
port = {port}
poll_ms = 200
"""
SERIAL_INPUT = """[[inputs]]
id = "footswitch"
kind = "serial-line"
url = "benchloop://ptt-in"
line = "cts"
debounce_ms = 0.0
"""
MIDI_INPUT = """[[inputs]]
id = "footswitch"
kind = "midi"
port = "{port}"
note = 60
api = "jack"
"""
SIM_INPUT = """[[inputs]]
id = "footswitch"
kind = "sim"
"""


@dataclass
class PathResult:
    path: str
    median_us: float | None
    p99_us: float | None
    samples: int
    target_us: float
    error: str = ""

    @property
    def meets_target(self) -> bool:
        return self.p99_us is not None and self.p99_us <= self.target_us


class PathUnavailable(Exception):
    """The path cannot run here (a driver not in this version, a missing peer); the message says why."""


class _Keyed:
    """The radio end: an event set when the radio is keyed/unkeyed, with the time it happened."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.state = False
        self.t = 0.0

    def record(self, keyed: bool, t: float) -> None:
        with self.changed:
            self.state, self.t = keyed, t
            self.changed.notify_all()

    def wait(self, keyed: bool, timeout: float) -> float | None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.state == keyed, timeout):
                return None
            return self.t


def run_ptt_bench(samples: int = 200, *, paths: list[str] | None = None,
                  pump: Callable[[], None] | None = None) -> dict[str, Any]:
    """Every path's figures as ``{"paths": [PathResult as dict, ...]}``.

    ``pump`` processes the calling thread's Qt events between samples (the position publishes
    snapshots to it); the CLI passes QCoreApplication.processEvents.
    """
    runners = {
        "serial-line -> serial RTS": (_serial_input, _serial_radio, SERIAL_TARGET_US),
        "midi (JACK) -> serial RTS": (_midi_input, _serial_radio, SERIAL_TARGET_US),
        "serial-line -> rigctld acknowledged": (_serial_input, _rigctld_radio, RIGCTLD_TARGET_US),
        "sim footswitch -> rigctld acknowledged": (_sim_input, _rigctld_radio, RIGCTLD_TARGET_US),
    }
    results = []
    for name, (make_input, make_radio, target) in runners.items():
        if paths and name not in paths:
            continue
        try:
            times = sorted(_run_path(samples, make_input, make_radio, pump or (lambda: None)))
            results.append(PathResult(name, round(nearest_rank(times, 50), 1), round(nearest_rank(times, 99), 1),
                                      len(times), target))
        except PathUnavailable as err:
            results.append(PathResult(name, None, None, 0, target, error=str(err)))
    return {"paths": [asdict(r) for r in results]}


def _run_path(samples: int, make_input: Callable, make_radio: Callable, pump: Callable[[], None]) -> list[float]:
    from app.config import load_profile
    from app.position import Position

    with _Resources() as res:
        radio_toml, radio_end = make_radio(res)
        input_toml, press = make_input(res)
        workdir = Path(res.enter(tempfile.TemporaryDirectory(prefix="dc-bench-ptt-")))
        path = workdir / "bench.toml"
        path.write_text(HEADER + radio_toml + input_toml)
        try:
            profile = load_profile(path)
        except Exception as err:  # noqa: BLE001 - a schema without this kind names the field
            raise PathUnavailable(f"profile rejected: {err}") from None
        position = Position(profile, profile_path=str(path), data_path=workdir / "bench.sqlite3")
        position.start()
        res.on_exit(lambda: position.stop(timeout=3.0))
        for device in ("radio", "footswitch"):
            problem = next((b.problem for b in position.built if b.id == device), "")
            if problem:
                raise PathUnavailable(f"{device}: {problem}")
        position.select_channel("radio", True)
        _until(lambda: any(c.id == "radio" and c.selected and c.link == "up" for c in position.console.channels),
               pump, 10.0, "the radio did not come up selected (link: "
               + ",".join(f"{c.link} {c.link_detail}" for c in position.console.channels) + ")")
        # Drivers open their ports on their own threads: reach the ports once both links are up.
        _until(lambda: _state(position, "footswitch") == "up", pump, 10.0,
               f"the input did not come up ({_state(position, 'footswitch')})")
        keyed = radio_end(position)
        press.setup(position)
        rng = random.Random(4)
        times: list[float] = []
        for _ in range(samples + 5):  # the first few warm up
            edge = press(True)
            t_keyed = keyed.wait(True, WAIT_S)
            if t_keyed is None:
                raise PathUnavailable(f"radio not keyed within {WAIT_S:g} s of the edge")
            times.append((t_keyed - edge) * 1e6)
            press(False)
            if keyed.wait(False, WAIT_S) is None:
                raise PathUnavailable(f"radio not unkeyed within {WAIT_S:g} s of the release")
            pump()
            time.sleep(rng.uniform(0.010, 0.030))
        return times[5:]


def _state(position: Any, device: str) -> str:
    found = next((d for d in position.status.devices if d.id == device), None)
    return "missing" if found is None else f"{found.state}" + (f": {found.detail}" if found.state != "up" else "")


def _until(ready: Callable[[], bool], pump: Callable[[], None], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise PathUnavailable(what)
        pump()
        time.sleep(0.01)


class _Resources:
    """Clean-ups in reverse order, whatever happened."""

    def __init__(self) -> None:
        self._exits: list[Callable[[], Any]] = []

    def on_exit(self, fn: Callable[[], Any]) -> None:
        self._exits.append(fn)

    def enter(self, cm: Any) -> Any:
        value = cm.__enter__()
        self.on_exit(lambda: cm.__exit__(None, None, None))
        return value

    def __enter__(self) -> "_Resources":
        return self

    def __exit__(self, *exc: object) -> None:
        while self._exits:
            try:
                self._exits.pop()()
            except Exception:  # noqa: BLE001 - later clean-ups must still run
                pass


# -- radio ends -------------------------------------------------------------------------------------
def _serial_radio(res: _Resources) -> tuple[str, Callable[[Any], _Keyed]]:
    from app.bench import protocol_benchloop

    protocol_benchloop.register()

    def end(position: Any) -> _Keyed:
        keyed = _Keyed()
        port = protocol_benchloop.port("radio-tx")
        if port is None:
            raise PathUnavailable("the serial radio driver did not open benchloop://radio-tx")
        port.on_rts = keyed.record
        return keyed

    return SERIAL_RADIO, end


def _rigctld_radio(res: _Resources) -> tuple[str, Callable[[Any], _Keyed]]:
    from hardware.radio.rigctld_server import RigctldServer, RigctldServerError
    from hardware.events import KeyStateChanged

    try:
        server = RigctldServer()
    except RigctldServerError as err:
        raise PathUnavailable(str(err)) from None
    res.on_exit(server.stop)

    def end(position: Any) -> _Keyed:
        keyed = _Keyed()
        driver = position.driver("radio")
        report = driver.emit

        def emit(event: Any) -> None:  # the driver's own report, seen as it is made
            if isinstance(event, KeyStateChanged) and not event.error:
                keyed.record(event.keyed, event.t)
            report(event)

        driver.emit = emit
        return keyed

    return HAMLIB_RADIO.format(port=server.port), end


# -- input edges ---------------------------------------------------------------------------------------
class _Press:
    """Applies the stimulus; returns the edge time."""

    def setup(self, position: Any) -> None:
        pass

    def __call__(self, pressed: bool) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


def _serial_input(res: _Resources) -> tuple[str, _Press]:
    from app.bench import protocol_benchloop

    protocol_benchloop.register()

    class SerialPress(_Press):
        def setup(self, position: Any) -> None:
            self.port = protocol_benchloop.port("ptt-in")
            if self.port is None:
                raise PathUnavailable("the serial-line input driver did not open benchloop://ptt-in")

        def __call__(self, pressed: bool) -> float:
            t = time.monotonic()
            self.port.rts = pressed  # loop-back: the driver's CTS follows
            return t

    return SERIAL_INPUT, SerialPress()


def _sim_input(res: _Resources) -> tuple[str, _Press]:
    class SimPress(_Press):
        def setup(self, position: Any) -> None:
            self.switch = position.driver("footswitch")

        def __call__(self, pressed: bool) -> float:
            t = time.monotonic()
            self.switch.press() if pressed else self.switch.release()
            return t

    return SIM_INPUT, SimPress()


def _midi_input(res: _Resources) -> tuple[str, _Press]:
    import os
    import shutil

    if shutil.which("jackd") is None:
        raise PathUnavailable("jackd not found (Debian package jackd2)")
    try:
        import rtmidi
    except ImportError as err:
        raise PathUnavailable(f"python-rtmidi: {err}") from None
    from hardware.audio.jack_server import JackServer, unique_name

    server = JackServer(unique_name())
    res.on_exit(server.stop)
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name  # rtmidi's JACK clients join the private server
    res.on_exit(lambda: _restore_env("JACK_DEFAULT_SERVER", previous))
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "bench-ptt-keyer")
    port_name = "bench-ptt-pedal"
    out.open_virtual_port(port_name)
    res.on_exit(out.delete)

    class MidiPress(_Press):
        def __call__(self, pressed: bool) -> float:
            t = time.monotonic()
            out.send_message([0x90, 60, 100] if pressed else [0x80, 60, 0])
            return t

    return MIDI_INPUT.format(port=port_name), MidiPress()


def _restore_env(name: str, value: str | None) -> None:
    import os

    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
