"""Two-operand Einsum -> Transpose / Reshape / BatchMatMulV2, which every TF.js backend runs.

TF.js 4.22's WASM backend has no Einsum kernel, and Keras's MultiHeadAttention and EinsumDense
are built on it. Labels fall in four groups: batch (in both operands and the output), contracted
(in both, not the output), free to one operand, and summed away in one operand (reduced first).
Each operand is transposed to [batch, free, contracted] / [batch, contracted, free], the free and
contracted groups are merged into one dimension each, one batch matmul computes the product, and
the result is split and transposed to the output's order. Reshapes of a constant operand are
done here in numpy; those of a computed one take their sizes from Shape at run time, so dynamic
batch and sequence sizes keep working. Equations with an ellipsis, a repeated label or more or
fewer than two operands are left as Einsum (TF.js's CPU and WebGL backends run them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr, bool_attr, int_attr, type_attr
from tensorflowjs.tensor_names import data_inputs

INT32 = 3  # DT_INT32


@dataclass
class _Plan:
    a: str  # labels of each operand and of the output
    b: str
    out: str
    batch: List[str]
    contract: List[str]
    a_free: List[str]
    b_free: List[str]


def parse(equation: str) -> Optional[_Plan]:
    """The label groups of a two-operand equation this rewrite handles, else None."""
    equation = equation.replace(" ", "")
    if "..." in equation or equation.count("->") != 1:
        return None
    operands, out = equation.split("->")
    parts = operands.split(",")
    if len(parts) != 2:
        return None
    a, b = parts
    if any(len(set(labels)) != len(labels) for labels in (a, b, out)) or set(out) - set(a) - set(b):
        return None
    return _Plan(
        a, b, out,
        batch=[x for x in a if x in b and x in out],
        contract=[x for x in a if x in b and x not in out],
        a_free=[x for x in a if x not in b and x in out],
        b_free=[x for x in b if x not in a and x in out],
    )


@register("lower_einsum")
def lower_einsum(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(["Einsum"]):
        inputs = data_inputs(node.input)
        plan = parse(attr(node, "equation").s.decode())
        if plan is None or len(inputs) != 2 or len(inputs) != len(node.input):
            continue
        _Lowering(view, node, plan).run(inputs)
        count += 1
    return count


# An operand: a numpy value (a constant, reshaped here) or the name of a computed tensor.
Operand = Union[np.ndarray, str]


class _Lowering:
    def __init__(self, view: GraphView, node, plan: _Plan):
        self.view, self.node, self.plan = view, node, plan
        self.t = type_attr(attr(node, "T").type)  # outlives the Einsum, which is removed

    def run(self, inputs: Sequence[str]) -> None:
        plan = self.plan
        self.a_labels = plan.batch + plan.a_free + plan.contract
        self.b_labels = plan.batch + plan.contract + plan.b_free
        self.sizes = {}  # label -> size, where a constant operand or a placeholder's shape says
        a = self._operand(inputs[0], plan.a, self.a_labels)
        b = self._operand(inputs[1], plan.b, self.b_labels)
        groups_a, groups_b = [plan.a_free, plan.contract], [plan.contract, plan.b_free]
        a_merged = a if all(len(g) == 1 for g in groups_a) else self._reshape(a, self._target(
            [[x] for x in plan.batch] + groups_a, {x: (a, self.a_labels) for x in self.a_labels}))
        b_merged = b if all(len(g) == 1 for g in groups_b) else self._reshape(b, self._target(
            [[x] for x in plan.batch] + groups_b, {x: (b, self.b_labels) for x in self.b_labels}))
        result = self._emit("BatchMatMulV2", [self._tensor(a_merged), self._tensor(b_merged)],
                            {"T": self.t, "adj_x": bool_attr(False), "adj_y": bool_attr(False)})
        order = plan.batch + plan.a_free + plan.b_free
        if a_merged is not a or b_merged is not b:  # split the merged dimensions again
            where = {x: (a, self.a_labels) for x in plan.a_free}
            where.update({x: (b, self.b_labels) for x in plan.b_free})
            where.update({x: (result, plan.batch) for x in plan.batch})
            result = self._reshape(result, self._target([[x] for x in order], where))
        perm = [order.index(label) for label in plan.out]
        # The last node takes the Einsum's name, so its readers are unchanged.
        name = self.node.name
        if perm == sorted(perm):
            if not self.view.bypass(self.node, result):  # the Einsum is an output: keep its name
                self.view.remove([name])
                self.view.add_node(name, "Identity", [result], {"T": self.t})
            return
        permutation = self._const(np.asarray(perm, np.int32))
        self.view.remove([name])
        self.view.add_node(name, "Transpose", [result, permutation], {"T": self.t, "Tperm": type_attr(INT32)})

    # -- operands --

    def _operand(self, tensor: str, labels: str, target: List[str]) -> Operand:
        """The operand with summed-away labels reduced and its labels in `target` order."""
        summed = [i for i, label in enumerate(labels) if label not in target]
        kept = [label for label in labels if label in target]
        perm = [kept.index(label) for label in target]
        value = self.view.const_value(tensor)
        if value is not None:
            if summed:
                value = value.sum(axis=tuple(summed), dtype=value.dtype)
            value = np.ascontiguousarray(np.transpose(value, perm))
            self.sizes.update(zip(target, value.shape))
            return value
        producer = self.view.producer(tensor)
        if producer is not None and producer.op == "Placeholder" and "shape" in producer.attr:
            dims = [d.size for d in producer.attr["shape"].shape.dim]
            if len(dims) == len(labels):
                self.sizes.update((label, size) for label, size in zip(labels, dims) if size >= 0)
        if summed:
            tensor = self._emit("Sum", [tensor, self._const(np.asarray(summed, np.int32))],
                                {"T": self.t, "Tidx": type_attr(INT32), "keep_dims": bool_attr(False)})
        if perm != sorted(perm):
            tensor = self._emit("Transpose", [tensor, self._const(np.asarray(perm, np.int32))], {"T": self.t, "Tperm": type_attr(INT32)})
        return tensor

    # -- shapes --

    def _target(self, groups: List[List[str]], where) -> List[Operand]:
        """A reshape target: one size per group of labels (their product). Known sizes are
        numbers; one unknown group may be -1; others are read from Shape of the tensor holding them
        (`where`: label -> (operand, its labels in order))."""
        known = [all(x in self.sizes for x in g) for g in groups]
        unknown = known.count(False)
        pieces: List[Operand] = []
        for group, is_known in zip(groups, known):
            if is_known:
                pieces.append(np.asarray([int(np.prod([self.sizes[x] for x in group]))], np.int32))
            elif unknown == 1:
                pieces.append(np.asarray([-1], np.int32))
            else:
                pieces.append(self._group_size(group, where))
        return pieces

    def _group_size(self, group: List[str], where) -> str:
        operand, labels = where[group[0]]
        begin = labels.index(group[0])
        shape = self._emit("Shape", [operand], {"T": self.t, "out_type": type_attr(INT32)})
        dims = self._emit("StridedSlice", [shape, *(self._const(np.asarray([v], np.int32)) for v in (begin, begin + len(group), 1))],
                          {"T": type_attr(INT32), "Index": type_attr(INT32), "begin_mask": int_attr(0), "end_mask": int_attr(0),
                           "ellipsis_mask": int_attr(0), "new_axis_mask": int_attr(0), "shrink_axis_mask": int_attr(0)})
        if len(group) == 1:
            return dims
        return self._emit("Prod", [dims, self._const(np.asarray([0], np.int32))],
                          {"T": type_attr(INT32), "Tidx": type_attr(INT32), "keep_dims": bool_attr(True)})

    def _reshape(self, operand: Operand, pieces: List[Operand]) -> Operand:
        if all(isinstance(p, np.ndarray) for p in pieces):
            target = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros([0], np.int32)
            if isinstance(operand, np.ndarray):
                return operand.reshape(target)
            shape = self._const(target)
        else:
            shape = self._emit("ConcatV2", [self._tensor(p) for p in pieces] + [self._const(np.asarray(0, np.int32))],
                               {"N": int_attr(len(pieces)), "T": type_attr(INT32), "Tidx": type_attr(INT32)})
        return self._emit("Reshape", [self._tensor(operand), shape], {"T": self.t, "Tshape": type_attr(INT32)})

    # -- nodes --

    def _tensor(self, operand: Operand) -> str:
        return self._const(operand) if isinstance(operand, np.ndarray) else operand

    def _const(self, value: np.ndarray) -> str:
        return self.view.add_const(f"{self.node.name}/lowered/const", value).name

    def _emit(self, op: str, inputs: List[str], attrs) -> str:
        name = self.view.unique_name(f"{self.node.name}/lowered/{op}")
        self.view.add_node(name, op, inputs, attrs)
        return name
