"""Every parser of untrusted bytes, fuzzed from real models: only ConversionError may come out.

Each test mutates the seed files of one format (bytes, JSON structure or protocol-buffer
fields, see fuzzing.py) and runs the converter's own entry point on the result, for
TFJS_FUZZ_SECONDS (a few seconds in the test suite; the README gives the long run). Inputs
that once crashed a parser are kept below as regression cases.
"""

import io
import json
import os
import shutil
import struct
import sys
import tempfile
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import strategies as st

import fuzzing
import seeds as seeds_lib
from fuzzing import fuzz, mutated_bytes, mutated_json, mutated_proto
from tensorflowjs import quantization, read_weights, tf_protos
from tensorflowjs.options import ConversionOptions
from tensorflowjs.errors import ConversionError

warnings.simplefilter("ignore")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return seeds_lib.build(str(tmp_path_factory.mktemp("seeds")))


@pytest.fixture
def scratch():
    """A fresh directory per example: run(files) writes them there and cleans up after."""
    directory = tempfile.mkdtemp(prefix="tfjs-fuzz-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _in_fresh_dir(scratch, files, action):
    work = tempfile.mkdtemp(dir=scratch)
    try:
        seeds_lib.write_files(os.path.join(work, "in"), files)
        return action(os.path.join(work, "in"), os.path.join(work, "out"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- model.json, its manifest and shards (layers -> layers: no TensorFlow) -------------------


def _convert_layers(files, scratch, options=None):
    from tensorflowjs.converters.tfjs_layers_model import convert_layers_to_layers

    options = options or ConversionOptions(quantization_dtype_map={"uint8": "*/kernel"}, weight_shard_size_bytes=300)
    _in_fresh_dir(scratch, files, lambda src, out: convert_layers_to_layers(src, out, options))


def _layers_model_inputs(seeds):
    """A layers model directory with model.json mutated as JSON or as bytes, or a shard mutated."""
    models = seeds.layers_models

    @st.composite
    def draw(draw):
        files = dict(draw(st.sampled_from(models)))
        kind = draw(st.sampled_from(["json", "json", "bytes", "shard"]))
        if kind == "json":
            files["model.json"] = json.dumps(draw(mutated_json([json.loads(m["model.json"]) for m in models]))).encode()
        elif kind == "bytes":
            files["model.json"] = draw(mutated_bytes([m["model.json"] for m in models], max_mutations=3))
        else:
            shard = draw(st.sampled_from(sorted(k for k in files if k.endswith(".bin"))))
            files[shard] = draw(mutated_bytes([files[shard]]))
        return files

    return draw()


def test_model_json_manifest_and_shards(seeds, scratch):
    fuzz(_layers_model_inputs(seeds), lambda files: _convert_layers(files, scratch), name="model_json")


# --- quantization metadata -------------------------------------------------------------------

_quant_values = st.one_of(st.floats(), st.integers(-(2**70), 2**70), st.none(), st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2))


@st.composite
def _quantized_manifests(draw):
    """A one-weight manifest with arbitrary quantization metadata, and its buffer."""
    shape = draw(st.lists(st.integers(0, 6), max_size=3))
    quant = draw(st.dictionaries(st.sampled_from(["dtype", "min", "scale", "original_dtype"]),
                                 st.one_of(st.sampled_from(["uint8", "uint16", "float16", "float32", "int32"]), _quant_values), max_size=4))
    entry = {"name": "w", "shape": shape, "dtype": draw(st.sampled_from(["float32", "int32", "float32"])), "quantization": quant}
    size = int(np.prod(shape)) * draw(st.sampled_from([1, 2, 4]))
    return [{"paths": ["w.bin"], "weights": [entry]}], draw(st.binary(min_size=size, max_size=size))


def _decode(manifest_and_buffer):
    manifest, buffer = manifest_and_buffer
    for weight in read_weights.decode_weights(manifest, [buffer], flatten=True):
        np.asarray(weight["data"]).sum()


@st.composite
def _dequantize_arguments(draw):
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.float16, np.float32, np.int8, np.bool_]))
    data = np.frombuffer(draw(st.binary(max_size=64)), np.uint8)
    data = data[: len(data) // np.dtype(dtype).itemsize * np.dtype(dtype).itemsize].view(dtype)
    metadata = draw(st.one_of(st.none(), st.dictionaries(st.sampled_from(["min", "scale", "dtype"]), _quant_values, max_size=3)))
    return data[:: draw(st.sampled_from([1, 2]))], metadata


def test_quantization_metadata(seeds):
    fuzz(_quantized_manifests(), _decode, name="quantization_manifest")
    fuzz(_dequantize_arguments(), lambda args: quantization.dequantize_weights(*args), name="dequantize_weights")


# --- Keras config translation, both directions -----------------------------------------------


def _to_tfjs(config):
    from tensorflowjs.keras import config_schema, layers_config

    for keras3 in (True, False):
        config_schema.check_model_config(config, "config.json")
        translated = layers_config.translate(config, keras3=keras3)
        # What we write must itself be a well-formed config of the dialect TF.js reads.
        config_schema.check_model_config(translated, "translated")


def _to_keras(config):
    from tensorflowjs.keras import config_schema, from_tfjs_config as rules

    config_schema.check_model_config(config, "model.json")
    rules.check_layer_classes(config, "model.json", lambda name: True)
    for rule_list in (rules.TFJS_TO_KERAS2_RULES, rules.KERAS3_LEGACY_RULES, rules.KERAS3_ONLY_RULES):
        rules.apply_rules(config, rule_list, "model.json")
    rules.check_keras3_semantics(config, "model.json")


def test_keras_config_translation_to_tfjs(seeds):
    fuzz(mutated_json(seeds.configs + seeds.tfjs_configs), _to_tfjs, name="layers_config")


def test_keras_config_translation_back_to_keras(seeds):
    fuzz(mutated_json(seeds.tfjs_configs + seeds.configs), _to_keras, name="from_tfjs_config")


# --- .keras and .h5 files (keras -> tfjs_layers_model: no TensorFlow) ------------------------


def _convert_keras_file(data, scratch, name):
    from tensorflowjs.converters.keras_h5_conversion import convert_keras_to_layers

    _in_fresh_dir(scratch, {name: data}, lambda src, out: convert_keras_to_layers(os.path.join(src, name), out, ConversionOptions()))


def _rezip(archive_bytes, replace):
    """The .keras archive with some members replaced, written the way Keras writes it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive_bytes)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, replace.get(info.filename, source.read(info)))
    return out.getvalue()


def _keras_archives(seeds):
    archives = list(seeds.keras_files.values())

    @st.composite
    def draw(draw):
        archive = draw(st.sampled_from(archives))
        kind = draw(st.sampled_from(["config", "config", "weights", "bytes"]))
        if kind == "bytes":
            return draw(mutated_bytes(archives))
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            config, weights = z.read("config.json"), z.read("model.weights.h5")
        if kind == "config":
            return _rezip(archive, {"config.json": json.dumps(draw(mutated_json([json.loads(config)]))).encode()})
        return _rezip(archive, {"model.weights.h5": draw(mutated_bytes([weights]))})

    return draw()


def test_keras_archive_reader(seeds, scratch):
    # Isolated like the .h5 target: model.weights.h5 is read by libhdf5 too.
    fuzz(_keras_archives(seeds), fuzzing.isolated(lambda data: _convert_keras_file(data, scratch, "model.keras")), name="keras_archive")


def _with_model_config(h5_bytes, config, scratch):
    import h5py

    path = os.path.join(tempfile.mkdtemp(dir=scratch), "m.h5")
    with open(path, "wb") as f:
        f.write(h5_bytes)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = json.dumps(config)
    with open(path, "rb") as f:
        return f.read()


def _h5_files(seeds, scratch):
    files = list(seeds.h5_files.values())

    @st.composite
    def draw(draw):
        h5 = draw(st.sampled_from(files))
        if draw(st.booleans()):
            return draw(mutated_bytes([h5]))
        import h5py

        with h5py.File(io.BytesIO(h5), "r") as f:
            config = json.loads(f.attrs["model_config"])
        return _with_model_config(h5, draw(mutated_json([config])), scratch)

    return draw()


def test_h5_reader(seeds, scratch):
    # Isolated: libhdf5 spends tens of seconds on some damaged files and cannot be interrupted.
    fuzz(_h5_files(seeds, scratch), fuzzing.isolated(lambda data: _convert_keras_file(data, scratch, "model.h5")), name="h5")


# --- the tensor bundle (variables/ of a SavedModel) ------------------------------------------


def _block(entries):
    """An SSTable block: every entry a restart point (no shared key prefix)."""
    body, restarts = b"", []
    for key, value in entries:
        restarts.append(len(body))
        body += _varint(0) + _varint(len(key)) + _varint(len(value)) + key + value
    return body + b"".join(struct.pack("<I", r) for r in restarts or [0]) + struct.pack("<I", max(1, len(restarts)))


def _varint(n):
    out = b""
    while True:
        out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return out


def table_bytes(entries):
    """An SSTable (LevelDB table format) holding `entries`, with valid checksums: mutations of
    its contents then reach the bundle's entry parsing instead of stopping at a checksum."""
    from tensorflowjs.graph.tensor_bundle import _crc32c, _mask

    out = b""

    def put(block):
        nonlocal out
        handle = _varint(len(out)) + _varint(len(block))
        out += block + b"\x00" + struct.pack("<I", _mask(_crc32c(block + b"\x00")))
        return handle

    data_handle = put(_block(entries))
    meta_handle = put(_block([]))
    index_handle = put(_block([(entries[-1][0] if entries else b"", data_handle)]))
    footer = (meta_handle + index_handle).ljust(40, b"\x00") + struct.pack("<Q", 0xDB4775248B80FB57)
    return out + footer


def _bundle_files(seeds):
    from tensorflowjs.graph.tensor_bundle import _read_table

    index = seeds.saved_model["variables/variables.index"]
    data_name = next(k for k in seeds.saved_model if k.startswith("variables/variables.data"))
    data = seeds.saved_model[data_name]
    path = os.path.join(seeds.root, "saved_model", "variables", "variables.index")
    table = _read_table(path)
    entry_class = tf_protos.message_class("tensorflow.BundleEntryProto")
    header_class = tf_protos.message_class("tensorflow.BundleHeaderProto")

    @st.composite
    def draw(draw):
        kind = draw(st.sampled_from(["entry", "entry", "header", "keys", "index_bytes", "data_bytes"]))
        entries = list(table)
        new_index, new_data = index, data
        if kind == "entry":
            i = draw(st.integers(1, len(entries) - 1))
            entries[i] = (entries[i][0], draw(mutated_proto(entry_class, [entries[i][1]])))
            new_index = table_bytes(entries)
        elif kind == "header":
            entries[0] = (b"", draw(mutated_proto(header_class, [entries[0][1]])))
            new_index = table_bytes(entries)
        elif kind == "keys":
            keys = draw(st.lists(st.sampled_from([k for k, _ in entries] + [b"\x00slice", b"\xff\xfe", b"z"]), min_size=len(entries), max_size=len(entries)))
            new_index = table_bytes(sorted(set(zip(keys, [v for _, v in entries])), key=lambda kv: kv[0]))
        elif kind == "index_bytes":
            new_index = draw(mutated_bytes([index]))
        else:
            new_data = draw(mutated_bytes([data]))
        return {"variables.index": new_index, data_name.split("/")[-1]: new_data}

    return draw()


def _read_bundle(files, scratch):
    from tensorflowjs.graph.tensor_bundle import TensorBundle

    def read(src, out):
        bundle = TensorBundle(os.path.join(src, "variables"))
        for key in bundle.keys():
            bundle.dtype_name(key), bundle.shape(key), bundle.sliced(key)
            np.asarray(bundle.tensor(key)).tobytes()
        bundle.object_graph()

    _in_fresh_dir(scratch, files, read)


def test_tensor_bundle_reader(seeds, scratch):
    fuzz(_bundle_files(seeds), lambda files: _read_bundle(files, scratch), name="tensor_bundle")


# --- SavedModel (read and frozen without TensorFlow) and GraphDef ----------------------------


def _saved_models(seeds):
    saved_model_class = tf_protos.message_class("tensorflow.SavedModel")
    pb = seeds.saved_model["saved_model.pb"]

    @st.composite
    def draw(draw):
        files = dict(seeds.saved_model)
        files["saved_model.pb"] = draw(st.one_of(mutated_proto(saved_model_class, [pb], max_mutations=3), mutated_proto(saved_model_class, [pb], max_mutations=3),
                                                 mutated_bytes([pb], max_mutations=2)))
        return files

    return draw()


def _convert_saved_model(files, scratch):
    from tensorflowjs.converters.tf_graph_model import _convert_without_tensorflow
    from tensorflowjs.graph import saved_model

    def convert(src, out):
        choice = saved_model.choose_meta_graph(src, "serve", "serving_default")
        if not choice.tf1:
            _convert_without_tensorflow(src, out, ConversionOptions(), choice, "serving_default")

    _in_fresh_dir(scratch, files, convert)


def test_saved_model_reader_and_freezer(seeds, scratch):
    fuzz(_saved_models(seeds), lambda files: _convert_saved_model(files, scratch), name="saved_model")


def _convert_graph_def(data, scratch):
    """The CLI's frozen-graph handler: without TensorFlow first, TensorFlow's path when needed."""
    from tensorflowjs.converters.tf_graph_model import convert_frozen_model
    from tensorflowjs.graph import frozen_graph

    def convert(src, out):
        path = os.path.join(src, "model.pb")
        graph_def = frozen_graph.read_graph_def(path)
        names = [n.name for n in graph_def.node if n.op == "Identity"][-2:] or [graph_def.node[-1].name]
        convert_frozen_model(path, out, ConversionOptions(output_node_names=",".join(names)))

    _in_fresh_dir(scratch, {"model.pb": data}, convert)


def test_graph_def_reader(seeds, scratch):
    graph_def_class = tf_protos.message_class("tensorflow.GraphDef")
    inputs = st.one_of(mutated_proto(graph_def_class, [seeds.graph_def]), mutated_bytes([seeds.graph_def], max_mutations=2))
    fuzz(inputs, lambda data: _convert_graph_def(data, scratch), name="graph_def")


# --- pb2json (pre-1.0 TF.js graph models) ----------------------------------------------------


def _old_models(seeds):
    graph_def_class = tf_protos.message_class("tensorflow.GraphDef")
    old = seeds.old_model
    manifest = json.loads(old["weights_manifest.json"])

    @st.composite
    def draw(draw):
        files = dict(old)
        kind = draw(st.sampled_from(["graph", "graph_bytes", "manifest", "shard"]))
        if kind == "graph":
            files["tensorflowjs_model.pb"] = draw(mutated_proto(graph_def_class, [old["tensorflowjs_model.pb"]]))
        elif kind == "graph_bytes":
            files["tensorflowjs_model.pb"] = draw(mutated_bytes([old["tensorflowjs_model.pb"]], max_mutations=2))
        elif kind == "manifest":
            files["weights_manifest.json"] = json.dumps(draw(mutated_json([manifest]))).encode()
        else:
            shard = draw(st.sampled_from(sorted(k for k in files if k.endswith(".bin"))))
            files[shard] = draw(mutated_bytes([files[shard]]))
        return files

    return draw()


def test_pb2json(seeds, scratch):
    import pb2json

    fuzz(_old_models(seeds), lambda files: _in_fresh_dir(scratch, files, pb2json.migrate), name="pb2json")


# --- the harness ------------------------------------------------------------------------------


def _spin(_):
    while True:
        pass


def test_isolated_targets_are_bounded_and_report_their_crashes():
    # The child is killed at its CPU bound instead of being waited on; its crash comes back as the finding.
    with pytest.raises(fuzzing.Hang):
        fuzzing.isolated(_spin, cpu_seconds=1)(None)
    with pytest.raises(fuzzing.ChildFailure, match="TypeError"):
        fuzzing.isolated(lambda value: value + 1)("text")
    fuzzing.isolated(_refused_value)(None)


def _refused_value(_):
    raise ConversionError("refused")


# --- inputs that once crashed a parser --------------------------------------------------------


def _refused(action, *args, match=None):
    with pytest.raises(ConversionError, match=match):
        action(*args)


@pytest.mark.parametrize("entry", [
    {"name": "w", "shape": [], "dtype": "float32", "quantization": {"dtype": []}},  # was TypeError: unhashable
    {"name": "w", "shape": [], "dtype": ["float32"]},
    {"name": "w", "shape": [], "dtype": "float32", "quantization": {"dtype": "uint8", "min": 10**400, "scale": 1}},  # was OverflowError
])
def test_regression_manifest_entries(entry):
    _refused(read_weights.decode_weights, [{"paths": ["w.bin"], "weights": [entry]}], [b"\0" * 4])


@pytest.mark.parametrize("metadata", [{"min": None, "scale": 1.0}, {"min": "", "scale": 1.0}, {"min": 0, "scale": 10**400}, {"min": 0, "scale": True}, None])
def test_regression_dequantize_metadata(metadata):  # were TypeError / ValueError / OverflowError
    _refused(quantization.dequantize_weights, np.zeros(4, np.uint8), metadata, match="finite numbers")


def _graph_with_const(scratch, fill):
    graph_def = tf_protos.message_class("tensorflow.GraphDef")()
    x = graph_def.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = 1
    const = graph_def.node.add(name="c", op="Const")
    fill(const.attr["value"].tensor)
    const.attr["dtype"].type = const.attr["value"].tensor.dtype or 1  # TensorFlow checks the attr, not the tensor
    graph_def.node.add(name="out", op="Identity", input=["c"]).attr["T"].type = const.attr["dtype"].type
    return graph_def.SerializeToString()


def _tensor(dtype, shape, **values):
    def fill(tensor):
        tensor.dtype = dtype
        for size in shape:
            tensor.tensor_shape.dim.add().size = size
        for key, value in values.items():
            getattr(tensor, key).extend(value) if isinstance(value, list) else setattr(tensor, key, value)
    return fill


@pytest.mark.parametrize("fill, message", [
    (_tensor(0, [2]), "DT_INVALID"),  # was ValueError from tensors.to_ndarray
    (_tensor(1, [2**20, 2**20], float_val=[1.0]), "more than"),  # a few bytes asking for 4 TiB
    (_tensor(1, [4], tensor_content=b"\0" * 12), "holds 12 bytes instead of 16"),
    (_tensor(8, [1], scomplex_val=[1.0, 2.0, 3.0]), "odd number of values"),
])
def test_regression_graph_def_constants(scratch, fill, message):
    _refused(_convert_graph_def, _graph_with_const(scratch, fill), scratch, match=message)


def test_regression_half_constant_with_out_of_range_bits(scratch):
    # half_val is an int32 field of which TensorFlow uses 16 bits; was OverflowError in numpy.
    from tensorflowjs.graph import tensors

    tensor = tf_protos.message_class("tensorflow.TensorProto")()
    _tensor(19, [2], half_val=[0x3C00 + 0x10000, -1])(tensor)
    assert tensors.to_ndarray(tensor).view(np.uint16).tolist() == [0x3C00, 0xFFFF]


def test_regression_placeholder_of_invalid_dtype(seeds, scratch):
    graph_def = tf_protos.message_class("tensorflow.GraphDef").FromString(seeds.graph_def)
    next(n for n in graph_def.node if n.op == "Placeholder").attr["dtype"].type = 0  # was TypeError in tf.as_dtype
    _refused(_convert_graph_def, graph_def.SerializeToString(), scratch, match="invalid dtype or shape")


def test_regression_node_with_too_few_inputs(seeds, scratch):
    # An AddV2 reading one tensor: was IndexError in fuse_prelu, which reads inputs by position.
    graph_def = tf_protos.message_class("tensorflow.GraphDef").FromString(seeds.graph_def)
    node = next(n for n in graph_def.node if n.op == "AddV2")
    del node.input[1:]
    _refused(_convert_graph_def, graph_def.SerializeToString(), scratch, match="inputs where its op takes 2")


def test_regression_model_object_with_null_config():
    # A Functional object whose config is null where the schema walks no layer: was TypeError in layers_config.
    from tensorflowjs.errors import ConversionError
    from tensorflowjs.keras import layers_config

    with pytest.raises(ConversionError, match="not an object"):
        layers_config._model_io_layers({"class_name": "Functional", "config": None})


def _first_dense(config):
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Dense")


@pytest.mark.parametrize("translate", [_to_tfjs, _to_keras])
def test_regression_activation_objects(seeds, translate):
    # An activation given as an object (Keras 3's custom function form): was TypeError, unhashable dict.
    config = json.loads(json.dumps(seeds.configs[0]))
    _first_dense(config)["config"]["activation"] = {"class_name": "function", "config": "my_activation"}
    translate(config)


def test_regression_model_class_objects_anywhere_are_checked(seeds):
    # Translation applies model rules to any object named Functional, wherever it sits: was
    # TypeError on a config that is a number.
    config = json.loads(json.dumps(seeds.configs[0]))
    _first_dense(config)["config"]["units"] = {"class_name": "Functional", "config": 3}
    _refused(_to_tfjs, config, match=r"config.units.config in the model config must be an object")
    _first_dense(config)["config"]["units"] = [{"class_name": "Orthogonal", "config": None}, {"class_name": "Conv2D", "config": {"groups": "2"}}]
    _refused(_to_tfjs, config, match=r"config.units\[1\].config.groups in the model config must be an integer")


def _damage_member(archive: bytes, member: str) -> bytes:
    """The archive with one byte of a member's stored data flipped (its CRC then fails)."""
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        info = z.getinfo(member)
    name_length, extra_length = struct.unpack_from("<HH", archive, info.header_offset + 26)
    at = info.header_offset + 30 + name_length + extra_length
    return archive[:at] + bytes([archive[at] ^ 0xFF]) + archive[at + 1:]


def test_regression_wrapped_layer_as_a_list(seeds):
    # A Bidirectional's backward_layer given as a list: was AttributeError in the mirror check.
    config = json.loads(json.dumps(seeds.configs[0]))
    bidirectional = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Bidirectional")
    bidirectional["config"]["backward_layer"] = [bidirectional["config"]["layer"]]
    _refused(_to_tfjs, config, match=r"config.backward_layer in the model config must be an object")


def _flipped_bytes(data: bytes, count: int):
    """`count` copies of data, each with one byte inverted, spread evenly over it."""
    for at in range(7, len(data), max(1, len(data) // count)):
        yield data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


@pytest.mark.parametrize("name", ["k3.h5", "k2.h5", "k3.keras"])
def test_regression_sweep_of_damaged_keras_files(seeds, scratch, name):
    # h5py and zipfile raise OSError, RuntimeError ("wrong B-tree signature"), KeyError or
    # BadZipFile on damaged bytes, while opening or while weights are read; each was a traceback.
    data = {**seeds.h5_files, **seeds.keras_files}[name]
    for damaged in _flipped_bytes(data, 80):
        fuzzing.only_conversion_errors(lambda d: _convert_keras_file(d, scratch, "model" + os.path.splitext(name)[1]), damaged)


def test_regression_vlen_string_length_bomb(seeds, scratch):
    # A variable-length string attribute (the `name` of a vars group) stores its length beside a
    # global heap reference; its top byte set to 0xFF made libhdf5 allocate and zero 4 GB while
    # reading a 53 kB .keras (found by the byte-flip sweep). It must be refused within the cap.
    import re
    import resource

    archive = seeds.keras_files["k3.keras"]
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        info = z.getinfo("model.weights.h5")
    name_length, extra_length = struct.unpack_from("<HH", archive, info.header_offset + 26)
    start = info.header_offset + 30 + name_length + extra_length
    weights = archive[start:start + info.file_size]
    heap = weights.find(b"GCOL")
    references = [m.start() for m in re.finditer(rb"[\x01-\x40]\x00\x00\x00" + re.escape(struct.pack("<Q", heap)), weights) if m.start() > heap]
    assert heap > 0 and references, "the seed has no variable-length string in a global heap"
    damaged = bytearray(archive)
    for reference in references:
        damaged[start + reference + 3] = 0xFF
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _refused(_convert_keras_file, bytes(damaged), scratch, "model.keras")
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024 < 1 << 30


def _stalling_heap(h5: bytes) -> bytes:
    """The HDF5 bytes with the first object of each global heap made a free-space object of size 0."""
    data = bytearray(h5)
    at = data.find(b"GCOL\x01")
    assert at > 0, "the seed has no global heap"
    while at > 0:
        data[at + 16:at + 32] = bytes(16)  # index 0, no references, size 0
        at = data.find(b"GCOL\x01", at + 1)
    return bytes(data)


@pytest.mark.parametrize("name", ["k3.h5", "k2.h5", "k3.keras"])
def test_regression_global_heap_that_stalls_libhdf5(seeds, scratch, name):
    # A free-space object of size 0 in a global heap (where model_config and the layer names
    # live) made libhdf5 1.14 loop forever in one C call: one inserted byte did it to a 45 kB .h5
    # (the .h5 target's isolated round). Refused before libhdf5 reads the file, and said so in one line.
    suffix = os.path.splitext(name)[1]
    if suffix == ".h5":
        data = _stalling_heap(seeds.h5_files[name])
    else:
        with zipfile.ZipFile(io.BytesIO(seeds.keras_files[name])) as z:
            data = _rezip(seeds.keras_files[name], {"model.weights.h5": _stalling_heap(z.read("model.weights.h5"))})

    def convert(_):
        with pytest.raises(ConversionError, match=r"model\.(h5|keras)(: model\.weights\.h5)?: the HDF5 global heap at byte \d+ holds an object of size 0"):
            _convert_keras_file(data, scratch, "model" + suffix)

    fuzzing.isolated(convert, cpu_seconds=30)(None)  # without the check: a Hang, not a hung test


@pytest.mark.parametrize("member", ["metadata.json", "config.json"])
def test_regression_keras_archive_with_a_damaged_member(seeds, scratch, member):
    archive = _damage_member(seeds.keras_files["k3.keras"], member)  # was BadZipFile / OSError from zipfile
    _refused(_convert_keras_file, archive, scratch, "model.keras")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"] + sys.argv[1:]))
