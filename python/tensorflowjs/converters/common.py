"""The public converter's shared constants: model.json keys, format names and option names.

Values are the ones model.json and the CLI use; where this project already names a value
(model_json, pairs), the constant is that name, so there is one source for each.
"""

from tensorflowjs import model_json

ARTIFACT_MODEL_JSON_FILE_NAME = model_json.MODEL_JSON
ASSETS_DIRECTORY_NAME = "assets"

# model.json keys.
ARTIFACT_MODEL_TOPOLOGY_KEY = "modelTopology"
ARTIFACT_MODEL_INITIALIZER = "modelInitializer"
ARTIFACT_WEIGHTS_MANIFEST_KEY = "weightsManifest"

FORMAT_KEY = "format"
TFJS_GRAPH_MODEL_FORMAT = model_json.GRAPH_FORMAT
TFJS_LAYERS_MODEL_FORMAT = model_json.LAYERS_FORMAT

GENERATED_BY_KEY = "generatedBy"
CONVERTED_BY_KEY = "convertedBy"

SIGNATURE_KEY = "signature"
INITIALIZER_SIGNATURE_KEY = "initializerSignature"
USER_DEFINED_METADATA_KEY = "userDefinedMetadata"
STRUCTURED_OUTPUTS_KEYS_KEY = "structuredOutputKeys"
RESOURCE_ID_KEY = "resourceId"

# --input_format / --output_format values.
KERAS_SAVED_MODEL = "keras_saved_model"
KERAS_MODEL = "keras"
KERAS_KERAS_MODEL = "keras_keras"
TF_SAVED_MODEL = "tf_saved_model"
TF_HUB_MODEL = "tf_hub"
TFJS_GRAPH_MODEL = "tfjs_graph_model"
TFJS_LAYERS_MODEL = "tfjs_layers_model"
TF_FROZEN_MODEL = "tf_frozen_model"

# Command-line argument names.
INPUT_PATH = "input_path"
OUTPUT_PATH = "output_path"
INPUT_FORMAT = "input_format"
OUTPUT_FORMAT = "output_format"
OUTPUT_NODE = "output_node_names"
SIGNATURE_NAME = "signature_name"
SAVED_MODEL_TAGS = "saved_model_tags"
QUANTIZATION_BYTES = "quantization_bytes"
QUANTIZATION_TYPE_FLOAT16 = "quantize_float16"
QUANTIZATION_TYPE_UINT8 = "quantize_uint8"
QUANTIZATION_TYPE_UINT16 = "quantize_uint16"
SPLIT_WEIGHTS_BY_LAYER = "split_weights_by_layer"
VERSION = "version"
SKIP_OP_CHECK = "skip_op_check"
STRIP_DEBUG_OPS = "strip_debug_ops"
USE_STRUCTURED_OUTPUTS_NAMES = "use_structured_outputs_names"
WEIGHT_SHARD_SIZE_BYTES = "weight_shard_size_bytes"
CONTROL_FLOW_V2 = "control_flow_v2"
EXPERIMENTS = "experiments"
METADATA = "metadata"


def get_converted_by() -> str:
    """model.json's convertedBy value: 'TensorFlow.js Converter v<version>'."""
    return model_json.CONVERTED_BY
