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

from tensorflowjs import formats, options, output, progress, quantization, quiet_tensorflow, verify
from tensorflowjs.converters import pairs
from tensorflowjs.options import ConversionOptions, options_of_keywords
from tensorflowjs.errors import ConversionError
from tensorflowjs.metadata import load_metadata, parse_metadata_flag
from tensorflowjs.version import version
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES, check_shard_size

PROG = "tensorflowjs_converter"


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the converter."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _attach_boolean_values(argv: List[str]) -> List[str]:
    """`--flag`, `--flag false` and `--flag=false` all work; a bare flag never eats a path."""
    result, i = [], 0
    while i < len(argv):
        token = argv[i]
        if token in options.BOOLEAN_FLAGS:
            if i + 1 < len(argv) and options.is_boolean_text(argv[i + 1]):
                token, i = f"{token}={argv[i + 1]}", i + 1
            else:
                token = f"{token}=true"
        result.append(token)
        i += 1
    return result


def build_parser() -> argparse.ArgumentParser:
    """The paths and the pair are the command's own; every other flag is a row of options.OPTIONS."""
    parser = _OneLineParser(prog=PROG, description="Convert Keras, TensorFlow and TF.js models to TF.js web formats and back.")
    parser.add_argument("input_path", nargs="?", help="Path of the input model: a file (.h5, .keras, .pb, model.json) or a directory (SavedModel, TF Hub module, TF.js model).")
    parser.add_argument("output_path", nargs="?", help="Where to write the converted model: a directory for TF.js outputs, a file for Keras outputs.")
    parser.add_argument("--input_format", choices=pairs.INPUT_FORMATS, help="Format of the input model; detected from its content when omitted.")
    parser.add_argument("--output_format", choices=pairs.OUTPUT_FORMATS, help="Format to write; inferred from --input_format when omitted.")
    for option in options.FLAGS:
        option.add_to(parser)
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
    """The options of parsed flags; the --metadata files are read up front, as the public converter does."""
    values = {o.name: getattr(args, o.name) for o in options.FLAGS if o.field}
    values.update(
        quantization_dtype_map=_quantization_map(args),
        weight_shard_size_bytes=check_shard_size(args.weight_shard_size_bytes),
        metadata=load_metadata(parse_metadata_flag(args.metadata)),
        verify_inputs=args.verify_inputs and _resolve(args.verify_inputs),
    )
    return ConversionOptions(**values)


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
    plan = verify.prepare(output_format, options.verify_inputs, options.verify_backends) if options.verify else None
    also_read = parse_metadata_flag(args.metadata).values()
    progress.run_conversion(lambda: pairs.convert(input_format, output_format, args.input_path, args.output_path, options, also_read),
                            args.input_path, args.output_path, output_format)
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


def _layers_options(quantization_dtype_map, split_weights_by_layer=False, weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES, metadata=None) -> ConversionOptions:
    return options_of_keywords(quantization_dtype_map=quantization_dtype_map, split_weights_by_layer=split_weights_by_layer,
                               weight_shard_size_bytes=check_shard_size(weight_shard_size_bytes), metadata=metadata)


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
    if output_dir:  # the public converter's artifacts (a save_weights() file too), not a handler's
        output.refuse_overlap(output_dir, h5_path, only_input_files=True)
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
        pairs.convert("keras_keras", "tfjs_layers_model", v3_path, output_dir,
                      _layers_options(quantization_dtype_map, split_weights_by_layer, weight_shard_size_bytes, metadata), api=True)
    return model_json, groups


def dispatch_keras_h5_to_tfjs_graph_model_conversion(h5_path, output_dir=None, quantization_dtype_map=None, skip_op_check=False,
                                                     strip_debug_ops=False, use_structured_outputs_names=False,
                                                     weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES, control_flow_v2=False,
                                                     experiments=False, metadata=None):
    """A Keras .h5 (or .keras) file -> TF.js graph model in output_dir."""
    _require_file(h5_path, "HDF5")
    options = options_of_keywords(quantization_dtype_map=quantization_dtype_map, skip_op_check=skip_op_check, strip_debug_ops=strip_debug_ops,
                                  use_structured_outputs_names=use_structured_outputs_names,
                                  weight_shard_size_bytes=check_shard_size(weight_shard_size_bytes), control_flow_v2=control_flow_v2, metadata=metadata)
    with _eager():
        pairs.convert("keras", "tfjs_graph_model", h5_path, output_dir, options, api=True)


def dispatch_keras_saved_model_to_tensorflowjs_conversion(keras_saved_model_path, output_dir, quantization_dtype_map=None,
                                                          split_weights_by_layer=False, weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES,
                                                          metadata=None):
    """A tf_keras SavedModel directory -> TF.js layers model in output_dir."""
    options = _layers_options(quantization_dtype_map, split_weights_by_layer, weight_shard_size_bytes, metadata)
    with _eager():
        pairs.convert("keras_saved_model", "tfjs_layers_model", keras_saved_model_path, output_dir, options, api=True)


def dispatch_tensorflowjs_to_keras_h5_conversion(config_json_path, h5_path):
    """A layers model.json -> Keras .h5 file (written without Keras; tf_keras and Keras 3 load it)."""
    _require_model_json(config_json_path)
    _require_no_directory(h5_path, "an HDF5 file")
    with _eager():
        pairs.convert("tfjs_layers_model", "keras", config_json_path, h5_path, ConversionOptions(), api=True)


def dispatch_tensorflowjs_to_keras_keras_conversion(config_json_path, v3_path):
    """A layers model.json -> Keras 3 .keras archive."""
    _require_model_json(config_json_path)
    _require_no_directory(v3_path, "a .keras file")
    with _eager():
        pairs.convert("tfjs_layers_model", "keras_keras", config_json_path, v3_path, ConversionOptions(), api=True)


def dispatch_tensorflowjs_to_keras_saved_model_conversion(config_json_path, keras_saved_model_path):
    """A layers model.json -> tf_keras SavedModel directory."""
    _require_model_json(config_json_path)
    with _eager():
        pairs.convert("tfjs_layers_model", "keras_saved_model", config_json_path, keras_saved_model_path, ConversionOptions(), api=True)


def dispatch_tensorflowjs_to_tensorflowjs_conversion(config_json_path, output_dir_path, quantization_dtype_map=None,
                                                     weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES):
    """A layers model re-sharded and re-quantized into output_dir_path (no Keras involved)."""
    _require_model_json(config_json_path)
    pairs.convert("tfjs_layers_model", "tfjs_layers_model", config_json_path, output_dir_path,
                  _layers_options(quantization_dtype_map, False, weight_shard_size_bytes), api=True)


def dispatch_tfjs_layers_model_to_tfjs_graph_conversion(config_json_path, output_dir_path, quantization_dtype_map=None, skip_op_check=False,
                                                        strip_debug_ops=False, weight_shard_size_bytes=DEFAULT_SHARD_SIZE_BYTES,
                                                        control_flow_v2=False, experiments=False, metadata=None):
    """A layers model.json -> TF.js graph model (rebuilt in tf_keras, then traced and optimised)."""
    _require_model_json(config_json_path)
    options = options_of_keywords(quantization_dtype_map=quantization_dtype_map, skip_op_check=skip_op_check, strip_debug_ops=strip_debug_ops,
                                  weight_shard_size_bytes=check_shard_size(weight_shard_size_bytes), control_flow_v2=control_flow_v2, metadata=metadata)
    with _eager():
        pairs.convert("tfjs_layers_model", "tfjs_graph_model", config_json_path, output_dir_path, options, api=True)


def main(argv: Optional[List[str]] = None) -> int:
    """Runs the converter; every expected failure is one line on stderr and exit code 1.

    Warnings are held while converting and shown once it has succeeded, so a refusal stays
    one line; the caller's warning settings are restored on return.
    """
    # TensorFlow's C++ start-up chatter (CPU features, ...) would bury our one-line messages;
    # its errors still show. A user's own setting wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    quiet_tensorflow.install()
    with warnings.catch_warnings(record=True) as held:
        try:
            convert(sys.argv[1:] if argv is None else argv)
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
    for warning in held:
        print(f"{PROG}: warning: {warning.message}", file=sys.stderr)
    return 0


def pip_main() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    pip_main()
