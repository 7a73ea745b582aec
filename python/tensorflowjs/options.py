"""Everything a conversion can be asked to do, independent of how it was asked (CLI or API).

One table, OPTIONS, drives every way of asking: the converter's flags (converters/converter.py),
the fields of ConversionOptions, the wizard's command (wizard/command.py) and the public API's
keyword arguments (options_of_keywords). A new option is a new row, plus the code that uses it.
"""

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES

_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


def boolean(text: str) -> bool:
    """A flag value that really is true or false: --control_flow_v2=false means False."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def is_boolean_text(text: str) -> bool:
    return text.strip().lower() in _TRUE | _FALSE


def _comma_separated(value: Union[str, Sequence[str], None]) -> str:
    """The API's tags or node names, a string or a list, as the flag's 'a,b' (None: '')."""
    if value is None:
        return ""
    return value if isinstance(value, str) else ",".join(value)


@dataclass(frozen=True)
class Option:
    """One thing a conversion can be asked to do.

    `name` is the flag (--name) and, unless `field` is False, the ConversionOptions field it
    sets; `help` None means no flag (an API-only option). `api` lists the public API's keyword
    names for it and `from_api` reads such a keyword's value. `wizard_true` is how the wizard
    writes the flag when true (the public converter takes some booleans bare, others only
    with a value).
    """

    name: str
    default: Any
    annotation: Any
    help: Optional[str] = None
    type: Optional[Callable[[str], Any]] = None
    boolean: bool = False
    metavar: Optional[str] = None
    choices: Optional[Tuple] = None
    nargs: Optional[str] = None
    const: Any = None
    field: bool = True
    api: Tuple[str, ...] = ()
    from_api: Callable[[Any], Any] = lambda value: value
    wizard_true: Optional[str] = None

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        """This option's flag on `parser`: a boolean takes true|false, or nothing for true."""
        if self.boolean:
            parser.add_argument(self.flag, type=boolean, default=self.default, metavar="true|false", help=self.help + " A bare flag means true.")
            return
        extra = {k: v for k, v in (("type", self.type), ("choices", self.choices), ("nargs", self.nargs), ("metavar", self.metavar)) if v is not None}
        if self.nargs == "?":
            extra["const"] = self.const
        flag_default = None if not self.field else self.default
        parser.add_argument(self.flag, default=flag_default, help=self.help, **extra)


def _quantize_flag(dtype: str, note: str) -> Option:
    return Option(f"quantize_{dtype}", None, Any, field=False, nargs="?", const=True, metavar="PATTERNS",
                  help=f"Comma-separated weight names to {note} quantize; wildcards (conv/*/kernel) allowed; without a value, every weight.")


def _flag(name: str, default: Any, annotation: Any, help_text: str, **more: Any) -> Option:
    """An option that is also a flag, a field and an API keyword of its own name."""
    return Option(name, default, annotation, help_text, api=(name, *more.pop("api", ())), **more)


# In --help order.
OPTIONS: Tuple[Option, ...] = (
    _flag("signature_name", None, Optional[str], "SavedModel or TF Hub signature to convert (default serving_default, or default for TF Hub).",
          api=("signature_def", "signature")),
    _flag("saved_model_tags", "serve", str, "Comma-separated tags of the MetaGraphDef to load; empty string for none (default serve).",
          from_api=_comma_separated),
    _flag("strip_debug_ops", False, bool, "Remove Print, Assert and CheckNumerics ops.", boolean=True, wizard_true="--strip_debug_ops=true"),
    Option("quantization_bytes", None, Any, "(Deprecated: use --quantize_uint8 or --quantize_uint16) Quantize all weights to 1 or 2 bytes.",
           type=int, choices=(1, 2), field=False),
    _quantize_flag("float16", "float16"),
    _quantize_flag("uint8", "1-byte affine"),
    _quantize_flag("uint16", "2-byte affine"),
    _flag("weight_shard_size_bytes", DEFAULT_SHARD_SIZE_BYTES, int, "Maximum size of each weight file (default 4194304).", type=int),
    _flag("output_node_names", None, Optional[str], "Frozen models: comma-separated names of the output nodes.", from_api=_comma_separated),
    _flag("control_flow_v2", False, bool, "Keep TF2 control flow (While/If functions) instead of converting it to v1.", boolean=True,
          wizard_true="--control_flow_v2=true"),
    # The flag names JSON files (name:path,...); the field holds their content, as the API's `metadata=` does.
    _flag("metadata", None, Optional[Dict[str, Any]], "User metadata JSON files to embed, as name:path,name:path."),
    _flag("use_structured_outputs_names", False, bool, "Graph models: return outputs as a dict keyed by the signature's output names.",
          boolean=True, wizard_true="--use_structured_outputs_names=true"),
    _flag("split_weights_by_layer", False, bool, "Layers models: one weight group (and set of shard files) per layer.", boolean=True,
          wizard_true="--split_weights_by_layer"),
    _flag("skip_op_check", False, bool, "Convert even if the graph has ops TF.js cannot run.", boolean=True, wizard_true="--skip_op_check"),
    _flag("verify", False, bool, "After converting, run the model in TF.js (Node) and compare its predictions with the source model's; exit 3 on a mismatch.",
          boolean=True),
    _flag("verify_inputs", None, Optional[str], "With --verify: a .npz of inputs keyed by the model's input names, instead of generated ones.",
          metavar="NPZ"),
    Option("verify_backends", ("cpu", "wasm"), Tuple[str, ...], "With --verify: comma-separated TF.js backends to run (default cpu,wasm).",
           type=lambda text: tuple(b.strip() for b in text.split(",") if b.strip())),
    # Set by the API, or from the quantize flags: dtype -> True or weight-name patterns.
    Option("quantization_dtype_map", {}, Dict, api=("quantization_dtype_map",), from_api=lambda value: dict(value or {})),
    Option("frozen_graph_dir", None, Optional[str], api=("frozen_graph_dir",)),
)

FLAGS: Tuple[Option, ...] = tuple(o for o in OPTIONS if o.help is not None)
BOOLEAN_FLAGS: Tuple[str, ...] = tuple(o.flag for o in OPTIONS if o.boolean)


def _field_of(option: Option):
    if isinstance(option.default, (dict, list)):
        return field(default_factory=lambda: type(option.default)(option.default))
    return field(default=option.default)


ConversionOptions = dataclasses.make_dataclass(
    "ConversionOptions",
    [(o.name, o.annotation, _field_of(o)) for o in OPTIONS if o.field],
    namespace={"__doc__": "A conversion's options: one field per row of options.OPTIONS.", "__module__": __name__},
)

_BY_KEYWORD: Dict[str, Option] = {keyword: o for o in OPTIONS for keyword in o.api}


def options_of_keywords(**keywords: Any) -> "ConversionOptions":
    """ConversionOptions of public API keyword arguments, under the API's own names
    (signature_def and signature are signature_name; tags and node names may be lists)."""
    return ConversionOptions(**{_BY_KEYWORD[k].name: _BY_KEYWORD[k].from_api(v) for k, v in keywords.items()})


def options_of_call(arguments: Dict[str, Any]) -> "ConversionOptions":
    """ConversionOptions of a public API function's arguments (its locals() on entry): the
    options among them, under the API's names. Paths, models and `verify` (which the function
    runs itself after converting) are not options."""
    return options_of_keywords(**{k: v for k, v in arguments.items() if k in _BY_KEYWORD and k != "verify"})
