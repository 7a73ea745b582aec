"""This converter side by side with the public tensorflowjs 4.22 converter: wall time, peak RSS.

    benchmarks/setup_public_converter.sh /tmp/tfjs-public
    bazel run //benchmarks:bench_vs_public -- --public=/tmp/tfjs-public/bin/tensorflowjs_converter

Builds the models itself (weights=None, randomised batch-norm statistics), runs each converter
in a fresh process RUNS times on the same input, and prints a Markdown table of median wall
time and peak RSS. Each output is then run on the same input, in TF.js (CPU backend) or, for a
Keras file, by the Keras that loads it, and the largest difference from the source model's own
prediction is reported, so a fast wrong answer shows.
"""

import os
import statistics
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from measure import measure
from runner import run_table
from tfjs_e2e import run_tfjs

RUNS = 3
OURS = [sys.executable, "-m", "tensorflowjs.converters.converter"]


def _randomise_batch_norm(model) -> None:
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape), rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, variance.shape)])


def _applications(name: str, size: int):
    import tf_keras

    model = getattr(tf_keras.applications, name)(weights=None, input_shape=(size, size, 3))
    _randomise_batch_norm(model)
    return model


def _dense_stack():
    """About 100 MB of float32: three 3000x3000 Dense layers."""
    import tf_keras

    inputs = tf_keras.Input((3000,))
    x = inputs
    for _ in range(3):
        x = tf_keras.layers.Dense(3000, activation="relu")(x)
    return tf_keras.Model(inputs, x)


def _saved_as(file_name: str, save: Callable[[Any, str], None]) -> Callable[[Callable], Callable[[str], Tuple[str, np.ndarray, np.ndarray]]]:
    """How a case makes its input: the model `build` returns, written to tmp/file_name by `save`,
    with an input and the model's own prediction for it."""
    def case(build: Callable) -> Callable[[str], Tuple[str, np.ndarray, np.ndarray]]:
        def make(tmp: str):
            model = build()
            path = os.path.join(tmp, file_name)
            save(model, path)
            x = np.random.default_rng(1).normal(size=(1, *model.input_shape[1:])).astype(np.float32)
            return path, x, model.predict(x, verbose=0)

        return make

    return case


def _write_saved_model(model, path: str) -> None:
    import tensorflow as tf

    tf.saved_model.save(model, path)


def _write_frozen_graph(model, path: str) -> None:
    """The model's inference function frozen by TensorFlow, its output node named `probs`."""
    import tensorflow as tf
    from tensorflow.python.framework import convert_to_constants

    function = tf.function(lambda x: tf.identity(model(x, training=False), name="probs"))
    concrete = function.get_concrete_function(tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name="x"))
    with open(path, "wb") as f:
        f.write(convert_to_constants.convert_variables_to_constants_v2(concrete).graph.as_graph_def().SerializeToString())


_h5 = _saved_as("model.h5", lambda model, path: model.save(path))
_keras_saved_model = _saved_as("keras_saved_model", lambda model, path: model.save(path, save_format="tf"))
_saved_model = _saved_as("saved_model", _write_saved_model)
_frozen_graph = _saved_as("frozen.pb", _write_frozen_graph)


def _save_tf1(session, path: str, x, x_value: np.ndarray, key: str, output) -> np.ndarray:
    """A TF1 session's graph as a SavedModel (SavedModelBuilder, serving_default: x -> key),
    its variables initialised; returns its prediction for x_value."""
    import tensorflow as tf

    session.run(tf.compat.v1.global_variables_initializer())
    expected = session.run(output, {x: x_value})
    builder = tf.compat.v1.saved_model.Builder(path)
    signature = tf.compat.v1.saved_model.predict_signature_def({"x": x}, {key: output})
    builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
    builder.save()
    return expected


def _tf1_cnn(tmp: str):
    """A TF1 SavedModel (SavedModelBuilder): six 3x3 conv layers of 256 channels with batch norms, about 14 MB of variables."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    x_value = rng.normal(size=(1, 32, 32, 3)).astype(np.float32)
    path = os.path.join(tmp, "tf1_saved_model")
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        x = tf.compat.v1.placeholder(tf.float32, [None, 32, 32, 3], name="x")
        y, channels = x, 3
        for i in range(6):
            kernel = tf.compat.v1.get_variable(f"conv{i}", initializer=rng.normal(0, 0.05, (3, 3, channels, 256)).astype(np.float32))
            mean = tf.compat.v1.get_variable(f"mean{i}", initializer=rng.normal(0, 0.1, 256).astype(np.float32))
            variance = tf.compat.v1.get_variable(f"variance{i}", initializer=rng.uniform(0.5, 1.5, 256).astype(np.float32))
            y, channels = tf.nn.relu(tf.nn.batch_normalization(tf.nn.conv2d(y, kernel, 1, "SAME"), mean, variance, None, None, 1e-3)), 256
        probs = tf.nn.softmax(tf.reduce_mean(y, axis=[1, 2]), name="probs")
        expected = _save_tf1(session, path, x, x_value, "probs", probs)
    return path, x_value, expected


def _hash_table(tmp: str):
    """A TF2 SavedModel looking words up in a StaticHashTable of 10000 entries."""
    import tensorflow as tf

    class Vocabulary(tf.Module):
        def __init__(self):
            super().__init__()
            keys = tf.constant([f"word{i}" for i in range(10000)])
            self.table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, tf.range(10000, dtype=tf.int64)), -1)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="words")])
        def serve(self, words):
            return {"ids": self.table.lookup(words)}

    module = Vocabulary()
    path = os.path.join(tmp, "table_saved_model")
    tf.saved_model.save(module, path, signatures=module.serve)
    words = np.array(["word7", "word9999", "nope"], dtype=object)
    return path, words, module.serve(tf.constant(words))["ids"].numpy()


def _while_loop(tmp: str):
    """A TF2 SavedModel with tf.while_loop (a counted loop, a data-dependent one) and a tf.cond."""
    import tensorflow as tf

    class Loops(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(np.linspace(-1.0, 2.0, 16, dtype=np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name="x")])
        def serve(self, x):
            _, counted = tf.while_loop(lambda i, y: i < 8, lambda i, y: (i + 1, tf.tanh(y * self.w)), (tf.constant(0), x))
            _, grown = tf.while_loop(lambda i, y: tf.reduce_sum(tf.abs(y)) < 1000.0, lambda i, y: (i + 1, y * 2.0 + self.w), (tf.constant(0), x))
            return {"y": tf.cond(tf.reduce_sum(x) > 0, lambda: counted + grown, lambda: counted - grown)}

    module = Loops()
    path = os.path.join(tmp, "while_loop_saved_model")
    tf.saved_model.save(module, path, signatures=module.serve)
    x = np.random.default_rng(0).normal(size=(2, 16)).astype(np.float32)
    return path, x, module.serve(tf.constant(x))["y"].numpy()


def _layers_model(build: Callable) -> Callable[[str], Tuple[str, np.ndarray, np.ndarray]]:
    """A TF.js layers model (written by this converter from the Keras model) as the input."""
    def make(tmp: str):
        path, x, expected = _h5(build)(tmp)
        web = os.path.join(tmp, "web_model")
        subprocess.run([*OURS, "--input_format=keras", "--output_format=tfjs_layers_model", path, web], check=True,
                       env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
        return os.path.join(web, "model.json"), x, expected

    return make


# A Flax CNN converted by convert_jax, the public converter's only JAX entry point: each converter
# runs this script in its own Python; the module's parameters come from a fixed PRNG key.
_JAX_SCRIPT = textwrap.dedent("""
    import sys
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    from tensorflowjs.converters.jax_conversion import convert_jax

    class CNN(nn.Module):
        @nn.compact
        def __call__(self, x):
            for features in (32, 64, 128):
                x = nn.max_pool(nn.relu(nn.Conv(features, (3, 3))(x)), (2, 2), (2, 2))
            x = nn.relu(nn.Dense(256)(x.reshape((x.shape[0], -1))))
            return nn.Dense(10)(x)

    module = CNN()
    params = module.init(jax.random.PRNGKey(0), jnp.zeros((1, 32, 32, 3)))
    if sys.argv[1] == "--predict":
        import numpy as np
        x = np.load(sys.argv[2])
        np.save(sys.argv[3], np.asarray(module.apply(params, x)))
    elif sys.argv[3:] == ["--tensorspec"]:  # the public converter's documented spelling
        import tensorflow as tf
        convert_jax(module.apply, params, input_signatures=[tf.TensorSpec((1, 32, 32, 3), tf.float32)], model_dir=sys.argv[2])
    else:
        convert_jax(module.apply, params, input_signatures=[((1, 32, 32, 3), jnp.float32)], model_dir=sys.argv[2])
""")


def _flax_cnn(tmp: str):
    script = os.path.join(tmp, "flax_cnn.py")
    with open(script, "w") as f:
        f.write(_JAX_SCRIPT)
    x = np.random.default_rng(3).normal(size=(1, 32, 32, 3)).astype(np.float32)
    np.save(os.path.join(tmp, "x.npy"), x)
    subprocess.run([sys.executable, script, "--predict", os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")], check=True,
                   env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    return script, x, np.load(os.path.join(tmp, "y.npy"))


def _tfjs_error(model_dir: str, x: np.ndarray, expected: np.ndarray) -> str:
    try:
        (got,) = run_tfjs(model_dir, [x], "cpu")
    except AssertionError as e:
        return f"fails to load/run: {str(e).splitlines()[-1][:60]}"
    return f"{float(np.max(np.abs(got - expected))):.1e}"


def _keras_error(load: Callable[[str], Any]) -> Callable[[str, np.ndarray, np.ndarray], str]:
    """The Keras file's prediction against the source model's, as the Keras that loads it gives it."""
    def check(path: str, x: np.ndarray, expected: np.ndarray) -> str:
        try:
            got = load(path).predict(x, verbose=0)
        except Exception as e:  # noqa: BLE001  (a benchmark reports what loading said)
            return f"fails to load: {type(e).__name__}"
        return f"{float(np.max(np.abs(got - expected))):.1e}"

    return check


def _tf_keras_load(path: str):
    import tf_keras

    return tf_keras.models.load_model(path, compile=False)


def _keras3_load(path: str):
    import keras

    return keras.saving.load_model(path, compile=False)


@dataclass
class Case:
    make: Callable[[str], Tuple[str, np.ndarray, np.ndarray]]  # the input, an input value, the source's prediction
    flags: List[str]
    output_suffix: str = ""  # a file output (.h5, .keras) instead of a directory
    check: Callable[[str, np.ndarray, np.ndarray], str] = _tfjs_error
    python_script: bool = False  # the input is a script each converter's Python runs (the JAX API)


def _tf1_while_loop(tmp: str):
    """A TF1 SavedModel (SavedModelBuilder) whose graph holds v1 loops and a cond, as TF1's
    tf.while_loop and tf.cond make them (Enter/Merge/Switch/NextIteration/Exit)."""
    import tensorflow as tf

    x_value = np.random.default_rng(4).normal(size=(2, 16)).astype(np.float32)
    path = os.path.join(tmp, "tf1_while_saved_model")
    tf.compat.v1.disable_control_flow_v2()
    try:
        with tf.Graph().as_default(), tf.compat.v1.Session() as session:
            x = tf.compat.v1.placeholder(tf.float32, [None, 16], name="x")
            w = tf.compat.v1.get_variable("w", initializer=np.linspace(-1.0, 2.0, 16, dtype=np.float32))
            _, counted = tf.compat.v1.while_loop(lambda i, y: i < 8, lambda i, y: (i + 1, tf.tanh(y * w)), (tf.constant(0), x))
            _, grown = tf.compat.v1.while_loop(lambda i, y: tf.reduce_sum(tf.abs(y)) < 1000.0, lambda i, y: (i + 1, y * 2.0 + w), (tf.constant(0), x))
            y = tf.identity(tf.compat.v1.cond(tf.reduce_sum(x) > 0, lambda: counted + grown, lambda: counted - grown), name="y")
            expected = _save_tf1(session, path, x, x_value, "y", y)
    finally:
        tf.compat.v1.enable_control_flow_v2()
    return path, x_value, expected


_MOBILENET = lambda: _applications("MobileNetV2", 224)  # noqa: E731

CASES: Dict[str, Case] = {
    "MobileNetV2 .h5 -> layers": Case(_h5(_MOBILENET), ["--input_format=keras", "--output_format=tfjs_layers_model"]),
    "100 MB Dense .h5 -> layers": Case(_h5(_dense_stack), ["--input_format=keras", "--output_format=tfjs_layers_model"]),
    "MobileNetV2 Keras SavedModel -> layers": Case(_keras_saved_model(_MOBILENET), ["--input_format=keras_saved_model", "--output_format=tfjs_layers_model"]),
    "MobileNetV2 SavedModel -> graph": Case(_saved_model(_MOBILENET), ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]),
    "MobileNetV2 SavedModel -> graph (uint8)": Case(_saved_model(_MOBILENET), ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model", "--quantize_uint8=*"]),
    "ResNet50 SavedModel -> graph": Case(_saved_model(lambda: _applications("ResNet50", 224)), ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]),
    "ResNet50 SavedModel -> graph (uint8)": Case(_saved_model(lambda: _applications("ResNet50", 224)), ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model", "--quantize_uint8=*"]),
    "MobileNetV2 frozen GraphDef -> graph": Case(_frozen_graph(_MOBILENET), ["--input_format=tf_frozen_model", "--output_node_names=probs"]),
    "TF1 SavedModel -> graph": Case(_tf1_cnn, ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]),
    "StaticHashTable SavedModel -> graph": Case(_hash_table, ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]),
    "tf.while_loop SavedModel -> graph": Case(_while_loop, ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]),
    "TF1 SavedModel with v1 loops -> graph": Case(_tf1_while_loop, ["--input_format=tf_saved_model", "--output_format=tfjs_graph_model"]),
    "MobileNetV2 layers -> .h5": Case(_layers_model(_MOBILENET), ["--input_format=tfjs_layers_model", "--output_format=keras"], ".h5", _keras_error(_tf_keras_load)),
    "MobileNetV2 layers -> .keras": Case(_layers_model(_MOBILENET), ["--input_format=tfjs_layers_model", "--output_format=keras_keras"], ".keras",
                                         _keras_error(_keras3_load)),
    "100 MB Dense layers -> .h5": Case(_layers_model(_dense_stack), ["--input_format=tfjs_layers_model", "--output_format=keras"], ".h5",
                                       _keras_error(_tf_keras_load)),
    "Flax CNN (convert_jax) -> graph": Case(_flax_cnn, [], python_script=True),
}


def _measure_or_failure(args: List[str], env: Dict[str, str]) -> Optional[Tuple[float, float]]:
    try:
        return measure(args, env)
    except SystemExit:
        return None


def run_case(args, name: str, case: Case, tmp: str) -> Iterator[str]:
    source, x, expected = case.make(tmp)
    ours_env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    # The public converter runs on its own virtualenv: none of this build's paths may leak in.
    public_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    public_python = os.path.join(os.path.dirname(args.public), "python")
    converters = {
        "this converter": ([sys.executable, source] if case.python_script else OURS, ours_env),
        "tensorflowjs 4.22": ([public_python, source] if case.python_script else [args.public], public_env),
    }
    # The public convert_jax takes tf.TensorSpec signatures (it passes them to jax2tf); ours also takes (shape, dtype).
    spelling = {"this converter": [], "tensorflowjs 4.22": ["--tensorspec"]}
    for who, (command, env) in converters.items():
        slug = who.replace(" ", "_")  # the public converter fails on paths with spaces
        outputs = [os.path.join(tmp, f"{slug}{run}{case.output_suffix}") for run in range(RUNS)]
        arguments = (lambda out: [*command, "--convert", out, *spelling[who]]) if case.python_script else (lambda out: [*command, *case.flags, source, out])
        results = [_measure_or_failure(arguments(out), env) for out in outputs]
        if None in results:
            yield f"| {name} | {who} | fails | fails | `{' '.join(arguments(outputs[0]))}` exits non-zero |"
            continue
        times, rss = zip(*results)
        yield f"| {name} | {who} | {statistics.median(times):.1f} s | {statistics.median(rss):.0f} MB | {case.check(outputs[0], x, expected)} |"


def main() -> None:
    run_table(__doc__, CASES, ["case", "converter", "median wall time", "median peak RSS", "max abs diff vs the source (TF.js CPU; Keras for Keras files)"], run_case,
              lambda parser: parser.add_argument("--public", required=True, help="the public converter's tensorflowjs_converter (see setup_public_converter.sh)"))


if __name__ == "__main__":
    main()
