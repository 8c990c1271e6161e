"""Progress of long work: a live bar on a terminal, a throttled line in a log.

:func:`progress_bar` returns a ``tqdm`` bar when standard error is a terminal.
Otherwise (a log file, a pipe, a batch job) it returns :class:`LogProgress`,
which writes one plain line (count, rate, ETA) at most every ``interval``
seconds and a last line when closed, instead of thousands of bar redraws.
Both have ``update(n)`` and ``close()`` and work as context managers.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

LOG_INTERVAL = 5.0  # seconds between lines when not on a terminal


class LogProgress:
    """A throttled progress line for non-interactive output.

    Args:
        total: expected count (None: unknown).
        desc: what is being done (the line's prefix).
        unit: what is counted (``frame``, ``it``).
        interval: least seconds between two lines.
        file: where to write (default: standard error).
    """

    def __init__(self, total: int | None, desc: str, unit: str = "frame",
                 interval: float = LOG_INTERVAL, file: TextIO | None = None) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.interval = float(interval)
        self.file = file if file is not None else sys.stderr
        self.n = 0
        self._t0 = time.perf_counter()
        self._last = self._t0
        self._closed = False
        self._postfix = ""

    def set_postfix(self, **values: object) -> None:
        """Extra ``key=value`` fields shown at the end of the next line."""
        self._postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def _line(self) -> str:
        dt = time.perf_counter() - self._t0
        rate = self.n / dt if dt > 0 else 0.0
        done = f"{self.n}/{self.total}" if self.total else f"{self.n}"
        eta = ""
        if self.total and rate > 0 and self.n < self.total:
            eta = f", ETA {(self.total - self.n) / rate:.0f} s"
        extra = f", {self._postfix}" if self._postfix else ""
        return f"{self.desc}: {done} {self.unit}s, {rate:.1f} {self.unit}s/s{eta}{extra}"

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            print(self._line(), file=self.file, flush=True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            print(self._line() + " (done)" if self.total is None or self.n >= self.total
                  else self._line() + " (stopped)", file=self.file, flush=True)

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Off:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values: object) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Off:
        return self

    def __exit__(self, *exc) -> None:
        pass


def progress_bar(total: int | None, desc: str, *, unit: str = "frame", enabled: bool = True):
    """A ``tqdm`` bar on a terminal, a :class:`LogProgress` otherwise, or nothing.

    ``enabled=False`` gives an object whose ``update``/``close`` do nothing.
    """
    if not enabled:
        return _Off()
    stream = sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        from tqdm import tqdm

        return tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True, leave=True)
    return LogProgress(total, desc, unit)
