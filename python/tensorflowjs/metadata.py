"""--metadata name:path,... : user JSON files embedded in model.json as userDefinedMetadata."""

import os
from typing import Dict, Optional

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
