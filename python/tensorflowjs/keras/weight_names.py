"""Names of Keras weights as tfjs-layers looks them up (`conv1/kernel`, `bn1/moving_mean`).

TF.js matches a layers model's weights to its layers by name: `<layer>/<weight>`, with the
cell (`lstm/lstm_cell/kernel`) or wrapped layer (`bidirectional/forward_lstm/lstm_cell/kernel`)
between, as Keras 2 named them. Keras 3's .keras files store weights by position instead
(`layers/dense/vars/0`); the table here says what each position of a layer class holds.
"""

from typing import Callable, Dict, List, Optional

Config = Dict


def _maybe(flag: str, name: str, default: bool = True) -> Callable[[Config], List[str]]:
    return lambda config: [name] if config.get(flag, default) else []


def _names(*parts) -> Callable[[Config], List[str]]:
    """Concatenates fixed names (str) and conditional ones (callables of the config)."""
    return lambda config: [n for part in parts for n in ([part] if isinstance(part, str) else part(config))]


_KERNEL_BIAS = _names("kernel", _maybe("use_bias", "bias"))
_RNN_CELL = _names("kernel", "recurrent_kernel", _maybe("use_bias", "bias"))

# Layer class -> its variables in Keras 3's saving order (trainable ones, then the others,
# each in creation order), given the layer's config.
VARIABLES: Dict[str, Callable[[Config], List[str]]] = {
    "Dense": _KERNEL_BIAS,
    "EinsumDense": _names("kernel", lambda c: ["bias"] if c.get("bias_axes") else []),
    "Conv1D": _KERNEL_BIAS,
    "Conv2D": _KERNEL_BIAS,
    "Conv3D": _KERNEL_BIAS,
    "Conv1DTranspose": _KERNEL_BIAS,
    "Conv2DTranspose": _KERNEL_BIAS,
    "Conv3DTranspose": _KERNEL_BIAS,
    "DepthwiseConv1D": _names("depthwise_kernel", _maybe("use_bias", "bias")),
    "DepthwiseConv2D": _names("depthwise_kernel", _maybe("use_bias", "bias")),
    "SeparableConv1D": _names("depthwise_kernel", "pointwise_kernel", _maybe("use_bias", "bias")),
    "SeparableConv2D": _names("depthwise_kernel", "pointwise_kernel", _maybe("use_bias", "bias")),
    "BatchNormalization": _names(_maybe("scale", "gamma"), _maybe("center", "beta"), "moving_mean", "moving_variance"),
    "LayerNormalization": _names(_maybe("scale", "gamma"), _maybe("center", "beta")),
    "Embedding": _names("embeddings"),
    "PReLU": _names("alpha"),
    # Statistics are variables only when adapted, not when given in the config.
    "Normalization": lambda c: [] if c.get("mean") is not None else ["mean", "variance", "count"],
    "LayerScale": _names("gamma"),
    "SimpleRNNCell": _RNN_CELL,
    "GRUCell": _RNN_CELL,
    "LSTMCell": _RNN_CELL,
    "ConvLSTM2DCell": _RNN_CELL,
}

# Recurrent layers whose Keras config is flat but whose weights live in a cell.
CELLS = {"SimpleRNN": "SimpleRNNCell", "GRU": "GRUCell", "LSTM": "LSTMCell", "ConvLSTM2D": "ConvLSTM2DCell"}
# The default name Keras gives the cell of each recurrent layer (a tf_keras .h5 weight's path).
CELL_NAMES = {"SimpleRNN": "simple_rnn_cell", "GRU": "gru_cell", "LSTM": "lstm_cell", "ConvLSTM2D": "conv_lstm2d_cell"}

def variable_names(class_name: str, config: Config, count: int) -> Optional[List[str]]:
    """Names of a layer's `count` stored variables, or None when the table cannot tell."""
    names = VARIABLES[class_name](config) if class_name in VARIABLES else None
    return names if names is not None and len(names) == count else None


def strip_tensor_suffix(name: str) -> str:
    """Keras 2 stores `dense/kernel:0`; TF.js looks up `dense/kernel`."""
    head, sep, tail = name.rpartition(":")
    return head if sep and tail.isdigit() else name


# Keras 3 variables named differently from the Keras 2 weights TF.js looks up, by layer class.
KERAS3_RENAMES: Dict[str, Dict[str, str]] = {
    "DepthwiseConv1D": {"kernel": "depthwise_kernel"},
    "DepthwiseConv2D": {"kernel": "depthwise_kernel"},
}
