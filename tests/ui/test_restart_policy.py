"""The console restarts itself for sound only when it may: never during a call, or when the operator says."""

from __future__ import annotations

from app.snapshots import AudioSnapshot
from ui.widgets.audio_alarm import AudioAlarmBanner
from ui.widgets.restart_policy import RestartPolicy

LOST = AudioSnapshot(state="fault", alarm="Audio device lost: jack died.", restart_required=True,
                     restart_after_s=0.3)


def make(qtbot, in_call: list[bool]):
    banner = AudioAlarmBanner()
    qtbot.addWidget(banner)
    restarts: list[str] = []
    policy = RestartPolicy(banner, lambda: in_call[0], restarts.append)
    banner.render(LOST)
    banner.show()
    return banner, policy, restarts


def test_counts_down_then_restarts(qtbot):
    banner, policy, restarts = make(qtbot, [False])
    policy.update(LOST)
    assert banner.restart_button.isVisible() and banner.countdown.text() == "Restarting in 1 s to bring sound back."
    qtbot.waitUntil(lambda: restarts == ["sound system lost; automatic restart"], timeout=2000)


def test_waits_for_the_call_to_end(qtbot):
    in_call = [True]
    banner, policy, restarts = make(qtbot, in_call)
    policy.update(LOST)
    qtbot.wait(600)  # twice the restart delay: nothing may happen while a call is in hand
    assert restarts == [] and banner.countdown.text() == "The console restarts after this call."
    in_call[0] = False
    qtbot.waitUntil(lambda: len(restarts) == 1, timeout=2000)


def test_zero_delay_leaves_it_to_the_operator(qtbot):
    banner, policy, restarts = make(qtbot, [False])
    policy.update(AudioSnapshot(alarm="lost", restart_required=True, restart_after_s=0.0))
    qtbot.wait(400)
    assert restarts == [] and banner.restart_button.isVisible()


def test_sound_back_disarms(qtbot):
    banner, policy, restarts = make(qtbot, [False])
    policy.update(LOST)
    policy.update(AudioSnapshot(state="up"))
    qtbot.wait(500)
    assert restarts == [] and not policy.armed and not banner.restart_button.isVisible()
