"""Verification of converted models in real TF.js (`tensorflowjs_converter --verify`, `verify=True`).

This module is what the converter and the public API call; it imports nothing heavy until a
verification actually runs. The pieces: node_runtime (Node and the pinned TF.js), harness
(harness.js and its Python side, shared with the tests), inputs, sources, tolerance, report
and check (the comparison itself).
"""

from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence

if TYPE_CHECKING:
    from tensorflowjs.options import ConversionOptions
    from tensorflowjs.verify.check import Plan

VERIFY_EXIT_CODE = 3  # a mismatch; 1 stays "bad input", 2 "bad usage"


class VerificationError(Exception):
    """TF.js does not predict what the source predicts (or cannot run the model at all)."""


def prepare(output_format: str, verify_inputs: Optional[str] = None, backends: Sequence[str] = ("cpu", "wasm")) -> "Plan":
    """Checks the --verify flags before converting; returns the plan to run after."""
    from tensorflowjs.verify import check

    return check.plan(output_format, verify_inputs, backends)


def run_after_cli(plan: "Plan", input_format: str, input_path: str, output_format: str, output_path: str, options: "ConversionOptions") -> None:
    """The CLI's check of its finished conversion against the input model."""
    from tensorflowjs.verify import check, sources

    check.verify_model(output_path, lambda: sources.for_input(input_format, input_path, output_format, options), plan)


def _verify(model_dir: str, make_source: Callable) -> None:
    """The API's check of the TF.js model it just wrote, on generated inputs (a mismatch raises VerificationError)."""
    from tensorflowjs.verify import check

    check.verify_model(model_dir, make_source)


def saved_model(model_dir: str, saved_model_dir: str, tags: Optional[str], signature: str) -> None:
    from tensorflowjs.verify import sources

    _verify(model_dir, lambda: sources.saved_model(saved_model_dir, tags, signature))


def hub_module(model_dir: str, handle: str, tags: Optional[str], signature: str) -> None:
    from tensorflowjs.graph import tf_hub
    from tensorflowjs.verify import sources

    _verify(model_dir, lambda: sources.saved_model(tf_hub.resolve_module(handle), tags, signature))


def frozen_model(model_dir: str, frozen_model_path: str, output_node_names: str) -> None:
    from tensorflowjs.verify import sources

    _verify(model_dir, lambda: sources.frozen_graph(frozen_model_path, output_node_names))


def keras_model(model_dir: str, model: Any) -> None:
    from tensorflowjs.verify import sources

    _verify(model_dir, lambda: sources.keras_model(model, f"{type(model).__module__.split('.')[0]} model"))


def jax_function(model_dir: str, apply_fn: Callable, params: Any) -> None:
    from tensorflowjs.verify import sources

    _verify(model_dir, lambda: sources.jax_function(apply_fn, params))

