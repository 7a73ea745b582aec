"""TF1-style SavedModels (SavedModelBuilder, hub.Module): frozen in a v1 Session.

TF2's loader wraps such a model in functions that lose its table initializers, so it is
loaded the way TF1 serves it: in a Session, which runs the restore and the main op. Tables
then keep their node names in both graphs; TF.js shares a table between the initializer
and the model by that name.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

from tensorflowjs.errors import ConversionError
from tensorflowjs.graph.signature import GraphSignature, SignatureTensor, natural_key

_TABLE_OPS = {"HashTableV2", "HashTable", "MutableHashTableV2", "MutableHashTable"}


def _tensors(infos: Any) -> List[SignatureTensor]:
    import tensorflow as tf

    tensors = []
    for key in sorted(infos, key=natural_key):
        info = infos[key]
        if not info.name:
            raise ConversionError(f"signature entry {key!r} is a composite tensor, which TF.js graph models cannot take")
        tensors.append(SignatureTensor(key, info.name, tf.as_dtype(info.dtype), tf.TensorShape(info.tensor_shape)))
    return tensors


def _initializer(session: Any, graph: Any, frozen: Any) -> Optional[Any]:
    """The table initializers as a graph whose outputs depend on every table being filled."""
    import tensorflow as tf

    from tensorflowjs.graph.pipeline import Initializer

    tables = [node.name for node in frozen.node if node.op in _TABLE_OPS]
    init_ops = [op.name for op in graph.get_collection(tf.compat.v1.GraphKeys.TABLE_INITIALIZERS)]
    if not tables or not init_ops:
        return None
    init_graph = tf.compat.v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), init_ops + tables)
    outputs = []
    for table in tables:
        node = init_graph.node.add()
        node.name, node.op = f"{table}/initialized", "Identity"
        node.input.extend([table] + [f"^{op}" for op in init_ops])
        node.attr["T"].type = tf.resource.as_datatype_enum
        outputs.append(SignatureTensor(node.name, f"{node.name}:0", tf.resource, tf.TensorShape([])))
    return Initializer(init_graph, GraphSignature([], outputs))


def freeze(saved_model_dir: str, tags: List[str], signature_name: str) -> Tuple[Any, GraphSignature, Optional[Any]]:
    """(frozen GraphDef, signature, table initializer or None) of a TF1 SavedModel signature."""
    import tensorflow as tf

    with tf.Graph().as_default() as graph, tf.compat.v1.Session(graph=graph) as session:
        try:
            meta_graph = tf.compat.v1.saved_model.loader.load(session, tags, saved_model_dir)
        except (ValueError, OSError, RuntimeError, tf.errors.OpError) as e:
            raise ConversionError(f"TensorFlow cannot load the SavedModel {saved_model_dir}: {str(e).splitlines()[0]}") from None
        signature_def = meta_graph.signature_def[signature_name]
        signature = GraphSignature(_tensors(signature_def.inputs), _tensors(signature_def.outputs))
        output_nodes = sorted({t.node for t in signature.outputs})
        frozen = tf.compat.v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), output_nodes)
        return frozen, signature, _initializer(session, graph, frozen)
