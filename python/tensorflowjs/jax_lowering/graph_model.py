"""A traced JAX function as a frozen GraphDef: params as Const weights, one signature.

Built by the graph builder from the jaxpr, without TensorFlow. Inputs are Placeholders named
xs_0, xs_1..., outputs the Identity nodes behind signature keys output_0, output_1..., and each
parameter a Const named by its path in the params tree: the names a SavedModel of the same
function gets (jax2tf-based conversion named them so), so model.json reads the same.
"""

from typing import Any, Tuple

from tensorflowjs.graph.signature import GraphSignature, SignatureTensor
from tensorflowjs.jax_lowering import dims, graph_builder, ops
from tensorflowjs.jax_lowering.interpreter import lower
from tensorflowjs.jax_lowering.tracing import Traced


def build(traced: Traced) -> Tuple[Any, GraphSignature]:
    """The GraphDef computing the traced function, and its signature."""
    graph = graph_builder.Graph()
    with graph.as_default(), ops.using(graph_builder):
        # Inputs first: their names are the signature's keys, so no parameter may take them.
        xs = [graph_builder.placeholder(f"xs_{i}", d, s) for i, (s, d) in enumerate(zip(traced.input_shapes, traced.input_dtypes))]
        params = [graph_builder.constant(v, name=n) for n, v in zip(traced.param_names, traced.param_values)]
        sources = {var: (xs[index], axis) for var, (index, axis) in traced.dim_sources.items()}
        outs = lower(traced.jaxpr, params + xs, sources)
        outputs = [graph_builder.identity(out, name="Identity") for out in outs]
    inputs = [SignatureTensor(x.node.name, f"{x.node.name}:0", x.dtype.as_datatype_enum, x.shape) for x in xs]
    signature_outputs = [
        SignatureTensor(f"output_{i}", f"{out.node.name}:0", out.dtype.as_datatype_enum,
                        [int(d) if dims.is_static(d) else None for d in var.aval.shape])
        for i, (out, var) in enumerate(zip(outputs, traced.jaxpr.jaxpr.outvars))
    ]
    graph_def = graph.finish(outputs)
    _params_last(graph_def, {p.node.name for p in params})
    return graph_def, GraphSignature(inputs, signature_outputs)


def _params_last(graph_def: Any, names: set) -> None:
    """The parameters after the other nodes, so the weights manifest lists the constants the
    lowering made (reduction axes, shapes) first, as the public converter's did (its
    Grappler appended the constants it folded jax2tf's parameter reads into)."""
    nodes = sorted(graph_def.node, key=lambda node: node.name in names)
    del graph_def.node[:]
    graph_def.node.extend(nodes)
