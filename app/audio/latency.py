"""Round-trip audio latency: play a probe on one output, find it again on one input (pure NumPy; no Qt).

A technician loops an output back to an input (a cable, a radio interface in loopback, or a JACK
connection) and the console measures how long sound takes to come back, to set against the delay
the stream reports and the budget a dispatch position has (signaling-specs.md section 6).

The probe is a linear chirp through the telephone voice band (300-3400 Hz): its autocorrelation is
one narrow peak, so cross-correlating what came back against what was sent gives the delay to a
fraction of a sample. It is sent at -10 dBFS, the line test level, so a real line is not overdriven.

``find_delay`` refuses to guess: nothing received, a clipped input and a probe that does not stand
out from the noise each raise ``LatencyError`` saying which. ``measure_round_trip`` opens its own
stream through a backend of ``hardware.audio``, plays the probe ``repeats`` times and reports the
median; its callback only copies between preallocated buffers.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # types only: this module needs no device library and opens nothing itself
    from hardware.audio.base import AudioBackend, StreamSpec

PROBE_LOW_HZ, PROBE_HIGH_HZ = 300.0, 3400.0
PROBE_SECONDS = 0.15
PROBE_FADE_SECONDS = 0.01  # raised-cosine ends: no click, so the spectrum stays in the band
PROBE_LEVEL_DBFS = -10.0  # the line test level (app.dsp.tones.TEST_LEVEL_DBFS)

SILENT_PEAK_DBFS = -80.0  # below this the input carried nothing (a dead line, not a quiet one)
CLIP_LEVEL = 0.999  # |sample| at or above this is pinned at full scale
CLIP_SAMPLES = 3  # this many pinned samples and the input was overdriven
MIN_QUALITY = 4.0  # the probe's peak must be this many times the next-highest one
SIDE_PEAK_MS = 1.0  # "next-highest" looks outside +-1 ms of the main peak

SPACING_SECONDS = 0.5  # one probe per this much time; the longest measurable delay is this minus the probe
SETTLE_SECONDS = 0.25  # silence before the first probe, while the stream settles


class LatencyError(Exception):
    """The probe was not found: the message says why (nothing received, clipped, too noisy, no callbacks)."""


@dataclass(frozen=True)
class DelayEstimate:
    lag_samples: float  # fractional: band-limited interpolation around the correlation peak
    lag_ms: float
    quality: float  # main peak over the next-highest peak outside +-1 ms (>= MIN_QUALITY when returned)
    correlation: float  # normalised correlation at the peak, 0..1 (1 = the window holds only the probe)
    inverted: bool  # the probe came back upside down (a line that swaps its wires)


@dataclass(frozen=True)
class LatencyResult:
    measured_ms: float  # median round trip over the repeats
    each_ms: tuple[float, ...]
    reported_ms: float  # the stream's reported input + output latency
    reported_input_ms: float
    reported_output_ms: float
    block_ms: float
    device: str
    samplerate: int
    blocksize: int
    output: int  # 0-based device channels
    input: int
    quality: float  # the worst repeat's
    status_blocks: int  # callbacks that came with an under/overflow flag

    @property
    def difference_ms(self) -> float:
        """Measured minus reported: what the stream does not account for (negative: it over-reports)."""
        return self.measured_ms - self.reported_ms

    @property
    def within_one_block(self) -> bool:
        return abs(self.difference_ms) <= self.block_ms + 1e-9

    def as_dict(self) -> dict[str, object]:
        return {
            "device": self.device, "samplerate": self.samplerate, "blocksize": self.blocksize,
            "output": self.output + 1, "input": self.input + 1,  # as people and the CLI count them
            "measured_ms": _ms(self.measured_ms), "each_ms": [_ms(ms) for ms in self.each_ms],
            "reported_ms": _ms(self.reported_ms), "reported_input_ms": _ms(self.reported_input_ms),
            "reported_output_ms": _ms(self.reported_output_ms), "block_ms": _ms(self.block_ms),
            "difference_ms": _ms(self.difference_ms), "within_one_block": self.within_one_block,
            "quality": round(self.quality, 1), "status_blocks": self.status_blocks,
        }


def _ms(value: float) -> float:
    return round(value, 3) + 0.0  # + 0.0 turns a rounded -0.0 into 0.0


def probe_signal(samplerate: int) -> np.ndarray:
    """The test burst: a 150 ms linear chirp 300-3400 Hz with 10 ms raised-cosine ends, peak -10 dBFS."""
    if samplerate < 2 * PROBE_HIGH_HZ + 200:
        raise ValueError(f"sample rate {samplerate} Hz is too low for a {PROBE_HIGH_HZ:g} Hz probe")
    n = round(PROBE_SECONDS * samplerate)
    t = np.arange(n) / samplerate
    sweep = (PROBE_HIGH_HZ - PROBE_LOW_HZ) / PROBE_SECONDS  # Hz per second
    probe = np.sin(2.0 * math.pi * (PROBE_LOW_HZ * t + 0.5 * sweep * t * t))
    fade = round(PROBE_FADE_SECONDS * samplerate)
    ramp = 0.5 - 0.5 * np.cos(math.pi * np.arange(fade) / fade)
    probe[:fade] *= ramp
    probe[n - fade:] *= ramp[::-1]
    return (probe * 10.0 ** (PROBE_LEVEL_DBFS / 20.0)).astype(np.float32)


def _dbfs(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def find_delay(sent: np.ndarray, received: np.ndarray, samplerate: int) -> DelayEstimate:
    """Where ``sent`` starts in ``received`` (lag >= 0), by FFT cross-correlation.

    Raises LatencyError when the probe is not found, naming why; ValueError for unusable arguments.
    """
    s = np.asarray(sent, dtype=np.float64)
    r = np.asarray(received, dtype=np.float64)
    if s.ndim != 1 or r.ndim != 1 or s.size == 0:
        raise ValueError("find_delay: sent and received must be non-empty 1-D arrays")
    side = max(1, round(SIDE_PEAK_MS * samplerate / 1000.0))
    lags = r.size - s.size + 1
    if lags <= 2 * side + 1:
        raise ValueError(f"find_delay: received ({r.size} samples) must be longer than the probe ({s.size}) "
                         f"by more than {2 * SIDE_PEAK_MS:g} ms to judge the peak")
    if not np.any(s):
        raise ValueError("find_delay: the probe is silent")

    peak = float(np.max(np.abs(r)))
    if _dbfs(peak) < SILENT_PEAK_DBFS:
        heard = f"peak {_dbfs(peak):.0f} dBFS, below {SILENT_PEAK_DBFS:g}" if peak > 0 else "digital silence"
        raise LatencyError(f"nothing received: the input stayed silent ({heard}); "
                           "check the loopback from the output to the input")
    pinned = int(np.count_nonzero(np.abs(r) >= CLIP_LEVEL))
    if pinned >= CLIP_SAMPLES:
        raise LatencyError(f"input clipped: {pinned} samples at full scale; the probe is sent at "
                           f"{PROBE_LEVEL_DBFS:g} dBFS, so the loop has more than {-PROBE_LEVEL_DBFS:g} dB "
                           "of gain: lower the input gain or the output level")

    n = 1 << (r.size + s.size - 1).bit_length()  # linear (not circular) correlation for every lag
    cross = np.fft.rfft(r, n) * np.conj(np.fft.rfft(s, n))
    c = np.fft.irfft(cross, n)[:lags]  # c[k] = sum_j r[k + j] * s[j]
    k = int(np.argmax(np.abs(c)))
    main = abs(float(c[k]))
    if main == 0.0:
        raise LatencyError("the probe was not found: the received signal has nothing in the probe's band")
    outside = np.abs(np.concatenate((c[:max(0, k - side)], c[k + side + 1:])))
    rms = math.sqrt(float(np.mean(r * r)))
    quality = main / float(np.max(outside)) if outside.size and np.max(outside) > 0 else math.inf
    if quality < MIN_QUALITY:
        raise LatencyError(f"too noisy: the probe did not stand out (its peak is {quality:.1f}x the next, "
                           f"need {MIN_QUALITY:g}x; input {_dbfs(rms):.0f} dBFS RMS)")

    lag = _refine(cross, n, k, lags)
    window = r[k:k + s.size]
    energy = math.sqrt(float(np.dot(window, window)) * float(np.dot(s, s)))
    correlation = min(1.0, main / energy) if energy > 0 else 0.0
    return DelayEstimate(lag, lag * 1000.0 / samplerate, quality, correlation, bool(c[k] < 0))


def _refine(cross: np.ndarray, n: int, k: int, lags: int) -> float:
    """The peak's fractional position: the correlation evaluated between samples from its spectrum
    (exact band-limited interpolation), on a 1/20-sample grid over +-1 sample, then a parabola."""
    if k == 0 or k == lags - 1:
        return float(k)
    grid = k + np.linspace(-1.0, 1.0, 41)
    step = 2j * math.pi * np.arange(cross.size) / n
    weighted = cross * 2.0  # rfft holds half the spectrum: every bin but DC (and Nyquist) counts twice
    weighted[0] = cross[0]
    if n % 2 == 0:
        weighted[-1] = cross[-1]
    values = np.array([abs(float(np.dot(weighted, np.exp(step * tau)).real)) / n for tau in grid])
    i = int(np.argmax(values))
    if 0 < i < grid.size - 1:
        a, b, c = values[i - 1], values[i], values[i + 1]
        denom = a - 2.0 * b + c
        offset = 0.5 * (a - c) / denom if denom != 0 else 0.0
        return float(grid[i] + offset * (grid[1] - grid[0]))
    return float(grid[i])


class _LoopRecorder:
    """The stream's callback: plays the schedule on one output, records one input, advances a frame count.

    Everything is preallocated; a call copies one block each way (no arrays made, nothing locked).
    """

    def __init__(self, play: np.ndarray, record: np.ndarray, output: int, input: int) -> None:
        self.play = play
        self.record = record
        self.output = output
        self.input = input
        self.frames = 0  # frames recorded so far; written last, so what it counts is in ``record``
        self.status_blocks = 0

    def __call__(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        out.fill(0.0)
        if status:
            self.status_blocks += 1
        start = self.frames
        n = out.shape[0]
        if start + n > self.record.shape[0]:
            return  # the schedule is over: silence until the stream is closed
        out[:, self.output] = self.play[start:start + n]
        self.record[start:start + n] = inp[:, self.input]
        self.frames = start + n


def measure_round_trip(backend: AudioBackend, spec: StreamSpec, output: int, input: int, repeats: int = 5,
                       progress: Callable[[int, int], None] | None = None, *,
                       spacing_s: float = SPACING_SECONDS, settle_s: float = SETTLE_SECONDS) -> LatencyResult:
    """Play the probe ``repeats`` times on ``output`` and find each on ``input`` (0-based device channels).

    Opens (and always closes) its own stream with ``spec``; ``spec.outputs``/``spec.inputs`` must
    include the channels. ``progress(done, repeats)`` is called after each repeat, on this thread.
    ``settle_s`` of silence come first: longer when the loop is connected after the stream starts
    (JACK ports exist only once the stream is open).
    Raises ValueError for impossible arguments, AudioDeviceError when the stream cannot open, and
    LatencyError when a probe is not found or the device stops calling back.
    """
    if not 0 <= output < spec.outputs:
        raise ValueError(f"output channel {output + 1} is not among the stream's {spec.outputs} outputs")
    if not 0 <= input < spec.inputs:
        raise ValueError(f"input channel {input + 1} is not among the stream's {spec.inputs} inputs")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rate = spec.samplerate
    probe = probe_signal(rate)
    spacing = round(spacing_s * rate)
    if spacing < 2 * probe.size:
        raise ValueError(f"spacing {spacing_s:g} s is too short for a {PROBE_SECONDS:g} s probe")
    if not 0 <= settle_s <= 60:
        raise ValueError(f"settle time {settle_s:g} s is outside 0-60 s")
    lead = round(settle_s * rate)
    starts = [lead + i * spacing for i in range(repeats)]
    total = starts[-1] + spacing
    frames = -(-total // spec.blocksize) * spec.blocksize  # whole blocks: the callback never splits one
    play = np.zeros(frames, dtype=np.float32)
    for start in starts:
        play[start:start + probe.size] = probe
    record = np.zeros(frames, dtype=np.float32)
    recorder = _LoopRecorder(play, record, output, input)

    stream = backend.open(spec, recorder)
    each: list[float] = []
    qualities: list[float] = []
    try:
        stream.start()
        began = time.monotonic()
        deadline = began + total / rate + 3.0
        for i, start in enumerate(starts):
            while recorder.frames < start + spacing:
                now = time.monotonic()
                if not stream.active:
                    raise LatencyError(f"the stream stopped after {recorder.frames / rate:.2f} s "
                                       f"(repeat {i + 1} of {repeats})")
                if now > deadline or (recorder.frames == 0 and now - began > 2.0):
                    raise LatencyError(f"the device stopped calling back: {recorder.frames / rate:.2f} s of "
                                       f"{total / rate:.2f} s recorded")
                time.sleep(0.01)
            try:
                found = find_delay(probe, record[start:start + spacing], rate)
            except LatencyError as err:
                raise LatencyError(f"repeat {i + 1} of {repeats}, output {output + 1} -> input {input + 1}: "
                                   f"{err}") from None
            each.append(found.lag_ms)
            qualities.append(found.quality)
            if progress is not None:
                progress(i + 1, repeats)
        reported_in, reported_out = stream.latency
        device = stream.device_name
    finally:
        stream.close()
    return LatencyResult(
        measured_ms=statistics.median(each), each_ms=tuple(each),
        reported_ms=(reported_in + reported_out) * 1000.0, reported_input_ms=reported_in * 1000.0,
        reported_output_ms=reported_out * 1000.0, block_ms=spec.blocksize * 1000.0 / rate,
        device=device, samplerate=rate, blocksize=spec.blocksize, output=output, input=input,
        quality=min(qualities), status_blocks=recorder.status_blocks,
    )
