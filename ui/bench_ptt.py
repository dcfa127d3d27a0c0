"""``dispatch-console bench ptt``: input edge to radio keyed, through the whole console (headless).

Prints one row per path, or with ``--json`` ``{"paths": [{"path", "median_us", "p99_us", "samples", ...}]}``.
A path that cannot run here (a driver or peer missing) shows why instead of figures.
"""

from __future__ import annotations

import argparse
import json


def add_ptt_bench_parser(bench_sub: argparse._SubParsersAction) -> None:
    bench = bench_sub.add_parser("ptt", help="input edge to radio keyed (serial RTS, rigctld ack) through the console")
    bench.add_argument("--samples", type=int, default=200, help="key-ups timed per path (default 200)")
    bench.add_argument("--path", action="append", dest="paths", metavar="NAME",
                       help="measure only this path (repeatable; default all)")
    bench.add_argument("--json", action="store_true")


def ptt_bench(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QCoreApplication

    from app.bench.ptt import run_ptt_bench

    app = QCoreApplication.instance() or QCoreApplication([])
    report = run_ptt_bench(max(1, args.samples), paths=args.paths, pump=app.processEvents)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{'path':40} {'samples':>7} {'median us':>10} {'p99 us':>8} {'target p99':>10}")
    for r in report["paths"]:
        if r["error"]:
            print(f"{r['path']:40} {'-':>7} {'-':>10} {'-':>8} {r['target_us']:>10.0f}  not measured: {r['error']}")
            continue
        verdict = "ok" if r["p99_us"] <= r["target_us"] else "OVER TARGET"
        print(f"{r['path']:40} {r['samples']:>7} {r['median_us']:>10.0f} {r['p99_us']:>8.0f} "
              f"{r['target_us']:>10.0f}  {verdict}")
    return 0
