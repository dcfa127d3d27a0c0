"""``dispatch-console bench signaling``: our decoders against multimon-ng and minimodem on noisy files.

Prints a table, or with ``--json`` ``{"results": [{"kind", "snr_db", "ours_rate", "reference_rate",
"ours_x_realtime", ...}], "false_detections": [{"kind", "minutes", "ours_false", "reference_false", ...}]}``.
"""

from __future__ import annotations

import argparse
import json


def add_signaling_bench_parser(bench_sub: argparse._SubParsersAction) -> None:
    bench = bench_sub.add_parser("signaling", help="decoders vs multimon-ng/minimodem at 0-20 dB SNR, "
                                                   "false detections on speech-like noise, throughput")
    bench.add_argument("--trials", type=int, default=20, help="signals per kind and SNR (default 20)")
    bench.add_argument("--noise-minutes", type=float, default=10.0,
                       help="speech-like noise for the false-detection run (default 10; 0 skips it)")
    bench.add_argument("--kind", action="append", dest="kinds", metavar="KIND",
                       choices=("dtmf", "zvei1", "ccir", "eea", "eia", "tty"),
                       help="only this kind (repeatable; default dtmf, zvei1, ccir, eea, eia, tty)")
    bench.add_argument("--json", action="store_true")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def signaling_bench(args: argparse.Namespace) -> int:
    from app.bench.signaling import MULTIMON_KINDS, run_signaling_bench

    kinds = tuple(args.kinds) if args.kinds else (*MULTIMON_KINDS, "tty")
    report = run_signaling_bench(max(1, args.trials), max(0.0, args.noise_minutes), kinds=kinds)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['trials']} trials per row at {report['samplerate']} Hz, white noise")
    print(f"{'kind':6} {'source':10} {'SNR dB':>6} {'ours':>7} {'reference':>9}  {'x realtime':>10}  reference")
    for r in report["results"]:
        verdict = "" if r["reference_rate"] is None or r["ours_rate"] >= r["reference_rate"] else "  BELOW REFERENCE"
        note = f"  not run: {r['error']}" if r["error"] else verdict
        print(f"{r['kind']:6} {r['source']:10} {r['snr_db']:>6.0f} {_rate(r['ours_rate']):>7} "
              f"{_rate(r['reference_rate']):>9}  {r['ours_x_realtime'] or 0:>10.0f}  {r['reference']}{note}")
    if report["false_detections"]:
        print(f"\nfalse detections on {report['false_detections'][0]['minutes']:g} min of speech-like noise "
              "(TTY: characters)")
        print(f"{'kind':6} {'ours':>6} {'reference':>9}  {'x realtime':>10}")
        for r in report["false_detections"]:
            theirs = "-" if r["reference_false"] is None else r["reference_false"]
            print(f"{r['kind']:6} {r['ours_false']:>6} {theirs:>9}  {r['ours_x_realtime'] or 0:>10.0f}"
                  f"{'  ' + r['error'] if r['error'] else ''}")
    return 0
