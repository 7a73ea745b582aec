"""What the wizard shows about a model before converting it; nothing here runs model code.

SavedModels and TF Hub modules: their tag sets and signatures, read from saved_model.pb by the
converter's reader (graph/saved_model.py, TensorFlow's schema shipped in the package), never
importing TensorFlow.
Frozen graphs (read by graph/frozen_graph.py): the nodes that look like outputs. TF.js layers models: the weight names, for
quantization patterns.
"""

import json
import os
from dataclasses import dataclass
from typing import List, Optional, Tuple

from tensorflowjs import tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph import frozen_graph, saved_model
from tensorflowjs.tensor_names import node_name


@dataclass(frozen=True)
class TensorSpec:
    key: str  # the name the signature gives the tensor
    dtype: str  # e.g. float32
    shape: Optional[Tuple[int, ...]]  # -1 for an unknown dimension; None for an unknown rank

    def describe(self) -> str:
        if self.shape is None:
            shape = "unknown shape"
        else:
            shape = "[" + ", ".join("None" if d < 0 else str(d) for d in self.shape) + "]"
        return f"{self.key}: {self.dtype} {shape}"


@dataclass(frozen=True)
class Signature:
    name: str
    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]

    def describe(self) -> str:
        inputs = ", ".join(t.describe() for t in self.inputs) or "none"
        outputs = ", ".join(t.describe() for t in self.outputs) or "none"
        return f"inputs ({inputs}) -> outputs ({outputs})"


@dataclass(frozen=True)
class MetaGraph:
    tags: Tuple[str, ...]
    signatures: Tuple[Signature, ...]

    @property
    def tags_flag(self) -> str:
        """The value of --saved_model_tags that selects this MetaGraph ('' for no tags)."""
        return ",".join(self.tags)


def _dtype_name(enum_value: int) -> str:
    try:
        name = tf_protos.data_type_name(enum_value)
    except KeyError:
        name = f"dtype {enum_value}"
    name = name[3:].lower() if name.startswith("DT_") else name
    return {"float": "float32", "double": "float64", "half": "float16"}.get(name, name)


def _tensor_spec(key: str, info) -> TensorSpec:
    if info.tensor_shape.unknown_rank:
        shape = None
    else:
        shape = tuple(int(d.size) for d in info.tensor_shape.dim)
    return TensorSpec(key, _dtype_name(info.dtype), shape)


def read_saved_model(path: str) -> List[MetaGraph]:
    """The MetaGraphs (tag set and signatures) of the SavedModel or TF Hub module directory `path`,
    read by the converter's own rules (graph/saved_model.py): the same file, tag sets and
    signatures it will accept. Raises its ConversionError if saved_model.pb is missing or invalid.
    """
    meta_graphs = []
    for meta_graph in saved_model.read_saved_model_proto(path).meta_graphs:
        signatures = []
        for name in saved_model.signature_names(meta_graph):
            definition = meta_graph.signature_def[name]
            signatures.append(Signature(
                name,
                tuple(_tensor_spec(k, definition.inputs[k]) for k in sorted(definition.inputs)),
                tuple(_tensor_spec(k, definition.outputs[k]) for k in sorted(definition.outputs)),
            ))
        meta_graphs.append(MetaGraph(tuple(saved_model.meta_graph_tags(meta_graph)), tuple(signatures)))
    return meta_graphs


# Ops that end a graph without being a result of the model.
_NOT_OUTPUTS = {"NoOp", "Assert", "Print", "PrintV2", "SaveV2", "Save", "RestoreV2", "Restore", "Placeholder", "Const", "VarHandleOp", "VariableV2"}


def frozen_graph_outputs(path: str) -> List[str]:
    """Names of the nodes of a frozen GraphDef that no other node reads: the likely outputs
    (none when the converter's reader, graph/frozen_graph.py, would refuse the file)."""
    try:
        graph = frozen_graph.read_graph_def(path)
    except (OSError, ConversionError):
        return []
    consumed = set()
    for node in graph.node:
        for name in node.input:
            consumed.add(node_name(name))
    return [node.name for node in graph.node if node.name not in consumed and node.op not in _NOT_OUTPUTS]


def layers_model_weight_names(path: str) -> List[str]:
    """The weight names in a TF.js layers model's manifest (model.json or its directory)."""
    json_path = os.path.join(path, "model.json") if os.path.isdir(path) else path
    try:
        with open(json_path, "rb") as f:
            model = json.loads(f.read().decode("utf-8"))
        return [w["name"] for group in model.get("weightsManifest", []) for w in group.get("weights", [])]
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return []
