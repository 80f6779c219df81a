#!/usr/bin/python3
"""tfjs2onnx.py MODEL.json OUT.onnx — convert a TF.js graph model to ONNX.

Run with Debian's interpreter (/usr/bin/python3) and its python3-onnx and
python3-numpy packages. Used by `postkit models install` at install time.

The ONNX model keeps the TF.js model's interface: same input names, NHWC
layout, float32, a dynamic batch dimension where TF.js has one, and the
outputs named in the model's signature (or, without one, every node nobody
consumes), in that order. Inside, each convolution and pooling runs in ONNX's
NCHW layout between two Transposes; ONNX Runtime's optimiser cancels the
pairs, so this costs nothing at run time and keeps every other op in TF's own
layout and broadcasting rules.

Weights stored as float16 or uint8/uint16 with a scale are expanded to
float32 exactly as TF.js does. The output is deterministic: the same input
files give the same bytes (no timestamps, stable names and order), so its
SHA-256 can be pinned in postkit's manifest.

Only the ops the models in postkit's manifest use are mapped, plus a few
close relatives; any other op stops the conversion with its name.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
PRODUCER = "postkit-tfjs2onnx"
PRODUCER_VERSION = "1"


class ConversionError(Exception):
    pass


def decode_attr_string(value):
    """TF.js stores attribute strings base64-encoded."""
    import base64
    return base64.b64decode(value).decode("ascii")


def attr_s(node, name, default=None):
    a = node.get("attr", {}).get(name)
    if a is None or "s" not in a:
        return default
    return decode_attr_string(a["s"])


def attr_list_s(node, name):
    a = node.get("attr", {}).get(name, {}).get("list", {})
    return [decode_attr_string(s) for s in a.get("s", [])]


def attr_list_i(node, name):
    a = node.get("attr", {}).get(name, {}).get("list", {})
    return [int(i) for i in a.get("i", [])]


def attr_b(node, name, default=False):
    a = node.get("attr", {}).get(name)
    return bool(a.get("b", default)) if a else default


def attr_f(node, name, default=0.0):
    a = node.get("attr", {}).get(name)
    return float(a.get("f", default)) if a else default


DTYPES = {"float32": (np.float32, 4), "int32": (np.int32, 4), "bool": (np.bool_, 1)}
QUANT = {"float16": (np.float16, 2), "uint8": (np.uint8, 1), "uint16": (np.uint16, 2)}


def load_weights(model, folder):
    """Every weight of the manifest as a numpy array, by name."""
    weights = {}
    for group in model["weightsManifest"]:
        data = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant:
                qtype, qsize = QUANT[quant["dtype"]]
                raw = np.frombuffer(data, dtype=qtype, count=count, offset=offset)
                offset += count * qsize
                if quant["dtype"] == "float16":
                    values = raw.astype(np.float32)
                else:
                    values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
                dtype = DTYPES[spec.get("dtype", "float32")][0]
                values = values.astype(dtype)
            else:
                if spec["dtype"] not in DTYPES:
                    raise ConversionError("weight %s: unsupported dtype %s" % (spec["name"], spec["dtype"]))
                dtype, size = DTYPES[spec["dtype"]]
                values = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
                offset += count * size
            weights[spec["name"]] = values.reshape(shape).copy()
        if offset != len(data):
            raise ConversionError("weights: %d bytes described, %d present" % (offset, len(data)))
    return weights


def signature_outputs(model):
    for holder in (model, model.get("userDefinedMetadata") or {}):
        sig = holder.get("signature")
        if sig and sig.get("outputs"):
            return [o.get("name", k).split(":")[0] for k, o in sig["outputs"].items()]
    return None


class Converter:
    def __init__(self, model, weights):
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.order = [n["name"] for n in model["modelTopology"]["node"]]
        self.weights = weights
        self.onnx_nodes = []
        self.initializers = {}
        self.counter = 0

    # -- helpers --
    def fresh(self, base):
        self.counter += 1
        return "%s/_onnx_%d" % (base, self.counter)

    def add(self, op, inputs, outputs, name, **attrs):
        self.onnx_nodes.append(helper.make_node(op, inputs, outputs, name=name, **attrs))

    def const_value(self, ref):
        name = ref.split(":")[0]
        node = self.nodes.get(name)
        if node is None or node["op"] != "Const":
            raise ConversionError("expected a constant for %s" % ref)
        return self.weights[name]

    def int64_initializer(self, base, values):
        name = self.fresh(base)
        self.initializers[name] = numpy_helper.from_array(np.asarray(values, dtype=np.int64), name)
        return name

    def tensor(self, ref):
        """ONNX name of a TF tensor reference ("node" or "node:0")."""
        name, _, index = ref.partition(":")
        if index not in ("", "0"):
            raise ConversionError("multi-output node %s is not supported" % name)
        node = self.nodes[name]
        if node["op"] == "Const" and name not in self.initializers:
            value = self.weights[name]
            if value.dtype == np.int32:
                value = value.astype(np.int64)
            self.initializers[name] = numpy_helper.from_array(value, name)
        return name

    def data_inputs(self, node):
        return [i for i in node.get("input", []) if not i.startswith("^")]

    def to_nchw(self, x, base):
        y = self.fresh(base)
        self.add("Transpose", [x], [y], y, perm=[0, 3, 1, 2])
        return y

    def to_nhwc(self, x, out, base):
        self.add("Transpose", [x], [out], self.fresh(base), perm=[0, 2, 3, 1])

    def activation(self, kind, x, out, node, extra):
        name = node["name"]
        if kind is None:
            self.add("Identity", [x], [out], self.fresh(name))
        elif kind == "Relu":
            self.add("Relu", [x], [out], self.fresh(name))
        elif kind == "Relu6":
            lo = self.float_initializer(name, 0.0)
            hi = self.float_initializer(name, 6.0)
            self.add("Clip", [x, lo, hi], [out], self.fresh(name))
        elif kind == "Elu":
            self.add("Elu", [x], [out], self.fresh(name))
        elif kind == "Sigmoid":
            self.add("Sigmoid", [x], [out], self.fresh(name))
        elif kind == "Tanh":
            self.add("Tanh", [x], [out], self.fresh(name))
        elif kind == "LeakyRelu":
            self.add("LeakyRelu", [x], [out], self.fresh(name), alpha=attr_f(node, "leakyrelu_alpha", 0.2))
        elif kind == "Prelu":
            if not extra:
                raise ConversionError("%s: Prelu without its alpha" % name)
            self.add("PRelu", [x, self.tensor(extra[0])], [out], self.fresh(name))
        else:
            raise ConversionError("%s: unsupported fused activation %s" % (name, kind))

    def float_initializer(self, base, value):
        name = self.fresh(base)
        self.initializers[name] = numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)
        return name

    def split_fused(self, node):
        """(bias input or None, activation or None, extra args) of a fused op."""
        ops = attr_list_s(node, "fused_ops")
        args = self.data_inputs(node)[2:]
        bias, act = None, None
        for op in ops:
            if op == "BiasAdd":
                bias = args.pop(0)
            elif op in ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu", "Prelu"):
                act = op
            else:
                raise ConversionError("%s: unsupported fused op %s" % (node["name"], op))
        return bias, act, args

    def padding(self, node, attrs, spatial):
        pad = attr_s(node, "padding", "VALID")
        if pad == "SAME":
            attrs["auto_pad"] = "SAME_UPPER"
        elif pad == "VALID":
            attrs["auto_pad"] = "VALID"
        elif pad == "EXPLICIT":
            p = attr_list_i(node, "explicit_paddings")  # NHWC pairs
            attrs["pads"] = [p[2], p[4], p[3], p[5]]
        else:
            raise ConversionError("%s: padding %s" % (node["name"], pad))

    def conv(self, node, depthwise):
        name = node["name"]
        if attr_s(node, "data_format", "NHWC") != "NHWC":
            raise ConversionError("%s: only NHWC convolutions are supported" % name)
        x, w = self.data_inputs(node)[:2]
        kernel = self.const_value(w).astype(np.float32)
        kh, kw, cin, cout = kernel.shape
        if depthwise:
            # [kh, kw, C, M] -> [C*M, 1, kh, kw]; TF's output channel is c*M + m.
            weight = kernel.reshape(kh, kw, cin * cout).transpose(2, 0, 1)[:, None, :, :]
            group = cin
        else:
            weight = kernel.transpose(3, 2, 0, 1)
            group = 1
        wname = name + "/_onnx_weight"
        self.initializers[wname] = numpy_helper.from_array(np.ascontiguousarray(weight), wname)
        inputs = [self.to_nchw(self.tensor(x), name), wname]
        bias, act, extra = (None, None, [])
        if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            bias, act, extra = self.split_fused(node)
        if bias is not None:
            b = self.const_value(bias).astype(np.float32).reshape(-1)
            bname = name + "/_onnx_bias"
            self.initializers[bname] = numpy_helper.from_array(b, bname)
            inputs.append(bname)
        strides = attr_list_i(node, "strides") or [1, 1, 1, 1]
        dil = attr_list_i(node, "dilations") or [1, 1, 1, 1]
        attrs = {"strides": strides[1:3], "dilations": dil[1:3], "group": group,
                 "kernel_shape": [kh, kw]}
        self.padding(node, attrs, 2)
        y = self.fresh(name)
        self.add("Conv", inputs, [y], self.fresh(name), **attrs)
        pre = self.fresh(name)
        self.to_nhwc(y, pre, name)
        self.activation(act, pre, name, node, extra)

    def pool(self, node, kind):
        name = node["name"]
        ksize = attr_list_i(node, "ksize")
        strides = attr_list_i(node, "strides")
        attrs = {"kernel_shape": ksize[1:3], "strides": strides[1:3]}
        self.padding(node, attrs, 2)
        x = self.to_nchw(self.tensor(self.data_inputs(node)[0]), name)
        y = self.fresh(name)
        self.add(kind, [x], [y], self.fresh(name), **attrs)
        self.to_nhwc(y, name, name)

    def matmul(self, node):
        name = node["name"]
        ins = self.data_inputs(node)
        a, b = self.tensor(ins[0]), self.tensor(ins[1])
        if attr_b(node, "transpose_a"):
            t = self.fresh(name)
            self.add("Transpose", [a], [t], t, perm=[1, 0])
            a = t
        if attr_b(node, "transpose_b"):
            t = self.fresh(name)
            self.add("Transpose", [b], [t], t, perm=[1, 0])
            b = t
        bias, act, extra = (None, None, [])
        if node["op"] == "_FusedMatMul":
            bias, act, extra = self.split_fused(node)
        y = self.fresh(name)
        self.add("MatMul", [a, b], [y], self.fresh(name))
        if bias is not None:
            z = self.fresh(name)
            self.add("Add", [y, self.tensor(bias)], [z], self.fresh(name))
            y = z
        self.activation(act, y, name, node, extra)

    def reduce(self, node, onnx_op, axes_as_input):
        name = node["name"]
        x, axes_ref = self.data_inputs(node)[:2]
        axes = [int(a) for a in np.asarray(self.const_value(axes_ref)).reshape(-1)]
        keep = 1 if attr_b(node, "keep_dims") else 0
        if axes_as_input:
            self.add(onnx_op, [self.tensor(x), self.int64_initializer(name, axes)], [name],
                     self.fresh(name), keepdims=keep)
        else:
            self.add(onnx_op, [self.tensor(x)], [name], self.fresh(name), axes=axes, keepdims=keep)

    def convert_node(self, node):
        op, name = node["op"], node["name"]
        ins = self.data_inputs(node)
        unary = {"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Abs": "Abs", "Exp": "Exp",
                 "Sqrt": "Sqrt", "Neg": "Neg", "Identity": "Identity", "Elu": "Elu",
                 "Reciprocal": "Reciprocal", "Floor": "Floor"}
        binary = {"Add": "Add", "AddV2": "Add", "BiasAdd": "Add", "Sub": "Sub", "Mul": "Mul",
                  "RealDiv": "Div", "Div": "Div", "Minimum": "Min", "Maximum": "Max", "Pow": "Pow"}
        if op in ("Const", "Placeholder"):
            return
        if op in unary:
            self.add(unary[op], [self.tensor(ins[0])], [name], self.fresh(name))
        elif op in binary:
            self.add(binary[op], [self.tensor(ins[0]), self.tensor(ins[1])], [name], self.fresh(name))
        elif op == "Relu6":
            self.activation("Relu6", self.tensor(ins[0]), name, node, [])
        elif op == "LeakyRelu":
            self.add("LeakyRelu", [self.tensor(ins[0])], [name], self.fresh(name), alpha=attr_f(node, "alpha", 0.2))
        elif op == "Prelu":
            self.add("PRelu", [self.tensor(ins[0]), self.tensor(ins[1])], [name], self.fresh(name))
        elif op == "Square":
            x = self.tensor(ins[0])
            self.add("Mul", [x, x], [name], self.fresh(name))
        elif op == "Rsqrt":
            s = self.fresh(name)
            self.add("Sqrt", [self.tensor(ins[0])], [s], self.fresh(name))
            self.add("Reciprocal", [s], [name], self.fresh(name))
        elif op == "Softmax":
            self.add("Softmax", [self.tensor(ins[0])], [name], self.fresh(name), axis=-1)
        elif op in ("Conv2D", "_FusedConv2D"):
            self.conv(node, depthwise=False)
        elif op in ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            self.conv(node, depthwise=True)
        elif op == "MaxPool":
            self.pool(node, "MaxPool")
        elif op == "AvgPool":
            self.pool(node, "AveragePool")
        elif op in ("MatMul", "_FusedMatMul"):
            self.matmul(node)
        elif op == "Mean":
            self.reduce(node, "ReduceMean", axes_as_input=False)
        elif op == "Max":
            self.reduce(node, "ReduceMax", axes_as_input=False)
        elif op == "Sum":
            self.reduce(node, "ReduceSum", axes_as_input=True)
        elif op == "Squeeze":
            dims = attr_list_i(node, "squeeze_dims")
            if not dims:
                raise ConversionError("%s: Squeeze without explicit dims" % name)
            self.add("Squeeze", [self.tensor(ins[0]), self.int64_initializer(name, dims)], [name], self.fresh(name))
        elif op == "Reshape":
            shape = np.asarray(self.const_value(ins[1])).reshape(-1)
            self.add("Reshape", [self.tensor(ins[0]), self.int64_initializer(name, shape)], [name], self.fresh(name))
        elif op == "ConcatV2":
            axis = int(np.asarray(self.const_value(ins[-1])).reshape(-1)[0])
            self.add("Concat", [self.tensor(i) for i in ins[:-1]], [name], self.fresh(name), axis=axis)
        elif op in ("Pad", "PadV2"):
            pads = np.asarray(self.const_value(ins[1])).reshape(-1, 2)
            onnx_pads = list(pads[:, 0]) + list(pads[:, 1])
            inputs = [self.tensor(ins[0]), self.int64_initializer(name, onnx_pads)]
            if op == "PadV2":
                inputs.append(self.tensor(ins[2]))
            self.add("Pad", inputs, [name], self.fresh(name))
        else:
            raise ConversionError("%s: TF op %s is not supported by this converter" % (name, op))

    def run(self, outputs):
        # Depth-first from the outputs: topological order, unused nodes dropped.
        order, state = [], {}
        for out in outputs:
            stack = [(out, False)]
            while stack:
                name, done = stack.pop()
                if done:
                    if state.get(name) != 2:
                        state[name] = 2
                        order.append(name)
                    continue
                if state.get(name):
                    continue
                if name not in self.nodes:
                    raise ConversionError("graph refers to a missing node %s" % name)
                state[name] = 1
                stack.append((name, True))
                for ref in reversed(self.data_inputs(self.nodes[name])):
                    dep = ref.split(":")[0]
                    if not state.get(dep):
                        stack.append((dep, False))
        for name in order:
            self.convert_node(self.nodes[name])
        return order


def placeholder_info(node):
    dtype = node.get("attr", {}).get("dtype", {}).get("type", "DT_FLOAT")
    if dtype != "DT_FLOAT":
        raise ConversionError("input %s: only float inputs are supported" % node["name"])
    dims = node.get("attr", {}).get("shape", {}).get("shape", {}).get("dim", [])
    shape = []
    for i, d in enumerate(dims):
        size = int(d.get("size", -1))
        shape.append("batch" if size < 0 and i == 0 else (None if size < 0 else size))
    return helper.make_tensor_value_info(node["name"], TensorProto.FLOAT, shape)


def convert(json_path, out_path):
    folder = os.path.dirname(os.path.abspath(json_path))
    with open(json_path) as f:
        model = json.load(f)
    if model.get("format") not in (None, "graph-model"):
        raise ConversionError("not a TF.js graph model (format %s)" % model.get("format"))
    weights = load_weights(model, folder)
    conv = Converter(model, weights)
    outputs = signature_outputs(model)
    if not outputs:
        consumed = set()
        for n in model["modelTopology"]["node"]:
            for i in n.get("input", []):
                consumed.add(i.lstrip("^").split(":")[0])
        outputs = [n["name"] for n in model["modelTopology"]["node"]
                   if n["name"] not in consumed and n["op"] not in ("Const", "Placeholder")]
    order = conv.run(outputs)
    placeholders = [conv.nodes[n] for n in conv.order if conv.nodes[n]["op"] == "Placeholder" and n in order]
    graph = helper.make_graph(
        conv.onnx_nodes,
        os.path.splitext(os.path.basename(json_path))[0],
        [placeholder_info(p) for p in placeholders],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        initializer=[conv.initializers[k] for k in sorted(conv.initializers)],
    )
    onnx_model = helper.make_model(graph, producer_name=PRODUCER, producer_version=PRODUCER_VERSION,
                                   opset_imports=[helper.make_opsetid("", OPSET)])
    onnx_model.ir_version = 8
    # Declare the outputs' shapes (ONNX shape inference), so a runtime can
    # tell its callers what to expect.
    inferred = onnx.shape_inference.infer_shapes(onnx_model)
    known = {v.name: v for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in onnx_model.graph.output:
        if out.name in known and known[out.name].type.tensor_type.HasField("shape"):
            out.CopyFrom(known[out.name])
    onnx.checker.check_model(onnx_model)
    data = onnx_model.SerializeToString(deterministic=True)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, out_path)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: tfjs2onnx.py MODEL.json OUT.onnx\n")
        return 2
    try:
        convert(argv[1], argv[2])
    except (ConversionError, OSError, KeyError, ValueError) as e:
        sys.stderr.write("tfjs2onnx: %s: %s\n" % (argv[1], e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
