"""Mix plan rules with hand-written expected gain matrices.

Small desk: inputs R1 rx, R2 rx, phone rx, headset mic, desk mic; outputs headset L/R, select
speaker, unselect speaker, R1 tx, R2 tx, phone tx. Pan law: constant power, -3.01 dB at centre.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.dsp.mixplan import (
    ChannelState,
    Endpoints,
    HangTimer,
    MixOptions,
    MixState,
    PhoneState,
    compute_plan,
    pan_gains,
)

R1, R2, PH, HMIC, DMIC = range(5)
HL, HR, SEL, UNSEL, R1TX, R2TX, PHTX = range(7)
C = math.sqrt(0.5)  # centre pan: -3.01 dB per ear
U = 10 ** (-9 / 20)  # default unselect level in the headset
D = 10 ** (-12 / 20)  # default duck and sidetone level

EP = Endpoints(
    n_in=5, n_out=7,
    radio_rx={"R1": R1, "R2": R2}, radio_tx={"R1": R1TX, "R2": R2TX},
    phone_rx=PH, phone_tx=PHTX, headset_mics=(HMIC,), desk_mic=DMIC,
    headset_left=HL, headset_right=HR, select_speaker=SEL, unselect_speaker=UNSEL,
)


def state(r1: dict | None = None, r2: dict | None = None, **kw) -> MixState:
    r1 = {"selected": True, **(r1 or {})}
    return MixState(channels=(ChannelState("R1", **r1), ChannelState("R2", **(r2 or {}))), **kw)


def expect(rows: dict[tuple[int, int], float]) -> np.ndarray:
    g = np.zeros((5, 7))
    for (i, o), v in rows.items():
        g[i, o] = v
    return g


def check(st: MixState, rows: dict[tuple[int, int], float]) -> None:
    plan = compute_plan(st, EP)
    assert plan.G.dtype == np.float32 and plan.G.flags.c_contiguous and not plan.G.flags.writeable
    np.testing.assert_allclose(plan.G, expect(rows), rtol=0, atol=1e-7)


def test_selected_to_headset_unselected_to_unselect_speaker():
    check(state(), {(R1, HL): C, (R1, HR): C, (R2, UNSEL): 1.0})


def test_unselected_in_headset_at_minus_9_db():
    check(state(options=MixOptions(unselect_mode="headset")),
          {(R1, HL): C, (R1, HR): C, (R2, HL): U * C, (R2, HR): U * C})


def test_split_ears_select_left_unselect_right():
    check(state(options=MixOptions(split_ears=True)), {(R1, HL): 1.0, (R2, HR): U})
    check(state(options=MixOptions(split_ears=True, select_ear="right")), {(R1, HR): 1.0, (R2, HL): U})


def test_mute_silences_operator_outputs_only():
    check(state(r1={"mute": True}, r2={"mute": True}), {})
    st = state(r1={"mute": True, "receiving": True}, patches=(("R1", "R2"),))
    check(st, {(R1, R2TX): 1.0, (R2, UNSEL): 1.0})


def test_pan_law_and_volume():
    assert pan_gains(0.0) == pytest.approx((C, C))
    assert 20 * math.log10(pan_gains(0.0)[0]) == pytest.approx(-3.0103, abs=1e-4)
    assert pan_gains(-1.0) == pytest.approx((1.0, 0.0))
    assert pan_gains(1.0) == pytest.approx((0.0, 1.0), abs=1e-12)
    l, r = math.cos(0.75 * math.pi / 2), math.sin(0.75 * math.pi / 2)  # pan +0.5
    check(state(r1={"pan": -1.0, "volume_db": -6.0}), {(R1, HL): 10 ** (-6 / 20), (R2, UNSEL): 1.0})
    check(state(r1={"pan": 0.5}), {(R1, HL): l, (R1, HR): r, (R2, UNSEL): 1.0})
    with pytest.raises(ValueError, match="'R1' pan 1.5"):
        compute_plan(state(r1={"pan": 1.5}), EP)


def test_master_volumes_scale_operator_outputs():
    h, s = 10 ** (-6 / 20), 10 ** (-3 / 20)
    opts = MixOptions(headset_db=-6.0, unselect_speaker_db=-3.0)
    check(state(r1={"keyed": True}, options=opts),
          {(R1, HL): C * h, (R1, HR): C * h, (R2, UNSEL): s, (HMIC, HL): D * h, (HMIC, HR): D * h, (HMIC, R1TX): 1.0})


def test_headset_unplugged_moves_select_audio_and_mic():
    st = state(r1={"keyed": True}, headset_present=False, options=MixOptions(unselect_mode="headset"))
    check(st, {(R1, SEL): 1.0, (R2, UNSEL): 1.0, (DMIC, R1TX): 1.0})
    plan = compute_plan(st, EP)
    assert plan.replay_gains.tolist() == [0, 0, 1, 0, 0, 0, 0]


def test_keyed_channels_get_the_mic_with_sidetone():
    check(state(r1={"keyed": True}), {(R1, HL): C, (R1, HR): C, (R2, UNSEL): 1.0,
                                     (HMIC, R1TX): 1.0, (HMIC, HL): D, (HMIC, HR): D})
    # multi-select: both keyed at once
    check(state(r1={"keyed": True}, r2={"keyed": True}, options=MixOptions(sidetone_db=None)),
          {(R1, HL): C, (R1, HR): C, (R2, UNSEL): 1.0, (HMIC, R1TX): 1.0, (HMIC, R2TX): 1.0})


def test_patch_routes_rx_to_the_others_tx_while_carrier():
    base = {(R1, HL): C, (R1, HR): C, (R2, UNSEL): 1.0}
    check(state(patches=(("R1", "R2"),)), base)
    check(state(r1={"receiving": True}, patches=(("R1", "R2"),)), {**base, (R1, R2TX): 1.0})
    check(state(r1={"receiving": True}, r2={"receiving": True}, patches=(("R1", "R2"),)),
          {**base, (R1, R2TX): 1.0, (R2, R1TX): 1.0})
    with pytest.raises(ValueError, match="unknown channel 'R9'"):
        compute_plan(state(patches=(("R1", "R9"),)), EP)


def test_hang_timer_holds_carrier():
    hang = HangTimer(2.0)
    hang.update("R1", True, 10.0)
    assert hang.held("R1", 10.0)
    hang.update("R1", False, 11.0)
    assert hang.held("R1", 12.9)
    assert not hang.held("R1", 13.0)
    assert not hang.held("R2", 13.0)


def test_phone_call_priority_ducks_radio_and_mic_goes_to_phone():
    st = state(phone=PhoneState(call_active=True))
    check(st, {(R1, HL): C * D, (R1, HR): C * D, (R2, UNSEL): 1.0, (PH, HL): C, (PH, HR): C, (HMIC, PHTX): 1.0})
    st = state(r1={"keyed": True}, phone=PhoneState(call_active=True), options=MixOptions(duck_db=-20.0))
    d = 0.1
    check(st, {(R1, HL): C * d, (R1, HR): C * d, (R2, UNSEL): 1.0, (PH, HL): C, (PH, HR): C,
               (HMIC, R1TX): 1.0, (HMIC, HL): D, (HMIC, HR): D})


def test_radio_ducks_on_a_call_even_when_the_phone_audio_bypasses_this_device():
    ep = Endpoints(n_in=5, n_out=7, radio_rx={"R1": R1, "R2": R2}, radio_tx={"R1": R1TX, "R2": R2TX},
                   headset_mics=(HMIC,), headset_left=HL, headset_right=HR, unselect_speaker=UNSEL)
    plan = compute_plan(state(phone=PhoneState(call_active=True)), ep)
    np.testing.assert_allclose(plan.G, expect({(R1, HL): C * D, (R1, HR): C * D, (R2, UNSEL): 1.0}), atol=1e-7)


def test_phone_patch_connects_line_and_radio():
    st = state(r2={"receiving": True}, phone=PhoneState(call_active=True, patch_channel="R2"))
    check(st, {(R1, HL): C * D, (R1, HR): C * D, (R2, UNSEL): 1.0, (PH, HL): C, (PH, HR): C,
               (HMIC, PHTX): 1.0, (PH, R2TX): 1.0, (R2, PHTX): 1.0})
    plan = compute_plan(st, EP)
    assert plan.transmit_outputs == {R1TX, R2TX, PHTX}
    assert plan.live_transmit == {R2TX, PHTX}
    assert plan.replay_gains.tolist() == [1, 1, 0, 0, 0, 0, 0]


def test_nothing_reaches_its_own_transmit_output():
    st = state(r1={"receiving": True, "keyed": True}, r2={"receiving": True, "keyed": True},
               patches=(("R1", "R2"),), phone=PhoneState(call_active=True, patch_channel="R1"))
    g = compute_plan(st, EP).G
    assert g[R1, R1TX] == 0 and g[R2, R2TX] == 0 and g[PH, PHTX] == 0


def test_bad_endpoints_are_named():
    with pytest.raises(ValueError, match="output index 9 is outside 0..6"):
        Endpoints(n_in=5, n_out=7, radio_tx={"R1": 9})
    with pytest.raises(ValueError, match="input index is used twice"):
        Endpoints(n_in=5, n_out=7, radio_rx={"R1": 0, "R2": 0})
