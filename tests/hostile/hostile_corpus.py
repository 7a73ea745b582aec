"""Hostile and broken inputs for every input format, flag and output situation, made at test time.

    python tests/hostile/hostile_corpus.py ROOT     # writes ROOT/<case>/ and prints the case ids

Nothing binary is checked in: valid models are built here (tf_keras, Keras 3, TensorFlow, numpy)
and then damaged. Each case is a directory holding its inputs; its command runs with that
directory as the working directory, so its output path is relative to it. Lambda layers in
the Keras cases would write MARKER in the corpus root if their code ever ran.
"""

import json
import os
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import h5py
import numpy as np

MARKER = "MARKER"
DEEP = 100_000


@dataclass
class Case:
    id: str
    group: str
    argv: List[str]  # converter flags and paths, relative to the case directory
    rc: int = 1
    says: str = ""  # a piece of the one error line
    tool: str = "converter"  # or "pb2json"
    controls: bool = False  # a valid input: must convert (exit 0) and write `output`
    output: str = "out"
    env: Dict[str, str] = field(default_factory=dict)
    bounded: bool = True  # run under memory and file-size limits (paths that never import TensorFlow)


def _deep_json(levels: int = DEEP) -> str:
    return "[" * levels + "]" * levels


def _copy(source: str, case_dir: str, name: Optional[str] = None) -> str:
    target = os.path.join(case_dir, name or os.path.basename(source))
    (shutil.copytree if os.path.isdir(source) else shutil.copyfile)(source, target)
    return target


# ---------------------------------------------------------------- valid models, built once


def _lambda_writing_marker(root: str):
    """A function whose call writes the marker; the path is a constant in its code."""
    return eval(f"lambda x: (open({os.path.join(root, MARKER)!r}, 'w').write('ran'), x)[1]")


def build_bases(root: str) -> Dict[str, str]:
    """Valid models of every input format under root/_base; returns their paths by name."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import tensorflow as tf
    import tf_keras
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    base = os.path.join(root, "_base")
    os.makedirs(base)
    paths = {}
    rng = np.random.default_rng(0)

    model = tf_keras.Sequential([tf_keras.layers.Dense(4, activation="relu", input_shape=(3,), name="d1"), tf_keras.layers.Dense(2, name="d2")])
    paths["h5"] = os.path.join(base, "model.h5")
    model.save(paths["h5"])
    paths["ksm"] = os.path.join(base, "keras_sm")
    model.save(paths["ksm"], save_format="tf")

    with_lambda = tf_keras.Sequential([tf_keras.layers.Dense(2, input_shape=(3,), name="d1"), tf_keras.layers.Lambda(_lambda_writing_marker(root), name="lam")])
    paths["h5_lambda"] = os.path.join(base, "lambda.h5")
    with_lambda.save(paths["h5_lambda"])

    k3 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu", name="d1"), keras.layers.Dense(2, name="d2")])
    paths["keras"] = os.path.join(base, "model.keras")
    k3.save(paths["keras"])
    inputs = keras.Input((3,), name="x")
    functional = keras.Model(inputs, keras.layers.Dense(2, name="d1")(inputs))
    paths["keras_functional"] = os.path.join(base, "functional.keras")
    functional.save(paths["keras_functional"])
    k3_lambda = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d1"), keras.layers.Lambda(_lambda_writing_marker(root), name="lam")])
    paths["keras_lambda"] = os.path.join(base, "lambda.keras")
    k3_lambda.save(paths["keras_lambda"])

    module = tf.Module()
    module.w = tf.Variable(rng.normal(size=(3, 2)).astype(np.float32))
    module.f = tf.function(lambda x: {"y": tf.matmul(x, module.w)}, input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    paths["sm"] = os.path.join(base, "saved_model")
    tf.saved_model.save(module, paths["sm"], signatures={"serving_default": module.f})

    frozen = convert_variables_to_constants_v2(module.f.get_concrete_function())
    paths["frozen"] = os.path.join(base, "frozen.pb")
    with open(paths["frozen"], "wb") as f:
        f.write(frozen.graph.as_graph_def().SerializeToString())
    paths["frozen_output"] = frozen.outputs[0].name.split(":")[0]

    paths["hub"] = os.path.join(base, "hub")
    shutil.copytree(paths["sm"], paths["hub"])

    import make_mlp

    paths["layers"] = os.path.join(base, "layers")
    make_mlp.write(paths["layers"])

    paths["pb2json"] = os.path.join(base, "old_tfjs")
    _write_pre_1_0_model(paths["pb2json"], frozen.graph.as_graph_def())

    for leftover in (MARKER,):
        if os.path.exists(os.path.join(root, leftover)):
            os.remove(os.path.join(root, leftover))
    return paths


def _write_pre_1_0_model(directory: str, graph_def) -> None:
    from tensorflow.python.framework import tensor_util

    from tensorflowjs import write_weights

    weights = []
    for node in graph_def.node:
        if node.op == "Const":
            weights.append({"name": node.name, "data": tensor_util.MakeNdarray(node.attr["value"].tensor)})
            node.attr["value"].tensor.ClearField("tensor_content")
            node.attr["value"].tensor.ClearField("float_val")
    os.makedirs(directory)
    write_weights.write_weights([weights], directory, shard_size_bytes=64)
    with open(os.path.join(directory, "tensorflowjs_model.pb"), "wb") as f:
        f.write(graph_def.SerializeToString())


# ---------------------------------------------------------------- damage


def _truncate(path: str, keep: float = 0.5) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(int(size * keep))


def _write(path: str, data) -> None:
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def _h5_edit(path: str, edit: Callable[[h5py.File], None]) -> None:
    with h5py.File(path, "r+") as f:
        edit(f)


def _kernel_path(f: h5py.File) -> str:
    names = []
    f["model_weights/d1"].visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) and "kernel" in name else None)
    return "model_weights/d1/" + names[0]


def _replace_kernel(f: h5py.File, make: Callable[[h5py.Group, str], None]) -> None:
    path = _kernel_path(f)
    parent, name = path.rsplit("/", 1)
    del f[path]
    make(f[parent], name)


def _secret(case_dir: str) -> str:
    path = os.path.join(case_dir, "secret.h5")
    with h5py.File(path, "w") as f:
        f["kernel"] = np.full((3, 4), 42.0, np.float32)
    raw = os.path.join(case_dir, "secret.bin")
    np.full((3, 4), 42.0, np.float32).tofile(raw)
    return path


def _external_link(case_dir: str, f: h5py.File) -> None:
    _secret(case_dir)
    _replace_kernel(f, lambda g, n: g.__setitem__(n, h5py.ExternalLink(os.path.join(case_dir, "secret.h5"), "/kernel")))


def _external_storage(case_dir: str, f: h5py.File) -> None:
    _secret(case_dir)
    _replace_kernel(f, lambda g, n: g.create_dataset(n, (3, 4), np.float32, external=[(os.path.join(case_dir, "secret.bin"), 0, 48)]))


def _virtual(case_dir: str, f: h5py.File) -> None:
    _secret(case_dir)
    layout = h5py.VirtualLayout((3, 4), np.float32)
    layout[:] = h5py.VirtualSource(os.path.join(case_dir, "secret.h5"), "kernel", shape=(3, 4))
    _replace_kernel(f, lambda g, n: g.create_virtual_dataset(n, layout))


def _set_config(f: h5py.File, text: str) -> None:
    f.attrs["model_config"] = text


def _bomb_config(f: h5py.File) -> None:
    """Dense d1 declared with 100000 inputs and units, its kernel declared (100000, 100000), never stored."""
    config = json.loads(f.attrs["model_config"])
    config["config"]["layers"][0]["config"]["batch_input_shape"] = [None, 100000]
    config["config"]["layers"][1]["config"]["units"] = 100000
    f.attrs["model_config"] = json.dumps(config)
    path = _kernel_path(f)
    parent, name = path.rsplit("/", 1)
    del f[path]
    f[parent].create_dataset(name, (100000, 100000), np.float32)


def _rezip(source: str, target: str, members: Dict[str, Optional[bytes]], compress: Dict[str, int] = None) -> None:
    """Copies a zip, replacing (bytes) or dropping (None) the named members."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename in members:
                continue
            dst.writestr(info, src.read(info))
        for name, data in members.items():
            if data is not None:
                dst.writestr(zipfile.ZipInfo(name), data, compress_type=(compress or {}).get(name, zipfile.ZIP_STORED))


def _zip_bomb_member(source: str, target: str, name: str, fill: bytes, size: int) -> None:
    """A zip whose member `name` deflates from a few MB to `size` bytes of `fill` (streamed)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info))
        info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=True) as member:
            chunk = fill * ((1 << 20) // len(fill))
            for _ in range(size // len(chunk)):
                member.write(chunk)


def _keras_weights_edit(source: str, target: str, case_dir: str, edit: Callable[[h5py.File], None]) -> None:
    with zipfile.ZipFile(source) as src:
        weights = src.read("model.weights.h5")
    scratch = os.path.join(case_dir, "..", f".{os.path.basename(case_dir)}.weights.h5")
    _write(scratch, weights)
    with h5py.File(scratch, "r+") as f:
        edit(f)
    with open(scratch, "rb") as f:
        data = f.read()
    os.remove(scratch)
    _rezip(source, target, {"model.weights.h5": data})


def _first_var(f: h5py.File) -> str:
    names = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names[0]


def _keras_replace_var(make: Callable[[h5py.Group, str], None]) -> Callable[[h5py.File], None]:
    def edit(f: h5py.File) -> None:
        path = _first_var(f)
        parent, name = path.rsplit("/", 1)
        del f[path]
        make(f[parent], name)

    return edit


def _group_cycle(f: h5py.File) -> None:
    """A group without vars/@name hard-linked into itself: walking it never ends."""
    loop = f.create_group("loop")
    loop["again"] = loop


def _manifest_edit(model_json: str, edit: Callable[[dict], None]) -> None:
    with open(model_json) as f:
        model = json.load(f)
    edit(model)
    _write(model_json, json.dumps(model))


def _first_weight(model: dict) -> dict:
    return model["weightsManifest"][0]["weights"][0]


def _layer_configs(model: dict) -> list:
    return model["modelTopology"]["model_config"]["config"]["layers"]


# ---------------------------------------------------------------- the cases

Builder = Callable[[str, Dict[str, str], str], None]  # (case dir, bases, corpus root)
CASES: List[Case] = []
BUILDERS: Dict[str, Builder] = {}


def case(id: str, group: str, argv: List[str], **kwargs) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        CASES.append(Case(id, group, argv, **kwargs))
        BUILDERS[id] = build
        return build

    return register


def _h5(edit: Callable[[str, h5py.File], None]) -> Builder:
    def build(d, b, root):
        path = _copy(b["h5"], d)
        _h5_edit(path, lambda f: edit(d, f))

    return build


H5 = ["--input_format=keras", "model.h5", "out"]
for _id, _edit, _says in [
    ("h5-deep-config", lambda d, f: _set_config(f, _deep_json()), "levels deep"),
    ("h5-config-not-json", lambda d, f: _set_config(f, "{not json"), "not valid JSON"),
    ("h5-config-not-a-model", lambda d, f: _set_config(f, "[1, 2]"), "not a Keras model config"),
    ("h5-no-weights-group", lambda d, f: f.__delitem__("model_weights"), "do not match"),
    ("h5-no-model-config", lambda d, f: f.attrs.__delitem__("model_config"), "no model_config"),
    ("h5-string-weight", lambda d, f: _replace_kernel(f, lambda g, n: g.create_dataset(n, data=np.array([b"a", b"b"]))), "dtype"),
    ("h5-wrong-kernel-shape", lambda d, f: _replace_kernel(f, lambda g, n: g.create_dataset(n, data=np.zeros((3, 5), np.float32))), "do not match"),
    ("h5-listed-weight-missing", lambda d, f: f.__delitem__(_kernel_path(f)), "missing"),
    ("h5-missing-bias", lambda d, f: (f["model_weights/d1"].attrs.__setitem__("weight_names", [n for n in f["model_weights/d1"].attrs["weight_names"] if "bias" not in str(n)])), "do not match"),
    ("h5-missing-layer-group", lambda d, f: f["model_weights"].__delitem__("d2"), "no weight group"),
    ("h5-external-link", _external_link, "external link"),
    ("h5-external-storage", _external_storage, "external raw storage"),
    ("h5-virtual-dataset", _virtual, "virtual dataset"),
    ("h5-soft-link", lambda d, f: _replace_kernel(f, lambda g, n: g.__setitem__(n, h5py.SoftLink("/model_weights/d2/d2/kernel:0"))), "soft link"),
    ("h5-size-bomb", lambda d, f: _bomb_config(f), "declares shape"),
]:
    case(_id, "keras_h5", H5, says=_says)(_h5(_edit))


@case("h5-gzip-weight", "keras_h5", H5, rc=0, controls=True)
def _(d, b, root):
    """A small gzip-compressed weight is legal: filtered datasets are not refused as such."""
    path = _copy(b["h5"], d)
    _h5_edit(path, lambda f: _replace_kernel(f, lambda g, n: g.create_dataset(n, data=np.ones((3, 4), np.float32), chunks=(3, 4), compression="gzip")))


@case("h5-control", "keras_h5", H5, rc=0, controls=True)
def _(d, b, root):
    _copy(b["h5"], d)


@case("h5-gzip-bomb", "keras_h5", H5, says="declares shape")
def _(d, b, root):
    path = _copy(b["h5"], d)

    def edit(f):
        _bomb_config(f)
        path_ = _kernel_path(f)
        parent, name = path_.rsplit("/", 1)
        del f[path_]
        dataset = f[parent].create_dataset(name, (100000, 100000), np.float32, chunks=(1000, 1000), compression="gzip")
        dataset[:1000, :1000] = 0

    _h5_edit(path, edit)


for _id, _data, _says in [("h5-empty", b"", "neither an HDF5"), ("h5-garbage", b"\x89HDF\r\n\x1a\n" + b"\x00\xff" * 500, "cannot be read as HDF5")]:
    case(_id, "keras_h5", H5, says=_says)(lambda d, b, root, data=_data: _write(os.path.join(d, "model.h5"), data))


@case("h5-truncated", "keras_h5", H5, says="model.h5")
def _(d, b, root):
    _truncate(_copy(b["h5"], d))


@case("h5-lambda-writes-marker", "keras_h5", H5, says="Lambda")
def _(d, b, root):
    _copy(b["h5_lambda"], d, "model.h5")


@case("h5-output-is-input", "keras_h5", ["--input_format=keras", "model.h5", "model.h5"], says="is the input")
def _(d, b, root):
    _copy(b["h5"], d)


@case("h5-output-contains-input", "keras_h5", ["--input_format=keras", "model.h5", "."], says="contains the input")
def _(d, b, root):
    _copy(b["h5"], d)


@case("h5-output-symlink-to-input-dir", "keras_h5", ["--input_format=keras", "in/model.h5", "link"], says="contains the input")
def _(d, b, root):
    os.mkdir(os.path.join(d, "in"))
    _copy(b["h5"], os.path.join(d, "in"))
    os.symlink("in", os.path.join(d, "link"))


@case("h5-graph-output-is-input", "keras_h5", ["--input_format=keras", "--output_format=tfjs_graph_model", "model.h5", "model.h5"], says="is the input")
def _(d, b, root):
    _copy(b["h5"], d)


# The graph-model path loads the file with Keras 3; our checks run first.
H5_GRAPH = ["--input_format=keras", "--output_format=tfjs_graph_model", "model.h5", "out"]
case("h5-graph-lambda-writes-marker", "keras_h5", H5_GRAPH, says="model.h5", bounded=False)(lambda d, b, root: _copy(b["h5_lambda"], d, "model.h5"))
case("h5-graph-external-link", "keras_h5", H5_GRAPH, says="external link", bounded=False)(_h5(_external_link))
case("h5-graph-deep-config", "keras_h5", H5_GRAPH, says="levels deep", bounded=False)(_h5(lambda d, f: _set_config(f, _deep_json())))
case("h5-graph-size-bomb", "keras_h5", H5_GRAPH, says="declares shape", bounded=False)(_h5(lambda d, f: _bomb_config(f)))


@case("h5-output-is-a-file", "keras_h5", H5, says="already exists as a file")
def _(d, b, root):
    _copy(b["h5"], d)
    _write(os.path.join(d, "out"), "the user's file")


@case("h5-output-parent-is-a-file", "keras_h5", ["--input_format=keras", "model.h5", "afile/out"], says="afile")
def _(d, b, root):
    _copy(b["h5"], d)
    _write(os.path.join(d, "afile"), "a file")


# .keras archives
KERAS = ["--input_format=keras_keras", "model.keras", "out"]


@case("keras-control", "keras_archive", KERAS, rc=0, controls=True)
def _(d, b, root):
    _copy(b["keras"], d)


@case("keras-path-escaping-member", "keras_archive", KERAS, rc=0, controls=True)
def _(d, b, root):
    """A member named ../escaped.txt: we never unpack, so nothing lands outside (the corpus root is checked)."""
    _rezip(b["keras"], os.path.join(d, "model.keras"), {"../escaped.txt": b"escaped", "/abs_escaped.txt": b"escaped"})


for _id, _members, _says in [
    ("keras-no-config", {"config.json": None}, "without config.json"),
    ("keras-config-not-json", {"config.json": b"{nope"}, "not valid JSON"),
    ("keras-config-deep", {"config.json": _deep_json().encode()}, "levels deep"),
    ("keras-config-list", {"config.json": b"[]"}, "not a Keras model config"),
    ("keras-no-weights", {"model.weights.h5": None}, "without model.weights.h5"),
    ("keras-weights-garbage", {"model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\x01" * 4000}, "cannot be read as HDF5"),
    ("keras-metadata-deep", {"metadata.json": _deep_json().encode()}, "levels deep"),
]:
    case(_id, "keras_archive", KERAS, says=_says)(lambda d, b, root, m=_members: _rezip(b["keras"], os.path.join(d, "model.keras"), m))

for _id, _data in [("keras-empty", b""), ("keras-garbage", b"PK\x03\x04" + b"\x00" * 300)]:
    case(_id, "keras_archive", KERAS, says="neither an HDF5 nor a .keras")(lambda d, b, root, data=_data: _write(os.path.join(d, "model.keras"), data))


@case("keras-truncated", "keras_archive", KERAS, says="model.keras")
def _(d, b, root):
    _truncate(_copy(b["keras"], d), 0.7)


@case("keras-config-bomb", "keras_archive", KERAS, says="config.json")
def _(d, b, root):
    _zip_bomb_member(b["keras"], os.path.join(d, "model.keras"), "config.json", b" ", 1 << 30)


@case("keras-weights-bomb", "keras_archive", KERAS, says="model.weights.h5")
def _(d, b, root):
    _zip_bomb_member(b["keras"], os.path.join(d, "model.keras"), "model.weights.h5", b"\x00", 3 << 29)


@case("keras-weights-compressed", "keras_archive", KERAS, rc=0, controls=True)
def _(d, b, root):
    with zipfile.ZipFile(b["keras"]) as src:
        weights = src.read("model.weights.h5")
    _rezip(b["keras"], os.path.join(d, "model.keras"), {"model.weights.h5": weights}, {"model.weights.h5": zipfile.ZIP_DEFLATED})


@case("keras-lambda-writes-marker", "keras_archive", KERAS, says="Lambda")
def _(d, b, root):
    _copy(b["keras_lambda"], d, "model.keras")


for _id, _edit, _says in [
    ("keras-weights-external-link", lambda d: _keras_replace_var(lambda g, n: (_secret(d), g.__setitem__(n, h5py.ExternalLink(os.path.join(d, "secret.h5"), "/kernel")))), "external link"),
    ("keras-weights-string", lambda d: _keras_replace_var(lambda g, n: g.create_dataset(n, data=np.array([b"x"]))), "dtype"),
    ("keras-weights-wrong-shape", lambda d: _keras_replace_var(lambda g, n: g.create_dataset(n, data=np.zeros((7, 7), np.float32))), "do not match"),
    ("keras-weights-group-cycle", lambda d: _group_cycle, "nest deeper"),
    ("keras-weights-bomb-dataset", lambda d: _keras_replace_var(lambda g, n: g.create_dataset(n, (100000, 100000), np.float32)), "declares shape"),
]:
    case(_id, "keras_archive", KERAS, says=_says)(lambda d, b, root, e=_edit: _keras_weights_edit(b["keras"], os.path.join(d, "model.keras"), d, e(d)))


KERAS_GRAPH = ["--input_format=keras_keras", "--output_format=tfjs_graph_model", "model.keras", "out"]
case("keras-graph-control", "keras_archive", KERAS_GRAPH, rc=0, controls=True, bounded=False)(lambda d, b, root: _copy(b["keras_functional"], d, "model.keras"))
case("keras-graph-lambda-writes-marker", "keras_archive", KERAS_GRAPH, says="model.keras", bounded=False)(lambda d, b, root: _copy(b["keras_lambda"], d, "model.keras"))
case("keras-graph-config-bomb", "keras_archive", KERAS_GRAPH, says="config.json", bounded=False)(
    lambda d, b, root: _zip_bomb_member(b["keras"], os.path.join(d, "model.keras"), "config.json", b" ", 1 << 30)
)


@case("keras-output-is-input", "keras_archive", ["--input_format=keras_keras", "model.keras", "model.keras"], says="is the input")
def _(d, b, root):
    _copy(b["keras"], d)


# tfjs layers models
LAYERS = ["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", "in/model.json", "out"]


def _layers(edit: Callable[[str], None]) -> Builder:
    def build(d, b, root):
        _copy(b["layers"], d, "in")
        edit(os.path.join(d, "in"))

    return build


@case("layers-control", "tfjs_layers", LAYERS, rc=0, controls=True)
def _(d, b, root):
    _copy(b["layers"], d, "in")


for _id, _edit, _says in [
    ("layers-not-json", lambda m: _write(os.path.join(m, "model.json"), "{oops"), "is not a JSON file"),
    ("layers-deep-json", lambda m: _write(os.path.join(m, "model.json"), '{"modelTopology": ' + _deep_json() + "}"), "levels deep"),
    ("layers-no-topology", lambda m: _write(os.path.join(m, "model.json"), '{"weightsManifest": []}'), "no modelTopology"),
    ("layers-no-manifest", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: j.pop("weightsManifest")), "no weightsManifest"),
    ("layers-shard-escape", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: j["weightsManifest"][0].__setitem__("paths", ["../../secret.bin"])), "outside the model directory"),
    ("layers-absolute-shard", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: j["weightsManifest"][0].__setitem__("paths", ["/etc/passwd"])), "outside the model directory"),
    ("layers-missing-shard", lambda m: [os.remove(os.path.join(m, n)) for n in os.listdir(m) if n.endswith(".bin")], "missing"),
    ("layers-truncated-shard", lambda m: [_truncate(os.path.join(m, n)) for n in os.listdir(m) if n.endswith(".bin")], "bytes"),
    ("layers-huge-shape", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: _first_weight(j).__setitem__("shape", [100000, 100000])), "bytes"),
    ("layers-negative-shape", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: _first_weight(j).__setitem__("shape", [-1, 32])), "shape"),
    ("layers-bad-dtype", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: _first_weight(j).__setitem__("dtype", "float128")), "dtype"),
    ("layers-manifest-not-list", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: j.__setitem__("weightsManifest", {"a": 1})), "weightsManifest"),
    ("layers-graph-model-input", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: j.__setitem__("format", "graph-model")), ""),
    ("layers-config-layer-as-list", lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: _layer_configs(j).__setitem__(1, [_layer_configs(j)[1]])),
     "config.layers[1] in the model config must be an object"),
]:
    case(_id, "tfjs_layers", LAYERS, says=_says)(_layers(_edit))

for _id, _argv, _says in [
    ("layers-output-is-input-dir", ["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", "in/model.json", "in"], "is the input"),
    ("layers-output-is-model-json", ["--input_format=tfjs_layers_model", "--output_format=keras", "in/model.json", "in/model.json"], "the input"),
    ("layers-output-inside-input", ["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", "in", "in/sub/out"], "lies inside"),
    ("layers-output-via-symlink", ["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", "in/model.json", "link"], "is the input"),
    ("layers-output-via-dotdot", ["--input_format=tfjs_layers_model", "--output_format=tfjs_layers_model", "in/model.json", "in/../in"], "is the input"),
]:
    case(_id, "tfjs_layers", _argv, says=_says)(_layers(lambda m: os.symlink("in", os.path.join(os.path.dirname(m), "link"))))
case("layers-detected-graph-model", "tfjs_layers", ["in", "out"], says="graph model")(
    _layers(lambda m: _manifest_edit(os.path.join(m, "model.json"), lambda j: j.__setitem__("format", "graph-model")))
)

# flags, on the valid layers model
FLAG_INPUT = ["in/model.json", "out"]
for _id, _flags, _rc, _says in [
    ("flag-shard-size-zero", ["--weight_shard_size_bytes=0"], 1, "shard"),
    ("flag-shard-size-negative", ["--weight_shard_size_bytes=-5"], 1, "shard"),
    ("flag-shard-size-not-int", ["--weight_shard_size_bytes=lots"], 2, "invalid int"),
    ("flag-quantization-bytes-3", ["--quantization_bytes=3"], 2, "invalid choice"),
    ("flag-quantization-bytes-and-uint8", ["--quantization_bytes=1", "--quantize_uint8"], 1, "cannot be combined"),
    ("flag-two-dtypes-one-weight", ["--quantize_uint8=*", "--quantize_float16=*"], 1, ""),
    ("flag-metadata-missing-file", ["--metadata=m:nope.json"], 1, "does not exist"),
    ("flag-metadata-deep", ["--metadata=m:deep.json"], 1, "levels deep"),
    ("flag-metadata-not-json", ["--metadata=m:bad.json"], 1, "not valid JSON"),
    ("flag-metadata-no-colon", ["--metadata=justapath"], 1, "name:path"),
    ("flag-metadata-twice", ["--metadata=m:deep.json,m:bad.json"], 1, "twice"),
    ("flag-unknown", ["--no_such_flag"], 2, "unrecognized"),
    ("flag-bad-boolean", ["--control_flow_v2=maybe"], 2, "true or false"),
    ("flag-unknown-input-format", ["--input_format=onnx"], 2, "invalid choice"),
    ("flag-unsupported-pair", ["--input_format=keras", "--output_format=keras"], 1, "not supported"),
    ("flag-wrong-input-format", ["--input_format=tf_frozen_model"], 1, ""),
]:
    case(_id, "flags", LAYERS[:2] + _flags + FLAG_INPUT, rc=_rc, says=_says)(
        lambda d, b, root: (_copy(b["layers"], d, "in"), _write(os.path.join(d, "deep.json"), _deep_json()), _write(os.path.join(d, "bad.json"), "{x"))
    )


@case("flag-metadata-is-output", "flags", ["--input_format=tfjs_layers_model", "--output_format=keras", "--metadata=m:meta.json", "in/model.json", "meta.json"], says="is the input")
def _(d, b, root):
    _copy(b["layers"], d, "in")
    _write(os.path.join(d, "meta.json"), '{"a": 1}')


for _id, _argv, _says in [("flag-no-output-path", ["in/model.json"], "output path"), ("flag-input-missing", ["nothing_here.h5", "out"], "does not exist"), ("flag-no-arguments", [], "input path")]:
    case(_id, "flags", _argv, says=_says)(lambda d, b, root: _copy(b["layers"], d, "in"))


# pb2json
PB2JSON = dict(tool="pb2json", group="pb2json")


def _old(edit: Callable[[str], None]) -> Builder:
    def build(d, b, root):
        _copy(b["pb2json"], d, "old")
        edit(os.path.join(d, "old"))

    return build


case("pb2json-control", argv=["old", "out"], rc=0, controls=True, **PB2JSON)(_old(lambda m: None))
for _id, _edit, _says in [
    ("pb2json-garbage-graph", lambda m: _write(os.path.join(m, "tensorflowjs_model.pb"), b"\xff\xff\xff garbage"), "not a binary GraphDef"),
    ("pb2json-empty-graph", lambda m: _write(os.path.join(m, "tensorflowjs_model.pb"), b""), "no graph nodes"),
    ("pb2json-deep-manifest", lambda m: _write(os.path.join(m, "weights_manifest.json"), _deep_json()), "levels deep"),
    ("pb2json-manifest-not-json", lambda m: _write(os.path.join(m, "weights_manifest.json"), "[{"), "not a JSON file"),
    ("pb2json-shard-escape", lambda m: _write(os.path.join(m, "weights_manifest.json"), json.dumps([{"paths": ["../../x.bin"], "weights": []}])), "outside"),
    ("pb2json-missing-shard", lambda m: [os.remove(os.path.join(m, n)) for n in os.listdir(m) if n.endswith(".bin")][:1], "missing"),
]:
    case(_id, argv=["old", "out"], says=_says, **PB2JSON)(_old(_edit))
case("pb2json-output-is-input", argv=["old", "old"], says="is the input", **PB2JSON)(_old(lambda m: None))
case("pb2json-output-inside-input", argv=["old", "old/new"], says="lies inside", **PB2JSON)(_old(lambda m: None))
case("pb2json-missing-argument", argv=["old"], rc=2, says="required", **PB2JSON)(_old(lambda m: None))
case("pb2json-input-not-a-dir", argv=["old/weights_manifest.json", "out"], says="not a directory", **PB2JSON)(_old(lambda m: None))


# TensorFlow formats (these may import TensorFlow: no memory limit, which TensorFlow's address space exceeds)
TF = dict(bounded=False)
SM = ["--input_format=tf_saved_model", "sm", "out"]


def _sm(edit: Callable[[str], None], base: str = "sm") -> Builder:
    def build(d, b, root):
        _copy(b[base], d, "sm")
        edit(os.path.join(d, "sm"))

    return build


def _data_file(m: str) -> str:
    return [os.path.join(m, "variables", n) for n in os.listdir(os.path.join(m, "variables")) if ".data-" in n][0]


case("sm-control", "tf_saved_model", SM, rc=0, controls=True, **TF)(_sm(lambda m: None))
for _id, _argv, _edit, _says in [
    ("sm-garbage-pb", SM, lambda m: _write(os.path.join(m, "saved_model.pb"), b"\x0a\xff\xff\xff\x0f garbage"), "saved_model.pb"),
    ("sm-empty-pb", SM, lambda m: _write(os.path.join(m, "saved_model.pb"), b""), ""),
    ("sm-truncated-pb", SM, lambda m: _truncate(os.path.join(m, "saved_model.pb")), ""),
    ("sm-no-variables", SM, lambda m: shutil.rmtree(os.path.join(m, "variables")), ""),
    ("sm-truncated-variables", SM, lambda m: _truncate(_data_file(m)), ""),
    ("sm-garbage-variables-index", SM, lambda m: _write(os.path.join(m, "variables", "variables.index"), b"\x00" * 64), ""),
    ("sm-bad-signature", ["--signature_name=nope"] + SM, lambda m: None, "nope"),
    ("sm-bad-tags", ["--saved_model_tags=nope"] + SM, lambda m: None, "nope"),
    ("sm-output-is-input", ["--input_format=tf_saved_model", "sm", "sm"], lambda m: None, "is the input"),
    ("sm-output-inside-input", ["--input_format=tf_saved_model", "sm", "sm/variables"], lambda m: None, "lies inside"),
    ("sm-output-contains-input", ["--input_format=tf_saved_model", "sm", "."], lambda m: None, "contains the input"),
    ("sm-empty-dir", SM, lambda m: [shutil.rmtree(os.path.join(m, n)) if os.path.isdir(os.path.join(m, n)) else os.remove(os.path.join(m, n)) for n in os.listdir(m)], ""),
]:
    case(_id, "tf_saved_model", _argv, says=_says, **TF)(_sm(_edit))

KSM = ["--input_format=keras_saved_model", "sm", "out"]
case("ksm-control", "keras_saved_model", KSM, rc=0, controls=True, **TF)(_sm(lambda m: None, "ksm"))
for _id, _argv, _edit, _says in [
    ("ksm-garbage-pb", KSM, lambda m: _write(os.path.join(m, "saved_model.pb"), b"\x0a\xff\xff\xff\x0f garbage"), ""),
    ("ksm-truncated-pb", KSM, lambda m: _truncate(os.path.join(m, "saved_model.pb")), ""),
    ("ksm-no-variables", KSM, lambda m: shutil.rmtree(os.path.join(m, "variables")), ""),
    ("ksm-garbage-keras-metadata", KSM, lambda m: _write(os.path.join(m, "keras_metadata.pb"), b"\xff" * 100), ""),
    ("ksm-output-inside-input", ["--input_format=keras_saved_model", "sm", "sm/assets/out"], lambda m: None, "lies inside"),
]:
    case(_id, "keras_saved_model", _argv, says=_says, **TF)(_sm(_edit, "ksm"))

FROZEN = ["--input_format=tf_frozen_model", "--output_node_names={out}", "model.pb", "out"]


def _frozen(edit: Callable[[str], None]) -> Builder:
    def build(d, b, root):
        edit(_copy(b["frozen"], d, "model.pb"))

    return build


case("frozen-control", "tf_frozen_model", FROZEN, rc=0, controls=True, **TF)(_frozen(lambda p: None))
for _id, _argv, _edit, _says in [
    ("frozen-garbage", FROZEN, lambda p: _write(p, b"\x0a\xff\xff\xff\x0f garbage"), "model.pb"),
    ("frozen-truncated", FROZEN, lambda p: _truncate(p), "model.pb"),
    ("frozen-empty", FROZEN, lambda p: _write(p, b""), "model.pb"),
    ("frozen-unknown-output-node", ["--input_format=tf_frozen_model", "--output_node_names=nope", "model.pb", "out"], lambda p: None, "nope"),
    ("frozen-output-is-input", ["--input_format=tf_frozen_model", "--output_node_names={out}", "model.pb", "model.pb"], lambda p: None, "is the input"),
]:
    case(_id, "tf_frozen_model", _argv, says=_says, **TF)(_frozen(_edit))

HUB = ["--input_format=tf_hub", "--signature_name=serving_default", "hub", "out"]
case("hub-control", "tf_hub", HUB, rc=0, controls=True, **TF)(lambda d, b, root: _copy(b["hub"], d, "hub"))
for _id, _argv, _edit, _says in [
    ("hub-empty-dir", HUB, lambda m: [shutil.rmtree(os.path.join(m, n)) if os.path.isdir(os.path.join(m, n)) else os.remove(os.path.join(m, n)) for n in os.listdir(m)], ""),
    ("hub-garbage-module", HUB, lambda m: (_write(os.path.join(m, "tfhub_module.pb"), b"\xff" * 50), _write(os.path.join(m, "saved_model.pb"), b"\xff" * 50)), ""),
    ("hub-output-is-input", ["--input_format=tf_hub", "hub", "hub"], lambda m: None, "is the input"),
]:
    case(_id, "tf_hub", _argv, says=_says, **TF)(lambda d, b, root, e=_edit: (_copy(b["hub"], d, "hub"), e(os.path.join(d, "hub"))))
case("hub-url-not-cached", "tf_hub", ["--input_format=tf_hub", "https://tfhub.dev/google/nothing/1", "out"], env={"TFHUB_CACHE_DIR": "cache"}, **TF)(lambda d, b, root: os.mkdir(os.path.join(d, "cache")))


def build(root: str) -> List[Case]:
    """Builds every case under root; returns them with {out} in argv filled in."""
    bases = build_bases(root)
    for c in CASES:
        case_dir = os.path.join(root, c.id)
        os.makedirs(case_dir)
        BUILDERS[c.id](case_dir, bases, root)
        c.argv = [a.replace("{out}", bases["frozen_output"]) for a in c.argv]
    return CASES


if __name__ == "__main__":
    for built in build(sys.argv[1]):
        print(built.group, built.id)
