"""`dispatch-console diag CHECK`: technicians' measurements of the position's hardware (headless).

Each check is an (add options, run) pair in ``CHECKS`` at the bottom: adding one is a parser
function, a run function returning an exit code, and one line there. Checks print a table for
people and, with ``--json``, one JSON object for tools. Exit codes: 0 measured, 1 the measurement
failed (the reason is printed), 2 bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ui.diag_inventory import usage_error as _usage

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
BACKENDS = ("sounddevice", "pyaudio", "null")


def add_diag_parser(subparsers, profile_options: argparse.ArgumentParser) -> None:
    diag = subparsers.add_parser("diag", help="measure the position's hardware (audio round-trip latency, ...)")
    checks = diag.add_subparsers(dest="diag_command", metavar="CHECK", required=True)
    for add, _run in CHECKS.values():
        add(checks, profile_options)


def diag_command(args: argparse.Namespace) -> int:
    _add, run = CHECKS[args.diag_command]
    return run(args)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be 1 or more")
    return value


def _profile_audio(args: argparse.Namespace) -> Any | int:
    """The profile's [audio] section; None when no profile was asked for and none is installed;
    an exit code when the profile cannot be read."""
    from app.config import ProfileError
    from ui.cli import resolve_profile

    config, demo = getattr(args, "config", None), getattr(args, "demo", False)
    try:
        profile, _, _ = resolve_profile(config, demo)
    except ProfileError as err:
        print(err, file=sys.stderr)
        return EXIT_USAGE
    except FileNotFoundError:
        return None  # a fresh machine: measure with the defaults and the options given
    return profile.audio


# --- diag audio-latency


def _add_audio_latency(checks, profile_options: argparse.ArgumentParser) -> None:
    cmd = checks.add_parser(
        "audio-latency", parents=[profile_options],
        help="round-trip latency of a loop from an output channel back to an input channel",
        description="Plays a 300-3400 Hz chirp at -10 dBFS on one output channel and finds it on one input "
                    "channel (loop them with a cable, the interface's loopback, or jack_connect). Prints the "
                    "median round trip against the latency the stream reports. Defaults come from the "
                    "profile's [audio] section (channels headset_left and headset_mic); without a profile: "
                    "sounddevice, the default device, 48000 Hz, 128 frames, channel 1 both ways.",
    )
    cmd.add_argument("--backend", choices=BACKENDS, help="audio library (default: the profile's)")
    cmd.add_argument("--device", metavar="D", help="device name part or index (default: the profile's)")
    cmd.add_argument("--output", type=_positive_int, metavar="N", help="output channel, 1-based")
    cmd.add_argument("--input", type=_positive_int, metavar="M", help="input channel, 1-based")
    cmd.add_argument("--blocksize", type=_positive_int, metavar="F", help="frames per callback")
    cmd.add_argument("--samplerate", type=_positive_int, metavar="R", help="sample rate in Hz")
    cmd.add_argument("--latency", metavar="L", help="stream latency: low, high or seconds (default: the profile's)")
    cmd.add_argument("--repeats", type=_positive_int, default=5, help="probes to send (default 5)")
    cmd.add_argument("--settle", type=float, default=0.25, metavar="S",
                     help="seconds of silence before the first probe (default 0.25); longer when the loop "
                          "is connected after the stream opens, as with JACK ports")
    cmd.add_argument("--json", action="store_true", help="print one JSON object")


def _latency_setting(text: str) -> str | float:
    if text in ("low", "high"):
        return text
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(f"--latency {text!r}: expected low, high or seconds") from None
    if not 0 < seconds <= 1:
        raise ValueError(f"--latency {text}: seconds must be in (0, 1]")
    return seconds


def _audio_latency(args: argparse.Namespace) -> int:
    audio = _profile_audio(args)
    if isinstance(audio, int):
        return audio
    channels = dict(audio.channels) if audio is not None else {}
    backend_name = args.backend or (audio.backend if audio is not None else "sounddevice")
    device = args.device if args.device is not None else (audio.device if audio is not None else "")
    rate = args.samplerate or (audio.samplerate if audio is not None else 48000)
    blocksize = args.blocksize or (audio.blocksize if audio is not None else 128)
    output = args.output or channels.get("headset_left", 1)
    input_ = args.input or channels.get("headset_mic", 1)
    try:
        latency = _latency_setting(args.latency) if args.latency else (audio.latency if audio is not None else "low")
    except ValueError as err:
        return _usage(str(err))
    if backend_name == "null":
        return _usage("the null backend has no real inputs to loop back to; use --backend sounddevice or pyaudio")
    if not 8000 <= rate <= 192000:
        return _usage(f"--samplerate {rate} is outside 8000-192000 Hz")
    if blocksize > 8192:
        return _usage(f"--blocksize {blocksize} is more than 8192 frames")
    if not 0 <= args.settle <= 60:
        return _usage(f"--settle {args.settle:g} is outside 0-60 s")

    from app.audio.latency import LatencyError, measure_round_trip
    from hardware.audio.base import AudioDeviceError, StreamSpec, open_backend

    try:
        backend = open_backend(backend_name)
        problem = _channel_problem(backend, device, output, input_)
    except AudioDeviceError as err:
        return _usage(str(err))
    if problem:
        return _usage(problem)
    spec = StreamSpec(device=device, samplerate=rate, blocksize=blocksize, latency=latency,
                      inputs=input_, outputs=output)

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"probe {done} of {total} found", file=sys.stderr, flush=True)

    try:
        result = measure_round_trip(backend, spec, output - 1, input_ - 1, repeats=args.repeats,
                                    progress=progress, settle_s=args.settle)
    except AudioDeviceError as err:
        return _usage(str(err))
    except LatencyError as err:
        if args.json:
            print(json.dumps({"error": str(err), "output": output, "input": input_, "backend": backend_name}))
        print(f"diag audio-latency: the probe was not found: {err}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(json.dumps({"backend": backend_name, **result.as_dict()}))
        return EXIT_OK
    for line in _latency_table(result, backend_name):
        print(line)
    return EXIT_OK


def _channel_problem(backend, device: str, output: int, input_: int) -> str | None:
    """Why the device or one of the two channels does not exist, or None. The default device ("")
    is the backend's to find when the stream opens."""
    if not device:
        return None
    from hardware.audio.base import StreamSpec, resolve_device

    # The backends' own lookup, asked for the least a loop needs; the channels are checked here so
    # the message can name the option that is wrong.
    found = resolve_device(backend.name, backend.devices(),
                           StreamSpec(device=device, samplerate=48000, blocksize=128, latency="low",
                                      inputs=1, outputs=1), None)
    if found.max_outputs < output:
        return f"device {found.describe()} has {found.max_outputs} output channels; --output {output} does not exist"
    if found.max_inputs < input_:
        return f"device {found.describe()} has {found.max_inputs} input channels; --input {input_} does not exist"
    return None


def _latency_table(result, backend_name: str) -> list[str]:
    each = "  ".join(f"{ms:.2f}" for ms in result.each_ms)
    if result.within_one_block:
        verdict = "within one block of what the stream reports"
    else:
        verdict = f"more than one block ({result.block_ms:.2f} ms) off what the stream reports"
    return [
        f"round trip   output {result.output + 1} -> input {result.input + 1}",
        f"device       {result.device} ({backend_name})",
        f"stream       {result.samplerate} Hz, {result.blocksize} frames per block ({result.block_ms:.2f} ms)",
        f"each (ms)    {each}",
        f"measured     {result.measured_ms:.2f} ms (median of {len(result.each_ms)})",
        f"reported     {result.reported_ms:.2f} ms (input {result.reported_input_ms:.2f} + "
        f"output {result.reported_output_ms:.2f})",
        f"difference   {round(result.difference_ms, 2) + 0.0:+.2f} ms: {verdict}",
    ] + ([f"warning      {result.status_blocks} blocks had under/overflows"] if result.status_blocks else [])


from ui import diag_report as _diag_report  # noqa: E402 - argparse only; the report loads on use

from ui import diag_inventory as _diag_inventory, diag_radios as _diag_radios  # noqa: E402 - argparse only

from ui import diag_serial as _diag_serial  # noqa: E402 - argparse only; the serial checks load on use

# Name -> (add the subcommand's parser, run it). Add a check here.
CHECKS: dict[str, tuple[Callable[[Any, argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {
    "audio-latency": (_add_audio_latency, _audio_latency),
    **_diag_serial.CHECKS,  # lines, serial-loopback, monitor
    "list": (_diag_inventory.add_list, _diag_inventory.run_list),
    "ptt": (_diag_radios.add_ptt, _diag_radios.run_ptt),
    "rig": (_diag_radios.add_rig, _diag_radios.run_rig),
    "trc": (_diag_radios.add_trc, _diag_radios.run_trc),
    "report": (_diag_report.add_report_parser, _diag_report.report_command),
}
