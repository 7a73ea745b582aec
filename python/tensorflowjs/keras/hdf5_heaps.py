"""Global heap collections of an HDF5 file, walked before libhdf5 reads them.

Variable-length strings (a Keras `model_config`, layer and weight names) live in global heap
collections ("GCOL"). libhdf5 (1.14, as bundled with h5py) parses a collection object by object,
each header giving the size of the next step; a free-space object (index 0) of size 0 makes no
step, and the parse loops forever inside one C call, which no signal interrupts. Found by
tests/fuzz: one inserted byte made a 45 kB .h5 keep the converter busy for minutes. So every
collection in the file is walked here first, the way libhdf5 walks it, and one whose walk would
not end is refused as damaged.
"""

import mmap
import struct
from typing import BinaryIO, Optional

from tensorflowjs.errors import ConversionError

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_COLLECTION = b"GCOL\x01"  # signature and version (libhdf5 ignores the three reserved bytes after it)


def _size_of_lengths(data, start: int, end: int) -> Optional[int]:
    """The superblock's "size of lengths" (8 in practice); None without a superblock there.
    The superblock sits at 0 or after a user block of 512, 1024, 2048, ... bytes."""
    at = 0
    while start + at + 16 <= end:
        if data[start + at:start + at + 8] == _SIGNATURE:
            version = data[start + at + 8]
            return data[start + at + (14 if version < 2 else 10)]
        at = 512 if at == 0 else at * 2
    return None


def _align(n: int) -> int:
    return (n + 7) & ~7


def _walk(data, at: int, end: int, lengths: int, where: str) -> None:
    """One collection's objects, stepped through as libhdf5 steps; refused where it would stall."""
    size = int.from_bytes(data[at + 8:at + 8 + lengths], "little")
    header = _align(8 + lengths)
    object_header = _align(8 + lengths)
    if at + size > end:
        raise ConversionError(f"{where}: an HDF5 global heap at byte {at} claims {size} bytes, past the end of the file; the file is truncated or damaged")
    stop, p = at + size, at + header
    while p + object_header <= stop:
        index = struct.unpack_from("<H", data, p)[0]
        length = int.from_bytes(data[p + 8:p + 8 + lengths], "little")
        step = object_header + _align(length) if index else length
        # libhdf5 writes free space only when a whole object header fits: a smaller step stalls
        # it, and one near 2^64 wraps its pointer back.
        if step < object_header or step >= 1 << 63:
            raise ConversionError(f"{where}: the HDF5 global heap at byte {at} holds an object of size {length} at byte {p}, which libhdf5 cannot step over; the file is damaged")
        p += step


def check_global_heaps(f: BinaryIO, where: str, start: int = 0, length: Optional[int] = None) -> None:
    """Refuses an HDF5 file (or the `length` bytes at `start` of `f`, a stored archive member)
    holding a global heap collection that libhdf5 would parse forever."""
    try:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:  # an empty file: libhdf5 refuses it
        return
    with data:
        end = len(data) if length is None else min(len(data), start + length)
        lengths = _size_of_lengths(data, start, end)
        if lengths not in (2, 4, 8):
            return  # no superblock, or an impossible one: libhdf5 refuses the file itself
        at = data.find(_COLLECTION, start, end)
        while at >= 0:
            if at + 8 + lengths <= end:
                _walk(data, at, end, lengths, where)
            at = data.find(_COLLECTION, at + 1, end)
