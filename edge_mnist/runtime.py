"""Run an exported model (TFLite or ONNX) on uint8 MNIST images: the device side, numpy only.

This module is what verify, bench and camera share. It never imports TensorFlow unless asked to
with runtime="tensorflow" or as the last fallback when no TFLite runtime is installed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.errors import MissingDependencyError, ModelError


class Runtime(str, Enum):
    LITERT = "ai-edge-litert"
    TFLITE_RUNTIME = "tflite-runtime"
    TENSORFLOW = "tensorflow"
    ONNXRUNTIME = "onnxruntime"


TFLITE_RUNTIMES = (Runtime.LITERT, Runtime.TFLITE_RUNTIME, Runtime.TENSORFLOW)


class Scaling(str, Enum):
    """How a model expects 0..255 pixels to be mapped to its (float) input values."""

    UNIT = "0-1"  # pixel / 255, what every edge-mnist model takes
    BYTE = "0-255"
    SIGNED = "-1-1"  # pixel / 127.5 - 1
    STANDARD = "mean-std"  # (pixel / 255 - 0.1307) / 0.3081, the PyTorch MNIST examples


def scale_pixels(pixels: np.ndarray, scaling: Scaling) -> np.ndarray:
    x = pixels.astype(np.float32)
    if scaling is Scaling.UNIT:
        return x / 255.0
    if scaling is Scaling.BYTE:
        return x
    if scaling is Scaling.SIGNED:
        return x / 127.5 - 1.0
    return (x / 255.0 - 0.1307) / 0.3081


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization of one tensor: real = (q - zero_point) * scale."""

    scale: float
    zero_point: int
    dtype: str  # numpy dtype name of the quantized tensor, "int8" or "uint8"


def quantize(x: np.ndarray, q: QuantParams) -> np.ndarray:
    """Round to nearest (half to even, as TFLite's reference quantizer), then clip to the dtype's range."""
    info = np.iinfo(q.dtype)
    return np.clip(np.rint(x / q.scale) + q.zero_point, info.min, info.max).astype(q.dtype)


def dequantize(x: np.ndarray, q: QuantParams) -> np.ndarray:
    return (x.astype(np.float32) - np.float32(q.zero_point)) * np.float32(q.scale)


def _tflite_quant(detail: dict) -> QuantParams | None:
    scale, zero_point = detail["quantization"]
    if scale == 0 or detail["dtype"] not in (np.int8, np.uint8):
        return None
    return QuantParams(float(scale), int(zero_point), np.dtype(detail["dtype"]).name)


def load_tflite_interpreter_class(runtime: Runtime | None = None):
    """(Interpreter class, runtime, version): LiteRT first, then tflite-runtime, then TensorFlow."""
    order = [runtime] if runtime else list(TFLITE_RUNTIMES)
    for choice in order:
        try:
            if choice is Runtime.LITERT:
                from ai_edge_litert import interpreter as mod

                import ai_edge_litert

                return mod.Interpreter, choice, getattr(ai_edge_litert, "__version__", _dist_version("ai-edge-litert"))
            if choice is Runtime.TFLITE_RUNTIME:
                from tflite_runtime import interpreter as mod

                return mod.Interpreter, choice, _dist_version("tflite-runtime")
            if choice is Runtime.TENSORFLOW:
                tf = require("tensorflow")
                return tf.lite.Interpreter, choice, tf.__version__
        except (ImportError, MissingDependencyError):
            continue
    if runtime:
        fix = {Runtime.LITERT: "pip install ai-edge-litert", Runtime.TFLITE_RUNTIME: "pip install tflite-runtime"}.get(
            runtime, "pip install 'edge-mnist[train]'"
        )
        raise MissingDependencyError(f"TFLite runtime {runtime.value} is not installed; fix: {fix}")
    raise MissingDependencyError("no TFLite runtime is installed; fix: pip install 'edge-mnist[pi]'")


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class InputLayout:
    shape: tuple[int, ...]  # the model's input shape for one image, batch axis included as 1
    dynamic_batch: bool
    description: str  # e.g. "NHWC 28x28x1"


def detect_layout(shape_signature) -> InputLayout:
    """Recognise the MNIST input layouts found in the wild; refuse anything else."""
    sig = [int(d) if d is not None and int(d) > 0 else -1 for d in shape_signature]
    dims = sig[1:] if len(sig) > 1 and sig[0] in (-1, 1) else sig
    dynamic = len(sig) > len(dims) and sig[0] == -1
    known = {(28, 28, 1): "NHWC 28x28x1", (1, 28, 28): "NCHW 1x28x28", (28, 28): "28x28", (784,): "flat 784"}
    if tuple(dims) not in known or len(sig) == len(dims):
        raise ModelError(f"input shape {list(shape_signature)} is not an MNIST image (expected one of 28x28x1, 1x28x28, 28x28, 784 with a batch axis)")
    return InputLayout((1, *dims), dynamic, known[tuple(dims)])


class Predictor:
    """One loaded model: `predict(uint8 images) -> (N, 10) float32 scores`.

    Pixels go through a 256-entry lookup table that folds scaling and input quantization into one
    gather, so the per-image cost outside the runtime is a table lookup and a copy.
    """

    def __init__(self, path, runtime: Runtime | None = None, threads: int | None = None, scaling: Scaling = Scaling.UNIT):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        self.scaling = scaling
        suffix = self.path.suffix.lower()
        if suffix == ".onnx":
            if runtime not in (None, Runtime.ONNXRUNTIME):
                raise ModelError(f"{self.path.name}: an ONNX model runs on onnxruntime, not {runtime.value}")
            self._open_onnx(threads)
        elif suffix == ".tflite":
            if runtime is Runtime.ONNXRUNTIME:
                raise ModelError(f"{self.path.name}: a TFLite model cannot run on onnxruntime")
            self._open_tflite(runtime, threads)
        else:
            raise ModelError(f"{self.path}: unsupported model file (expected .tflite or .onnx)")
        self.lut = scale_pixels(np.arange(256, dtype=np.uint8), scaling)
        if self.input_quant:
            self.lut = quantize(self.lut, self.input_quant)
        self.lut = self.lut.astype(self.input_dtype)

    # -- loading -----------------------------------------------------------------------------
    def _open_tflite(self, runtime, threads):
        Interpreter, self.runtime, self.runtime_version = load_tflite_interpreter_class(runtime)
        try:
            self._interp = Interpreter(model_path=str(self.path), num_threads=threads)
            self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(_tflite_load_error(self.path, exc)) from None
        inp, out = self._interp.get_input_details(), self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{self.path.name}: expected one input and one output, found {len(inp)} and {len(out)}")
        inp, out = inp[0], out[0]
        self.layout = detect_layout(inp.get("shape_signature", inp["shape"]))
        self.input_dtype = np.dtype(inp["dtype"])
        self.input_quant = _tflite_quant(inp)
        self.output_quant = _tflite_quant(out)
        self.output_dtype = np.dtype(out["dtype"])
        self._in_index, self._out_index = inp["index"], out["index"]
        self._batch = int(inp["shape"][0])
        self._run = self._run_tflite

    def _open_onnx(self, threads):
        ort = require("onnxruntime")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/NotImplemented types
            raise ModelError(f"{self.path.name}: cannot load ONNX model ({str(exc).splitlines()[0][:200]})") from None
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.path.name}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
        self.runtime, self.runtime_version = Runtime.ONNXRUNTIME, ort.__version__
        self.layout = detect_layout([d if isinstance(d, int) else -1 for d in inputs[0].shape])
        types = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}
        if inputs[0].type not in types:
            raise ModelError(f"{self.path.name}: unsupported input type {inputs[0].type}")
        self.input_dtype = np.dtype(types[inputs[0].type])
        self.input_quant = self.output_quant = None
        self.output_dtype = np.dtype(np.float32)
        self._in_name = inputs[0].name
        self._batch = 1
        self._run = self._run_onnx

    # -- inference ---------------------------------------------------------------------------
    def _run_tflite(self, x: np.ndarray) -> np.ndarray:
        n = x.shape[0]
        if n != self._batch:
            self._interp.resize_tensor_input(self._in_index, [n, *self.layout.shape[1:]])
            self._interp.allocate_tensors()
            self._batch = n
        self._interp.set_tensor(self._in_index, x)
        self._interp.invoke()
        return self._interp.get_tensor(self._out_index)

    def _run_onnx(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._in_name: x})[0]

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 images (N, 28, 28) -> float32 scores (N, 10), dequantized where the output is quantized."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
            raise ModelError(f"predict takes uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
        step = batch_size if self.layout.dynamic_batch else 1
        outputs = []
        for start in range(0, len(images), step):
            chunk = self.lut[images[start : start + step]].reshape(-1, *self.layout.shape[1:])
            outputs.append(self._run(chunk).reshape(len(chunk), -1))
        raw = np.concatenate(outputs) if outputs else np.zeros((0, 10), self.output_dtype)
        return dequantize(raw, self.output_quant) if self.output_quant else raw.astype(np.float32)

    def classify(self, images: np.ndarray) -> np.ndarray:
        return self.predict(images).argmax(axis=1)


def _tflite_load_error(path: Path, exc: Exception) -> str:
    text = str(exc)
    op = re.search(r"(?:custom op|operation|op)[:\s]+'?([\w-]+)'?", text, re.IGNORECASE)
    if "unresolved custom op" in text.lower() or "didn't find op" in text.lower() or "unsupported" in text.lower():
        name = op.group(1) if op else "unknown"
        return f"{path.name}: needs operator {name}, which this CPU runtime does not have (was it compiled for an accelerator?)"
    first = text.strip().splitlines()[0][:200] if text.strip() else exc.__class__.__name__
    return f"{path.name}: not a valid TFLite model ({first})"
