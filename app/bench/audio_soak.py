"""The underflow soak (issue 3): the whole console on a real sound server, for minutes at a time.

``dispatch-console bench audio-soak`` runs the demo position with its sound device moved to a JACK
server (dummy backend, one JACK period = one console block, 16 in / 16 out for the demo's 9 inputs
and 11 outputs), the real main window repainting meters, the simulated radios' traffic sped up and
a busy operator (answering calls, selecting channels, keying, alerts, instant recall). The window
shows the Dispatcher view, switches to the Technician AUDIO tab for the middle of the run and back
(VIEW_PLAN), so both sets of meters repaint. A ``jack_metro`` client beeps into every console
input, so the meters have something to show (the dummy server's capture ports are silent).

What is counted is what the console counts: PortAudio's status bits in the engine's counters.
PortAudio's JACK host reports every xrun of the server as an output underflow and an input overflow
together, whoever was late; jackd's log says who: a client that had not finished its cycle (the
console's client is ``PortAudio``), the feed, or the dummy driver's own clock (``driver``). On a
private server a reference server runs alongside with only ``jack_metro`` on it
(app/bench/soak_reference.py): its late cycles in the same minutes are the machine's, and each of
the console's underflows is checked for one close by.

The callback is timed by a thin wrapper around the supervisor's callback (two clock reads and three
array stores a block): how long each block took, and the gap since the block before (a gap much
longer than a period means the callback could not run: the GIL, or the CPU, was elsewhere). The CPU
time of the GUI, control and callback threads comes from /proc (Linux).

Targets (issue 3): no underflow over 10 minutes at 256 frames, at most one at 128 frames. The
window comes from the ui layer (``make_window``), so this module loads no QtWidgets.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

from app.audio.engine import (
    BLOCKS,
    CLIPPED_BLOCKS,
    INPUT_OVERFLOWS,
    INPUT_UNDERFLOWS,
    OUTPUT_OVERFLOWS,
    OUTPUT_UNDERFLOW,
    OUTPUT_UNDERFLOWS,
)
from app.audio.host import TimedCallback
from app.bench.soak import sped_up
from app.bench.soak_reference import Metro, ReferenceServer, coincident
from app.calls.stats import nearest_rank
from app.config import Profile, load_demo_profile
from app.position import Position
from hardware.audio import jack_server
from hardware.audio.base import (
    AudioDeviceError,
    open_backend,
    portaudio_closes_in_progress,
    portaudio_jack_lost,
)
from hardware.audio.jack_server import JackError, JackServer

SAMPLERATE = 48_000
CHANNELS = 16  # the private server's capture and playback ports: the demo needs 9 in / 11 out
DEVICE = "system"  # PortAudio's JACK device: the server's system ports
CONSOLE_CLIENT = "PortAudio"  # the console's JACK client name (PortAudio's)
BLOCKSIZES = (256, 128)
SETTLE_S = 3.0  # after the sound device is up: client activation and first plans; counted apart
UP_TIMEOUT_S = 15.0
OPERATOR_MS_AT_SPEED_1 = 7000  # the operator acts (select+key, release) this often at speed 1, faster with speed
# (view, fraction of the run at which it is shown): an operator who looks at the technician's meters once.
VIEW_PLAN = (("dispatcher", 0.0), ("technician_audio", 0.4), ("dispatcher", 0.7))
FEED_CLIENT = "dcsoak-feed"
LATE_GAP_PERIODS = 2.0  # a callback this many periods after the one before was held up
EVENTS_KEPT = 100


def target_for(blocksize: int) -> int | None:
    """Most underflows allowed over the run (issue 3's figures are for 10 minutes): none at 256
    frames and above, one at 128..255; no target below 128."""
    if blocksize >= 256:
        return 0
    if blocksize >= 128:
        return 1
    return None


class SetupError(Exception):
    """The soak cannot run here (no jackd, no server, no device); the message says what to do."""


class SoakWindow(Protocol):
    """What the soak needs of the main window (built by the ui layer)."""

    def show_dispatcher(self) -> None: ...

    def show_technician_audio(self) -> None: ...

    def repaint_counts(self) -> dict[str, int]: ...  # {"meter_repaints": n, "meter_polls": n} so far

    def close(self) -> None: ...


MakeWindow = Callable[[Position], SoakWindow]
Progress = Callable[[int, float, float, int, int], None]  # blocksize, elapsed s, total s, blocks, underflows


@dataclass
class SoakOptions:
    minutes: float = 10.0
    speed: float = 10.0  # simulated traffic multiplier (app.bench.soak.sped_up); paces the operator too
    feed: bool = True  # beep into every input (jack_metro) so the meters move
    realtime: bool = False  # run the private jackd with realtime scheduling
    server: str = ""  # a running JACK server to use instead of starting one
    switch_interval_s: float | None = None  # sys.setswitchinterval for the run (diagnosis)
    process: str = "separate"  # where the callback runs: the audio process, or "inline" in the console
    audio_realtime: bool = True  # [audio] realtime for the console (locked memory, GIL holders raised)
    reference: bool = True  # run a reference server alongside (a private server only): the machine's xruns


@dataclass
class SoakResult:
    blocksize: int
    minutes: float
    blocks: int
    output_underflows: int
    input_underflows: int
    input_overflows: int
    output_overflows: int
    target: int | None
    # True/False against the target; None without one. A run that stopped early never passes.
    passed: bool | None
    samplerate: int = SAMPLERATE
    server: str = ""
    realtime: bool = False
    clipped_blocks: int = 0
    startup_output_underflows: int = 0  # before the measured time (start-up and settling), not counted above
    period_us: float = 0.0
    callback_median_us: float | None = None
    callback_p99_us: float | None = None
    callback_max_us: float | None = None
    gap_p99_ms: float | None = None
    gap_max_ms: float | None = None
    late_callbacks: int = 0  # callbacks more than LATE_GAP_PERIODS periods after the one before
    # From jackd's log (a server this run started): who was late. console_xruns: the console's client.
    jack_xruns: dict[str, Any] | None = None
    console_xruns: int | None = None
    # The reference server's late cycles in the same minutes (app/bench/soak_reference.py), and how
    # many of the console's underflows came within COINCIDENT_MS of one. None without a reference.
    reference_xruns: int | None = None
    underflows_near_reference_xruns: int | None = None
    views: dict[str, dict[str, float]] = field(default_factory=dict)  # seconds and underflows per view
    meter_repaints: int = 0
    meter_polls: int = 0
    events_routed: int = 0
    operator_actions: int = 0
    cpu_percent: float = 0.0  # this process, of one CPU
    # Of all CPUs' time, what the hypervisor took (/proc/stat "steal"): on a virtual machine a busy
    # host delays every thread, the sound server's included. None off Linux.
    cpu_steal_percent: float | None = None
    thread_cpu_percent: dict[str, float] = field(default_factory=dict)  # gui, control, audio-callback, other
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute load at the start and at the end
    audio_restarts: int = 0
    audio_scheduling: str = ""  # what the audio process said of its threads and memory (hardware/audio/realtime.py)
    stopped_early: str = ""
    underflow_events: list[dict[str, Any]] = field(default_factory=list)  # the first EVENTS_KEPT

    def summary(self) -> dict[str, Any]:
        """The ``--json`` row: the issue's keys and ``pass``, then the detail."""
        data = asdict(self)
        data["pass"] = data.pop("passed")
        return data


# -- timing the callback ------------------------------------------------------------------------------
def clock_figures(clock: BlockClock, first: int, last: int, period_us: float) -> dict[str, Any]:
    """Callback duration and gap figures over blocks ``first``..``last`` (exclusive)."""
    if last - first < 2:
        return {}
    spans = np.sort(clock.spans[first:last]) / 1000.0
    gaps = np.diff(clock.starts[max(first - 1, 0):last]) / 1000.0
    ordered = np.sort(gaps)
    return {
        "callback_median_us": round(float(nearest_rank(spans, 50)), 1),
        "callback_p99_us": round(float(nearest_rank(spans, 99)), 1),
        "callback_max_us": round(float(spans[-1]), 1),
        "gap_p99_ms": round(float(nearest_rank(ordered, 99)) / 1000.0, 3),
        "gap_max_ms": round(float(ordered[-1]) / 1000.0, 3),
        "late_callbacks": int(np.count_nonzero(gaps > LATE_GAP_PERIODS * period_us)),
    }


class BlockClock:
    """The callback's block timings as ``TimedCallback`` (app/audio/host.py) writes them into the
    engine's clock arrays: start, duration and status of each block until the arrays are full, and
    the callback thread's id. Shared memory when the callback runs in the audio process
    (perf_counter_ns is CLOCK_MONOTONIC, one clock for both processes)."""

    def __init__(self, buffers: Any) -> None:
        self.starts, self.spans, self.flags = buffers.clock_starts, buffers.clock_spans, buffers.clock_flags
        self.capacity = self.starts.shape[0]
        self._state = buffers.clock_state

    @property
    def count(self) -> int:
        return int(self._state[0])

    @property
    def thread_id(self) -> int:
        return int(self._state[1])


def thread_cpu_seconds(pid: int | str = "self") -> dict[int, float]:
    """CPU seconds (user + system) of each thread of a process (this one by default), by native id;
    {} off Linux or when the process has gone."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found: dict[int, float] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        found[int(tid)] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found


def machine_ticks() -> list[int]:
    """The whole machine's CPU ticks from /proc/stat's first line; [] off Linux."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return []


def steal_percent(before: list[int], after: list[int]) -> float | None:
    """Percent of all CPU time the hypervisor took between two ``machine_ticks`` readings."""
    if len(before) < 8 or len(after) < 8:
        return None
    spent = [b - a for a, b in zip(before, after)]
    return round(100.0 * spent[7] / max(sum(spent[:8]), 1), 2)


def thread_shares(before: dict[int, float], after: dict[int, float], seconds: float,
                  names: dict[int, str]) -> dict[str, float]:
    """Percent of one CPU per named thread over ``seconds``; every other thread summed as "other"."""
    shares: dict[str, float] = {}
    for tid, used in after.items():
        name = names.get(tid, "other")
        shares[name] = shares.get(name, 0.0) + used - before.get(tid, 0.0)
    return {name: round(100.0 * used / max(seconds, 1e-9), 1) for name, used in sorted(shares.items())}


# -- the sound server -----------------------------------------------------------------------------------
def check_tools(feed: bool, own_server: bool) -> None:
    tools = [*(("jackd",) if own_server else ()), "jack_lsp", "jack_connect", "jack_bufsize",
             *(("jack_metro",) if feed else ())]
    missing = jack_server.missing_tools(tuple(tools))
    if missing:
        raise SetupError(f"{', '.join(missing)} not found: install the Debian package {jack_server.DEBIAN_PACKAGE}")


def point_portaudio_at(server: str, in_process: bool) -> None:
    """Point PortAudio at ``server`` (it reads JACK_DEFAULT_SERVER when it initialises).

    ``in_process``: initialise it here too and check it sees the server, for the inline callback. The
    audio process initialises its own; doing it here as well would add a second JACK client, in the
    console's process, that every cycle of the graph waits for, as a deployed console does not.
    """
    os.environ["JACK_DEFAULT_SERVER"] = server
    os.environ["JACK_NO_START_SERVER"] = "1"
    if not in_process:
        return
    try:
        backend = open_backend("sounddevice")
        backend.rescan()
        devices = backend.devices()
    except AudioDeviceError as err:
        raise SetupError(f"PortAudio on JACK server {server}: {err}") from err
    if not any(d.name == DEVICE and "jack" in d.hostapi.casefold() for d in devices):
        listed = "; ".join(d.describe() for d in devices) or "none"
        raise SetupError(f"PortAudio does not see JACK server {server!r} (devices: {listed})")


def let_go_of_server(server: str) -> None:
    """Re-initialise PortAudio away from ``server`` before it stops (hardware/audio/jack_server.py
    says why). Not possible once PortAudio has lost a server in this process: then leave it."""
    deadline = time.monotonic() + 10
    while portaudio_closes_in_progress() and time.monotonic() < deadline:
        time.sleep(0.02)  # a close still inside PortAudio; the deadline bounds it
    os.environ["JACK_DEFAULT_SERVER"] = f"{server}-stopped"
    if portaudio_jack_lost() or portaudio_closes_in_progress():
        return
    try:
        open_backend("sounddevice").rescan()
    except AudioDeviceError:
        pass  # nothing left to let go of


def _console_inputs(server: str, before: set[str]) -> list[str]:
    """The console's input ports: the ``:in_N`` ports that appeared after it started."""
    new = [p for p in jack_server.list_ports(server) if p not in before and ":in_" in p]
    return sorted(new, key=lambda p: int(p.rsplit("_", 1)[1]) if p.rsplit("_", 1)[1].isdigit() else 0)


# -- the console ------------------------------------------------------------------------------------------
def soak_profile(blocksize: int, speed: float, process: str = "separate", realtime: bool = True) -> Profile:
    """The demo, sped up, on PortAudio's JACK device at this block size. It never restarts itself:
    a lost server ends the run instead (reported as stopped early)."""
    demo = sped_up(load_demo_profile(), speed)
    audio = demo.audio.model_copy(update={"backend": "sounddevice", "device": DEVICE, "blocksize": blocksize,
                                          "latency": "low", "samplerate": SAMPLERATE, "restart_after_s": 0.0,
                                          "process": process, "realtime": realtime})
    return demo.model_copy(update={"audio": audio})


def operator_interval_ms(speed: float) -> int:
    """The operator keeps pace with the traffic: every 7 s at the demo's own rate, 0.7 s at speed 10."""
    return int(min(OPERATOR_MS_AT_SPEED_1, max(200, OPERATOR_MS_AT_SPEED_1 / max(speed, 1e-3))))


class _Operator:
    """A busy operator: answers what rings and hangs up after a while, walks the channel selection,
    keys the footswitch, sends an alert now and then and replays the last transmission."""

    def __init__(self, position: Position) -> None:
        self.position = position
        self.ticks = 0

    def __call__(self) -> None:
        position, tick = self.position, self.ticks
        self.ticks += 1
        calls = position.calls
        if calls.active is not None and calls.active.answer_wall and time.time() - calls.active.answer_wall > 3:
            position.release_call()
        elif calls.active is None and calls.ringing:
            position.answer_call()
        channels = position.console.channels
        if not channels:
            return
        channel = channels[tick // 2 % len(channels)].id
        footswitch = position.driver("footswitch")
        if tick % 2 == 0:
            position.select_channel(channel, True)
            if footswitch is not None:
                footswitch.press()
        elif footswitch is not None:
            footswitch.release()
        if tick % 15 == 7:
            position.play_tone("alert1", (channel,))
        if tick % 11 == 5:
            position.replay_last(channel)

    def stop(self) -> None:
        footswitch = self.position.driver("footswitch")
        if footswitch is not None:
            footswitch.release()


def _run_loop(seconds: float) -> float:
    """Run the event loop (the GUI's, as in the console) for ``seconds``; how long it really ran
    (less when the application was told to exit)."""
    start = time.monotonic()
    loop = QEventLoop()
    QTimer.singleShot(max(0, int(seconds * 1000)), loop.quit)
    loop.exec()
    return time.monotonic() - start


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        _run_loop(0.05)
    return predicate()


@dataclass
class _Mark:
    """The state of everything counted, at the start or the end of the measured time."""

    ns: int
    counters: np.ndarray
    block_index: int
    repaints: dict[str, int]
    cpu: float
    threads: dict[int, float]
    load: float
    machine: list[int]  # /proc/stat's cpu line (ticks: user nice system idle iowait irq softirq steal...)

    @classmethod
    def take(cls, position: Position, clock: BlockClock, window: SoakWindow,
             audio_pid: int = 0) -> _Mark:
        assert position.engine is not None
        times = os.times()
        threads = thread_cpu_seconds()
        if audio_pid:
            threads.update(thread_cpu_seconds(audio_pid))
        return cls(time.perf_counter_ns(), position.engine.counters.copy(), clock.count, window.repaint_counts(),
                   times.user + times.system, threads, os.getloadavg()[0], machine_ticks())


class _Run:
    """One block size: the console on the server, timed, driven and measured."""

    def __init__(self, server_name: str, server: JackServer | None, blocksize: int, options: SoakOptions,
                 make_window: MakeWindow, progress: Progress | None,
                 reference: ReferenceServer | None = None) -> None:
        self.name, self.server, self.blocksize, self.options = server_name, server, blocksize, options
        self.reference = reference
        self.make_window, self.progress = make_window, progress
        self.seconds = max(1.0, options.minutes * 60.0)
        self.period_us = blocksize / SAMPLERATE * 1e6
        self.folder = tempfile.TemporaryDirectory(prefix="dc-audio-soak-")
        self.feed: Metro | None = None
        self.position: Position | None = None
        self.operator: _Operator | None = None
        self.window: SoakWindow | None = None
        self.clock: BlockClock | None = None
        self.audio: Any = None  # the console's sound device driver
        self.timers: list[QTimer] = []
        self.views: list[tuple[str, int]] = []  # (view, perf_counter_ns when shown)

    def start(self) -> None:
        """Start the console, wrap its callback, wait for sound, connect the feed, let it settle."""
        if self.options.feed:
            try:
                self.feed = Metro(self.name, FEED_CLIENT)
            except JackError as err:
                raise SetupError(str(err)) from err
        ports_before = set(jack_server.list_ports(self.name))
        profile = soak_profile(self.blocksize, self.options.speed, self.options.process, self.options.audio_realtime)
        position = self.position = Position(profile, demo=True, data_path=Path(self.folder.name) / "soak.sqlite3")
        capacity = int((self.seconds + SETTLE_S + UP_TIMEOUT_S + 30) * SAMPLERATE / self.blocksize) + 1000
        position.audio_clock_blocks = capacity  # room in the engine's clock arrays (measurement only)
        self.operator = _Operator(position)
        self.window = self.make_window(position)
        self.window.show_dispatcher()
        position.start()
        audio = self.audio = position.driver("audio")
        if position.engine is None or audio is None:
            raise SetupError(f"the console built no sound device: {position.audio.detail or 'unknown reason'}")
        supervisor = getattr(audio, "supervisor", None)
        if supervisor is not None:  # inline: time the callback here (the audio process times its own)
            supervisor._callback = TimedCallback(supervisor._callback, position.engine.buffers)  # read once a block
        self.clock = BlockClock(position.engine.buffers)
        if not _wait_until(lambda: position.audio.state == "up", UP_TIMEOUT_S):
            raise SetupError(f"the console's sound device did not come up on JACK server {self.name} within "
                             f"{UP_TIMEOUT_S:g} s: {position.audio.detail or position.audio.state}")
        if self.feed is not None:
            inputs = _console_inputs(self.name, ports_before)
            if not inputs:
                raise SetupError(f"no console input ports appeared on JACK server {self.name}")
            self.feed.connect(inputs)
        self._every(operator_interval_ms(self.options.speed), self.operator)
        _run_loop(SETTLE_S)

    def measure(self) -> SoakResult:
        assert self.clock is not None and self.position is not None and self.window is not None
        old_interval = sys.getswitchinterval()
        if self.options.switch_interval_s is not None:
            sys.setswitchinterval(self.options.switch_interval_s)
        try:
            log_offset = self.server.log_size() if self.server is not None else 0
            if self.reference is not None:
                self.reference.start_counting()
            start = _Mark.take(self.position, self.clock, self.window, self._audio_pid())
            self._show(VIEW_PLAN[0][0])
            self._every(250, lambda: self._follow_view_plan(start.ns))
            self._every(60_000, lambda: self._report(start))
            ran = _run_loop(self.seconds)
            for timer in self.timers:
                timer.stop()
            end = _Mark.take(self.position, self.clock, self.window, self._audio_pid())
            reference_ns = self.reference.stop_counting() if self.reference is not None else None
        finally:
            sys.setswitchinterval(old_interval)
        return self._result(start, end, ran, log_offset, reference_ns)

    def close(self) -> None:
        for timer in self.timers:
            timer.stop()
        if self.operator is not None:
            self.operator.stop()
        if self.position is not None:
            self.position.stop()
        if self.window is not None:
            self.window.close()
        if self.feed is not None:
            self.feed.stop()
        self.folder.cleanup()

    def _audio_pid(self) -> int:
        return int(getattr(self.audio, "pid", 0) or 0)

    # -- during the run ---------------------------------------------------------------------------------
    def _every(self, ms: int, action: Callable[[], None]) -> None:
        timer = QTimer()
        timer.timeout.connect(action)
        timer.start(ms)
        self.timers.append(timer)

    def _show(self, view: str) -> None:
        assert self.window is not None
        (self.window.show_dispatcher if view == "dispatcher" else self.window.show_technician_audio)()
        self.views.append((view, time.perf_counter_ns()))

    def _follow_view_plan(self, started_ns: int) -> None:
        done = (time.perf_counter_ns() - started_ns) / 1e9 / self.seconds
        wanted = [view for view, at in VIEW_PLAN if at <= done][-1]
        if self.views[-1][0] != wanted:
            self._show(wanted)

    def _report(self, start: _Mark) -> None:
        if self.progress is not None and self.position is not None and self.position.engine is not None:
            now = self.position.engine.counters
            self.progress(self.blocksize, (time.perf_counter_ns() - start.ns) / 1e9, self.seconds,
                          int(now[BLOCKS] - start.counters[BLOCKS]),
                          int(now[OUTPUT_UNDERFLOWS] - start.counters[OUTPUT_UNDERFLOWS]))

    # -- the figures ------------------------------------------------------------------------------------
    def _result(self, start: _Mark, end: _Mark, ran: float, log_offset: int,
                reference_ns: list[int] | None) -> SoakResult:
        assert self.clock is not None and self.position is not None and self.operator is not None
        position = self.position
        stopped_early = ""
        if ran < self.seconds - 1.0:
            stopped_early = f"the event loop was told to exit after {ran:.0f} s ({position.audio.detail})"
        elif position.audio.state != "up":
            stopped_early = f"the sound device was {position.audio.state} at the end: {position.audio.detail}"
        delta = end.counters - start.counters
        target = target_for(self.blocksize)
        underflows = int(delta[OUTPUT_UNDERFLOWS] + delta[INPUT_UNDERFLOWS])
        passed = None if target is None else bool(not stopped_early and delta[BLOCKS] > 0 and underflows <= target)
        names = {os.getpid(): "gui", self.clock.thread_id: "audio-callback"}
        if self._audio_pid():
            names[self._audio_pid()] = "audio-process"
        names.update(_qt_thread_ids(end.threads, "control"))
        result = SoakResult(
            blocksize=self.blocksize, minutes=round(ran / 60.0, 2), blocks=int(delta[BLOCKS]),
            output_underflows=int(delta[OUTPUT_UNDERFLOWS]), input_underflows=int(delta[INPUT_UNDERFLOWS]),
            input_overflows=int(delta[INPUT_OVERFLOWS]), output_overflows=int(delta[OUTPUT_OVERFLOWS]),
            target=target, passed=passed, server=self.name,
            realtime=bool(self.server is not None and self.server.realtime),
            clipped_blocks=int(delta[CLIPPED_BLOCKS]), startup_output_underflows=int(start.counters[OUTPUT_UNDERFLOWS]),
            period_us=round(self.period_us, 1),
            meter_repaints=end.repaints.get("meter_repaints", 0) - start.repaints.get("meter_repaints", 0),
            meter_polls=end.repaints.get("meter_polls", 0) - start.repaints.get("meter_polls", 0),
            events_routed=position.hub.events_routed if position.hub else 0, operator_actions=self.operator.ticks,
            cpu_percent=round(100.0 * (end.cpu - start.cpu) / max(ran, 1e-9), 1),
            cpu_steal_percent=steal_percent(start.machine, end.machine),
            thread_cpu_percent=thread_shares(start.threads, end.threads, ran, names),
            load_average=(round(start.load, 2), round(end.load, 2)), audio_restarts=self.audio.stream_info()[2],
            audio_scheduling=getattr(getattr(self.audio, "info", None), "scheduling", ""), stopped_early=stopped_early,
        )
        for key, value in clock_figures(self.clock, start.block_index, end.block_index, self.period_us).items():
            setattr(result, key, value)
        if self.server is not None:
            xruns = self.server.xruns(log_offset)
            result.jack_xruns = {"driver": xruns.driver, "clients": xruns.clients, "states": xruns.states}
            result.console_xruns = sum(n for client, n in xruns.clients.items() if client.startswith(CONSOLE_CLIENT))
        result.views, result.underflow_events = self._per_view(start, end)
        if reference_ns is not None:
            flagged = np.flatnonzero(self.clock.flags[start.block_index:end.block_index] & OUTPUT_UNDERFLOW)
            underflow_ns = [int(self.clock.starts[i]) for i in flagged + start.block_index]
            result.reference_xruns = len(reference_ns)
            result.underflows_near_reference_xruns = coincident(underflow_ns, reference_ns)
            for event in result.underflow_events:
                when = start.ns + int(event["t_s"] * 1e9)
                event["near_reference_xrun"] = bool(coincident([when], reference_ns))
        return result

    def _per_view(self, start: _Mark, end: _Mark) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]]]:
        """Seconds and underflows per view, and the first underflow blocks with the gap before them."""
        clock = self.clock
        assert clock is not None
        bounds = [*(at for _, at in self.views[1:]), end.ns]
        spans = [(view, at, until) for (view, at), until in zip(self.views, bounds)]
        views: dict[str, dict[str, float]] = {}
        for view, at, until in spans:
            entry = views.setdefault(view, {"seconds": 0.0, "output_underflows": 0})
            entry["seconds"] = round(entry["seconds"] + (until - at) / 1e9, 1)
        events: list[dict[str, Any]] = []
        first, last = start.block_index, end.block_index
        for i in np.flatnonzero(clock.flags[first:last] & OUTPUT_UNDERFLOW) + first:
            when = int(clock.starts[i])
            view = next((v for v, at, until in spans if at <= when < until), spans[0][0])
            views[view]["output_underflows"] += 1
            if len(events) < EVENTS_KEPT:
                events.append({
                    "t_s": round((when - start.ns) / 1e9, 3),
                    "view": view,
                    "gap_before_ms": round((when - int(clock.starts[i - 1])) / 1e6, 3),
                    "previous_span_us": round(int(clock.spans[i - 1]) / 1000.0, 1),
                })
        return views, events


def _qt_thread_ids(threads: dict[int, float], name: str) -> dict[int, str]:
    """Threads Qt started (not in ``threading``) whose kernel name is ``name`` (QThread sets it)."""
    found: dict[int, str] = {}
    for tid in threads:
        try:
            with open(f"/proc/self/task/{tid}/comm") as comm:
                if comm.read().strip() == name:
                    found[tid] = name
        except OSError:
            continue
    return found


# -- the command ----------------------------------------------------------------------------------------
def run_blocksize(blocksize: int, options: SoakOptions, make_window: MakeWindow,
                  progress: Progress | None = None) -> SoakResult:
    """Soak one block size: start the server (unless one was named), run the console, let go, stop it."""
    if QCoreApplication.instance() is None:
        raise RuntimeError("the audio soak needs a QApplication (the window repaints meters)")
    server: JackServer | None = None
    name = options.server
    if name:
        _check_answers(name)
        try:
            period = jack_server.server_period(name)
        except JackError as err:
            raise SetupError(str(err)) from err
        if period != blocksize:
            raise SetupError(f"JACK server {name!r} runs {period}-frame periods; the soak needs the console's "
                             f"block size ({blocksize}) to equal it")
    else:
        try:
            server = JackServer(jack_server.unique_name("dcsoak"), SAMPLERATE, blocksize, CHANNELS, CHANNELS,
                                realtime=options.realtime)
        except JackError as err:
            raise SetupError(str(err)) from err
        name = server.name
    saved_env = {key: os.environ.get(key) for key in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    run: _Run | None = None
    reference: ReferenceServer | None = None
    inline = options.process == "inline"
    try:
        if server is not None and options.reference:
            try:
                reference = ReferenceServer(SAMPLERATE, blocksize, options.realtime)
            except JackError as err:  # e.g. jack2's limit of servers: measure without it, and say so
                print(f"audio-soak: no reference server ({err}); measuring without it", file=sys.stderr)
        point_portaudio_at(name, in_process=inline)
        run = _Run(name, server, blocksize, options, make_window, progress, reference)
        run.start()
        return run.measure()
    finally:
        if run is not None:
            run.close()
        if inline:
            let_go_of_server(name)
        if reference is not None:
            reference.close()
        if server is not None:
            server.stop()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_audio_soak(blocksizes: Sequence[int], options: SoakOptions, make_window: MakeWindow,
                   progress: Progress | None = None) -> list[SoakResult]:
    """Each block size in turn, each on its own server; with ``options.server`` on that server, at its
    period when ``blocksizes`` is empty."""
    check_tools(options.feed, own_server=not options.server)
    if not blocksizes:
        if not options.server:
            blocksizes = BLOCKSIZES
        else:
            _check_answers(options.server)
            blocksizes = [jack_server.server_period(options.server)]
    return [run_blocksize(b, options, make_window, progress) for b in blocksizes]


def _check_answers(server: str) -> None:
    if not jack_server.server_answers(server):
        raise SetupError(f"no JACK server named {server!r} answers (jack_lsp)")
