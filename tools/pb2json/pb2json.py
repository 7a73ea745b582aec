"""Migrates a pre-1.0 TF.js graph model (tensorflowjs_model.pb) to model.json, without TensorFlow.

TF.js 0.x wrote a directory with `tensorflowjs_model.pb` (a binary GraphDef whose Const nodes
carry no data), `weights_manifest.json` and the weight shards. TF.js 1.x and later load
`model.json`: the GraphDef as proto3 JSON plus the same manifest. The GraphDef is decoded with
TensorFlow's own schema (tensorflowjs.tf_protos, shipped with the package) by the protobuf runtime.

    bazel run //tools/pb2json -- OLD_MODEL_DIR NEW_MODEL_DIR
"""

import argparse
import os
import shutil
import sys
from typing import Dict, List, Optional

from google.protobuf import json_format
from google.protobuf.message import DecodeError

from tensorflowjs import model_json, read_weights, tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.output import output_directory, refuse_overlap

PROG = "pb2json"
GRAPH_FILE = "tensorflowjs_model.pb"
MANIFEST_FILE = "weights_manifest.json"


def read_graph_def(path: str) -> Dict:
    """The GraphDef at `path` as the proto3 JSON dict TF.js reads as modelTopology."""
    if not os.path.isfile(path):
        raise ConversionError(f"{path} does not exist; give the directory of a pre-1.0 TF.js model (it holds {GRAPH_FILE} and {MANIFEST_FILE})")
    graph_def = tf_protos.message_class("tensorflow.GraphDef")()
    with open(path, "rb") as f:
        data = f.read()
    try:
        graph_def.ParseFromString(data)
    except DecodeError as e:
        raise ConversionError(f"{path} is not a binary GraphDef ({e}); give the {GRAPH_FILE} written by TF.js converter 0.x") from None
    if not graph_def.node:
        raise ConversionError(f"{path} holds no graph nodes; give the {GRAPH_FILE} written by TF.js converter 0.x")
    return json_format.MessageToDict(graph_def)


def read_manifest(model_dir: str) -> List[Dict]:
    path = os.path.join(model_dir, MANIFEST_FILE)
    manifest = model_json.read_json_file(path, "a pre-1.0 TF.js model keeps its weight list there")
    read_weights.check_manifest(manifest, path)
    return manifest


def migrate(old_dir: str, new_dir: str) -> None:
    """Writes new_dir/model.json and copies the shards; new_dir appears only on success."""
    if not os.path.isdir(old_dir):
        raise ConversionError(f"{old_dir} is not a directory; give the directory of a pre-1.0 TF.js model")
    refuse_overlap(new_dir, old_dir)
    topology = read_graph_def(os.path.join(old_dir, GRAPH_FILE))
    manifest = read_manifest(old_dir)
    # Indexing checks every shard exists and holds exactly the bytes the manifest describes.
    read_weights.index_weights(manifest, base_path=old_dir)
    shards = {read_weights.safe_shard_path(old_dir, relative) for group in manifest for relative in group["paths"]}
    producer = topology.get("versions", {}).get("producer")
    generated_by = f"TensorFlow GraphDef producer {producer} (migrated from {GRAPH_FILE})" if producer else None
    with output_directory(new_dir) as staging:
        for source in sorted(shards):
            target = os.path.join(staging, os.path.relpath(source, old_dir))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(source, target)
        model_json.write_model_json(staging, model_json.GRAPH_FORMAT, topology, manifest, generated_by)


class _OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: Optional[List[str]] = None) -> int:
    parser = _OneLineParser(prog=PROG, description="Migrate a pre-1.0 TF.js graph model (tensorflowjs_model.pb) to model.json.")
    parser.add_argument("old_model_dir", help=f"directory holding {GRAPH_FILE}, {MANIFEST_FILE} and the weight shards")
    parser.add_argument("new_model_dir", help="directory to write model.json and the shards into")
    args = parser.parse_args(argv)
    cwd = os.environ.get("BUILD_WORKING_DIRECTORY", "")
    try:
        migrate(os.path.join(cwd, args.old_model_dir), os.path.join(cwd, args.new_model_dir))
    except ConversionError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{PROG}: error: {e.strerror or e} ({e.filename})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
