"""jax.numpy / lax building blocks lowered to graph ops: same numbers as JAX, only TF.js ops.

Each case is traced and lowered exactly as convert_jax does (params as weights, the inputs'
signatures, polymorphic shapes), its GraphDef run in TensorFlow and compared with JAX.
"""

import sys

import jax_testing  # sets JAX_PLATFORMS=cpu before JAX loads
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import tf_reference
from jax_testing import (ATOL, RTOL, assert_close, convert_tf_saved_model, graph_ops, lower, model_json_ops, reference, run_tf,
                         tfjs_inputs, tfjs_ops, tfjs_output_names)
from tensorflowjs.converters.jax_conversion import convert_jax
from tensorflowjs.errors import ConversionError
from tensorflowjs.jax_lowering import tracing
from tfjs_e2e import run_tfjs

RNG = np.random.default_rng(0)
INPUTS = {
    "x": RNG.normal(size=(4, 6)).astype(np.float32),
    "img": RNG.normal(size=(2, 9, 8, 3)).astype(np.float32),
    "idx": np.array([3, 0, 2], np.int32),
}
P = {"w": RNG.normal(size=(6,)).astype(np.float32), "m": RNG.normal(size=(6, 5)).astype(np.float32)}
X = INPUTS["x"]


def sig(*arrays):
    return [(a.shape, a.dtype) for a in arrays]


@jax.custom_vjp
def _custom_vjp_sin(x):
    return jnp.sin(x)


_custom_vjp_sin.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.cos(x),))


# name -> (fn(params, *inputs), names of its inputs)
CASES = {
    "reshape_transpose": (lambda p, x: (x * p["w"]).reshape(2, 3, 4).transpose(2, 0, 1).reshape(-1, 6), ["x"]),
    "concatenate_split": (lambda p, x: jnp.concatenate(jnp.split(x, [2, 5], axis=1)[::-1], axis=1), ["x"]),
    "stack_expand": (lambda p, x: jnp.stack([x, -x], axis=1)[..., None, :], ["x"]),
    "slicing": (lambda p, x: (x[1:3, ::2], x[-1], x[:, 1:-1], x[::-1, ::-2], x[None, 2]), ["x"]),
    "gather_rows": (lambda p, x, i: x[i], ["x", "idx"]),
    "gather_columns": (lambda p, x, i: (x[:, i], jnp.take(x, i, axis=1)), ["x", "idx"]),
    "gather_points": (lambda p, x, i: x[i, i + 1], ["x", "idx"]),
    "gather_embedding": (lambda p, i: jnp.take(p["m"], i, axis=0), ["idx"]),
    "gather_out_of_range": (lambda p, i: (jnp.take(p["m"], i * 3 - 4, axis=0), p["m"][i * 3 - 4]), ["idx"]),
    "take_along_axis": (lambda p, x: jnp.take_along_axis(x, jnp.argsort(-x, axis=1)[:, :2], axis=1), ["x"]),
    "vmapped_gather": (lambda p, x, i: jax.vmap(lambda row, j: row[j])(x[:3], i), ["x", "idx"]),
    "dynamic_slice": (lambda p, x, i: (lax.dynamic_slice(x, (i[0], i[1]), (2, 3)),
                                        lax.dynamic_update_slice(x, jnp.ones((2, 2)), (i[2], i[0]))), ["x", "idx"]),
    "scatter": (lambda p, x, i: (x.at[i].set(p["m"][:3, :1] * 3), x.at[i - 2].add(1.5), x.at[:, 1].set(7.0),
                                 x.at[i, i + 2].set(-1.0), jnp.zeros(8).at[i * 2 - 1].add(p["w"][:3]),
                                 x.at[1:3, 2:].add(x[:2, :4]), x.T.at[i].add(x[:3, :4])), ["x", "idx"]),
    "reductions": (lambda p, x: (x.sum(0), x.max(1), x.min(), x.prod(1), x.mean(), x.var(0),
                                 jnp.argmax(x, 1), jnp.argmin(x, 0), (x > 0).any(1), (x > -2).all(0),
                                 jax.nn.logsumexp(x, 1)), ["x"]),
    "cumulative": (lambda p, x: (jnp.cumsum(x, 0), jnp.cumprod(x, 1), lax.cumsum(x, 1, reverse=True)), ["x"]),
    "top_k": (lambda p, x: lax.top_k(x, 3), ["x"]),
    "casts": (lambda p, x: ((x * 3).astype(jnp.int32), (x > 0).astype(jnp.float32), x.astype(bool),
                            jnp.round(x * 2), lax.round(x * 2), (x * 4).astype(jnp.int32).astype(jnp.float32) / 4), ["x"]),
    "integer_math": (lambda p, i: (i * 7 - 9) // jnp.array([2, -3, 4], jnp.int32) + lax.rem(i * 7 - 9, 4)
                     + lax.div(i * 7 - 9, -4) + jnp.maximum(i, 1) ** 2, ["idx"]),
    "float_math": (lambda p, x: (jnp.exp(x), jnp.log1p(jnp.abs(x)), jnp.tanh(x), jax.nn.sigmoid(x), lax.erf(x),
                                 lax.erfc(x), jnp.sqrt(jnp.abs(x)), lax.rsqrt(jnp.abs(x) + 1), x ** 3, x ** -2,
                                 jnp.abs(x) ** p["w"], jnp.sign(x), jnp.floor(x), jnp.ceil(x), jnp.sin(x),
                                 jnp.arctan2(x, p["w"]), jnp.fmod(x * 3, 2), jnp.clip(x, -0.5, 0.5),
                                 jnp.exp2(x), jnp.cbrt(x), jnp.square(x), jnp.isfinite(jnp.log(x))), ["x"]),
    "logic": (lambda p, x: (jnp.where((x > 0) & ~(x > 1) | (x < -1), x, 0.0), (x > 0) ^ (x > 0.5),
                            jnp.select([x < -1, x < 0, x < 1], [x, 2 * x, 3 * x], 4 * x)), ["x"]),
    "iota_one_hot": (lambda p, i: (jax.nn.one_hot(i, 5), jnp.arange(6) * p["w"], jnp.tril(jnp.ones((3, 3)))), ["idx"]),
    "pad": (lambda p, x: (jnp.pad(x, ((1, 2), (0, 3)), constant_values=2.0), jnp.pad(x, ((1, 1), (2, 2)), mode="edge"),
                          lax.pad(x, 0.5, ((-1, 2, 1), (1, -2, 2)))), ["x"]),
    "matmul_variants": (lambda p, x: (x @ p["m"], p["w"] @ x.T, jnp.einsum("ij,kj->ik", x, x), jnp.outer(p["w"], p["w"]),
                                      jnp.einsum("bij,bjk->bik", x.reshape(2, 2, 6), x.reshape(2, 6, 2)),
                                      jnp.einsum("bhqd,bkhd->bhqk", x.reshape(1, 2, 2, 6), x.reshape(1, 2, 2, 6)),
                                      jnp.dot(x.astype(jnp.int32), jnp.ones((6,), jnp.int32))), ["x"]),
    "conv_variants": (lambda p, x: (
        lax.conv_general_dilated(x, jnp.ones((3, 3, 3, 4)) * 0.1, (2, 1), ((2, 0), (1, 3)), rhs_dilation=(1, 2),
                                 dimension_numbers=("NHWC", "HWIO", "NHWC")),
        lax.conv_general_dilated(x.transpose(0, 3, 1, 2), jnp.ones((6, 1, 2, 2)) * 0.2, (1, 1), "SAME",
                                 feature_group_count=3, dimension_numbers=("NCHW", "OIHW", "NCHW")),
        lax.conv_transpose(x, jnp.arange(54.0).reshape(3, 3, 3, 2) / 50, (2, 2), "SAME",
                           dimension_numbers=("NHWC", "HWIO", "NHWC")),
        lax.conv_general_dilated(x[..., :2], jnp.ones((2, 2, 1, 4)), (1, 1), "VALID", feature_group_count=2,
                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))), ["img"]),
    "pool_variants": (lambda p, x: (
        lax.reduce_window(x, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1), ((0, 0), (1, 1), (0, 2), (0, 0))),
        lax.reduce_window(x, jnp.inf, lax.min, (1, 2, 1, 1), (1, 1, 1, 1), "SAME"),
        lax.reduce_window(x, 0.0, lax.add, (2, 1, 1, 3), (1, 1, 1, 1), "VALID"),
        lax.reduce_window(x, 0.0, lax.add, (1, 1, 3, 1), (1, 1, 2, 1), ((0, 0), (0, 0), (2, 1), (0, 0)))), ["img"]),
    "cond_scan": (lambda p, x: (lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x),
                                lax.switch(2, [jnp.sin, jnp.cos, jnp.tanh], x),
                                lax.scan(lambda c, row: (c + row, c * row), jnp.zeros(6), x),
                                lax.scan(lambda c, row: (c * 0.5 + row, c), p["w"], x, reverse=True)), ["x"]),
    "while_loop": (lambda p, x: (lax.while_loop(lambda c: c.sum() < 100.0, lambda c: c * 1.5 + 1.0, jnp.abs(x)),
                                 lax.fori_loop(0, 3, lambda i, c: c + i * p["w"], x),
                                 lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] @ p["m"][:5]),
                                                (0, x[:, :5]))), ["x"]),
    "custom_derivatives": (lambda p, x: (jax.nn.softmax(x), jax.nn.gelu(x, approximate=False), jax.nn.relu(x),
                                         jax.checkpoint(lambda y: jnp.sin(y) * 2)(x), jax.nn.log_softmax(x, 0),
                                         jax.device_put(x) + lax.optimization_barrier(x),
                                         lax.composite(lambda y: y * 2, name="test.double")(x), _custom_vjp_sin(x)),
                           ["x"]),
}


@pytest.fixture(scope="module")
def supported():
    return tfjs_ops()


@pytest.mark.parametrize("name", list(CASES))
def test_lowering_matches_jax_with_tfjs_ops(name, supported):
    fn, names = CASES[name]
    inputs = [INPUTS[n] for n in names]
    lowered = lower(fn, P, sig(*inputs))
    assert_close(run_tf(lowered, *inputs), reference(fn, P, *inputs))
    assert graph_ops(lowered) <= supported, f"ops TF.js lacks: {sorted(graph_ops(lowered) - supported)}"


# TF.js checks the cases in few models: control flow apart, so a converter problem with it
# does not hide the rest.
TFJS_GROUPS = {"ops": [name for name in CASES if name != "while_loop"], "while_loop": ["while_loop"]}


@pytest.mark.parametrize("group", list(TFJS_GROUPS))
def test_cases_in_tfjs(tmp_path, group):
    def cases(p, x, img, idx):
        inputs = {"x": x, "img": img, "idx": idx}
        return {name: CASES[name][0](p, *(inputs[n] for n in CASES[name][1])) for name in TFJS_GROUPS[group]}

    arrays = [INPUTS[n] for n in ("x", "img", "idx")]
    convert_jax(cases, P, input_signatures=sig(*arrays), model_dir=str(tmp_path / "tfjs"))
    leaves = jax.tree_util.tree_flatten_with_path(jax.eval_shape(cases, P, *arrays))[0]
    labels = [jax.tree_util.keystr(path) for path, _ in leaves]
    expected = reference(cases, P, *arrays)
    model_dir = str(tmp_path / "tfjs")
    names = tfjs_output_names(model_dir, len(expected))
    for backend in ("cpu", "wasm"):
        got = run_tfjs(model_dir, tfjs_inputs(model_dir, arrays), backend, names)
        for label, g, want in zip(labels, got, expected):
            assert g.shape == want.shape, f"{backend}: {label}"
            np.testing.assert_allclose(g, want, atol=ATOL, rtol=RTOL, err_msg=f"{backend}: {label}")


@pytest.mark.parametrize("group", list(TFJS_GROUPS))
def test_op_set_no_larger_than_tensorflow_lowering(tmp_path, group):
    """The graph models TF.js checks: no op kind that the same lowering run on TensorFlow (then
    converted from its SavedModel) avoids."""
    convert = convert_tf_saved_model()

    def cases(p, x, img, idx):
        inputs = {"x": x, "img": img, "idx": idx}
        return {name: CASES[name][0](p, *(inputs[n] for n in CASES[name][1])) for name in TFJS_GROUPS[group]}

    signatures = sig(*(INPUTS[n] for n in ("x", "img", "idx")))
    convert_jax(cases, P, input_signatures=signatures, model_dir=str(tmp_path / "tfjs"))
    tf_reference.save(tracing.trace(cases, P, signatures, None), str(tmp_path / "saved_model"))
    convert(str(tmp_path / "saved_model"), str(tmp_path / "tf_tfjs"))
    ours, tensorflows = model_json_ops(str(tmp_path / "tfjs")), model_json_ops(str(tmp_path / "tf_tfjs"))
    assert ours <= tensorflows, f"ops only the builder's graph has: {sorted(ours - tensorflows)}"


# name -> (fn(params, x), signature of x, polymorphic shape of x); symbols differ per case.
POLYMORPHIC = {
    # batch-sized reshape, broadcast, iota, mean over the batch (dim_as_value), slicing, dot
    "batch": (lambda p, x: (x.reshape(x.shape[0], 2, 3).sum(1), x.mean(0), x - x.mean(0),
                            jnp.arange(x.shape[0]) * 2, x[1:], x[:, 2:] @ p["m"][2:], jnp.broadcast_to(p["w"], x.shape),
                            jnp.concatenate([x, x], 0).reshape(-1), x.reshape(-1, 3, 2).transpose(1, 0, 2)),
              [((None, 6), np.float32)], ["(b, 6)"]),
    "two_dims": (lambda p, x: (x.reshape(x.shape[0] * x.shape[1], 6), jnp.take(x, jnp.array([0, 2]), axis=2),
                               jnp.einsum("bsd,btd->bst", x, x), jax.nn.softmax(x, axis=1)),
                 [((None, None, 6), np.float32)], ["(c, s, 6)"]),
    "conv_pool": (lambda p, x: (lax.reduce_window(x, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
                                lax.conv_general_dilated(x, jnp.ones((3, 3, 3, 2)), (1, 1), "SAME",
                                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))),
                  [((None, 8, 8, 3), np.float32)], ["(n, 8, 8, 3)"]),
}


@pytest.mark.parametrize("name", list(POLYMORPHIC))
def test_polymorphic_lowering_runs_at_several_sizes(name, supported):
    fn, signatures, specs = POLYMORPHIC[name]
    lowered = lower(fn, P, signatures, specs)
    for size in (1, 3, 5):
        shape = [size if d is None else d for d in signatures[0][0]]
        x = RNG.normal(size=shape).astype(np.float32)
        assert_close(run_tf(lowered, x), reference(fn, P, x))
    assert graph_ops(lowered) <= supported


def _polymorphic_inputs(size):
    """One input per POLYMORPHIC case, with `size` for every symbolic dimension."""
    return [RNG.normal(size=[size if d is None else d for d in case[1][0][0]]).astype(np.float32)
            for case in POLYMORPHIC.values()]


def test_polymorphic_cases_in_tfjs_at_two_sizes(tmp_path):
    def all_cases(p, *xs):
        return {name: case[0](p, x) for (name, case), x in zip(POLYMORPHIC.items(), xs)}

    signatures = [case[1][0] for case in POLYMORPHIC.values()]
    specs = [case[2][0] for case in POLYMORPHIC.values()]
    convert_jax(all_cases, P, input_signatures=signatures, polymorphic_shapes=specs, model_dir=str(tmp_path / "tfjs"))
    model_dir = str(tmp_path / "tfjs")
    for size in (2, 5):
        arrays = _polymorphic_inputs(size)
        expected = reference(all_cases, P, *arrays)
        names = tfjs_output_names(model_dir, len(expected))
        for backend in ("cpu", "wasm"):
            got = run_tfjs(model_dir, tfjs_inputs(model_dir, arrays), backend, names)
            for index, (g, want) in enumerate(zip(got, expected)):
                assert g.shape == want.shape, f"{backend}, size {size}: output {index}"
                np.testing.assert_allclose(g, want, atol=ATOL, rtol=RTOL, err_msg=f"{backend}, size {size}: output {index}")


def test_polymorphic_signature_has_unknown_dims():
    lowered = lower(lambda p, x: x * 2, {}, [((None, 6), np.float32)], ["(b, _)"])
    (spec,) = lowered.signature.inputs
    assert spec.shape == [-1, 6] and spec.key == "xs_0" and spec.name == "xs_0:0"


def test_parameter_named_like_an_input_leaves_the_input_its_name():
    lowered = lower(lambda p, x: x * p["xs_0"], {"xs_0": np.ones(6, np.float32)}, sig(X))
    assert [t.name for t in lowered.signature.inputs] == ["xs_0:0"]
    assert_close(run_tf(lowered, X), [X])


def _uses_erf_inv(p, x):
    return lax.erf_inv(jnp.tanh(x)) * p["w"]  # the line the error must point at


def test_uncovered_primitive_is_a_clear_error():
    with pytest.raises(ConversionError) as error:
        lower(_uses_erf_inv, P, sig(X))
    message = str(error.value)
    assert "'erf_inv'" in message and "no TF.js lowering" in message
    assert f"test_lowering.py:{_uses_erf_inv.__code__.co_firstlineno + 1}" in message


def test_error_names_the_enclosing_sub_jaxpr():
    fn = lambda p, x: jax.jit(lambda y: lax.erf_inv(y), inline=False)(jnp.tanh(x))  # noqa: E731
    with pytest.raises(ConversionError, match=r"'erf_inv'.* inside jit\(<lambda>\)"):
        lower(fn, P, sig(X))


def test_dtype_tfjs_cannot_hold_is_a_clear_error():
    with pytest.raises(ConversionError, match=r"'convert_element_type' .*bfloat16.*float32, int32 and bool"):
        lower(lambda p, x: x.astype(jnp.bfloat16).sum(), P, sig(X))
    with pytest.raises(ConversionError, match="parameter half is float16"):
        lower(lambda p, x: x, {"half": np.ones(2, np.float16)}, sig(X))


def test_unknown_dimension_without_polymorphic_shape_is_a_clear_error():
    with pytest.raises(ConversionError, match=r"polymorphic_shapes"):
        lower(lambda p, x: x, {}, [((None, 6), np.float32)])


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
