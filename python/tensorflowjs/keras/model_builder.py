"""Keras models of a TF.js layers model: built from its topology, weights set by name, saved as .h5.

tf_keras (Keras 2) reads the Keras 2 config dialect tfjs-layers saves natively and computes
what TF.js computes (Keras 3 redefined `hard_sigmoid`, the default recurrent activation of
tfjs-layers' LSTM and GRU); Keras 3 is built where it computes the same, through its loader of
Keras 2 configs. Configs are adapted by the rules of `from_tfjs_config` first. Weights are set
by name, the way tfjs-layers looks them up, after checking that every weight of the model has
exactly one manifest entry of its shape. No code stored in a model is ever executed: Lambda
layers are refused and Keras 3 builds in safe mode.
"""

import contextlib
import json
import logging
import uuid
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from tensorflowjs import extras
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import from_tfjs_config
from tensorflowjs.keras.config_schema import check_model_config
from tensorflowjs.keras.weight_names import strip_tensor_suffix

INSTALL_TF_KERAS = "pip install tf-keras (it comes with pip install tensorflowjs[tensorflow])"


def _installed_tf_keras():
    try:
        import tf_keras
    except ImportError:
        return None
    return tf_keras


def _tf_keras():
    tf_keras = _installed_tf_keras()
    if tf_keras is None:
        raise ConversionError(f"converting a TF.js layers model to tf_keras needs tf_keras (Keras 2): {INSTALL_TF_KERAS}")
    return tf_keras


@contextlib.contextmanager
def quiet_keras():
    """Silences Keras's notices about legacy formats and uncompiled models, which concern
    saving and loading here, not the user's model."""
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _one_line(error: Exception) -> str:
    """Keras's message on one line; of "Error when deserializing ... Exception encountered: X", X."""
    text = " ".join(str(error).split())
    before, found, cause = text.partition("Exception encountered:")
    text = f"{before.split(' using config=')[0]}: {cause.strip()}" if found else text
    return text if len(text) <= 300 else text[:297] + "..."


def model_config_of(topology: Any, where: str) -> Dict:
    """The Keras model config in a modelTopology: the converter nests it, tfjs-layers does not."""
    config = topology.get("model_config", topology) if isinstance(topology, dict) else None
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str) or "config" not in config:
        raise ConversionError(f"{where}: modelTopology holds no Keras model config (class_name and config)")
    check_model_config(config, where)
    return config


def _known_class(keras_module) -> Callable[[str], bool]:
    return lambda name: isinstance(getattr(keras_module.layers, name, None), type)


def build_tf_keras_model(topology: Dict, weights: Optional[Sequence], where: str, unique_name_scope: bool = False):
    """A tf_keras model of the topology, with `weights` (manifest entries with `load`) set by name.

    `unique_name_scope` builds it under a fresh name scope, so that in graph mode a second
    model of the same layer names gets variables of its own names.
    """
    tf_keras = _tf_keras()  # first: without TensorFlow, one line naming what to install
    import tensorflow as tf

    model_config = model_config_of(topology, where)
    from_tfjs_config.check_layer_classes(model_config, where, _known_class(tf_keras))
    config = from_tfjs_config.apply_rules(model_config, from_tfjs_config.TFJS_TO_KERAS2_RULES, where)
    scope = tf.compat.v1.name_scope(uuid.uuid4().hex) if unique_name_scope else contextlib.nullcontext()
    try:
        with scope:
            model = tf_keras.models.model_from_config(config)
    except Exception as e:  # Keras reports bad configs with many exception types.
        raise ConversionError(f"{where}: Keras cannot build the model from its topology: {_one_line(e)}") from None
    if weights is not None:
        # Keras's own setter: in graph mode it runs the assignments in the session the model
        # will predict in (the caller's v1 Session, or Keras's for that graph).
        set_weights_by_name(model, weights, where, tf_keras.backend.batch_set_value)
    return model


def _keras3_legacy_loader():
    """Keras 3's builder of Keras 2 configs (what it loads .h5 files with), in safe mode."""
    try:
        from keras.src.legacy.saving import saving_options, saving_utils
        from keras.src.saving import serialization_lib
    except ImportError as e:
        raise ConversionError(f"this Keras 3 cannot build Keras 2 model configs ({e}); {INSTALL_TF_KERAS} to load the model with tf_keras") from None

    def build(config: Dict):
        with saving_options.keras_option_scope(use_legacy_config=True), serialization_lib.SafeModeScope(True):
            return saving_utils.model_from_config(config)

    return build


def _assign_eagerly(pairs: List[Tuple[Any, np.ndarray]]) -> None:
    for variable, value in pairs:
        variable.assign(value)


def build_keras3_model(topology: Dict, weights: Optional[Sequence], where: str):
    """A Keras 3 model of the topology, refused where Keras 3 would compute otherwise than TF.js.

    Keras 3 runs eagerly only, so a graph context (tf.Graph, v1 Session) is refused too.
    """
    keras = extras.require("keras", "building a Keras 3 model")
    tf = extras.require("tensorflow", "building a Keras 3 model")

    if not tf.executing_eagerly():
        raise ConversionError(f"{where}: Keras 3 models run eagerly only, and this call is inside a graph (tf.Graph().as_default() or a v1 Session); load a tf_keras model there ({INSTALL_TF_KERAS})")
    model_config = model_config_of(topology, where)
    from_tfjs_config.check_keras3_semantics(model_config, where)
    config = from_tfjs_config.apply_rules(model_config, from_tfjs_config.TFJS_TO_KERAS3_RULES, where)
    from_tfjs_config.check_layer_classes(config, where, _known_class(keras))
    build = _keras3_legacy_loader()
    try:
        with quiet_keras():
            model = build(config)
    except Exception as e:  # Keras reports unsupported configs with many exception types.
        raise ConversionError(f"{where}: Keras 3 cannot build this model ({_one_line(e)}); load it with tf_keras instead: use_tf_keras=True in the Python API, --output_format=keras or keras_saved_model") from None
    if weights is not None:
        set_weights_by_name(model, weights, where, _assign_eagerly)
    return model


def build_model(topology: Dict, weights: Optional[Sequence], where: str, use_tf_keras: Optional[bool] = None, unique_name_scope: bool = False):
    """The model in the Keras asked for; None: tf_keras when installed, else Keras 3 if it
    represents the model exactly, else one error saying to install tf_keras."""
    if use_tf_keras is None and _installed_tf_keras() is None:
        try:
            return build_keras3_model(topology, weights, where)
        except ConversionError as e:
            raise ConversionError(f"{e} (tf_keras is not installed: {INSTALL_TF_KERAS})") from None
    if use_tf_keras is False:
        return build_keras3_model(topology, weights, where)
    return build_tf_keras_model(topology, weights, where, unique_name_scope)


# --- weights by name -------------------------------------------------------------------------


def _short_name(variable) -> str:
    """`kernel` of tf_keras's `dense/kernel:0` (Keras 3 already calls it `kernel`)."""
    return variable.name.split("/")[-1].split(":")[0]


def _without_cell(name: str) -> str:
    """tfjs-layers' second try: `lstm/lstm_cell/kernel` is `lstm/kernel`."""
    tokens = name.split("/")
    return "/".join(tokens[:-2] + tokens[-1:]) if len(tokens) > 2 else name


def tfjs_weight_names(model) -> List[Tuple[Any, List[str]]]:
    """Each weight of the model with the names tfjs-layers gives it, the usual one first.

    `<layer>/<weight>` (a recurrent layer's cell weights and a TimeDistributed layer's
    wrapped weights included), `<bidirectional>/<forward_lstm>/<weight>`; a nested model's
    weights also answer to the name prefixed with the nested model's name.
    """
    result = []

    def visit(layers, prefixes):
        for layer in layers:
            if hasattr(layer, "layers"):
                visit(layer.layers, prefixes + [f"{p}{layer.name}/" for p in prefixes])
                continue
            parts = [(sub, f"{layer.name}/{sub.name}/") for sub in (layer.forward_layer, layer.backward_layer)] if hasattr(layer, "forward_layer") else [(layer, f"{layer.name}/")]
            for owner, base in parts:
                for variable in owner.weights:
                    result.append((variable, [f"{p}{base}{_short_name(variable)}" for p in prefixes]))

    visit(model.layers, [""])
    return result


def set_weights_by_name(model, weights: Sequence, where: str, assign: Callable[[List[Tuple[Any, np.ndarray]]], None]) -> None:
    """Gives `assign` each weight with its manifest entry's value; all checks come before any load."""
    expected = tfjs_weight_names(model)
    lookup: Dict[str, int] = {}
    for index, (_, names) in enumerate(expected):
        for name in names:
            if lookup.setdefault(name, index) != index:
                raise ConversionError(f"{where}: two weights of the model are both named {name!r} the way TF.js names them; rename one of the layers")
    found: Dict[int, Any] = {}
    for entry in weights:
        name = strip_tensor_suffix(entry.name)
        index = lookup.get(name, lookup.get(_without_cell(name)))
        if index is None:
            raise ConversionError(f"{where}: weight {entry.name!r} of the weights manifest belongs to no layer of the topology; the weights do not match the model")
        variable, names = expected[index]
        if index in found:
            raise ConversionError(f"{where}: weights {found[index].name!r} and {entry.name!r} of the weights manifest both belong to {names[0]!r}")
        if [int(d) for d in entry.shape] != [int(d) for d in variable.shape]:
            raise ConversionError(f"{where}: weight {entry.name!r} has shape {list(entry.shape)} but the topology's {names[0]!r} has shape {[int(d) for d in variable.shape]}; the weights do not match the model")
        found[index] = entry
    missing = [names[0] for index, (_, names) in enumerate(expected) if index not in found]
    if missing:
        listed = ", ".join(repr(n) for n in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ConversionError(f"{where}: the weights manifest has no entry for {listed}; the weights do not match the model")
    assign([(expected[index][0], np.asarray(entry.load())) for index, entry in found.items()])


# --- Keras files -----------------------------------------------------------------


def write_h5(model, path: str, where: str, rules: Sequence = from_tfjs_config.KERAS3_LEGACY_RULES) -> None:
    """A Keras 2 HDF5 file of a tf_keras model, loadable by tf_keras and by Keras 3.

    tf_keras writes a few arguments Keras 3 rejects (`time_major`, ...); the stored config is
    rewritten without them (see from_tfjs_config.KERAS3_LEGACY_RULES). tf_keras reads both.
    Keras 3 still cannot load a Keras 2 .h5 of a functional model with a nested model.
    """
    h5py = extras.require("h5py", "writing a Keras .h5 file")

    with quiet_keras():
        _tf_keras().models.save_model(model, path, save_format="h5", include_optimizer=False)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        f.attrs["model_config"] = json.dumps(from_tfjs_config.apply_rules(config, list(rules), where))
