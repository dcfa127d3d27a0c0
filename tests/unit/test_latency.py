"""Round-trip latency: the probe, delay finding (exact, fractional, noisy, refused), and the measurement loop.

The measurement loop is driven by a delay-line device written here (output comes back on the input
exactly D frames later), so the expected answer is known to the sample; tests/integration/
test_audio_latency.py runs the same code through real PortAudio on a JACK server.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from app.audio.latency import (
    MIN_QUALITY,
    PROBE_LEVEL_DBFS,
    PROBE_SECONDS,
    LatencyError,
    _LoopRecorder,
    find_delay,
    measure_round_trip,
    probe_signal,
)
from app.dsp.measure import tone_level_dbfs
from hardware.audio.base import StreamSpec
from tests.allocations import steady_state_allocations

RATE = 48000


def delayed(x: np.ndarray, delay: float, length: int) -> np.ndarray:
    """``x`` delayed by ``delay`` samples (fractional: a linear phase in the frequency domain), ``length`` long."""
    n = 1 << (length + x.size).bit_length()
    spectrum = np.fft.rfft(np.asarray(x, dtype=np.float64), n)
    shifted = spectrum * np.exp(-2j * math.pi * np.arange(spectrum.size) * delay / n)
    return np.fft.irfft(shifted, n)[:length]


@pytest.fixture(scope="module")
def probe() -> np.ndarray:
    return probe_signal(RATE)


# --- the probe


def test_probe_is_a_short_band_limited_burst_at_the_line_test_level(probe):
    assert probe.dtype == np.float32 and probe.ndim == 1
    assert probe.size == round(PROBE_SECONDS * RATE)
    assert 20 * math.log10(float(np.max(np.abs(probe)))) == pytest.approx(PROBE_LEVEL_DBFS, abs=0.05)
    assert abs(probe[0]) < 1e-6 and abs(probe[-1]) < 1e-3  # faded ends: no click
    spectrum = np.abs(np.fft.rfft(probe.astype(np.float64), 8 * probe.size)) ** 2
    freqs = np.fft.rfftfreq(8 * probe.size, 1 / RATE)
    in_band = spectrum[(freqs >= 250) & (freqs <= 3450)].sum()
    assert spectrum[(freqs < 150) | (freqs > 3700)].sum() < in_band * 1e-4  # > 40 dB of it in the voice band
    # It sweeps the band: the start is low, the end is high.
    assert tone_level_dbfs(probe[:1200], 400, RATE) > tone_level_dbfs(probe[:1200], 3000, RATE) + 20
    assert tone_level_dbfs(probe[-1200:], 3300, RATE) > tone_level_dbfs(probe[-1200:], 500, RATE) + 20


def test_probe_refuses_a_rate_below_its_band():
    with pytest.raises(ValueError, match="too low"):
        probe_signal(6000)
    assert probe_signal(8000).size == round(PROBE_SECONDS * 8000)


# --- find_delay: found


@pytest.mark.parametrize("lag", [0, 1, 480, 12345, 40000 - 7200])
def test_integer_delays_are_exact(probe, lag):
    received = np.zeros(40000, dtype=np.float32)
    received[lag:lag + probe.size] = probe[: 40000 - lag]
    found = find_delay(probe, received, RATE)
    assert found.lag_samples == pytest.approx(lag, abs=1e-6)
    assert found.lag_ms == pytest.approx(lag / 48.0, abs=1e-6)
    assert found.quality >= 10 and found.correlation == pytest.approx(1.0, abs=1e-6)
    assert not found.inverted


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
@pytest.mark.parametrize("lag", [100.25, 777.5, 1234.9])
def test_fractional_delays_within_a_hundredth_of_a_sample(rate, lag):
    probe = probe_signal(rate)
    found = find_delay(probe, delayed(probe, lag, rate), rate)
    assert found.lag_samples == pytest.approx(lag, abs=0.01)
    assert found.lag_ms == pytest.approx(lag * 1000 / rate, abs=0.01 * 1000 / rate)


def test_added_noise_moves_the_answer_by_less_than_a_tenth_of_a_sample(probe):
    rng = np.random.default_rng(5)
    # Noise at -23 dBFS RMS against a probe of -13 dBFS RMS: a poor line, but the probe is still there.
    for seed_lag in (3000.3, 9000.7, 15000.0):
        received = delayed(probe, seed_lag, 24000) + rng.normal(0.0, 0.07, 24000)
        found = find_delay(probe, received, RATE)
        assert found.lag_samples == pytest.approx(seed_lag, abs=0.1)
        assert found.quality >= MIN_QUALITY


@pytest.mark.parametrize("gain", [0.001, 0.01, 0.5, 2.0, 3.0])
def test_gain_does_not_change_the_answer(probe, gain):
    found = find_delay(probe, gain * delayed(probe, 2500.4, 24000), RATE)
    assert found.lag_samples == pytest.approx(2500.4, abs=0.01)
    assert found.quality >= 10  # the ratio of two peaks: level cancels out


def test_an_inverted_line_is_found_and_flagged(probe):
    found = find_delay(probe, -delayed(probe, 2000, 24000), RATE)
    assert found.lag_samples == pytest.approx(2000, abs=0.01)
    assert found.inverted


def test_probe_among_others_sounds_is_found(probe):
    """A 1 kHz hum as loud as the probe, and an unrelated burst of noise before it."""
    rng = np.random.default_rng(9)
    t = np.arange(24000) / RATE
    received = delayed(probe, 8000.5, 24000) + 0.3 * np.sin(2 * math.pi * 1000 * t)
    received[1000:5000] += rng.normal(0, 0.2, 4000)
    found = find_delay(probe, np.clip(received, -0.99, 0.99), RATE)
    assert found.lag_samples == pytest.approx(8000.5, abs=0.1)


# --- find_delay: refused, with the reason


def test_nothing_received_raises_rather_than_returning_a_number(probe):
    with pytest.raises(LatencyError, match="nothing received"):
        find_delay(probe, np.zeros(24000, dtype=np.float32), RATE)
    dither = np.random.default_rng(1).normal(0, 1e-5, 24000)  # -100 dBFS: a dead line, not a quiet one
    with pytest.raises(LatencyError, match="nothing received"):
        find_delay(probe, dither, RATE)


def test_a_clipped_input_raises_and_says_so(probe):
    overdriven = np.clip(5.0 * delayed(probe, 2000, 24000), -1.0, 1.0)  # +14 dB in the loop
    with pytest.raises(LatencyError, match="input clipped: [0-9]+ samples at full scale"):
        find_delay(probe, overdriven, RATE)


def test_the_time_reversed_probe_is_not_the_probe(probe):
    with pytest.raises(LatencyError, match="too noisy"):
        find_delay(probe, delayed(probe[::-1].copy(), 2000, 24000), RATE)


def test_a_probe_buried_in_noise_raises_too_noisy(probe):
    rng = np.random.default_rng(2)
    received = delayed(0.002 * probe, 5000, 24000) + rng.normal(0, 0.1, 24000)
    with pytest.raises(LatencyError, match=r"too noisy: .* need 4x; input -20 dBFS RMS"):
        find_delay(probe, received, RATE)


def test_noise_alone_is_never_taken_for_the_probe(probe):
    rng = np.random.default_rng(3)
    for _ in range(30):
        with pytest.raises(LatencyError, match="too noisy"):
            find_delay(probe, rng.normal(0, 0.1, 24000), RATE)


def test_unusable_arguments_are_value_errors(probe):
    with pytest.raises(ValueError, match="longer than the probe"):
        find_delay(probe, np.zeros(probe.size + 10), RATE)
    with pytest.raises(ValueError, match="1-D"):
        find_delay(probe, np.zeros((24000, 2)), RATE)
    with pytest.raises(ValueError, match="silent"):
        find_delay(np.zeros(100), np.ones(24000) * 0.1, RATE)


# --- the measurement loop, on a device whose round trip is known exactly


class DelayLineStream:
    """Calls back block after block on its own thread; each input block is the output of ``delay`` frames ago."""

    def __init__(self, spec: StreamSpec, callback, delay: int, stop_after: int | None) -> None:
        self.spec, self.callback, self.delay, self.stop_after = spec, callback, delay, stop_after
        self._line = np.zeros((delay + spec.blocksize * 4, spec.outputs), dtype=np.float32)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = threading.Event()
        self.closed = False
        self._active = True

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        n, spec = self.spec.blocksize, self.spec
        inp = np.zeros((n, spec.inputs), dtype=np.float32)
        out = np.zeros((n, spec.outputs), dtype=np.float32)
        written = 0
        history = np.zeros((self.delay + n, spec.outputs), dtype=np.float32)
        while not self._stop.is_set():
            if self.stop_after is not None and written >= self.stop_after * n:
                self._active = False
                return
            inp.fill(0.0)
            k = min(spec.inputs, spec.outputs)
            inp[:, :k] = history[:n, :k]  # what was played ``delay`` frames before this block
            self.callback(inp, out, 0)
            history[:-n] = history[n:]
            history[-n:] = out
            written += n
            self._stop.wait(0.0005)

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.closed = True

    @property
    def active(self) -> bool:
        return self._active and not self._stop.is_set()

    @property
    def latency(self) -> tuple[float, float]:
        return 0.0, self.delay / self.spec.samplerate

    @property
    def device_name(self) -> str:
        return "delay line"


class DelayLineBackend:
    name = "delay-line"

    def __init__(self, delay: int, stop_after: int | None = None) -> None:
        self.delay, self.stop_after = delay, stop_after
        self.streams: list[DelayLineStream] = []

    def devices(self):
        return []

    def rescan(self) -> None:
        pass

    def open(self, spec: StreamSpec, callback) -> DelayLineStream:
        stream = DelayLineStream(spec, callback, self.delay, self.stop_after)
        self.streams.append(stream)
        return stream


def spec(blocksize: int = 128, inputs: int = 2, outputs: int = 2, rate: int = RATE) -> StreamSpec:
    return StreamSpec(device="", samplerate=rate, blocksize=blocksize, latency="low", inputs=inputs, outputs=outputs)


@pytest.mark.parametrize("delay", [128, 1000, 4410])
def test_measures_the_round_trip_of_a_known_delay_line(delay):
    backend = DelayLineBackend(delay)
    calls: list[tuple[int, int]] = []
    result = measure_round_trip(backend, spec(), output=1, input=1, repeats=3,
                                progress=lambda done, total: calls.append((done, total)))
    # history[:n] is the output played ``delay + n`` frames before: the line adds one block of its own.
    expected_ms = (delay + 128) / 48.0
    assert result.each_ms == pytest.approx((expected_ms,) * 3, abs=1e-3)
    assert result.measured_ms == pytest.approx(expected_ms, abs=1e-3)
    assert result.reported_ms == pytest.approx(delay / 48.0)
    assert result.difference_ms == pytest.approx(128 / 48.0, abs=1e-3) and result.within_one_block
    assert result.block_ms == pytest.approx(128 / 48.0)
    assert (result.device, result.output, result.input, result.status_blocks) == ("delay line", 1, 1, 0)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert backend.streams[0].closed
    as_json = result.as_dict()
    assert as_json["output"] == 2 and as_json["input"] == 2 and len(as_json["each_ms"]) == 3


def test_a_loop_on_other_channels_is_nothing_received():
    backend = DelayLineBackend(500)
    with pytest.raises(LatencyError, match=r"repeat 1 of 2, output 1 -> input 2: nothing received"):
        # The delay line loops output k to input k only: output 1 never reaches input 2.
        measure_round_trip(backend, spec(), output=0, input=1, repeats=2)
    assert backend.streams[0].closed


def test_a_device_that_stops_calling_back_fails_cleanly_and_is_closed():
    backend = DelayLineBackend(500, stop_after=20)
    with pytest.raises(LatencyError, match="the stream stopped after 0.05 s"):
        measure_round_trip(backend, spec(), output=0, input=0, repeats=2)
    assert backend.streams[0].closed


def test_channels_outside_the_stream_are_refused_before_opening():
    backend = DelayLineBackend(100)
    with pytest.raises(ValueError, match="output channel 3 is not among the stream's 2 outputs"):
        measure_round_trip(backend, spec(), output=2, input=0)
    with pytest.raises(ValueError, match="input channel 5 is not among the stream's 2 inputs"):
        measure_round_trip(backend, spec(), output=0, input=4)
    with pytest.raises(ValueError, match="repeats"):
        measure_round_trip(backend, spec(), output=0, input=0, repeats=0)
    assert backend.streams == []


def test_the_recording_callback_allocates_nothing():
    frames = 128
    play = np.zeros(frames * 2000, dtype=np.float32)
    record = np.zeros_like(play)
    recorder = _LoopRecorder(play, record, 3, 5)
    inp = np.random.default_rng(1).uniform(-1, 1, (frames, 8)).astype(np.float32)
    out = np.empty((frames, 4), dtype=np.float32)
    found = steady_state_allocations(lambda: recorder(inp, out, 0), repeats=1000)
    # Transient view objects only (made and freed within one call): far below one block buffer (512 B).
    assert found.peak_bytes < 2048
    np.testing.assert_array_equal(record[frames * 30:frames * 31], inp[:, 5])


# --- diag audio-latency: arguments and configuration that never reach a device (exit 2)


def _diag(capsys, *args: str) -> tuple[int, str]:
    from ui.cli import main

    code = main(["diag", "audio-latency", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (("--backend", "null"), "the null backend has no real inputs"),
    (("--latency", "fast"), "--latency 'fast': expected low, high or seconds"),
    (("--latency", "2"), "--latency 2: seconds must be in (0, 1]"),
    (("--samplerate", "4000"), "--samplerate 4000 is outside 8000-192000 Hz"),
    (("--blocksize", "100000"), "--blocksize 100000 is more than 8192 frames"),
    (("--settle", "-1"), "--settle -1 is outside 0-60 s"),
])
def test_diag_refuses_bad_arguments_with_exit_2(capsys, args, message):
    code, err = _diag(capsys, *args)
    assert code == 2 and message in err


def test_diag_uses_the_profile_and_says_what_is_wrong_with_it(capsys, tmp_path):
    missing = tmp_path / "missing.toml"
    code, err = _diag(capsys, "--config", str(missing))
    assert code == 2 and "missing.toml" in err and "file not found" in err
    code, err = _diag(capsys, "--demo")  # the demo profile's device is the null backend
    assert code == 2 and "the null backend has no real inputs" in err


@pytest.mark.parametrize("args", [("--output", "0"), ("--input", "x"), ("--repeats", "-2")])
def test_diag_channel_and_count_options_must_be_positive_numbers(capsys, args):
    with pytest.raises(SystemExit) as exited:
        _diag(capsys, *args)
    assert exited.value.code == 2
    assert args[0] in capsys.readouterr().err
