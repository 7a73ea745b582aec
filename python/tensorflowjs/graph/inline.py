"""Function inlining without TensorFlow: a FunctionDef and every function it calls, as flat nodes.

A TF2 SavedModel keeps its computation in graph_def.library: the signature's function calls the
model's function (StatefulPartitionedCall), which reads captured variables. Inlining copies each
called body under the call's name ("call/node"), maps the callee's arguments to the caller's
tensors and variables to constants, and refuses (NeedsTensorFlow) anything it would have to run
or rewrite to freeze: stateful resources other than variables, and ops running functions of their
own (control flow) unless the caller passes handlers for them (lower_control_flow.py,
functional_control_flow.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Set, Tuple, Union

import numpy as np

from tensorflowjs import tf_protos
from tensorflowjs.graph import tensors
from tensorflowjs.tensor_names import input_name, is_control, node_name, short_name, unique_name

CALL_OPS = frozenset({"StatefulPartitionedCall", "PartitionedCall"})
# Pure renamings in a frozen inference graph: resolved to their inputs here, never emitted.
_ALIASES = frozenset({"Identity", "IdentityN"})
# Ops on a variable's handle that a constant can stand in for; every other resource op is refused.
_VARIABLE_READS = frozenset({"ReadVariableOp", "ResourceGather", "VariableShape"})
_TABLE_OPS = frozenset({"HashTableV2", "MutableHashTableV2"})
# v1 control flow a GraphDef may hold (tf.compat.v1 graphs): a Merge's input from a NextIteration
# is the loop's back edge, the one cycle a graph may have.
_V1_MERGES = frozenset({"Merge", "RefMerge"})
_V1_NEXT_ITERATIONS = frozenset({"NextIteration", "RefNextIteration"})
# What a control input placing a constant in a frame or branch comes from (through a pivot Identity).
_V1_PLACERS = frozenset({"Switch", "Merge", "Enter", "RefSwitch", "RefMerge", "RefEnter"})


class NeedsTensorFlow(Exception):
    """The graph holds something only TensorFlow can freeze; the message says what."""


@dataclass(eq=False)
class Variable:
    """A captured variable; its value is loaded only when a read of it becomes a Const."""

    name: str
    load: Callable[[], np.ndarray]
    # A TF1 reference variable (VariableV2) holding this DataType: every op reading it reads its value.
    ref_dtype: Optional[int] = None
    # Where the value lies in the checkpoint: a large one becomes a stored constant, never copied.
    stored: Optional[tensors.StoredTensor] = None


Value = Union[str, Variable]  # an emitted graph tensor ("node:1") or a captured variable


class Inliner:
    """Emits the flattened body of library functions into `graph_def` (top-level nodes)."""

    def __init__(self, graph_def: Any, library: Any, op_defs: Dict[str, Any], creates_tables: bool = False,
                 control_flow: Optional[Dict[str, Callable]] = None):
        """creates_tables: the functions inlined make and fill tables (a resource's initializer graph).
        control_flow: op -> handler(inliner, node, inputs, name) emitting a control flow op (While,
        If) and returning its outputs."""
        self.graph_def = graph_def
        self.creates_tables = creates_tables
        self.control_flow = control_flow or {}
        self.functions = {f.signature.name: f for f in library.function}
        self.op_defs = op_defs
        self.names = {node.name for node in graph_def.node}
        self._consts: Dict[int, str] = {}

    def unique_name(self, base: str) -> str:
        name = unique_name(base, self.names)
        self.names.add(name)
        return name

    @property
    def variable_constants(self) -> Set[str]:
        """The names of the nodes standing for variables' values (shared by every reader)."""
        return set(self._consts.values())

    def bind_variable(self, variable: Variable, tensor: str) -> None:
        """Reads of `variable` read `tensor` (a function argument holding its value)."""
        self._consts[id(variable)] = tensor

    def variable_const(self, variable: Variable, dtype: int) -> str:
        """The Const node holding a variable's value (one per variable, however often it is read)."""
        if id(variable) not in self._consts:
            value = variable.stored if variable.stored is not None else variable.load()
            if tensors.data_type_of(value.dtype) != dtype:
                raise NeedsTensorFlow(f"variable {variable.name} is read as {tf_protos.data_type_name(dtype)} but holds {value.dtype}")
            node = self.graph_def.node.add(name=self.unique_name(variable.name))
            tensors.set_const(node, value)
            self._consts[id(variable)] = node.name
        return self._consts[id(variable)]

    def _body(self, function_name: str, arguments: List[Value], prefix: str) -> Tuple[Any, "_Body"]:
        """The library function and a body that emits it with `arguments` bound to its inputs."""
        function = self.functions.get(function_name)
        if function is None:
            raise NeedsTensorFlow(f"function {function_name} is not in the graph's library")
        nodes = {node.name: node for node in function.node_def}
        bound = {arg.name: value for arg, value in zip(function.signature.input_arg, arguments)}
        return function, _Body(self, function_name, nodes, bound, prefix)

    def inline(self, function_name: str, arguments: List[Value], prefix: str = "") -> List[Value]:
        """Emits the function's nodes (names under `prefix`) and returns its outputs, in order."""
        function, body = self._body(function_name, arguments, prefix)
        outputs = [body.resolve(function.ret[arg.name]) for arg in function.signature.output_arg]
        body.check_no_lost_side_effects()
        return outputs

    def inline_effects(self, function_name: str, arguments: List[Value], prefix: str = "") -> List[str]:
        """Emits a function's stateful nodes (a table's fill) and what they read, not its outputs;
        returns their names, for a control dependency on them."""
        function, body = self._body(function_name, arguments, prefix)
        effects = [node for node in function.node_def if node.op != "NoOp" and getattr(self.op_defs.get(node.op), "is_stateful", True)]
        for node in effects:
            body._emit(node)
        return [body.copies[node.name] for node in effects if node.name in body.copies]

    def inline_graph(self, nodes: List[Any], outputs: List[str], bound: Dict[str, Value]) -> List[Value]:
        """Emits what `outputs` ('node', 'node:1') need of a GraphDef's nodes, under their own names,
        and returns those tensors. `bound` stands in for nodes not to copy (variables): their
        output 0. Nodes the outputs do not need are left out (a frozen graph pruned to its outputs).
        A graph with v1 frames keeps what places its constants there (_Body.frames)."""
        graph_nodes = {node.name: node for node in nodes}
        body = _Body(self, "the graph", graph_nodes, {}, "", frames=any(node.op in _V1_MERGES for node in nodes))
        body.outputs.update({name: [value] for name, value in bound.items()})
        results = [body.resolve(tensor) for tensor in outputs]
        body.close_back_edges()
        return results


class _Body:
    """One inlined copy of a function; nodes are emitted on demand, in dependency order."""

    def __init__(self, inliner: Inliner, function_name: str, nodes: Dict[str, Any], arguments: Dict[str, Value], prefix: str,
                 frames: bool = False):
        """frames: the nodes hold v1 control flow. A Merge is then emitted before the NextIteration
        it reads (its back edge, filled in by close_back_edges), and a node without data inputs
        (a constant) keeps the control inputs that place it in its loop frame or cond branch
        (from a Switch, Merge or Enter, or a pivot Identity of one), where TF.js must run it."""
        self.frames = frames
        self._back_edges: List[Tuple[Any, int, str]] = []  # (emitted Merge, input position, NextIteration tensor)
        self._anchors: Dict[str, str] = {}  # control input's node -> the emitted node standing for it
        self._placing: Set[str] = set()  # constants whose placing control inputs are being emitted
        self.inliner = inliner
        self.nodes = nodes
        self.arguments = arguments
        self.prefix = prefix
        self.outputs: Dict[str, List[Value]] = {}
        self.copies: Dict[str, str] = {}  # body node -> the name of its copy
        self.function_name = function_name

    def resolve(self, tensor: str) -> Value:
        """'x' (an argument) or 'node:out_arg:index' -> the emitted tensor or variable."""
        if tensor in self.arguments:
            return self.arguments[tensor]
        parts = tensor.split(":")
        node = self.nodes.get(parts[0])
        if node is None:
            raise NeedsTensorFlow(f"{self.function_name} reads {tensor}, which it does not define")
        outputs = self._emit(node)
        index = self._flat_index(node, parts[1], int(parts[2])) if len(parts) == 3 else int(parts[1]) if len(parts) == 2 else 0
        if index >= len(outputs):
            raise NeedsTensorFlow(f"{self.function_name}: {tensor} is not an output of {node.op}")
        return outputs[index]

    def close_back_edges(self) -> None:
        """Each Merge's back edge reads its NextIteration, emitted now (with the loop body it reads,
        which may hold inner loops' Merges)."""
        while self._back_edges:
            merge, position, tensor = self._back_edges.pop()
            value = self.resolve(tensor)
            if not isinstance(value, str):
                raise NeedsTensorFlow(f"{merge.name} reads variable {value.name} through a NextIteration")
            merge.input[position] = short_name(value)

    def _is_back_edge(self, node: Any, tensor: str) -> bool:
        source = self.nodes.get(node_name(tensor))
        return self.frames and node.op in _V1_MERGES and source is not None and source.op in _V1_NEXT_ITERATIONS

    def check_no_lost_side_effects(self) -> None:
        """Nodes no output depends on are left out; a stateful one (an assignment, a print) would
        be lost silently, so such a function is left to TensorFlow's path, which keeps it."""
        for node in self.nodes.values():
            if node.name in self.outputs or node.op in _VARIABLE_READS:
                continue
            op_def = self.inliner.op_defs.get(node.op)
            if node.op in self.inliner.functions or op_def is None or op_def.is_stateful:
                raise NeedsTensorFlow(f"{node.op} ({self.prefix}{node.name}) has effects no output depends on")

    def _flat_index(self, node: Any, arg_name: str, index: int) -> int:
        """Position of output `arg_name`[index] among the node's flat outputs."""
        position = 0
        for arg in self._output_args(node):
            if arg.name == arg_name:
                return position + index
            position += self._arg_size(node, arg)
        raise NeedsTensorFlow(f"{node.op} has no output {arg_name}")

    def _output_args(self, node: Any) -> List[Any]:
        if node.op in self.inliner.functions:
            return list(self.inliner.functions[node.op].signature.output_arg)
        op_def = self.inliner.op_defs.get(node.op)
        if op_def is None:
            raise NeedsTensorFlow(f"op {node.op} has no definition in the SavedModel")
        return list(op_def.output_arg)

    @staticmethod
    def _arg_size(node: Any, arg: Any) -> int:
        if arg.number_attr:
            return node.attr[arg.number_attr].i
        if arg.type_list_attr:
            return len(node.attr[arg.type_list_attr].list.type)
        return 1

    def _emit(self, node: Any) -> List[Value]:
        """Emits `node` after the body nodes it reads, depth-first with an explicit stack (deep
        models such as Xception chain more nodes than Python's recursion limit)."""
        stack = [(node, False)]
        on_path = set()
        while stack:
            current, inputs_done = stack.pop()
            if current.name in self.outputs:
                continue
            if inputs_done:
                on_path.discard(current.name)
                self.outputs[current.name] = self._emit_new(current)
                continue
            if current.name in on_path:
                raise NeedsTensorFlow(f"{self.function_name} has a cycle through {current.name}")
            on_path.add(current.name)
            stack.append((current, True))
            stack.extend((self.nodes[name], False) for name in self._body_inputs(current) if name not in self.outputs)
        return self.outputs[node.name]

    def _body_inputs(self, node: Any) -> List[str]:
        """Names of the body nodes whose outputs `node` reads (not arguments, not control inputs)."""
        names = []
        for tensor in node.input:
            if is_control(tensor) or tensor in self.arguments or self._is_back_edge(node, tensor):
                continue
            name = node_name(tensor)
            if name not in self.nodes:
                raise NeedsTensorFlow(f"{self.function_name} reads {tensor}, which it does not define")
            names.append(name)
        return names

    def _data_inputs(self, node: Any) -> List[Value]:
        """The node's data inputs resolved; a back edge stays the graph's name until close_back_edges."""
        return [t if self._is_back_edge(node, t) else self.resolve(t) for t in node.input if not is_control(t)]

    def _places(self, tensor: str) -> bool:
        """Whether the control input `^x` places a node in a frame or branch (others only order it)."""
        node, seen = self.nodes.get(node_name(tensor)), set()
        while node is not None and node.op in _ALIASES and node.input and node.name not in seen:
            seen.add(node.name)
            node = self.nodes.get(node_name(node.input[0]))
        return node is not None and node.op in _V1_PLACERS

    def _anchor(self, tensor: str) -> str:
        """The emitted node a control input `^x` stands for; an Identity (a cond's or loop body's
        pivot), which resolving would remove, is copied as it is."""
        name = node_name(tensor)
        if name not in self._anchors:
            node = self.nodes.get(name)
            if node is None:
                raise NeedsTensorFlow(f"{self.function_name} has a control input from {tensor}, which it does not define")
            outputs = self._emit(node)
            if node.op in _ALIASES and outputs and isinstance(outputs[0], str):
                self._anchors[name] = node_name(self._copy(node, outputs[:1])[0])
            elif name in self.copies:
                self._anchors[name] = self.copies[name]
            else:
                raise NeedsTensorFlow(f"{self.function_name}: control input {tensor} places nothing TF.js runs")
        return self._anchors[name]

    def _emit_new(self, node: Any) -> List[Value]:
        if node.op in CALL_OPS or node.op in self.inliner.functions:
            callee = node.attr["f"].func.name if node.op in CALL_OPS else node.op
            return self.inliner.inline(callee, self._data_inputs(node), f"{self.prefix}{node.name}/")
        inputs = self._data_inputs(node)
        if node.op in _ALIASES:
            return inputs
        handler = self.inliner.control_flow.get(node.op)
        if handler is not None:
            return handler(self.inliner, node, inputs, f"{self.prefix}{node.name}")
        if any(value.func.name or value.list.func for value in node.attr.values()):
            raise NeedsTensorFlow(f"{node.op} ({self.prefix}{node.name}) runs functions of its own (control flow)")
        if any(value.placeholder for value in node.attr.values()):
            raise NeedsTensorFlow(f"{node.op} ({self.prefix}{node.name}) takes attributes from its function's caller")
        if any(isinstance(v, Variable) and v.ref_dtype is not None for v in inputs):
            inputs = self._read_references(node, inputs)
        variables = [v for v in inputs if isinstance(v, Variable)]
        if variables:
            return [self._read_variable(node, variables[0], inputs)]
        if node.op in _TABLE_OPS and self.inliner.creates_tables:
            return self._copy(node, inputs)
        if node.op in {"VarHandleOp", *_TABLE_OPS} or node.op.startswith("Assign"):
            raise NeedsTensorFlow(f"{node.op} ({self.prefix}{node.name}) makes or changes state")
        return self._copy(node, inputs)

    def _read_references(self, node: Any, inputs: List[Value]) -> List[Value]:
        """A TF1 reference variable's value as a Const for an op reading it; an op taking it by
        reference (Assign, ApplyAdam) would change it: only TensorFlow freezes that."""
        op_def = self.inliner.op_defs.get(node.op)
        if op_def is None or any(arg.is_ref for arg in op_def.input_arg):
            raise NeedsTensorFlow(f"{node.op} ({self.prefix}{node.name}) changes a variable")
        return [self.inliner.variable_const(v, v.ref_dtype) if isinstance(v, Variable) and v.ref_dtype is not None else v for v in inputs]

    def _read_variable(self, node: Any, variable: Variable, inputs: List[Value]) -> Value:
        if node.op == "Enter":  # a TF1 loop taking a resource variable in: the same variable inside, read as its value
            return variable
        if node.op not in _VARIABLE_READS:
            raise NeedsTensorFlow(f"{node.op} ({self.prefix}{node.name}) uses variable {variable.name} in a way only TensorFlow can freeze")
        if node.op == "ReadVariableOp":
            return self.inliner.variable_const(variable, node.attr["dtype"].type)
        if inputs[0] is not variable:
            raise NeedsTensorFlow(f"{node.op} ({self.prefix}{node.name}) on variable {variable.name} is not frozen without TensorFlow")
        name = self.inliner.unique_name(f"{self.prefix}{node.name}")
        if node.op == "VariableShape":
            shape = np.asarray(variable.load().shape, dtype=tensors.numpy_dtype(node.attr["out_type"].type))
            tensors.set_const(self.inliner.graph_def.node.add(name=name), shape)
            return name
        # ResourceGather(variable, indices) reads rows of the value: GatherV2 on the constant.
        axis = self.inliner.unique_name(f"{name}/axis")
        tensors.set_const(self.inliner.graph_def.node.add(name=axis), np.asarray(0, np.int32))
        gather = self.inliner.graph_def.node.add(name=name, op="GatherV2")
        gather.input.extend([self.inliner.variable_const(variable, node.attr["dtype"].type), inputs[1], axis])
        gather.attr["Tparams"].type = node.attr["dtype"].type
        gather.attr["Tindices"].type = node.attr["Tindices"].type
        gather.attr["Taxis"].type = 3
        gather.attr["batch_dims"].i = node.attr["batch_dims"].i
        return name

    def _copy(self, node: Any, inputs: List[Value]) -> List[Value]:
        name = self.inliner.unique_name(f"{self.prefix}{node.name}")
        self.copies[node.name] = name
        copy = self.inliner.graph_def.node.add(name=name, op=node.op)
        copy.input.extend(short_name(value) for value in inputs)
        for key, value in node.attr.items():
            if not key.startswith("_"):
                copy.attr[key].CopyFrom(value)
        # SavedModels strip attributes equal to their defaults; TF.js reads them (dilations...).
        op_def = self.inliner.op_defs.get(node.op)
        for attr_def in op_def.attr if op_def is not None else ():
            if attr_def.name not in copy.attr and attr_def.HasField("default_value"):
                copy.attr[attr_def.name].CopyFrom(attr_def.default_value)
        if self.frames and node.op in _V1_MERGES:
            data = [t for t in node.input if not is_control(t)]
            self._back_edges.extend((copy, i, t) for i, t in enumerate(data) if self._is_back_edge(node, t))
        if self.frames and not any(not is_control(t) for t in node.input):
            if node.name in self._placing:
                raise NeedsTensorFlow(f"{self.function_name} has a cycle through the control inputs of {node.name}")
            self._placing.add(node.name)
            copy.input.extend(f"^{self._anchor(t)}" for t in node.input if is_control(t) and self._places(t))
            self._placing.discard(node.name)
        count = sum(self._arg_size(node, arg) for arg in self._output_args(node))
        return [input_name(name, i) for i in range(count)]
