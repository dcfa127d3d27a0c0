"""MDC1200 encoder and decoder (signaling-specs.md section 4; pure NumPy, no Qt).

Frame: leader of 0x55 bytes, the 40-bit sync 0x07092A446F, then one coded block of 14 bytes (two for
the double-packet ops). A block is op, arg, unit hi, unit lo, CRC-16 (low byte first), 0x00, then 7
parity bytes of the rate-1/2 systematic code p[n] = d[n]^d[n-2]^d[n-5]^d[n-6] (bits LSB first), the 112
bits interleaved 7 x 16. Bits go out MSB first at 1200 bit/s as phase-continuous FSK: a bit equal to
the previous one is one cycle of 1200 Hz, a different one 1.5 cycles of 1800 Hz (MSK).

Decoder, in three stages:
1. Front end, per block and vectorised: mix down by 1500 Hz, average over fs/9600 samples, resample
   linearly to 9600 Hz (8 samples a bit), low-pass (33-tap FIR) and turn by +pi/2 a bit. The result
   ``r`` is the MSK signal seen from 1200 Hz: at the end of bit k it is c * (-1)**d[k] for a complex c
   (the carrier phase), and it turns half a circle during each 1800 Hz bit.
2. Sync search, vectorised: r[m] * conj(r[m-8]) is +|c|^2 for a 1200 Hz bit and -|c|^2 for 1800 Hz
   whatever the carrier phase; its correlation with the sync word's pattern (43 bits including the
   last leader bits), divided by sqrt(43 * sum of squared magnitudes), peaks near 1 at the end of a
   sync word at constant amplitude. Over 30 s, white and speech-like noise peaked at 0.49, a steady
   tone scores 0.07, a frame at 0 dB SNR (8 kHz) at least 0.58; candidates need 0.5.
3. Per candidate (rare, so plain Python): sample r at each bit end for a few bit rates (the rate seen
   from the carrier's drift first, then nominal, then a grid to +-3 %), track the carrier phase from
   r**2 (which the data cannot flip), take soft bits, de-interleave, soft Viterbi (64 states, start
   and end state known), and accept the block when its CRC is right and few bits needed correcting.

Polarity: this encoder's waveform crosses zero going up at every bit end where the data bit is 0. A
receive chain that inverts the audio shows the same data with the carrier half a turn away, which the
decoder measures at the sync word and reports as ``extra["polarity"]`` ("normal" / "inverted"); the
data decode the same either way.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

from app.dsp.mdc1200_meaning import (
    DOUBLE_PACKET_OPS,
    emergency_ack,
    is_emergency,
    meaning,
    parse_unit,
    unit_text,
)
from app.dsp.signal_event import SignalEvent

__all__ = [
    "Mdc1200Decoder",
    "Mdc1200Error",
    "crc16",
    "decode_block",
    "emergency_ack",
    "encode_block",
    "encode_mdc1200",
    "frame_bytes",
    "is_emergency",
]

BIT_RATE = 1200
LOW_HZ = 1200.0  # bit equal to the previous one
HIGH_HZ = 1800.0  # bit different from the previous one
SYNC_WORD = 0x07092A446F
LEADER_BYTE = 0x55
LEADER_BYTES = 7
BLOCK_BYTES = 14
BLOCK_BITS = 8 * BLOCK_BYTES
SAMPLERATES = (8000, 16000, 22050, 32000, 44100, 48000)
DEFAULT_LEVEL_DBFS = -10.0  # peak level: the line alignment test level (tones.TEST_LEVEL_DBFS)

GRID_RATE = 9600  # the decoder's internal rate: 8 samples a bit
SPB = GRID_RATE // BIT_RATE
_CARRIER_HZ = 1500.0  # midway between the tones
_FIR_TAPS = 33
_FIR_DELAY = (_FIR_TAPS - 1) // 2

_SYNC_BITS = tuple((SYNC_WORD >> (39 - i)) & 1 for i in range(40))
_LEADER_TAIL = (0, 1, 0, 1)  # the last bits of the 0x55 leader, part of the sync pattern
_PATTERN_BITS = _LEADER_TAIL + _SYNC_BITS
# +1 where the pattern keeps its bit (1200 Hz), -1 where it changes (1800 Hz): one per adjacent pair.
_PATTERN_SIGNS = np.array([1.0 - 2.0 * (a ^ b) for a, b in pairwise(_PATTERN_BITS)])
_PRODUCTS = len(_PATTERN_SIGNS)  # 43
_ONES = np.ones(_PRODUCTS)

SYNC_THRESHOLD = 0.5  # normalised sync correlation a candidate needs
MAX_SYNC_ERRORS = 8  # of the 40 sync bits, after phase tracking
MAX_CORRECTED_BITS = 22  # of a block's 112 coded bits: more means noise that happened to pass the CRC
_RATE_GRID = tuple(x / 1000 for x in range(-30, 31, 3))  # bit-rate errors tried, -3 % .. +3 %
_RATE_SEARCH = 0.012  # grid rates tried around the rate measured from the carrier drift
_PHASE_WINDOW_BITS = 9  # carrier phase smoothing (odd)
CHUNK_S = 0.05  # input gathered before the front end runs
_MAX_LEADER_BITS = 320  # how far back the start of a leader is looked for


class Mdc1200Error(ValueError):
    """An MDC1200 request or input that cannot be encoded or decoded (says what and why)."""


# --------------------------------------------------------------------------------------------- bytes


def _reverse_bits(value: int, width: int) -> int:
    out = 0
    for _ in range(width):
        out = (out << 1) | (value & 1)
        value >>= 1
    return out


def crc16(data: bytes) -> int:
    """The MDC1200 CRC: poly 0x1021, init 0, input bytes and result reflected, result XOR 0xFFFF."""
    crc = 0
    for byte in data:
        crc ^= _reverse_bits(byte, 8) << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return _reverse_bits(crc, 16) ^ 0xFFFF


def _parity_bits(data_bits: list[int]) -> list[int]:
    def bit(n: int) -> int:
        return data_bits[n] if n >= 0 else 0

    return [bit(n) ^ bit(n - 2) ^ bit(n - 5) ^ bit(n - 6) for n in range(len(data_bits))]


# Coded bit i (LSB first within bytes 0..13) goes to interleaved position 16*(i % 7) + i // 7.
_INTERLEAVE = np.array([16 * (i % 7) + i // 7 for i in range(BLOCK_BITS)])


def encode_block(payload: bytes) -> bytes:
    """The 14 coded, interleaved bytes for a 4-byte payload (op, arg, unit hi, unit lo or extra bytes)."""
    if len(payload) != 4:
        raise Mdc1200Error(f"an MDC1200 block carries 4 bytes, got {len(payload)}")
    crc = crc16(payload)
    data = bytes(payload) + bytes((crc & 0xFF, crc >> 8, 0))
    data_bits = [(data[i // 8] >> (i % 8)) & 1 for i in range(56)]
    coded = data_bits + _parity_bits(data_bits)
    placed = [0] * BLOCK_BITS
    for i, b in enumerate(coded):
        placed[_INTERLEAVE[i]] = b
    return bytes(int("".join(map(str, placed[8 * j: 8 * j + 8])), 2) for j in range(BLOCK_BYTES))


def frame_bytes(op: int, arg: int, unit: int | str, *, extra: bytes | None = None,
                preamble_bytes: int = LEADER_BYTES) -> bytes:
    """The whole frame as bytes (leader, sync, one block, a second block for ``extra``)."""
    _check_byte("op", op)
    _check_byte("arg", arg)
    unit_id = _unit(unit)
    if extra is not None:
        if op not in DOUBLE_PACKET_OPS:
            raise Mdc1200Error(f"extra bytes need a double-packet op (0x35 or 0x55), not op 0x{op:02X}")
        if len(extra) != 4:
            raise Mdc1200Error(f"a double packet carries 4 extra bytes, got {len(extra)}")
    elif op in DOUBLE_PACKET_OPS:
        raise Mdc1200Error(f"op 0x{op:02X} is a double packet: give its 4 extra bytes")
    if preamble_bytes < 0:
        raise Mdc1200Error(f"preamble of {preamble_bytes} bytes")
    out = bytes([LEADER_BYTE] * preamble_bytes) + SYNC_WORD.to_bytes(5, "big")
    out += encode_block(bytes((op, arg, unit_id >> 8, unit_id & 0xFF)))
    if extra is not None:
        out += encode_block(bytes(extra))
    return out


def decode_block(block: bytes) -> bytes | None:
    """The 4 payload bytes of 14 received coded bytes (errors corrected), or None when the CRC fails."""
    if len(block) != BLOCK_BYTES:
        raise Mdc1200Error(f"an MDC1200 block is {BLOCK_BYTES} bytes, got {len(block)}")
    bits = np.array([(block[j // 8] >> (7 - j % 8)) & 1 for j in range(BLOCK_BITS)], dtype=np.float64)
    return _decode_soft(1.0 - 2.0 * bits)


def _check_byte(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise Mdc1200Error(f"MDC1200 {name} {value!r} is not a byte (0..255)")


def _unit(unit: int | str) -> int:
    try:
        return parse_unit(unit)
    except ValueError as exc:
        raise Mdc1200Error(str(exc)) from None


# ------------------------------------------------------------------------------------ soft decoding


def _viterbi_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    # State = the last 6 data bits, bit 0 the newest. Next state ns has predecessors (ns >> 1) | (x << 5).
    ns = np.arange(64)
    prev = np.stack([ns >> 1, (ns >> 1) | 32])  # (2, 64)
    bit = ns & 1
    # parity = d[n] ^ d[n-2] ^ d[n-5] ^ d[n-6]; in the predecessor, d[n-k] is bit k-1.
    parity = bit ^ ((prev >> 1) & 1) ^ ((prev >> 4) & 1) ^ ((prev >> 5) & 1)
    return prev, 1.0 - 2.0 * bit, 1.0 - 2.0 * parity


_VT_PREV, _VT_DSIGN, _VT_PSIGN = _viterbi_tables()
_DEINTERLEAVE = _INTERLEAVE  # coded bit i sits at received position _INTERLEAVE[i]


def _viterbi(soft_d: np.ndarray, soft_p: np.ndarray) -> np.ndarray:
    """Most likely 56 data bits from soft values (positive = 0), starting and ending in state 0."""
    n = len(soft_d)
    metric = np.full(64, -1e18)
    metric[0] = 0.0
    choices = np.empty((n, 64), dtype=np.int8)
    cols = np.arange(64)
    for k in range(n):
        cand = metric[_VT_PREV] + (soft_d[k] * _VT_DSIGN + soft_p[k] * _VT_PSIGN)
        pick = np.argmax(cand, axis=0)
        choices[k] = pick
        metric = cand[pick, cols]
    bits = np.empty(n, dtype=np.int64)
    state = 0  # the zero byte at the end of the block flushes the register
    for k in range(n - 1, -1, -1):
        bits[k] = state & 1
        state = int(_VT_PREV[choices[k, state], state])
    return bits


def _decode_soft(soft: np.ndarray) -> bytes | None:
    """Payload from 112 soft values in received order, or None (bad CRC or too many corrections)."""
    coded = soft[_DEINTERLEAVE]
    bits = _viterbi(coded[:56], coded[56:])
    data = bytes(sum(int(bits[8 * j + i]) << i for i in range(8)) for j in range(7))
    payload = data[:4]
    crc = crc16(payload)
    if data[4] != crc & 0xFF or data[5] != crc >> 8 or data[6] != 0:
        return None
    recoded = np.array([*bits, *_parity_bits([int(b) for b in bits])])
    corrected = int(np.count_nonzero((coded < 0) != (recoded == 1)))
    if corrected > MAX_CORRECTED_BITS:
        return None
    return payload


# ------------------------------------------------------------------------------------------- encode


def _frame_bits(frame: bytes) -> np.ndarray:
    return np.unpackbits(np.frombuffer(frame, dtype=np.uint8))


def encode_mdc1200(op: int, arg: int, unit: int | str, *, samplerate: int, extra: bytes | None = None,
                   preamble_bits: int = 8 * LEADER_BYTES, level: float = DEFAULT_LEVEL_DBFS) -> np.ndarray:
    """One MDC1200 packet as float32 audio (a double packet when ``extra`` holds 4 bytes).

    ``preamble_bits`` of the 0x55 leader come first (the 56 of 7 bytes by default; at least 8 so a
    decoder can find the sync word), then sync and block(s). ``level`` is the peak level in dBFS.
    The waveform starts at phase 0 with the previous bit taken as 0.
    """
    _check_rate(samplerate)
    if isinstance(preamble_bits, bool) or not isinstance(preamble_bits, int) or not 8 <= preamble_bits <= 8000:
        raise Mdc1200Error(f"preamble of {preamble_bits!r} bits: give 8..8000")
    if not math.isfinite(level) or level > 0:
        raise Mdc1200Error(f"level {level!r} dBFS is above full scale or not a number")
    body = _frame_bits(frame_bytes(op, arg, unit, extra=extra, preamble_bytes=0))
    leader = np.array([(k + preamble_bits) % 2 for k in range(preamble_bits)], dtype=np.uint8)  # ends in 1
    bits = np.concatenate([leader, body]).astype(np.int64)
    changed = bits ^ np.concatenate([[0], bits[:-1]])
    # Phase at the start of each bit: +2 pi per 1200 Hz bit, +3 pi per 1800 Hz bit (in units of pi).
    half_turns = np.concatenate([[0], np.cumsum(2 + changed)])
    n = math.ceil(len(bits) * samplerate / BIT_RATE)
    t_bits = np.arange(n, dtype=np.float64) * (BIT_RATE / samplerate)  # time in bits
    k = np.minimum(t_bits.astype(np.int64), len(bits) - 1)
    freq = np.where(changed[k] == 1, HIGH_HZ, LOW_HZ)
    phase = np.pi * half_turns[k] + 2 * np.pi * freq / BIT_RATE * (t_bits - k)
    return (10 ** (level / 20) * np.sin(phase)).astype(np.float32)


def _check_rate(samplerate: int) -> None:
    if samplerate not in SAMPLERATES:
        raise Mdc1200Error(f"sample rate {samplerate!r} Hz is not one of {', '.join(map(str, SAMPLERATES))}")


# ------------------------------------------------------------------------------------------- decode


def _lowpass_taps() -> np.ndarray:
    # Windowed sinc at 9600 Hz: passes the MSK band (+-900 Hz about 1500) and stops the image at -3000 Hz.
    n = np.arange(_FIR_TAPS) - _FIR_DELAY
    cutoff = 1100.0 / GRID_RATE
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(_FIR_TAPS)
    return taps / taps.sum()


_TAPS = _lowpass_taps()


class _FrontEnd:
    """Real audio at ``samplerate`` in, ``r`` at 9600 Hz out (see the module docstring), block by block."""

    def __init__(self, samplerate: int) -> None:
        self.fs = samplerate
        self.avg = max(1, round(samplerate / GRID_RATE))
        # exp(-j 2 pi 1500 n / fs) repeats every fs samples; index it by the sample count.
        period = samplerate // math.gcd(samplerate, int(_CARRIER_HZ))
        self._lo = np.exp(-2j * np.pi * _CARRIER_HZ * np.arange(period) / samplerate)
        self._n = 0  # input samples taken
        self._mix_tail = np.zeros(self.avg - 1, dtype=np.complex128)
        self._avg_buf = np.zeros(0, dtype=np.complex128)  # averaged samples not yet passed
        self._avg_base = 0  # input index of _avg_buf[0] (position of the average's last sample)
        self._m = 0  # next 9600 Hz output index
        self._fir_hist = np.zeros(_FIR_TAPS - 1, dtype=np.complex128)
        self._turn = np.exp(1j * np.pi * np.arange(2 * SPB * 2) / (2 * SPB))  # +pi/2 per bit, period 32
        # Where r[m] sits in the input: the average looks back (avg-1)/2 samples, the FIR 16 grid samples.
        self.delay_s = (self.avg - 1) / 2 / samplerate + _FIR_DELAY / GRID_RATE

    def process(self, x: np.ndarray) -> np.ndarray:
        n0 = self._n
        idx = (np.arange(n0, n0 + len(x)) % len(self._lo))
        mixed = x * self._lo[idx]
        self._n += len(x)
        ext = np.concatenate([self._mix_tail, mixed])
        if self.avg > 1:
            total = ext[: len(mixed)].copy()
            for k in range(1, self.avg):
                total += ext[k: k + len(mixed)]
            averaged = total / self.avg
            self._mix_tail = ext[len(ext) - (self.avg - 1):]
        else:
            averaged = mixed
        buf = np.concatenate([self._avg_buf, averaged])
        base = self._avg_base
        end = base + len(buf)  # one past the last input index available
        # Output m needs input positions floor(m fs / 9600) and the one after.
        m_stop = max(self._m, ((end - 1) * GRID_RATE - 1) // self.fs + 1)
        while m_stop > self._m and ((m_stop - 1) * self.fs) // GRID_RATE + 1 > end - 1:
            m_stop -= 1
        if m_stop <= self._m:
            self._avg_buf, self._avg_base = buf, base
            return np.zeros(0, dtype=np.complex128)
        ms = np.arange(self._m, m_stop, dtype=np.int64)
        num = ms * self.fs
        i0 = num // GRID_RATE - base
        frac = (num % GRID_RATE) / GRID_RATE
        grid = buf[i0] * (1 - frac) + buf[i0 + 1] * frac
        self._m = m_stop
        # Keep from the next output's first input on (or everything, if that input has not arrived yet).
        keep_from = min((m_stop * self.fs) // GRID_RATE - base, len(buf))
        self._avg_buf = buf[keep_from:]
        self._avg_base = base + keep_from
        hist = np.concatenate([self._fir_hist, grid])
        filtered = np.convolve(hist, _TAPS, mode="valid")
        self._fir_hist = hist[len(hist) - (_FIR_TAPS - 1):]
        return filtered * self._turn[ms % len(self._turn)]

    @property
    def next_index(self) -> int:
        return self._m


def _interp(r: np.ndarray, pos: np.ndarray) -> np.ndarray:
    i = np.clip(np.floor(pos).astype(np.int64), 0, len(r) - 2)
    f = pos - i
    return r[i] * (1 - f) + r[i + 1] * f


class Mdc1200Decoder:
    """Stateful MDC1200 decoder: ``feed`` audio blocks of any length, get SignalEvents (kind "mdc1200").

    Each event's value is ``{"op", "arg", "unit" (4 hex digits), "meaning"}``; ``extra`` holds
    ``polarity`` ("normal"/"inverted"), ``packet`` ("single"/"double") and, for a double packet,
    ``extra`` (the 4 extra bytes as 8 hex digits, or None when the second block failed its CRC).
    """

    HISTORY = 8 * SPB * 64  # r samples kept (about 0.43 s): leader search + sync + two blocks

    def __init__(self, samplerate: int, *, threshold: float = SYNC_THRESHOLD) -> None:
        _check_rate(samplerate)
        self.samplerate = samplerate
        self.threshold = threshold
        self._chunk = int(samplerate * CHUNK_S)
        self._reset()

    def _reset(self) -> None:
        self._front = _FrontEnd(self.samplerate)
        self._held: list[np.ndarray] = []  # input not yet processed
        self._held_len = 0
        self._r = np.zeros(0, dtype=np.complex128)
        self._r0 = 0  # grid index of _r[0]
        self._rho_next = _PRODUCTS * SPB  # next grid index whose sync score is computed
        self._rho = np.zeros(0)  # scores from _rho0 on
        self._rho0 = self._rho_next
        self._peak_next = self._rho_next  # next index examined as a peak
        self._pending: list[tuple[int, float]] = []
        self._busy_until = -1  # grid index before which candidates belong to a decoded frame

    # -- public

    def feed(self, block: np.ndarray) -> list[SignalEvent]:
        x = np.asarray(block)
        if x.ndim != 1:
            raise Mdc1200Error(f"MDC1200 decoder takes mono audio (1-D), got shape {x.shape}")
        if len(x) == 0:
            return []
        # Work in chunks of CHUNK_S: numpy's fixed cost per call, not the arithmetic, dominates small
        # blocks. A frame is reported a block's length after its end anyway, so this adds no delay
        # that matters, and the events do not depend on how the stream is cut.
        self._held.append(x.astype(np.float64))
        self._held_len += len(x)
        if self._held_len < self._chunk:
            return []
        return self._run(final=False)

    def _run(self, final: bool) -> list[SignalEvent]:
        x = np.concatenate(self._held) if len(self._held) > 1 else self._held[0] if self._held else np.zeros(0)
        self._held, self._held_len = [], 0
        if not np.all(np.isfinite(x)):
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        if final:
            x = np.concatenate([x, np.zeros(int(self.samplerate * (2 * BLOCK_BITS + 80) / BIT_RATE))])
        if len(x):
            self._append(self._front.process(x))
        return self._work(final=final)

    def flush(self) -> list[SignalEvent]:
        """End of stream: push the filters' tails through, decode what is pending, then start afresh."""
        events = self._run(final=True)
        self._reset()
        return events

    # -- stages

    def _append(self, r_new: np.ndarray) -> None:
        self._r = np.concatenate([self._r, r_new])
        end = self._r0 + len(self._r)
        start = self._rho_next
        if end - start <= 0:
            return
        # Sync score for every grid index m in [start, end): m is the end of the last sync bit.
        span = _PRODUCTS * SPB
        lo = start - span - self._r0
        seg = self._r[lo:]
        prod = seg[SPB:] * np.conj(seg[:-SPB])  # prod[i] belongs to grid index r0 + lo + SPB + i
        count = end - start
        # One row per grid index: the 43 products spaced a bit apart that end there (a view, no copy).
        rows = np.lib.stride_tricks.sliding_window_view(prod, (_PRODUCTS - 1) * SPB + 1)[:count, ::SPB]
        acc = rows @ _PATTERN_SIGNS
        power = (rows.real**2 + rows.imag**2) @ _ONES
        # |sum q D| / sqrt(N sum |D|^2): 1 for the pattern at constant amplitude, lower when the
        # envelope fluctuates (speech, noise) even if the signs happen to match.
        rho = np.abs(acc) / np.sqrt(np.maximum(_PRODUCTS * power, 1e-30))
        self._rho = np.concatenate([self._rho, rho])
        self._rho_next = end

    def _work(self, final: bool) -> list[SignalEvent]:
        # Peaks: local maxima over +-half a bit, above the threshold.
        half = SPB // 2
        rho, base = self._rho, self._rho0
        last = self._rho_next - half  # a peak needs half a bit of scores after it
        m = self._peak_next
        if last > m:
            idx = np.arange(m, last)
            for cand in idx[rho[idx - base] >= self.threshold]:
                score = rho[cand - base]
                left = rho[max(cand - half, base) - base: cand - base]
                right = rho[cand + 1 - base: cand + half + 1 - base]
                # Strictly above the left side, at least the right: one peak per plateau.
                if (len(left) == 0 or score > left.max()) and (len(right) == 0 or score >= right.max()):
                    self._pending.append((int(cand), float(score)))
            self._peak_next = last
        events: list[SignalEvent] = []
        need = SPB * (2 * BLOCK_BITS + _PHASE_WINDOW_BITS + 4)
        end = self._r0 + len(self._r)
        while self._pending and (final or self._pending[0][0] + need <= end):
            cand, _score = self._pending.pop(0)
            if cand < self._busy_until:
                continue
            event = self._decode_at(cand)
            if event is not None:
                events.append(event[0])
                self._busy_until = event[1]
        self._trim()
        return events

    def _trim(self) -> None:
        end = self._r0 + len(self._r)
        keep_from = end - self.HISTORY
        if self._pending:
            keep_from = min(keep_from, self._pending[0][0] - SPB * (_MAX_LEADER_BITS + 60))
        keep_from = max(keep_from, self._r0)
        if keep_from > self._r0:
            self._r = self._r[keep_from - self._r0:]
            self._r0 = keep_from
        rho_keep = max(self._rho0, self._peak_next - SPB)
        if rho_keep > self._rho0:
            self._rho = self._rho[rho_keep - self._rho0:]
            self._rho0 = rho_keep

    # -- one candidate

    def _decode_at(self, cand: int) -> tuple[SignalEvent, int] | None:
        r, r0 = self._r, self._r0
        rho = lambda k: self._rho[k - self._rho0] if self._rho0 <= k < self._rho0 + len(self._rho) else 0.0
        a, b, c = rho(cand - 1), rho(cand), rho(cand + 1)
        denom = a - 2 * b + c
        frac = 0.5 * (a - c) / denom if denom < 0 else 0.0
        end_sync = cand + float(np.clip(frac, -0.5, 0.5)) - r0  # position in r of the last sync bit's end
        center = end_sync - 19.5 * SPB  # middle of the sync word
        drift = self._sync_drift(end_sync)
        seen = drift / (2 * np.pi - drift)  # bit-rate error if tones and rate share one clock
        seen = float(np.clip(seen, -0.03, 0.03))
        # The measured rate first, then nominal, then the grid outward from the measured rate: a real
        # frame decodes on the first try or two, noise that looked like a sync word costs the whole list.
        near = [e for e in _RATE_GRID if abs(e - seen) <= _RATE_SEARCH]
        rates = list(dict.fromkeys([round(seen, 4), 0.0, *sorted(near, key=lambda e: (abs(e - seen), e))]))
        sync_known = np.array(_SYNC_BITS)
        for eps in rates:
            step = SPB / (1 + eps)
            z_sync = _interp(r, center + (np.arange(40) - 19.5) * step)
            phase = self._track_phase(z_sync, sync_known)
            if np.count_nonzero((np.real(z_sync * np.exp(-1j * phase)) < 0) != (sync_known == 1)) > MAX_SYNC_ERRORS:
                continue
            nbits = 2 * BLOCK_BITS
            # Bit ends: sync bits 0..39, then the data bits; the sync word's middle is the anchor.
            pos = center + (np.arange(40 + nbits) - 19.5) * step
            if pos[-1] >= len(r) - 1:
                nbits = BLOCK_BITS
                pos = pos[: 40 + nbits]
                if pos[-1] >= len(r) - 1:
                    continue
            z = _interp(r, pos)
            phase = self._track_phase(z, sync_known)
            soft = np.real(z * np.exp(-1j * phase))
            amp = np.mean(np.abs(soft[:40]))
            if amp <= 0:
                continue
            soft /= amp
            if np.count_nonzero((soft[:40] < 0) != (sync_known == 1)) > MAX_SYNC_ERRORS:
                continue
            payload = _decode_soft(soft[40: 40 + BLOCK_BITS])
            if payload is None:
                continue
            op, arg = payload[0], payload[1]
            unit = (payload[2] << 8) | payload[3]
            extra: dict = {"polarity": self._polarity(r, pos[:40], phase[:40], r0)}
            frame_end = pos[40 + BLOCK_BITS - 1]
            if op in DOUBLE_PACKET_OPS:
                extra["packet"] = "double"
                second = None
                if len(soft) >= 40 + 2 * BLOCK_BITS:
                    second = _decode_soft(soft[40 + BLOCK_BITS: 40 + 2 * BLOCK_BITS])
                extra["extra"] = second.hex().upper() if second is not None else None
                if second is not None:
                    frame_end = pos[40 + 2 * BLOCK_BITS - 1]
            else:
                extra["packet"] = "single"
            start = self._leader_start(r, pos[0] - step, step, amp)
            t = max(0.0, float((r0 + start) / GRID_RATE - self._front.delay_s))
            value = {"op": op, "arg": arg, "unit": unit_text(unit), "meaning": meaning(op, arg)}
            return SignalEvent(t=t, kind="mdc1200", value=value, extra=extra), int(r0 + frame_end)
        return None

    def _sync_drift(self, end_sync: float) -> float:
        """Carrier turn per bit over the sync word (radians): 2 pi e / (1 + e) for a clock off by e."""
        pos = end_sync - SPB * np.arange(_PRODUCTS, -1, -1)
        z = _interp(self._r, pos)
        prod = z[1:] * np.conj(z[:-1]) * _PATTERN_SIGNS
        return float(np.angle(prod.sum()))

    @staticmethod
    def _track_phase(z: np.ndarray, sync_bits: np.ndarray) -> np.ndarray:
        """Carrier phase at each bit end: smoothed angle of z**2, halved, with the sync word fixing the half."""
        w = _PHASE_WINDOW_BITS
        sq = z * z
        padded = np.concatenate([np.repeat(sq[:1], w // 2), sq, np.repeat(sq[-1:], w // 2)])
        smooth = np.convolve(padded, np.ones(w), mode="valid")
        phase = np.unwrap(np.angle(smooth)) / 2
        signs = 1.0 - 2.0 * sync_bits
        if np.sum(np.real(z[:40] * np.exp(-1j * phase[:40])) * signs) < 0:
            phase = phase + np.pi
        return phase

    def _polarity(self, r: np.ndarray, pos: np.ndarray, phase: np.ndarray, r0: int) -> str:
        # The audio's own phase at the sync bit ends: this encoder's sine is at -pi/2 (going up) for d = 0.
        grid = r0 + pos
        t_true = grid / GRID_RATE - self._front.delay_s
        analytic = np.exp(1j * phase) * np.exp(-1j * np.pi * grid / (2 * SPB)) * np.exp(
            2j * np.pi * _CARRIER_HZ * t_true)
        return "normal" if np.real(np.sum(analytic) * 1j) > 0 else "inverted"

    @staticmethod
    def _leader_start(r: np.ndarray, first_end: float, step: float, amp: float) -> float:
        """Grid position (in r) where the 1800 Hz leader before the sync word starts."""
        k = np.arange(1, _MAX_LEADER_BITS + 1)
        ends = first_end - k * step  # ends of leader bits, going back
        ok = ends - step >= 0
        ends = ends[ok]
        if len(ends) == 0:
            return first_end - step
        z1 = _interp(r, ends + step)
        z0 = _interp(r, ends)
        # A leader bit changes from the one before (1800 Hz) and is not much weaker than the sync word.
        good = (np.real(z1 * np.conj(z0)) < -0.3 * amp * amp) & (np.abs(z0) > 0.3 * amp)
        run = int(np.argmin(good)) if not good.all() else len(good)
        return first_end - (run + 1) * step


__all__ += ["meaning"]
