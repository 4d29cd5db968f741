"""`manifest.json`, one per model folder: what each exported file is, how it was made and how it scored."""
from __future__ import annotations

import json
import secrets
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from edge_mnist.errors import ModelError
from edge_mnist.files import write_atomic

MANIFEST = "manifest.json"
TOOLS = ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "tflite-micro", "numpy")


def tool_versions() -> dict[str, str]:
    versions = {}
    for name in TOOLS:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def write_temp(path: Path, data: bytes) -> Path:
    """`data` in a new hidden sibling of `path`, keeping its suffix so a runtime can load it for the gate."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{path.suffix}")
    try:
        with open(tmp, "xb") as f:  # plain open: the usual permissions, unlike mkstemp's 0600
            f.write(data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def read_manifest(folder) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {"files": {}}
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path}: unreadable manifest ({exc}); delete it to start afresh") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ModelError(f"{path}: not an edge-mnist manifest (no 'files' mapping); delete it to start afresh")
    return manifest


def update_manifest(folder, model: str, entries: dict[str, dict]) -> Path:
    """Merge `entries` (file name -> entry) into the folder's manifest; other files' entries are kept."""
    manifest = read_manifest(folder)
    manifest["model"] = model
    manifest["files"].update(entries)
    path = Path(folder) / MANIFEST
    write_atomic(path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return path


def io_spec(path) -> dict:
    """Input and output dtype, shape and quantization parameters, read from the file itself."""
    path = Path(path)
    if path.suffix in (".tflite", ".cc"):
        from edge_mnist.export.tflm import read_model
        from edge_mnist.runtime import load_tflite_interpreter_class

        Interpreter, _, _ = load_tflite_interpreter_class()
        interp = Interpreter(model_content=read_model(path))
        return {"input": _tflite_tensor(interp.get_input_details()[0]), "output": _tflite_tensor(interp.get_output_details()[0])}
    return _onnx_io(path)


def _tflite_tensor(detail: dict) -> dict:
    scale, zero_point = detail["quantization"]
    shape = [int(d) for d in detail.get("shape_signature", detail["shape"])]
    quant = {"scale": float(scale), "zero_point": int(zero_point)} if scale else None
    return {"name": detail["name"], "dtype": detail["dtype"].__name__, "shape": shape, "quantization": quant}


# Ops that only move values around: the quantization of the input or output can sit behind them.
_LAYOUT_OPS = {"Reshape", "Transpose", "Identity", "Flatten"}


def _onnx_io(path: Path) -> dict:
    from edge_mnist._deps import require

    onnx = require("onnx")
    from onnx import numpy_helper

    model = onnx.load(str(path))
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def params(node) -> dict | None:
        scale = constants.get(node.input[1])
        zero = constants.get(node.input[2]) if len(node.input) > 2 else None
        if scale is None or scale.size != 1:
            return None
        return {"scale": float(scale), "zero_point": int(zero) if zero is not None else 0, "dtype": zero.dtype.name if zero is not None else "uint8"}

    # A QDQ model keeps float I/O: what a device must know is in the first QuantizeLinear after
    # the input and the last DequantizeLinear before the output, past any layout ops.
    def input_quant(edge: str) -> dict | None:
        while len(consumers.get(edge, [])) == 1:
            node = consumers[edge][0]
            if node.op_type == "QuantizeLinear":
                return params(node)
            if node.op_type not in _LAYOUT_OPS:
                return None
            edge = node.output[0]
        return None

    def output_quant(edge: str) -> dict | None:
        node = producers.get(edge)
        while node is not None and node.op_type in _LAYOUT_OPS:
            node = producers.get(node.input[0])
        return params(node) if node is not None and node.op_type == "DequantizeLinear" else None

    def tensor(value_info, quant) -> dict:
        t = value_info.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim]
        return {"name": value_info.name, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name, "shape": shape, "quantization": quant}

    inp, out = graph.input[0], graph.output[0]
    opset = max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    return {"input": tensor(inp, input_quant(inp.name)), "output": tensor(out, output_quant(out.name)), "opset": opset}
