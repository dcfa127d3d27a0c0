"""Tone remote control (TRC) keying of base stations, and the 2175 Hz guard-tone notch (pure, no Qt).

Keying sequence (signaling-specs.md section 1): high-level guard tone (HLGT) 2175 Hz for at least
120 ms, one function tone for 40 ms, then the low-level guard tone (LLGT) held under the voice for
as long as the transmitter should stay keyed. Levels are relative to the line test level (MTR3000):
HLGT +6 dB, function tone -4 dB, LLGT -24 dB. The voice path is notched at 2175 Hz so speech
neither adds to nor masks the guard tone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from app.dsp.blockiir import BlockBiquad
from app.dsp.tones import TEST_LEVEL_DBFS, Segment, ToneError, ToneGenerator

GUARD_HZ = 2175.0
HLGT_DB, FUNCTION_DB, LLGT_DB = 6.0, -4.0, -24.0  # relative to the line test level
MIN_HLGT_S = 0.120
HLGT_S = 0.130  # Telex C-2000 default; the MTR3000 minimum is 120 ms
FUNCTION_S = 0.040

# Default "standard tone remote" functions (Pacific Research RI-300e). Sites differ: the profile
# should be able to replace this table, so nothing below hard-codes a meaning.
DEFAULT_FUNCTIONS: dict[str, float] = {
    "monitor": 2050.0,
    "F1": 1950.0,
    "F2": 1850.0,
    "F3": 1750.0,
    "F4": 1650.0,
    "F5": 1550.0,
    "F6": 1450.0,
}


def function_tone(name_or_hz: str | float, table: Mapping[str, float] = DEFAULT_FUNCTIONS) -> float:
    """A function's frequency from its table name ("F1", "monitor") or a frequency in Hz."""
    if isinstance(name_or_hz, str):
        for name, hz in table.items():
            if name.lower() == name_or_hz.strip().lower():
                return hz
        try:
            hz = float(name_or_hz)
        except ValueError:
            raise ToneError(f"function {name_or_hz!r} is not in the table ({', '.join(table)}) "
                            "nor a frequency in Hz") from None
    else:
        hz = float(name_or_hz)
    if not (300.0 <= hz <= 3000.0):
        raise ToneError(f"function tone {hz:g} Hz is outside the 300-3000 Hz voice band")
    if abs(hz - GUARD_HZ) < 1.0:
        raise ToneError(f"function tone {hz:g} Hz is the guard tone")
    return hz


def keying_sequence(function_hz: float, *, hold_s: float = 0.0, hlgt_s: float = HLGT_S,
                    test_level_dbfs: float = TEST_LEVEL_DBFS) -> list[Segment]:
    """HLGT, function tone, then ``hold_s`` of LLGT (0 = no LLGT: a function command that does not key)."""
    if hlgt_s < MIN_HLGT_S:
        raise ToneError(f"high-level guard tone {hlgt_s * 1000:g} ms is shorter than {MIN_HLGT_S * 1000:g} ms")
    if hold_s < 0:
        raise ToneError(f"hold time {hold_s:g} s is negative")
    segments = [
        Segment((GUARD_HZ,), test_level_dbfs + HLGT_DB, hlgt_s),
        Segment((function_hz,), test_level_dbfs + FUNCTION_DB, FUNCTION_S),
    ]
    if hold_s > 0:
        segments.append(Segment((GUARD_HZ,), test_level_dbfs + LLGT_DB, hold_s))
    return segments


def llgt(rate: int, *, test_level_dbfs: float = TEST_LEVEL_DBFS) -> ToneGenerator:
    """The low-level guard tone alone, repeating (held under voice until the operator de-keys)."""
    return ToneGenerator([Segment((GUARD_HZ,), test_level_dbfs + LLGT_DB, 1.0)], rate, repeat=True)


# Notch -3 dB bandwidth. Midian notes tones within +-70 Hz of 2175 Hz may be attenuated; 100 Hz
# (the bandwidth sox's "bandreject 2175 100h" uses) keeps 2110 Hz and 2250 Hz within about 2 dB.
NOTCH_BANDWIDTH_HZ = 100.0


class NotchFilter:
    """Biquad notch (RBJ cookbook), transposed direct form II, state carried across blocks.

    ``process(block)`` filters a float32/float64 block in place and allocates no arrays; it is a
    per-sample loop, about 0.3 µs a sample: the reference the block form is tested against. The
    audio callback uses ``block_notch`` (one matmul a block, app/dsp/blockiir.py) instead.
    """

    def __init__(self, rate: int, freq_hz: float = GUARD_HZ, bandwidth_hz: float = NOTCH_BANDWIDTH_HZ) -> None:
        if not (0 < freq_hz < rate / 2):
            raise ToneError(f"notch frequency {freq_hz:g} Hz is not below half the rate ({rate / 2:g} Hz)")
        if bandwidth_hz <= 0:
            raise ToneError(f"notch bandwidth {bandwidth_hz:g} Hz must be positive")
        w0 = 2.0 * math.pi * freq_hz / rate
        alpha = math.tan(math.pi * bandwidth_hz / rate)  # makes the digital -3 dB width exactly bandwidth_hz
        a0 = 1.0 + alpha
        self.b0 = self.b2 = 1.0 / a0
        self.b1 = self.a1 = -2.0 * math.cos(w0) / a0
        self.a2 = (1.0 - alpha) / a0
        self.rate = rate
        self._z1 = self._z2 = 0.0

    def reset(self) -> None:
        self._z1 = self._z2 = 0.0

    @property
    def coefficients(self) -> tuple[tuple[float, float, float], tuple[float, float]]:
        """((b0, b1, b2), (a1, a2)), normalised so a0 = 1."""
        return (self.b0, self.b1, self.b2), (self.a1, self.a2)

    def response_db(self, freq_hz: float) -> float:
        """The filter's gain at ``freq_hz`` from its coefficients (for display and tests)."""
        z = complex(math.cos(2 * math.pi * freq_hz / self.rate), -math.sin(2 * math.pi * freq_hz / self.rate))
        num = self.b0 + self.b1 * z + self.b2 * z * z
        den = 1.0 + self.a1 * z + self.a2 * z * z
        return 20.0 * math.log10(max(abs(num / den), 1e-300))

    def process(self, block: np.ndarray) -> None:
        b0, b1, b2, a1, a2 = self.b0, self.b1, self.b2, self.a1, self.a2
        z1, z2 = self._z1, self._z2
        for i in range(block.shape[0]):
            x = float(block[i])
            y = b0 * x + z1
            z1 = b1 * x - a1 * y + z2
            z2 = b2 * x - a2 * y
            block[i] = y
        self._z1, self._z2 = z1, z2


def block_notch(rate: int, frames: int, columns: int = 1, freq_hz: float = GUARD_HZ,
                bandwidth_hz: float = NOTCH_BANDWIDTH_HZ) -> BlockBiquad:
    """The guard-tone notch as a block filter: ``columns`` channels, ``frames`` samples a block."""
    b, a = NotchFilter(rate, freq_hz, bandwidth_hz).coefficients
    return BlockBiquad(b, a, frames, columns)
