"""Wall time and peak RSS of one command, run in a fresh child process as a user would run it."""

import os
import subprocess
import sys
from typing import Dict, Optional, Sequence, Tuple

_PROBE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, rc)\n"
)


def measure(args: Sequence[str], env: Optional[Dict[str, str]] = None) -> Tuple[float, float]:
    """(seconds, peak RSS in MB) of `args`; SystemExit if the command fails."""
    env = env if env is not None else dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, check=True, env=env)
    seconds, rss, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"benchmark: {' '.join(args)} failed (exit {rc}); run it by hand to see why")
    return float(seconds), float(rss)
