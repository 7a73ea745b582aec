"""Running a command on a pseudo-terminal, as a user at a terminal would, and reading what it shows."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from typing import Dict, List, Optional, Tuple


def run_on_terminal(argv: List[str], env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None, timeout: float = 300,
                    columns: int = 100) -> Tuple[int, str]:
    """(exit code, everything written to the terminal) of `argv` run with stdin, stdout and stderr
    on one 24-line pseudo-terminal; the process is killed past `timeout` seconds."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.5)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal's last descriptor
                break
            if not data:
                break
            chunks.append(data)
        else:
            process.kill()
            raise AssertionError(f"{argv[:3]} still ran after {timeout} s")
        return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(master)


def visible_lines(text: str) -> List[str]:
    """What stays on screen: each line's text after its last carriage return, blank lines dropped."""
    lines = [line.rsplit("\r", 1)[-1] for line in text.replace("\r\n", "\n").split("\n")]
    return [line for line in lines if line.strip()]
