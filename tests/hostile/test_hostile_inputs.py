"""The hostile-input corpus (hostile_corpus.py) through the real CLI, one subprocess per case.

A refused case must exit with its code, print exactly one line on stderr and no traceback,
leave its directory byte-identical (no output, no temporary directory, input untouched),
leave $TMPDIR empty, and never run a Lambda layer's code (no marker file). A control case
must convert, so the checks are known to tell success from failure.
"""

import concurrent.futures
import hashlib
import os
import resource
import subprocess
import sys
from typing import Dict, Optional

import pytest

import hostile_corpus
from hostile_corpus import Case

CLI = [sys.executable, "-m", "tensorflowjs.converters.converter"]
PB2JSON = [sys.executable, "-c", "import sys, pb2json; sys.exit(pb2json.main(sys.argv[1:]))"]
MEMORY_LIMIT = 3 << 30  # address space of a run that never imports TensorFlow
FILE_SIZE_LIMIT = 512 << 20
TIMEOUT = {True: 60, False: 300}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("hostile"))
    return root, {c.id: c for c in hostile_corpus.build(root)}


def _snapshot(directory: str) -> Dict[str, str]:
    """Every entry under `directory`, symlinks not followed: files by content hash."""
    entries = {}
    for base, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = os.path.join(base, name)
            relative = os.path.relpath(path, directory)
            if os.path.islink(path):
                entries[relative] = "link:" + os.readlink(path)
            elif os.path.isdir(path):
                entries[relative] = "dir"
            else:
                with open(path, "rb") as f:
                    entries[relative] = hashlib.sha256(f.read()).hexdigest()
    return entries


def _limits(bounded: bool):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        if bounded:
            resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return apply


def run_case(root: str, case: Case) -> Optional[str]:
    """None if the case behaved, else what went wrong."""
    case_dir = os.path.join(root, case.id)
    tmp = os.path.join(root, "_tmp", case.id)
    os.makedirs(tmp)
    before = _snapshot(case_dir)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), TMPDIR=tmp, TF_CPP_MIN_LOG_LEVEL="3")
    env.update({k: os.path.join(case_dir, v) for k, v in case.env.items()})
    command = (PB2JSON if case.tool == "pb2json" else CLI) + case.argv
    try:
        result = subprocess.run(command, cwd=case_dir, env=env, capture_output=True, text=True, timeout=TIMEOUT[case.bounded], preexec_fn=_limits(case.bounded))
    except subprocess.TimeoutExpired:
        return "timed out"
    err = result.stderr
    problems = []
    if result.returncode != case.rc:
        problems.append(f"exit {result.returncode}, expected {case.rc}")
    if "Traceback" in err:
        problems.append("traceback")
    after = _snapshot(case_dir)
    if case.controls:
        output = os.path.join(case_dir, case.output)
        if not os.path.exists(output):
            problems.append("no output")
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k) and not (k == case.output or k.startswith(case.output + os.sep))}
    else:
        if len(err.splitlines()) != 1:
            problems.append(f"{len(err.splitlines())} stderr lines")
        if case.says not in err:
            problems.append(f"stderr lacks {case.says!r}")
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if changed:
        problems.append(f"changed in the case directory: {sorted(changed)[:5]}")
    # TensorFlow's autograph leaves the bytecode cache of the code it generates on a success.
    left = set(os.listdir(tmp)) - ({"__pycache__"} if case.controls else set())
    if left:
        problems.append(f"left in $TMPDIR: {sorted(left)}")
    if os.path.exists(os.path.join(root, hostile_corpus.MARKER)):
        problems.append("a Lambda layer's code ran")
    return f"{'; '.join(problems)}\n    stderr: {err.strip()[-600:]}" if problems else None


def _run_group(corpus, group: str) -> None:
    root, cases = corpus
    chosen = [c for c in cases.values() if c.group == group]
    assert any(c.controls for c in chosen) or group == "flags"
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = dict(zip((c.id for c in chosen), pool.map(lambda c: run_case(root, c), chosen)))
    failures = [f"{case_id}: {problem}" for case_id, problem in outcomes.items() if problem]
    strays = set(os.listdir(root)) - set(cases) - {"_base", "_tmp"}
    assert not strays, f"written outside the case directories: {strays}"
    assert not failures, "\n".join(failures)


def test_the_corpus_covers_every_input_format_with_80_cases_or_more():
    groups = {c.group for c in hostile_corpus.CASES}
    assert len(hostile_corpus.CASES) >= 80 and len({c.id for c in hostile_corpus.CASES}) == len(hostile_corpus.CASES)
    assert groups == {"keras_h5", "keras_archive", "keras_saved_model", "tf_saved_model", "tf_frozen_model", "tf_hub", "tfjs_layers", "pb2json", "flags"}


GROUPS_WITHOUT_TENSORFLOW = ["keras_h5", "keras_archive", "tfjs_layers", "flags", "pb2json"]
GROUPS_WITH_TENSORFLOW = ["tf_saved_model", "tf_frozen_model", "tf_hub", "keras_saved_model"]


@pytest.mark.parametrize("group", GROUPS_WITHOUT_TENSORFLOW + GROUPS_WITH_TENSORFLOW)
def test_hostile_inputs_are_refused_cleanly_and_controls_convert(corpus, group):
    _run_group(corpus, group)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
