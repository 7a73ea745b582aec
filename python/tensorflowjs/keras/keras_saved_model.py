"""tf_keras SavedModel directories (`model.save(dir, save_format="tf")`) read without TensorFlow.

keras_metadata.pb holds, for every Keras object of the model, its path in the object graph and
a JSON record; the root's record carries the model's class and config. The variables are in the
SavedModel's tensor bundle, reached through saved_model.pb's object graph: the model's children
`layer-<i>` are its layers in order, and each layer lists its `variables` and
`trainable_variables`. A whole-model .h5 stores each layer's trainable variables, then its
others; the weights are read in that order, so both files give the same layers model.

saved_model.pb and the tensor bundle are read by graph/, a peer of this package: the caller
passes a function that opens them.
"""

import functools
import os
import re
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

from tensorflowjs import bounded_json, dtypes, extras
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras.config_schema import check_model_config
from tensorflowjs.keras.h5_model import Naming, layer_classes
from tensorflowjs.keras.model_classes import MODEL_CLASSES
from tensorflowjs.keras.model_source import KerasModelSource
from tensorflowjs.keras.weight_check import check_weights
from tensorflowjs.write_weights import Weight

METADATA_FILE = "keras_metadata.pb"
_LAYER_CHILD = re.compile(r"layer-(\d+)")
_VARIABLE_VALUE = "VARIABLE_VALUE"


class NeedsTfKeras(Exception):
    """What in a Keras SavedModel only tf_keras can read: a variable the bundle reader cannot read
    in place (sliced, or of a dtype numpy lacks)."""


@functools.lru_cache(maxsize=None)
def _saved_metadata_class() -> Any:
    """tf_keras's SavedMetadata message (saved_metadata.proto), built at run time; `version` (6) is
    left out, so the parser keeps it as an unknown field."""
    descriptor_pb2 = extras.require("google.protobuf.descriptor_pb2", "reading keras_metadata.pb")
    descriptor_pool = extras.require("google.protobuf.descriptor_pool", "reading keras_metadata.pb")
    message_factory = extras.require("google.protobuf.message_factory", "reading keras_metadata.pb")
    field = descriptor_pb2.FieldDescriptorProto
    file_proto = descriptor_pb2.FileDescriptorProto(name="tfjs_keras_saved_metadata.proto", package="tfjs_keras", syntax="proto3")
    saved_object = file_proto.message_type.add(name="SavedObject")
    saved_object.field.add(name="node_id", number=2, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    for name, number in (("node_path", 3), ("identifier", 4), ("metadata", 5)):
        saved_object.field.add(name=name, number=number, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    saved_metadata = file_proto.message_type.add(name="SavedMetadata")
    saved_metadata.field.add(name="nodes", number=1, type=field.TYPE_MESSAGE, label=field.LABEL_REPEATED, type_name=".tfjs_keras.SavedObject")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tfjs_keras.SavedMetadata"))


def _metadata_by_node(path: str) -> Dict[int, Dict]:
    """Object-graph node id -> its Keras JSON record."""
    DecodeError = extras.require("google.protobuf.message", "reading keras_metadata.pb").DecodeError
    file_path = os.path.join(path, METADATA_FILE)
    message = _saved_metadata_class()()
    try:
        with open(file_path, "rb") as f:
            message.ParseFromString(f.read())
    except DecodeError:
        raise ConversionError(f"{file_path} is not a Keras metadata protocol buffer (damaged or another kind of file); re-save the model") from None
    records = {}
    for node in message.nodes:
        record = bounded_json.loads(node.metadata, f"{file_path}: the record of {node.node_path or 'a node'}")
        if isinstance(record, dict):
            records[node.node_id] = record
    if 0 not in records:
        raise ConversionError(f"{file_path} has no record of the model itself (node 0); the SavedModel is damaged, re-save it")
    return records


def _as_lists(value: Any) -> Any:
    """The config as an .h5 stores it: tf_keras's SavedModel JSON marks tuples as {"class_name": "__tuple__"}."""
    if isinstance(value, dict):
        if value.get("class_name") == "__tuple__" and set(value) == {"class_name", "items"}:
            return [_as_lists(item) for item in value["items"]]
        return {key: _as_lists(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_lists(item) for item in value]
    return value


def _children(object_graph: Any, node_id: int) -> Dict[str, int]:
    if not 0 <= node_id < len(object_graph.nodes):
        raise ConversionError(f"the object graph of saved_model.pb has no node {node_id}; the SavedModel is damaged, re-save it")
    return {child.local_name: child.node_id for child in object_graph.nodes[node_id].children}


def _listed(object_graph: Any, node_id: int, list_name: str) -> List[int]:
    list_id = _children(object_graph, node_id).get(list_name)
    if list_id is None:
        return []
    items = _children(object_graph, list_id)
    return [items[key] for key in sorted(items, key=lambda k: int(k) if k.isdigit() else -1)]


def _layer_variables(object_graph: Any, node_id: int) -> List[int]:
    """A layer's variable nodes as an .h5 stores them: trainable ones first, then the others."""
    trainable = _listed(object_graph, node_id, "trainable_variables")
    return trainable + [v for v in _listed(object_graph, node_id, "variables") if v not in trainable]


def _model_config(record: Dict, path: str) -> Dict:
    if record.get("class_name") not in MODEL_CLASSES or not isinstance(record.get("config"), dict):
        raise ConversionError(f"{path} holds a subclassed Keras model ({record.get('class_name')}), which only its Python code can rebuild, so it cannot become "
                              "a layers model; save it as a Sequential or Functional model, or convert this directory to a graph model with --input_format tf_saved_model")
    model_config = _as_lists({"class_name": record["class_name"], "config": record["config"]})
    check_model_config(model_config, path)
    return model_config


# () -> (saved_model.pb's SavedObjectGraph, the variables' graph.tensor_bundle.TensorBundle).
OpenSavedModel = Callable[[], Tuple[Any, Any]]


def read_keras_saved_model(path: str, open_saved_model: OpenSavedModel) -> KerasModelSource:
    """The model of a tf_keras SavedModel directory; its weights are read when written."""
    records = _metadata_by_node(path)
    root = records[0]
    model_config = _model_config(root, path)
    object_graph, bundle = open_saved_model()
    checkpoint_nodes = bundle.object_graph().nodes
    naming = Naming(2, layer_classes(model_config))
    layers = sorted((int(m.group(1)), node_id) for name, node_id in _children(object_graph, 0).items() if (m := _LAYER_CHILD.fullmatch(name)))
    weights = []
    for _, layer_id in layers:
        layer_name = records.get(layer_id, {}).get("name")
        if not isinstance(layer_name, str):
            raise ConversionError(f"{path}: {METADATA_FILE} has no record of the model's layer node {layer_id}; the SavedModel is damaged, re-save it")
        for variable_id in _layer_variables(object_graph, layer_id):
            if not 0 <= variable_id < len(object_graph.nodes) or object_graph.nodes[variable_id].WhichOneof("kind") != "variable":
                raise ConversionError(f"{path}: layer {layer_name!r} lists node {variable_id} of saved_model.pb as a variable, but it is not one; the SavedModel is damaged, re-save it")
            variable = object_graph.nodes[variable_id].variable
            keys = [a.checkpoint_key for a in checkpoint_nodes[variable_id].attributes if a.name == _VARIABLE_VALUE] if variable_id < len(checkpoint_nodes) else []
            if not keys:
                raise ConversionError(f"{path}: variable {variable.name} of layer {layer_name!r} has no value in variables/; the SavedModel is damaged, re-save it")
            stored = bundle.stored(keys[0])
            if stored is None:
                kind = "sliced" if bundle.sliced(keys[0]) else f"of dtype {bundle.dtype_name(keys[0])}"
                raise NeedsTfKeras(f"variable {variable.name} of layer {layer_name!r} is {kind}")
            name = naming.name(variable.name, layer_name)
            weights.append(Weight(name, functools.partial(bundle.tensor, keys[0]), dtypes.manifest_dtype_of(np.empty(0, stored.dtype), name), stored.shape))
    check_weights(path, model_config, weights)
    return KerasModelSource(path=path, model_config=model_config, weights=weights, keras_version=str(root.get("keras_version", "2")), backend=str(root.get("backend", "tensorflow")))

