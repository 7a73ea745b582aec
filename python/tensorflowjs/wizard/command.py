"""The wizard's answers as a `tensorflowjs_converter` command: an argv and its shell form.

The argv is exactly what converters/converter.py parses; the wizard runs it in-process and
prints it shell-quoted, so the printed command and the wizard's own run are the same thing.
"""

import os
import shlex
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from tensorflowjs.options import OPTIONS
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES

PROG = "tensorflowjs_converter"
COMPRESSIONS = ("none", "float16", "uint16", "uint8")

# How each boolean the wizard asks about is written when true, as options.OPTIONS says: the
# public converter declares some store_true (no value allowed) and the others type=bool (a
# value required); ours takes both spellings, so the printed command also works with the
# public converter. The bare ones come first.
_TRUE_FLAG = {o.name: o.wizard_true for o in sorted((o for o in OPTIONS if o.wizard_true), key=lambda o: "=" in o.wizard_true)}


@dataclass
class Plan:
    """One conversion as the wizard settled it; None or False means the converter's default."""

    input_path: str
    output_path: str
    input_format: str
    output_format: str
    saved_model_tags: Optional[str] = None  # comma-separated; "" is the empty tag set
    signature_name: Optional[str] = None
    output_node_names: Optional[str] = None
    compression: str = "none"  # one of COMPRESSIONS
    quantize_patterns: Optional[str] = None  # comma-separated weight names; None: every weight
    weight_shard_size_bytes: Optional[int] = None
    split_weights_by_layer: bool = False
    strip_debug_ops: bool = False
    control_flow_v2: bool = False
    use_structured_outputs_names: bool = False
    skip_op_check: bool = False
    metadata: Dict[str, str] = field(default_factory=dict)  # name -> JSON file path


def _positional(path: str) -> str:
    """A path the parser cannot take for a flag: '-model' becomes './-model'."""
    return os.path.join(".", path) if path.startswith("-") else path


def _check_list_item(kind: str, value: str, forbidden: str) -> str:
    value = value.strip()
    if not value or any(c in value for c in forbidden):
        raise ValueError(f"{kind} {value!r} must be non-empty and contain none of {' '.join(forbidden)}")
    return value


def normalize_patterns(text: str) -> str:
    """'dense_1/* , conv*/kernel' -> 'dense_1/*,conv*/kernel'; empty items are dropped."""
    return ",".join(item.strip() for item in text.split(",") if item.strip())


def converter_argv(plan: Plan) -> List[str]:
    """The converter's arguments (without the program name) for `plan`."""
    if plan.compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {plan.compression!r}")
    argv = [f"--input_format={plan.input_format}", f"--output_format={plan.output_format}"]
    if plan.saved_model_tags is not None:
        argv.append(f"--saved_model_tags={plan.saved_model_tags}")
    if plan.signature_name is not None:
        argv.append(f"--signature_name={plan.signature_name}")
    if plan.output_node_names:
        argv.append(f"--output_node_names={plan.output_node_names}")
    if plan.compression != "none":
        patterns = normalize_patterns(plan.quantize_patterns or "")
        argv.append(f"--quantize_{plan.compression}" + (f"={patterns}" if patterns else ""))
    if plan.weight_shard_size_bytes is not None and plan.weight_shard_size_bytes != DEFAULT_SHARD_SIZE_BYTES:
        argv.append(f"--weight_shard_size_bytes={int(plan.weight_shard_size_bytes)}")
    for name, flag in _TRUE_FLAG.items():
        if getattr(plan, name):
            argv.append(flag)
    if plan.metadata:
        items = [f"{_check_list_item('metadata name', n, ',:')}:{_check_list_item('metadata path', p, ',')}" for n, p in plan.metadata.items()]
        argv.append("--metadata=" + ",".join(items))
    argv += [_positional(plan.input_path), _positional(plan.output_path)]
    return argv


def shell_command(argv: List[str], prog: str = PROG) -> str:
    """`argv` as one line a POSIX shell runs unchanged: every word shlex-quoted when needed."""
    return " ".join(shlex.quote(word) for word in [prog, *argv])
