"""Transformers with attention masks as graph models, in Chromium, on half-float WebGL too.

A BERT-style encoder (padding mask from Embedding(mask_zero=True)) and a GPT-style decoder
(causal mask), exported by Keras 3 with a fixed sequence length and converted with default flags.
Two things made them fail in TF.js before: the causal mask's Cumsum with a negative axis (WASM
aborted, WebGL's shader did not compile; now folded to a constant), and Keras's -2.4e38 mask
fill, which is -inf in float16 and turned every output into NaN on GPUs without float32 render
targets (now -30000, see graph/rewrites/finite_f16_masks.py).

Half-float WebGL is checked with a loose tolerance, on the positions a padding mask keeps:
a padded query position attends to nothing, and what a softmax over nothing gives depends on
rounding (TF: uniform weights over -2.4e38; float16 cannot tell -30000 + log(8) from -30000).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tensorflowjs.converters import converter  # noqa: E402
from tfjs_browser import check_browser_batch, run_browser  # noqa: E402
from tfjs_e2e import Case, _decode, _request, check_tfjs_batch  # noqa: E402

LENGTH, VOCABULARY = 8, 50
TOKENS = np.array([[5, 6, 7, 8, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 9]], np.int32)
F16_TOLERANCE = 5e-2


def transformer(causal: bool):
    ids = keras.Input((LENGTH,), dtype="int32")
    x = keras.layers.Embedding(VOCABULARY, 16, mask_zero=not causal)(ids)
    x = keras.layers.LayerNormalization()(x + keras.layers.MultiHeadAttention(2, 8)(x, x, use_causal_mask=causal))
    x = keras.layers.LayerNormalization()(x + keras.layers.Dense(16)(keras.layers.Dense(32, activation="gelu")(x)))
    return keras.Model(ids, keras.layers.Dense(5)(x))


@pytest.fixture(scope="module")
def models(tmp_path_factory, notices):
    """name -> (converted model dir, tokens, Keras output, positions to compare under float16)."""
    root = tmp_path_factory.mktemp("attention")
    built = {}
    for name, causal in (("bert_style", False), ("gpt_style", True)):
        keras.utils.set_random_seed(4)
        model = transformer(causal)
        tokens = TOKENS if not causal else np.where(TOKENS == 0, 11, TOKENS)
        expected = np.asarray(model(tokens), np.float32)
        model.export(str(root / name), format="tf_saved_model", verbose=False)
        assert converter.main([str(root / name), str(root / f"{name}_tfjs")]) == 0
        built[name] = (str(root / f"{name}_tfjs"), tokens, expected, tokens != 0)
    return built


@pytest.fixture(scope="module")
def notices():
    """What the conversions print: the converter reports warnings on stderr, one line each."""
    import contextlib
    import io

    stream = io.StringIO()
    with contextlib.redirect_stderr(stream):
        yield stream


def test_the_mask_rewrite_is_announced(models, notices):
    lines = [line for line in notices.getvalue().splitlines() if "float16" in line]
    assert len(lines) == len(models), notices.getvalue()


def test_masks_leave_no_op_that_fails_in_tfjs(models):
    for model_dir, *_ in models.values():
        with open(os.path.join(model_dir, "model.json")) as f:
            assert '"Cumsum"' not in f.read()


def test_transformers_match_keras_in_node_on_cpu_and_wasm(models):
    cases = {name: Case(d, [tokens], [expected], atol=1e-4, rtol=1e-4) for name, (d, tokens, expected, _) in models.items()}
    assert check_tfjs_batch(cases) == {name: None for name in models}


def test_transformers_match_keras_in_chromium_on_webgl_wasm_and_cpu(models):
    cases = {name: Case(d, [tokens], [expected], atol=1e-4, rtol=1e-4) for name, (d, tokens, expected, _) in models.items()}
    assert check_browser_batch(cases) == {name: None for name in models}


def test_transformers_stay_finite_and_close_on_half_float_webgl(models):
    names = list(models)
    requests = [dict(_request(models[n][0], [models[n][1]], "webgl", None), f16=True) for n in names]
    for name, reply in zip(names, run_browser(requests)):
        assert "error" not in reply, reply.get("error")
        assert reply["backend"] == "webgl" and reply["flags"]["WEBGL_RENDER_FLOAT32_ENABLED"] is False, reply["flags"]
        (got,) = [_decode(o) for o in reply["outputs"]]
        _, _, expected, kept = models[name]
        assert np.isfinite(got).all(), name
        np.testing.assert_allclose(got[kept], expected[kept], atol=F16_TOLERANCE, rtol=F16_TOLERANCE, err_msg=name)
