"""Regenerates graph_def_schema.binpb: TensorFlow's GraphDef schema, for reading without TensorFlow.

The file is a serialized FileDescriptorSet of tensorflow/core/framework/graph.proto and every
file it imports, taken from the TensorFlow installed here, so pb2json decodes GraphDefs with
exactly TensorFlow's field numbers and names while needing only the protobuf runtime.

    bazel run //tools/pb2json:update_schema
"""

import os
import sys
from typing import List

SCHEMA_FILE = "graph_def_schema.binpb"


def graph_def_descriptor_set() -> bytes:
    """TensorFlow's graph.proto and its imports, dependencies first, as FileDescriptorSet bytes."""
    from google.protobuf import descriptor_pb2
    from tensorflow.core.framework import graph_pb2

    ordered: List = []

    def visit(file_descriptor) -> None:
        for dependency in file_descriptor.dependencies:
            visit(dependency)
        if file_descriptor not in ordered:
            ordered.append(file_descriptor)

    visit(graph_pb2.DESCRIPTOR)
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for file_descriptor in ordered:
        proto = descriptor_set.file.add()
        file_descriptor.CopyToProto(proto)
        proto.ClearField("source_code_info")
    return descriptor_set.SerializeToString(deterministic=True)


def main() -> None:
    here = os.path.join(os.environ.get("BUILD_WORKSPACE_DIRECTORY", ""), "tools", "pb2json") if "BUILD_WORKSPACE_DIRECTORY" in os.environ else os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, SCHEMA_FILE)
    with open(path, "wb") as f:
        f.write(graph_def_descriptor_set())
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
