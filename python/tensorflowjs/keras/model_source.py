"""A Keras model read from a file: its config, its weights (streamed) and who wrote it."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional

import h5py
import numpy as np

from tensorflowjs import dtypes
from tensorflowjs.errors import ConversionError
from tensorflowjs.keras import layers_config
from tensorflowjs.write_weights import Weight


@dataclass
class KerasModelSource:
    path: str
    model_config: Dict
    weights: List[Weight]
    keras_version: str
    backend: str = "tensorflow"
    training_config: Optional[Dict] = field(default=None)

    @property
    def generated_by(self) -> str:
        return f"keras v{self.keras_version}"

    def topology(self) -> Dict:
        """modelTopology of the layers model.json, its config in the dialect TF.js reads."""
        try:
            model_config = layers_config.translate(self.model_config, keras3=self.keras_version.split(".")[0] not in ("1", "2"))
        except ConversionError as e:
            raise ConversionError(f"{self.path}: {e}") from None
        topology = {"keras_version": self.keras_version, "backend": self.backend, "model_config": model_config}
        if self.training_config is not None:
            topology["training_config"] = self.training_config
        return topology


def dataset_weight(name: str, dataset) -> Weight:
    """A Weight that reads an HDF5 dataset only when its turn comes to be written."""
    if not isinstance(dataset, h5py.Dataset):  # e.g. a committed datatype where a variable belongs
        raise ConversionError(f"{dataset.file.filename}: weight {name!r} is not an HDF5 dataset; the file is damaged")

    def read() -> np.ndarray:
        try:
            return dataset[()]
        except (OSError, RuntimeError, ValueError) as e:
            raise ConversionError(f"{dataset.file.filename}: weight {name!r} cannot be read ({e}); the file is damaged") from None

    dtype = dtypes.manifest_dtype_of(np.empty(0, dataset.dtype), name)
    return Weight(name, read, dtype, tuple(int(d) for d in dataset.shape))
