"""The main() of a benchmark that prints a Markdown table: --cases picks the cases, each runs in
a fresh temporary directory, and each row is shown on stderr as soon as it is measured (a long run
can be watched and stopped) before the whole table is printed on stdout, ready for README.md."""

import argparse
import sys
import tempfile
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence


def run_table(doc: str, cases: Mapping[str, Any], columns: Sequence[str],
              run_case: Callable[[argparse.Namespace, str, Any, str], Iterable[str]],
              add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None,
              argv: Optional[List[str]] = None) -> None:
    """`run_case(args, name, case, tmp)` yields the case's rows; `doc` is the script's docstring,
    whose first paragraph is its --help. A `--dir` argument, if added, is where the temporary
    directories go."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_arguments(parser)
    parser.add_argument("--cases", default=",".join(cases), help="comma-separated case names (default: all)")
    args = parser.parse_args(argv)
    rows = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for name in args.cases.split(","):
        with tempfile.TemporaryDirectory(dir=getattr(args, "dir", None)) as tmp:
            for row in run_case(args, name, cases[name], tmp):
                rows.append(row)
                print(row, file=sys.stderr, flush=True)
    print("\n".join(rows))
