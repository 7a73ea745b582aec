"""tensorflowjs.tensor_names: reading and making the tensor names a GraphDef's inputs hold.

Examples pin each rule; a property checks that every name made here reads back as the node,
output index and kind it was made from, for any node name TensorFlow accepts.
"""

import sys

import pytest
from hypothesis import given, strategies as st

from tensorflowjs.tensor_names import (
    control_input,
    control_inputs,
    data_inputs,
    full_name,
    input_name,
    is_control,
    node_name,
    output_index,
    short_name,
    tensor_name,
    unique_name,
    with_node,
)


@pytest.mark.parametrize("tensor,node,index,control", [
    ("a", "a", 0, False),
    ("a:0", "a", 0, False),
    ("a:2", "a", 2, False),
    ("^a", "a", 0, True),
    ("scope/conv_1/BiasAdd:1", "scope/conv_1/BiasAdd", 1, False),
    ("^scope/NoOp", "scope/NoOp", 0, True),
])
def test_reading_a_name(tensor, node, index, control):
    assert (node_name(tensor), output_index(tensor), is_control(tensor)) == (node, index, control)


def test_a_function_body_reference_names_its_node():
    # FunctionDef bodies write 'node:out_arg:index'; only the node part is read here.
    assert node_name("MatMul:product:0") == "MatMul"


def test_making_names():
    assert tensor_name("a") == "a:0" and tensor_name("a", 3) == "a:3"
    assert input_name("a") == "a" and input_name("a", 0) == "a" and input_name("a", 2) == "a:2"
    assert control_input("a") == "^a"


def test_full_and_short_names():
    assert [full_name(t) for t in ("a", "a:0", "a:1")] == ["a:0", "a:0", "a:1"]
    assert [short_name(t) for t in ("a", "a:0", "a:1", "a:10")] == ["a", "a", "a:1", "a:10"]


def test_with_node_keeps_the_kind_of_reference():
    assert [with_node(t, "p/b") for t in ("a", "a:1", "^a", "a:out:0")] == ["p/b", "p/b:1", "^p/b", "p/b:out:0"]


def test_data_and_control_inputs_keep_their_order():
    inputs = ["x", "^c1", "y:1", "^c2"]
    assert data_inputs(inputs) == ["x", "y:1"]
    assert control_inputs(inputs) == ["^c1", "^c2"]
    assert data_inputs(reversed(inputs)) == ["y:1", "x"]


# TensorFlow's node names: [A-Za-z0-9.][A-Za-z0-9_./>-]*
NODE_NAMES = st.from_regex(r"\A[A-Za-z0-9.][A-Za-z0-9_./>\-]{0,20}\Z")


@given(NODE_NAMES, st.integers(0, 1000))
def test_names_made_here_read_back(node, index):
    for made in (tensor_name(node, index), input_name(node, index)):
        assert (node_name(made), output_index(made), is_control(made)) == (node, index, False)
    assert full_name(input_name(node, index)) == tensor_name(node, index)
    assert short_name(tensor_name(node, index)) == input_name(node, index)
    control = control_input(node)
    assert (node_name(control), output_index(control), is_control(control)) == (node, 0, True)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))


def test_unique_name_counts_up_from_the_first_free_suffix():
    assert unique_name("a", set()) == "a"
    assert unique_name("a", {"a", "a_1"}) == "a_2"
    assert unique_name("a", {"a_1"}) == "a"
