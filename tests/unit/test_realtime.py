"""Realtime scheduling for the audio process: helpers go just below a realtime callback thread, and
never above an ordinary one; memory is locked only under an unlimited memlock limit."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hardware.audio import realtime

ROOT = Path(__file__).resolve().parents[2]
LOCK = "from hardware.audio.realtime import lock_memory; print(lock_memory())"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux scheduling calls")


class Parked:
    """A thread that waits until released, so its scheduling can be read and changed."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.ready = threading.Event()
        self.tid = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(5)

    def _run(self) -> None:
        self.tid = threading.get_native_id()
        self.ready.set()
        self.release.wait(30)

    def close(self) -> None:
        self.release.set()
        self.thread.join(5)


@pytest.fixture
def parked():
    threads: list[Parked] = []

    def make() -> Parked:
        threads.append(Parked())
        return threads[-1]

    yield make
    for thread in threads:
        thread.close()


def test_helpers_stay_ordinary_when_the_callback_thread_is_not_realtime(parked):
    callback, helper = parked(), parked()
    said = realtime.share_priority(callback.tid, [helper.tid])
    assert "SCHED_OTHER" in said and "not realtime" in said
    assert realtime.policy_of(helper.tid) == ("SCHED_OTHER", 0)


def test_helpers_go_one_below_a_realtime_callback_thread_where_allowed(parked):
    callback, first, second = parked(), parked(), parked()
    try:
        os.sched_setscheduler(callback.tid, os.SCHED_FIFO, os.sched_param(5))
    except PermissionError:
        # No right to realtime here: the callback cannot be realtime either; what the console says then.
        said = realtime.share_priority(callback.tid, [first.tid])
        assert "not realtime" in said and realtime.policy_of(first.tid) == ("SCHED_OTHER", 0)
        return
    said = realtime.share_priority(callback.tid, [first.tid, second.tid])
    assert said == "callback thread SCHED_FIFO 5, 2 helper threads SCHED_FIFO 4"
    assert realtime.policy_of(first.tid) == realtime.policy_of(second.tid) == ("SCHED_FIFO", 4)


def test_a_thread_that_is_gone_has_no_known_policy():
    assert realtime.policy_of(2**22 + 12345) == ("", 0)
    assert "unknown" in realtime.share_priority(2**22 + 12345, [])


def test_memory_is_locked_only_with_no_limit_to_run_into():
    # In child processes: mlockall would lock the test runner's own memory.
    def lock(*wrapper: str) -> str:
        return subprocess.run([*wrapper, sys.executable, "-c", LOCK], capture_output=True, text=True, check=True,
                              timeout=30, cwd=ROOT).stdout.strip()

    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    free_to_lock = soft == resource.RLIM_INFINITY or realtime._has_capability(realtime._CAP_IPC_LOCK)
    assert lock() == ("memory locked" if free_to_lock else
                      f"memory not locked (memlock limit {soft // 1024} KiB; needs unlimited, as the audio group has)")
    # A finite limit and no CAP_IPC_LOCK (root's is dropped with setpriv): left alone, not risked.
    drop = ("setpriv", "--bounding-set", "-ipc_lock") if os.geteuid() == 0 else ()
    assert lock(*drop, "prlimit", "--memlock=65536") == (
        "memory not locked (memlock limit 64 KiB; needs unlimited, as the audio group has)")
