"""The Keras model zoo of the Keras -> TF.js layers tests, built the same way in tf_keras and Keras 3.

A builder takes the Keras module (`keras` or `tf_keras`) and returns a model; `prepare` gives
it random, non-trivial weights (BatchNormalization statistics included) and fixed inputs, so
a wrong weight name, order or layout shows up as a wrong prediction.
"""

from typing import Callable, Dict, List

import numpy as np


def is_keras3(k) -> bool:
    return k.__name__ == "keras"


def mlp(k):
    return k.Sequential([k.Input((8,)), k.layers.Dense(16, activation="relu", name="hidden"), k.layers.Dense(4, activation="softmax", name="probs")], name="mlp")


def cnn_bn(k):
    return k.Sequential(
        [
            k.Input((10, 10, 3)),
            k.layers.Conv2D(4, 3, padding="same", name="conv1"),
            k.layers.BatchNormalization(name="bn1"),
            k.layers.Activation("relu"),
            k.layers.MaxPooling2D(2),
            k.layers.Dropout(0.3),
            k.layers.Conv2D(6, 3, name="conv2"),
            k.layers.BatchNormalization(center=False, name="bn2"),
            k.layers.Flatten(),
            k.layers.Dense(5, name="logits"),
        ],
        name="cnn_bn",
    )


def depthwise_separable(k):
    return k.Sequential(
        [
            k.Input((9, 9, 4)),
            k.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
            k.layers.SeparableConv2D(5, 3, activation="relu"),
            k.layers.SeparableConv2D(3, 2, use_bias=False),
            k.layers.GlobalAveragePooling2D(),
        ]
    )


def conv1d_gap(k):
    return k.Sequential([k.Input((12, 3)), k.layers.Conv1D(5, 3, activation="tanh"), k.layers.Conv1D(4, 2, strides=2), k.layers.GlobalAveragePooling1D(), k.layers.Dense(2)])


def simple_rnn(k):
    return k.Sequential([k.Input((5, 3)), k.layers.SimpleRNN(4, return_sequences=True), k.layers.SimpleRNN(3)])


def gru(k):
    # TF.js implements only reset_after=False (both Kerases default to True).
    return k.Sequential([k.Input((5, 3)), k.layers.GRU(4, reset_after=False, return_sequences=True), k.layers.GRU(2, reset_after=False)])


def lstm(k):
    return k.Sequential([k.Input((6, 3)), k.layers.LSTM(5, return_sequences=True), k.layers.LSTM(3)])


def bidirectional_lstm(k):
    return k.Sequential([k.Input((5, 3)), k.layers.Bidirectional(k.layers.LSTM(4, return_sequences=True)), k.layers.Bidirectional(k.layers.LSTM(2), merge_mode="sum")])


def time_distributed(k):
    return k.Sequential([k.Input((4, 3)), k.layers.TimeDistributed(k.layers.Dense(5, activation="relu")), k.layers.TimeDistributed(k.layers.Dense(2))])


def embedding_lstm(k):
    return k.Sequential([k.Input((7,), dtype="int32"), k.layers.Embedding(20, 4), k.layers.LSTM(3), k.layers.Dense(2)])


def two_inputs_two_outputs(k):
    a, b = k.Input((6,), name="a"), k.Input((6,), name="b")
    ha = k.layers.Dense(6, activation="relu", name="da")(a)
    hb = k.layers.Dense(6, activation="tanh", name="db")(b)
    added = k.layers.Add(name="add")([ha, hb])
    multiplied = k.layers.Multiply(name="mul")([ha, hb])
    joined = k.layers.Concatenate(name="cat")([added, multiplied, a])
    logits = k.layers.Dense(3, name="logits")(joined)
    score = k.layers.Dense(1, activation="sigmoid", name="score")(added)
    return k.Model([a, b], [logits, score], name="two_heads")


def nested_sequential(k):
    inner = k.Sequential([k.Input((5,)), k.layers.Dense(4, activation="relu", name="inner_dense"), k.layers.Dense(3, name="inner_out")], name="inner")
    x = k.Input((6,), name="x")
    h = k.layers.Dense(5, name="outer_dense")(x)
    return k.Model(x, k.layers.Dense(2, name="head")(inner(h)), name="outer")


def nested_functional_shared_layer(k):
    xi = k.Input((4,), name="xi")
    inner = k.Model(xi, k.layers.Dense(3, activation="tanh", name="inner_d")(xi), name="inner_f")
    x = k.Input((4,), name="x")
    shared = k.layers.Dense(4, name="shared")
    return k.Model(x, k.layers.Dense(2, name="out")(inner(shared(shared(x)))), name="outer_f")


def time_distributed_conv_bidirectional_gru(k):
    return k.Sequential(
        [
            k.Input((3, 6, 6, 2)),
            k.layers.TimeDistributed(k.layers.Conv2D(2, 3)),
            k.layers.TimeDistributed(k.layers.Flatten()),
            k.layers.Bidirectional(k.layers.GRU(3, reset_after=False), merge_mode="ave"),
        ]
    )


def mobilenet_v2(k):
    return k.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35, weights=None, classes=7)


def layer_norm(k):
    return k.Sequential([k.Input((4, 6)), k.layers.LayerNormalization(), k.layers.Dense(3), k.layers.LayerNormalization(center=False, epsilon=1e-2)])


def upsampling(k):
    return k.Sequential(
        [
            k.Input((5, 5, 2)),
            k.layers.ZeroPadding2D(((1, 0), (0, 2))),
            k.layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
            k.layers.UpSampling2D(2),
            k.layers.Conv2DTranspose(2, 2, use_bias=False),
        ]
    )


def activations(k):
    leaky = {"negative_slope": 0.2} if is_keras3(k) else {"alpha": 0.2}
    return k.Sequential(
        [
            k.Input((10,)),
            k.layers.Dense(10),
            k.layers.LeakyReLU(**leaky),
            k.layers.Dense(10),
            k.layers.PReLU(),
            k.layers.Dense(10),
            k.layers.ELU(),
            k.layers.Dense(10),
            k.layers.ReLU(max_value=1.5),
            k.layers.Activation("tanh"),
            k.layers.Softmax(),
        ]
    )


def reshape_permute(k):
    return k.Sequential([k.Input((4, 6)), k.layers.Reshape((3, 8)), k.layers.Permute((2, 1)), k.layers.Flatten(), k.layers.Dense(3)])


ZOO: Dict[str, Callable] = {
    "mlp": mlp,
    "cnn_bn": cnn_bn,
    "depthwise_separable": depthwise_separable,
    "conv1d_gap": conv1d_gap,
    "simple_rnn": simple_rnn,
    "gru": gru,
    "lstm": lstm,
    "bidirectional_lstm": bidirectional_lstm,
    "time_distributed": time_distributed,
    "embedding_lstm": embedding_lstm,
    "two_inputs_two_outputs": two_inputs_two_outputs,
    "nested_sequential": nested_sequential,
    "nested_functional_shared_layer": nested_functional_shared_layer,
    "time_distributed_conv_bidirectional_gru": time_distributed_conv_bidirectional_gru,
    "mobilenet_v2": mobilenet_v2,
    "layer_norm": layer_norm,
    "upsampling": upsampling,
    "activations": activations,
    "reshape_permute": reshape_permute,
}


def _variable_name(variable) -> str:
    return getattr(variable, "path", None) or variable.name


def randomize(model, seed: int = 0) -> None:
    """Weights that make every one of them matter: no zero biases, real BN statistics."""
    rng = np.random.default_rng(seed)
    values = []
    for variable in model.weights:
        shape = tuple(variable.shape)
        if "moving_variance" in _variable_name(variable):
            values.append(rng.uniform(0.5, 1.5, shape))
        elif "embeddings" in _variable_name(variable):
            values.append(rng.normal(0, 1, shape))
        else:
            values.append(rng.normal(0, 0.4, shape))
    model.set_weights([v.astype(np.float32) for v in values])


def inputs_for(model, seed: int = 1, batch: int = 3) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for tensor in model.inputs:
        shape = (batch,) + tuple(int(d) for d in tensor.shape[1:])
        if "int" in str(tensor.dtype):
            arrays.append(rng.integers(0, 20, shape).astype(np.int32))
        else:
            arrays.append(rng.normal(0, 1, shape).astype(np.float32))
    return arrays


def prepare(k, name: str):
    """(model, inputs, expected outputs as a list) for zoo model `name` in Keras module k."""
    model = ZOO[name](k)
    randomize(model)
    inputs = inputs_for(model)
    outputs = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    return model, inputs, [np.asarray(o, dtype=np.float32) for o in outputs]
