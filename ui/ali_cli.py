"""`dispatch-console ali parse|listen`: ALI spills -> one JSON object per frame (headless).

``parse`` reads raw bytes (a capture file or stdin); ``listen`` reads a live link (a pyserial URL or
``tcp-listen://``) and prints each frame as it completes, so a technician can check a site's link and
layout file without the GUI. Both use the same framer and layout code the console uses.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, BinaryIO

EXIT_OK, EXIT_USAGE = 0, 2

LISTEN_URLS = "a device path, COM3, socket://HOST:PORT, rfc2217://HOST:PORT or tcp-listen://HOST:PORT"


def add_ali_parser(subparsers) -> None:
    ali = subparsers.add_parser("ali", help="ALI spill tools")
    ali_sub = ali.add_subparsers(dest="ali_command", metavar="ACTION", required=True)
    parse = ali_sub.add_parser("parse", help="parse a raw capture; prints one JSON object per frame")
    _layout_options(parse)
    parse.add_argument("file", metavar="FILE|-", help="raw bytes as captured; - reads stdin")

    listen = ali_sub.add_parser("listen", help="read a live ALI link; prints one JSON object per frame as it arrives")
    listen.add_argument("url", metavar="URL", help=LISTEN_URLS)
    _layout_options(listen)
    listen.add_argument("--baud", type=int, default=9600, metavar="N", help="serial speed (default 9600)")
    listen.add_argument("--bytesize", type=int, choices=(5, 6, 7, 8), default=8, help="data bits (default 8)")
    listen.add_argument("--parity", choices=("N", "E", "O", "M", "S"), default="N", help="parity (default N)")
    listen.add_argument("--stopbits", type=float, choices=(1, 1.5, 2), default=1, help="stop bits (default 1)")
    listen.add_argument("--count", type=_positive_int, metavar="N", help="exit after N frames")
    listen.add_argument("--raw-out", metavar="FILE",
                        help="append every byte received to FILE (a capture `ali parse` reads)")


def _layout_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layout", default="30w", metavar="NAME|FILE",
                        help="shipped layout (30w, warren, raw) or a layout .toml file (default 30w)")
    parser.add_argument("--no-bcc", action="store_true", help="the link sends no check byte after ETX")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def ali_command(args: argparse.Namespace) -> int:
    from app.ali.layouts import LayoutError, load_layout

    try:
        layout = load_layout(args.layout)
    except LayoutError as err:
        print(f"dispatch-console ali {args.ali_command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    if args.ali_command == "listen":
        return _listen(args, layout)
    return _parse(args, layout)


def _parse(args: argparse.Namespace, layout: Any) -> int:
    from app.ali.parse import parse_stream

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


def _listen(args: argparse.Namespace, layout: Any) -> int:
    import queue

    from app.drivers import build_ali_reader
    from hardware.serial.ports import LineSettings

    if args.url.startswith("sim:"):
        print(f"dispatch-console ali listen: {args.url} is the console's simulated phone system; "
              f"listen reads a real link: {LISTEN_URLS}", file=sys.stderr)
        return EXIT_USAGE
    events: queue.SimpleQueue = queue.SimpleQueue()
    line = LineSettings(args.baud, args.bytesize, args.parity, args.stopbits)
    try:
        reader = build_ali_reader("ali", args.url, events.put, line)
    except ValueError as err:
        print(f"dispatch-console ali listen: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        raw_out = open(args.raw_out, "ab") if args.raw_out else None
    except OSError as err:
        print(f"dispatch-console ali listen: cannot write {args.raw_out}: {err.strerror or err}", file=sys.stderr)
        return EXIT_USAGE
    session = _ListenSession(layout, bcc=not args.no_bcc, count=args.count, raw_out=raw_out)
    reader.start()
    try:
        try:
            while not session.done:
                try:
                    session.handle(events.get(timeout=0.5))
                except queue.Empty:
                    continue
        except KeyboardInterrupt:
            reader.stop()
            # Bytes read before Ctrl-C still come out; a frame held back half-way comes out as unparsed.
            while not session.done:
                try:
                    session.handle(events.get_nowait())
                except queue.Empty:
                    break
            session.finish()
    except BrokenPipeError:
        # The reader of our output went away (| head): stop quietly, without a second error at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        reader.stop()
        if raw_out is not None:
            raw_out.close()
    return EXIT_OK


class _ListenSession:
    """Turns the reader's events into printed entries: frames on stdout, link changes on stderr."""

    def __init__(self, layout: Any, *, bcc: bool, count: int | None, raw_out: BinaryIO | None) -> None:
        from app.ali.framing import Frame, Framer
        from app.ali.parse import garbage_entry, parse_frame

        self._frame_type, self._parse_frame, self._garbage_entry = Frame, parse_frame, garbage_entry
        self.layout = layout
        self.framer = Framer(bcc=bcc)
        self.count = count
        self.raw_out = raw_out
        self.frames = 0
        self._last_link = ""

    @property
    def done(self) -> bool:
        return self.count is not None and self.frames >= self.count

    def handle(self, event: Any) -> None:
        from hardware.events import BytesReceived, DeviceFault, LinkChanged, LinkState

        if isinstance(event, BytesReceived):
            if self.raw_out is not None:
                self.raw_out.write(event.data)
                self.raw_out.flush()  # a capture that survives Ctrl-C or a crash
            self._print(self.framer.feed(event.data))
        elif isinstance(event, LinkChanged):
            if event.state is not LinkState.UP:
                self._print(self.framer.flush())  # a frame cut off by the link going down
            message = f"link {event.state.value}: {event.detail}"
            if message != self._last_link:  # a port retried with backoff says so once
                self._last_link = message
                print(f"ali listen: {message}", file=sys.stderr, flush=True)
        elif isinstance(event, DeviceFault):
            print(f"ali listen: fault: {event.message}", file=sys.stderr, flush=True)

    def finish(self) -> None:
        self._print(self.framer.flush())

    def _print(self, items: list) -> None:
        for item in items:
            if self.done:
                return
            if isinstance(item, self._frame_type):
                entry = self._parse_frame(item, self.layout)
                self.frames += 1
            else:
                entry = self._garbage_entry(item)  # the same "unparsed" entry `ali parse` prints
            print(json.dumps({"t": round(time.time(), 3), **entry}, ensure_ascii=True), flush=True)
