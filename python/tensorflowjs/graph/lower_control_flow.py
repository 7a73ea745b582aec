"""Functional control flow (While, If, Case and their stateless forms) lowered to v1 frames while inlining.

TF.js runs v1 control flow (Enter/Merge/Switch/NextIteration/Exit/LoopCond) on every backend,
and the rewrites unroll such loops when their trip count is known (rewrites/unroll_loops.py).
TensorFlow's path gets these frames from its lowering pass; this module builds the same shape
as the inliner meets each functional op, with the cond/body/branch functions inlined in place.

A loop, for each loop variable i: Enter_i (into the loop's frame) -> Merge_i(Enter_i,
NextIteration_i) -> the inlined condition -> LoopCond; Switch_i(Merge_i, LoopCond), whose
output 0 leaves the loop (Exit_i) and whose output 1 is what the inlined body reads; the body's
output i goes to NextIteration_i. A captured variable the body hands back unchanged is no loop
variable: its reads are one constant, entered with an Enter whose is_constant is set.
A tf.cond: Switch(pred, pred) gives the two pivots (Identities of its outputs); each input goes
through Switch(input, pred), the then branch reading output 1 and the else branch output 0;
each output is Merge(then, else). A tf.switch_case (Case) is a chain of such conds on
index == k (TensorFlow's own lowering makes a _SwitchN, which TF.js does not have).
Nodes with no inputs (constants) in a condition, body or branch get a control input placing them
there: the loop's first Merge, the body's pivot (an Identity of the first Switch's output 1) or
the branch's pivot, as TensorFlow's inliner does. Unlike TensorFlow's pass, no LoopExecuted or
branch_executed markers are made: a frozen graph has no state to order, and TF.js cannot run
them (rewrites/drop_control_inputs.py says why).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Set

import numpy as np

from tensorflowjs import tf_protos
from tensorflowjs.graph import op_registry, tensors
from tensorflowjs.graph.graph_view import bool_attr, int_attr, string_attr, type_attr
from tensorflowjs.graph.inline import Inliner, NeedsTensorFlow, Value, Variable

_DT_BOOL = tf_protos.data_type("DT_BOOL")
_DT_INT32 = tf_protos.data_type("DT_INT32")
_DT_RESOURCE = tf_protos.data_type("DT_RESOURCE")

Handler = Callable[[Inliner, Any, List[Value], str], List[Value]]


def _add(inliner: Inliner, base: str, op: str, inputs: List[str], **attrs: Any) -> Any:
    node = inliner.graph_def.node.add(name=inliner.unique_name(base), op=op)
    node.input.extend(inputs)
    for key, value in attrs.items():
        node.attr[key].MergeFromString(value.SerializeToString())
    return node


def _function(inliner: Inliner, node: Any, attr: str, name: str) -> Any:
    return _function_named(inliner, node.attr[attr].func.name, name)


def _function_named(inliner: Inliner, function_name: str, name: str) -> Any:
    function = inliner.functions.get(function_name)
    if function is None:
        raise NeedsTensorFlow(f"{name} runs function {function_name!r}, which is not in the graph's library")
    return function


def _check_resources(inputs: List[Value], types: List[int], name: str) -> None:
    for value, dtype in zip(inputs, types):
        if dtype == _DT_RESOURCE and not isinstance(value, Variable):
            raise NeedsTensorFlow(f"{name} takes a resource that is not a variable (a table) into its control flow")


def _text(value: Value, what: str) -> str:
    if not isinstance(value, str):
        raise NeedsTensorFlow(f"{what} is a variable, not a computed tensor")
    return value


class _Scope:
    """The nodes one lowered op emitted after `start`: where they are placed, and what they read
    from outside (each read through one Enter or Switch made for it)."""

    def __init__(self, inliner: Inliner, start: int):
        self.inliner = inliner
        self.start = start

    def nodes(self, start: int, end: Optional[int] = None) -> List[Any]:
        return list(self.inliner.graph_def.node[start:end])

    def place(self, start: int, end: int, anchor: str) -> None:
        """Control input `^anchor` on each node with no inputs emitted in [start, end)."""
        constants = self.inliner.variable_constants
        for node in self.nodes(start, end):
            if not node.input and node.name not in constants:
                node.input.append("^" + anchor)

    def route_outside_reads(self, ranges: List[tuple], boundary: Set[str], bring_in: Callable[[str, Any], str]) -> Dict[Any, Callable[[str], str]]:
        """Rewire reads of nodes emitted before `start` (or of variable constants) by nodes in each
        (start, end, key) range through bring_in(tensor, key); returns, per key, the mapping for
        tensors the caller wires itself (outputs). `boundary`: nodes that read outside by design."""
        constants = self.inliner.variable_constants
        inside = {node.name for node in self.nodes(self.start)} - constants
        mappings = {}
        for start, end, key in ranges:
            def mapped(tensor: str, key=key) -> str:
                name = tensor.lstrip("^").split(":")[0]
                if name in inside:
                    return tensor
                brought = bring_in(tensor.lstrip("^"), key)
                return "^" + brought.split(":")[0] if tensor.startswith("^") else brought

            for node in self.nodes(start, end):
                if node.name in boundary or node.name in constants:
                    continue
                for index, tensor in enumerate(list(node.input)):
                    node.input[index] = mapped(tensor)
            mappings[key] = mapped
        return mappings


def _dtype_of_outside(inliner: Inliner, tensor: str) -> int:
    """The dtype of a tensor a lowered body or branch reads from outside it: a variable's
    constant, or (in a Case's chain of conds) the index test made before the chain."""
    name, _, index = tensor.partition(":")
    for node in inliner.graph_def.node:
        if node.name == name:
            if node.op == "Const":
                return node.attr["dtype"].type
            op_def = inliner.op_defs.get(node.op) or op_registry.op_defs().get(node.op)
            outputs = list(op_def.output_arg) if op_def is not None else []
            if len(outputs) == 1 and int(index or 0) == 0:
                return outputs[0].type or node.attr[outputs[0].type_attr].type
            break
    raise NeedsTensorFlow(f"control flow reads {tensor} from outside its function")


def lower_while(inliner: Inliner, node: Any, inputs: List[Value], name: str) -> List[Value]:
    """A While / StatelessWhile as a v1 loop; returns its outputs (Exits, or the variables it carries)."""
    cond, body = _function(inliner, node, "cond", name), _function(inliner, node, "body", name)
    types = list(node.attr["T"].list.type)
    if not len(inputs) == len(types) == len(body.signature.input_arg) == len(body.signature.output_arg):
        raise NeedsTensorFlow(f"{node.op} {name} has {len(inputs)} inputs for {len(types)} loop variables")
    _check_resources(inputs, types, name)
    if len(cond.signature.input_arg) != len(types) or len(cond.signature.output_arg) != 1:
        raise NeedsTensorFlow(f"{node.op} {name}: its condition takes {len(cond.signature.input_arg)} arguments for {len(types)} loop variables")
    passed_on = {i for i, (arg, out) in enumerate(zip(body.signature.input_arg, body.signature.output_arg)) if body.ret[out.name] == arg.name}
    if any(isinstance(v, Variable) and i not in passed_on for i, v in enumerate(inputs)):
        raise NeedsTensorFlow(f"{node.op} {name} carries a variable its body replaces")
    frame, parallel = inliner.unique_name(name), node.attr["parallel_iterations"].i or 10
    start = len(inliner.graph_def.node)
    carried = [i for i, v in enumerate(inputs) if not isinstance(v, Variable)]
    if not carried:
        raise NeedsTensorFlow(f"{node.op} {name} has no loop variables")
    frame_attrs = dict(frame_name=string_attr(frame), parallel_iterations=int_attr(parallel))
    enters = {i: _add(inliner, f"{frame}/enter", "Enter", [inputs[i]], T=type_attr(types[i]), is_constant=bool_attr(False), **frame_attrs)
              for i in carried}
    merges = {i: _add(inliner, f"{frame}/merge", "Merge", [enters[i].name, enters[i].name], T=type_attr(types[i]), N=int_attr(2))
              for i in carried}
    scope = _Scope(inliner, start)

    mark = len(inliner.graph_def.node)
    predicate = inliner.inline(cond.signature.name, [merges[i].name if i in merges else v for i, v in enumerate(inputs)], f"{frame}/cond/")
    scope.place(mark, len(inliner.graph_def.node), merges[carried[0]].name)
    loop_cond = _add(inliner, f"{frame}/LoopCond", "LoopCond", [_text(predicate[0], f"the condition of {name}")])
    switches = {i: _add(inliner, f"{frame}/switch", "Switch", [merges[i].name, loop_cond.name], T=type_attr(types[i])) for i in carried}
    exits = {i: _add(inliner, f"{frame}/exit", "Exit", [switches[i].name], T=type_attr(types[i])) for i in carried}
    pivot = _add(inliner, f"{frame}/loop_body_control", "Identity", [f"{switches[carried[0]].name}:1"], T=type_attr(types[carried[0]]))

    mark = len(inliner.graph_def.node)
    results = inliner.inline(body.signature.name, [f"{switches[i].name}:1" if i in switches else v for i, v in enumerate(inputs)], f"{frame}/body/")
    scope.place(mark, len(inliner.graph_def.node), pivot.name)
    for i in carried:
        step = _add(inliner, f"{frame}/next_iteration", "NextIteration", [_text(results[i], f"loop variable {i} of {name}")], T=type_attr(types[i]))
        merges[i].input[1] = step.name

    entered: Dict[str, str] = {}

    def enter(tensor: str, _key: Any) -> str:
        if tensor not in entered:
            entered[tensor] = _add(inliner, f"{frame}/enter_constant", "Enter", [tensor], T=type_attr(_dtype_of_outside(inliner, tensor)),
                                   is_constant=bool_attr(True), **frame_attrs).name
        return entered[tensor]

    scope.route_outside_reads([(start, None, frame)], {e.name for e in enters.values()}, enter)
    return [exits[i].name if i in exits else inputs[i] for i in range(len(inputs))]


def lower_if(inliner: Inliner, node: Any, inputs: List[Value], name: str) -> List[Value]:
    """An If / StatelessIf as Switch and Merge nodes around its two inlined branches."""
    then_branch, else_branch = _function(inliner, node, "then_branch", name), _function(inliner, node, "else_branch", name)
    if node.attr["Tcond"].type not in (0, _DT_BOOL):
        raise NeedsTensorFlow(f"{node.op} {name} branches on a {tf_protos.data_type_name(node.attr['Tcond'].type)}, not a bool")
    base = inliner.unique_name(name)
    return _lower_cond(inliner, node, base, _text(inputs[0], f"the predicate of {name}"), inputs[1:],
                       lambda arguments: inliner.inline(then_branch.signature.name, arguments, f"{base}/then/"),
                       lambda arguments: inliner.inline(else_branch.signature.name, arguments, f"{base}/else/"))


def lower_case(inliner: Inliner, node: Any, inputs: List[Value], name: str) -> List[Value]:
    """A Case / StatelessCase (tf.switch_case) as a chain of lowered conds: branch k when the
    index is k, the last branch otherwise (TensorFlow's rule for an index out of range).
    TensorFlow's lowering makes a _SwitchN, which TF.js does not have."""
    branches = [_function_named(inliner, f.name, name) for f in node.attr["branches"].list.func]
    if not branches:
        raise NeedsTensorFlow(f"{node.op} {name} has no branches")
    base = inliner.unique_name(name)
    index = _text(inputs[0], f"the branch index of {name}")
    predicates = []
    for k in range(len(branches) - 1):
        constant = inliner.graph_def.node.add(name=inliner.unique_name(f"{base}/index_{k}"))
        tensors.set_const(constant, np.array(k, np.int32))
        predicates.append(_add(inliner, f"{base}/is_{k}", "Equal", [index, constant.name], T=type_attr(_DT_INT32)).name)

    def chain(k: int, arguments: List[Value]) -> List[Value]:
        branch = lambda values: inliner.inline(branches[k].signature.name, values, f"{base}/branch_{k}/")  # noqa: E731
        if k == len(branches) - 1:
            return branch(arguments)
        return _lower_cond(inliner, node, f"{base}/case_{k}", predicates[k], arguments, branch, lambda values: chain(k + 1, values))

    return chain(0, inputs[1:])


def _lower_cond(inliner: Inliner, node: Any, base: str, predicate: str, arguments: List[Value],
                then_emit: Callable[[List[Value]], List[Value]], else_emit: Callable[[List[Value]], List[Value]]) -> List[Value]:
    """Switch(predicate, predicate) and its pivots, a Switch per argument, the two branches
    emitted on the switched arguments, a Merge per output."""
    in_types, out_types = list(node.attr["Tin"].list.type), list(node.attr["Tout"].list.type)
    if len(arguments) != len(in_types):
        raise NeedsTensorFlow(f"{node.op} {base} has {len(arguments)} inputs for {len(in_types)} types")
    _check_resources(arguments, in_types, base)
    start = len(inliner.graph_def.node)
    switch_pred = _add(inliner, f"{base}/switch_pred", "Switch", [predicate, predicate], T=type_attr(_DT_BOOL))
    pivots = {False: _add(inliner, f"{base}/pivot_f", "Identity", [switch_pred.name], T=type_attr(_DT_BOOL)),
              True: _add(inliner, f"{base}/pivot_t", "Identity", [f"{switch_pred.name}:1"], T=type_attr(_DT_BOOL))}
    switched: Dict[str, Any] = {}

    def switch(tensor: str, dtype: int) -> Any:
        if tensor not in switched:
            switched[tensor] = _add(inliner, f"{base}/switch", "Switch", [tensor, predicate], T=type_attr(dtype))
        return switched[tensor]

    then_args, else_args = [], []
    for value, dtype in zip(arguments, in_types):
        if isinstance(value, Variable):
            then_args.append(value)
            else_args.append(value)
            continue
        then_args.append(f"{switch(value, dtype).name}:1")
        else_args.append(switch(value, dtype).name)
    boundary = {switch_pred.name, *(n.name for n in switched.values())}
    scope = _Scope(inliner, start)
    marks = [len(inliner.graph_def.node)]
    then_results = then_emit(then_args)
    marks.append(len(inliner.graph_def.node))
    else_results = else_emit(else_args)
    marks.append(len(inliner.graph_def.node))
    scope.place(marks[0], marks[1], pivots[True].name)
    scope.place(marks[1], marks[2], pivots[False].name)

    def bring_in(tensor: str, taken: bool) -> str:
        node = switch(tensor, _dtype_of_outside(inliner, tensor))
        return f"{node.name}:1" if taken else node.name

    if not len(then_results) == len(else_results) == len(out_types):
        raise NeedsTensorFlow(f"{node.op} {base}: its branches return {len(then_results)} and {len(else_results)} values for {len(out_types)} outputs")
    mapped = scope.route_outside_reads([(marks[0], marks[1], True), (marks[1], marks[2], False)], boundary, bring_in)
    merges = []
    for index, dtype in enumerate(out_types):
        then_value = mapped[True](_text(then_results[index], f"output {index} of {base}'s true branch"))
        else_value = mapped[False](_text(else_results[index], f"output {index} of {base}'s false branch"))
        merges.append(_add(inliner, f"{base}/output", "Merge", [then_value, else_value], T=type_attr(dtype), N=int_attr(2)).name)
    return merges


HANDLERS: Dict[str, Handler] = {
    "While": lower_while, "StatelessWhile": lower_while, "If": lower_if, "StatelessIf": lower_if, "Case": lower_case, "StatelessCase": lower_case,
}


def drop_unread(graph_def: Any, keep: List[str]) -> None:
    """Removes what no node of `keep` depends on: a lowered loop has an Exit for every loop
    variable, where the model reads only some (not its counter, nor its bound)."""
    nodes = {node.name: node for node in graph_def.node}
    pending, needed = list(keep), set()
    while pending:
        name = pending.pop()
        if name in needed or name not in nodes:
            continue
        needed.add(name)
        pending.extend(t.lstrip("^").split(":")[0] for t in nodes[name].input)
    for index in reversed(range(len(graph_def.node))):  # deleting in place: rebuilding would copy every weight
        if graph_def.node[index].name not in needed:
            del graph_def.node[index]
