"""Progress on a terminal for long conversions; silent when stderr is not a TTY."""

import sys
import time


class Progress:
    """A one-line byte counter on stderr, redrawn at most ten times a second."""

    _MIN_TOTAL = 64 * 1024 * 1024  # small models finish before a bar is worth drawing

    def __init__(self, label: str, total: int, stream=None):
        self._stream = stream or sys.stderr
        self._label = label
        self._total = total
        self._done = 0
        self._last = 0.0
        self._active = total >= self._MIN_TOTAL and getattr(self._stream, "isatty", lambda: False)()

    def advance(self, nbytes: int) -> None:
        self._done += nbytes
        now = time.monotonic()
        if self._active and now - self._last >= 0.1:
            self._last = now
            percent = 100 * self._done // max(self._total, 1)
            self._stream.write(f"\r{self._label}: {self._done / 2**20:.0f}/{self._total / 2**20:.0f} MiB ({percent}%)")
            self._stream.flush()

    def done(self) -> None:
        if self._active and self._last:
            self._stream.write("\n")
            self._stream.flush()
