"""One decoded signaling event, shared by every codec in ``app.dsp`` (pure data, no Qt).

Every decoder (MDC1200, DTMF, Quick Call II, 5-tone, TTY) returns these from ``feed``/``flush``;
``as_json`` is the one-line form ``dispatch-console decode`` prints and the event log stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SignalEvent:
    """``kind`` decoded at ``t`` seconds from the start of the stream (the start of the signal).

    ``value`` is a digit string, a tone pair ``(hz_a, hz_b)``, decoded text, or for MDC1200 a dict
    ``{"op", "arg", "unit", "meaning"}``. ``extra`` carries codec-specific details (capcode, polarity ...).
    """

    t: float
    kind: str  # "mdc1200", "dtmf", "qc2", "zvei1", "ccir", "eea", "eia", "tty"
    value: object
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"t": round(self.t, 3), "kind": self.kind, "value": value, **self.extra}
