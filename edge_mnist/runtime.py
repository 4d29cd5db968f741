"""Run an exported model (TFLite or ONNX) on uint8 MNIST images: the device side, numpy only.

This module is what verify, bench and camera share. It never imports TensorFlow unless asked to
with runtime="tensorflow" or as the last fallback when no TFLite runtime is installed. TensorFlow
Lite Micro (runtime="tflite-micro", the desktop-side `tflite-micro` package) runs `.tflite` files and
the firmware sources the `tflm` export writes, in the smallest tensor arena that holds the model.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.errors import MissingDependencyError, ModelError
from edge_mnist.logs import native_quiet


class Runtime(str, Enum):
    LITERT = "ai-edge-litert"
    TFLITE_RUNTIME = "tflite-runtime"
    TENSORFLOW = "tensorflow"
    ONNXRUNTIME = "onnxruntime"
    TFLITE_MICRO = "tflite-micro"


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


def import_runtime(path, runtime: Runtime | None = None) -> None:
    """Import the library that would run `path` without loading it: what a fresh process pays once."""
    if Path(path).suffix.lower() == ".onnx":
        require("onnxruntime")
    elif runtime is Runtime.TFLITE_MICRO or (runtime is None and Path(path).suffix.lower() == ".cc"):
        require("tflite_micro")
    elif runtime is not Runtime.ONNXRUNTIME:  # that pairing is refused by Predictor, with the reason
        load_tflite_interpreter_class(runtime)


def reference_resolver(Interpreter):
    """The op resolver of an Interpreter class's reference kernels: no delegate, and rounding as TFLite Micro's."""
    import importlib

    return importlib.import_module(Interpreter.__module__).OpResolverType.BUILTIN_REF


def _micro_quant(detail: dict) -> QuantParams | None:
    q = detail["quantization_parameters"]
    if len(q["scales"]) != 1 or q["scales"][0] == 0 or detail["dtype"] not in (np.int8, np.uint8):
        return None
    return QuantParams(float(q["scales"][0]), int(q["zero_points"][0]), np.dtype(detail["dtype"]).name)


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


class OutputKind(str, Enum):
    PROBABILITIES = "probabilities"
    LOGITS = "logits"
    CLASS_INDEX = "class index"


# Input quantization ranges that identify a scaling: the real values of the lowest and highest code.
_SCALING_RANGES = {
    Scaling.UNIT: (0.0, 1.0),
    Scaling.BYTE: (0.0, 255.0),
    Scaling.SIGNED: (-1.0, 1.0),
    Scaling.STANDARD: ((0.0 - 0.1307) / 0.3081, (1.0 - 0.1307) / 0.3081),
}


def scaling_from_quant(q: QuantParams) -> Scaling | None:
    """The scaling whose range the model's input quantization spans (within 5%), if any.

    A converter calibrates the input's quantization on the data the model was fed, so its range
    is the model's own statement of how pixels were scaled.
    """
    info = np.iinfo(q.dtype)
    lo, hi = (info.min - q.zero_point) * q.scale, (info.max - q.zero_point) * q.scale
    for scaling, (want_lo, want_hi) in _SCALING_RANGES.items():
        tolerance = 0.05 * (want_hi - want_lo)
        if abs(lo - want_lo) <= tolerance and abs(hi - want_hi) <= tolerance:
            return scaling
    return None


class Predictor:
    """One loaded model: `predict(uint8 images) -> (N, 10) float32 scores`.

    Pixels go through a 256-entry lookup table that folds scaling and input quantization into one
    gather, and quantized outputs through another, so the per-image cost outside the runtime is two
    table lookups. `scaling=None` means: infer it from the model's input quantization where it has
    one, else assume 0-1; `assumptions` lists what was assumed.

    Loading runs no inference, so the first `predict` is a fresh interpreter's first: the output's
    size comes from its shape, and whether it ends in a softmax from the graph (TFLite) or the
    file's edge-mnist metadata (ONNX). Only where neither tells is `output_kind` found by two probe
    inferences, when it is first asked for.
    """

    def __init__(
        self,
        path,
        runtime: Runtime | None = None,
        threads: int | None = None,
        scaling: Scaling | None = Scaling.UNIT,
        reference_kernels: bool = False,
    ):
        """`reference_kernels`: a TFLite runtime's plain reference kernels (no XNNPACK), which round as TFLite Micro does."""
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        self.arena_bytes: int | None = None  # TFLite Micro only: the tensor arena it runs in
        suffix = self.path.suffix.lower()
        if suffix == ".onnx":
            if runtime not in (None, Runtime.ONNXRUNTIME):
                raise ModelError(f"{self.path.name}: an ONNX model runs on onnxruntime, not {runtime.value}")
            self._open_onnx(threads)
        elif suffix in (".tflite", ".cc"):
            if runtime is Runtime.ONNXRUNTIME:
                raise ModelError(f"{self.path.name}: a TFLite model cannot run on onnxruntime")
            # A generated firmware source is TFLite Micro's unless another TFLite runtime is asked for.
            if runtime is Runtime.TFLITE_MICRO or (runtime is None and suffix == ".cc"):
                self._open_micro()
            else:
                self._open_tflite(runtime, threads, reference_kernels)
        else:
            raise ModelError(f"{self.path}: unsupported model file (expected .tflite or .onnx, or a tflm .cc source)")
        self.assumptions: list[str] = []
        self.scaling = self._choose_scaling(scaling)
        self.lut = self._input_lut()
        # 8-bit inputs (every quantized model): bytes.translate is the fastest 256-entry lookup there is.
        self._lut_bytes = self.lut.tobytes() if self.lut.itemsize == 1 else None
        self._decode = self._decoder(self._out_size) if self._out_size else self._decode_first

    # -- loading -----------------------------------------------------------------------------
    def _open_tflite(self, runtime, threads, reference_kernels=False):
        Interpreter, self.runtime, self.runtime_version = load_tflite_interpreter_class(runtime)
        options = {"experimental_op_resolver_type": reference_resolver(Interpreter)} if reference_kernels else {}
        if self.path.suffix.lower() == ".cc":
            from edge_mnist.export.tflm import read_source

            options["model_content"] = read_source(self.path)
        else:
            options["model_path"] = str(self.path)
        try:
            with native_quiet():  # LiteRT announces its XNNPACK delegate on stderr
                self._interp = Interpreter(num_threads=threads, **options)
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(_tflite_load_error(self.path, exc)) from None
        inp, out = self._interp.get_input_details(), self._interp.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ModelError(f"{self.path.name}: expected one input and one output, found {len(inp)} and {len(out)}")
        inp, out = inp[0], out[0]
        self.layout = _layout(self.path, inp.get("shape_signature", inp["shape"]))
        self.input_dtype = np.dtype(inp["dtype"])
        self.input_quant = _tflite_quant(inp)
        self.output_quant = _tflite_quant(out)
        self._out_size = _per_image_size(out.get("shape_signature", out["shape"]))
        self._kind = _tflite_output_kind(self._interp, out["index"])
        self._in_index, self._out_index = inp["index"], out["index"]
        self._batch = int(inp["shape"][0])
        self._run = self._run_tflite

    def _open_micro(self):
        from edge_mnist.export import tflm

        data = tflm.read_model(self.path)
        self.arena_bytes = tflm.measure(data, self.path.name).arena_bytes
        # Exactly the measured arena: every inference here proves it is enough.
        self._interp = tflm.interpreter(data, self.arena_bytes)
        self.runtime, self.runtime_version = Runtime.TFLITE_MICRO, tflm.version()
        inp, out = self._interp.get_input_details(0), self._interp.get_output_details(0)
        self.layout = _layout(self.path, inp["shape"])
        self.input_dtype = np.dtype(inp["dtype"])
        self.input_quant, self.output_quant = _micro_quant(inp), _micro_quant(out)
        self._out_size = _per_image_size(out["shape"])
        self._kind = None  # TFLite Micro lists no operators: probed when first asked
        self._batch = 1
        self._run = self._run_micro

    def _open_onnx(self, threads):
        ort = require("onnxruntime")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: a refused model is reported by us, in one line
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/NotImplemented types
            raise ModelError(_onnx_load_error(self.path, exc)) from None
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(f"{self.path.name}: expected one input and one output, found {len(inputs)} and {len(outputs)}")
        self.runtime, self.runtime_version = Runtime.ONNXRUNTIME, ort.__version__
        self.layout = _layout(self.path, [d if isinstance(d, int) else -1 for d in inputs[0].shape])
        types = {"tensor(float)": np.float32, "tensor(uint8)": np.uint8, "tensor(int8)": np.int8}
        if inputs[0].type not in types:
            raise ModelError(f"{self.path.name}: unsupported input type {inputs[0].type} (expected float32, uint8 or int8)")
        self.input_dtype = np.dtype(types[inputs[0].type])
        # An ONNX model quantizes inside its graph (QDQ); its I/O carries no quantization.
        self.input_quant = self.output_quant = None
        self._out_size = _per_image_size(outputs[0].shape)
        # Every edge-mnist model ends in a softmax, and its exports say they are edge-mnist's.
        ours = "edge_mnist.format" in self._session.get_modelmeta().custom_metadata_map
        self._kind = OutputKind.PROBABILITIES if ours and self._out_size == 10 else None
        self._in_name = inputs[0].name
        self._run = self._run_onnx

    def _choose_scaling(self, scaling: Scaling | None) -> Scaling:
        if self.input_dtype.kind in "iu" and self.input_quant is None:
            shift = " - 128" if self.input_dtype == np.int8 else ""
            self.assumptions.append(f"{self.input_dtype.name} input without quantization parameters: fed the raw pixel{shift}")
            return Scaling.BYTE
        if scaling is not None:
            return scaling
        if self.input_quant:
            inferred = scaling_from_quant(self.input_quant)
            if inferred:
                return inferred
            self.assumptions.append("input quantization range matches no known scaling: assumed pixels in 0-1 (set --scaling)")
            return Scaling.UNIT
        self.assumptions.append("float input: assumed pixels in 0-1 (set --scaling if the model was trained otherwise)")
        return Scaling.UNIT

    def _input_lut(self) -> np.ndarray:
        pixels = np.arange(256, dtype=np.uint8)
        if self.input_dtype.kind in "iu" and self.input_quant is None:
            return (pixels.astype(np.int16) - (128 if self.input_dtype == np.int8 else 0)).astype(self.input_dtype)
        lut = scale_pixels(pixels, self.scaling)
        return (quantize(lut, self.input_quant) if self.input_quant else lut).astype(self.input_dtype)

    def _decoder(self, size: int):
        """Raw outputs (N, size) -> (N, 10) float32 scores: dequantized in one gather, or one-hot for a class index."""
        if size == 1:
            self._kind = OutputKind.CLASS_INDEX
            return _decode_class_index
        if size != 10:
            raise ModelError(f"{self.path.name}: output of {size} values per image is neither 10 class scores nor a class index")
        if self.output_quant:
            # The codes, read as uint8, index a 256-entry table of their real values.
            codes = np.arange(256, dtype=np.uint8).view(np.dtype(self.output_quant.dtype))
            table = dequantize(codes, self.output_quant)
            return lambda raw: table.take(raw.view(np.uint8)).reshape(len(raw), 10)
        return lambda raw: raw.reshape(len(raw), 10).astype(np.float32, copy=False)

    def _decode_first(self, raw: np.ndarray) -> np.ndarray:
        """For an output whose shape the file leaves open: size it from the first result, then decode as usual."""
        self._decode = self._decoder(raw.size // max(len(raw), 1))
        return self._decode(raw)

    @property
    def output_kind(self) -> OutputKind:
        """Probabilities, logits or a class index: from the file where it tells, else probed once, now."""
        if self._kind is None:
            # The model cannot say whether it ends in a softmax: look at its scores on a blank and a "1".
            probes = np.zeros((2, 28, 28), np.uint8)
            probes[1, 4:24, 12:16] = 255
            scores = np.concatenate([self.predict(probes[i : i + 1]) for i in range(2)])
            if self._kind is None:  # the first predict may have found a class index
                sums_to_one = np.all(np.abs(scores.sum(axis=1) - 1) < 0.05)
                self._kind = OutputKind.PROBABILITIES if sums_to_one and scores.min() >= -1e-3 else OutputKind.LOGITS
        return self._kind

    # -- inference ---------------------------------------------------------------------------
    def _run_tflite(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] != self._batch:
            self._resize(x.shape[0])
        self._interp.set_tensor(self._in_index, x)
        self._interp.invoke()
        return self._interp.get_tensor(self._out_index)

    def _run_micro(self, x: np.ndarray) -> np.ndarray:
        self._interp.set_input(x, 0)
        self._interp.invoke()
        return self._interp.get_output(0)

    def _resize(self, n: int) -> None:
        self._interp.resize_tensor_input(self._in_index, [n, *self.layout.shape[1:]])
        self._interp.allocate_tensors()
        self._batch = n

    def _run_onnx(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._in_name: x})[0]

    def _prepare(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (N, 28, 28) -> the model's input (N, *layout): scaled and quantized in one lookup."""
        if self._lut_bytes is not None:
            x = np.frombuffer(images.tobytes().translate(self._lut_bytes), self.input_dtype)
        else:
            x = self.lut[images]
        return x.reshape(-1, *self.layout.shape[1:])

    def predict(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 images (N, 28, 28) -> float32 scores (N, 10): dequantized, one-hot for a class-index model."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
            raise ModelError(f"predict takes uint8 images of shape (N, 28, 28), got {images.dtype} {images.shape}")
        if len(images) == 1:  # the camera's and the latency benchmark's path: nothing more than this
            return self._decode(self._run(self._prepare(images)))
        step = batch_size if self.layout.dynamic_batch else 1
        scores = np.empty((len(images), 10), np.float32)
        for start in range(0, len(images), step):
            chunk = images[start : start + step]
            scores[start : start + len(chunk)] = self._decode(self._run(self._prepare(chunk)))
        return scores

    def classify(self, images: np.ndarray) -> np.ndarray:
        return self.predict(images).argmax(axis=1)

    def bare_call(self, image: np.ndarray):
        """A no-argument callable doing only the runtime's own call on `image` (1, 28, 28), input already set.

        The yardstick for the overhead of `predict`: nothing that wraps the runtime can be faster.
        """
        prepared = self._prepare(image)
        if self.runtime is Runtime.ONNXRUNTIME:
            session, feed = self._session, {self._in_name: prepared}
            return lambda: session.run(None, feed)
        if self.runtime is Runtime.TFLITE_MICRO:
            self._interp.set_input(prepared, 0)
            return self._interp.invoke
        if self._batch != 1:
            self._resize(1)
        self._interp.set_tensor(self._in_index, prepared)
        return self._interp.invoke

    def describe(self) -> dict:
        """What was detected and assumed about the model, for reports."""
        return {
            "layout": self.layout.description,
            "dynamic_batch": self.layout.dynamic_batch,
            "input_dtype": self.input_dtype.name,
            "input_quant": asdict(self.input_quant) if self.input_quant else None,
            "output_kind": self.output_kind.value,
            "output_quant": asdict(self.output_quant) if self.output_quant else None,
            "scaling": self.scaling.value,
            "assumptions": list(self.assumptions),
        }


def _per_image_size(shape) -> int | None:
    """Values per image of an output shaped (batch, ...); None where a dimension past the batch is unknown."""
    dims = list(shape)[1:]
    if not all(isinstance(d, (int, np.integer)) and d > 0 for d in dims):
        return None
    return int(np.prod(dims, dtype=np.int64))


# Ops that pass values through unchanged in meaning: the op that made the scores sits behind them.
_PASS_THROUGH = {"RESHAPE", "SQUEEZE", "QUANTIZE", "DEQUANTIZE", "CAST"}


def _tflite_output_kind(interp, output_index: int) -> OutputKind | None:
    """The output kind read from the graph: the op producing the output (past reshapes and
    (de)quantization) is SOFTMAX, ARG_MAX, or anything else (logits). None if the runtime cannot list ops."""
    try:
        ops = [op for op in interp._get_ops_details() if op.get("op_name") != "DELEGATE"]
    except Exception:  # a private API: older runtimes lack it, and then the output is probed instead
        return None
    producers = {int(t): op for op in ops for t in op.get("outputs", [])}
    op, seen = producers.get(int(output_index)), 0
    while op is not None and op["op_name"] in _PASS_THROUGH and seen < len(ops):
        op, seen = producers.get(int(op["inputs"][0])), seen + 1
    if op is None:
        return None
    return {"SOFTMAX": OutputKind.PROBABILITIES, "ARG_MAX": OutputKind.CLASS_INDEX, "ARG_MIN": OutputKind.CLASS_INDEX}.get(op["op_name"], OutputKind.LOGITS)


def _decode_class_index(raw: np.ndarray) -> np.ndarray:
    index = np.asarray(raw).reshape(len(raw)).astype(np.int64)
    if index.min(initial=0) < 0 or index.max(initial=0) > 9:
        raise ModelError(f"the model's class index output {index.tolist()[:5]} is outside 0-9")
    onehot = np.zeros((len(index), 10), np.float32)
    onehot[np.arange(len(index)), index] = 1.0
    return onehot


def _layout(path: Path, shape) -> InputLayout:
    try:
        return detect_layout(shape)
    except ModelError as exc:
        raise ModelError(f"{path.name}: {exc}") from None


_ACCELERATOR_HINT = "which this CPU runtime does not have (was the model compiled for an accelerator, or with TensorFlow-only ops?)"


def _tflite_load_error(path: Path, exc: Exception) -> str:
    text = str(exc)
    custom = re.search(r"custom op:?\s+'?([\w-]+)", text, re.IGNORECASE)
    # Select TensorFlow ops (Flex*) need a delegate a CPU runtime lacks; the failing node names them.
    flex = "not supported by this interpreter" in text and re.search(r"Node number \d+ \(([\w-]+)\) failed to prepare", text)
    op = custom or flex
    if op:
        return f"{path.name}: needs operator {op.group(1)}, {_ACCELERATOR_HINT}"
    first = text.strip().splitlines()[0][:200] if text.strip() else exc.__class__.__name__
    return f"{path.name}: not a valid TFLite model ({first})"


def _onnx_load_error(path: Path, exc: Exception) -> str:
    text = str(exc)
    op = re.search(r"([\w.]+:[\w.-]+)\(-?\d+\) is not a registered function/op", text) or re.search(r"No Op registered for ([\w.-]+) with domain_version", text)
    if op:
        return f"{path.name}: needs operator {op.group(1)}, {_ACCELERATOR_HINT}"
    first = text.strip().splitlines()[0][:200] if text.strip() else exc.__class__.__name__
    return f"{path.name}: cannot load ONNX model ({first})"
