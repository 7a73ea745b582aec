"""Finding a TF Hub module on disk (a local directory or a handle in the TF Hub cache) and the
tag set to load from it.

Nothing is downloaded: a handle that is not cached locally is an error saying how to get it.
"""

from __future__ import annotations

import hashlib
import os
from typing import List

from tensorflowjs.errors import ConversionError

def resolve_module(handle: str) -> str:
    """The local directory of a module: the handle itself, or its TFHUB_CACHE_DIR entry."""
    if os.path.isdir(handle):
        return handle
    cache = os.environ.get("TFHUB_CACHE_DIR")
    if cache:
        # tensorflow_hub caches a module under the SHA-1 of its handle.
        cached = os.path.join(cache, hashlib.sha1(handle.encode("utf-8")).hexdigest())
        if os.path.isdir(cached):
            return cached
    if "://" in handle:
        where = f"it is not in TFHUB_CACHE_DIR ({cache})" if cache else "TFHUB_CACHE_DIR is not set"
        raise ConversionError(
            f"cannot fetch the TF Hub module {handle}: this converter does not download ({where}); "
            "download and extract the module first, then give its directory"
        )
    raise ConversionError(f"TF Hub module {handle} is not a directory; give the module's local directory")


def module_tags(wanted: List[str], available: List[List[str]]) -> List[str]:
    """The tag set to load: the one asked for when it exists; for the defaults (none, or the
    CLI's `serve`), a hub module's untagged MetaGraph, else its only one."""
    if wanted in available or wanted not in ([], ["serve"]):
        return wanted
    if [] in available:
        return []
    return available[0] if len(available) == 1 else wanted
