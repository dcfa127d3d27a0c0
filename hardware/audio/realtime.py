"""Realtime scheduling and locked memory for the audio process (Linux; elsewhere a no-op that says so).

The sound server (JACK, or PortAudio asked to) runs the callback thread SCHED_FIFO, so no ordinary
thread can delay it, except through the GIL: when another thread of the audio process holds the
GIL and is preempted by an ordinary thread of the GUI or anything else, the callback waits for it
to be scheduled again (priority inversion; milliseconds on a busy machine, longer than a block).
``share_priority`` raises the process's other Python threads (the command receiver and the stream
supervisor, asleep nearly all the time) to realtime just below the callback, so whoever holds the
GIL runs until it lets go. ``lock_memory`` keeps every page resident, so no block waits on a page
fault. Both need the right (root, or an rtprio / memlock limit as the ``audio`` group has on
Debian); without it they report why and change nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_MCL_CURRENT, _MCL_FUTURE = 1, 2
_CAP_IPC_LOCK = 14  # linux/capability.h: locks memory whatever RLIMIT_MEMLOCK says
_REALTIME = tuple(getattr(os, name) for name in ("SCHED_FIFO", "SCHED_RR") if hasattr(os, name))


def policy_of(tid: int) -> tuple[str, int]:
    """The thread's scheduling policy name and priority, e.g. ("SCHED_FIFO", 5); ("", 0) if unknown."""
    if not hasattr(os, "sched_getscheduler"):
        return "", 0
    try:
        policy = os.sched_getscheduler(tid)
        priority = os.sched_getparam(tid).sched_priority
    except OSError:
        return "", 0
    names = {getattr(os, n): n for n in ("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_IDLE")
             if hasattr(os, n)}
    return names.get(policy, str(policy)), priority


def share_priority(callback_tid: int, helper_tids: list[int]) -> str:
    """Put ``helper_tids`` at SCHED_FIFO one below the callback thread's realtime priority.

    Returns what was done, for the technician: nothing is raised when the callback thread itself is
    not realtime (raising its helpers above it would let them delay it instead).
    """
    policy, priority = policy_of(callback_tid)
    if not policy:
        return "callback thread scheduling unknown on this system"
    if not _REALTIME or os.sched_getscheduler(callback_tid) not in _REALTIME:
        return f"callback thread {policy} (not realtime: the sound server does not run it so)"
    helper_priority = max(1, priority - 1)
    raised = []
    for tid in helper_tids:
        try:
            os.sched_setscheduler(tid, os.SCHED_FIFO, os.sched_param(helper_priority))
            raised.append(tid)
        except OSError as err:
            return (f"callback thread {policy} {priority}; helper threads stay ordinary "
                    f"(no right to realtime scheduling: {err.strerror})")
    return f"callback thread {policy} {priority}, {len(raised)} helper threads SCHED_FIFO {helper_priority}"


def lock_memory() -> str:
    """mlockall(current and future pages), only with no limit to run into; returns what happened.

    Future pages are locked too, so under a finite memlock limit a later allocation past it would
    fail: lock only when the limit is unlimited or the process may ignore it (CAP_IPC_LOCK, root).
    """
    if not sys.platform.startswith("linux"):
        return "memory not locked (Linux only)"
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != resource.RLIM_INFINITY and not _has_capability(_CAP_IPC_LOCK):
        return f"memory not locked (memlock limit {soft // 1024} KiB; needs unlimited, as the audio group has)"
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.mlockall(_MCL_CURRENT | _MCL_FUTURE) == 0:
        return "memory locked"
    error = ctypes.get_errno()
    return f"memory not locked ({os.strerror(error)})"


def _has_capability(bit: int) -> bool:
    """Whether this process's effective capabilities include ``bit`` (from /proc/self/status)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError, IndexError):
        pass
    return False
