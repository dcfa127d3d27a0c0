"""``dispatch-console bench audio``: the audio callback's processing time per block (headless, no Qt).

Prints one row per configuration (inputs x block size, 8 outputs, 48 kHz by default), or with
``--json`` the figures as ``{"results": [...]}``. The issue's budget for 32 inputs x 8 outputs at
128 frames: median <= 3 % and p99 <= 10 % of the block period.
"""

from __future__ import annotations

import argparse
import json

MEDIAN_BUDGET_PCT, P99_BUDGET_PCT = 3.0, 10.0


def add_audio_bench_parser(bench_sub: argparse._SubParsersAction) -> None:
    bench = bench_sub.add_parser(
        "audio", help="audio callback time per block (mix, tone remote, voices, meters, recall)")
    bench.add_argument("--inputs", type=int, nargs="+", default=[8, 16, 32], metavar="N",
                       help="input counts to measure (default 8 16 32)")
    bench.add_argument("--blocksizes", type=int, nargs="+", default=[64, 128, 256], metavar="F",
                       help="block sizes in frames (default 64 128 256)")
    bench.add_argument("--outputs", type=int, default=8, help="output count (default 8, at least 8)")
    bench.add_argument("--samplerate", type=int, default=48_000, help="sample rate in Hz (default 48000)")
    bench.add_argument("--blocks", type=int, default=3000, help="blocks timed per configuration (default 3000)")
    bench.add_argument("--json", action="store_true")


def audio_bench(args: argparse.Namespace) -> int:
    from app.bench.audio import run_all

    try:
        report = run_all(args.inputs, args.blocksizes, args.outputs, args.samplerate, max(1, args.blocks))
    except ValueError as err:
        print(f"bench audio: {err}")
        return 2
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{'inputs':>6} {'outputs':>7} {'frames':>6} {'block us':>9} {'median us':>10} {'p99 us':>8} "
          f"{'median %':>9} {'p99 %':>6} {'matmul us':>10}")
    for r in report["results"]:
        print(f"{r['inputs']:>6} {r['outputs']:>7} {r['blocksize']:>6} {r['block_us']:>9.1f} {r['median_us']:>10.1f} "
              f"{r['p99_us']:>8.1f} {r['median_pct']:>9.2f} {r['p99_pct']:>6.2f} {r['reference_matmul_us']:>10.2f}")
    print(f"budget: median <= {MEDIAN_BUDGET_PCT:g} % and p99 <= {P99_BUDGET_PCT:g} % of the block period "
          f"(numpy {report['numpy']}, {report['cpus']} CPUs)")
    return 0
