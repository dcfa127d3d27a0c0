"""``dispatch-console bench ali``: spill-to-screen latency through a real pseudo-terminal, and parser throughput.

Pop latency is the time from the last byte of a spill written to the master side of a pty to the
Call-taker view of the real main window (offscreen unless a display is set) having rendered the call
with that spill and laid out and painted what changed. On the way it goes through everything a live spill does: the
serial reader thread, the control thread's framer and 30W parser, the store (raw bytes and the log
record committed with synchronous=FULL before the pop), the queued snapshot and the view.
Each sample is a fresh call: marked ringing, answered, spill written 50 ms later (the shortest ALI
query time of a real phone system), released.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

POP_TIMEOUT_S = 5.0
ALI_QUERY_S = 0.05  # the shortest time a phone system takes to spill after answer


def _profile(slave_path: str) -> Any:
    from app.config.schema import Profile

    return Profile.model_validate({
        "position": {"name": "BENCH", "role": "calltaker"},
        "ali": {"url": slave_path, "layout": "30w", "bcc": True, "heartbeat_timeout_s": 3600.0},
        "calls": {"ring_source": "manual"},
    })


def measure_pop(samples: int) -> list[float]:
    """Pop latencies in milliseconds, one per sample."""
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.position import Position
    from hardware.sim.links import PtyLink
    from hardware.sim.spills import DEMO_RECORDS, format_30w, frame
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    work = tempfile.TemporaryDirectory(prefix="dc-bench-ali-")
    link = PtyLink()
    position = Position(_profile(link.slave_path), data_path=Path(work.name) / "bench.sqlite3")
    settings = QSettings(str(Path(work.name) / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(position, settings)
    window.show_role("calltaker")
    window.show()
    shown_at: dict[int, float] = {}
    written: dict[int, float] = {}

    def on_calls(snapshot: Any) -> None:
        # Connected after the view's own slot, so this runs once the view has rendered the snapshot.
        active = snapshot.active
        if active is None or not active.spills:
            return
        seq = active.spills[-1].seq
        if seq in written and seq not in shown_at:
            # Deliver the layout and update requests the render posted: the dirty parts of the window
            # are laid out and painted into its backing store, as the event loop's next pass would.
            QApplication.sendPostedEvents(None, 0)
            shown_at[seq] = time.perf_counter()

    def wait_for(done: Any, timeout: float = POP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        loop = QEventLoop()
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError("the console did not show the spill in time")
            QTimer.singleShot(1, loop.quit)
            loop.exec()

    position.calls_changed.connect(on_calls)
    position.start()
    latencies: list[float] = []
    try:
        wait_for(lambda: any(d.id == "ali" and d.state == "up" for d in position.status.devices))
        for i in range(samples):
            position.manual_ring("911-1")
            wait_for(lambda: bool(position.calls.ringing))
            position.answer_call()
            wait_for(lambda: position.calls.active is not None)
            # A CPE spills 50-300 ms after answer (the ALI query): the answered call is on screen by then.
            settle = time.monotonic() + ALI_QUERY_S
            wait_for(lambda: time.monotonic() >= settle)
            record = DEMO_RECORDS[i % len(DEMO_RECORDS)]
            data = frame(format_30w(record, "2001"))
            seq = i + 1  # spills are numbered in arrival order from 1
            link.write(data)
            written[seq] = time.perf_counter()
            wait_for(lambda: seq in shown_at)
            latencies.append((shown_at[seq] - written[seq]) * 1000.0)
            position.release_call()
            wait_for(lambda: position.calls.active is None)
    finally:
        window.close()
        position.stop()
        link.close()
        work.cleanup()
    del app
    return latencies


def ali_bench(samples: int, spills: int, *, as_json: bool) -> int:
    from app.bench.ali_parse import measure_throughput
    from app.calls.stats import nearest_rank

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    pops = measure_pop(samples)
    throughput = measure_throughput(spills)
    result = {
        "pop_median_ms": round(statistics.median(pops), 3),
        "pop_p99_ms": round(nearest_rank(sorted(pops), 99), 3),
        "pop_max_ms": round(max(pops), 3),
        "frames_per_s": round(throughput.frames_per_s, 1),
        "framer_only_frames_per_s": round(throughput.framer_only_frames_per_s, 1),
        "parse_errors": throughput.errors,
        "samples": len(pops),
        "spills_parsed": throughput.spills,
    }
    if as_json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:26} {value}")
    return 0
