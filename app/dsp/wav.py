"""Mono 16-bit PCM WAV files from float samples (stdlib ``wave``)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Full scale 1.0 -> 32767, rounded to nearest; anything beyond full scale is clipped."""
    return np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767).astype("<i2")


def write_wav(path: str | Path, samples: np.ndarray, rate: int) -> None:
    pcm = to_int16(samples).tobytes()
    with open(path, "wb") as file, wave.open(file, "wb") as out:  # open() first: a bad path raises cleanly
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(int(rate))
        out.writeframes(pcm)


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(float64 samples in [-1, 1), rate) of a mono 16-bit WAV file."""
    with wave.open(str(path), "rb") as src:
        if src.getnchannels() != 1 or src.getsampwidth() != 2:
            raise ValueError(f"{path}: expected mono 16-bit PCM, got {src.getnchannels()} channel(s) of "
                             f"{src.getsampwidth() * 8} bits")
        data = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
        return data.astype(np.float64) / 32767.0, src.getframerate()
