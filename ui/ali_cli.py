"""`dispatch-console ali parse`: a captured spill stream -> one JSON object per frame (headless).

Reads raw bytes (a capture file or stdin) with the same framer and layout code the console uses,
so a technician can check a site's layout file against a capture without the GUI.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_USAGE = 0, 2


def add_ali_parser(subparsers) -> None:
    ali = subparsers.add_parser("ali", help="ALI spill tools")
    ali_sub = ali.add_subparsers(dest="ali_command", metavar="ACTION", required=True)
    parse = ali_sub.add_parser("parse", help="parse a raw capture; prints one JSON object per frame")
    parse.add_argument("--layout", default="30w", metavar="NAME|FILE",
                       help="shipped layout (30w, warren, raw) or a layout .toml file (default 30w)")
    parse.add_argument("--no-bcc", action="store_true", help="the link sends no check byte after ETX")
    parse.add_argument("file", metavar="FILE|-", help="raw bytes as captured; - reads stdin")


def ali_command(args: argparse.Namespace) -> int:
    from app.ali.layouts import LayoutError, load_layout
    from app.ali.parse import parse_stream

    try:
        layout = load_layout(args.layout)
    except LayoutError as err:
        print(f"dispatch-console ali parse: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.file == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(args.file, "rb") as handle:
                data = handle.read()
    except OSError as err:
        print(f"dispatch-console ali parse: cannot read {args.file}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    for entry in parse_stream(data, layout, bcc=not args.no_bcc):
        print(json.dumps(entry, ensure_ascii=True))
    return EXIT_OK
