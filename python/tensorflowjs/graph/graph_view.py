"""A mutable view of a GraphDef's top-level nodes for the rewrites: lookups, consumers, constants.

Rewrites match small chains (conv -> BiasAdd -> activation) and replace them by one node that
takes the chain's last name, so every consumer and every output name stays valid.
"""

from __future__ import annotations

from typing import Dict, Iterable, Iterator, List, Optional, Set

import numpy as np

from tensorflowjs import tf_protos
from tensorflowjs.graph import tensors
from tensorflowjs.tensor_names import control_input, data_inputs, is_control, node_name, output_index, unique_name


def attr(node, key: str):
    """node.attr[key] without inserting an empty attribute when it is absent."""
    if key in node.attr:
        return node.attr[key]
    return _attr_value()


class GraphView:
    """Top-level nodes of a GraphDef by name, with their consumers; edits keep both current."""

    def __init__(self, graph_def, keep: Iterable[str]):
        self.graph_def = graph_def
        self.keep: Set[str] = set(keep)
        self.nodes: Dict[str, object] = {node.name: node for node in graph_def.node}
        self._consumers: Dict[str, List[object]] = {}
        for node in graph_def.node:
            self._index_inputs(node)

    def _index_inputs(self, node) -> None:
        for tensor in node.input:
            self._consumers.setdefault(node_name(tensor), []).append(node)

    def _unindex_inputs(self, node) -> None:
        for tensor in node.input:
            readers = self._consumers.get(node_name(tensor), [])
            for index, reader in enumerate(readers):
                if reader is node:
                    del readers[index]
                    break

    def live_nodes(self, ops: Optional[Iterable[str]] = None) -> Iterator:
        """The graph's nodes (only those of `ops`, when given), each yielded only while it is
        still in the graph: rewrites edit as they go, so a node removed or replaced is skipped."""
        wanted = None if ops is None else frozenset(ops)
        for node in list(self.graph_def.node):
            if self.nodes.get(node.name) is node and (wanted is None or node.op in wanted):
                yield node

    def producer(self, tensor: str):
        return self.nodes.get(node_name(tensor))

    def consumers(self, name: str) -> List[object]:
        return self._consumers.get(name, [])

    def sole_consumer(self, node, op_types: Optional[Iterable[str]] = None):
        """The one node reading `node` (through output 0 only), if `node` may disappear into it."""
        if node.name in self.keep:
            return None
        consumers = self.consumers(node.name)
        if len(consumers) != 1:
            return None
        consumer = consumers[0]
        reads = [t for t in consumer.input if node_name(t) == node.name]
        if len(reads) != 1 or is_control(reads[0]) or output_index(reads[0]) != 0:
            return None
        if op_types is not None and consumer.op not in op_types:
            return None
        return consumer

    def only_output_zero_used(self, node) -> bool:
        return all(
            output_index(t) == 0 and not is_control(t)
            for consumer in self.consumers(node.name)
            for t in consumer.input
            if node_name(t) == node.name
        )

    def const_value(self, tensor: str) -> Optional[np.ndarray]:
        """The value of a Const input (output 0), or None when the input is not a constant."""
        node = self.producer(tensor)
        if node is None or node.op != "Const" or output_index(tensor) != 0 or is_control(tensor):
            return None
        return tensors.to_ndarray(node.attr["value"].tensor)

    def unique_name(self, base: str) -> str:
        return unique_name(base, self.nodes)

    def add_const(self, base_name: str, value: np.ndarray):
        """A new Const node holding `value`, named base_name (made unique)."""
        node = self.graph_def.node.add(name=self.unique_name(base_name))
        tensors.set_const(node, value)
        self.nodes[node.name] = node
        return node

    def add_node(self, name: str, op: str, inputs: List[str], attrs: Dict[str, object]):
        """A new node; `attrs` maps names to AttrValue protos to copy (of any descriptor pool)."""
        node = self.graph_def.node.add()
        node.name = name
        node.op = op
        node.input.extend(inputs)
        for key, value in attrs.items():
            node.attr[key].MergeFromString(value.SerializeToString())
        self.nodes[name] = node
        self._index_inputs(node)
        return node

    def replace_with_const(self, node, value: np.ndarray) -> None:
        """`node` becomes a Const holding `value` (same name, so its readers are unchanged)."""
        replaced = {node_name(t) for t in node.input}
        self._unindex_inputs(node)
        del node.input[:]
        node.attr.clear()
        tensors.set_const(node, value)
        self._drop_orphan_consts(replaced)

    def bypass(self, node, tensor: str) -> bool:
        """Readers of `node`'s output 0 read `tensor` instead and `node` goes; False (nothing
        changed) when `node` must stay: it is kept, or something reads another of its outputs."""
        if node.name in self.keep or not self.only_output_zero_used(node):
            return False
        for reader in list(self.consumers(node.name)):
            self._unindex_inputs(reader)
            for index, read in enumerate(reader.input):
                if node_name(read) == node.name:
                    reader.input[index] = control_input(node_name(tensor)) if is_control(read) else tensor
            self._index_inputs(reader)
        self.remove([node.name])
        return True

    def set_input(self, node, index: int, tensor: str) -> None:
        """Rewire one input; a Const it read that nothing reads any more is dropped."""
        replaced = node_name(node.input[index])
        self._unindex_inputs(node)
        node.input[index] = tensor
        self._index_inputs(node)
        self._drop_orphan_consts({replaced})

    def set_control_inputs(self, node, control: Iterable[str]) -> None:
        """Replace node's control inputs (`^x`) by `control`; a Const only they read goes too."""
        dropped = {node_name(t) for t in node.input if is_control(t)}
        self._unindex_inputs(node)
        kept = data_inputs(node.input) + list(control)
        del node.input[:]
        node.input.extend(kept)
        self._index_inputs(node)
        self._drop_orphan_consts(dropped)

    def remove(self, names: Iterable[str]) -> None:
        """Drop nodes, then every Const left without consumers (weights folded into others)."""
        doomed = set(names)
        inputs = {node_name(t) for name in doomed if name in self.nodes for t in self.nodes[name].input}
        self._delete(doomed)
        self._drop_orphan_consts(inputs)

    def _drop_orphan_consts(self, candidates: Set[str]) -> None:
        self._delete({
            name for name in candidates
            if name in self.nodes and self.nodes[name].op == "Const" and name not in self.keep and not self.consumers(name)
        })

    def _delete(self, names: Set[str]) -> None:
        if not names:
            return
        for name in names:
            if name in self.nodes:
                self._unindex_inputs(self.nodes.pop(name))
        # Index deletion moves pointers; rebuilding the list would copy every weight.
        for index in reversed(range(len(self.graph_def.node))):
            if self.graph_def.node[index].name in names:
                del self.graph_def.node[index]

    def rename(self, node, new_name: str) -> None:
        """Give `node` the name of a node just removed, so that node's consumers now read `node`."""
        del self.nodes[node.name]
        node.name = new_name
        self.nodes[new_name] = node


def _attr_value(**fields):
    return tf_protos.message_class("tensorflow.AttrValue")(**fields)


def float_attr(value: float):
    return _attr_value(f=value)


def int_attr(value: int):
    return _attr_value(i=value)


def strings_attr(values: List[str]):
    return _attr_value(list={"s": [v.encode() for v in values]})


def bool_attr(value: bool):
    return _attr_value(b=value)


def type_attr(value: int):
    return _attr_value(type=value)


def types_attr(values: List[int]):
    return _attr_value(list={"type": values})


def string_attr(value: str):
    return _attr_value(s=value.encode())
