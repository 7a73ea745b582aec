"""Reading a TensorFlow checkpoint (the tensor-bundle format) without importing TensorFlow.

Freezing a SavedModel's variables into constants only needs the bytes of each variable, and
importing TensorFlow just to read them costs ~600 MB of memory and seconds of start-up. A bundle
is `<prefix>.index`, an SSTable (LevelDB's table format) mapping tensor names to
`tensorflow.BundleEntryProto`s, plus data shards `<prefix>.data-NNNNN-of-MMMMM` holding the raw
tensor bytes. Everything read from the files is bounds-checked before use, and no allocation is
sized by a number from the file without first checking it against the file's real size.
"""

from __future__ import annotations

import difflib
import os
import struct
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from tensorflowjs import extras, tf_protos
from tensorflowjs.errors import ConversionError
from tensorflowjs.graph.tensors import StoredTensor

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two BlockHandles padded to 40 bytes, then the 8-byte magic number
_BLOCK_TRAILER_SIZE = 5  # compression type byte + masked crc32c
_NO_COMPRESSION = 0
_TENSOR_BUNDLE_VERSION = 1  # the format version this reader understands (TensorFlow's kTensorBundleVersion)

# Dtypes numpy represents natively, stored as their little-endian bytes. TensorFlow's own reader
# also hands quantized tensors back as their plain integer type.
_NUMPY_DTYPES = {
    "DT_FLOAT": "<f4",
    "DT_DOUBLE": "<f8",
    "DT_HALF": "<f2",
    "DT_COMPLEX64": "<c8",
    "DT_COMPLEX128": "<c16",
    "DT_INT8": "i1",
    "DT_INT16": "<i2",
    "DT_INT32": "<i4",
    "DT_INT64": "<i8",
    "DT_UINT8": "u1",
    "DT_UINT16": "<u2",
    "DT_UINT32": "<u4",
    "DT_UINT64": "<u8",
    "DT_BOOL": "?",
    "DT_QINT8": "i1",
    "DT_QUINT8": "u1",
    "DT_QINT16": "<i2",
    "DT_QUINT16": "<u2",
    "DT_QINT32": "<i4",
}
# Dtypes numpy only has through the ml_dtypes package (installed with TensorFlow or JAX, not
# required by tensorflowjs): used when it is importable, refused clearly when not.
_ML_DTYPES = {
    "DT_BFLOAT16": "bfloat16",
    "DT_FLOAT8_E5M2": "float8_e5m2",
    "DT_FLOAT8_E4M3FN": "float8_e4m3fn",
    "DT_FLOAT8_E4M3FNUZ": "float8_e4m3fnuz",
    "DT_FLOAT8_E4M3B11FNUZ": "float8_e4m3b11fnuz",
    "DT_FLOAT8_E5M2FNUZ": "float8_e5m2fnuz",
}

# String tensors are re-checked against their entry's crc32c when at most this big: they are
# copied into Python objects anyway, but the pure-Python crc32c runs at only ~4 MB/s.
_STRING_CRC_LIMIT = 1 << 20


class _Corrupt(Exception):
    """Internal: what is wrong with a file, turned into a ConversionError naming it."""


# --- crc32c (Castagnoli), as LevelDB masks it -------------------------------------------------


def _crc32c_table() -> List[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def _crc32c(data: Any, crc: int = 0) -> int:
    """crc32c of bytes, continuing from `crc` (0 to start). Pure Python: only for small data."""
    table = _CRC_TABLE
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _mask(crc: int) -> int:
    """LevelDB's masked crc (stored crcs of data that itself holds crcs): rotate right 15, add a constant."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# --- SSTable decoding -------------------------------------------------------------------------


def _varint(buf: Any, pos: int, end: int, bits: int) -> Tuple[int, int]:
    """(value, next position) of the varint (of at most `bits` bits) at buf[pos], ending before `end`."""
    value = 0
    for i in range((bits + 6) // 7):
        if pos + i >= end:
            raise _Corrupt("a number runs past the end of its block")
        byte = buf[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if value >> bits:
                raise _Corrupt("a number is out of range")
            return value, pos + i + 1
    raise _Corrupt("a number is encoded in too many bytes")


def _block_handle(buf: Any, pos: int, end: int) -> Tuple[int, int, int]:
    """(offset, size, next position) of a BlockHandle: two varint64s."""
    offset, pos = _varint(buf, pos, end, 64)
    size, pos = _varint(buf, pos, end, 64)
    return offset, size, pos


def _read_block(data: memoryview, offset: int, size: int, limit: int) -> memoryview:
    """The contents of the block at [offset, offset+size), its trailer checked; must end before `limit`."""
    if offset < 0 or size < 0 or offset + size + _BLOCK_TRAILER_SIZE > limit:
        raise _Corrupt(f"a block at byte {offset} of size {size} lies outside the file")
    contents = data[offset : offset + size]
    compression = data[offset + size]
    if compression != _NO_COMPRESSION:
        raise _Corrupt(f"a block is compressed (type {compression}); TensorFlow writes checkpoint indexes uncompressed")
    (stored_crc,) = struct.unpack_from("<I", data, offset + size + 1)
    # Checked: the index is small (tens of bytes per tensor), so this costs milliseconds.
    if _mask(_crc32c(data[offset : offset + size + 1])) != stored_crc:
        raise _Corrupt(f"the block at byte {offset} fails its checksum")
    return contents


def _block_entries(block: memoryview) -> List[Tuple[bytes, memoryview]]:
    """The (key, value) pairs of a block: prefix-compressed keys, then the restart-point array."""
    size = len(block)
    if size < 4:
        raise _Corrupt("a block is too short to hold its restart count")
    (num_restarts,) = struct.unpack_from("<I", block, size - 4)
    if num_restarts < 1 or num_restarts > (size - 4) // 4:
        raise _Corrupt(f"a block claims {num_restarts} restart points, impossible in {size} bytes")
    restarts_at = size - 4 - 4 * num_restarts
    restarts = struct.unpack_from(f"<{num_restarts}I", block, restarts_at)

    entries: List[Tuple[bytes, memoryview]] = []
    starts: Dict[int, int] = {}  # entry offset -> its shared-prefix length
    key = b""
    pos = 0
    while pos < restarts_at:
        start = pos
        shared, pos = _varint(block, pos, restarts_at, 32)
        non_shared, pos = _varint(block, pos, restarts_at, 32)
        value_length, pos = _varint(block, pos, restarts_at, 32)
        if shared > len(key) or pos + non_shared + value_length > restarts_at:
            raise _Corrupt("a key or value runs past the end of its block")
        key = key[:shared] + bytes(block[pos : pos + non_shared])
        pos += non_shared
        entries.append((key, block[pos : pos + value_length]))
        pos += value_length
        starts[start] = shared
    if restarts[0] != 0 or any(b <= a for a, b in zip(restarts, restarts[1:])):
        raise _Corrupt("a block's restart points are out of order")
    if entries and any(starts.get(restart) != 0 for restart in restarts):
        raise _Corrupt("a block's restart point does not start a full key")
    if not entries and num_restarts != 1:
        raise _Corrupt("an empty block has more than one restart point")
    return entries


def _read_table(path: str) -> List[Tuple[bytes, bytes]]:
    """Every (key, value) of an SSTable file, in order; keys must be strictly increasing."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ConversionError(
            f"{path} does not exist; give the checkpoint prefix (e.g. <saved_model>/variables/variables), "
            "whose .index and .data-* files must all be present"
        ) from None
    except OSError as e:
        raise ConversionError(f"{path} cannot be read ({e.strerror}); check the file's permissions") from None
    data = memoryview(raw)
    try:
        if len(data) < _FOOTER_SIZE:
            raise _Corrupt(f"it is only {len(data)} bytes long")
        footer_at = len(data) - _FOOTER_SIZE
        (magic,) = struct.unpack_from("<Q", data, footer_at + _FOOTER_SIZE - 8)
        if magic != _TABLE_MAGIC:
            raise _Corrupt("it does not end with the table magic number")
        handles_end = footer_at + _FOOTER_SIZE - 8
        _, _, pos = _block_handle(data, footer_at, handles_end)  # the metaindex (unused by bundles)
        index_offset, index_size, _ = _block_handle(data, pos, handles_end)
        index_entries = _block_entries(_read_block(data, index_offset, index_size, footer_at))

        entries: List[Tuple[bytes, bytes]] = []
        for _, handle in index_entries:
            offset, size, end = _block_handle(handle, 0, len(handle))
            if end != len(handle):
                raise _Corrupt("an index entry is not a block handle")
            for key, value in _block_entries(_read_block(data, offset, size, footer_at)):
                if entries and key <= entries[-1][0]:
                    raise _Corrupt("its keys are not in increasing order")
                entries.append((key, bytes(value)))
        return entries
    except _Corrupt as e:
        raise ConversionError(
            f"{path} is truncated, damaged or not a TensorFlow checkpoint index ({e}); re-save the checkpoint or SavedModel"
        ) from None


# --- the bundle -------------------------------------------------------------------------------


def _numpy_dtype(dtype_name: str, where: str) -> Optional[np.dtype]:
    """The numpy dtype of `where`'s elements (a tensor); None for DT_STRING; ConversionError if none."""
    if dtype_name == "DT_STRING":
        return None
    if dtype_name in _NUMPY_DTYPES:
        return np.dtype(_NUMPY_DTYPES[dtype_name])
    if dtype_name in _ML_DTYPES:
        try:
            import ml_dtypes
        except ImportError:
            raise ConversionError(
                f"{where} is a {dtype_name} tensor, which numpy represents only with the ml_dtypes package; "
                "pip install ml_dtypes"
            ) from None
        return np.dtype(getattr(ml_dtypes, _ML_DTYPES[dtype_name]))
    raise ConversionError(
        f"{where} is a {dtype_name} tensor, which tensorflowjs cannot read from a checkpoint; "
        "save that variable with a numeric or string dtype"
    )


class TensorBundle:
    """A checkpoint's tensors by name: the index is read and validated once, data shards are mapped lazily."""

    def __init__(self, prefix: str):
        """`prefix` is the path without .index, e.g. '<saved_model>/variables/variables'."""
        self._prefix = prefix
        self._index_path = prefix + ".index"
        self._entries: Dict[str, Any] = {}  # tensor name -> BundleEntryProto
        self._maps: Dict[int, Any] = {}  # shard id -> np.memmap of the whole shard (uint8)
        entry_class = tf_protos.message_class("tensorflow.BundleEntryProto")

        table = _read_table(self._index_path)
        if not table or table[0][0] != b"":
            self._index_error("it has no header entry")
        header = self._parse(tf_protos.message_class("tensorflow.BundleHeaderProto"), table[0][1], "its header")
        if header.endianness != 0:
            raise ConversionError(
                f"{self._index_path} was written on a big-endian machine; re-save the checkpoint on a little-endian one"
            )
        if header.version.min_consumer > _TENSOR_BUNDLE_VERSION or _TENSOR_BUNDLE_VERSION in header.version.bad_consumers:
            raise ConversionError(
                f"{self._index_path} uses checkpoint format version {header.version.producer}, newer than this reader "
                f"understands ({_TENSOR_BUNDLE_VERSION}); re-save it with an older TensorFlow"
            )
        if header.num_shards < 1:
            self._index_error(f"its header says {header.num_shards} data shards")
        self._num_shards = header.num_shards

        shard_sizes: Dict[int, int] = {}
        for raw_key, value in table[1:]:
            # Slices of partitioned variables are stored under binary keys starting with NUL
            # (TensorFlow's ordered-code encoding); like TensorFlow's own listing, keys() skips them.
            if raw_key.startswith(b"\x00"):
                continue
            try:
                key = raw_key.decode("utf-8")
            except UnicodeDecodeError:
                self._index_error(f"the tensor name {raw_key[:40]!r} is not UTF-8")
            entry = self._parse(entry_class, value, f"the entry of {key!r}")
            self._check_entry(key, entry, shard_sizes)
            self._entries[key] = entry

    # -- what the index says --

    def keys(self) -> List[str]:
        """The tensor names (including _CHECKPOINTABLE_OBJECT_GRAPH), sorted."""
        return list(self._entries)  # the table is sorted by bytes, which is UTF-8's code-point order

    def dtype_name(self, key: str) -> str:
        """e.g. 'DT_FLOAT': the DataType a tensor was saved with."""
        return tf_protos.data_type_name(self._entry(key).dtype)

    def shape(self, key: str) -> List[int]:
        """The full shape ([] for a scalar), known from the index without reading any data."""
        return [dim.size for dim in self._entry(key).shape.dim]

    def sliced(self, key: str) -> bool:
        """Whether the tensor is stored in slices (partitioned), which tensor() refuses."""
        return bool(self._entry(key).slices)

    # -- tensor contents --

    def tensor(self, key: str) -> np.ndarray:
        """A tensor's value. Numeric: a read-only view of the memory-mapped shard (nothing is copied,
        so freezing a large model stays small); DT_STRING: a new object array of bytes."""
        entry = self._entry(key)
        if entry.slices:
            raise ConversionError(
                f"{key!r} in checkpoint {self._prefix} is stored in {len(entry.slices)} slice(s) (a partitioned variable, "
                "or one split by a checkpoint sharding policy), which tensorflowjs cannot read; "
                "re-save the model without variable partitioning or experimental_sharding_callback"
            )
        dtype = _numpy_dtype(self.dtype_name(key), f"{key!r} in checkpoint {self._prefix}")
        shape = self.shape(key)
        if entry.size == 0:
            if dtype is None:
                return np.empty(shape, dtype=object)
            empty = np.zeros(shape, dtype=dtype)
            empty.setflags(write=False)
            return empty
        data = self._shard_bytes(key, entry)
        if dtype is None:
            return self._strings(key, entry, shape, data)
        return np.asarray(data).view(dtype).reshape(shape)

    def stored(self, key: str) -> Optional[StoredTensor]:
        """Where a numeric tensor's bytes lie in its data shard, for reading them on demand
        (None for strings, slices and dtypes numpy lacks): the same value tensor() gives."""
        entry = self._entry(key)
        dtype_name = self.dtype_name(key)
        if entry.slices or dtype_name not in _NUMPY_DTYPES:
            return None
        return StoredTensor(self._shard_path(entry.shard_id), entry.offset, np.dtype(_NUMPY_DTYPES[dtype_name]), tuple(self.shape(key)))

    def object_graph(self) -> Any:
        """The checkpoint's tensorflow.TrackableObjectGraph: which object each tensor belongs to."""
        if OBJECT_GRAPH_KEY not in self._entries:
            raise ConversionError(
                f"checkpoint {self._prefix} has no {OBJECT_GRAPH_KEY} (it was written by TF1's tf.compat.v1.train.Saver, "
                "not an object-based tf.train.Checkpoint); re-save the model with TensorFlow 2"
            )
        value = self.tensor(OBJECT_GRAPH_KEY)
        if value.dtype != object or value.shape != ():
            raise ConversionError(
                f"{self._index_path}: {OBJECT_GRAPH_KEY} is not a scalar string; the checkpoint is damaged, re-save it"
            )
        return self._parse(
            tf_protos.message_class("tensorflow.TrackableObjectGraph"), value[()], f"the {OBJECT_GRAPH_KEY} tensor"
        )

    # -- helpers --

    def _index_error(self, what: str) -> None:
        raise ConversionError(
            f"{self._index_path} is not a valid TensorFlow checkpoint index ({what}); re-save the checkpoint or SavedModel"
        )

    def _parse(self, message_class: Any, data: bytes, what: str) -> Any:
        DecodeError = extras.require("google.protobuf.message", "reading a checkpoint").DecodeError
        message = message_class()
        try:
            message.ParseFromString(data)
        except DecodeError:
            self._index_error(f"{what} is not a valid {message_class.DESCRIPTOR.full_name}")
        return message

    def _shard_path(self, shard_id: int) -> str:
        return f"{self._prefix}.data-{shard_id:05d}-of-{self._num_shards:05d}"

    def _check_entry(self, key: str, entry: Any, shard_sizes: Dict[int, int]) -> None:
        """Fails now, naming the file, if an entry can't be read: bad numbers, missing or short shard."""
        if entry.shape.unknown_rank or any(dim.size < 0 for dim in entry.shape.dim):
            self._index_error(f"{key!r} has an unknown shape")
        if not 0 <= entry.shard_id < self._num_shards:
            self._index_error(f"{key!r} is in data shard {entry.shard_id} of {self._num_shards}")
        if entry.offset < 0 or entry.size < 0:
            self._index_error(f"{key!r} has a negative offset or size")
        if not entry.slices:
            self._check_size(key, entry)
        if entry.shard_id not in shard_sizes:
            path = self._shard_path(entry.shard_id)
            try:
                shard_sizes[entry.shard_id] = os.path.getsize(path)
            except OSError:
                raise ConversionError(
                    f"{path} is missing (checkpoint {self._prefix} has {self._num_shards} data shard(s)); "
                    "copy the complete variables directory"
                ) from None
        if entry.offset + entry.size > shard_sizes[entry.shard_id]:
            self._short_shard(key, entry, shard_sizes[entry.shard_id])

    def _check_size(self, key: str, entry: Any) -> None:
        """A numeric tensor's byte size must be its element count times the element size."""
        try:
            dtype = _numpy_dtype(tf_protos.data_type_name(entry.dtype), key)
        except ConversionError:
            return  # an unsupported dtype is refused when (and only if) the tensor is read
        count = 1
        for dim in entry.shape.dim:
            count *= dim.size
        if dtype is None:  # strings: at least one byte of length per element, plus the length checksum
            if (count and entry.size < count + 4) or (not count and entry.size not in (0, 4)):
                self._index_error(f"{key!r} is {entry.size} bytes, too few for {count} strings")
        elif count * dtype.itemsize != entry.size:
            self._index_error(
                f"{key!r} is {entry.size} bytes but its shape {self.shape(key)} of {tf_protos.data_type_name(entry.dtype)} "
                f"needs {count * dtype.itemsize}"
            )

    def _short_shard(self, key: str, entry: Any, shard_size: int) -> None:
        raise ConversionError(
            f"{self._shard_path(entry.shard_id)} is {shard_size} bytes, shorter than the index says ({key!r} needs "
            f"bytes {entry.offset}..{entry.offset + entry.size}); the file is truncated, copy the checkpoint again"
        )

    def _entry(self, key: str) -> Any:
        entry = self._entries.get(key)
        if entry is None:
            close = difflib.get_close_matches(key, list(self._entries), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ConversionError(f"checkpoint {self._prefix} has no tensor named {key!r}{hint}")
        return entry

    def _shard_bytes(self, key: str, entry: Any) -> np.ndarray:
        """The entry's bytes as a read-only uint8 view of its memory-mapped shard."""
        shard = self._maps.get(entry.shard_id)
        if shard is None:
            path = self._shard_path(entry.shard_id)
            try:
                shard = np.memmap(path, dtype=np.uint8, mode="r")
            except (OSError, ValueError) as e:  # ValueError: the file became empty
                raise ConversionError(f"{path} cannot be mapped ({e}); copy the checkpoint again") from None
            self._maps[entry.shard_id] = shard
        if entry.offset + entry.size > len(shard):  # the file shrank since the index was checked
            self._short_shard(key, entry, len(shard))
        return shard[entry.offset : entry.offset + entry.size]

    def _strings(self, key: str, entry: Any, shape: List[int], data: np.ndarray) -> np.ndarray:
        """Decodes a DT_STRING tensor: varint64 lengths, a masked crc32c of the lengths, the bytes.

        The crc covers each length as 4 little-endian bytes (8 when it exceeds 32 bits), as
        TensorFlow computes it; checked here against TensorFlow's output.
        """
        raw = data.tobytes()  # bounded: the entry was checked to lie within the shard file
        count = 1
        for dim in shape:
            count *= dim
        where = f"{self._shard_path(entry.shard_id)} ({key!r})"

        def damaged(what: str) -> ConversionError:
            return ConversionError(f"{where}: {what}; the checkpoint is damaged, re-save it")

        if count > len(raw):  # every length takes at least one byte
            raise damaged(f"{count} strings cannot fit in {len(raw)} bytes")
        lengths = []
        pos = 0
        crc = 0
        try:
            for _ in range(count):
                length, pos = _varint(raw, pos, len(raw), 64)
                lengths.append(length)
                crc = _crc32c(struct.pack("<I" if length <= 0xFFFFFFFF else "<Q", length), crc)
        except _Corrupt as e:
            raise damaged(f"the string lengths are unreadable ({e})") from None
        if pos + 4 > len(raw):
            raise damaged("the string lengths run past the tensor's end")
        (stored,) = struct.unpack_from("<I", raw, pos)
        if _mask(crc) != stored:
            raise damaged("the string lengths fail their checksum")
        if pos + 4 + sum(lengths) != len(raw):
            raise damaged("the string lengths do not add up to the tensor's size")
        if len(raw) <= _STRING_CRC_LIMIT:
            if _mask(_crc32c(raw[pos + 4 :], _crc32c(raw[pos : pos + 4], crc))) != entry.crc32c:
                raise damaged("its bytes fail their checksum")

        result = np.empty(count, dtype=object)
        pos += 4
        for i, length in enumerate(lengths):
            result[i] = raw[pos : pos + length]
            pos += length
        return result.reshape(shape)
