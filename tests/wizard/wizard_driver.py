"""Drives the real tensorflowjs_wizard in a pseudo-terminal, as a user at a keyboard would.

Answers are keystrokes: lists are answered by typing a filter and Enter, yes/no questions
by y or n, text questions by a line. The transcript is kept with terminal escapes removed.
"""

import os
import re
import shlex
import subprocess
import sys
from typing import Dict, List

import pexpect

from testing.files import read_tree as tree  # noqa: F401 (the wizard tests' name for it)

_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
CTRL_C, CTRL_D = "\x03", "\x04"


def _env() -> Dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        TERM="xterm",
        NO_COLOR="1",
        PROMPT_TOOLKIT_NO_CPR="1",  # nobody answers cursor-position requests in a test
        TF_CPP_MIN_LOG_LEVEL="1",
    )


class Wizard:
    def __init__(self, *args: str, cwd: str, timeout: float = 120):
        self.child = pexpect.spawn(
            sys.executable, ["-m", "tensorflowjs.wizard", *args], cwd=str(cwd), env=_env(),
            dimensions=(60, 400), encoding="utf-8", codec_errors="replace", timeout=timeout,
        )
        self._log: List[str] = []
        self.child.logfile_read = self

    # pexpect's logfile interface: collects everything the wizard prints.
    def write(self, data: str) -> None:
        self._log.append(data)

    def flush(self) -> None:
        pass

    @property
    def transcript(self) -> str:
        return _ESCAPES.sub("", "".join(self._log)).replace("\r", "")

    def wait_for(self, question: str) -> None:
        try:
            self.child.expect(re.escape(question))
        except (pexpect.TIMEOUT, pexpect.EOF):
            raise AssertionError(f"the wizard never asked {question!r}; transcript:\n{self.transcript[-3000:]}") from None

    def choose(self, question: str, filter_text: str = "") -> None:
        """A list question: type `filter_text` (a unique part of the choice), then Enter."""
        self.wait_for(question)
        self.child.send(filter_text + "\r")

    def type(self, question: str, line: str = "") -> None:
        self.wait_for(question)
        self.child.send(line + "\r")

    def yes(self, question: str) -> None:
        self.wait_for(question)
        self.child.send("y")

    def no(self, question: str) -> None:
        self.wait_for(question)
        self.child.send("n")

    def press(self, question: str, keys: str) -> None:
        self.wait_for(question)
        self.child.send(keys)

    def finish(self) -> int:
        """Waits for the wizard to exit; its exit status."""
        try:
            self.child.expect(pexpect.EOF)
        except pexpect.TIMEOUT:
            raise AssertionError(f"the wizard did not exit; transcript:\n{self.transcript[-3000:]}") from None
        self.child.close()
        return self.child.exitstatus if self.child.exitstatus is not None else 128 + (self.child.signalstatus or 0)


def printed_command(transcript: str) -> str:
    """The one `tensorflowjs_converter ...` line the wizard printed."""
    lines = [line.strip() for line in transcript.splitlines() if line.strip().startswith("tensorflowjs_converter ")]
    assert len(lines) == 1, f"expected one command line, got {lines}; transcript:\n{transcript[-3000:]}"
    return lines[0]


def run_converter(argv: List[str], cwd: str) -> subprocess.CompletedProcess:
    """tensorflowjs_converter ARGV, as a separate process, from `cwd`."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p), TF_CPP_MIN_LOG_LEVEL="1")
    return subprocess.run([sys.executable, "-m", "tensorflowjs.converters.converter", *argv], cwd=str(cwd), env=env, capture_output=True, text=True, timeout=600)


def rerun_printed_command(transcript: str, cwd: str, output_path: str) -> subprocess.CompletedProcess:
    """Runs the printed command with only its output path replaced by `output_path`."""
    words = shlex.split(printed_command(transcript))
    assert words[0] == "tensorflowjs_converter"
    return run_converter(words[1:-1] + [str(output_path)], cwd)


def listed_files(transcript: str) -> Dict[str, int]:
    """The files and sizes of the wizard's 'Wrote N files' report (without the total)."""
    report = transcript[transcript.index("Wrote "):]
    result = {}
    for line in report.splitlines()[1:]:
        match = re.match(r"^  (\S.*?)\s+([\d,]+) bytes", line)
        if not match or match.group(1) == "total":
            break
        result[match.group(1)] = int(match.group(2).replace(",", ""))
    return result


def assert_no_traceback(transcript: str) -> None:
    assert "Traceback" not in transcript, transcript[-3000:]
