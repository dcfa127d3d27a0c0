"""Reference decoders run as programs, for the signaling benchmark and the peer tests (no Qt).

``run_multimon`` feeds samples to ``multimon-ng`` as raw 16-bit mono at 22050 Hz (the only raw rate it
takes) and returns what it decoded, in the same form as our decoders' values, so the benchmark can
compare the two directly.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np

MULTIMON_RATE = 22050
# Our kind -> multimon-ng demodulator name (``multimon-ng -h`` lists them).
MULTIMON_DEMODS = {"dtmf": "DTMF", "zvei1": "ZVEI1", "ccir": "CCIR", "eea": "EEA", "eia": "EIA"}
SELCALL_REPEAT = "E"  # the repeat tone; multimon-ng prints it as the digit E


class PeerMissing(RuntimeError):
    """The reference program is not installed."""


class PeerFailed(RuntimeError):
    """The reference program ran but failed."""


def resample(samples: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling of a whole signal by zero-padding or cutting its spectrum."""
    x = np.asarray(samples, dtype=np.float64)
    if rate == to_rate or x.shape[0] == 0:
        return x
    n = x.shape[0]
    m = max(1, round(n * to_rate / rate))
    spectrum = np.fft.rfft(x)
    bins = m // 2 + 1
    if spectrum.shape[0] >= bins:
        spectrum = spectrum[:bins]
    else:
        spectrum = np.concatenate([spectrum, np.zeros(bins - spectrum.shape[0], complex)])
    return np.fft.irfft(spectrum, m) * (m / n)


def to_s16le(samples: np.ndarray) -> bytes:
    x = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 32767 / 32768)
    return np.round(x * 32768.0).astype("<i2").tobytes()


def expand_repeats(digits: str) -> str:
    """A selcall digit string as sent ('34E3E') -> as meant ('34433'): E repeats the digit before it."""
    out: list[str] = []
    for d in digits:
        out.append(out[-1] if d == SELCALL_REPEAT and out else d)
    return "".join(out)


def multimon_path() -> str:
    path = shutil.which("multimon-ng")
    if path is None:
        raise PeerMissing("multimon-ng is not installed (Debian package multimon-ng; packaging/dev.sh test "
                          "installs it)")
    return path


def run_multimon(kind: str, samples: np.ndarray, samplerate: int, *, timeout_s: float = 120.0) -> list[str]:
    """What multimon-ng decodes from ``samples`` (float mono at ``samplerate``).

    DTMF: one string per key press (multimon-ng prints each key on its own line). Selcall kinds: one
    string per sequence, with the repeat tone expanded like our decoders do ('34E3E' -> '34433').
    """
    demod = MULTIMON_DEMODS.get(kind)
    if demod is None:
        raise ValueError(f"multimon-ng does not decode {kind!r}; it decodes {', '.join(MULTIMON_DEMODS)}")
    program = multimon_path()
    raw = to_s16le(resample(samples, samplerate, MULTIMON_RATE))
    try:
        done = subprocess.run([program, "-q", "-a", demod, "-t", "raw", "-"], input=raw,
                              capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise PeerFailed(f"multimon-ng -a {demod} took longer than {timeout_s:g} s") from None
    if done.returncode != 0:
        raise PeerFailed(f"multimon-ng -a {demod} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace')[-300:]}")
    # Selcall lines have no trailing newline, so lines can run together: match each "NAME: digits".
    found = re.findall(rf"{demod}: ([0-9A-F*#]+)", done.stdout.decode(errors="replace"))
    if kind == "dtmf":
        return found
    return [expand_repeats(s) for s in found]
