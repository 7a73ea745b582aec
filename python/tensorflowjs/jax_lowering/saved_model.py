"""A traced JAX function as a TensorFlow module: params as variables, one serving signature.

The variables become the graph model's weights when the SavedModel is frozen; inputs are
named xs_0, xs_1... and outputs output_0, output_1..., as jax2tf-based conversion named them.
"""

import tensorflow as tf

from tensorflowjs.jax_lowering.interpreter import lower
from tensorflowjs.jax_lowering.tracing import Traced


def build_module(traced: Traced) -> tf.Module:
    """A tf.Module whose `serve` concrete function runs the traced function in TF ops."""
    module = tf.Module()
    module.params = [tf.Variable(v, name=n, trainable=False) for n, v in zip(traced.param_names, traced.param_values)]
    specs = [tf.TensorSpec(s, tf.as_dtype(d), name=f"xs_{i}") for i, (s, d) in enumerate(zip(traced.input_shapes, traced.input_dtypes))]

    @tf.function(input_signature=specs, autograph=False)
    def serve(*xs):
        sources = {var: (xs[index], axis) for var, (index, axis) in traced.dim_sources.items()}
        outs = lower(traced.jaxpr, [p.value() for p in module.params] + list(xs), sources)
        return {f"output_{i}": out for i, out in enumerate(outs)}

    module.serve = serve
    return module


def save(traced: Traced, saved_model_dir: str) -> None:
    """Writes the SavedModel (tag "serve", signature "serving_default") to saved_model_dir."""
    module = build_module(traced)
    tf.saved_model.save(module, saved_model_dir, signatures={"serving_default": module.serve.get_concrete_function()})
