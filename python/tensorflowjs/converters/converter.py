"""tensorflowjs_converter: parses flags and dispatches to the handler of the format pair.

No conversion logic lives here (see pairs.py for the handlers), and nothing heavy is
imported before a handler is chosen: --help and --version never import TensorFlow.
"""

import argparse
import contextlib
import os
import sys
import warnings
from typing import Iterator, List, Optional

from tensorflowjs import formats, output, quantization, quiet_tensorflow, verify
from tensorflowjs.converters import pairs
from tensorflowjs.options import ConversionOptions
from tensorflowjs.errors import ConversionError
from tensorflowjs.metadata import parse_metadata_flag
from tensorflowjs.version import version
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES, check_shard_size

PROG = "tensorflowjs_converter"
_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


def _boolean(text: str) -> bool:
    """A flag value that really is true or false: --control_flow_v2=false means False."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the converter."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


BOOLEAN_FLAGS = ("--strip_debug_ops", "--control_flow_v2", "--use_structured_outputs_names", "--split_weights_by_layer", "--skip_op_check", "--verify")


def _add_bool(parser: argparse.ArgumentParser, name: str, default: bool, help_text: str) -> None:
    parser.add_argument(name, type=_boolean, default=default, metavar="true|false", help=help_text + " A bare flag means true.")


def _attach_boolean_values(argv: List[str]) -> List[str]:
    """`--flag`, `--flag false` and `--flag=false` all work; a bare flag never eats a path."""
    result, i = [], 0
    while i < len(argv):
        token = argv[i]
        if token in BOOLEAN_FLAGS:
            following = argv[i + 1].strip().lower() if i + 1 < len(argv) else ""
            if following in _TRUE or following in _FALSE:
                token, i = f"{token}={argv[i + 1]}", i + 1
            else:
                token = f"{token}=true"
        result.append(token)
        i += 1
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog=PROG, description="Convert Keras, TensorFlow and TF.js models to TF.js web formats and back.")
    parser.add_argument("input_path", nargs="?", help="Path of the input model: a file (.h5, .keras, .pb, model.json) or a directory (SavedModel, TF Hub module, TF.js model).")
    parser.add_argument("output_path", nargs="?", help="Where to write the converted model: a directory for TF.js outputs, a file for Keras outputs.")
    parser.add_argument("--input_format", choices=pairs.INPUT_FORMATS, help="Format of the input model; detected from its content when omitted.")
    parser.add_argument("--output_format", choices=pairs.OUTPUT_FORMATS, help="Format to write; inferred from --input_format when omitted.")
    parser.add_argument("--signature_name", help="SavedModel or TF Hub signature to convert (default serving_default, or default for TF Hub).")
    parser.add_argument("--saved_model_tags", default="serve", help="Comma-separated tags of the MetaGraphDef to load; empty string for none (default serve).")
    _add_bool(parser, "--strip_debug_ops", False, "Remove Print, Assert and CheckNumerics ops.")
    parser.add_argument("--quantization_bytes", type=int, choices=(1, 2), help="(Deprecated: use --quantize_uint8 or --quantize_uint16) Quantize all weights to 1 or 2 bytes.")
    for dtype, note in (("float16", "float16"), ("uint8", "1-byte affine"), ("uint16", "2-byte affine")):
        parser.add_argument(
            f"--quantize_{dtype}", nargs="?", const=True, default=None, metavar="PATTERNS",
            help=f"Comma-separated weight names to {note} quantize; wildcards (conv/*/kernel) allowed; without a value, every weight.",
        )
    parser.add_argument("--weight_shard_size_bytes", type=int, default=DEFAULT_SHARD_SIZE_BYTES, help="Maximum size of each weight file (default 4194304).")
    parser.add_argument("--output_node_names", help="Frozen models: comma-separated names of the output nodes.")
    _add_bool(parser, "--control_flow_v2", False, "Keep TF2 control flow (While/If functions) instead of converting it to v1.")
    parser.add_argument("--metadata", help="User metadata JSON files to embed, as name:path,name:path.")
    _add_bool(parser, "--use_structured_outputs_names", False, "Graph models: return outputs as a dict keyed by the signature's output names.")
    _add_bool(parser, "--split_weights_by_layer", False, "Layers models: one weight group (and set of shard files) per layer.")
    _add_bool(parser, "--skip_op_check", False, "Convert even if the graph has ops TF.js cannot run.")
    _add_bool(parser, "--verify", False, "After converting, run the model in TF.js (Node) and compare its predictions with the source model's; exit 3 on a mismatch.")
    parser.add_argument("--verify_inputs", metavar="NPZ", help="With --verify: a .npz of inputs keyed by the model's input names, instead of generated ones.")
    parser.add_argument("--verify_backends", default="cpu,wasm", help="With --verify: comma-separated TF.js backends to run (default cpu,wasm).")
    parser.add_argument("-v", "--version", action="store_true", help="Print the versions of the converter and exit.")
    return parser


QUANTIZE_FLAGS = tuple(f"--quantize_{dtype}" for dtype in quantization.QUANTIZATION_DTYPES)


def _parse(argv: List[str]) -> argparse.Namespace:
    """Parses argv; `--quantize_uint8 IN OUT` means every weight, not patterns 'IN'.

    A bare quantize flag before the paths would otherwise swallow the input path as its
    patterns; when paths come up short, such values are handed back to the positionals.
    """
    parser = build_parser()
    argv = _attach_boolean_values(argv)
    args = parser.parse_args(argv)
    if args.output_path is None and any(token in QUANTIZE_FLAGS for token in argv):
        detached = []
        for i, token in enumerate(argv):
            detached.append(f"{token}=" if token in QUANTIZE_FLAGS and i + 1 < len(argv) and not argv[i + 1].startswith("-") else token)
        args = parser.parse_args(detached)
    return args


def _quantization_map(args: argparse.Namespace) -> dict:
    dtype_map = {dtype: getattr(args, f"quantize_{dtype}") for dtype in quantization.QUANTIZATION_DTYPES if getattr(args, f"quantize_{dtype}") is not None}
    if args.quantization_bytes is not None:
        if dtype_map:
            raise ConversionError("--quantization_bytes cannot be combined with --quantize_float16/--quantize_uint8/--quantize_uint16")
        warnings.warn("--quantization_bytes is deprecated; use --quantize_uint8 or --quantize_uint16", DeprecationWarning)
        dtype_map = {quantization.QUANTIZATION_BYTES_TO_DTYPES[args.quantization_bytes]: True}
    return dtype_map


def _input_format(args: argparse.Namespace) -> str:
    if args.input_format:
        return args.input_format
    detected = formats.detect_format(args.input_path)
    if detected is None:
        raise ConversionError(f"cannot tell the format of {args.input_path}; give --input_format ({', '.join(pairs.INPUT_FORMATS)})")
    if detected == "tfjs_graph_model":
        raise ConversionError(f"{args.input_path} is a TF.js graph model, which cannot be converted further; convert the original model instead")
    # Like the public converter, a SavedModel is a TF SavedModel unless the user says otherwise.
    return "tf_saved_model" if detected == "keras_saved_model" else detected


def options_from_args(args: argparse.Namespace) -> ConversionOptions:
    return ConversionOptions(
        quantization_dtype_map=_quantization_map(args),
        weight_shard_size_bytes=check_shard_size(args.weight_shard_size_bytes),
        split_weights_by_layer=args.split_weights_by_layer,
        metadata=parse_metadata_flag(args.metadata),
        signature_name=args.signature_name,
        saved_model_tags=args.saved_model_tags,
        strip_debug_ops=args.strip_debug_ops,
        output_node_names=args.output_node_names,
        control_flow_v2=args.control_flow_v2,
        use_structured_outputs_names=args.use_structured_outputs_names,
        skip_op_check=args.skip_op_check,
        verify=args.verify,
        verify_inputs=args.verify_inputs and _resolve(args.verify_inputs),
        verify_backends=tuple(b.strip() for b in args.verify_backends.split(",") if b.strip()),
    )


def _resolve(path: str) -> str:
    """Relative paths are relative to where the user ran `bazel run`, not the runfiles tree."""
    return os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", ""), os.path.expanduser(path))


def convert(argv: List[str]) -> None:
    args = _parse(argv)
    if args.version:
        print(f"tensorflowjs {version}")
        return
    if not args.input_path or not args.output_path:
        raise ConversionError("give an input path and an output path (see --help)")
    # A TF Hub handle may be a URL: its handler looks it up in TFHUB_CACHE_DIR or says what to do.
    hub_handle = args.input_format == "tf_hub" and "://" in args.input_path
    if not hub_handle:
        args.input_path = _resolve(args.input_path)
        if not os.path.exists(args.input_path):
            raise ConversionError(f"input path {args.input_path} does not exist")
    args.output_path = _resolve(args.output_path)
    options = options_from_args(args)
    input_format = _input_format(args)
    output_format = args.output_format or pairs.DEFAULT_OUTPUT_FORMAT[input_format]
    handler = pairs.handler_for(input_format, output_format)
    output.refuse_overlap(args.output_path, None if hub_handle else args.input_path, options.metadata.values())
    plan = verify.prepare(output_format, options.verify_inputs, options.verify_backends) if options.verify else None
    handler(args.input_path, args.output_path, options)
    if plan:
        verify.run_after_cli(plan, input_format, args.input_path, output_format, args.output_path, options)


# The public converter's dispatch_* functions: its Python entry point per format pair. Each
# checks its paths as the public one does, then calls this project's handler of the pair.


@contextlib.contextmanager
def _eager() -> Iterator[None]:
    """TensorFlow work runs eagerly even when the caller is inside `with tf.Graph().as_default():`
    (as scripts written for the public converter often are); the caller's graph is untouched."""
    tf = sys.modules.get("tensorflow")
    if tf is None:
        yield
        return
    with tf.init_scope():
        yield


def _require_file(path: str, kind: str) -> None:
    if not os.path.exists(path):
        raise ConversionError(f"Nonexistent path to {kind} file: {path}")
    if os.path.isdir(path):
        raise ConversionError(f"Expected path to point to an {kind} file, but it points to a directory: {path}")


def _require_model_json(config_json_path: str) -> None:
    """The layers model.json inputs: a file holding JSON."""
    import json

    if os.path.isdir(config_json_path):
        raise ConversionError(f"the input path should be a model.json file, but received a directory: {config_json_path}")
    try:
        with open(config_json_path, "rb") as f:
            json.loads(f.read().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ConversionError(f"the input path is expected to hold JSON, but cannot read valid JSON content from {config_json_path}") from None


def _require_no_directory(path: str, what: str) -> None:
    if os.path.isdir(path):
        raise ConversionError(f"the output path should be the path to {what}, but received an existing directory ({path})")


def _layers_options(quantization_dtype_map, split_weights_by_layer=False, weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES) -> ConversionOptions:
    return ConversionOptions(quantization_dtype_map=dict(quantization_dtype_map or {}), split_weights_by_layer=split_weights_by_layer,
                             weight_shard_size_bytes=check_shard_size(weight_shard_size_bytes))


def dispatch_keras_h5_to_tfjs_layers_model_conversion(h5_path, output_dir=None, quantization_dtype_map=None, split_weights_by_layer=False,
                                                      weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES, metadata=None):
    """(modelTopology or None for a save_weights() file, weight groups) of a Keras .h5; written
    as a layers model to output_dir when given."""
    import h5py

    from tensorflowjs.converters import keras_h5_conversion as conversion

    _require_file(h5_path, "HDF5")
    with h5py.File(h5_path, "r") as f:
        weights_only = "layer_names" in f.attrs
    if weights_only:
        model_json, groups = None, conversion.h5_weights_to_tfjs_format(h5_path, split_by_layer=split_weights_by_layer)
    else:
        model_json, groups = conversion.h5_merged_saved_model_to_tfjs_format(h5_path, split_by_layer=split_weights_by_layer)
    if output_dir:
        conversion.write_artifacts(model_json, groups, output_dir, quantization_dtype_map, weight_shard_size_bytes, metadata)
    return model_json, groups


def dispatch_keras_keras_to_tfjs_layers_model_conversion(v3_path, output_dir=None, quantization_dtype_map=None, split_weights_by_layer=False,
                                                         weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES, metadata=None):
    """(modelTopology, weight groups) of a .keras archive (read in place, never unpacked);
    written as a layers model to output_dir when given."""
    from tensorflowjs.converters import keras_h5_conversion as conversion
    from tensorflowjs.keras.keras_archive import open_keras_archive

    _require_file(v3_path, ".keras")
    if not str(v3_path).endswith(".keras"):
        raise ConversionError(f"Invalid `filepath` argument: expected a `.keras` extension, got {v3_path}")
    with open_keras_archive(v3_path) as source:
        model_json, groups = conversion._topology_and_groups(source, split_weights_by_layer)
        if output_dir:
            conversion.write_source(source, output_dir, _layers_options(quantization_dtype_map, split_weights_by_layer, weight_shard_size_bytes), metadata)
    return model_json, groups


def dispatch_keras_h5_to_tfjs_graph_model_conversion(h5_path, output_dir=None, quantization_dtype_map=None, skip_op_check=False,
                                                     strip_debug_ops=False, use_structured_outputs_names=False,
                                                     weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES, control_flow_v2=False,
                                                     experiments=False, metadata=None):
    """A Keras .h5 (or .keras) file -> TF.js graph model in output_dir."""
    from tensorflowjs.converters import tf_graph_model
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import _options
    from tensorflowjs.graph import keras_model

    _require_file(h5_path, "HDF5")
    options = _options(quantization_dtype_map, skip_op_check, strip_debug_ops, use_structured_outputs_names,
                       check_shard_size(weight_shard_size_bytes), control_flow_v2)
    with _eager():
        tf_graph_model.convert_keras_model(keras_model.load_keras_file(h5_path), output_dir, options, h5_path, user_metadata=metadata)


def dispatch_keras_saved_model_to_tensorflowjs_conversion(keras_saved_model_path, output_dir, quantization_dtype_map=None,
                                                          split_weights_by_layer=False, weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES,
                                                          metadata=None):
    """A tf_keras SavedModel directory -> TF.js layers model in output_dir."""
    from tensorflowjs.converters import keras_saved_model_conversion

    with _eager():
        keras_saved_model_conversion.convert_keras_saved_model_to_layers(
            keras_saved_model_path, output_dir, _layers_options(quantization_dtype_map, split_weights_by_layer, weight_shard_size_bytes), metadata)


def dispatch_tensorflowjs_to_keras_h5_conversion(config_json_path, h5_path):
    """A layers model.json -> Keras .h5 file (written without Keras; tf_keras and Keras 3 load it)."""
    from tensorflowjs.converters import tfjs_layers_to_keras

    _require_model_json(config_json_path)
    _require_no_directory(h5_path, "an HDF5 file")
    with _eager():
        tfjs_layers_to_keras.convert_to_keras_h5(config_json_path, h5_path, ConversionOptions())


def dispatch_tensorflowjs_to_keras_keras_conversion(config_json_path, v3_path):
    """A layers model.json -> Keras 3 .keras archive."""
    from tensorflowjs.converters import tfjs_layers_to_keras

    _require_model_json(config_json_path)
    _require_no_directory(v3_path, "a .keras file")
    with _eager():
        tfjs_layers_to_keras.convert_to_keras_archive(config_json_path, v3_path, ConversionOptions())


def dispatch_tensorflowjs_to_keras_saved_model_conversion(config_json_path, keras_saved_model_path):
    """A layers model.json -> tf_keras SavedModel directory."""
    from tensorflowjs.converters import tfjs_layers_to_keras

    _require_model_json(config_json_path)
    with _eager():
        tfjs_layers_to_keras.convert_to_keras_saved_model(config_json_path, keras_saved_model_path, ConversionOptions())


def dispatch_tensorflowjs_to_tensorflowjs_conversion(config_json_path, output_dir_path, quantization_dtype_map=None,
                                                     weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES):
    """A layers model re-sharded and re-quantized into output_dir_path (no Keras involved)."""
    from tensorflowjs.converters import tfjs_layers_model

    _require_model_json(config_json_path)
    tfjs_layers_model.convert_layers_to_layers(config_json_path, output_dir_path, _layers_options(quantization_dtype_map, False, weight_shard_size_bytes))


def dispatch_tfjs_layers_model_to_tfjs_graph_conversion(config_json_path, output_dir_path, quantization_dtype_map=None, skip_op_check=False,
                                                        strip_debug_ops=False, weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES,
                                                        control_flow_v2=False, experiments=False, metadata=None):
    """A layers model.json -> TF.js graph model (rebuilt in tf_keras, then traced and optimised)."""
    from tensorflowjs.converters import tf_graph_model
    from tensorflowjs.converters.keras_tfjs_loader import load_keras_model
    from tensorflowjs.converters.tf_saved_model_conversion_v2 import _options

    _require_model_json(config_json_path)
    options = _options(quantization_dtype_map, skip_op_check, strip_debug_ops, False, check_shard_size(weight_shard_size_bytes), control_flow_v2)
    with _eager():
        model = load_keras_model(config_json_path, use_tf_keras=True)
        tf_graph_model.convert_keras_model(model, output_dir_path, options, config_json_path, user_metadata=metadata)


_held_warnings: List[str] = []


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings are shown once the conversion has succeeded: a refusal is one line."""
    _held_warnings.append(f"{PROG}: warning: {message}")


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the converter; every expected failure is one line on stderr and exit code 1."""
    warnings.showwarning = _show_warning
    # TensorFlow's C++ start-up chatter (CPU features, ...) would bury our one-line messages;
    # its errors still show. A user's own setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_tensorflow.install()
    _held_warnings.clear()
    try:
        convert(sys.argv[1:] if argv is None else argv)
        for line in _held_warnings:
            print(line, file=sys.stderr)
    except ConversionError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        print(f"{PROG}: error: {e.strerror or e}{where}", file=sys.stderr)
        return 1
    except verify.VerificationError as e:
        print(f"{PROG}: verify failed: {e}", file=sys.stderr)
        return verify.VERIFY_EXIT_CODE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


def pip_main() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    pip_main()
