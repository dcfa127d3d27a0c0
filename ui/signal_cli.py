"""``dispatch-console decode KIND FILE.wav`` and ``dispatch-console encode KIND ... -o FILE.wav`` (headless).

decode prints one JSON object per event: ``{"t", "kind", "value", ...}``. encode renders a signal with the
same encoders the console transmits with. Bad files and arguments exit 2 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
KINDS = ("mdc1200", "dtmf", "qc2", "zvei1", "ccir", "eea", "eia", "tty")  # app.dsp.signaling.KINDS


def _byte(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (decimal or 0x hex)") from None
    if not 0 <= value <= 0xFF:
        raise argparse.ArgumentTypeError(f"{text!r} is not a byte (0..255)")
    return value


def add_signal_parsers(subparsers) -> None:
    decode = subparsers.add_parser(
        "decode", help="decode signaling (MDC1200, DTMF, Quick Call II, 5-tone, TTY) from a WAV file",
        description="Decode a mono 16-bit WAV file; prints one JSON object per event "
                    '({"t": seconds, "kind", "value", ...}).')
    decode.add_argument("kind", choices=KINDS, metavar="KIND", help=", ".join(KINDS))
    decode.add_argument("file", metavar="FILE.wav")

    encode = subparsers.add_parser(
        "encode", help="render signaling (MDC1200, DTMF, Quick Call II, 5-tone, TTY) to a WAV file",
        description="Render a signal exactly as the console sends it, as mono 16-bit WAV.")
    encode.add_argument("kind", choices=KINDS, metavar="KIND", help=", ".join(KINDS))
    encode.add_argument("payload", nargs="?", help="dtmf/5-tone: the digits; tty: the text")
    encode.add_argument("-o", "--output", required=True, metavar="FILE.wav")
    encode.add_argument("--rate", type=int, default=8000, help="sample rate in Hz (default 8000)")
    encode.add_argument("--op", type=_byte, help="mdc1200: opcode (e.g. 0x01 PTT ID)")
    encode.add_argument("--arg", type=_byte, help="mdc1200: argument (e.g. 0x80)")
    encode.add_argument("--unit", help="mdc1200: unit ID, 4 hex digits (e.g. 1234)")
    encode.add_argument("--extra", help="mdc1200: the 4 extra bytes of a double packet, 8 hex digits")
    encode.add_argument("--tones", type=float, nargs=2, metavar=("HZ_A", "HZ_B"),
                        help="qc2: tone A and tone B in Hz (equal = all-call)")
    encode.add_argument("--group", help="qc2: tone group (with --code)")
    encode.add_argument("--code", help="qc2: two-digit code (with --group)")
    encode.add_argument("--b-group", help="qc2: group of tone B when it differs from --group")
    encode.add_argument("--on-ms", type=float, help="dtmf: tone on time (default 100 ms)")
    encode.add_argument("--off-ms", type=float, help="dtmf: pause between keys (default 100 ms)")
    encode.add_argument("--tone-ms", type=float, help="5-tone: tone length (default: the mode's own)")
    encode.add_argument("--stop-bits", type=float, help="tty: stop bits, 1 to 2 (default 2)")


def decode_command(args: argparse.Namespace) -> int:
    import wave

    from app.dsp.signaling import SignalingError, decode
    from app.dsp.wav import read_wav

    try:
        samples, rate = read_wav(args.file)
    except FileNotFoundError:
        print(f"decode {args.kind}: no such file {args.file}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, EOFError, ValueError, wave.Error) as err:
        print(f"decode {args.kind}: {args.file} is not a readable WAV file: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        events = decode(args.kind, samples, rate)
    except SignalingError as err:
        print(f"decode {args.kind}: {args.file}: {err}", file=sys.stderr)
        return EXIT_USAGE
    for event in events:
        print(json.dumps(event.as_json()))
    return EXIT_OK


def encode_command(args: argparse.Namespace) -> int:
    from app.dsp.signaling import SignalingError, encode
    from app.dsp.wav import write_wav

    try:
        params = _encode_params(args)
        samples = encode(args.kind, samplerate=args.rate, **params)
    except (SignalingError, ValueError) as err:
        print(f"encode {args.kind}: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_wav(args.output, samples, args.rate)
    except OSError as err:
        print(f"encode {args.kind}: cannot write {args.output}: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.output}: {args.kind}, {samples.shape[0]} samples at {args.rate} Hz "
          f"({samples.shape[0] / args.rate:.3f} s)")
    return EXIT_OK


_OPTIONS_BY_KIND = {
    "mdc1200": {"op", "arg", "unit", "extra"},
    "dtmf": {"on_ms", "off_ms"},
    "qc2": {"tones", "group", "code", "b_group"},
    "tty": {"stop_bits"},
    **{kind: {"tone_ms"} for kind in ("zvei1", "ccir", "eea", "eia")},
}
_ALL_OPTIONS = set().union(*_OPTIONS_BY_KIND.values())


def _encode_params(args: argparse.Namespace) -> dict:
    """The encoder's keyword arguments from the command line; options of another kind are refused."""
    kind = args.kind
    stray = sorted(o for o in _ALL_OPTIONS - _OPTIONS_BY_KIND[kind] if getattr(args, o) is not None)
    if stray:
        raise ValueError(f"--{stray[0].replace('_', '-')} does not apply to {kind}")
    takes_payload = kind not in ("mdc1200", "qc2")
    if takes_payload and not args.payload:
        what = "text" if kind == "tty" else "digits"
        raise ValueError(f"give the {what} to send, e.g. encode {kind} {'HELLO' if kind == 'tty' else '12345'}"
                         f" -o x.wav")
    if not takes_payload and args.payload:
        raise ValueError(f"unexpected argument {args.payload!r} ({kind} takes options only)")
    if kind == "mdc1200":
        missing = [f"--{name}" for name in ("op", "arg", "unit") if getattr(args, name) is None]
        if missing:
            raise ValueError(f"give {', '.join(missing)} (e.g. --op 0x01 --arg 0x80 --unit 1234)")
        params: dict = {"op": args.op, "arg": args.arg, "unit": args.unit}
        if args.extra is not None:
            try:
                params["extra"] = bytes.fromhex(args.extra)
            except ValueError:
                raise ValueError(f"--extra {args.extra!r} is not hex bytes") from None
        return params
    if kind == "qc2":
        if args.tones is not None:
            return {"tones": tuple(args.tones)}
        return {"group": args.group, "code": args.code, "b_group": args.b_group}
    if kind == "dtmf":
        params = {"digits": args.payload}
        if args.on_ms is not None:
            params["on_s"] = args.on_ms / 1000.0
        if args.off_ms is not None:
            params["off_s"] = args.off_ms / 1000.0
        return params
    if kind == "tty":
        params = {"text": args.payload}
        if args.stop_bits is not None:
            params["stop_bits"] = args.stop_bits
        return params
    params = {"digits": args.payload}
    if args.tone_ms is not None:
        params["tone_s"] = args.tone_ms / 1000.0
    return params
