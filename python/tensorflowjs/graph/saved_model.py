"""Opening a SavedModel by tag set and signature, with errors that list what exists.

The tag sets and signatures are read from saved_model.pb before TensorFlow loads anything,
so a wrong choice fails fast and names the right ones. The wizard lists them by the same rules
(read_saved_model_proto, meta_graph_tags, signature_names).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Sequence

from tensorflowjs import extras, tf_protos
from tensorflowjs.errors import ConversionError


def parse_tags(tags: Any) -> List[str]:
    """'serve,gpu' / ['serve'] / '' / None -> a sorted tag list (empty: no tags)."""
    if tags is None:
        return []
    if isinstance(tags, str):
        tags = tags.split(",")
    return sorted({t.strip() for t in tags if t and t.strip()})


def _describe(tags: Sequence[str]) -> str:
    return "{" + ",".join(tags) + "}" if tags else "{} (no tags: --saved_model_tags=)"


def read_saved_model_proto(saved_model_dir: str) -> Any:
    """The SavedModel proto of a directory, or a ConversionError saying what is missing."""
    DecodeError = extras.require("google.protobuf.message", "reading saved_model.pb").DecodeError

    path = os.path.join(saved_model_dir, "saved_model.pb")
    if not os.path.isdir(saved_model_dir):
        raise ConversionError(f"{saved_model_dir} is not a directory; give a SavedModel directory (holding saved_model.pb)")
    if not os.path.isfile(path):
        hint = " (a saved_model.pbtxt is not supported: save the model in binary form)" if os.path.isfile(path + "txt") else ""
        raise ConversionError(f"{saved_model_dir} has no saved_model.pb; give a SavedModel directory{hint}")
    proto = tf_protos.message_class("tensorflow.SavedModel")()
    try:
        with open(path, "rb") as f:
            proto.ParseFromString(f.read())
    except DecodeError:
        raise ConversionError(f"{path} is not a SavedModel protocol buffer (damaged or another kind of file)") from None
    if not proto.meta_graphs:
        raise ConversionError(f"{path} holds no MetaGraph; it is not a usable SavedModel")
    return proto


def meta_graph_tags(meta_graph: Any) -> List[str]:
    """A MetaGraph's tag set, sorted as parse_tags sorts a user's."""
    return sorted(meta_graph.meta_info_def.tags)


def signature_names(meta_graph: Any) -> List[str]:
    """The signatures a user can choose, sorted; '__'-prefixed ones (__saved_model_init_op) are TensorFlow's own."""
    return sorted(k for k in meta_graph.signature_def if not k.startswith("__"))


@dataclass
class MetaGraphChoice:
    tags: List[str]
    meta_graph: Any  # the MetaGraphDef (tf_protos' class)

    @property
    def tensorflow_version(self) -> str:
        return self.meta_graph.meta_info_def.tensorflow_version

    @property
    def tf1(self) -> bool:
        """Written by TF1's SavedModelBuilder (no object graph): frozen in a Session."""
        return not self.meta_graph.object_graph_def.nodes


def choose_meta_graph(saved_model_dir: str, tags: Any, signature_name: str) -> MetaGraphChoice:
    """The MetaGraph with exactly these tags and that has the signature; errors list the choices."""
    proto = read_saved_model_proto(saved_model_dir)
    wanted = parse_tags(tags)
    available = [meta_graph_tags(m) for m in proto.meta_graphs]
    for meta_graph, meta_tags in zip(proto.meta_graphs, available):
        if meta_tags == wanted:
            signatures = signature_names(meta_graph)
            if signature_name not in signatures:
                raise ConversionError(
                    f"{saved_model_dir} has no signature {signature_name!r} under tags {_describe(wanted)}; "
                    f"its signatures: {', '.join(signatures) or 'none'} (choose one with --signature_name)"
                )
            return MetaGraphChoice(meta_tags, meta_graph)
    raise ConversionError(
        f"{saved_model_dir} has no MetaGraph tagged {_describe(wanted)}; its tag sets: "
        f"{'; '.join(_describe(t) for t in available)} (choose one with --saved_model_tags)"
    )


@dataclass
class LoadedSignature:
    model: Any  # the loaded trackable object: keeps the function's resources alive
    function: Any  # the signature's concrete function
    tensorflow_version: str


def load_signature(saved_model_dir: str, choice: MetaGraphChoice, signature_name: str) -> LoadedSignature:
    """Loads the SavedModel (TF2 or TF1 style) and returns the signature's concrete function."""
    tf = extras.require("tensorflow", f"loading the SavedModel {saved_model_dir} with TensorFlow")

    try:
        model = tf.saved_model.load(saved_model_dir, tags=choice.tags)
    except (ValueError, OSError, RuntimeError, tf.errors.OpError) as e:
        raise ConversionError(f"TensorFlow cannot load the SavedModel {saved_model_dir}: {str(e).splitlines()[0]}") from None
    return LoadedSignature(model, model.signatures[signature_name], choice.tensorflow_version or tf.__version__)
