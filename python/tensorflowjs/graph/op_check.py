"""Fail a conversion early when the graph uses ops TF.js cannot execute (stub for now)."""

from __future__ import annotations

from typing import Any


def check_supported_ops(graph_def: Any, source_path: str) -> None:
    """Raise ConversionError listing the ops of graph_def that TF.js does not run."""
