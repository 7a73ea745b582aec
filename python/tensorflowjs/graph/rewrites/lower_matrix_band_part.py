"""MatrixBandPart -> SelectV2 on a band mask built from Range: TF.js 4.22 computes it wrong.

TF.js's op mapping reads num_upper from input 1, the same input as num_lower, so
tf.linalg.band_part(x, -1, 0) (Keras's tril, the causal attention mask) keeps the whole matrix
instead of its lower triangle, silently, on every backend. The band is rebuilt from the
matrix's run-time row and column counts: keep x[..., i, j] where i - j <= num_lower (when
num_lower >= 0) and j - i <= num_upper (when num_upper >= 0), else 0 (a bool matrix is and-ed with the band instead: TF.js WASM's Select
gets bool values wrong).
"""

from __future__ import annotations

from typing import List

import numpy as np

from tensorflowjs.graph.rewrites.registry import register
from tensorflowjs.graph.graph_view import GraphView, attr, int_attr, type_attr

INT32 = 3  # DataType DT_INT32
BOOL = 10  # DataType DT_BOOL


@register("lower_matrix_band_part")
def lower_matrix_band_part(view: GraphView) -> int:
    count = 0
    for node in view.live_nodes(["MatrixBandPart"]):
        lower, upper = view.const_value(node.input[1]), view.const_value(node.input[2])
        if lower is None or upper is None or lower.size != 1 or upper.size != 1:
            continue
        _Lowering(view, node.name).run(node.input[0], int(lower.reshape(-1)[0]), int(upper.reshape(-1)[0]), attr(node, "T").type)
        count += 1
    return count


class _Lowering:
    """Emits the replacement ops under the MatrixBandPart's name, which its readers keep using."""

    def __init__(self, view: GraphView, name: str):
        self.view, self.name = view, name

    def run(self, x: str, lower: int, upper: int, dtype: int) -> None:
        view, name = self.view, self.name
        shape = self._emit("shape", "Shape", [x], {"T": type_attr(dtype), "out_type": type_attr(INT32)})
        view.remove([name])  # after Shape reads x, so a constant x is not dropped as orphaned
        rows, cols = self._size(shape, -2), self._size(shape, -1)
        zero, one = self._const("zero", np.int32(0)), self._const("one", np.int32(1))
        index = {"Tidx": type_attr(INT32)}
        row = self._emit("row", "Range", [zero, rows, one], index)
        row = self._emit("row_column", "ExpandDims", [row, self._const("minus_one", np.int32(-1))], {"T": type_attr(INT32), "Tdim": type_attr(INT32)})
        col = self._emit("col", "Range", [zero, cols, one], index)
        offset = self._emit("offset", "Sub", [row, col], {"T": type_attr(INT32)})  # i - j
        conditions: List[str] = []
        if lower >= 0:
            conditions.append(self._emit("below", "LessEqual", [offset, self._const("lower", np.int32(lower))], {"T": type_attr(INT32)}))
        if upper >= 0:
            conditions.append(self._emit("above", "GreaterEqual", [offset, self._const("upper", np.int32(-upper))], {"T": type_attr(INT32)}))
        if not conditions:
            view.add_node(name, "Identity", [x], {"T": type_attr(dtype)})
            return
        band = conditions[0] if len(conditions) == 1 else self._emit("band", "LogicalAnd", conditions, {})
        if dtype == BOOL:  # TF.js WASM's Select mangles bool values; a bool matrix needs no Select
            view.add_node(name, "LogicalAnd", [x, band], {})
            return
        zeros = self._emit("zeros", "ZerosLike", [x], {"T": type_attr(dtype)})
        view.add_node(name, "SelectV2", [band, x, zeros], {"T": type_attr(dtype)})

    def _size(self, shape: str, axis: int) -> str:
        begin, end = self._const(f"begin{axis}", np.int32([axis])), self._const(f"end{axis}", np.int32([axis + 1 or 0]))
        attrs = {"T": type_attr(INT32), "Index": type_attr(INT32), "shrink_axis_mask": int_attr(1),
                 "begin_mask": int_attr(0), "end_mask": int_attr(0 if axis + 1 else 1), "ellipsis_mask": int_attr(0),
                 "new_axis_mask": int_attr(0)}
        return self._emit(f"size{axis}", "StridedSlice", [shape, begin, end, self._const(f"stride{axis}", np.int32([1]))], attrs)

    def _const(self, suffix: str, value: np.ndarray) -> str:
        return self.view.add_const(f"{self.name}/{suffix}", np.asarray(value)).name

    def _emit(self, suffix: str, op: str, inputs: List[str], attrs) -> str:
        return self.view.add_node(self.view.unique_name(f"{self.name}/{suffix}"), op, inputs, attrs).name

