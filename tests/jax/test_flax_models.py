"""Flax models through the JAX path: lowered graph, graph model, and real TF.js (CPU and WASM).

Each model is lowered and converted once; the lowered GraphDef run by TensorFlow must reproduce
JAX, the graph model must contain only ops TF.js executes, no more kinds of op than the same
lowering run on TensorFlow gives (tf_reference), and must predict what JAX predicts in TF.js.
"""

import os
import sys

import jax_testing  # sets JAX_PLATFORMS=cpu before JAX loads
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tf_reference
from jax_testing import (ATOL, RTOL, assert_close, convert_tf_saved_model, lower, model_json_ops, reference, run_tf,
                         tfjs_inputs, tfjs_ops, tfjs_output_names)
from tensorflowjs.converters.jax_conversion import convert_jax
from tensorflowjs.jax_lowering import tracing
from tfjs_e2e import assert_tfjs_matches

RNG = np.random.default_rng(7)


class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(16)(x))
        x = nn.gelu(nn.Dense(16)(x), approximate=True)
        x = nn.gelu(nn.Dense(16)(x), approximate=False)
        return nn.softmax(nn.Dense(5)(x))


class CNN(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Conv(8, (3, 3), strides=(2, 2), padding="SAME")(x))
        x = nn.avg_pool(x, (2, 2), strides=(1, 1), padding="SAME")
        x = nn.relu(nn.Conv(6, (3, 3), padding="VALID")(x))
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
        x = nn.Conv(4, (1, 2), strides=(1, 2), padding=((0, 1), (1, 0)))(x)
        return nn.Dense(3)(x.reshape(x.shape[0], -1))


class LayerNorm(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.LayerNorm()(nn.Dense(12)(x))


class BatchNorm(nn.Module):
    @nn.compact
    def __call__(self, x):
        x = nn.Conv(5, (3, 3))(x)
        return nn.BatchNorm(use_running_average=True, momentum=0.9)(x)


class Embed(nn.Module):
    @nn.compact
    def __call__(self, ids):
        return nn.Dense(3)(nn.Embed(11, 8)(ids).mean(axis=1))


class TransformerBlock(nn.Module):
    heads: int = 4

    @nn.compact
    def __call__(self, x):
        mask = nn.make_causal_mask(jnp.ones(x.shape[:2]))
        x = x + nn.MultiHeadDotProductAttention(num_heads=self.heads)(nn.LayerNorm()(x), mask=mask)
        h = nn.gelu(nn.Dense(32)(nn.LayerNorm()(x)))
        return x + nn.Dense(x.shape[-1])(h)


class ResNetBlock(nn.Module):
    """A ResNet basic block with a projection shortcut: conv-BN-relu twice, 1x1 strided conv."""

    @nn.compact
    def __call__(self, x):
        y = nn.relu(nn.BatchNorm(use_running_average=True)(nn.Conv(8, (3, 3), strides=(2, 2), use_bias=False)(x)))
        y = nn.BatchNorm(use_running_average=True)(nn.Conv(8, (3, 3), use_bias=False)(y))
        shortcut = nn.BatchNorm(use_running_average=True)(nn.Conv(8, (1, 1), strides=(2, 2), use_bias=False)(x))
        return nn.relu(y + shortcut).mean(axis=(1, 2))


class Layers(nn.Module):
    """More of flax.linen in one model: transposed and dilated grouped convs, GroupNorm,
    RMSNorm, recurrent cells (scan), self-attention, dropout off, activations."""

    @nn.compact
    def __call__(self, img, seq):
        y = nn.GroupNorm(num_groups=2)(nn.ConvTranspose(4, (3, 3), strides=(2, 2))(img))
        y = nn.Dropout(0.5, deterministic=True)(y)
        y = nn.Conv(4, (3, 3), kernel_dilation=(2, 2), feature_group_count=2)(y).mean(axis=(1, 2))
        s = nn.RNN(nn.GRUCell(6))(nn.RNN(nn.LSTMCell(8))(nn.RMSNorm()(seq)))
        s = nn.MultiHeadDotProductAttention(num_heads=2, deterministic=True)(s)
        return y, nn.silu(s), nn.elu(s), nn.log_sigmoid(s), nn.softplus(s), nn.glu(s)


def _batch_stats(variables):
    """Non-trivial running statistics, so inference-mode BatchNorm really normalizes."""
    for name, stats in variables["batch_stats"].items():
        shape = stats["mean"].shape
        variables["batch_stats"][name] = {
            "mean": RNG.normal(size=shape).astype(np.float32),
            "var": RNG.uniform(0.5, 2.0, size=shape).astype(np.float32),
        }
    return variables


def _normal(*shape):
    return RNG.normal(size=shape).astype(np.float32)


# name -> (module, example inputs, variables fix-up)
MODELS = {
    "mlp": (MLP(), [_normal(3, 8)], None),
    "cnn": (CNN(), [_normal(2, 16, 16, 3)], None),
    "layernorm": (LayerNorm(), [_normal(4, 6) * 3 + 1], None),
    "batchnorm": (BatchNorm(), [_normal(2, 6, 6, 2)], _batch_stats),
    "embed": (Embed(), [RNG.integers(0, 11, size=(2, 5)).astype(np.int32)], None),
    "transformer": (TransformerBlock(), [_normal(2, 6, 16)], None),
    "resnet_block": (ResNetBlock(), [_normal(2, 8, 8, 3)], _batch_stats),
    "layers": (Layers(), [_normal(2, 5, 5, 2), _normal(2, 4, 3)], None),
}


class Built:
    """One model, built once: its variables, JAX's prediction, lowered graph and graph model."""

    def __init__(self, name, root):
        module, xs, fix = MODELS[name]
        variables = jax.tree_util.tree_map(np.asarray, module.init(jax.random.PRNGKey(0), *xs))
        self.variables = fix(variables) if fix else variables
        self.xs = xs
        self.expected = reference(module.apply, self.variables, *xs)
        self.signatures = [(x.shape, x.dtype) for x in xs]
        self.lowered = lower(module.apply, self.variables, self.signatures)
        self._module, self._root, self._name, self._model_dir = module, root, name, None

    def model_dir(self):
        """The graph model convert_jax writes, converted on first use."""
        if self._model_dir is None:
            model_dir = os.path.join(self._root, self._name, "tfjs")
            convert_jax(self._module.apply, self.variables, input_signatures=self.signatures, model_dir=model_dir)
            self._model_dir = model_dir
        return self._model_dir

    def tensorflow_model_dir(self):
        """The graph model of the same lowering run on TensorFlow, through a SavedModel."""
        convert = convert_tf_saved_model()
        saved_model_dir = os.path.join(self._root, self._name, "tf_saved_model")
        tf_reference.save(tracing.trace(self._module.apply, self.variables, self.signatures, None), saved_model_dir)
        model_dir = os.path.join(self._root, self._name, "tf_tfjs")
        convert(saved_model_dir, model_dir)
        return model_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("flax"))
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = Built(name, root)
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(MODELS))
def test_lowered_graph_matches_jax(built, name):
    model = built(name)
    assert_close(run_tf(model.lowered, *model.xs), model.expected)


@pytest.mark.parametrize("name", list(MODELS))
def test_graph_model_has_only_tfjs_ops(built, name):
    ops = model_json_ops(built(name).model_dir())
    supported = tfjs_ops()
    assert ops <= supported, f"ops TF.js lacks: {sorted(ops - supported)}"


@pytest.mark.parametrize("name", list(MODELS))
def test_tfjs_matches_jax(built, name):
    model = built(name)
    model_dir = model.model_dir()
    names = tfjs_output_names(model_dir, len(model.expected))
    assert_tfjs_matches(model_dir, tfjs_inputs(model_dir, model.xs), model.expected, atol=ATOL, rtol=RTOL, output_names=names)


@pytest.mark.parametrize("name", ["mlp", "cnn", "resnet_block", "transformer"])
def test_op_set_no_larger_than_tensorflow_lowering(built, name):
    """The builder's graph model needs no op kind that TensorFlow's own lowering avoids."""
    model = built(name)
    ours, tensorflows = model_json_ops(model.model_dir()), model_json_ops(model.tensorflow_model_dir())
    assert ours <= tensorflows, f"ops only the builder's graph has: {sorted(ours - tensorflows)}"


def test_params_collection_alone_is_accepted(built):
    """As in the README, `init(...)["params"]` may stand for the whole variables dict."""
    model = built("mlp")
    module = MODELS["mlp"][0]
    lowered = lower(module.apply, model.variables["params"], [(x.shape, x.dtype) for x in model.xs])
    assert_close(run_tf(lowered, *model.xs), model.expected)


def test_transformer_with_dynamic_batch_and_length_in_tfjs(tmp_path):
    module, (x,), _ = MODELS["transformer"]
    variables = module.init(jax.random.PRNGKey(0), x)
    convert_jax(module.apply, variables, input_signatures=[((None, None, 16), np.float32)], polymorphic_shapes=["(b, t, 16)"],
                model_dir=str(tmp_path / "tfjs"))
    for shape in [(1, 3, 16), (3, 8, 16)]:
        x = _normal(*shape)
        model_dir = str(tmp_path / "tfjs")
        assert_tfjs_matches(model_dir, tfjs_inputs(model_dir, [x]), reference(module.apply, variables, x), atol=ATOL, rtol=RTOL)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
