"""Block tone analysis shared by the DTMF, Quick Call II and selcall decoders (pure NumPy, no Qt).

The stream is cut into sub-blocks of ``hop`` samples at fixed positions from the stream start, so the
results never depend on how the caller cuts the stream into blocks. For each sub-block ``SubBlockDft``
gives the complex DFT value at a set of frequencies, phase-referenced to the *stream* clock (sample 0),
so sub-block values add coherently: the sum over m consecutive sub-blocks is the DFT of the window of
m * hop samples. ``SlidingWindows`` does that sum for a window ending at every sub-block (hop-spaced,
overlapping windows), keeps each window's energy, and sums the products conj(S_j) * S_j+1 of the
sub-blocks inside it: for a steady tone at f0 + d their phase is 2 pi d hop / rate, which is how the
decoders measure a tone's frequency offset far more finely than the window's bin width. With that
offset (up to the tolerance) turned back, a window keeps the full power of an off-frequency tone.

Scaling: a tone of peak amplitude A at exactly f0 fills a window of n samples with |X| = A n / 2 and
energy A^2 n / 2, so ``fraction = |X|^2 / (n E / 2)`` is the share of the window's energy in that tone
(1 for a clean tone filling the window, less when the tone covers part of it or noise is present).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

SUPPORTED_RATES = (8000, 16000, 22050, 44100, 48000)
BATCH_S = 0.1  # decoders analyse the stream in batches this long (adds at most this much latency)


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

    def __init__(self, samplerate: int, freqs: Sequence[float], hop: int, batch: int = 0) -> None:
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
        # Samples wait here until ``batch`` of them have come: a decoder's fixed cost per call (some
        # tens of small NumPy operations) then falls on every ``batch`` samples, not on every block.
        self.batch = max(hop, int(batch))
        self._buf = np.empty(2 * self.batch + hop, dtype=np.float64)
        self._have = 0
        self.done = 0  # sub-blocks completed since the stream start

    def feed(self, x: np.ndarray, *, force: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """``(S, E)`` for every sub-block completed so far: S complex (k, len(freqs)), E (k,).

        Nothing comes out until ``batch`` samples are waiting, unless ``force`` (end of stream).
        """
        hop = self.hop
        need = self._have + x.shape[0]
        if need > self._buf.shape[0]:
            grown = np.empty(max(need, 2 * self._buf.shape[0]), dtype=np.float64)
            grown[:self._have] = self._buf[:self._have]
            self._buf = grown
        self._buf[self._have:need] = x
        self._have = need
        if need < self.batch and not force:
            return np.empty((0, self.freqs.shape[0]), complex), np.empty(0)
        k = need // hop
        frames = self._buf[:k * hop].reshape(k, hop)
        if k == 0:
            return np.empty((0, self.freqs.shape[0]), complex), np.empty(0)
        prod = frames @ self._basis
        nf = self.freqs.shape[0]
        local = prod[:, :nf] + 1j * prod[:, nf:]
        index = np.arange(self.done, self.done + k, dtype=np.float64)[:, None]
        turns = np.mod(index * self._cycles_per_hop[None, :], 1.0)
        self.done += k
        energy = np.einsum("ij,ij->i", frames, frames)
        rest = need - k * hop
        self._buf[:rest] = self._buf[k * hop:need]  # after the last use of ``frames`` (a view of it)
        self._have = rest
        return local * np.exp(-2j * math.pi * turns), energy


class SlidingWindows:
    """Windows of ``m`` sub-blocks ending at every sub-block: sums, energies and phase products.

    Before the stream starts the sub-blocks count as silence, so the first windows are partly empty.
    """

    def __init__(self, nfreqs: int, m: int, max_step: np.ndarray | None = None) -> None:
        if m < 1:
            raise SignalDecodeError(f"window of {m!r} sub-blocks must have at least one")
        self.m = m
        # Largest frequency offset (as phase turned per sub-block, radians, per frequency) that
        # ``power`` follows: within it an off-frequency tone keeps its full power.
        self._max_step = None if max_step is None else np.asarray(max_step, dtype=np.float64)
        self.power = np.empty((0, nfreqs))
        self._prev_s = np.zeros((m - 1, nfreqs), complex)
        self._prev_e = np.zeros(m - 1)

    def feed(self, s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, E, Z)`` per new sub-block: window sums, window energies, and the sum over the window
        of conj(S_j) * S_j+1 (its phase measures the frequency offset); ``power`` then holds each
        window's tracked power (or |X|^2 without ``max_step``)."""
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
        # Phase products of consecutive sub-blocks inside each window: for a steady tone at f0 + d
        # each has phase 2 pi d hop / rate; partly filled windows contribute little, unlike products of
        # whole windows, whose phase moves at half that rate while a tone is filling them.
        pairs = np.conj(all_s[:-1]) * all_s[1:]
        inside = pairs[0:k].copy()
        for j in range(1, m - 1):
            inside += pairs[j:j + k]
        if m < 2:
            inside = np.zeros_like(x)
        self.power = (self._tracked_power(all_s, inside, k) if self._max_step is not None
                      else x.real ** 2 + x.imag ** 2)
        if m > 1:
            self._prev_s = all_s[-(m - 1):]
            self._prev_e = all_e[-(m - 1):]
        return x, en, inside

    def _tracked_power(self, all_s: np.ndarray, inside: np.ndarray, k: int) -> np.ndarray:
        """|window sum|^2 after turning back each sub-block by the offset measured inside the window
        (clipped to ``max_step``): the power of a tone up to that far off frequency, which the plain
        window sum loses (sinc of offset x window length)."""
        m = self.m
        if m < 2:
            return all_s.real ** 2 + all_s.imag ** 2
        step = np.clip(np.angle(inside), -self._max_step, self._max_step)
        turn = np.exp(1j * step)
        # Horner: sum_j S_j turn^(m-1-j) = turn^(m-1) * sum_j S_j exp(-i j step), the same magnitude.
        total = all_s[0:k].copy()
        for j in range(1, m):
            total *= turn
            total += all_s[j:j + k]
        return total.real ** 2 + total.imag ** 2


def db(power_ratio: np.ndarray | float) -> np.ndarray | float:
    return 10.0 * np.log10(np.maximum(power_ratio, 1e-30))


def keep_loudest(top: list[float], amp: float, keep: int = 3) -> None:
    """Keep ``top`` as the ``keep`` largest amplitudes seen so far, ascending (a tone's level is the
    mean of its loudest windows, so one window at a ragged edge cannot pull it down)."""
    if len(top) < keep:
        top.append(amp)
        top.sort()
    elif amp > top[0]:
        top[0] = amp
        top.sort()


class ToneRun:
    """Consecutive windows voting for one tone: amplitudes (for the duration) and phase products
    (for the frequency offset over the whole run)."""

    __slots__ = ("count", "emitted", "first_amp", "last", "start", "sum", "tone", "top", "z")

    def __init__(self, tone: int, start: int) -> None:
        self.tone = tone
        self.start = start  # index of the first window
        self.last = start  # index of the last window
        self.count = 0
        self.sum = 0.0
        self.first_amp = 0.0
        self.top: list[float] = []  # the three loudest windows, ascending
        self.z = 0j
        self.emitted = False

    def add(self, amp: float, z: complex, window: int) -> None:
        if self.count == 0:
            self.first_amp = amp
        self.z += z
        self.count += 1
        self.last = window
        self.sum += amp
        keep_loudest(self.top, amp)

    def full_amp(self) -> float:
        """The tone's amplitude in a window it fills: the mean of the three loudest windows (the
        loudest alone reads high in noise, which would make the tone seem shorter)."""
        return sum(self.top) / len(self.top)

    def duration(self, hop_s: float) -> float:
        """Tone length: each window counts by the share of the full amplitude it holds."""
        return hop_s * self.sum / self.full_amp()

    def offset(self, hop_s: float, hz: float) -> float:
        """Relative frequency offset measured over the run (0 with a single window)."""
        return math.atan2(self.z.imag, self.z.real) / (2.0 * math.pi * hop_s) / hz

    def start_sample(self, m: int, hop: int) -> float:
        """Where the tone starts: the run's first window ends at sub-block ``start`` and the tone
        fills the last first_amp / full_amp of it."""
        window_start = (self.start + 1 - m) * hop
        covered = min(1.0, self.first_amp / self.full_amp())
        return max(0.0, window_start + (1.0 - covered) * m * hop)
