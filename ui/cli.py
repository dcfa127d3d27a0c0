"""The ``dispatch-console`` command: the GUI by default, headless subcommands for technicians and tests.

Headless subcommands never import QtWidgets (a test checks it), so they run on a machine with no
display. Every capability here calls the same services the GUI uses.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
from pathlib import Path
from typing import Any

from app import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _profile_options(*, after_subcommand: bool) -> argparse.ArgumentParser:
    """--config/--demo, accepted before a subcommand and (for those that read a profile) after it.

    After a subcommand the defaults are suppressed, so an option given before it is not overwritten.
    """
    unset = {"default": argparse.SUPPRESS} if after_subcommand else {}
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="position profile (TOML); default: the user config folder",
                        **unset)
    common.add_argument("--demo", action="store_true", help="use the demo profile (simulated hardware)", **unset)
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dispatch-console",
        description="Dispatch console for 9-1-1 and public-safety positions. With no command, starts the console.",
        parents=[_profile_options(after_subcommand=False)],
    )
    parser.add_argument("--version", action="version", version=f"dispatch-console {__version__}")
    parser.add_argument("--role", choices=("dispatcher", "calltaker", "technician"), help="first view to show")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    config = sub.add_parser("config", help="position profile tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser("check", help="validate a profile; prints each error with its field, exits 2")
    check.add_argument("file", metavar="FILE")
    config_sub.add_parser("path", help="print where the console looks for its profile and data")

    logcmd = sub.add_parser("log", help="the position's event log")
    log_sub = logcmd.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    tail = log_sub.add_parser("tail", parents=[_profile_options(after_subcommand=True)], help="print the last events")
    tail.add_argument("-n", type=int, default=20, metavar="N", help="how many (default 20)")
    tail.add_argument("--db", metavar="FILE", help="read this database instead of the profile's")

    bench = sub.add_parser("bench", help="measurements that print figures")
    bench_sub = bench.add_subparsers(dest="bench_command", metavar="KIND", required=True)
    soak = bench_sub.add_parser("soak", help="run the demo position headless and report memory and threads")
    soak.add_argument("--seconds", type=float, default=60.0)
    soak.add_argument("--speed", type=float, default=20.0, help="simulated traffic multiplier (default 20)")
    soak.add_argument("--gui", action="store_true", help="with the main window (offscreen if no display)")
    soak.add_argument("--json", action="store_true")
    ali_bench = bench_sub.add_parser(
        "ali", help="spill-to-screen latency through a pseudo-terminal, and ALI parser throughput")
    ali_bench.add_argument("--samples", type=int, default=200, help="spills to pop (default 200)")
    ali_bench.add_argument("--spills", type=int, default=5000, help="spills for the throughput run (default 5000)")
    ali_bench.add_argument("--json", action="store_true")
    from ui.bench_audio import add_audio_bench_parser  # argparse only; the engine loads on use

    add_audio_bench_parser(bench_sub)
    from ui.bench_audio_soak import add_audio_soak_parser  # argparse only; Qt and the soak load on use

    add_audio_soak_parser(bench_sub)
    from ui.bench_ptt import add_ptt_bench_parser  # argparse only; the position loads on use

    add_ptt_bench_parser(bench_sub)
    from ui.bench_signaling import add_signaling_bench_parser  # argparse only; the codecs load on use

    add_signaling_bench_parser(bench_sub)

    from ui.ali_cli import add_ali_parser  # argparse only; the parser itself loads on use

    add_ali_parser(sub)
    from ui.stats_cli import add_stats_parser  # argparse only; the statistics load on use

    add_stats_parser(sub, _profile_options(after_subcommand=True))
    from ui.tone_cli import add_tone_parser  # argparse only; the DSP loads on use

    add_tone_parser(sub)
    from ui.signal_cli import add_signal_parsers  # argparse only; the codecs load on use

    add_signal_parsers(sub)
    from ui.diag_cli import add_diag_parser  # argparse only; the measurements load on use

    add_diag_parser(sub, _profile_options(after_subcommand=True))
    return parser


SWITCH_INTERVAL_S = 0.0005


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()  # a frozen build starts the audio process through this executable
    # The console is bound by latency, not throughput: a thread woken by a device (a footswitch edge,
    # a key confirmation) gets the GIL within 0.5 ms instead of Python's default 5 ms.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s",
    )
    if args.command == "config":
        return _config(args)
    if args.command == "log":
        return _log(args)
    if args.command == "bench":
        return _bench(args)
    if args.command == "ali":
        from ui.ali_cli import ali_command

        return ali_command(args)
    if args.command == "stats":
        from ui.stats_cli import stats_command

        return stats_command(args)
    if args.command == "tone":
        from ui.tone_cli import tone_command

        return tone_command(args)
    if args.command in ("decode", "encode"):
        from ui.signal_cli import decode_command, encode_command

        return decode_command(args) if args.command == "decode" else encode_command(args)
    if args.command == "diag":
        from ui.diag_cli import diag_command

        return diag_command(args)
    from ui.startup import main_gui  # the only path that loads QtWidgets

    return main_gui(config=args.config, demo=args.demo, role=args.role)


def _config(args: argparse.Namespace) -> int:
    from app.config import check_profile, config_dir, data_dir, default_profile_path

    if args.config_command == "check":
        code, lines = check_profile(args.file)
        stream = sys.stdout if code == 0 else sys.stderr
        for line in lines:
            print(line, file=stream)
        return code
    print(f"profile:     {default_profile_path()}")
    print(f"config dir:  {config_dir()}")
    print(f"data dir:    {data_dir()}")
    return EXIT_OK


def resolve_profile(config: str | None, demo: bool):
    """(profile, path, is_demo) from the command line; raises ProfileError, FileNotFoundError."""
    from app.config import default_profile_path, demo_profile_path, load_demo_profile, load_profile

    if demo:
        return load_demo_profile(), demo_profile_path(), True
    path = Path(config) if config else default_profile_path()
    if not config and not path.exists():
        raise FileNotFoundError(path)
    return load_profile(path), path, False


def profile_and_db(args: argparse.Namespace) -> tuple[Any, Path] | int:
    """(profile or None, the store file) a store-reading command works on; an exit code when the
    profile cannot be read. ``--db FILE`` alone needs no profile."""
    from app.config import ProfileError, storage_path

    config, demo = getattr(args, "config", None), getattr(args, "demo", False)
    if args.db and not (config or demo):
        return None, Path(args.db)
    try:
        profile, _, _ = resolve_profile(config, demo)
    except ProfileError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError as err:
        print(f"no position profile at {err.args[0]}; use --config FILE, --demo or --db FILE", file=sys.stderr)
        return EXIT_USAGE
    return profile, Path(args.db) if args.db else storage_path(profile)


def _log(args: argparse.Namespace) -> int:
    from app.store import StoreError, format_event, tail_events

    found = profile_and_db(args)
    if isinstance(found, int):
        return found
    _profile, db = found
    if not db.exists():
        print(f"no event log yet at {db}", file=sys.stderr)
        return EXIT_ERROR
    try:
        rows = tail_events(db, max(0, args.n))
    except StoreError as err:
        print(err, file=sys.stderr)
        return EXIT_ERROR
    for row in rows:
        print(format_event(row))
    return EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    if args.bench_command == "soak":
        from ui.bench import soak

        return soak(args.seconds, args.speed, as_json=args.json, gui=args.gui)
    if args.bench_command == "ali":
        from ui.bench_ali import ali_bench

        return ali_bench(max(1, args.samples), max(1, args.spills), as_json=args.json)
    if args.bench_command == "audio":
        from ui.bench_audio import audio_bench

        return audio_bench(args)
    if args.bench_command == "audio-soak":
        from ui.bench_audio_soak import audio_soak_command

        return audio_soak_command(args)
    if args.bench_command == "ptt":
        from ui.bench_ptt import ptt_bench

        return ptt_bench(args)
    if args.bench_command == "signaling":
        from ui.bench_signaling import signaling_bench

        return signaling_bench(args)
    return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
