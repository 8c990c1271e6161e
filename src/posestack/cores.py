"""How busy this machine's cores are right now, from ``/proc/stat``.

The 1-minute load average remembers processes that have just ended (it decays over a
minute), so a run started right after another, as in a shell loop over videos or a
benchmark, reads a busy machine where the cores are in fact free. :func:`others_busy`
measures instead the CPU time that other processes spent on the cores this process may
use, over a short window that ends now.
"""

from __future__ import annotations

import os
import time

_MARK: tuple[float, float, float] | None = None


def _usable_cpus() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return set(range(os.cpu_count() or 1))


def _snapshot() -> tuple[float, float, float] | None:
    """(monotonic s, busy CPU s of the usable cores, this process's CPU s); None
    where ``/proc/stat`` cannot be read."""
    try:
        with open("/proc/stat") as f:
            lines = [ln.split() for ln in f if ln.startswith("cpu") and ln[3:4].isdigit()]
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    usable = _usable_cpus()
    busy = 0
    for fields in lines:
        if int(fields[0][3:]) not in usable:
            continue
        ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
        busy += sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
    own = os.times()
    return time.monotonic(), busy / hz, own.user + own.system


def others_busy(min_window: float = 0.2) -> float | None:
    """Cores' worth of CPU that other processes used over the last ``min_window`` s or
    more (since the previous call, or since this module was imported), on the cores this
    process may run on: 0.0 on an idle machine, about 1.0 with one other busy thread.
    None where it cannot be measured (no ``/proc/stat``).

    Waits up to ``min_window`` seconds when the window so far is shorter.
    """
    global _MARK
    start = _MARK or _snapshot()
    if start is None:
        return None
    wait = min_window - (time.monotonic() - start[0])
    if wait > 0:
        time.sleep(wait)
    end = _snapshot()
    if end is None:
        return None
    _MARK = end
    span = end[0] - start[0]
    if span <= 0:
        return None
    return max(0.0, ((end[1] - start[1]) - (end[2] - start[2])) / span)


_MARK = _snapshot()
