"""What the tools/update_*.py scripts share: where the checkout is, and the shape of their main().

Each script derives one shipped data file of the package, either from the npm packages the
end-to-end harness pins or from the TensorFlow the lock pins; the tests compare the shipped file
with what the script derives, so a stale file fails the build.
"""

import os
import sys
from typing import Any, Callable, List

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_NODE_MODULES = os.path.join(REPO, "tests", "e2e", "node_modules")


def write_text(render: Callable[[Any], str]) -> Callable[[str, Any], None]:
    """The writer of a document that is one text file."""

    def write(output: str, document: Any) -> None:
        with open(output, "w", encoding="utf-8") as f:
            f.write(render(document))

    return write


def main_from_npm(argv: List[str], default_output: str, derive: Callable[[str], Any], write: Callable[[str, Any], None],
                  summary: Callable[[Any], str]) -> int:
    """`script [NODE_MODULES] [OUTPUT]`: derives the document from the npm packages, writes it,
    and prints one line saying what was written."""
    node_modules = argv[1] if len(argv) > 1 else DEFAULT_NODE_MODULES
    output = argv[2] if len(argv) > 2 else default_output
    document = derive(node_modules)
    write(output, document)
    print(f"{output}: {summary(document)}")
    return 0


def main_from_tensorflow(package_path: str, serialize: Callable[[], bytes]) -> None:
    """Writes what `serialize` takes from the installed TensorFlow to `package_path` (relative to the
    checkout: the workspace under `bazel run`, else the one this script is in)."""
    root = os.environ.get("BUILD_WORKSPACE_DIRECTORY") or REPO
    path = os.path.join(root, package_path)
    with open(path, "wb") as f:
        f.write(serialize())
    print(f"wrote {path}", file=sys.stderr)
