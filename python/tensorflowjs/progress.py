"""Progress of long conversions on a terminal, drawn by tqdm; nothing at all when stderr is not a TTY.

A conversion run by the CLI has one status line naming its step (reading the input, optimising
the graph, writing weights) with the time so far; a step that counts bytes adds a bar with its
rate and ETA under it. Lines appear only once a step has lasted a second, and are cleared when
it ends, so what stays on the terminal after a success is the one summary line.
"""

import contextlib
import os
import shutil
import sys
import threading
import time
from typing import Callable, Dict, Iterator, Optional, Tuple

from tqdm import tqdm

_DELAY = 1.0  # seconds a step runs before its line is drawn: quick conversions stay silent
_TICK = 0.25  # seconds between redraws of the status line's clock
_MIN_BAR_BYTES = 64 * 1024 * 1024  # fewer bytes are written before a bar is worth drawing


def on_terminal() -> bool:
    return getattr(sys.stderr, "isatty", lambda: False)()


def _bar(**kwargs) -> tqdm:
    """A transient tqdm line on stderr, sized by shutil: a terminal that reports no size (a bare
    pseudo-terminal) gets 80x24 instead of tqdm's reading, which hides every line."""
    columns, lines = shutil.get_terminal_size()
    return tqdm(file=sys.stderr, leave=False, ncols=columns, nrows=lines, **kwargs)


class _StatusLine:
    """The step a conversion is in and its time so far, redrawn by a daemon thread."""

    def __init__(self, label: str):
        self._label, self._start = label, time.monotonic()
        self._bar: Optional[tqdm] = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="tensorflowjs-progress", daemon=True)
        self._thread.start()

    def describe(self, label: str) -> None:
        with self._lock:
            self._label = label
            self._draw()

    def show(self) -> None:
        """Draws the line now (a bar is about to appear under it)."""
        with self._lock:
            self._draw(force=True)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            if self._bar is not None:
                self._bar.close()

    def _tick(self) -> None:
        if self._stop.wait(_DELAY):
            return
        while not self._stop.is_set():
            with self._lock:
                self._draw(force=True)
            self._stop.wait(_TICK)

    def _draw(self, force: bool = False) -> None:
        if self._bar is None and not force:
            return
        if self._bar is None:
            self._bar = _bar(bar_format="{desc}")
        self._bar.set_description_str(f"{self._label} {tqdm.format_interval(time.monotonic() - self._start)}")


_line: Optional[_StatusLine] = None


@contextlib.contextmanager
def step(label: str) -> Iterator[None]:
    """Names the step on the running conversion's status line, or shows a line of its own."""
    global _line
    if not on_terminal():
        yield
    elif _line is not None:
        _line.describe(label)
        yield
    else:
        _line = _StatusLine(label)
        try:
            yield
        finally:
            _line.close()
            _line = None


@contextlib.contextmanager
def counting_bytes(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A step that writes `total` bytes; yields the function to call with each chunk's size."""
    with step(label):
        if _line is None or total < _MIN_BAR_BYTES:
            yield lambda nbytes: None
            return
        _line.show()
        with _bar(total=total, unit="B", unit_scale=True, unit_divisor=1024, mininterval=0.1) as bar:
            yield bar.update


def snapshot(path: str) -> Dict[str, Tuple[int, int, int]]:
    """(size, mtime_ns, inode) of every file at `path` (a file or a directory tree): compared
    before and after a conversion, what it wrote (an existing output directory keeps its other files)."""
    if os.path.isfile(path):
        s = os.stat(path)
        return {path: (s.st_size, s.st_mtime_ns, s.st_ino)}
    result = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            s = os.stat(full)
            result[full] = (s.st_size, s.st_mtime_ns, s.st_ino)
    return result


def human_size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def summary(output_path: str, output_format: str, written: Dict[str, Tuple[int, int, int]], seconds: float) -> str:
    count, nbytes = len(written), sum(stat[0] for stat in written.values())
    return f"wrote {output_format} to {output_path}: {count} file{'s' * (count != 1)}, {human_size(nbytes)} in {seconds:.1f} s"


def run_conversion(convert: Callable[[], None], input_path: str, output_path: str, output_format: str) -> None:
    """The CLI's conversion: on a terminal, with its status line and one summary line of what it wrote."""
    if not on_terminal():
        convert()
        return
    before, start = snapshot(output_path) if os.path.exists(output_path) else {}, time.monotonic()
    with step(f"reading {input_path}"):
        convert()
    written = {path: stat for path, stat in snapshot(output_path).items() if before.get(path) != stat}
    print(summary(output_path, output_format, written, time.monotonic() - start), file=sys.stderr)
