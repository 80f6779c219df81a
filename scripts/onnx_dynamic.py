#!/usr/bin/python3
"""onnx_dynamic.py IN.onnx OUT.onnx — derive a copy of a fixed-shape ONNX image
model whose batch, height and width are left open.

Run with Debian's interpreter (/usr/bin/python3) and its python3-onnx package.
Used by `postkit models install` for manifest entries with
"convert": {"from": "onnx-fixed-shape", ...}: BlazeFace's published files take
exactly one 256x256 picture; the model is fully convolutional, so the derived
copy sees a whole level of the detector's pyramid (e.g. 448x320) in one run
instead of four overlapping 256x256 tiles.

What is rewritten, and nothing else (any other shape-fixing construct stops
the derivation with its name, so a new model is never silently mis-derived):
- the graph input's dimensions become the symbols "batch", "height" and
  "width" (NHWC);
- a Reshape whose target shape is a constant [1, N, ...] gets 0 in its first
  place (ONNX: copy that dimension from the input) and -1 in its second (the
  anchor count follows the picture size);
- a ConstantOfShape of zeros shaped [1, ...] feeding only a Concat with one
  other tensor is the zero channels TF's Pad op added; it becomes a Pad of
  that tensor along the same axis, which follows the batch by itself;
- the stored intermediate shapes (value_info) are dropped and the outputs'
  first two dimensions become symbolic.

Weights and every other node are kept byte for byte, so at the original size
the copy computes the same function (at other sizes, the same convolutions
over a larger picture; sizes must be multiples of the largest stride); `postkit models install` checks that on the reference input
(max relative error within the manifest's tolerance) before it is accepted.
The output is deterministic (same input, same bytes), so its SHA-256 can be
pinned in the manifest.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

TOOL = "postkit-onnx_dynamic"
TOOL_VERSION = "1"


class DeriveError(Exception):
    pass


def consumers(graph, name):
    return [n for n in graph.node if name in n.input]


def set_symbolic(value_info, names):
    dims = value_info.type.tensor_type.shape.dim
    for index, symbol in names.items():
        if index >= len(dims):
            raise DeriveError(f"{value_info.name}: no dimension {index}")
        dims[index].Clear()
        dims[index].dim_param = symbol


def zero_block_as_pad(concat, zeros, inits):
    """Concat(x, zeros shaped [1, ...]) along an axis -> Pad(x) at the end of
    that axis: the same values, for any batch."""
    if zeros is None or len(concat.input) != 2:
        raise DeriveError(f"Concat {concat.name}: zeros that are not its last of two inputs")
    shape_name = zeros.input[0]
    if shape_name not in inits:
        raise DeriveError(f"ConstantOfShape {zeros.name}: shape is not a constant")
    shape = numpy_helper.to_array(inits[shape_name])
    value = [a for a in zeros.attribute if a.name == "value"]
    if value and np.any(numpy_helper.to_array(value[0].t) != 0):
        raise DeriveError(f"ConstantOfShape {zeros.name}: not zeros")
    if len(shape) == 0 or shape[0] != 1:
        raise DeriveError(f"ConstantOfShape {zeros.name}: shape {list(shape)} does not start with 1")
    axis = [a.i for a in concat.attribute if a.name == "axis"][0]
    rank = len(shape)
    axis = axis + rank if axis < 0 else axis
    pads = np.zeros(2 * rank, dtype=np.int64)
    pads[rank + axis] = shape[axis]
    pads_name = shape_name + "_as_pads"
    inits[shape_name].CopyFrom(numpy_helper.from_array(pads, pads_name))
    return helper.make_node("Pad", [concat.input[0], pads_name], list(concat.output), name=concat.name,
                            mode="constant")


def derive(model):
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in inits]
    if len(real_inputs) != 1 or len(real_inputs[0].type.tensor_type.shape.dim) != 4:
        raise DeriveError("expected one 4-d (NHWC) input")
    inp = real_inputs[0]
    if inp.type.tensor_type.shape.dim[0].dim_value != 1:
        raise DeriveError(f"input {inp.name}: batch is not fixed at 1")
    set_symbolic(inp, {0: "batch", 1: "height", 2: "width"})

    # The zero blocks TF's channel Pad became: ConstantOfShape -> Concat.
    zero_blocks = {n.output[0]: n for n in graph.node if n.op_type == "ConstantOfShape"}
    rewritten_shapes = set()
    new_nodes = []
    for node in graph.node:
        if node.op_type == "Reshape":
            shape_name = node.input[1]
            if shape_name not in inits:
                raise DeriveError(f"Reshape {node.name}: target shape is not a constant")
            if any(c.op_type != "Reshape" for c in consumers(graph, shape_name)):
                raise DeriveError(f"Reshape {node.name}: its shape constant has other uses")
            if shape_name not in rewritten_shapes:
                shape = numpy_helper.to_array(inits[shape_name]).copy()
                if shape.ndim != 1 or len(shape) < 2 or shape[0] != 1:
                    raise DeriveError(f"Reshape {node.name}: target {list(shape)} does not start with 1")
                if any(a.name == "allowzero" and a.i for a in node.attribute):
                    raise DeriveError(f"Reshape {node.name}: allowzero is set")
                if -1 in shape:
                    raise DeriveError(f"Reshape {node.name}: target {list(shape)} already has -1")
                shape[0] = 0
                shape[1] = -1
                inits[shape_name].CopyFrom(numpy_helper.from_array(shape.astype(np.int64), shape_name))
                rewritten_shapes.add(shape_name)
            new_nodes.append(node)
        elif node.op_type == "ConstantOfShape":
            users = consumers(graph, node.output[0])
            if len(users) != 1 or users[0].op_type != "Concat":
                raise DeriveError(f"ConstantOfShape {node.name}: not the zero padding of a Concat")
        elif node.op_type == "Concat" and any(i in zero_blocks for i in node.input):
            new_nodes.append(zero_block_as_pad(node, zero_blocks[node.input[-1]] if node.input[-1] in
                                               zero_blocks else None, inits))
        elif node.op_type in ("Expand", "Tile", "Slice", "Shape", "Resize", "Upsample", "Flatten"):
            raise DeriveError(f"{node.op_type} {node.name}: not handled")
        else:
            new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    del graph.value_info[:]
    for out in graph.output:
        set_symbolic(out, {0: "batch", 1: "anchors"})
    model.metadata_props.append(onnx.StringStringEntryProto(key="derived_by", value=f"{TOOL} {TOOL_VERSION}"))
    onnx.checker.check_model(model)
    return model


def main(argv):
    args = argv[1:]
    if len(args) != 2:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    try:
        model = derive(onnx.load(args[0]))
    except (DeriveError, onnx.checker.ValidationError) as e:
        print(f"onnx_dynamic: {args[0]}: {e}", file=sys.stderr)
        return 1
    with open(args[1], "wb") as f:
        f.write(model.SerializeToString())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
