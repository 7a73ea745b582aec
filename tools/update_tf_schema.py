"""Regenerates python/tensorflowjs/tf_schema.binpb: TensorFlow's protobuf schemas, for reading without TensorFlow.

The file is a serialized FileDescriptorSet of the TensorFlow .proto files the converter reads
(SavedModel, GraphDef, the checkpoint's tensor bundle and object graph) and every file they
import, taken from the TensorFlow installed here, so tensorflowjs.tf_protos decodes them with
exactly TensorFlow's field numbers and names while needing only the protobuf runtime.

    bazel run //tools:update_tf_schema
"""

import os
from typing import List

import regenerate

SCHEMA_PATH = os.path.join("python", "tensorflowjs", "tf_schema.binpb")


def tf_descriptor_set() -> bytes:
    """The schema files, dependencies first, as FileDescriptorSet bytes."""
    from google.protobuf import descriptor_pb2
    from tensorflow.core.protobuf import saved_model_pb2, tensor_bundle_pb2, trackable_object_graph_pb2

    ordered: List = []

    def visit(file_descriptor) -> None:
        for dependency in file_descriptor.dependencies:
            visit(dependency)
        if file_descriptor not in ordered:
            ordered.append(file_descriptor)

    for module in (saved_model_pb2, tensor_bundle_pb2, trackable_object_graph_pb2):
        visit(module.DESCRIPTOR)
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    for file_descriptor in ordered:
        proto = descriptor_set.file.add()
        file_descriptor.CopyToProto(proto)
        proto.ClearField("source_code_info")
    return descriptor_set.SerializeToString(deterministic=True)


if __name__ == "__main__":
    regenerate.main_from_tensorflow(SCHEMA_PATH, tf_descriptor_set)
