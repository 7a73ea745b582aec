"""User metadata: --metadata name:path,... (or the API's `metadata=`) embedded in model.json as
userDefinedMetadata, by one rule for every writer."""

import os
from typing import Any, Dict, Optional

from tensorflowjs import bounded_json
from tensorflowjs.errors import ConversionError


def parse_metadata_flag(flag: Optional[str]) -> Dict[str, str]:
    """'a:/x.json,b:/y.json' -> {'a': '/x.json', 'b': '/y.json'}."""
    result: Dict[str, str] = {}
    for item in (flag or "").split(","):
        if not item.strip():
            continue
        name, sep, path = item.partition(":")
        if not sep or not name.strip() or not path.strip():
            raise ConversionError(f"--metadata entry {item!r} is not name:path; example: --metadata vocab:/path/vocab.json")
        if name.strip() in result:
            raise ConversionError(f"--metadata names {name.strip()!r} twice")
        result[name.strip()] = path.strip()
    return result


def load_metadata(paths: Optional[Dict[str, str]]) -> Optional[Dict]:
    """Reads each metadata JSON file; None when there is none."""
    if not paths:
        return None
    loaded = {}
    for name, path in paths.items():
        if not os.path.isfile(path):
            raise ConversionError(f"metadata file {path} (for {name!r}) does not exist")
        loaded[name] = bounded_json.read(path, f"metadata file {path} (for {name!r})")
    return loaded


def user_defined_metadata(user: Optional[Dict[str, Any]], carried: Optional[Dict[str, Any]] = None,
                          **converter_keys: Any) -> Optional[Dict[str, Any]]:
    """model.json's userDefinedMetadata, for layers and graph models alike; None when empty.

    The user's map (--metadata or the API's `metadata=`) replaces whatever the source model
    `carried` (a TF.js model's own userDefinedMetadata): the public converter embeds the map it
    is given as is, merging it with nothing. Keys the converter writes itself
    (structuredOutputKeys) go into that same map, over a user key of the same name, as the
    public converter's graph writer does.
    """
    result = dict(user or carried or {})
    result.update(converter_keys)
    return result or None
