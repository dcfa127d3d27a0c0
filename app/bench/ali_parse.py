"""Parser throughput: how many spills a second the framer and a layout get through (pure; no Qt).

The stream is what a busy line carries: 30W spills of every demo class of service, each followed by
a heartbeat, as one byte string fed in 4 KiB reads (a serial driver's buffer). The reference run in
the same process is the framer alone, so the figure can be compared across machines as a ratio.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.ali.framing import Frame, Framer
from app.ali.layouts import Layout, load_layout
from app.ali.parse import parse_frame
from hardware.sim.spills import DEMO_RECORDS, HEARTBEAT, format_30w, frame, rebid_of

READ_SIZE = 4096


@dataclass(frozen=True)
class Throughput:
    spills: int
    seconds: float
    frames_per_s: float  # spills framed and parsed per second
    framer_only_frames_per_s: float  # the reference: framing without parsing
    errors: int  # spills that did not parse cleanly (must be 0 for these well-formed spills)


def sample_stream(count: int) -> bytes:
    records = list(DEMO_RECORDS) + [r for r in (rebid_of(x) for x in DEMO_RECORDS) if r is not None]
    when = 1_790_000_000.0  # a fixed time, so the stream is the same on every run
    heartbeat = frame(HEARTBEAT)
    parts = []
    for i in range(count):
        parts.append(frame(format_30w(records[i % len(records)], "2001", when)))
        parts.append(heartbeat)
    return b"".join(parts)


def _frame_all(data: bytes) -> list[Frame]:
    framer = Framer(bcc=True)
    frames: list[Frame] = []
    for start in range(0, len(data), READ_SIZE):
        frames.extend(item for item in framer.feed(data[start:start + READ_SIZE]) if isinstance(item, Frame))
    return frames


def measure_throughput(count: int = 5000, layout: Layout | str = "30w") -> Throughput:
    if not isinstance(layout, Layout):
        layout = load_layout(layout)
    data = sample_stream(count)
    started = time.perf_counter()
    framed = _frame_all(data)
    framer_s = time.perf_counter() - started

    started = time.perf_counter()
    framer = Framer(bcc=True)
    spills = errors = 0
    for start in range(0, len(data), READ_SIZE):
        for item in framer.feed(data[start:start + READ_SIZE]):
            if isinstance(item, Frame) and item.kind == "ali":
                result = parse_frame(item, layout)
                spills += 1
                errors += bool(result["errors"]) or result["kind"] != "ali"
    seconds = time.perf_counter() - started
    spill_frames = sum(1 for f in framed if f.kind == "ali")
    return Throughput(spills, seconds, spills / seconds, spill_frames / framer_s, errors)
