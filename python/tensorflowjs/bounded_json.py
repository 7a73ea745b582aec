"""JSON from untrusted files, parsed only after its nesting depth and size are known to be sane.

json.loads recurses once per nesting level, and so does everything that walks the result
(config translation, json.dump): 100k nested brackets are a RecursionError. The depth is
measured first without recursion (strings blanked out, brackets counted with numpy).
"""

import json
import re
from typing import Any, Union

import numpy as np

from tensorflowjs.errors import ConversionError

# Real Keras configs and model.json topologies nest about 20 levels; user metadata a few.
MAX_DEPTH = 100
# The largest config.json / model.json of real models is a few MB.
MAX_BYTES = 64 << 20

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = np.zeros(256, np.int8)
_STEPS[list(b"[{")] = 1
_STEPS[list(b"]}")] = -1


def nesting_depth(data: bytes) -> int:
    """How deep brackets nest in JSON text, strings ignored; no recursion."""
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    return int(np.cumsum(_STEPS[np.frombuffer(brackets, np.uint8)], dtype=np.int64).max())


def loads(data: Union[bytes, str], where: str, kind: str = "valid JSON") -> Any:
    """Parsed JSON; too big, too deep, not UTF-8 or not JSON is a ConversionError starting with `where`."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_BYTES:
        raise ConversionError(f"{where} is {len(raw)} bytes of JSON, more than the {MAX_BYTES} a model file can need")
    depth = nesting_depth(raw)
    if depth > MAX_DEPTH:
        raise ConversionError(f"{where} nests JSON {depth} levels deep (at most {MAX_DEPTH} allowed); the file is damaged or hostile")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConversionError(f"{where} is not {kind} ({e})") from None
    except RecursionError:
        raise ConversionError(f"{where} nests JSON too deeply") from None


def read(path: str, where: str, kind: str = "valid JSON") -> Any:
    """A JSON file's content, its size checked before it is read."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        if f.tell() > MAX_BYTES:
            raise ConversionError(f"{where} is {f.tell()} bytes, more than the {MAX_BYTES} bytes of JSON a model file can need")
        f.seek(0)
        return loads(f.read(), where, kind)
