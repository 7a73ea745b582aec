"""TensorLists read and written at constant indices become Pack, GatherV2 and plain tensors.

An unrolled loop (unroll_loops) leaves the TensorLists its body used as chains: a list made by
TensorListReserve (n elements) or TensorListFromTensor, one TensorListSetItem per iteration, and
TensorListGetItem / TensorListStack / TensorListConcatV2 at the end, every index a constant once
folded. Each read is then known: GetItem returns the value last set at its index (or a slice of
the tensor the list came from), and Stack (Concat) of a list whose n elements were all set is
Pack (ConcatV2) of those values. TF.js
runs these plain ops on every backend, with no list objects to keep alive. Chains with an index
that is not constant, or reads of elements never set, are left as they are.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr, int_attr, type_attr

_LIST_OPS = ("TensorListReserve", "TensorListFromTensor", "TensorListSetItem")
_DT_VARIANT = 21  # the dtype of a TensorList handle


def _constant_index(view: GraphView, tensor: str) -> Optional[int]:
    value = view.const_value(tensor)
    return int(value) if value is not None and value.size == 1 and value.dtype.kind in "iu" else None


def _writes(view: GraphView, tensor: str) -> Optional[Tuple[object, Dict[int, str]]]:
    """The node that made the list, and index -> the value last set there; None if an index is
    not constant."""
    writes: Dict[int, str] = {}
    node = view.producer(tensor)
    while node is not None and node.op in ("TensorListSetItem", "Identity"):
        if node.op == "TensorListSetItem":
            index = _constant_index(view, node.input[1])
            if index is None:
                return None
            writes.setdefault(index, node.input[2])
        node = view.producer(node.input[0])
    return (node, writes) if node is not None else None


def _replace(view: GraphView, node, op: str, inputs, attrs) -> None:
    """Put a new node in `node`'s place, under its name (its readers then read the new node)."""
    name = node.name
    view.remove([name])
    view.add_node(name, op, inputs, attrs)


def _get_item(view: GraphView, node) -> bool:
    index = _constant_index(view, node.input[1])
    found = _writes(view, node.input[0]) if index is not None else None
    if found is None:
        return False
    base, writes = found
    if index in writes:
        return view.bypass(node, writes[index])
    if base.op != "TensorListFromTensor" or index < 0:
        return False
    dtype = attr(node, "element_dtype").type
    position = view.add_const(f"{node.name}/index", np.array(index, np.int32))
    axis = view.add_const(f"{node.name}/axis", np.array(0, np.int32))
    attrs = {"Tparams": type_attr(dtype), "Tindices": type_attr(position.attr["dtype"].type),
             "Taxis": type_attr(axis.attr["dtype"].type), "batch_dims": int_attr(0)}
    _replace(view, node, "GatherV2", [base.input[0], position.name, axis.name], attrs)
    return True


def _all_elements(view: GraphView, tensor: str) -> Optional[List[str]]:
    """The values of every element of a TensorListReserve'd list, when all were set."""
    found = _writes(view, tensor)
    if found is None or found[0].op != "TensorListReserve":
        return None
    base, writes = found
    size = _constant_index(view, base.input[1])
    return [writes[i] for i in range(size)] if size and sorted(writes) == list(range(size)) else None


def _stack(view: GraphView, node) -> bool:
    found = _writes(view, node.input[0])
    if found is None:
        return False
    base, writes = found
    if base.op == "TensorListFromTensor" and not writes:
        return view.bypass(node, base.input[0])
    elements = _all_elements(view, node.input[0])
    if elements is None:
        return False
    dtype = attr(node, "element_dtype").type
    _replace(view, node, "Pack", elements, {"T": type_attr(dtype), "N": int_attr(len(elements)), "axis": int_attr(0)})
    return True


def _concat(view: GraphView, node) -> bool:
    """TensorArray.concat: TF.js reads TensorListConcatV2's element shape as an attribute, where
    TensorFlow gives an input, and fails ("reading 'some'"); ConcatV2 of the elements does not."""
    elements = _all_elements(view, node.input[0])
    if elements is None or not view.only_output_zero_used(node):
        return False
    axis = view.add_const(f"{node.name}/axis", np.array(0, np.int32))
    attrs = {"T": type_attr(attr(node, "element_dtype").type), "N": int_attr(len(elements)), "Tidx": type_attr(axis.attr["dtype"].type)}
    _replace(view, node, "ConcatV2", [*elements, axis.name], attrs)
    return True


@register("static_tensor_lists")
def static_tensor_lists(view: GraphView) -> int:
    count = sum(_get_item(view, node) for node in view.live_nodes(("TensorListGetItem",)))
    count += sum(_stack(view, node) for node in view.live_nodes(("TensorListStack",)))
    count += sum(_concat(view, node) for node in view.live_nodes(("TensorListConcatV2",)))
    while True:
        unread = [n.name for n in view.live_nodes((*_LIST_OPS, "Identity")) if n.name not in view.keep and not view.consumers(n.name)
                  and (n.op != "Identity" or attr(n, "T").type == _DT_VARIANT)]
        if not unread:
            return count
        view.remove(unread)
