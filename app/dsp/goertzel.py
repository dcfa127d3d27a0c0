"""Block tone analysis shared by the DTMF, Quick Call II and selcall decoders (pure NumPy, no Qt).

The stream is cut into sub-blocks of ``hop`` samples at fixed positions from the stream start, so the
results never depend on how the caller cuts the stream into blocks. For each sub-block ``SubBlockDft``
gives the complex DFT value at a set of frequencies, phase-referenced to the *stream* clock (sample 0),
so sub-block values add coherently: the sum over m consecutive sub-blocks is the DFT of the window of
m * hop samples. ``SlidingWindows`` does that sum for a window ending at every sub-block (hop-spaced,
overlapping windows), keeps each window's energy, and multiplies each window by the conjugate of the
one before: for a steady tone at f0 + d that product's phase is 2 pi d hop / rate, which is how the
decoders measure a tone's frequency offset far more finely than the window's bin width.

Scaling: a tone of peak amplitude A at exactly f0 fills a window of n samples with |X| = A n / 2 and
energy A^2 n / 2, so ``fraction = |X|^2 / (n E / 2)`` is the share of the window's energy in that tone
(1 for a clean tone filling the window, less when the tone covers part of it or noise is present).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SUPPORTED_RATES = (8000, 16000, 22050, 44100, 48000)


class SignalDecodeError(ValueError):
    """A decoder or encoder request that cannot work (bad rate, options or digits)."""


def check_rate(samplerate: int, what: str) -> int:
    if samplerate not in SUPPORTED_RATES:
        raise SignalDecodeError(f"{what}: sample rate {samplerate!r} Hz is not one of "
                                f"{', '.join(str(r) for r in SUPPORTED_RATES)}")
    return int(samplerate)


def as_mono(block: np.ndarray, what: str) -> np.ndarray:
    """The block as 1-D float64; a clear error for anything else (stereo, text, NaNs are the caller's bug)."""
    x = np.asarray(block)
    if x.ndim != 1:
        raise SignalDecodeError(f"{what}: expected a mono 1-D sample block, got shape {x.shape}")
    if x.dtype.kind not in "fiu":
        raise SignalDecodeError(f"{what}: expected numeric samples, got dtype {x.dtype}")
    return x.astype(np.float64, copy=False)


class SubBlockDft:
    """Complex DFT at ``freqs`` over each consecutive ``hop``-sample sub-block, plus its energy."""

    def __init__(self, samplerate: int, freqs: Sequence[float], hop: int) -> None:
        if hop < 1:
            raise SignalDecodeError(f"sub-block length {hop!r} must be at least one sample")
        self.samplerate = samplerate
        self.hop = hop
        self.freqs = np.asarray(freqs, dtype=np.float64)
        n = np.arange(hop, dtype=np.float64)[:, None]
        angle = 2.0 * math.pi * n * self.freqs[None, :] / samplerate
        # One real matmul does both parts: columns [cos | -sin].
        self._basis = np.hstack([np.cos(angle), -np.sin(angle)])
        self._cycles_per_hop = self.freqs * hop / samplerate
        self._pending = np.zeros(hop, dtype=np.float64)
        self._have = 0
        self.done = 0  # sub-blocks completed since the stream start

    def feed(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(S, E)`` for every sub-block completed by ``x``: S complex (k, len(freqs)), E (k,)."""
        hop = self.hop
        if self._have:
            take = min(hop - self._have, x.shape[0])
            self._pending[self._have:self._have + take] = x[:take]
            self._have += take
            x = x[take:]
            if self._have < hop:
                return np.empty((0, self.freqs.shape[0]), complex), np.empty(0)
            whole = max(0, x.shape[0] // hop)
            frames = np.empty((1 + whole, hop))
            frames[0] = self._pending
            frames[1:] = x[:whole * hop].reshape(whole, hop)
            self._have = 0
        else:
            whole = x.shape[0] // hop
            frames = x[:whole * hop].reshape(whole, hop)
        rest = x.shape[0] - whole * hop
        if rest:
            self._pending[:rest] = x[whole * hop:]
            self._have = rest
        k = frames.shape[0]
        if k == 0:
            return np.empty((0, self.freqs.shape[0]), complex), np.empty(0)
        prod = frames @ self._basis
        nf = self.freqs.shape[0]
        local = prod[:, :nf] + 1j * prod[:, nf:]
        index = np.arange(self.done, self.done + k, dtype=np.float64)[:, None]
        turns = np.mod(index * self._cycles_per_hop[None, :], 1.0)
        self.done += k
        energy = np.einsum("ij,ij->i", frames, frames)
        return local * np.exp(-2j * math.pi * turns), energy


class SlidingWindows:
    """Windows of ``m`` sub-blocks ending at every sub-block: sums, energies and phase products.

    Before the stream starts the sub-blocks count as silence, so the first windows are partly empty.
    """

    def __init__(self, nfreqs: int, m: int) -> None:
        if m < 1:
            raise SignalDecodeError(f"window of {m!r} sub-blocks must have at least one")
        self.m = m
        self._prev_s = np.zeros((m - 1, nfreqs), complex)
        self._prev_e = np.zeros(m - 1)
        self._last_x = np.zeros(nfreqs, complex)

    def feed(self, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, E, Z)`` per new sub-block: window sums, window energies, conj(X_prev) * X."""
        m = self.m
        if s.shape[0] == 0:
            return s, e, s
        all_s = np.concatenate([self._prev_s, s])
        all_e = np.concatenate([self._prev_e, e])
        k = s.shape[0]
        # Added term by term in a fixed order (not a running sum), so each window's value is
        # bit-identical however the stream was cut into blocks.
        x = all_s[0:k].copy()
        en = all_e[0:k].copy()
        for j in range(1, m):
            x += all_s[j:j + k]
            en += all_e[j:j + k]
        if m > 1:
            self._prev_s = all_s[-(m - 1):]
            self._prev_e = all_e[-(m - 1):]
        before = np.concatenate([self._last_x[None, :], x[:-1]])
        z = np.conj(before) * x
        self._last_x = x[-1].copy()
        return x, en, z


def db(power_ratio: np.ndarray | float) -> np.ndarray | float:
    return 10.0 * np.log10(np.maximum(power_ratio, 1e-30))
