"""A Keras model read from a file: its config, its weights (streamed) and who wrote it."""

import functools
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

    @functools.cached_property
    def _translation(self) -> layers_config.Translation:
        try:
            return layers_config.translate_model(self.model_config, keras3=self.keras_version.split(".")[0] not in ("1", "2"))
        except ConversionError as e:
            raise ConversionError(f"{self.path}: {e}") from None

    def topology(self) -> Dict:
        """modelTopology of the layers model.json, its config in the dialect TF.js reads."""
        topology = {"keras_version": self.keras_version, "backend": self.backend, "model_config": self._translation.model_config}
        if self.training_config is not None:
            topology["training_config"] = self.training_config
        return topology

    def layers_weights(self) -> List[Weight]:
        """The weights as the translated config's layers hold them (rewritten layers' transformed)."""
        try:
            return self._translation.weights(self.weights)
        except ConversionError as e:
            raise ConversionError(f"{self.path}: {e}") from None


def hard_linked(group, name: str, where: str):
    """`group[name]`, reached through hard links only (None if absent): a soft or external link
    could make the conversion read another object or another file on the machine."""
    obj = group
    for part in name.strip("/").split("/"):
        if not isinstance(obj, h5py.Group):
            return None
        link = obj.get(part, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            kind = "an external" if isinstance(link, h5py.ExternalLink) else "a soft"
            raise ConversionError(f"{where}: {obj.name.rstrip('/')}/{part} is {kind} link; an HDF5 weight must be a dataset stored in the file itself")
        obj = obj[part]
    return obj


# A compressed dataset may inflate this much beyond its stored bytes (real weights hardly compress).
_MAX_INFLATION = 100


def _check_dataset(name: str, dataset, where: str) -> None:
    """A plain numeric dataset whose declared bytes are really in the file, before anything is read."""
    if not isinstance(dataset, h5py.Dataset):
        raise ConversionError(f"{where}: weight {name!r} is not an HDF5 dataset; the file is damaged")
    if dataset.external or dataset.is_virtual:
        kind = "external raw storage" if dataset.external else "a virtual dataset"
        raise ConversionError(f"{where}: weight {name!r} is {kind}; an HDF5 weight must be a dataset stored in the file itself")
    if dataset.dtype.kind not in "fiub":
        raise ConversionError(f"{where}: weight {name!r} has dtype {dataset.dtype}; Keras weights are numbers")
    declared, stored = dataset.size * dataset.dtype.itemsize, dataset.id.get_storage_size()
    filtered = dataset.id.get_create_plist().get_nfilters() > 0
    file_size = dataset.file.id.get_filesize()
    offset = dataset.id.get_offset()
    if (stored < declared and not filtered) or declared > max(1 << 20, _MAX_INFLATION * stored) or stored > file_size or (offset is not None and offset + stored > file_size):
        raise ConversionError(f"{where}: weight {name!r} declares shape {list(dataset.shape)} ({declared} bytes) but the file stores {stored} bytes for it; the file is damaged or hostile")


def dataset_weight(name: str, dataset, where: str) -> Weight:
    """A Weight that reads an HDF5 dataset only when its turn comes to be written."""
    _check_dataset(name, dataset, where)

    def read() -> np.ndarray:
        try:
            return dataset[()]
        except (OSError, RuntimeError, ValueError) as e:
            raise ConversionError(f"{where}: weight {name!r} cannot be read ({e}); the file is damaged") from None

    dtype = dtypes.manifest_dtype_of(np.empty(0, dataset.dtype), name)
    return Weight(name, read, dtype, tuple(int(d) for d in dataset.shape))
