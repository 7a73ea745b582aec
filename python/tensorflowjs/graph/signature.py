"""A graph model's signature: its named inputs and outputs, in a stable order.

Keys are the SignatureDef's own (`logits`, not `Identity:0`); each entry names the graph
tensor behind it. model.json keeps them in this order, which is the order TF.js returns
outputs in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from tensorflowjs import extras, tf_protos
from tensorflowjs.tensor_names import node_name


def _dims(shape: Any) -> Optional[List[int]]:
    """A shape as a list (-1: unknown size; None: unknown rank) from a tf.TensorShape,
    a TensorShapeProto or a sequence."""
    if shape is None:
        return None
    if hasattr(shape, "unknown_rank"):  # TensorShapeProto
        return None if shape.unknown_rank else [int(d.size) for d in shape.dim]
    if hasattr(shape, "rank"):  # tf.TensorShape
        return None if shape.rank is None else [-1 if d is None else int(d) for d in shape.as_list()]
    return [-1 if d is None else int(d) for d in shape]


@dataclass
class SignatureTensor:
    """dtype and shape may be given as TensorFlow objects; they are kept as a DataType number
    and a list (see _dims), so signatures are built and written with or without TensorFlow."""

    key: str
    name: str  # graph tensor name, "node:0"
    dtype: Any  # DataType number
    shape: Any  # list of sizes (-1 unknown), None for unknown rank
    resource_id: Optional[int] = None

    def __post_init__(self) -> None:
        self.dtype = int(getattr(self.dtype, "as_datatype_enum", self.dtype))
        self.shape = _dims(self.shape)

    @property
    def node(self) -> str:
        return node_name(self.name)


@dataclass
class GraphSignature:
    inputs: List[SignatureTensor] = field(default_factory=list)
    outputs: List[SignatureTensor] = field(default_factory=list)


def natural_key(text: str) -> List:
    """output_2 before output_10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def from_concrete_function(function: Any, output_keys: Optional[Sequence[str]] = None) -> GraphSignature:
    """The signature of a tf.function's concrete function (a SavedModel signature or a traced model).

    Output keys come from its structured outputs (a dict, or positions output_i); they are
    ordered by `output_keys` when given (a Keras model's output order), else naturally.
    """
    tf = extras.require("tensorflow", "reading a TensorFlow function's signature")

    args, kwargs = function.structured_input_signature
    specs = tf.nest.flatten((args, kwargs))
    # A SignatureDef's inputs are keyed by argument name (flattened in sorted order).
    keys = [spec.name for spec in tf.nest.flatten(args)] + sorted(kwargs)
    inputs = []
    for index, (key, tensor) in enumerate(zip(keys, function.inputs[: len(specs)])):
        key = key or node_name(tensor.name) or f"input_{index}"
        inputs.append(SignatureTensor(key, tensor.name, tensor.dtype, tensor.shape))
    structured = function.structured_outputs
    if isinstance(structured, dict) and all(isinstance(k, str) for k in structured):
        keys = sorted(structured)
    else:
        keys = [f"output_{i}" for i in range(len(function.outputs))]
    outputs = [SignatureTensor(key, t.name, t.dtype, t.shape) for key, t in zip(keys, function.outputs)]
    order = {key: i for i, key in enumerate(output_keys or [])}
    outputs.sort(key=lambda o: (order.get(o.key, len(order)), natural_key(o.key)))
    inputs.sort(key=lambda i: natural_key(i.key))
    return GraphSignature(inputs, outputs)


def _shape_json(shape: Optional[List[int]]) -> Dict:
    if shape is None:
        return {"unknownRank": True}
    dims = [{"size": str(d)} for d in shape]
    return {"dim": dims} if dims else {}


def _tensor_json(tensor: SignatureTensor) -> Dict:
    entry = {"name": tensor.name, "dtype": tf_protos.data_type_name(tensor.dtype), "tensorShape": _shape_json(tensor.shape)}
    if tensor.resource_id is not None:
        entry["resourceId"] = tensor.resource_id
    return entry


def to_json(signature: GraphSignature) -> Dict:
    """model.json's `signature` (SignatureDef JSON), keys in the signature's order."""
    return {
        "inputs": {t.key: _tensor_json(t) for t in signature.inputs},
        "outputs": {t.key: _tensor_json(t) for t in signature.outputs},
    }
