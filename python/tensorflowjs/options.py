"""Everything a conversion can be asked to do, independent of how it was asked (CLI or API)."""

from dataclasses import dataclass, field
from typing import Dict, Optional, Tuple

from tensorflowjs.write_weights import DEFAULT_SHARD_SIZE_BYTES


@dataclass
class ConversionOptions:
    quantization_dtype_map: Dict = field(default_factory=dict)
    weight_shard_size_bytes: int = DEFAULT_SHARD_SIZE_BYTES
    split_weights_by_layer: bool = False
    metadata: Optional[Dict[str, str]] = None  # name -> JSON file path
    signature_name: Optional[str] = None
    saved_model_tags: str = "serve"
    strip_debug_ops: bool = False
    output_node_names: Optional[str] = None
    control_flow_v2: bool = False
    use_structured_outputs_names: bool = False
    skip_op_check: bool = False
    verify: bool = False  # run the result in TF.js and compare with the source (tensorflowjs.verify)
    verify_inputs: Optional[str] = None  # .npz of inputs by name, instead of generated ones
    verify_backends: Tuple[str, ...] = ("cpu", "wasm")
