"""The source framework's predictions, one small maker per kind of source.

A Source takes the inputs fed to TF.js (named as the converted model names them, in its
order) and returns the source's outputs: a dict by output name, or a list in output order.
TensorFlow, Keras and JAX are imported only by the maker that needs them.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from tensorflowjs.options import ConversionOptions
from tensorflowjs.verify import harness
from tensorflowjs.verify.node_runtime import NodeRuntime
from tensorflowjs.tensor_names import full_name, tensor_name

Outputs = Union[Dict[str, np.ndarray], List[np.ndarray]]


@dataclass(frozen=True)
class Source:
    description: str  # e.g. "TensorFlow (SavedModel signature serving_default)"
    predict: Callable[[Dict[str, np.ndarray], NodeRuntime], Outputs]


class SourceUnavailable(Exception):
    """The source cannot be run here (a framework missing, a custom object); the message says why."""


def arrange(inputs: Mapping[str, np.ndarray], names: Sequence[str]) -> List[np.ndarray]:
    """The inputs in the source's order: by name when every name is there, else by position."""
    if all(name in inputs for name in names):
        return [inputs[name] for name in names]
    if len(names) == len(inputs):
        return list(inputs.values())
    raise SourceUnavailable(f"the source takes {len(names)} inputs ({', '.join(names)}), the converted model {len(inputs)}")


def keras_model(model: Any, description: str = "Keras") -> Source:
    """An in-memory Keras 3 or tf_keras model."""

    def predict(inputs: Dict[str, np.ndarray], runtime: NodeRuntime) -> Outputs:
        from tensorflowjs.graph.keras_model import input_name, output_names

        arrays = arrange(inputs, [input_name(t, i) for i, t in enumerate(model.inputs)])
        result = model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
        if isinstance(result, dict):
            result = list(result.values())
        flat = [np.asarray(r) for r in (result if isinstance(result, (list, tuple)) else [result])]
        return dict(zip(output_names(model, len(flat)), flat))

    return Source(description, predict)


def saved_model(path: str, tags: Optional[str], signature_name: str) -> Source:
    """A SavedModel's signature run by TensorFlow (TF2 and TF1 SavedModels alike)."""
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(path, tags=[t for t in (tags or "").split(",") if t] or None)
        function = loaded.signatures[signature_name]
    except (KeyError, ValueError, OSError, RuntimeError) as e:
        raise SourceUnavailable(f"TensorFlow cannot load signature {signature_name} of {path} ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    specs = function.structured_input_signature[1]

    def predict(inputs: Dict[str, np.ndarray], runtime: NodeRuntime) -> Outputs:
        arrays = arrange(inputs, list(specs))
        feed = {name: tf.constant(np.asarray(a).astype(spec.dtype.as_numpy_dtype) if spec.dtype != tf.string else a)
                for (name, spec), a in zip(specs.items(), arrays)}
        return {key: value.numpy() for key, value in function(**feed).items()}

    return Source(f"TensorFlow (signature {signature_name})", predict)


def frozen_graph(path: str, output_node_names: str) -> Source:
    """A frozen GraphDef run by a TF1 session: placeholders fed, the named nodes fetched."""
    import tensorflow as tf

    from tensorflowjs.graph import frozen_graph as frozen

    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(frozen.read_graph_def(path, tf.compat.v1.GraphDef), name="")
    placeholders = [op.name for op in graph.get_operations() if op.type == "Placeholder"]
    fetches = [full_name(name) for name in frozen.parse_output_names(output_node_names, path)]

    def predict(inputs: Dict[str, np.ndarray], runtime: NodeRuntime) -> Outputs:
        arrays = arrange(inputs, placeholders)
        with tf.compat.v1.Session(graph=graph) as session:
            feed = {graph.get_tensor_by_name(tensor_name(name)): a for name, a in zip(placeholders, arrays)}
            return [np.asarray(v) for v in session.run(fetches, feed)]

    return Source("TensorFlow (frozen graph)", predict)


def tfjs_layers_model(path: str) -> Source:
    """A TF.js layers model given as input: its own predictions in TF.js (CPU)."""
    from tensorflowjs.verify.inputs import read_signature

    names = [spec.name for spec in read_signature(path).inputs]

    def predict(inputs: Dict[str, np.ndarray], runtime: NodeRuntime) -> Outputs:
        try:
            reply = harness.run(harness.request(path, arrange(inputs, names), "cpu"), runtime.node, runtime.node_modules)
        except harness.HarnessError as e:
            raise SourceUnavailable(f"TF.js cannot run the input model {path}: {e.summary}") from None
        return [harness.decode(o) for o in reply["outputs"]]

    return Source("TF.js (the input layers model, cpu)", predict)


def jax_function(apply_fn: Callable, params: Any) -> Source:
    """apply_fn(params, *inputs) run by JAX; inputs are the graph model's xs_0, xs_1, ..."""

    def predict(inputs: Dict[str, np.ndarray], runtime: NodeRuntime) -> Outputs:
        import jax

        arrays = [inputs[name] for name in sorted(inputs, key=lambda n: int(n.rsplit("_", 1)[-1]) if n.rsplit("_", 1)[-1].isdigit() else 0)]
        try:
            result = apply_fn(params, *arrays)
        except Exception:  # noqa: BLE001 - Flax's apply wants {"params": ...}, which convert_jax also accepts bare
            if not isinstance(params, Mapping) or "params" in params:
                raise
            result = apply_fn({"params": params}, *arrays)
        return {f"output_{i}": np.asarray(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(result))}

    return Source("JAX", predict)


def _keras_file(path: str) -> Source:
    """A .h5 or .keras file: by tf_keras when a Keras 2 wrote it, else by Keras 3 (safe mode)."""
    from tensorflowjs.keras.model_file import open_keras_file

    with open_keras_file(path) as source:
        keras2 = source.keras_version.split(".")[0] in ("1", "2")
    try:
        if keras2:
            import tf_keras

            return keras_model(tf_keras.models.load_model(path, compile=False), f"tf_keras {tf_keras.__version__}")
        import keras

        return keras_model(keras.saving.load_model(path, compile=False, safe_mode=True), f"Keras {keras.__version__}")
    except (ImportError, ValueError, TypeError, OSError, KeyError) as e:
        raise SourceUnavailable(f"Keras cannot load {path} ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


def _keras_saved_model(path: str, output_format: str, options: ConversionOptions) -> Source:
    if output_format == "tfjs_graph_model":
        return saved_model(path, options.saved_model_tags, options.signature_name or "serving_default")
    import tf_keras

    return keras_model(tf_keras.models.load_model(path, compile=False), f"tf_keras {tf_keras.__version__}")


def _hub_module(path: str, options: ConversionOptions) -> Source:
    from tensorflowjs.graph import tf_hub

    return saved_model(tf_hub.resolve_module(path), options.saved_model_tags, options.signature_name or "default")


# input format -> maker(input path, output format, options)
_MAKERS: Dict[str, Callable[[str, str, ConversionOptions], Source]] = {
    "tf_saved_model": lambda path, out, options: saved_model(path, options.saved_model_tags, options.signature_name or "serving_default"),
    "keras_saved_model": _keras_saved_model,
    "tf_hub": lambda path, out, options: _hub_module(path, options),
    "tf_frozen_model": lambda path, out, options: frozen_graph(path, options.output_node_names),
    "keras": lambda path, out, options: _keras_file(path),
    "keras_keras": lambda path, out, options: _keras_file(path),
    "tfjs_layers_model": lambda path, out, options: tfjs_layers_model(path),
}


def for_input(input_format: str, input_path: str, output_format: str, options: ConversionOptions) -> Source:
    """The source of a CLI conversion, by its input format."""
    maker = _MAKERS.get(input_format)
    if maker is None:
        raise SourceUnavailable(f"no source framework runs {input_format} inputs")
    return maker(input_path, output_format, options)
