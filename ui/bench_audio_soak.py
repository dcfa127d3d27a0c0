"""``dispatch-console bench audio-soak``: underflows of the whole console on a JACK server (issue 3).

The run itself is app/bench/audio_soak.py; this module parses the options, builds the real main
window around each position (the same MainWindow ui/gui.py shows, offscreen when there is no
display) and prints the figures. It exits 0 whatever the figures are (a measurement) and 2 when
the soak cannot run (no jackd, no server, the console's sound device does not come up).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_SETUP = 0, 2
WINDOW_SIZE = (1920, 1080)  # a position's screen; offscreen there is no screen to fill


def add_audio_soak_parser(bench_sub: argparse._SubParsersAction) -> None:
    soak = bench_sub.add_parser(
        "audio-soak", help="underflows of the running console (GUI, meters, traffic) on a JACK dummy server")
    soak.add_argument("--minutes", type=float, default=10.0, help="per block size (default 10)")
    soak.add_argument("--blocksize", type=int, nargs="+", metavar="F",
                      help="block sizes in frames, one run each (default 256 128; with --jack-server its period)")
    soak.add_argument("--jack-server", metavar="NAME", default="",
                      help="use this running JACK server instead of starting a private one")
    soak.add_argument("--speed", type=float, default=10.0, help="radio and call traffic multiplier, which also paces the simulated operator "
                      "(default 10; 1 = the demo as it is, an operator keying every 14 s)")
    soak.add_argument("--no-feed", action="store_true", help="no jack_metro beeping into the inputs")
    soak.add_argument("--realtime", action="store_true",
                      help="run the private jackd with realtime scheduling (default --no-realtime; needs SCHED_FIFO rights)")
    soak.add_argument("--switch-interval", type=float, metavar="S",
                      help="Python's thread switch interval for the run, in seconds (diagnosis; default 0.005)")
    soak.add_argument("--inline", action="store_true",
                      help="run the audio callback on a thread of the console instead of its audio process (comparison)")
    soak.add_argument("--no-audio-realtime", action="store_true",
                      help="the profile's [audio] realtime = false: no locked memory, GIL holders not raised (comparison)")
    soak.add_argument("--no-reference", action="store_true",
                      help="no reference server alongside (a JACK server with only jack_metro: the machine's own xruns)")
    soak.add_argument("--json", action="store_true")


class _SoakWindow:
    """The console's MainWindow as the soak drives it."""

    def __init__(self, position: Any, settings: Any) -> None:
        from ui.main_window import MainWindow

        self.window = MainWindow(position, settings)
        self.window.resize(*WINDOW_SIZE)
        self.window.show()

    def show_dispatcher(self) -> None:
        self.window.show_role("dispatcher")

    def show_technician_audio(self) -> None:
        self.window.show_role("technician")
        technician = self.window.technician
        technician.tabs.setCurrentWidget(technician.audio)

    def repaint_counts(self) -> dict[str, int]:
        from ui.widgets.level_meter import LevelMeter

        meters = self.window.findChildren(LevelMeter)
        return {"meter_repaints": sum(m.repaints_requested for m in meters), "meter_polls": self.window.meters.polls}

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()


def _progress(blocksize: int, elapsed: float, total: float, blocks: int, underflows: int) -> None:
    print(f"audio-soak {blocksize} frames: {elapsed / 60:.0f}/{total / 60:.0f} min, {blocks} blocks, "
          f"{underflows} output underflows", file=sys.stderr, flush=True)


def audio_soak_command(args: argparse.Namespace) -> int:
    from app.bench.audio_soak import SetupError, SoakOptions, run_audio_soak

    if args.minutes <= 0:
        print("bench audio-soak: --minutes must be > 0", file=sys.stderr)
        return EXIT_SETUP
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ui.theme import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app, None)
    settings_dir = tempfile.TemporaryDirectory(prefix="dc-audio-soak-ui-")
    settings = QSettings(str(Path(settings_dir.name) / "ui.ini"), QSettings.Format.IniFormat)
    options = SoakOptions(minutes=args.minutes, speed=args.speed, feed=not args.no_feed, realtime=args.realtime,
                          server=args.jack_server, switch_interval_s=args.switch_interval,
                          process="inline" if args.inline else "separate", reference=not args.no_reference,
                          audio_realtime=not args.no_audio_realtime)
    try:
        results = run_audio_soak(args.blocksize or [], options, lambda position: _SoakWindow(position, settings),
                                 progress=_progress)
    except SetupError as err:
        print(f"bench audio-soak: {err}", file=sys.stderr)
        return EXIT_SETUP
    finally:
        settings_dir.cleanup()
    rows = [r.summary() for r in results]
    if args.json:
        print(json.dumps({"results": rows}))
        return EXIT_OK
    _print_table(rows)
    return EXIT_OK


def _print_table(rows: list[dict[str, Any]]) -> None:
    from app.bench.soak_reference import COINCIDENT_MS

    print(f"{'frames':>6} {'min':>5} {'blocks':>8} {'out under':>9} {'in over':>7} {'in under':>8} {'out over':>8} "
          f"{'console':>7} {'cb med us':>9} {'cb p99 us':>9} {'gap max ms':>10} {'target':>6} {'result':>6}")
    for r in rows:
        verdict = {True: "pass", False: "FAIL", None: "-"}[r["pass"]]
        target = "-" if r["target"] is None else f"<= {r['target']}"
        console = "-" if r["console_xruns"] is None else r["console_xruns"]
        print(f"{r['blocksize']:>6} {r['minutes']:>5.1f} {r['blocks']:>8} {r['output_underflows']:>9} "
              f"{r['input_overflows']:>7} {r['input_underflows']:>8} {r['output_overflows']:>8} {console:>7} "
              f"{_fmt(r['callback_median_us']):>9} {_fmt(r['callback_p99_us']):>9} {_fmt(r['gap_max_ms']):>10} "
              f"{target:>6} {verdict:>6}")
    for r in rows:
        xruns = r["jack_xruns"]
        blame = "" if xruns is None else f"; jackd blames: driver {xruns['driver']}" + "".join(
            f", {k} {v}" for k, v in sorted(xruns["states"].items()))
        views = ", ".join(f"{name} {v['seconds']:.0f} s / {v['output_underflows']} under"
                          for name, v in r["views"].items())
        threads = ", ".join(f"{name} {pct}" for name, pct in r["thread_cpu_percent"].items())
        print(f"{r['blocksize']} frames: {r['late_callbacks']} late callbacks, {r['meter_repaints']} meter repaints, "
              f"CPU {r['cpu_percent']} % ({threads}), steal {_fmt(r['cpu_steal_percent'])} %, load {r['load_average'][0]}->{r['load_average'][1]}, "
              f"start-up underflows {r['startup_output_underflows']}{blame}; {views}")
        if r["reference_xruns"] is not None:
            print(f"{r['blocksize']} frames: the reference server (jack_metro alone, same minutes) missed "
                  f"{r['reference_xruns']} cycles; {r['underflows_near_reference_xruns']} of the console's "
                  f"{r['output_underflows']} underflows came within {COINCIDENT_MS:g} ms of one")
        if r["stopped_early"]:
            print(f"{r['blocksize']} frames: stopped early: {r['stopped_early']}")
    print("console: late cycles jackd blamed on the console's own client (the rest: its clock, the feed)")
    print("targets (issue 3): no underflow over 10 minutes at 256 frames, at most one at 128 frames")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
