"""Tensor names as a GraphDef writes them: 'node' or 'node:0' (output 0), 'node:2', '^node'.

A node's input names a tensor (output i of a node; ':0' may be left out) or, with '^', a node
that must run first (a control input). One module reads and makes them, so the graph rewrites,
the readers of SavedModels and frozen graphs, the wizard and verify agree on the rules.
"""

from __future__ import annotations

from typing import Container, Iterable, List

CONTROL = "^"


def is_control(tensor: str) -> bool:
    """'^a' is a control input: node a runs first, no value flows."""
    return tensor.startswith(CONTROL)


def node_name(tensor: str) -> str:
    """'^a', 'a:1' and 'a' all name node 'a'."""
    return tensor.lstrip(CONTROL).split(":")[0]


def output_index(tensor: str) -> int:
    """Which output of its node the tensor is: 'a:1' -> 1; 'a' and '^a' -> 0."""
    parts = tensor.split(":")
    return int(parts[1]) if len(parts) > 1 and not is_control(tensor) else 0


def tensor_name(node: str, index: int = 0) -> str:
    """The full name of output `index` of `node`, as TensorFlow and signatures spell it: 'a:0'."""
    return f"{node}:{index}"


def input_name(node: str, index: int = 0) -> str:
    """How a node's input reads output `index` of `node`: 'a' for output 0, else 'a:1'."""
    return node if index == 0 else f"{node}:{index}"


def control_input(node: str) -> str:
    """The input that makes `node` run first: '^a'."""
    return CONTROL + node


def full_name(tensor: str) -> str:
    """'a' -> 'a:0'; a name with an index stays as it is."""
    return tensor if ":" in tensor else tensor_name(tensor)


def short_name(tensor: str) -> str:
    """'a:0' -> 'a'; any other name stays as it is."""
    return tensor[:-2] if tensor.endswith(":0") else tensor


def with_node(tensor: str, node: str) -> str:
    """The same reference (control or output index) to another node: ('^a', 'b') -> '^b', ('a:1', 'b') -> 'b:1'."""
    _, sep, rest = tensor.lstrip(CONTROL).partition(":")
    return (CONTROL if is_control(tensor) else "") + node + sep + rest


def data_inputs(inputs: Iterable[str]) -> List[str]:
    """The inputs that carry values, in order (control inputs left out)."""
    return [t for t in inputs if not is_control(t)]


def control_inputs(inputs: Iterable[str]) -> List[str]:
    """The control inputs ('^a'), in order."""
    return [t for t in inputs if is_control(t)]


def unique_name(base: str, taken: Container[str]) -> str:
    """base, else base_1, base_2...: the first name not taken (how TensorFlow names a copy)."""
    name, index = base, 1
    while name in taken:
        name, index = f"{base}_{index}", index + 1
    return name
