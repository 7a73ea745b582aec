"""--control_flow_v2 without TensorFlow: While/If kept as ops, their functions frozen into the library.

TF.js runs While, StatelessWhile, If and StatelessIf with the functions the model.json's library
holds. Each function an op runs is written frozen, as TensorFlow's freezing writes it: a
captured variable it takes becomes an argument of the variable's dtype (the op is given the
variable's constant), its reads of that argument read the value directly, and function calls
inside it are inlined (TF.js has no call op). The body is emitted by the same Inliner into a
scratch GraphDef whose Placeholders are the arguments, then written back in FunctionDef form
(inputs as "node:output_arg:index"). Nested control flow ops get their own frozen functions.
TF.js has no Case op: a tf.switch_case is lowered to a chain of v1 conds, as with default flags.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from tensorflowjs import tf_protos
from tensorflowjs.graph import lower_control_flow, op_registry, tensors
from tensorflowjs.graph.graph_view import types_attr
from tensorflowjs.graph.inline import Inliner, NeedsTensorFlow, Value, Variable
from tensorflowjs.tensor_names import unique_name

_DT_RESOURCE = tf_protos.data_type("DT_RESOURCE")

# Per op: its function attributes and the type-list attribute describing their arguments, and
# how many of the op's inputs come before those arguments (If's predicate).
_FUNCTIONAL = {
    "While": (("cond", "body"), "T", 0),
    "StatelessWhile": (("cond", "body"), "T", 0),
    "If": (("then_branch", "else_branch"), "Tin", 1),
    "StatelessIf": (("then_branch", "else_branch"), "Tin", 1),
}


def _variable_dtype(variable: Variable) -> int:
    value = variable.stored if variable.stored is not None else variable.load()
    return tensors.data_type_of(value.dtype)


class _Keeper:
    """Emits functional ops as they are, and their frozen functions into `library` (once per
    function and argument binding)."""

    def __init__(self, library: Any, source_library: Any, op_defs: Dict[str, Any]):
        self.library = library
        self.source_library = source_library
        self.op_defs = op_defs
        self.frozen: Dict[Tuple, str] = {}
        self.names = {f.signature.name for f in source_library.function}

    def __call__(self, inliner: Inliner, node: Any, inputs: List[Value], name: str) -> List[Value]:
        function_attrs, types_key, leading = _FUNCTIONAL[node.op]
        types = list(node.attr[types_key].list.type)
        arguments = inputs[leading:]
        if len(arguments) != len(types):
            raise NeedsTensorFlow(f"{node.op} {name} has {len(arguments)} inputs for {len(types)} types")
        variables = {i: v for i, v in enumerate(arguments) if isinstance(v, Variable)}
        if any(t == _DT_RESOURCE and i not in variables for i, t in enumerate(types)):
            raise NeedsTensorFlow(f"{name} takes a resource that is not a variable (a table) into its control flow")
        frozen_types = [_variable_dtype(variables[i]) if i in variables else t for i, t in enumerate(types)]
        node_inputs = [*inputs[:leading], *(inliner.variable_const(v, frozen_types[i]) if i in variables else v for i, v in enumerate(arguments))]
        if any(not isinstance(v, str) for v in node_inputs):
            raise NeedsTensorFlow(f"the predicate of {name} is a variable")
        copy = inliner.graph_def.node.add(name=inliner.unique_name(name), op=node.op)
        copy.input.extend(t[:-2] if t.endswith(":0") else t for t in node_inputs)
        for key, value in node.attr.items():
            if not key.startswith("_"):
                copy.attr[key].CopyFrom(value)
        copy.attr[types_key].MergeFromString(types_attr(frozen_types).SerializeToString())
        for key in function_attrs:
            copy.attr[key].func.name = self._function(node.attr[key].func.name, frozen_types, variables)
            copy.attr[key].func.attr.clear()
        if node.op in ("While", "StatelessWhile"):
            # A variable the loop carries comes out unchanged: readers after the loop read its value.
            return [variables[i] if i in variables else f"{copy.name}:{i}" if i else copy.name for i in range(len(types))]
        count = len(node.attr["Tout"].list.type)
        return [f"{copy.name}:{i}" if i else copy.name for i in range(count)]

    def _function(self, name: str, types: List[int], variables: Dict[int, Variable]) -> str:
        key = (name, tuple(types), tuple((i, id(v)) for i, v in sorted(variables.items())))
        if key not in self.frozen:
            self.frozen[key] = self._freeze(name, types, variables)
        return self.frozen[key]

    def _freeze(self, name: str, types: List[int], variables: Dict[int, Variable]) -> str:
        scratch = tf_protos.message_class("tensorflow.GraphDef")()
        inliner = Inliner(scratch, self.source_library, self.op_defs, control_flow=handlers_of(self))
        function = inliner.functions.get(name)
        if function is None:
            raise NeedsTensorFlow(f"function {name} is not in the graph's library")
        if len(function.signature.input_arg) != len(types) or not function.signature.output_arg:
            raise NeedsTensorFlow(f"function {name} takes {len(function.signature.input_arg)} arguments, given {len(types)}")
        arguments: List[Value] = []
        placeholders: List[str] = []
        for i, (arg, dtype) in enumerate(zip(function.signature.input_arg, types)):
            placeholder = scratch.node.add(name=inliner.unique_name(arg.name), op="Placeholder")
            placeholder.attr["dtype"].type = dtype
            placeholders.append(placeholder.name)
            if i in variables:
                inliner.bind_variable(variables[i], placeholder.name)
                arguments.append(variables[i])
            else:
                arguments.append(placeholder.name)
        results = inliner.inline(name, arguments)
        frozen_name = self._unique(f"{name}_frozen")
        definition = self.library.function.add()
        definition.signature.name = frozen_name
        for placeholder, dtype in zip(placeholders, types):
            definition.signature.input_arg.add(name=placeholder, type=dtype)
        writer = _FunctionForm(scratch, set(placeholders), self.op_defs)
        for out, value in zip(function.signature.output_arg, results):
            if isinstance(value, Variable):
                value = inliner.variable_const(value, _variable_dtype(value))
            definition.signature.output_arg.add(name=out.name, type=writer.dtype(value, out))
            definition.ret[out.name] = writer.tensor(value)
        for node in scratch.node:
            if node.name in placeholders:
                continue
            copy = definition.node_def.add()
            copy.CopyFrom(node)
            del copy.input[:]
            copy.input.extend(writer.tensor(t) for t in node.input)
        return frozen_name

    def _unique(self, base: str) -> str:
        name = unique_name(base, self.names)
        self.names.add(name)
        return name


class _FunctionForm:
    """GraphDef tensor names ("node:1") of a scratch graph as a FunctionDef names them."""

    def __init__(self, graph_def: Any, arguments: set, op_defs: Dict[str, Any]):
        self.nodes = {node.name: node for node in graph_def.node}
        self.arguments = arguments
        self.op_defs = op_defs

    def _op_def(self, node: Any) -> Any:
        op_def = self.op_defs.get(node.op) or op_registry.op_defs().get(node.op)
        if op_def is None:
            raise NeedsTensorFlow(f"op {node.op} has no definition")
        return op_def

    def _sizes(self, node: Any) -> List[Tuple[Any, int]]:
        return [(arg, node.attr[arg.number_attr].i if arg.number_attr else len(node.attr[arg.type_list_attr].list.type) if arg.type_list_attr else 1)
                for arg in self._op_def(node).output_arg]

    def tensor(self, tensor: str) -> str:
        if tensor.startswith("^"):
            return tensor
        name, _, index = tensor.partition(":")
        if name in self.arguments:
            return name
        position = int(index or 0)
        for arg, size in self._sizes(self.nodes[name]):
            if position < size:
                return f"{name}:{arg.name}:{position}"
            position -= size
        raise NeedsTensorFlow(f"{tensor} is not an output of {self.nodes[name].op}")

    def dtype(self, tensor: str, declared: Any) -> int:
        """The dtype of a function result: as declared, unless the function returned a variable
        (now its value)."""
        if declared.type != _DT_RESOURCE:
            return declared.type
        name = tensor.split(":")[0]
        node = self.nodes.get(name)
        if node is not None and node.op in ("Placeholder", "Const"):
            return node.attr["dtype"].type
        raise NeedsTensorFlow("a control flow function returns a resource that is not a variable")


def handlers_of(keeper: _Keeper) -> Dict[str, Any]:
    """Case has no TF.js op to keep: it is lowered to conds as with default flags."""
    return {**{op: keeper for op in _FUNCTIONAL}, "Case": lower_control_flow.lower_case, "StatelessCase": lower_control_flow.lower_case}


def handlers(library: Any, source_library: Any, op_defs: Dict[str, Any]) -> Dict[str, Any]:
    """The Inliner's control_flow handlers keeping functional ops; frozen functions go to `library`."""
    return handlers_of(_Keeper(library, source_library, op_defs))
