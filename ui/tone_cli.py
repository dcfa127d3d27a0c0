"""`dispatch-console tone KIND ... -o FILE.wav`: render a console tone exactly as the engine plays it (headless).

Technicians measure the file against the line; tests decode it with independent tools.
"""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
KINDS = ("alert1", "alert2", "alert3", "marker", "talk-permit", "dekey", "emergency", "test", "dtmf", "qc2", "trc")


def add_tone_parser(subparsers) -> None:
    tone = subparsers.add_parser(
        "tone", help="render a console tone to a WAV file (alerts, marker, test, DTMF, Quick Call II, tone remote)",
        description="Render a tone exactly as the audio engine sends it to the transmit output, "
                    "as mono 16-bit WAV. Levels are relative to the line test level (default -10 dBFS).",
    )
    tone.add_argument("kind", choices=KINDS, metavar="KIND", help=", ".join(KINDS))
    tone.add_argument("digits", nargs="?", help="dtmf: the keys to send (0-9 * # A-D)")
    tone.add_argument("-o", "--output", required=True, metavar="FILE.wav")
    tone.add_argument("--rate", type=int, default=8000, help="sample rate in Hz (default 8000)")
    tone.add_argument("--test-level", type=float, metavar="DBFS", help="line test level (default -10 dBFS)")
    tone.add_argument("--seconds", type=float, default=1.0, help="test: duration (default 1 s)")
    tone.add_argument("--sidetone", action="store_true", help="render the operator's headset copy (quieter)")
    tone.add_argument("--group", default="4", help="qc2: tone group 1-6, A or B (default 4)")
    tone.add_argument("--b-group", help="qc2: group of tone B when it differs from --group")
    tone.add_argument("--code", default="61", help="qc2: two-digit code (same digit twice = all-call)")
    tone.add_argument("--function", default="F1", help="trc: function tone, a table name (F1, monitor) or Hz")
    tone.add_argument("--hold", type=float, default=0.0, help="trc: seconds of low-level guard tone after it")
    tone.add_argument("--guard-ms", type=float, default=130.0, help="trc: high-level guard tone, >= 120 ms")


# Rendered block by block with the engine's own tone voice, so the file is what the line carries.
RENDER_BLOCK = 128


def _render(voice) -> "np.ndarray":
    import numpy as np

    out = np.zeros(voice.total_samples, dtype=np.float32)
    for start in range(0, out.shape[0], RENDER_BLOCK):
        voice.fill(out[start:start + RENDER_BLOCK])
    return out


def tone_command(args: argparse.Namespace) -> int:
    from app.audio.voices import ToneVoice
    from app.dsp import tones, trc
    from app.dsp.wav import write_wav

    test_level = tones.TEST_LEVEL_DBFS if args.test_level is None else args.test_level
    offset = test_level - tones.TEST_LEVEL_DBFS  # every tone follows the line test level
    try:
        if args.rate < 8000 or args.rate > 192000:
            raise tones.ToneError(f"--rate {args.rate} is outside 8000-192000 Hz")
        segments = _segments(args, tones, trc)
        voice = ToneVoice(segments, args.rate, gain_db=offset + (tones.SIDETONE_DB if args.sidetone else 0.0),
                          max_block=RENDER_BLOCK)
    except tones.ToneError as err:
        print(f"tone {args.kind}: {err}", file=sys.stderr)
        return EXIT_USAGE
    try:
        write_wav(args.output, _render(voice), args.rate)
    except OSError as err:
        print(f"tone {args.kind}: cannot write {args.output}: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.output}: {args.kind}, {voice.total_samples} samples at {args.rate} Hz "
          f"({voice.total_samples / args.rate:.3f} s)")
    return EXIT_OK


def _segments(args: argparse.Namespace, tones, trc) -> list:
    """The tone's segments at the default test level; the generator's gain moves them to --test-level."""
    if args.kind == "dtmf":
        if not args.digits:
            raise tones.ToneError("give the keys to send, e.g. tone dtmf 5551234 -o x.wav")
        return tones.dtmf(args.digits)
    if args.digits:
        raise tones.ToneError(f"unexpected argument {args.digits!r} (only dtmf takes digits)")
    if args.kind == "trc":
        return trc.keying_sequence(trc.function_tone(args.function), hold_s=args.hold,
                                   hlgt_s=args.guard_ms / 1000.0)
    if args.kind == "qc2":
        return tones.qc2_page(args.group, args.code, b_group=args.b_group)
    if args.kind == "test":
        if not args.seconds > 0:
            raise tones.ToneError(f"--seconds {args.seconds} must be positive")
        return tones.line_test_tone(args.seconds)
    builders = {"alert1": tones.alert1, "alert2": tones.alert2, "alert3": tones.alert3, "marker": tones.marker,
                "talk-permit": tones.talk_permit, "dekey": tones.dekey, "emergency": tones.emergency_alarm}
    return builders[args.kind]()
