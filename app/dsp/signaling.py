"""Every signaling codec by kind, for the ``decode``/``encode`` commands and the benchmark (pure NumPy, no Qt).

``make_decoder(kind, samplerate)`` gives a stateful decoder (``feed``/``flush`` -> SignalEvents);
``encode(kind, samplerate=..., **params)`` renders a signal. The codec modules load on first use, so
asking for one kind never imports the others.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from app.dsp.signal_event import SignalEvent

KINDS = ("mdc1200", "dtmf", "qc2", "zvei1", "ccir", "eea", "eia", "tty")
SELCALL_KINDS = ("zvei1", "ccir", "eea", "eia")


class SignalingError(ValueError):
    """An unknown kind, or parameters a codec cannot take (its own error text, named by kind)."""


class Decoder(Protocol):
    def feed(self, block: np.ndarray) -> list[SignalEvent]: ...
    def flush(self) -> list[SignalEvent]: ...


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise SignalingError(f"unknown signaling kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def make_decoder(kind: str, samplerate: int, **options: Any) -> Decoder:
    """A fresh decoder for ``kind`` at ``samplerate`` (codec errors come back as SignalingError)."""
    _check_kind(kind)
    try:
        if kind == "mdc1200":
            from app.dsp.mdc1200 import Mdc1200Decoder

            return Mdc1200Decoder(samplerate, **options)
        if kind == "dtmf":
            from app.dsp.dtmf_decoder import DtmfDecoder

            return DtmfDecoder(samplerate, **options)
        if kind == "qc2":
            from app.dsp.qc2_decoder import Qc2Decoder

            return Qc2Decoder(samplerate, **options)
        if kind == "tty":
            from app.dsp.baudot import TtyDecoder

            return TtyDecoder(samplerate, **options)
        from app.dsp.selcall import SelcallDecoder

        return SelcallDecoder(samplerate, kind, **options)
    except SignalingError:
        raise
    except (ValueError, TypeError) as err:
        raise SignalingError(f"{kind} decoder: {err}") from None


def decode(kind: str, samples: np.ndarray, samplerate: int, *, block: int | None = None) -> list[SignalEvent]:
    """All events in a whole recording, fed in blocks of ``block`` samples (default one second)."""
    decoder = make_decoder(kind, samplerate)
    step = block or samplerate
    events: list[SignalEvent] = []
    for start in range(0, samples.shape[0], step):
        events += decoder.feed(samples[start:start + step])
    return events + decoder.flush()


def _encode_mdc1200(samplerate: int, *, op: int, arg: int, unit: int | str, extra: bytes | None = None,
                    **options: Any) -> np.ndarray:
    from app.dsp.mdc1200 import encode_mdc1200

    return encode_mdc1200(op, arg, unit, samplerate=samplerate, extra=extra, **options)


def _encode_dtmf(samplerate: int, *, digits: str, **options: Any) -> np.ndarray:
    from app.dsp.dtmf_decoder import encode_dtmf

    return encode_dtmf(digits, samplerate, **options)


def _encode_qc2(samplerate: int, **options: Any) -> np.ndarray:
    from app.dsp.qc2_decoder import encode_qc2

    return encode_qc2(samplerate, **options)


def _selcall_encoder(kind: str) -> Callable[..., np.ndarray]:
    def encode_kind(samplerate: int, *, digits: str, **options: Any) -> np.ndarray:
        from app.dsp.selcall import encode_selcall

        return encode_selcall(kind, digits, samplerate, **options)

    return encode_kind


def _encode_tty(samplerate: int, *, text: str, **options: Any) -> np.ndarray:
    from app.dsp.baudot import encode_tty

    return encode_tty(text, samplerate=samplerate, **options)


# kind -> encoder(samplerate, **params); the params each takes: mdc1200 op/arg/unit[/extra], dtmf digits
# [on_s/off_s], qc2 tones=(a, b) or group/code[/b_group], selcall digits[/tone_s], tty text[/stop_bits].
ENCODERS: dict[str, Callable[..., np.ndarray]] = {
    "mdc1200": _encode_mdc1200,
    "dtmf": _encode_dtmf,
    "qc2": _encode_qc2,
    **{kind: _selcall_encoder(kind) for kind in SELCALL_KINDS},
    "tty": _encode_tty,
}


def encode(kind: str, *, samplerate: int, **params: Any) -> np.ndarray:
    """Float32 mono audio of one ``kind`` signal (see ENCODERS for the params each kind takes)."""
    encoder = ENCODERS[_check_kind(kind)]
    try:
        return encoder(samplerate, **params)
    except SignalingError:
        raise
    except (ValueError, TypeError) as err:
        raise SignalingError(f"{kind} encoder: {err}") from None
