"""Signaling benchmark: our decoders against independent ones on the same noisy files (no Qt).

For each kind and SNR, ``trials`` signals with random payloads (fixed seeds) are rendered at 8 kHz (the
phone line's rate, the hardest of the supported ones), white noise is added at that SNR (signal power
measured over the signal's active samples, noise over the whole band) with half a second of noise before
and after, and the file is quantised to 16 bits. Our decoder and the reference decode each file:
- DTMF, ZVEI1, CCIR, EEA, EIA: our encoder, our decoder vs ``multimon-ng`` (a trial counts when the
  payload comes back exactly);
- TTY: our encoder (source "ours") and minimodem's (source "minimodem"), our decoder vs
  ``minimodem --rx tdd``; the rate is 1 - character error rate (edit distance / length), also reported.
Then speech-like noise (hardware/sim/speech.py) for ``noise_minutes`` goes through every decoder and the
reference: any event is a false detection (for TTY, each character).
Throughput: audio seconds per CPU second of our decoder (process time, one thread).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.dsp.signaling import decode, encode, make_decoder
from app.dsp.wav import write_wav

RATE = 8000
SNRS_DB = (0.0, 3.0, 6.0, 10.0, 20.0)
MULTIMON_KINDS = ("dtmf", "zvei1", "ccir", "eea", "eia")
PAD_S = 0.5
WORDS = ("UNIT", "12", "MAIN", "ST", "FIRE", "911", "HELP", "APT", "3-B", "NEED", "EMS", "AT", "45", "OAK",
         "GA", "SK", "Q", "CALL", "POLICE", "7.5")


def _payload(kind: str, rng: np.random.Generator) -> str:
    if kind == "dtmf":
        return "".join(rng.choice(list("0123456789*#ABCD"), size=6))
    if kind == "tty":
        return " ".join(rng.choice(WORDS, size=5))
    return "".join(rng.choice(list("0123456789"), size=5))


def _encode(kind: str, payload: str) -> np.ndarray:
    if kind == "tty":
        return encode(kind, samplerate=RATE, text=payload)
    return encode(kind, samplerate=RATE, digits=payload)


def add_noise(signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """Signal padded with PAD_S of silence each side plus white noise at ``snr_db``, quantised to 16 bits."""
    signal = np.asarray(signal, dtype=np.float64)
    # Active: within 2.5 ms of a non-zero sample (a tone's own zero crossings count; DTMF pauses do not).
    near = np.convolve(signal**2, np.ones(int(0.005 * RATE) + 1), mode="same") > 1e-12
    active = signal[near]
    power = float(np.mean(active**2)) if active.size else 0.0
    pad = np.zeros(int(PAD_S * RATE))
    x = np.concatenate([pad, signal, pad])
    x += rng.standard_normal(x.shape[0]) * np.sqrt(power / 10 ** (snr_db / 10))
    return np.round(np.clip(x, -1.0, 32767 / 32768) * 32767.0) / 32767.0


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_success(sent: str, got: str) -> float:
    return max(0.0, 1.0 - edit_distance(sent, got) / len(sent))


def _warm_up(kind: str) -> None:
    """One untimed decode, so module loading and first-call costs stay out of the throughput."""
    decode(kind, np.zeros(RATE), RATE)


def _timed_decode(kind: str, samples: np.ndarray) -> tuple[list, float]:
    start = time.process_time()
    events = decode(kind, samples, RATE)
    return events, time.process_time() - start


def _ours_matches(kind: str, payload: str, events: list) -> bool:
    values = [e.value for e in events]
    return "".join(values) == payload if kind == "dtmf" else payload in values


def _theirs_matches(kind: str, payload: str, found: list[str]) -> bool:
    return "".join(found) == payload if kind == "dtmf" else payload in found


class Minimodem:
    """``minimodem`` in ``tdd`` mode on WAV files in a private folder."""

    def __init__(self, folder: Path) -> None:
        path = shutil.which("minimodem")
        if path is None:
            raise RuntimeError("minimodem is not installed (Debian package minimodem)")
        self.path, self.folder = path, folder

    def receive(self, samples: np.ndarray) -> str:
        wav = self.folder / "rx.wav"
        write_wav(wav, samples, RATE)
        done = subprocess.run([self.path, "--rx", "tdd", "-q", "-f", str(wav)], capture_output=True,
                              timeout=300, check=False)
        return done.stdout.decode(errors="replace")

    def transmit(self, text: str) -> np.ndarray:
        from app.dsp.wav import read_wav

        wav = self.folder / "tx.wav"
        subprocess.run([self.path, "--tx", "tdd", "-R", str(RATE), "-f", str(wav)], input=(text + "\n").encode(),
                       capture_output=True, timeout=60, check=True)
        samples, _ = read_wav(wav)
        return samples * 10 ** (-10 / 20)  # at our line level: minimodem writes full scale


def _row(kind: str, snr: float, source: str, ours: float, theirs: float | None, audio_s: float,
         cpu_s: float, reference: str, error: str = "") -> dict:
    return {"kind": kind, "snr_db": snr, "source": source, "ours_rate": round(ours, 4),
            "reference_rate": None if theirs is None else round(theirs, 4),
            "ours_x_realtime": round(audio_s / cpu_s, 1) if cpu_s > 0 else None,
            "reference": reference, "error": error}


def run_multimon_kind(kind: str, trials: int, snrs=SNRS_DB, seed: int = 1) -> list[dict]:
    from app.bench.peers import PeerFailed, PeerMissing, run_multimon

    rows = []
    _warm_up(kind)
    for snr in snrs:
        rng = np.random.default_rng([seed, MULTIMON_KINDS.index(kind), int(snr * 10)])
        ours = theirs = 0
        audio_s = cpu_s = 0.0
        error = ""
        for _ in range(trials):
            payload = _payload(kind, rng)
            samples = add_noise(_encode(kind, payload), snr, rng)
            events, spent = _timed_decode(kind, samples)
            audio_s += samples.shape[0] / RATE
            cpu_s += spent
            ours += _ours_matches(kind, payload, events)
            if not error:
                try:
                    theirs += _theirs_matches(kind, payload, run_multimon(kind, samples, RATE))
                except (PeerMissing, PeerFailed) as err:
                    error = str(err)
        rows.append(_row(kind, snr, "ours", ours / trials, None if error else theirs / trials, audio_s, cpu_s,
                         "multimon-ng", error))
    return rows


def run_tty(trials: int, snrs=SNRS_DB, seed: int = 1) -> list[dict]:
    rows = []
    _warm_up("tty")
    with tempfile.TemporaryDirectory(prefix="dc-bench-tty-") as folder:
        try:
            modem: Minimodem | None = Minimodem(Path(folder))
            error = ""
        except RuntimeError as err:
            modem, error = None, str(err)
        sources: list[tuple[str, Callable[[str], np.ndarray]]] = [("ours", lambda text: _encode("tty", text))]
        if modem is not None:
            sources.append(("minimodem", modem.transmit))
        for source, render in sources:
            for snr in snrs:
                rng = np.random.default_rng([seed, 99, int(snr * 10), len(source)])
                ours = theirs = 0.0
                audio_s = cpu_s = 0.0
                for _ in range(trials):
                    text = _payload("tty", rng)
                    samples = add_noise(render(text), snr, rng)
                    events, spent = _timed_decode("tty", samples)
                    audio_s += samples.shape[0] / RATE
                    cpu_s += spent
                    ours += char_success(text, "".join(e.value for e in events).strip())
                    if modem is not None:
                        theirs += char_success(text, modem.receive(samples).strip())
                row = _row("tty", snr, source, ours / trials, None if modem is None else theirs / trials,
                           audio_s, cpu_s, "minimodem --rx tdd", error)
                row["ours_cer"] = round(1.0 - ours / trials, 4)
                row["reference_cer"] = None if modem is None else round(1.0 - theirs / trials, 4)
                rows.append(row)
    return rows


def speech_noise(minutes: float, seed: int = 5) -> np.ndarray:
    from hardware.sim.speech import SpeechLikeSource

    total = int(minutes * 60 * RATE)
    out = np.zeros(total, dtype=np.float32)
    source = SpeechLikeSource(RATE, seed=seed, seconds=min(60.0, max(2.0, minutes * 60)))
    for start in range(0, total, RATE):
        source.fill(out[start:start + RATE])
    return out.astype(np.float64)


def run_false_detections(minutes: float, kinds=(*MULTIMON_KINDS, "tty")) -> list[dict]:
    from app.bench.peers import PeerFailed, PeerMissing, run_multimon

    noise = speech_noise(minutes)
    rows = []
    with tempfile.TemporaryDirectory(prefix="dc-bench-noise-") as folder:
        for kind in kinds:
            decoder = make_decoder(kind, RATE)
            start = time.process_time()
            events = []
            for at in range(0, noise.shape[0], RATE):
                events += decoder.feed(noise[at:at + RATE])
            events += decoder.flush()
            spent = time.process_time() - start
            ours = sum(len(e.value) for e in events) if kind == "tty" else len(events)
            error, theirs = "", None
            try:
                if kind == "tty":
                    theirs = len(Minimodem(Path(folder)).receive(noise).strip())
                else:
                    theirs = len(run_multimon(kind, noise, RATE))
            except (PeerMissing, PeerFailed, RuntimeError) as err:
                error = str(err)
            rows.append({"kind": kind, "minutes": minutes, "ours_false": ours, "reference_false": theirs,
                         "ours_x_realtime": round(noise.shape[0] / RATE / spent, 1) if spent > 0 else None,
                         "reference": "minimodem --rx tdd" if kind == "tty" else "multimon-ng", "error": error})
    return rows


def run_signaling_bench(trials: int = 20, noise_minutes: float = 10.0, *, snrs=SNRS_DB,
                        kinds=(*MULTIMON_KINDS, "tty"), seed: int = 1) -> dict:
    results: list[dict] = []
    for kind in kinds:
        if kind == "tty":
            results += run_tty(trials, snrs, seed)
        else:
            results += run_multimon_kind(kind, trials, snrs, seed)
    false = run_false_detections(noise_minutes, kinds) if noise_minutes > 0 else []
    return {"samplerate": RATE, "trials": trials, "results": results, "false_detections": false}
