"""Regenerates python/tensorflowjs/tf_op_defs.binpb: TensorFlow's op registry, for graphs read without TensorFlow.

A frozen GraphDef or a TF1 MetaGraph names its ops but not their signatures; freezing and
checking it needs each op's outputs (how many, which dtype) and default attributes. The file is
a serialized OpList of every op TensorFlow registers (`tf.raw_ops`), docs stripped, from the
TensorFlow installed here.

    bazel run //tools:update_op_defs
"""

import os

import regenerate

OP_DEFS_PATH = os.path.join("python", "tensorflowjs", "tf_op_defs.binpb")


def tf_op_list() -> bytes:
    """Every registered OpDef, sorted by name, without documentation, as OpList bytes."""
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.framework import op_def_registry

    op_list = op_def_pb2.OpList()
    for name in sorted(n for n in dir(tf.raw_ops) if not n.startswith("_")):
        op_def = op_def_registry.get(name)
        if op_def is None:
            continue
        kept = op_list.op.add()
        kept.CopyFrom(op_def)
        kept.ClearField("summary")
        kept.ClearField("description")
        for arg in [*kept.input_arg, *kept.output_arg, *kept.attr]:
            arg.ClearField("description")
    return op_list.SerializeToString(deterministic=True)


if __name__ == "__main__":
    regenerate.main_from_tensorflow(OP_DEFS_PATH, tf_op_list)
