"""The fuzzing harness: mutators of bytes, JSON and protocol buffers, and a time-boxed runner.

A parser of untrusted bytes may only answer bad input with ConversionError. Anything else
(another exception, a hang, memory past a bound) is a failure, which hypothesis then shrinks
to a small reproducer. Budgets are in seconds: TFJS_FUZZ_SECONDS per parser (default small,
for the test suite); a long run sets it high (see the README's "Fuzzing and sanitizers").
"""

import contextlib
import math
import os
import pickle
import resource
import signal
import time
import traceback
from typing import Any, Callable, Iterator, List

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from tensorflowjs.errors import ConversionError

SECONDS = float(os.environ.get("TFJS_FUZZ_SECONDS", "3"))
# One input may take this long; longer is a hang. An isolated target (below) counts CPU seconds,
# which a busy machine does not inflate; it is killed at this bound instead of being waited on.
HANG_SECONDS = float(os.environ.get("TFJS_FUZZ_HANG_SECONDS", "20"))
# An isolated input stuck without using CPU (sleeping, blocked) is killed after this much wall time.
_WALL_FACTOR = 6
# Growth of the process's peak RSS over the whole run past this is a memory failure.
MEMORY_BOUND_BYTES = int(os.environ.get("TFJS_FUZZ_MEMORY_MB", "1536")) << 20
CHUNK = 25  # examples per hypothesis run; each run has its own seed
MIN_EXAMPLES = 5  # run even when one input takes longer than the whole budget
# A long run records each failure and goes on fuzzing (then fails listing them all).
KEEP_GOING = bool(os.environ.get("TFJS_FUZZ_KEEP_GOING"))
# Each failing input is pickled into this directory, to be replayed (pickle.load, then the target).
FINDINGS_DIR = os.environ.get("TFJS_FUZZ_FINDINGS_DIR")


class Hang(Exception):
    """An input that kept a parser busy past HANG_SECONDS."""


class MemoryBound(Exception):
    """An input that made the process grow past MEMORY_BOUND_BYTES."""


class ChildFailure(Exception):
    """An exception other than ConversionError in an isolated target's child process."""

    def __init__(self, finding: str, details: str):
        super().__init__(f"{finding}\n{details}")
        self.finding = finding


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@contextlib.contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    def expire(signum, frame):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def only_conversion_errors(target: Callable[[Any], Any], value: Any, allowed=()) -> None:
    """Runs target(value); ConversionError (and `allowed`) are answers, anything else fails."""
    with _watchdog(HANG_SECONDS):
        try:
            target(value)
        except (ConversionError,) + tuple(allowed):
            pass


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def isolated(target: Callable[[Any], Any], allowed=(), cpu_seconds: float = None) -> Callable[[Any], None]:
    """`target` run in a forked child per input, under RLIMIT_CPU of `cpu_seconds` (HANG_SECONDS).

    For parsers in native code (libhdf5) that cannot be interrupted: SIGALRM only lands once
    the C call returns, and libhdf5 spends tens of seconds on some damaged files, so a round
    waited on them. The child is killed at the bound instead (a Hang, its input recorded), and
    its own peak RSS is the memory measure. The child answers through a pipe: nothing for
    success or ConversionError, else the finding and its traceback.
    """

    bound = HANG_SECONDS if cpu_seconds is None else cpu_seconds

    def run(value: Any) -> None:
        read_end, write_end = os.pipe()
        at_fork = _rss()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child leaves only through os._exit
            os.close(read_end)
            report = b""
            try:
                used = resource.getrusage(resource.RUSAGE_SELF)
                cpu = math.ceil(used.ru_utime + used.ru_stime + bound)
                resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
                try:
                    target(value)
                except (ConversionError,) + tuple(allowed):
                    pass
            except BaseException as e:  # noqa: BLE001 - every other exception is the finding
                report = pickle.dumps((_finding(e), traceback.format_exc()))
            finally:
                with os.fdopen(write_end, "wb") as f:
                    f.write(report)
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as f:
            report, status, usage = _wait_for(pid, f, _WALL_FACTOR * bound)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
            raise Hang(f"no answer within {bound:.0f} s of CPU (or {_WALL_FACTOR * bound:.0f} s of wall time)")
        if os.WIFSIGNALED(status) or os.WEXITSTATUS(status):
            raise ChildFailure(f"child died ({_status_text(status)})", "")
        if report:
            raise ChildFailure(*pickle.loads(report))
        if usage.ru_maxrss * 1024 - at_fork > MEMORY_BOUND_BYTES:
            raise MemoryBound(f"the child's peak RSS grew by {(usage.ru_maxrss * 1024 - at_fork) >> 20} MiB")

    run.isolated = True
    return run


def _wait_for(pid: int, pipe, wall_seconds: float) -> tuple:
    """(report bytes, wait status, rusage) of the child, killed past `wall_seconds`."""
    import select

    deadline = time.monotonic() + wall_seconds
    chunks = []
    while True:
        ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            break
        chunk = os.read(pipe.fileno(), 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    _, status, usage = os.wait4(pid, 0)
    return b"".join(chunks), status, usage


def _status_text(status: int) -> str:
    return f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"


def _save_finding(value: Any) -> None:
    os.makedirs(FINDINGS_DIR, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}.pickle"
    with open(os.path.join(FINDINGS_DIR, name), "wb") as f:
        pickle.dump(value, f)


def fuzz(strategy: st.SearchStrategy, target: Callable[[Any], Any], allowed=(), seconds: float = None, name: str = "") -> int:
    """Feeds `target` inputs drawn from `strategy` for `seconds`; returns how many ran.

    An `isolated(...)` target brings its own time and memory bounds (per child); any other runs
    here under a SIGALRM watchdog, with the growth of this process's peak RSS as the memory bound.
    """
    seconds = SECONDS if seconds is None else seconds
    baseline = _peak_rss()
    deadline = time.monotonic() + seconds
    count = [0]

    # A long run records failures unshrunk: shrinking an input that hangs for HANG_SECONDS can take hours.
    phases = [p for p in Phase if p != Phase.shrink] if KEEP_GOING else list(Phase)

    @settings(max_examples=CHUNK, deadline=None, database=None, suppress_health_check=list(HealthCheck), phases=phases)
    @given(strategy)
    def run(value):
        if count[0] >= MIN_EXAMPLES and time.monotonic() > deadline:
            return  # the budget is spent: let the chunk end without running the parser
        count[0] += 1
        try:
            if getattr(target, "isolated", False):
                target(value)  # no watchdog here: its SIGALRM would leave the child running
            else:
                only_conversion_errors(target, value, allowed)
            if _peak_rss() - baseline > MEMORY_BOUND_BYTES:
                raise MemoryBound(f"peak RSS grew by {(_peak_rss() - baseline) >> 20} MiB")
        except Exception:
            if FINDINGS_DIR:
                _save_finding(value)
            raise

    chunk, failures = 0, []
    while chunk == 0 or time.monotonic() < deadline:
        try:
            seed(int(os.environ.get("TFJS_FUZZ_SEED", "0")) * 100003 + chunk)(run)()
        except Exception as e:  # noqa: BLE001 - a long run records every finding, then fails
            if not KEEP_GOING:
                raise
            failures.append(_finding(e))
        chunk += 1
    if os.environ.get("TFJS_FUZZ_REPORT"):
        with open(os.environ["TFJS_FUZZ_REPORT"], "a") as f:
            f.write(f"{name or getattr(target, '__name__', '?')}\t{count[0]} inputs\t{seconds:.0f} s\t{len(failures)} failures\n")
            f.writelines(f"  {failure}\n" for failure in sorted(set(failures)))
    assert not failures, "\n".join(sorted(set(failures)))
    return count[0]


def _finding(error: BaseException) -> str:
    """One line per distinct crash: its type, message and the innermost frame of our code."""
    errors = list(getattr(error, "exceptions", [error]))
    lines = []
    for e in errors:
        if isinstance(e, ChildFailure):
            lines.append(e.finding)
            continue
        frames = [f for f in traceback.extract_tb(e.__traceback__) if "/tensorflowjs/" in f.filename or "/tools/" in f.filename]
        where = f"{frames[-1].filename.split('/python/')[-1]}:{frames[-1].lineno}" if frames else "?"
        lines.append(f"{type(e).__name__} at {where}: {str(e).splitlines()[0][:160] if str(e) else ''}")
    return " | ".join(lines)


# --- bytes ----------------------------------------------------------------------------------

_INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\xff\xff\xff\x7f",
                b"\x00\x00\x00\x80", b"\xff" * 8, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", b"\x01", b"\x10"]


@st.composite
def mutated_bytes(draw, seeds: List[bytes], max_mutations: int = 8) -> bytes:
    """A seed with a few byte-level mutations: bit flips, interesting values, inserts, deletes,
    truncation and duplicated ranges (the classic mutations of coverage-guided fuzzers)."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, max_mutations))):
        kind = draw(st.sampled_from(["flip", "byte", "interesting", "insert", "delete", "truncate", "duplicate"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and data:
            data[pos] = draw(st.integers(0, 255))
        elif kind == "interesting":
            value = draw(st.sampled_from(_INTERESTING))
            data[pos:pos + len(value)] = value
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[pos:pos + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del data[pos:]
        elif kind == "duplicate" and data:
            end = min(len(data), pos + draw(st.integers(1, 64)))
            at = draw(st.integers(0, len(data)))
            data[at:at] = data[pos:end]
    return bytes(data)


# --- JSON -----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64), st.sampled_from([0, 1, -1, 2**31, 2**53, 10**12]),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["", "float32", "uint8", "int32", "string", "Dense", "InputLayer", "Functional", "Sequential", "__keras_tensor__",
                     "../x", "/etc/passwd", "group1-shard1of1.bin", "relu", "hard_sigmoid", "kernel"]),
)
json_values = st.recursive(json_scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=10)


def _containers(value: Any, path=()) -> Iterator[tuple]:
    """(path, value) of every node of a JSON tree, iteratively."""
    pending = [(path, value)]
    while pending:
        here, node = pending.pop()
        yield here, node
        if isinstance(node, dict):
            pending.extend((here + (k,), v) for k, v in node.items())
        elif isinstance(node, list):
            pending.extend((here + (i,), v) for i, v in enumerate(node))


def _copy(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


@st.composite
def mutated_json(draw, seeds: List[Any], max_mutations: int = 4) -> Any:
    """A seed JSON tree with a few structural mutations: a node replaced by another value or
    type, a key dropped, a list element removed or duplicated, a list turned into an object."""
    tree = _copy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, max_mutations))):
        nodes = list(_containers(tree))
        path, node = nodes[draw(st.integers(0, len(nodes) - 1))]
        kind = draw(st.sampled_from(["replace", "retype", "drop", "duplicate", "wrap"]))
        if kind == "replace":
            new = draw(json_values)
        elif kind == "retype":
            new = {str(i): v for i, v in enumerate(node)} if isinstance(node, list) else list(node.values()) if isinstance(node, dict) else [node]
        elif kind == "drop" and isinstance(node, (dict, list)) and node:
            new = node
            key = draw(st.sampled_from(list(node.keys()) if isinstance(node, dict) else list(range(len(node)))))
            del new[key]
        elif kind == "duplicate" and isinstance(node, list) and node:
            new = node + [_copy(node[draw(st.integers(0, len(node) - 1))])]
        elif kind == "wrap":
            new = {"class_name": draw(json_scalars), "config": node}
        else:
            new = draw(json_values)
        if not path:
            tree = new
        else:
            parent = tree
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = new
    return tree


# --- protocol buffers -----------------------------------------------------------------------


def _proto_fields(message: Any) -> List[tuple]:
    """(message, field descriptor) for every field of every message in a proto tree."""
    found, pending = [], [message]
    while pending:
        current = pending.pop()
        for field in current.DESCRIPTOR.fields:
            found.append((current, field))
            if field.message_type is None:
                continue
            if field.is_repeated:
                values = getattr(current, field.name)
                if field.message_type.GetOptions().map_entry:
                    value_field = field.message_type.fields_by_name["value"]
                    if value_field.message_type is not None:
                        pending.extend(values[k] for k in values)
                else:
                    pending.extend(values)
            elif current.HasField(field.name):
                pending.append(getattr(current, field.name))
    return found


def _scalar(draw, field) -> Any:
    t = field.type
    if t == field.TYPE_BOOL:
        return draw(st.booleans())
    if t in (field.TYPE_STRING,):
        return draw(st.one_of(st.text(max_size=12), st.sampled_from(["", "serve", "serving_default", "Const", "MatMul", "x:0", "^a", "f:1", "VARIABLE_VALUE"])))
    if t == field.TYPE_BYTES:
        return draw(st.binary(max_size=24))
    if t in (field.TYPE_FLOAT, field.TYPE_DOUBLE):
        return draw(st.floats(width=32 if t == field.TYPE_FLOAT else 64))
    if t == field.TYPE_ENUM:
        return draw(st.sampled_from([v.number for v in field.enum_type.values]))
    signed = t in (field.TYPE_INT32, field.TYPE_INT64, field.TYPE_SINT32, field.TYPE_SINT64, field.TYPE_SFIXED32, field.TYPE_SFIXED64)
    bits = 32 if t in (field.TYPE_INT32, field.TYPE_SINT32, field.TYPE_SFIXED32, field.TYPE_UINT32, field.TYPE_FIXED32) else 64
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    return draw(st.one_of(st.integers(low, high), st.sampled_from([v for v in (0, 1, -1, 2, 3, 1 << 31, (1 << 31) - 1, 1 << 40) if low <= v <= high])))


@st.composite
def mutated_proto(draw, message_class: Any, seeds: List[bytes], max_mutations: int = 4) -> bytes:
    """A seed message with a few field-level mutations: a scalar set to another value, a field
    cleared, a repeated element dropped or duplicated. Returned serialized."""
    message = message_class()
    message.ParseFromString(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, max_mutations))):
        fields = _proto_fields(message)
        owner, field = fields[draw(st.integers(0, len(fields) - 1))]
        kind = draw(st.sampled_from(["set", "clear", "drop", "duplicate"]))
        repeated = field.is_repeated
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if kind == "clear":
            owner.ClearField(field.name)
        elif is_map:
            values = getattr(owner, field.name)
            keys = list(values)
            if kind == "drop" and keys:
                del values[keys[draw(st.integers(0, len(keys) - 1))]]
            elif field.message_type.fields_by_name["value"].message_type is None:
                values[_scalar(draw, field.message_type.fields_by_name["key"])] = _scalar(draw, field.message_type.fields_by_name["value"])
            elif keys:
                values[_scalar(draw, field.message_type.fields_by_name["key"])].CopyFrom(values[keys[0]])
        elif repeated:
            values = getattr(owner, field.name)
            if kind == "drop" and len(values):
                del values[draw(st.integers(0, len(values) - 1))]
            elif kind == "duplicate" and len(values):
                item = values[draw(st.integers(0, len(values) - 1))]
                values.add().CopyFrom(item) if field.message_type is not None else values.append(item)
            elif field.message_type is None:
                values.append(_scalar(draw, field))
        elif field.message_type is None:
            setattr(owner, field.name, _scalar(draw, field))
        else:
            getattr(owner, field.name).SetInParent()
    return message.SerializeToString()
