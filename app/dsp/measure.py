"""Tone measurements for technicians and tests: level at a frequency, RMS, strongest frequency."""

from __future__ import annotations

import math

import numpy as np


def tone_amplitude(samples: np.ndarray, freq_hz: float, rate: int) -> float:
    """Peak amplitude of the ``freq_hz`` component (single-bin DFT at the exact frequency, Goertzel-style)."""
    x = np.asarray(samples, dtype=np.float64)
    n = np.arange(x.shape[0])
    w = 2.0 * math.pi * freq_hz / rate
    re, im = float(np.dot(x, np.cos(w * n))), float(np.dot(x, np.sin(w * n)))
    return 2.0 * math.hypot(re, im) / max(1, x.shape[0])


def tone_level_dbfs(samples: np.ndarray, freq_hz: float, rate: int) -> float:
    """Level of one component as dBFS of its peak (a full-scale sine is 0 dBFS)."""
    return 20.0 * math.log10(max(tone_amplitude(samples, freq_hz, rate), 1e-12))


def rms_db(samples: np.ndarray) -> float:
    x = np.asarray(samples, dtype=np.float64)
    return 20.0 * math.log10(max(math.sqrt(float(np.mean(x * x))), 1e-12))


def peak_frequency(samples: np.ndarray, rate: int, *, resolution_hz: float = 0.01) -> float:
    """The strongest frequency: FFT peak, then a fine single-bin search around it."""
    x = np.asarray(samples, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.shape[0])))
    bin_hz = rate / x.shape[0]
    coarse = float(np.argmax(spectrum[1:]) + 1) * bin_hz
    grid = np.arange(coarse - 2 * bin_hz, coarse + 2 * bin_hz, resolution_hz)
    return float(max(grid, key=lambda f: tone_amplitude(x, f, rate)))
