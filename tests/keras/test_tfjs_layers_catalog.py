"""The shipped tfjs-layers catalog is exactly what tools/update_tfjs_layers_catalog.py derives from
the pinned npm package, and it says what tfjs-layers 4.22 really reads."""

import os
import sys

import pytest

import update_tfjs_layers_catalog
from tensorflowjs.keras import tfjs_support
from tfjs_e2e import node_modules_dir


def test_catalog_json_is_what_the_tool_derives_from_the_pinned_npm_package():
    derived = update_tfjs_layers_catalog.derive(node_modules_dir())
    with open(os.path.join(os.path.dirname(tfjs_support.__file__), "tfjs_layers_catalog.json"), encoding="utf-8") as f:
        assert f.read() == update_tfjs_layers_catalog.render(derived)
    assert derived["tfjs_layers_version"] == "4.22.0"


def test_catalog_holds_what_tfjs_layers_reads():
    keys = tfjs_support.LAYER_KEYS
    # Inherited keys (Layer's name, BaseConv's kernelSize) and those of the cell an RNN builds from its args.
    assert {"name", "kernelSize", "filters", "useBias", "dilationRate"} <= keys["Conv2D"]
    assert {"units", "unitForgetBias", "returnSequences"} <= keys["LSTM"] and "resetAfter" in keys["GRU"]
    assert "groups" not in keys["Conv2D"] and "keepdims" not in keys["GlobalAveragePooling2D"]
    assert "MultiHeadAttention" in tfjs_support.UNBUNDLED_LAYER_CLASSES and "MultiHeadAttention" not in keys
    assert "Normalization" not in keys and "LayerScale" not in keys


@pytest.mark.parametrize("name, known", [("relu", True), ("hard_sigmoid", True), ("log_softmax", True), ("gelu", True), ("gelu_new", False), ("hard_silu", False)])
def test_activation_names_are_looked_up_camel_cased_as_tfjs_does(name, known):
    """tfjs-layers registers `gelu_new` but camelCases the config's string to `geluNew` first."""
    assert tfjs_support.knows_activation(name) is known


@pytest.mark.parametrize("keras, tfjs", [("kernel_size", "kernelSize"), ("batch_input_shape", "batchInputShape"), ("units", "units"), ("x", "x")])
def test_keys_are_camel_cased_as_tfjs_does(keras, tfjs):
    assert tfjs_support.camel_case(keras) == tfjs


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
