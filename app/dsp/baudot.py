"""TTY/TDD Baudot (signaling-specs.md section 5): 45.45 bit/s FSK, mark 1400 Hz, space 1800 Hz (pure NumPy, no Qt).

Frame: 1 start bit (space), 5 data bits LSB first, at least 1.5 stop bits (mark). LTRS (31) and FIGS (27)
shift between the letters and the US figures table of the reference (minimodem's, not spandsp's).
The decoder takes 1 to 2 stop bits; the encoder sends 2 by default, as spandsp does, because a receiver
timed for 2 (minimodem's ``tdd``) garbles frames sent with 1.5, while a 1.5-bit receiver just sees idle mark.

Encoder: phase-continuous FSK; a mark lead-in (carrier before data, 150 ms), an explicit LTRS first, shifts
inserted when the text needs them (also after a space, because many receivers unshift on space), and a
mark hold after the last character before the carrier drops.

Decoder (non-coherent FSK with matched filters):
- The stream is cut into fixed chunks from its start (so the caller's block sizes never change a result),
  mixed down at the mark and space frequencies and integrated over a window of one bit, evaluated every
  ``D`` samples (about 800 points a second at any rate): ``|M|``, ``|S|`` and the window's energy.
- Carrier: the share of the window's energy in the two tones (1 for a clean tone, about 0.5 at 0 dB SNR
  in white noise at 8 kHz, a few % for speech or noise); on above CARRIER_SHARE, off after CARRIER_HOLD_S
  below it.
- Characters: a start edge is where ``(|M|-|S|)/(|M|+|S|)`` crosses from mark to space (the window is
  then half into the start bit); each bit is decided by the window that covers exactly that bit.
  A frame is kept only when the start bit reads space, the stop bit mark and the carrier share over the
  frame is high enough; otherwise the hunt resumes half a bit later.
- One SignalEvent per transmission (carrier on .. off) holding its text; ``on_char`` and ``on_carrier``
  callbacks report characters and carrier changes as they happen for a live panel.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from app.dsp.signal_event import SignalEvent

BAUD_US = 45.45
MARK_HZ = 1400.0
SPACE_HZ = 1800.0
STOP_BITS = 2.0  # transmit; see the module note
LEVEL_DBFS = -10.0  # the console's line test level (app.dsp.tones.TEST_LEVEL_DBFS)
LEAD_S = 0.15  # mark before the first character (carrier-to-data delay)
TRAIL_S = 0.15  # mark after the last (carrier hold)
SUPPORTED_RATES = (8000, 16000, 22050, 44100, 48000)

LTRS, FIGS, SPACE_CODE = 31, 27, 4
NUL, LF, CR = 0, 2, 8
# Index = 5-bit code. None: a control code (shift) or no character in that shift.
LETTERS = (None, "E", "\n", "A", " ", "S", "I", "U", "\r", "D", "R", "J", "N", "F", "C", "K",
           "T", "Z", "L", "W", "H", "Y", "P", "Q", "O", "B", "G", None, "M", "X", "V", None)
FIGURES = (None, "3", "\n", "-", " ", "\a", "8", "7", "\r", "$", "4", "'", ",", "!", ":", "(",
           "5", '"', ")", "2", "#", "6", "0", "1", "9", "?", "&", None, ".", "/", ";", None)
BOTH = {" ", "\n", "\r"}
LETTER_CODE = {ch: code for code, ch in enumerate(LETTERS) if ch is not None and ch not in BOTH}
FIGURE_CODE = {ch: code for code, ch in enumerate(FIGURES) if ch is not None and ch not in BOTH}
BOTH_CODE = {" ": SPACE_CODE, "\n": LF, "\r": CR}

POINTS_PER_S = 800.0  # decimated grid of the matched-filter outputs
CHUNK_POINTS = 128
CARRIER_SHARE = 0.1
FRAME_SHARE = 0.15  # mean carrier share over a kept frame
CARRIER_HOLD_S = 0.2
FRAME_OFFSETS = (0.0, -0.125, 0.125, -0.25, 0.25)  # bits, around the crossing
MIN_LEVEL_DBFS = -55.0  # quieter than this is no carrier, whatever its spectrum


class BaudotError(ValueError):
    """Text that has no Baudot code, or a decoder/encoder request that cannot work."""


def _check_rate(samplerate: int, what: str) -> int:
    if samplerate not in SUPPORTED_RATES:
        raise BaudotError(f"{what}: sample rate {samplerate!r} Hz is not one of "
                          f"{', '.join(str(r) for r in SUPPORTED_RATES)}")
    return int(samplerate)


def baudot_codes(text: str) -> list[int]:
    """The 5-bit codes for ``text`` (upper-cased; a lone "\\n" becomes CR LF), LTRS first, shifts as needed."""
    text = text.upper().replace("\r\n", "\n").replace("\n", "\r\n")
    codes = [LTRS]
    shift: int | None = LTRS  # None: unknown (after a space in figures a receiver may have unshifted)
    for index, ch in enumerate(text):
        if ch in BOTH_CODE:
            codes.append(BOTH_CODE[ch])
            if ch == " " and shift == FIGS:
                shift = None
            continue
        if ch in LETTER_CODE:
            want, code = LTRS, LETTER_CODE[ch]
        elif ch in FIGURE_CODE:
            want, code = FIGS, FIGURE_CODE[ch]
        else:
            raise BaudotError(f"character {ch!r} at position {index + 1} has no Baudot (TTY) code")
        if shift != want:
            codes.append(want)
            shift = want
        codes.append(code)
    return codes


def encode_tty(text: str, *, samplerate: int, baud: float = BAUD_US, stop_bits: float = STOP_BITS,
               level_dbfs: float = LEVEL_DBFS, lead_s: float = LEAD_S, trail_s: float = TRAIL_S) -> np.ndarray:
    """Float32 mono FSK for ``text``: mark lead-in, LTRS, the characters (shifts inserted), mark hold."""
    return encode_baudot_codes(baudot_codes(text), samplerate=samplerate, baud=baud, stop_bits=stop_bits,
                               level_dbfs=level_dbfs, lead_s=lead_s, trail_s=trail_s)


def encode_baudot_codes(codes: list[int], *, samplerate: int, baud: float = BAUD_US,
                        stop_bits: float = STOP_BITS, level_dbfs: float = LEVEL_DBFS, lead_s: float = LEAD_S,
                        trail_s: float = TRAIL_S) -> np.ndarray:
    """Float32 mono FSK for raw 5-bit codes (no shifts added), between a mark lead-in and a mark hold."""
    samplerate = _check_rate(samplerate, "tty encode")
    if any(not 0 <= c <= 31 for c in codes):
        raise BaudotError(f"tty encode: codes must be 0-31, got {codes!r}")
    if not 1.0 <= stop_bits <= 2.0:
        raise BaudotError(f"tty encode: stop bits {stop_bits!r} must be 1 to 2")
    if not 10.0 <= baud <= 300.0:
        raise BaudotError(f"tty encode: baud {baud!r} must be 10 to 300")
    if lead_s < 0 or trail_s < 0:
        raise BaudotError("tty encode: lead-in and hold must not be negative")
    # Bits as (value, length in bit times); runs of mark merge naturally.
    bits: list[tuple[int, float]] = [(1, lead_s * baud)]
    for code in codes:
        bits.append((0, 1.0))
        bits.extend(((code >> i) & 1, 1.0) for i in range(5))
        bits.append((1, stop_bits))
    bits.append((1, trail_s * baud))
    values = np.array([v for v, _ in bits], dtype=np.int8)
    ends = np.cumsum([length for _, length in bits]) * samplerate / baud  # bit end, in samples
    total = math.ceil(ends[-1])
    which = np.searchsorted(ends, np.arange(total) + 0.5, side="right")  # bit holding each sample's centre
    which = np.minimum(which, len(values) - 1)
    freq = np.where(values[which] == 1, MARK_HZ, SPACE_HZ)
    phase = np.cumsum(2.0 * math.pi * freq / samplerate) - 2.0 * math.pi * freq[0] / samplerate
    amplitude = 10.0 ** (level_dbfs / 20.0)
    return (amplitude * np.sin(phase)).astype(np.float32)


class _ToneTable:
    """exp(-j 2 pi f n / rate) for stream sample n, from one period of the exponential (no phase drift)."""

    def __init__(self, freq: float, samplerate: int) -> None:
        if float(freq).is_integer():
            period = samplerate // math.gcd(int(freq), samplerate)
        else:
            period = samplerate * 100  # rare: non-integer tone, a long exact table
        n = np.arange(period, dtype=np.float64)
        self.period = period
        self.table = np.exp(-2j * math.pi * freq * n / samplerate)

    def take(self, start: int, count: int) -> np.ndarray:
        return self.table[(start + np.arange(count)) % self.period]


class TtyDecoder:
    """Stateful Baudot decoder; ``feed`` blocks of any length, ``flush`` at the end of the stream."""

    def __init__(self, samplerate: int, *, baud: float = BAUD_US, mark_hz: float = MARK_HZ,
                 space_hz: float = SPACE_HZ, unshift_on_space: bool = True,
                 on_char: Callable[[float, str], None] | None = None,
                 on_carrier: Callable[[float, bool], None] | None = None) -> None:
        self.samplerate = _check_rate(samplerate, "tty decoder")
        if not 10.0 <= baud <= 300.0:
            raise BaudotError(f"tty decoder: baud {baud!r} must be 10 to 300")
        self.baud = baud
        self.unshift_on_space = unshift_on_space
        self.on_char = on_char
        self.on_carrier = on_carrier
        self._bit = samplerate / baud  # samples per bit (float)
        self._win = round(self._bit)  # matched-filter window, one bit
        self._dec = max(1, round(samplerate / POINTS_PER_S))
        self._chunk = self._dec * CHUNK_POINTS
        self._mark = _ToneTable(mark_hz, samplerate)
        self._space = _ToneTable(space_hz, samplerate)
        self._min_energy = self._win * 0.5 * 10.0 ** (MIN_LEVEL_DBFS / 10.0)
        self._hold_points = round(CARRIER_HOLD_S * samplerate / self._dec)
        self._pending = np.zeros(0, dtype=np.float64)  # input not yet a whole chunk
        self._n = 0  # stream samples processed into points
        # History: the last window of mixed/squared samples, so windows span chunk boundaries.
        self._hist_m = np.zeros(self._win, dtype=np.complex128)
        self._hist_s = np.zeros(self._win, dtype=np.complex128)
        self._hist_e = np.zeros(self._win, dtype=np.float64)
        # Decimated points kept from index self._base on: tone balance and carrier share.
        self._base = 0
        self._balance = np.zeros(0, dtype=np.float64)
        self._share = np.zeros(0, dtype=np.float64)
        self._hunt = 0  # point index from which the next start edge is searched
        self._last_carrier = -10**9  # last point index with carrier share above the threshold
        self.carrier = False
        self._shift = LTRS
        self._burst_start: float | None = None  # time of the first character of this transmission
        self._burst_on = 0.0
        self._text: list[str] = []
        self._events: list[SignalEvent] = []

    # -- public -------------------------------------------------------------------------------------

    def feed(self, block: np.ndarray) -> list[SignalEvent]:
        x = np.asarray(block)
        if x.ndim != 1 or x.dtype.kind not in "fiu":
            raise BaudotError(f"tty decoder: expected a mono 1-D numeric block, got shape {x.shape} {x.dtype}")
        self._pending = np.concatenate([self._pending, x.astype(np.float64, copy=False)])
        whole = (len(self._pending) // self._chunk) * self._chunk
        for start in range(0, whole, self._chunk):
            self._process(self._pending[start:start + self._chunk])
        self._pending = self._pending[whole:]
        events, self._events = self._events, []
        return events

    def flush(self) -> list[SignalEvent]:
        """Decode what is pending as if silence followed, and end the current transmission."""
        tail = int(self._bit * 9 + CARRIER_HOLD_S * self.samplerate) + 2 * self._chunk
        events = self.feed(np.zeros(tail - len(self._pending) % self._chunk))
        self._set_carrier(False, self._n / self.samplerate)
        return events + self._take_events()

    # -- signal processing --------------------------------------------------------------------------

    def _process(self, chunk: np.ndarray) -> None:
        n0, count, win, dec = self._n, len(chunk), self._win, self._dec
        mixed_m = np.concatenate([self._hist_m, chunk * self._mark.take(n0, count)])
        mixed_s = np.concatenate([self._hist_s, chunk * self._space.take(n0, count)])
        energy = np.concatenate([self._hist_e, chunk * chunk])
        self._hist_m, self._hist_s, self._hist_e = mixed_m[-win:], mixed_s[-win:], energy[-win:]
        ends = win + np.arange(dec, count + 1, dec)  # window ends, in the concatenated arrays
        cm = np.concatenate([[0], np.cumsum(mixed_m)])
        cs = np.concatenate([[0], np.cumsum(mixed_s)])
        ce = np.concatenate([[0.0], np.cumsum(energy)])
        m = np.abs(cm[ends] - cm[ends - win])
        s = np.abs(cs[ends] - cs[ends - win])
        e = ce[ends] - ce[ends - win]
        self._n += count
        balance = (m - s) / (m + s + 1e-12)
        share = np.where(e > self._min_energy, 2.0 * (m * m + s * s) / (win * np.maximum(e, 1e-30)), 0.0)
        first = self._base + len(self._balance)
        self._balance = np.concatenate([self._balance, balance])
        self._share = np.concatenate([self._share, share])
        self._track_carrier(first, share)
        self._decode_frames()
        keep = max(0, min(self._hunt, first) - 2 * CHUNK_POINTS)  # forget what no frame can reach back to
        if keep > self._base:
            cut = keep - self._base
            self._balance, self._share, self._base = self._balance[cut:], self._share[cut:], keep

    def _point_time(self, index: float) -> float:
        """Stream time (s) of the end of point ``index``'s window."""
        return (index + 1) * self._dec / self.samplerate

    def _track_carrier(self, first: int, share: np.ndarray) -> None:
        """Carrier on at a point above the share threshold; off once HOLD points pass with none above."""
        idx = first + np.flatnonzero(share > CARRIER_SHARE)
        starts = np.flatnonzero(np.diff(np.concatenate([[self._last_carrier], idx])) > self._hold_points)
        for g in starts:  # a point after a gap longer than the hold: a new transmission
            if self.carrier:
                self._pending_off(int(idx[g - 1]) if g > 0 else self._last_carrier)
            self._set_carrier(True, self._point_time(int(idx[g])) - self._win / self.samplerate)
        if idx.size:
            self._last_carrier = int(idx[-1])
        if self.carrier and first + len(share) - 1 - self._last_carrier > self._hold_points:
            self._pending_off(self._last_carrier)

    def _pending_off(self, last_on: int) -> None:
        """Carrier ended after point ``last_on``: decode every frame that can start before then, then drop."""
        self._decode_frames(limit=last_on + 1)
        self._set_carrier(False, self._point_time(last_on))
        self._hunt = max(self._hunt, last_on + 1)

    def _set_carrier(self, on: bool, t: float) -> None:
        if on == self.carrier:
            return
        self.carrier = on
        if on:
            self._burst_on = max(0.0, t)
            self._burst_start = None
            self._text = []
        elif self._text:
            self._events.append(SignalEvent(float(self._burst_start if self._burst_start is not None else self._burst_on), "tty", "".join(self._text),
                                            {"carrier_s": round(t - self._burst_on, 3)}))
            self._text = []
        if self.on_carrier is not None:
            self.on_carrier(t, on)

    def _take_events(self) -> list[SignalEvent]:
        events, self._events = self._events, []
        return events

    def _value(self, index: float) -> float:
        """The tone balance at a fractional point index."""
        return self._interp(self._balance, index)

    def _interp(self, points: np.ndarray, index: float) -> float:
        j = index - self._base
        lo = math.floor(j)
        frac = j - lo
        return float(points[lo] * (1.0 - frac) + points[lo + 1] * frac)

    def _decode_frames(self, limit: int | None = None) -> None:
        """Hunt start edges from ``self._hunt`` while a whole frame fits in the points held."""
        bit_points = self._bit / self._dec
        half_win = self._win / 2.0 / self._dec
        half_bit = round(bit_points / 2)
        have = self._base + len(self._balance)
        span = math.ceil(7.75 * bit_points) + 3  # from the edge to the stop bit's window end
        while True:
            start = max(self._hunt, self._base + 1)
            stop = have - span
            if limit is not None:
                stop = min(stop, limit)
            if start >= stop:
                return
            seg = self._balance[start - 1 - self._base:stop - self._base]
            # Mark-to-space crossings whose window half a bit later (inside the start bit) holds tone; at the
            # crossing itself the window straddles both tones and the share dips. Noise crosses zero
            # all the time: this keeps it out of the per-frame checks.
            inside = self._share[start - self._base + half_bit:stop - self._base + half_bit]
            crossings = np.flatnonzero((seg[:-1] >= 0.0) & (seg[1:] < 0.0) & (inside > CARRIER_SHARE))
            if not crossings.size:
                self._hunt = stop
                return
            k = start - 1 + int(crossings[0])  # balance[k] >= 0 > balance[k+1]
            a, b = self._balance[k - self._base], self._balance[k + 1 - self._base]
            cross = k + a / (a - b)  # window end at the crossing: the start edge is half a window earlier
            edge = cross - half_win
            frame = self._frame(edge, bit_points)
            if frame is None:
                self._hunt = k + 1 + max(1, int(bit_points / 4))
                continue
            edge, code = frame
            self._hunt = int(edge + 7.0 * bit_points)  # inside the stop bit: the next edge comes after
            self._emit(edge, code)

    def _frame(self, edge: float, bit_points: float) -> tuple[float, int] | None:
        """(edge, 5-bit code) of the frame starting near point ``edge``, or None if there is no frame there.

        The crossing places the edge only roughly in noise, so offsets up to a quarter bit either way are
        tried and the one whose bit windows read the clearest (largest summed |balance|) is kept.
        """
        best: tuple[float, float, list[float]] | None = None
        for shift in FRAME_OFFSETS:
            at = edge + shift * bit_points
            ends = at + bit_points * np.arange(1, 8)  # windows covering start, 5 data bits, first stop bit
            if ends[-1] + 1 >= self._base + len(self._balance) or at < self._base:
                continue
            values = [self._value(e) for e in ends]
            if values[0] >= 0.0 or values[6] <= 0.0:
                continue
            if min(self._interp(self._share, e) for e in ends) < CARRIER_SHARE:
                continue  # a bit window without tone: noise before or after the transmission
            clarity = float(np.sum(np.abs(values)))
            if best is None or clarity > best[0]:
                best = (clarity, at, values)
        if best is None:
            return None
        _, at, values = best
        lo, hi = int(at) - self._base, math.ceil(at + 7 * bit_points) - self._base
        if float(np.mean(self._share[max(0, lo):hi + 1])) < FRAME_SHARE:
            return None
        return at, sum(1 << i for i, v in enumerate(values[1:6]) if v > 0.0)

    def _emit(self, edge: float, code: int) -> None:
        t = max(0.0, float((edge + 1) * self._dec / self.samplerate))
        if code == LTRS or code == FIGS:
            self._shift = code
            return
        table = FIGURES if self._shift == FIGS else LETTERS
        ch = table[code]
        if code == SPACE_CODE and self.unshift_on_space:
            self._shift = LTRS
        if ch is None:
            return  # NUL
        if self._burst_start is None:
            self._burst_start = t
        self._text.append(ch)
        if self.on_char is not None:
            self.on_char(t, ch)
