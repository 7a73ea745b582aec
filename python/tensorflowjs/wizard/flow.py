"""The wizard's questions, in order, and what it does with the answers.

Nothing is written before the very last step: every prompt only fills in a command.Plan.
Prompts raise KeyboardInterrupt (Ctrl-C) or EOFError (Ctrl-D, or input closed); cli.py
turns both into a clean exit.
"""

import os
import shlex
from typing import Dict, List, Optional, Sequence, Tuple

import questionary
from prompt_toolkit.completion import PathCompleter
from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
from prompt_toolkit.shortcuts import CompleteStyle
from questionary import Choice

from tensorflowjs import formats
from tensorflowjs.progress import human_size, snapshot
from tensorflowjs.converters import pairs
from tensorflowjs.wizard import command, model_info
from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES

# The wizard's words for each format come from the one catalog, formats.CATALOG.
INPUT_DESCRIPTIONS = {f.name: f.description for f in formats.CATALOG if f.name in pairs.INPUT_FORMATS}
OUTPUT_DESCRIPTIONS = {f.name: f.writes for f in formats.CATALOG if f.writes}

TFJS_OUTPUTS = ("tfjs_layers_model", "tfjs_graph_model")
FILE_OUTPUTS = {f.name: f.file_suffix for f in formats.CATALOG if f.file_suffix}  # the other outputs are directories
SIGNATURE_INPUTS = ("tf_saved_model", "tf_hub", "keras_saved_model")

COMPRESSION_CHOICES = (
    ("none", "none     float32, 4 bytes per weight: exact, the largest download"),
    ("float16", "float16  2 bytes per weight, half the size: tiny rounding, accuracy rarely changes"),
    ("uint16", "uint16   2 bytes per weight, half the size: affine per tensor, very small error"),
    ("uint8", "uint8    1 byte per weight, a quarter of the size: visible error, check accuracy"),
)

_ANOTHER_PATH = "<another path>"  # the value of the "another path" choice
# Files the user may point at that are part of a directory model.
_PARTS_OF_DIRECTORY_MODELS = ("saved_model.pb", "saved_model.pbtxt", "keras_metadata.pb", "tfhub_module.pb", "fingerprint.pb")


# --- prompts -------------------------------------------------------------------------------

def _end_of_input_on_ctrl_d(question: questionary.Question) -> questionary.Question:
    """Ctrl-D ends the input at every prompt: lists and yes/no questions ignore it otherwise,
    and a text prompt only takes it on an empty line (which a default answer never is)."""
    extra = KeyBindings()

    @extra.add("c-d", eager=True)
    def _(event):
        event.app.exit(exception=EOFError, style="class:aborting")

    app = question.application
    app.key_bindings = merge_key_bindings([app.key_bindings, extra])
    return question


def select(message: str, choices: Sequence[Choice], default=None):
    question = questionary.select(
        message, choices=list(choices), default=default, use_search_filter=True, use_jk_keys=False,
        instruction="(arrow keys or type to filter, Enter to choose)",
    )
    return _end_of_input_on_ctrl_d(question).unsafe_ask()


def confirm(message: str, default: bool) -> bool:
    return _end_of_input_on_ctrl_d(questionary.confirm(message, default=default)).unsafe_ask()


def text(message: str, default: str = "", validate=None, paths: bool = False) -> str:
    extra = dict(validate_while_typing=False)  # complain on Enter, not at every keystroke
    if paths:  # Tab completes file names; Enter always submits what is typed.
        extra.update(completer=PathCompleter(expanduser=True), complete_while_typing=False, complete_style=CompleteStyle.READLINE_LIKE)
    return _end_of_input_on_ctrl_d(questionary.text(message, default=default, validate=validate, **extra)).unsafe_ask()


def clean_path(typed: str) -> str:
    """A path as typed or pasted: surrounding quotes and shell escapes removed, ~ expanded."""
    path = typed.strip()
    if len(path) >= 2 and path[0] == path[-1] and path[0] in "'\"":
        path = path[1:-1]
    elif "\\" in path and not os.path.exists(os.path.expanduser(path)):
        try:
            words = shlex.split(path)
        except ValueError:
            words = []
        if len(words) == 1:
            path = words[0]
    return os.path.expanduser(path)


def _existing_path(typed: str):
    if not typed.strip():
        return "Enter a path"
    return True if os.path.exists(clean_path(typed)) else "No such file or directory"


def _any_path(typed: str):
    return True if typed.strip() else "Enter a path"


def _positive_int(typed: str):
    try:
        return True if int(typed.strip().replace("_", "")) > 0 else "Enter a positive number of bytes"
    except ValueError:
        return "Enter a whole number of bytes, e.g. 4194304"


# --- choices that depend on the model and on pairs.py --------------------------------------

def output_choices(input_formats: Sequence[str]) -> List[Tuple[str, str]]:
    """(input format, output format) pairs to offer, one per output format, default first.

    `input_formats` are the readings of the model, preferred first (a Keras SavedModel can
    also be read as a TF SavedModel). The pairs are read from pairs.HANDLERS at run time, so
    the wizard offers exactly what the converter converts.
    """
    candidates = [(i, o) for i in input_formats for (hi, o) in pairs.HANDLERS if hi == i]
    chosen: Dict[str, Tuple[str, str]] = {}
    for pair in candidates:
        chosen.setdefault(pair[1], pair)
    default = pairs.DEFAULT_OUTPUT_FORMAT.get(input_formats[0]) if input_formats else None
    order = list(pairs.OUTPUT_FORMATS)

    def rank(output: str):
        return (output != default, order.index(output) if output in order else len(order), output)

    return [chosen[o] for o in sorted(chosen, key=rank)]


def output_is_file(output_format: str) -> bool:
    return output_format in FILE_OUTPUTS


# --- the wizard ----------------------------------------------------------------------------

class Wizard:
    def __init__(self, out=print):
        self.say = out

    # Step 1: the model.
    def ask_model(self) -> Tuple[str, List[str]]:
        """The model's path as the user gave it, and its possible input formats."""
        while True:
            path = clean_path(text("Path of the model to convert (a file or a directory, Tab completes):", validate=_existing_path, paths=True))
            name = os.path.basename(os.path.normpath(path))
            parent = os.path.dirname(os.path.normpath(path)) or "."
            if os.path.isfile(path) and name in _PARTS_OF_DIRECTORY_MODELS and formats.detect_format(parent) is not None:
                self.say(f"{name} is part of the model in {parent}; converting that directory.")
                path = parent
            detected = formats.detect_format(path)
            if detected == "tfjs_graph_model":
                self.say(f"{path} is a TF.js graph model, which cannot be converted further; give the model it was made from.")
                continue
            if detected is not None:
                if confirm(f"This is a {INPUT_DESCRIPTIONS[detected]}. Right?", default=True):
                    return path, ([detected, "tf_saved_model"] if detected == "keras_saved_model" else [detected])
            else:
                self.say(f"{path} is none of the formats the converter reads ({', '.join(pairs.INPUT_FORMATS)}).")
            choices = [Choice(f"{f:<18} {d}", value=f) for f, d in INPUT_DESCRIPTIONS.items()]
            choices.append(Choice("another path", value=_ANOTHER_PATH))
            chosen = select("What is the model's format?", choices)
            if chosen != _ANOTHER_PATH:
                return path, [chosen]

    # Step 2: the output format.
    def ask_output_format(self, input_formats: Sequence[str]) -> Optional[Tuple[str, str]]:
        offered = output_choices(input_formats)
        if not offered:
            self.say(f"This build cannot convert a {INPUT_DESCRIPTIONS[input_formats[0]]} "
                     f"(pairs it converts: {', '.join(f'{i} -> {o}' for i, o in pairs.HANDLERS)}).")
            return None
        choices = []
        for pair in offered:
            via = f" (read as {pair[0]})" if pair[0] != input_formats[0] else ""
            choices.append(Choice(f"{pair[1]:<18} {OUTPUT_DESCRIPTIONS.get(pair[1], '')}{via}", value=pair))
        return select("Convert it to:", choices, default=offered[0])

    # Step 3 (SavedModels and Hub modules): the tag set and the signature.
    def ask_signature(self, path: str, input_format: str, plan: command.Plan) -> bool:
        self.say("Reading the tag sets and signatures (this loads TensorFlow's protobuf classes)...")
        meta_graphs = model_info.read_saved_model(path)
        usable = [m for m in meta_graphs if m.signatures]
        if not usable:
            self.say(f"{path} has no signature to convert (tag sets: {', '.join(repr(m.tags_flag) for m in meta_graphs) or 'none'}).")
            return False
        for meta_graph in usable:
            self.say(f"Tag set {meta_graph.tags_flag or '(no tags)'}:")
            for signature in meta_graph.signatures:
                self.say(f"  {signature.name}: {signature.describe()}")
        preferred_tags = () if input_format == "tf_hub" else ("serve",)
        meta_graph = next((m for m in usable if m.tags == preferred_tags), usable[0])
        if len(usable) > 1:
            choices = [Choice(m.tags_flag or "(no tags)", value=m) for m in usable]
            meta_graph = select("Which tag set (MetaGraph)?", choices, default=meta_graph)
        preferred_name = "default" if input_format == "tf_hub" else "serving_default"
        names = [s.name for s in meta_graph.signatures]
        default = preferred_name if preferred_name in names else names[0]
        choices = [Choice(s.name, value=s.name, description=s.describe()) for s in meta_graph.signatures]
        plan.signature_name = select("Which signature?", choices, default=default)
        plan.saved_model_tags = meta_graph.tags_flag
        return True

    # Step 3 (frozen models): the output nodes.
    def ask_output_nodes(self, path: str, plan: command.Plan) -> None:
        self.say("Looking for the graph's output nodes (this loads TensorFlow's protobuf classes)...")
        suggested = model_info.frozen_graph_outputs(path)
        plan.output_node_names = ",".join(n.strip() for n in text(
            "Output node names, comma-separated:", default=",".join(suggested),
            validate=lambda t: True if t.strip(" ,") else "Enter at least one node name",
        ).split(",") if n.strip())

    # Step 4 (TF.js outputs): weights.
    def ask_weights(self, path: str, input_format: str, plan: command.Plan) -> None:
        choices = [Choice(title, value=value) for value, title in COMPRESSION_CHOICES]
        plan.compression = select("Compress (quantize) the weights?", choices, default="none")
        if plan.compression != "none":
            which = select("Which weights?", [Choice("all of them", value="all"), Choice("only names matching patterns", value="some")], default="all")
            if which == "some":
                names = model_info.layers_model_weight_names(path) if input_format == "tfjs_layers_model" else []
                if names:
                    shown = ", ".join(names[:12]) + (f", ... ({len(names) - 12} more)" if len(names) > 12 else "")
                    self.say(f"The model's weights: {shown}")
                plan.quantize_patterns = command.normalize_patterns(text(
                    "Weight names to quantize, comma-separated; * is a wildcard (e.g. dense_1/*,*/kernel):",
                    validate=lambda t: True if command.normalize_patterns(t) else "Enter at least one name or pattern",
                ))
        self.say("Weights are written in files (shards) of at most this size; browsers cache files of a few MB well.")
        plan.weight_shard_size_bytes = int(text("Shard size in bytes:", default=str(DEFAULT_SHARD_SIZE_BYTES), validate=_positive_int).strip().replace("_", ""))

    def ask_layers_options(self, plan: command.Plan) -> None:
        plan.split_weights_by_layer = confirm("Split the weights by layer (a group of shard files per layer, fetched separately)?", default=False)

    def ask_graph_options(self, plan: command.Plan) -> None:
        plan.strip_debug_ops = confirm("Strip debug ops (Print, Assert, CheckNumerics)? They do nothing useful in TF.js.", default=True)
        plan.control_flow_v2 = confirm("Keep TF2 control flow (While/If functions) instead of lowering it to v1 ops? Faster for models with loops.", default=False)
        plan.skip_op_check = confirm("Skip the check for ops TF.js cannot run? Only if you register those ops yourself.", default=False)

    def ask_metadata(self, plan: command.Plan) -> None:
        if not confirm("Embed metadata JSON files in model.json (userDefinedMetadata)?", default=False):
            return
        while True:
            name = text(
                "Metadata name (empty to finish):",
                validate=lambda t: "Names cannot contain ',' or ':'" if set(t) & set(",:")
                else f"{t.strip()!r} is already used" if t.strip() in plan.metadata else True,
            ).strip()
            if not name:
                return
            path = clean_path(text(f"JSON file for {name!r}:", validate=_json_file, paths=True))
            plan.metadata[name] = path

    # Step 5: where to write.
    def ask_output_path(self, input_path: str, output_format: str) -> str:
        is_file = output_is_file(output_format)
        what = f"Output file ({FILE_OUTPUTS[output_format]})" if is_file else "Output directory"
        # The model's own directory: a SavedModel's, or a TF.js model's beside its model.json.
        model_json = os.path.basename(input_path) == "model.json"
        source = os.path.realpath((os.path.dirname(input_path) or ".") if model_json else input_path)
        while True:
            path = clean_path(text(f"{what}:", validate=_any_path, paths=True))
            real = os.path.realpath(path)
            if real in (source, os.path.realpath(input_path)):
                self.say("That is where the input model is; choose another place so that it stays intact.")
                continue
            if is_file and os.path.isdir(path):
                self.say(f"{path} is a directory; give the path of the file to write.")
                continue
            if not is_file and os.path.exists(path) and not os.path.isdir(path):
                self.say(f"{path} is a file; give a directory.")
                continue
            if is_file and os.path.exists(path):
                if confirm(f"{path} exists. Replace it?", default=False):
                    return path
                continue
            if not is_file and os.path.isdir(path) and os.listdir(path):
                count = len(os.listdir(path))
                if confirm(f"{path} is not empty ({count} entr{'y' if count == 1 else 'ies'}). Write into it? Files with the names the converter "
                           "writes (model.json, group*-shard*of*.bin) are replaced; the others are kept.", default=False):
                    return path
                continue
            return path

    def plan(self) -> Optional[command.Plan]:
        """Asks everything; None if the model cannot be converted by this build."""
        path, readings = self.ask_model()
        pair = self.ask_output_format(readings)
        if pair is None:
            return None
        input_format, output_format = pair
        plan = command.Plan(path, "", input_format, output_format)
        if output_format == "tfjs_graph_model" and input_format in SIGNATURE_INPUTS:
            if not self.ask_signature(path, input_format, plan):
                return None
        if input_format == "tf_frozen_model":
            self.ask_output_nodes(path, plan)
        if output_format in TFJS_OUTPUTS:
            self.ask_weights(path, input_format, plan)
        if output_format == "tfjs_layers_model":
            self.ask_layers_options(plan)
        if output_format == "tfjs_graph_model":
            self.ask_graph_options(plan)
        if output_format in TFJS_OUTPUTS:
            self.ask_metadata(plan)
        plan.output_path = self.ask_output_path(path, output_format)
        return plan


def _json_file(typed: str):
    import json

    checked = _existing_path(typed)
    if checked is not True:
        return checked
    try:
        with open(clean_path(typed), "rb") as f:
            json.loads(f.read().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return "Not a readable JSON file"
    return True


# --- the conversion and its report ---------------------------------------------------------

def report_written(before: Dict, output_path: str, say=print) -> List[Tuple[str, int]]:
    """Prints the files the conversion wrote (new or changed since `before`), sizes and total."""
    after = snapshot(output_path) if os.path.exists(output_path) else {}
    written = sorted((p, stat[0]) for p, stat in after.items() if before.get(p) != stat)
    base = output_path if os.path.isdir(output_path) else os.path.dirname(output_path) or "."
    total = sum(size for _, size in written)
    say(f"Wrote {len(written)} file{'s' if len(written) != 1 else ''} to {output_path}:")
    width = max([len(os.path.relpath(p, base)) for p, _ in written] + [5])
    for p, size in written:
        say(f"  {os.path.relpath(p, base):<{width}}  {size:>12,} bytes")
    say(f"  {'total':<{width}}  {total:>12,} bytes ({human_size(total)})")
    return written
