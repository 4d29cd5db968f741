"""A model's report card, before it goes anywhere: per layer, what it computes and what it holds.

For a `.keras`, `.tflite` or `.onnx` MNIST classifier: each layer's (or operator's) output shape,
parameters, multiply-accumulates and activation bytes, the totals, the peak activation memory (the
largest sum of tensors alive at once when the graph runs in order, nothing computed in place), the file
size and, for a full-integer `.tflite`, the tensor arena TensorFlow Lite Micro really needs (measured).

MACs count the multiply-accumulates of convolutions and dense/matmul layers, the convention the
microcontroller tools use; pooling, normalization and element-wise work are not counted.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from math import prod
from pathlib import Path

import numpy as np

from edge_mnist.errors import EdgeMnistError, ModelError


@dataclass(frozen=True)
class Layer:
    name: str
    operator: str
    output_shape: tuple[int, ...]  # one image: batch axis left out
    params: int
    macs: int
    activation_bytes: int  # the output tensor(s)


def report_card(path) -> dict:
    """The report card of a model file, JSON-ready."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    suffix = path.suffix.lower()
    readers = {".keras": _keras, ".tflite": _tflite, ".onnx": _onnx}
    if suffix not in readers:
        raise ModelError(f"{path}: cannot inspect this file (expected .keras, .tflite or .onnx)")
    layers, peak, extra = readers[suffix](path)
    totals = {key: sum(getattr(layer, key) for layer in layers) for key in ("params", "macs", "activation_bytes")}
    return {
        "path": str(path),
        "format": suffix.lstrip("."),
        "file_bytes": path.stat().st_size,
        "layers": [{**asdict(layer), "output_shape": list(layer.output_shape)} for layer in layers],
        "totals": totals,
        "peak_activation_bytes": peak,
        **extra,
    }


def peak_alive(steps: list[tuple[list, list]], sizes: dict, outputs: list) -> int:
    """The most bytes alive at once running `steps` [(inputs, outputs), ...] in order.

    A tensor lives from the step that makes it (the start, for graph inputs) to its last reader;
    graph outputs to the end. Only tensors in `sizes` count (constants are not activations).
    """
    last = {key: len(steps) for key in outputs}
    for i, (ins, _) in enumerate(steps):
        for key in ins:
            last[key] = max(last.get(key, -1), i)
    made = {key: i for i, (_, outs) in enumerate(steps) for key in outs}
    peak = 0
    for i, (ins, outs) in enumerate(steps):
        alive = {k for k in sizes if made.get(k, -1) <= i <= last.get(k, -1)} | {k for k in (*ins, *outs) if k in sizes}
        peak = max(peak, sum(sizes[k] for k in alive))
    return peak


# -- Keras -------------------------------------------------------------------------------------
def _keras(path: Path):
    from edge_mnist.models import load_keras_model

    model = load_keras_model(path)
    layers, steps, sizes = [], [], {}
    for layer in model.layers:
        ins = [] if layer.__class__.__name__ == "InputLayer" else _as_list(layer.input)
        outs = _as_list(layer.output)
        shape = tuple(int(d) for d in outs[0].shape[1:])
        nbytes = sum(prod(int(d) for d in t.shape[1:]) * np.dtype(_dtype_name(t)).itemsize for t in outs)
        for t in outs:
            sizes[id(t)] = prod(int(d) for d in t.shape[1:]) * np.dtype(_dtype_name(t)).itemsize
        steps.append(([id(t) for t in ins], [id(t) for t in outs]))
        in_shape = tuple(int(d) for d in ins[0].shape[1:]) if ins else shape
        layers.append(Layer(layer.name, layer.__class__.__name__, shape, int(layer.count_params()), _keras_macs(layer, in_shape, shape), nbytes))
    return layers, peak_alive(steps, sizes, [id(t) for t in model.outputs]), {}


def _as_list(tensors) -> list:
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _dtype_name(tensor) -> str:
    dtype = tensor.dtype
    return getattr(dtype, "name", str(dtype))


def _keras_macs(layer, in_shape: tuple, out_shape: tuple) -> int:
    kind = layer.__class__.__name__
    if kind in ("Conv2D", "Conv1D"):
        kernel = prod(layer.kernel_size)
        return prod(out_shape) * kernel * in_shape[-1] // getattr(layer, "groups", 1)
    if kind == "DepthwiseConv2D":
        return prod(out_shape) * prod(layer.kernel_size)
    if kind == "SeparableConv2D":
        depthwise = prod(out_shape[:-1]) * in_shape[-1] * layer.depth_multiplier
        return depthwise * prod(layer.kernel_size) + depthwise * out_shape[-1]
    if kind == "Dense":
        return prod(out_shape) * in_shape[-1]
    return 0


# -- TFLite ------------------------------------------------------------------------------------
def _tflite(path: Path):
    from edge_mnist.runtime import load_tflite_interpreter_class, reference_resolver

    Interpreter, _, _ = load_tflite_interpreter_class()
    try:
        # Reference kernels: no delegate rewrites the graph into one opaque node.
        interp = Interpreter(model_path=str(path), experimental_op_resolver_type=reference_resolver(Interpreter))
        interp.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        from edge_mnist.runtime import _tflite_load_error

        raise ModelError(_tflite_load_error(path, exc)) from None
    tensors = {t["index"]: t for t in interp.get_tensor_details()}
    ops = interp._get_ops_details()  # the one public-enough view of the graph LiteRT offers
    produced = {int(i) for op in ops for i in op["outputs"]}
    graph_inputs = [d["index"] for d in interp.get_input_details()]
    constant = {i for i in tensors if i not in produced and i not in graph_inputs}

    def nbytes(index: int) -> int:
        t = tensors[index]
        return int(prod(int(d) for d in t["shape"])) * np.dtype(t["dtype"]).itemsize

    layers, steps = [], []
    for op in ops:
        ins, outs = [int(i) for i in op["inputs"] if i >= 0], [int(i) for i in op["outputs"]]
        out = tensors[outs[0]]
        shape = tuple(int(d) for d in (out["shape"][1:] if len(out["shape"]) > 1 else out["shape"]))
        params = sum(int(prod(int(d) for d in tensors[i]["shape"])) for i in ins if i in constant)
        macs = _tflite_macs(op["op_name"], [tensors[i]["shape"] for i in ins], out["shape"])
        # Converter names join every fused op: "model/conv2d/Relu;model/conv2d/BiasAdd;..." -> "conv2d/Relu"
        name = out["name"].split(";")[0].split("/", 1)[-1][:40]
        layers.append(Layer(name, op["op_name"], shape, params, macs, sum(nbytes(i) for i in outs)))
        steps.append((ins, outs))
    sizes = {i: nbytes(i) for i in tensors if i not in constant}
    peak = peak_alive(steps, sizes, [d["index"] for d in interp.get_output_details()])
    return layers, peak, {"tflm_arena": _arena(path)}


def _tflite_macs(op: str, in_shapes: list, out_shape) -> int:
    out = int(prod(int(d) for d in out_shape))
    if op == "CONV_2D":  # filter [out_channels, kh, kw, in_channels]
        return out * int(prod(int(d) for d in in_shapes[1][1:]))
    if op == "DEPTHWISE_CONV_2D":  # filter [1, kh, kw, channels]
        return out * int(in_shapes[1][1] * in_shapes[1][2])
    if op == "FULLY_CONNECTED":  # weights [units, inputs]
        return out * int(in_shapes[1][-1])
    if op == "BATCH_MATMUL":
        return out * int(in_shapes[0][-1])
    return 0


def _arena(path: Path) -> dict:
    """TensorFlow Lite Micro's arena for a full-integer model, measured; else why there is none."""
    try:
        from edge_mnist.export import tflm

        micro = tflm.measure(path.read_bytes(), path.name)
        return {"bytes": micro.arena_bytes, "runtime": tflm.micro_runtime(), "note": "measured: the smallest arena that ran the model"}
    except EdgeMnistError as exc:  # a float model, an operator TFLM lacks, tflite-micro not installed
        return {"bytes": None, "runtime": None, "note": str(exc).splitlines()[0]}


# -- ONNX --------------------------------------------------------------------------------------
def _onnx(path: Path):
    from edge_mnist._deps import require

    onnx = require("onnx")
    try:
        model = onnx.load(str(path))
        for value in model.graph.input:  # one image: a fixed batch lets inference follow Shape/Reshape chains
            dims = value.type.tensor_type.shape.dim
            if dims and not dims[0].HasField("dim_value"):
                dims[0].dim_value = 1
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ...
        raise ModelError(f"{path.name}: cannot load ONNX model ({exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    graph = model.graph
    initializers = {t.name: tuple(t.dims) for t in graph.initializer}
    infos = {v.name: v for v in (*graph.input, *graph.value_info, *graph.output)}

    def shape(name: str) -> tuple[int, ...] | None:
        if name in initializers:
            return initializers[name]
        info = infos.get(name)
        if info is None or not info.type.tensor_type.HasField("shape"):
            return None
        return tuple(d.dim_value if d.HasField("dim_value") else 1 for d in info.type.tensor_type.shape.dim)  # a symbolic batch is one image

    def nbytes(name: str) -> int:
        dims, info = shape(name), infos.get(name)
        if dims is None or info is None:
            return 0
        return int(prod(dims)) * np.dtype(onnx.helper.tensor_dtype_to_np_dtype(info.type.tensor_type.elem_type)).itemsize

    constant = set(initializers) | {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    # A weight behind DequantizeLinear (a QDQ model) is still a weight, not an activation.
    constant |= {n.output[0] for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] in constant}
    layers, steps = [], []
    for node in graph.node:
        ins, outs = [i for i in node.input if i], list(node.output)
        out_shape = shape(outs[0]) or ()
        params = sum(int(prod(initializers[i])) for i in ins if i in initializers)
        macs = _onnx_macs(node, [shape(i) for i in ins], out_shape)
        activation = 0 if outs[0] in constant else sum(nbytes(o) for o in outs)
        layers.append(Layer(node.name or outs[0], node.op_type, tuple(out_shape[1:]), params, macs, activation))
        steps.append((ins, outs))
    names = {n for ins, outs in steps for n in (*ins, *outs)} | {i.name for i in graph.input}
    sizes = {n: nbytes(n) for n in names if n not in constant}
    return layers, peak_alive(steps, sizes, [o.name for o in graph.output]), {}


def _onnx_macs(node, in_shapes: list, out_shape) -> int:
    out = int(prod(out_shape)) if out_shape else 0
    if node.op_type in ("Conv", "ConvInteger", "QLinearConv"):
        weight = in_shapes[3 if node.op_type == "QLinearConv" else 1]
        return out * int(prod(weight[1:])) if weight else 0
    if node.op_type in ("MatMul", "MatMulInteger", "Gemm"):
        weight = in_shapes[1]  # [K, N], or [N, K] for a Gemm with transB
        trans_b = any(att.name == "transB" and att.i for att in node.attribute)
        return out * int(weight[-1] if trans_b else weight[-2]) if weight and len(weight) >= 2 else 0
    return 0


# -- text ---------------------------------------------------------------------------------------
def _kb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024:.1f} KB"


def format_card(card: dict) -> str:
    """The report card as a table (edge_mnist.table, like every other table), then its totals."""
    from edge_mnist.table import Column, render

    columns = (
        Column("layer", lambda l: l["name"]),
        Column("operator", lambda l: l["operator"]),
        Column("output", lambda l: "" if l["output_shape"] is None else "x".join(map(str, l["output_shape"])) or "scalar"),
        Column("params", lambda l: f"{l['params']:,}", right=True),
        Column("MACs", lambda l: f"{l['macs']:,}", right=True),
        Column("activation", lambda l: _kb(l["activation_bytes"]), right=True),
    )
    totals = {**card["totals"], "name": "total", "operator": "", "output_shape": None}
    table = render(columns, [*card["layers"], totals]).splitlines()
    rule = table[1]
    # The totals under a second rule, as a sum is set under its column.
    lines = [f"{card['path']} ({card['format']}, {card['file_bytes']:,} bytes)", *table[:-1], rule, table[-1]]
    lines.append(f"peak activation memory: {_kb(card['peak_activation_bytes'])} (tensors alive at once, run in order, nothing in place)")
    if "tflm_arena" in card:
        arena = card["tflm_arena"]
        lines.append(f"TFLite Micro arena: {arena['bytes']:,} bytes ({arena['note']}, {arena['runtime']})" if arena["bytes"] else f"TFLite Micro arena: none ({arena['note']})")
    lines.append("MACs: multiply-accumulates of convolutions and dense layers, one image.")
    return "\n".join(lines)
