"""Lowered (v1) while loops whose trip count is known at conversion time become straight-line ops.

A Keras RNN with a fixed sequence length, or a tf.while_loop with a constant bound, runs a number
of iterations that only depends on constants. Such a loop is replaced by that many copies of its
body, each reading the previous copy's results: TF.js then runs plain ops (on every backend, no
frames or TensorLists kept alive across iterations), and the folding and fusion rewrites see the
whole computation. The trip count is found by running the loop's condition in numpy on the loop
variables that start constant and stay computable from constants (counters, bounds); a loop
whose condition reads anything else (a data-dependent stop) is kept. Growth is bounded by
MAX_ITERATIONS per loop and NODE_BUDGET copied nodes per graph; a loop over either bound is kept,
with a notice. Only innermost loops are unrolled; an outer loop is tried again once its inner
loops are gone.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.rewrites.drop_control_inputs import pinned_by_control_inputs
from tensorflowjs.graph.rewrites.fold_constants import FOLDERS
from tensorflowjs.graph.graph_view import GraphView, attr
from tensorflowjs.tensor_names import control_input, data_inputs, input_name, is_control, node_name, output_index

MAX_ITERATIONS = 256
NODE_BUDGET = 20000

# Ops only a loop has (a lowered tf.cond has Switch and Merge too, which are copied as they are).
_LOOP_OPS = frozenset({"Enter", "LoopCond", "NextIteration", "Exit"})

# Ops a loop condition uses beyond what constant folding evaluates.
_CONDITION_OPS = {
    "Identity": lambda x: x,
    "Less": np.less,
    "LessEqual": np.less_equal,
    "Greater": np.greater,
    "GreaterEqual": np.greater_equal,
    "Equal": np.equal,
    "NotEqual": np.not_equal,
    "LogicalAnd": np.logical_and,
    "LogicalOr": np.logical_or,
    "LogicalNot": np.logical_not,
}


class LoopUnrollWarning(UserWarning):
    """Says which while loops were unrolled, or kept because they were too long to unroll."""


@dataclass
class _Variable:
    merge: str
    init: str  # the tensor entering the loop
    next: str  # the tensor the body hands to the next iteration
    switch: Optional[str] = None
    exits: List[str] = field(default_factory=list)


@dataclass
class _Loop:
    frame: str
    members: Set[str]
    predicate: str
    variables: Dict[str, _Variable]  # by the name of their Merge or Switch
    invariants: Dict[str, str]  # Enter -> the tensor it passes in (what its readers in a copy read)
    branch_constants: Set[str]  # Consts a tf.cond's Merge in the body reads: copied with their placement


def _frame(node) -> str:
    return attr(node, "frame_name").s.decode(errors="replace")


def _members(view: GraphView, enters: List) -> Optional[Set[str]]:
    """Every node of the frame the Enter nodes open; None when another loop is nested in it."""
    frame, members, stack = _frame(enters[0]), set(), [e.name for e in enters]
    while stack:
        name = stack.pop()
        if name in members:
            continue
        members.add(name)
        if view.nodes[name].op == "Exit":
            continue
        for consumer in view.consumers(name):
            if consumer.op == "Enter" and _frame(consumer) != frame:
                return None
            stack.append(consumer.name)
    return members


def _only_ordered_by(node, members: Set[str]) -> bool:
    """True for a computing node reached through a control edge alone: it may well run outside
    the loop, so the loop is left alone rather than taking it along."""
    if node.op in ("Const", "NoOp", "Enter"):
        return False
    return not any(node_name(t) in members for t in data_inputs(node.input))


def _loop(view: GraphView, enters: List) -> Optional[_Loop]:
    """The frame's structure, or None when it is not the plain shape TensorFlow's lowering makes."""
    members = _members(view, enters)
    if members is None:
        return None
    nodes = [view.nodes[name] for name in members]
    if any(n.name in view.keep and n.op != "Exit" for n in nodes):  # an Exit stays, as an Identity
        return None
    if any(_only_ordered_by(n, members) for n in nodes):
        return None
    conds = [n for n in nodes if n.op == "LoopCond"]
    if len(conds) != 1:
        return None
    invariants = {e.name: data_inputs(e.input)[0] for e in enters}
    variables: Dict[str, _Variable] = {}
    for merge in (n for n in nodes if n.op == "Merge"):
        sources = [view.producer(t) for t in data_inputs(merge.input)]
        if None in sources:
            return None
        ops = sorted(s.op for s in sources)
        if not {"Enter", "NextIteration"} & set(ops):
            continue  # a lowered tf.cond's Merge inside the body: copied with it
        if ops != ["Enter", "NextIteration"] or any(output_index(t) for t in data_inputs(merge.input)):
            return None
        enter = next(s for s in sources if s.op == "Enter")
        step = next(s for s in sources if s.op == "NextIteration")
        if attr(enter, "is_constant").b or enter.name not in members or step.name not in members:
            return None
        variables[merge.name] = _Variable(merge.name, data_inputs(enter.input)[0], data_inputs(step.input)[0])
    for switch in (n for n in nodes if n.op == "Switch"):
        data = data_inputs(switch.input)
        if node_name(data[1]) != conds[0].name:
            continue  # a lowered tf.cond's Switch inside the body: copied with it
        variable = variables.get(node_name(data[0]))
        if variable is None or variable.switch is not None:
            return None
        variable.switch = switch.name
        variables[switch.name] = variable
    for exit_node in (n for n in nodes if n.op == "Exit"):
        source = data_inputs(exit_node.input)[0]
        variable = variables.get(node_name(source))
        if variable is None or variable.switch != node_name(source) or output_index(source) != 0:
            return None
        variable.exits.append(exit_node.name)
    branch_constants = {
        node_name(t) for n in nodes if n.op == "Merge" and n.name not in variables
        for t in data_inputs(n.input) if view.producer(t) is not None and view.producer(t).op == "Const"
    }
    return _Loop(_frame(enters[0]), members, data_inputs(conds[0].input)[0], variables, invariants, branch_constants)


class _Evaluator:
    """Values of a frame's tensors in one iteration, from the loop variables' current values."""

    def __init__(self, view: GraphView, loop: _Loop, values: Dict[str, Optional[np.ndarray]]):
        self.view, self.loop, self.values, self.memo = view, loop, values, {}

    def __call__(self, tensor: str) -> Optional[np.ndarray]:
        if tensor not in self.memo:
            self.memo[tensor] = self._evaluate(tensor)
        return self.memo[tensor]

    def _evaluate(self, tensor: str) -> Optional[np.ndarray]:
        node = self.view.producer(tensor)
        if node is None:
            return None
        variable = self.loop.variables.get(node.name)
        if variable is not None:
            expected_output = 1 if node.op == "Switch" else 0
            return self.values.get(variable.merge) if output_index(tensor) == expected_output else None
        if node.name in self.loop.invariants:
            return self(self.loop.invariants[node.name])
        if node.op == "Const":
            return self.view.const_value(tensor)
        function = _CONDITION_OPS.get(node.op)
        folder = FOLDERS.get(node.op)
        if output_index(tensor) != 0 or (function is None and folder is None):
            return None
        inputs = [self(t) for t in data_inputs(node.input)]
        if not inputs or any(v is None for v in inputs):
            return None
        try:
            with np.errstate(all="ignore"):
                return np.asarray(function(*inputs) if function is not None else folder(node, inputs))
        except Exception:  # a folder refusing its inputs: the value is not known
            return None


def _trip_count(view: GraphView, loop: _Loop) -> Optional[int]:
    """How many times the body runs (up to MAX_ITERATIONS + 1), or None when that depends on data."""
    merges = {v.merge: v for v in loop.variables.values()}
    values = {name: _Evaluator(view, loop, {})(v.init) for name, v in merges.items()}
    for count in range(MAX_ITERATIONS + 2):
        evaluate = _Evaluator(view, loop, values)
        predicate = evaluate(loop.predicate)
        if predicate is None or predicate.size != 1:
            return None
        if not bool(predicate.reshape(-1)[0]) or count > MAX_ITERATIONS:
            return count
        values = {name: evaluate(v.next) for name, v in merges.items()}
    return None


def _body(view: GraphView, loop: _Loop, forwarded: Set[str]) -> Optional[List]:
    """The frame's nodes the next iteration's values need, inputs first; None if one reads the
    loop's condition or exit. Consts are shared by the copies, except those that something
    placed in the body reads (a tf.cond branch's constants and the pivots placing them)."""
    order: List = []
    seen: Set[str] = set()
    stack = [(node_name(v.next), False, False) for v in loop.variables.values()]
    while stack:
        name, expanded, placing = stack.pop()
        node = view.nodes[name]
        if expanded:
            order.append(node)
            continue
        if name in seen or name not in loop.members or name in loop.variables or name in loop.invariants:
            continue
        if node.op == "Const" and not placing and name not in loop.branch_constants:
            continue
        if node.op in _LOOP_OPS:
            return None
        seen.add(name)
        for tensor in data_inputs(node.input):
            variable = loop.variables.get(node_name(tensor))
            if variable is not None and output_index(tensor) != (1 if node_name(tensor) == variable.switch else 0):
                return None  # reads a Switch's exit branch, or a Merge's value_index
        if name not in forwarded:
            stack.append((name, True, False))
        stack.extend((node_name(t), False, is_control(t)) for t in _inputs_kept(view, node))
    return order


def _inputs_kept(view: GraphView, node) -> List[str]:
    """The inputs a copy of `node` keeps: its data inputs, and its control inputs when they are
    what places it (a constant in a lowered tf.cond's branch)."""
    placed = node.op == "Const" or pinned_by_control_inputs(view, node)
    return list(node.input) if placed else data_inputs(node.input)


def _forwarded(view: GraphView, loop: _Loop) -> Set[str]:
    """The frame's Identity nodes whose copies would only pass a value on: copies of their readers
    read that value instead, so a counter read through them folds to a constant. Kept: an
    Identity read through a control edge (a tf.cond branch's pivot, whose `^pivot` names its
    output 1 only as the Identity), and one placed by control inputs."""
    return {
        name for name in loop.members
        if view.nodes[name].op == "Identity" and data_inputs(view.nodes[name].input)
        and not pinned_by_control_inputs(view, view.nodes[name])
        and not any(t == control_input(name) for reader in view.consumers(name) for t in reader.input)
    }


def _unroll(view: GraphView, loop: _Loop, body: List, forwarded: Set[str], count: int) -> None:
    merges = {v.merge: v for v in loop.variables.values()}
    current = {name: v.init for name, v in merges.items()}
    for iteration in range(count):
        copies: Dict[str, str] = {}

        def mapped(tensor: str) -> str:
            if is_control(tensor):
                return control_input(node_name(mapped(node_name(tensor))))
            name, index = node_name(tensor), output_index(tensor)
            if name in forwarded:
                return mapped(data_inputs(view.nodes[name].input)[0])
            if name in loop.variables:
                return current[loop.variables[name].merge]
            if name in loop.invariants:
                return loop.invariants[name]
            if name in copies:
                return input_name(copies[name], index)
            return tensor

        for node in body:
            copy = view.add_node(view.unique_name(f"{node.name}/unrolled_{iteration}"), node.op,
                                 [mapped(t) for t in _inputs_kept(view, node)],
                                 {k: v for k, v in node.attr.items() if k != "_class"})
            copies[node.name] = copy.name
        current = {name: mapped(v.next) for name, v in merges.items()}
    for variable in merges.values():
        for exit_name in variable.exits:
            exit_node = view.nodes[exit_name]
            view.set_control_inputs(exit_node, [])
            view.set_input(exit_node, 0, current[variable.merge])
            exit_node.op = "Identity"
    variable_of = {e: v.merge for v in merges.values() for e in v.exits}
    exits = set(variable_of)
    doomed = {name for name in loop.members if name not in exits and view.nodes[name].op != "Const"}
    for name in doomed:
        for reader in list(view.consumers(name)):
            if reader.name not in doomed:  # a Const placed in the frame, a NoOp ordered after the body
                view.set_control_inputs(reader, [t for t in reader.input if is_control(t) and node_name(t) not in doomed])
    view.remove(doomed)
    for name in exits:  # an Exit no output keeps passes its value on: its readers read the value
        view.bypass(view.nodes[name], current[variable_of[name]])


def _loops_by_frame(view: GraphView) -> Dict[str, List]:
    frames: Dict[str, List] = {}
    for node in view.live_nodes(("Enter",)):
        frames.setdefault(_frame(node), []).append(node)
    return frames


@register("unroll_loops")
def unroll_loops(view: GraphView) -> int:
    unrolled: List[str] = []
    kept: List[str] = []
    budget = NODE_BUDGET
    progress = True
    while progress:
        progress = False
        for frame, enters in _loops_by_frame(view).items():
            loop = _loop(view, enters)
            if loop is None:
                continue
            forwarded = _forwarded(view, loop)
            body = _body(view, loop, forwarded)
            count = _trip_count(view, loop) if body is not None else None
            if count is None:
                continue
            if count > MAX_ITERATIONS or count * len(body) > budget:
                if frame not in kept:
                    kept.append(frame)
                continue
            _unroll(view, loop, body, forwarded, count)
            budget -= count * len(body)
            unrolled.append(f"{frame} ({count} iterations)")
            progress = True
    if unrolled:
        warnings.warn(f"unrolled {len(unrolled)} while loop(s) with a trip count known at conversion time into straight-line ops: "
                      + ", ".join(unrolled), LoopUnrollWarning, stacklevel=2)
    if kept:
        warnings.warn(f"kept {len(kept)} while loop(s) with a known trip count as loops: over {MAX_ITERATIONS} iterations or "
                      f"{NODE_BUDGET} copied nodes ({', '.join(kept)})", LoopUnrollWarning, stacklevel=2)
    return len(unrolled)
