"""The lowering run on TensorFlow itself: the reference the graph builder's output is held to.

The handlers emit through `ops`, which TensorFlow's API also satisfies; under `ops.using(tf)`
they build a tf.function, saved as a SavedModel and converted by the SavedModel path, as
convert_jax did before it built GraphDefs itself. The graph model from the builder must have an
op set no larger than this one's.
"""

import tensorflow as tf

from tensorflowjs.jax_lowering import ops
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
        with ops.using(tf):
            outs = lower(traced.jaxpr, [p.value() for p in module.params] + list(xs), sources)
        return {f"output_{i}": out for i, out in enumerate(outs)}

    module.serve = serve
    return module


def save(traced: Traced, saved_model_dir: str) -> None:
    """Writes the SavedModel (tag "serve", signature "serving_default") to saved_model_dir."""
    module = build_module(traced)
    tf.saved_model.save(module, saved_model_dir, signatures={"serving_default": module.serve.get_concrete_function()})
