"""The position's sound device as the mixer sees it: which column is which (pure; no Qt).

The profile names device channels (1-based, inputs and outputs counted separately) in
``[audio.channels]``; radios name their receive and transmit ports there. The engine works on the
device's channels directly (column k = device channel k + 1), so a block goes from PortAudio to the
matmul without a copy; channels nobody named get no gain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.dsp.mixplan import Endpoints

_OUTPUT_LABELS = {
    "headset_left": "Headset L",
    "headset_right": "Headset R",
    "select_speaker": "Select speaker",
    "unselect_speaker": "Unselect speaker",
    "phone_tx": "Phone line out",
}
_INPUT_LABELS = {
    "headset_mic": "Headset mic",
    "headset_mic2": "Headset mic 2",
    "desk_mic": "Desk mic",
    "phone_rx": "Phone line in",
}


@dataclass(frozen=True)
class AudioMap:
    endpoints: Endpoints
    input_labels: tuple[str, ...]  # per input column, for meters and the technician
    output_labels: tuple[str, ...]
    radio_rx: Mapping[str, int]  # radio id -> input column
    radio_tx: Mapping[str, int]  # radio id -> output column
    trc_outputs: Mapping[str, int]  # tone-remote radio id -> its line's output column

    @property
    def n_in(self) -> int:
        return self.endpoints.n_in

    @property
    def n_out(self) -> int:
        return self.endpoints.n_out

    @property
    def recall_inputs(self) -> tuple[int, ...]:
        """Radio receive columns, in radio order (the recorder's channel k is this tuple's k-th)."""
        return tuple(self.radio_rx.values())


def audio_map(channels: Mapping[str, int], radios: list[tuple[str, str, str, str, str]]) -> AudioMap:
    """``channels`` is [audio.channels]; each radio is (id, name, kind, rx_input, tx_output).

    The profile's validation has already checked sides and clashes; ``Endpoints`` checks again.
    """
    col = {name: number - 1 for name, number in channels.items()}
    radio_rx = {rid: col[rx] for rid, _n, _k, rx, _tx in radios if rx in col}
    radio_tx = {rid: col[tx] for rid, _n, _k, _rx, tx in radios if tx in col}
    trc = {rid: col[tx] for rid, _n, kind, _rx, tx in radios if kind == "tone-remote" and tx in col}
    inputs = [col[n] for n in _INPUT_LABELS if n in col] + list(radio_rx.values())
    outputs = [col[n] for n in _OUTPUT_LABELS if n in col] + list(radio_tx.values())
    n_in = max(inputs, default=-1) + 1
    n_out = max(outputs, default=-1) + 1

    mics = tuple(col[n] for n in ("headset_mic", "headset_mic2") if n in col)
    endpoints = Endpoints(
        n_in=n_in, n_out=n_out, radio_rx=radio_rx, radio_tx=radio_tx,
        phone_rx=col.get("phone_rx"), phone_tx=col.get("phone_tx"), headset_mics=mics,
        desk_mic=col.get("desk_mic"), headset_left=col.get("headset_left"),
        headset_right=col.get("headset_right"), select_speaker=col.get("select_speaker"),
        unselect_speaker=col.get("unselect_speaker"),
    )
    in_labels = [f"In {k + 1}" for k in range(n_in)]
    out_labels = [f"Out {k + 1}" for k in range(n_out)]
    for name, label in _INPUT_LABELS.items():
        if name in col:
            in_labels[col[name]] = label
    for name, label in _OUTPUT_LABELS.items():
        if name in col:
            out_labels[col[name]] = label
    names = {rid: name for rid, name, _k, _rx, _tx in radios}
    for rid, k in radio_rx.items():
        in_labels[k] = f"{names[rid]} RX"
    for rid, k in radio_tx.items():
        out_labels[k] = f"{names[rid]} TX"
    return AudioMap(endpoints, tuple(in_labels), tuple(out_labels), radio_rx, radio_tx, trc)
