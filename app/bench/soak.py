"""Soak benchmark: run the demo position with traffic sped up and watch memory and threads.

A console runs for 12-hour shifts and is rarely restarted, so memory must not creep and threads must
not pile up. This drives the demo profile with ``speed`` times its normal radio and call traffic,
answers and releases calls and presses the footswitch like an operator, and samples the process's
resident memory and thread count once a second. After a warm-up, the growth rate is fitted by least
squares and extrapolated to an hour.

The same runner serves ``dispatch-console bench soak`` (headless) and, with ``make_window``, the GUI
(``--gui``, built in ui/bench.py).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QTimer

from app.config import Profile, load_demo_profile
from app.position import Position

WARMUP_S = 5.0  # caches, first allocations and Qt's lazy set-up happen here; not counted


@dataclass
class SoakResult:
    seconds: float
    speed: float
    gui: bool
    rss_start_mb: float
    rss_end_mb: float
    rss_growth_mb_per_hour: float
    threads_min: int
    threads_max: int
    threads_start: int
    threads_end: int
    events_routed: int
    calls_answered: int
    ptt_presses: int
    samples: list[tuple[float, float, int]] = field(default_factory=list)  # (t, rss_mb, threads)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("samples")
        return data


def sped_up(profile: Profile, speed: float) -> Profile:
    radios = [r.model_copy(update={"bursts_per_minute": r.bursts_per_minute * speed, "burst_seconds": (0.3, 1.5)})
              if r.kind == "sim" else r for r in profile.radios]
    phone = profile.phone
    if phone is not None and phone.kind == "sim":
        phone = phone.model_copy(update={"calls_per_minute": phone.calls_per_minute * speed,
                                         "rebid_after_s": 2.0, "abandon_after_s": 20.0})
    return profile.model_copy(update={"radios": radios, "phone": phone})


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def _slope_per_hour(samples: list[tuple[float, float, int]]) -> float:
    if len(samples) < 3:
        return 0.0
    ts = [s[0] for s in samples]
    ys = [s[1] for s in samples]
    slope, _ = statistics.linear_regression(ts, ys)
    return slope * 3600.0


def run_soak(seconds: float, speed: float = 20.0, *, make_window: Callable[[Position], Any] | None = None,
             data_dir: Path | None = None) -> SoakResult:
    """Run the sped-up demo for ``seconds`` (plus warm-up) in the current Q(Core)Application."""
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("run_soak needs a QCoreApplication or QApplication")
    tmp = tempfile.TemporaryDirectory(prefix="dc-soak-") if data_dir is None else None
    folder = Path(tmp.name) if tmp else Path(data_dir)
    position = Position(sped_up(load_demo_profile(), speed), demo=True, data_path=folder / "soak.sqlite3")
    window = make_window(position) if make_window else None
    counters = {"answered": 0, "presses": 0}
    samples: list[tuple[float, float, int]] = []
    started = time.monotonic()

    def operator() -> None:
        """Act like a busy operator: answer what rings, hang up after a while, key now and then."""
        calls = position.calls
        if calls.active is not None and calls.active.answer_wall and time.time() - calls.active.answer_wall > 3:
            position.release_call()
        elif calls.active is None and calls.ringing:
            position.answer_call()
            counters["answered"] += 1
        channels = position.console.channels
        if channels and counters["presses"] % 2 == 0:
            position.select_channel(channels[counters["presses"] // 2 % len(channels)].id, True)
        footswitch = position.driver("footswitch")
        if footswitch is not None:
            (footswitch.press if counters["presses"] % 2 == 0 else footswitch.release)()
            counters["presses"] += 1

    def sample() -> None:
        t = time.monotonic() - started
        if t >= WARMUP_S:
            samples.append((t - WARMUP_S, _rss_mb(), threading.active_count()))

    position.start()
    if window is not None:
        window.show()
    act, probe = QTimer(), QTimer()
    act.timeout.connect(operator)
    probe.timeout.connect(sample)
    act.start(700)
    probe.start(1000)
    deadline = started + WARMUP_S + seconds
    try:
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
    finally:
        act.stop()
        probe.stop()
        footswitch = position.driver("footswitch")
        if footswitch is not None:
            footswitch.release()
        routed = position.hub.events_routed if position.hub else 0
        position.stop()
        if window is not None:
            window.close()
        if tmp is not None:
            tmp.cleanup()
    if not samples:
        samples.append((0.0, _rss_mb(), threading.active_count()))
    threads = [s[2] for s in samples]
    return SoakResult(
        seconds=seconds, speed=speed, gui=window is not None,
        rss_start_mb=round(samples[0][1], 1), rss_end_mb=round(samples[-1][1], 1),
        rss_growth_mb_per_hour=round(_slope_per_hour(samples), 2),
        threads_min=min(threads), threads_max=max(threads), threads_start=threads[0], threads_end=threads[-1],
        events_routed=routed, calls_answered=counters["answered"], ptt_presses=counters["presses"],
        samples=samples,
    )
