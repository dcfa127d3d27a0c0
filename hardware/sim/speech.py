"""Speech-like receive audio for simulated radios: band-limited noise with a syllable envelope.

Not speech, but it has speech's spectrum (energy 300-3000 Hz) and rhythm (about 4 syllables a second),
which is what meters, VOX thresholds and talk-off tests need. ``fill`` writes in place and allocates
nothing per call, so an audio callback may use it.
"""

from __future__ import annotations

import numpy as np

SYLLABLES_PER_S = 4.0
LEVEL_DBFS = -18.0  # a typical average speech level on a radio receive line


class SpeechLikeSource:
    def __init__(self, samplerate: int, seed: int = 0, seconds: float = 2.0) -> None:
        self.samplerate = samplerate
        rng = np.random.default_rng(seed)
        n = int(samplerate * seconds)
        white = rng.standard_normal(n)
        # Band-limit in the frequency domain once: keep 300-3000 Hz, the radio voice band.
        spectrum = np.fft.rfft(white)
        freqs = np.fft.rfftfreq(n, 1.0 / samplerate)
        spectrum[(freqs < 300.0) | (freqs > 3000.0)] = 0.0
        band = np.fft.irfft(spectrum, n)
        band /= np.sqrt(np.mean(band**2))  # unit RMS
        self._table = (band * 10 ** (LEVEL_DBFS / 20)).astype(np.float32)
        self._pos = 0
        self._phase = 0.0
        self._phase_step = 2 * np.pi * SYLLABLES_PER_S / samplerate
        self._ramp = np.arange(samplerate, dtype=np.float64)  # longest block fill() supports
        self._env = np.empty(samplerate, dtype=np.float64)

    def fill(self, out: np.ndarray) -> None:
        """Write ``len(out)`` samples of speech-like audio into the 1-D float32 array ``out``."""
        frames = len(out)
        table = self._table
        start = self._pos
        first = min(frames, len(table) - start)
        out[:first] = table[start : start + first]
        if first < frames:
            out[first:] = table[: frames - first]
        self._pos = (start + frames) % len(table)
        env = self._env[:frames]
        np.multiply(self._ramp[:frames], self._phase_step, out=env)
        env += self._phase
        np.sin(env, out=env)
        np.abs(env, out=env)
        out *= env
        self._phase = (self._phase + frames * self._phase_step) % (2 * np.pi)
