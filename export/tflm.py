"""TensorFlow Lite Micro: the full-int8 model as C++ firmware source, with what a board must budget.

A microcontroller build links the model as a `const` array in flash and gives the interpreter one
tensor arena in RAM, sized in advance. So the export measures that arena in TFLite Micro itself (the
smallest one the model runs in, found by bisection), writes it into the header beside the scales,
zero points and the exact operator list, and the parity gate runs the array parsed back out of the
generated source. The TFLite Micro Python package (`tflite-micro`) is a desktop-side dependency.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.errors import ModelError

# More SRAM than nearly any microcontroller has: a model that needs more is not a firmware model.
ARENA_CEILING = 1 << 20
# Optimized kernels (CMSIS-NN, ESP-NN) ask for scratch buffers the reference kernels do not, and the
# allocator's bookkeeping differs a little between builds: a margin on top of what was measured.
ARENA_MARGIN = 0.10
SOURCE, HEADER, EXAMPLE = ".tflm.cc", ".tflm.h", ".tflm.example.cc"
MAX_SOURCE_BYTES = 64 << 20  # a generated source is about 6 bytes of text per model byte

# MicroMutableOpResolver's method for each builtin whose name does not follow the CamelCase rule.
_RESOLVER_NAMES = {
    "CONV_2D": "AddConv2D",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
    "MAX_POOL_2D": "AddMaxPool2D",
    "AVERAGE_POOL_2D": "AddAveragePool2D",
    "L2_POOL_2D": "AddL2Pool2D",
    "TRANSPOSE_CONV": "AddTransposeConv",
    "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
    "CUMSUM": "AddCumSum",
    "PADV2": "AddPadV2",
    "ADD_N": "AddAddN",
    "RELU6": "AddRelu6",
    "RELU_N1_TO_1": "AddReluN1To1",
}


def resolver_method(op: str) -> str:
    """The MicroMutableOpResolver method that registers builtin `op` (CONV_2D -> AddConv2D)."""
    return _RESOLVER_NAMES.get(op) or "Add" + "".join(word.capitalize() for word in op.split("_"))


@dataclass(frozen=True)
class MicroModel:
    """A full-integer model as TensorFlow Lite Micro sees it."""

    data: bytes
    operators: tuple[str, ...]  # builtin names, each once, in the model's operator-code order
    arena_bytes: int  # the smallest tensor arena it ran in

    @property
    def arena_margin(self) -> int:
        return arena_margin(self.arena_bytes)


def arena_margin(arena_bytes: int) -> int:
    """ARENA_MARGIN of the arena, rounded up so the total stays a multiple of 16 bytes."""
    total = -(-int(arena_bytes * (1 + ARENA_MARGIN)) // 16) * 16
    return total - arena_bytes


def _schema():
    require("tflite_micro")
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def _parse(data: bytes, name: str):
    from tflite_micro import runtime

    try:
        return runtime.convert_bytearray_to_object(bytearray(data))
    except Exception as exc:  # a corrupt flatbuffer fails anywhere inside the generated parser
        raise ModelError(f"{name}: not a valid TFLite model ({exc.__class__.__name__})") from None


def operators(data: bytes, name: str = "model") -> tuple[str, ...]:
    """The builtin operator names of a TFLite flatbuffer, in operator-code order."""
    schema = _schema()
    from tflite_micro import runtime

    names = {code: op for op, code in vars(schema.BuiltinOperator).items() if not op.startswith("_")}
    model = _parse(data, name)
    ops = []
    for code in model.operatorCodes or []:
        builtin = runtime.get_builtin_code_from_operator_code(code)
        ops.append(code.customCode.decode() if builtin == schema.BuiltinOperator.CUSTOM else names.get(builtin, f"builtin {builtin}"))
    return tuple(dict.fromkeys(ops))


def float_tensor(data: bytes, name: str = "model") -> str | None:
    """The name of a float tensor in the model, if it has one: then it is not a full-integer model."""
    schema = _schema()
    floats = {schema.TensorType.FLOAT32, schema.TensorType.FLOAT16, schema.TensorType.FLOAT64}
    for subgraph in _parse(data, name).subgraphs or []:
        for tensor in subgraph.tensors or []:
            if tensor.type in floats:
                return tensor.name.decode(errors="replace") if tensor.name else "(unnamed)"
    return None


@contextlib.contextmanager
def _captured_stderr(record: list[str]):
    """TFLite Micro logs straight to file descriptor 2: keep it off the terminal, but keep the text."""
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            record.append(sink.read().decode(errors="replace"))


def interpreter(data: bytes, arena_bytes: int):
    """A TFLite Micro interpreter (the Python package's, all reference kernels) with exactly this arena."""
    runtime = require("tflite_micro").runtime
    return runtime.Interpreter.from_bytes(data, arena_size=arena_bytes)


def _runs(data: bytes, arena_bytes: int, log: list[str]) -> bool:
    """One probe, in this process: can TFLite Micro allocate the model in this arena and run it once?"""
    with _captured_stderr(log):
        try:
            interp = interpreter(data, arena_bytes)
            details = interp.get_input_details(0)
            interp.set_input(np.zeros(details["shape"], details["dtype"]), 0)
            interp.invoke()
        except RuntimeError:
            return False
    return True


def _search(data: bytes, low: int, high: int) -> tuple[int | None, str]:
    """(The smallest arena in (low, high] that runs the model, or None if `high` does not; TFLite Micro's log then.)

    Bisection in child processes: some arenas too small for a model crash TFLite Micro's allocator
    (a segmentation fault, not an error), which must not take this process down. A probe that crashes
    the child counts as too small, and a new child goes on from there.
    """
    first = True  # `high` itself is probed first
    while True:
        args = [sys.executable, "-m", "edge_mnist.export.tflm", str(low), str(high), str(int(first))]
        done = subprocess.run(args, input=data, capture_output=True, timeout=600)
        started = None
        for line in done.stdout.decode().splitlines():
            message = json.loads(line)
            if "start" in message:
                started = message["start"]
            elif "result" in message:
                return message["result"], ""
            elif message["arena"] == high and first:
                if not message["runs"]:
                    return None, message["log"]
                first, started = False, None
            else:
                low, high, started = (low, message["arena"], None) if message["runs"] else (message["arena"], high, None)
        if started is None:
            tail = (done.stderr.decode(errors="replace").strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise ModelError(f"TensorFlow Lite Micro's arena search failed ({tail[:200]})")
        if first:
            return None, f"TensorFlow Lite Micro crashed allocating it in {high} bytes"
        low = started  # that probe crashed: too small


def _search_child(low: int, high: int, probe_high: bool) -> None:
    """The child's side of `_search`: model bytes on stdin, one JSON line per probe on stdout."""
    data = sys.stdin.buffer.read()

    def probe(arena: int) -> bool:
        print(json.dumps({"start": arena}), flush=True)
        log: list[str] = []
        runs = _runs(data, arena, log)
        print(json.dumps({"arena": arena, "runs": runs, "log": log[-1][-4000:]}), flush=True)
        return runs

    if probe_high and not probe(high):
        return
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if probe(middle) else (middle, high)
    print(json.dumps({"result": high}), flush=True)


def runs_in(data: bytes, arena_bytes: int) -> bool:
    """Whether TFLite Micro allocates and runs the model in exactly this arena (probed in a child process)."""
    return _search(data, arena_bytes - 1, arena_bytes)[0] is not None


def measure(data: bytes, name: str = "model", ceiling: int | None = None) -> MicroModel:
    """The model as a firmware model: its operators and the smallest arena it runs in, measured.

    Refused, in one line: an operator TensorFlow Lite Micro lacks (named from its own complaint), no
    arena below the ceiling, or a float model (the firmware path is full-integer).
    """
    ceiling = ceiling or ARENA_CEILING
    ops = operators(data, name)
    arena, log = _search(data, 0, ceiling)
    if arena is None:
        missing = re.search(r"Didn't find op for builtin opcode '(\w+)'", log) or re.search(r"Didn't find custom op for name '([\w-]+)'", log)
        if missing:
            raise ModelError(f"{name}: needs operator {missing.group(1)}, which TensorFlow Lite Micro does not have")
        if "crashed" in log or "Failed to resize buffer" in log or "Failed to allocate" in log:
            raise ModelError(f"{name}: TensorFlow Lite Micro found no tensor arena below {ceiling // 1024} KB that runs it")
        first = next((line for line in log.splitlines() if line.strip()), "no reason given")
        raise ModelError(f"{name}: TensorFlow Lite Micro cannot run it ({first[:200]})")
    tensor = float_tensor(data, name)
    if tensor is not None:
        raise ModelError(
            f"{name}: a float model (tensor {tensor!r} is float); TensorFlow Lite Micro firmware takes full-integer models: "
            "export with --formats tflm (or tflite-int8)"
        )
    return MicroModel(data, ops, arena)


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("tflite-micro")


# -- C++ source ---------------------------------------------------------------------------------
def c_name(stem: str) -> str:
    """A C identifier prefix from a model's file stem: 'mlp-bn' -> 'mlp_bn'."""
    ident = re.sub(r"\W", "_", stem)
    return ident if re.match(r"[A-Za-z_]", ident) else f"m_{ident}"


def _bytes_block(data: bytes, indent: str = "  ", per_line: int = 12) -> str:
    rows = (data[i : i + per_line] for i in range(0, len(data), per_line))
    return "\n".join(indent + " ".join(f"0x{b:02x}," for b in row) for row in rows)


def _float(value: float) -> str:
    return f"{np.float32(value)!r}".removeprefix("np.float32(").removesuffix(")") + "f"


def render(stem: str, micro: MicroModel, input_q, output_q, example_image: np.ndarray, generator: str) -> dict[str, bytes]:
    """The three files: `<stem>.tflm.cc` (the array), `<stem>.tflm.h` (what a build needs), and an example."""
    p = c_name(stem)
    header_name = f"{stem}{HEADER}"
    guard = f"EDGE_MNIST_{p.upper()}_TFLM_H_"
    snippet = "\n".join(f"//   resolver.{resolver_method(op)}();" for op in micro.operators)
    adds = " &&\n         ".join(f"static_cast<int>(resolver.{resolver_method(op)}()) == 0" for op in micro.operators)
    header = f"""\
// {stem}: MNIST digit classifier, full int8, for TensorFlow Lite Micro. Generated by {generator}.
// Flash: {p}_model ({len(micro.data)} bytes, in {stem}{SOURCE}). RAM: a tensor arena of {p}_tensor_arena_size bytes.
#ifndef {guard}
#define {guard}

// The TFLite flatbuffer, 16-byte aligned as TensorFlow Lite Micro requires.
extern const unsigned char {p}_model[];
extern const unsigned int {p}_model_len;

// Tensor arena. Measured: the smallest arena in which TensorFlow Lite Micro ({micro_runtime()}, reference
// kernels) allocated and ran this model. The margin is not measured: it leaves room for optimized
// kernels' scratch buffers (CMSIS-NN, ESP-NN) and allocator differences between builds.
constexpr unsigned int {p}_arena_measured = {micro.arena_bytes};
constexpr unsigned int {p}_arena_margin = {micro.arena_margin};
constexpr unsigned int {p}_tensor_arena_size = {p}_arena_measured + {p}_arena_margin;

// Input: 28x28x1 int8. A pixel p in 0..255 (white digit on black, as MNIST) becomes
// q = round(p / 255 / {p}_input_scale) + {p}_input_zero_point.
constexpr float {p}_input_scale = {_float(input_q.scale)};
constexpr int {p}_input_zero_point = {input_q.zero_point};
// Output: 10 int8 scores, probability of digit d = (q[d] - {p}_output_zero_point) * {p}_output_scale.
constexpr float {p}_output_scale = {_float(output_q.scale)};
constexpr int {p}_output_zero_point = {output_q.zero_point};

// The operators this model uses, exactly:
//   tflite::MicroMutableOpResolver<{len(micro.operators)}> resolver;
{snippet}
// or, with any MicroMutableOpResolver<{p}_op_count>, {p}_register_ops(resolver) (true when all were added).
constexpr unsigned int {p}_op_count = {len(micro.operators)};
template <typename Resolver>
inline bool {p}_register_ops(Resolver& resolver) {{
  return {adds};  // 0 is kTfLiteOk
}}

#endif  // {guard}
"""
    source = f"""\
// {stem}: the model as a C array for TensorFlow Lite Micro. Generated by {generator}; see {header_name}.
#include "{header_name}"

alignas(16) const unsigned char {p}_model[] = {{
{_bytes_block(micro.data)}
}};
const unsigned int {p}_model_len = {len(micro.data)};
"""
    pixels = np.asarray(example_image, np.uint8).reshape(-1)
    example = f"""\
// Classify one digit with TensorFlow Lite Micro. NEEDS TensorFlow Lite Micro (its headers and library,
// e.g. your board's TFLM port): build it together with {stem}{SOURCE}. Generated by {generator}.
#include <cmath>
#include <cstdint>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "{header_name}"

namespace {{
alignas(16) uint8_t tensor_arena[{p}_tensor_arena_size];

// One 28x28 digit from the MNIST training split, pixels 0..255.
const uint8_t example_digit[28 * 28] = {{
{_bytes_block(pixels.tobytes(), per_line=28)}
}};
}}  // namespace

// The digit 0-9 in `pixels` (28x28, 0..255, white on black), or -1 on error; its probability in *confidence.
int {p}_classify(const uint8_t* pixels, float* confidence) {{
  static tflite::MicroMutableOpResolver<{p}_op_count> resolver;
  static const bool registered = {p}_register_ops(resolver);
  static tflite::MicroInterpreter interpreter(tflite::GetModel({p}_model), resolver, tensor_arena, {p}_tensor_arena_size);
  static const bool allocated = registered && interpreter.AllocateTensors() == kTfLiteOk;
  if (!allocated) return -1;

  int8_t* input = interpreter.input(0)->data.int8;
  for (int i = 0; i < 28 * 28; ++i) {{
    long q = std::lround(pixels[i] / 255.0f / {p}_input_scale) + {p}_input_zero_point;
    input[i] = static_cast<int8_t>(q < -128 ? -128 : (q > 127 ? 127 : q));
  }}
  if (interpreter.Invoke() != kTfLiteOk) return -1;

  const int8_t* scores = interpreter.output(0)->data.int8;
  int best = 0;
  for (int d = 1; d < 10; ++d) {{
    if (scores[d] > scores[best]) best = d;
  }}
  if (confidence) *confidence = (scores[best] - {p}_output_zero_point) * {p}_output_scale;
  // interpreter.arena_used_bytes() tells what this build really needed, against {p}_arena_measured.
  return best;
}}

int main() {{
  float confidence = 0;
  int digit = {p}_classify(example_digit, &confidence);
  MicroPrintf("digit %d, probability %d%%", digit, static_cast<int>(confidence * 100));
  return digit < 0;
}}
"""
    return {SOURCE: source.encode(), HEADER: header.encode(), EXAMPLE: example.encode()}


def micro_runtime() -> str:
    return f"tflite-micro {version()}"


_ARRAY = re.compile(r"alignas\(16\) const unsigned char (\w+)_model\[\] = \{([^}]*)\};")
_HEX = re.compile(r"0x([0-9a-fA-F]{2})")


def read_source(path) -> bytes:
    """The model bytes parsed back out of a generated `.tflm.cc` file, checked against its recorded length."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    if path.stat().st_size > MAX_SOURCE_BYTES:
        raise ModelError(f"{path.name}: {path.stat().st_size} bytes is too large for a generated model source")
    text = path.read_text(errors="replace")
    found = _ARRAY.search(text)
    if not found:
        raise ModelError(f"{path.name}: no edge-mnist model array (alignas(16) const unsigned char <name>_model[]) in this file")
    prefix, body = found.groups()
    tokens = [t for t in (t.strip() for t in body.split(",")) if t]
    if not all(_HEX.fullmatch(t) for t in tokens):
        raise ModelError(f"{path.name}: the model array holds something other than hex bytes")
    length = re.search(rf"const unsigned int {prefix}_model_len = (\d+);", text)
    if not length or int(length.group(1)) != len(tokens):
        recorded = length.group(1) if length else "no"
        raise ModelError(f"{path.name}: the array holds {len(tokens)} bytes but its recorded length is {recorded}")
    return bytes(int(t, 16) for t in tokens)


def read_model(path) -> bytes:
    """Model bytes from a `.tflite` file or a generated `.tflm.cc` source."""
    path = Path(path)
    if path.suffix == ".cc":
        return read_source(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    return path.read_bytes()


# -- the registry's exporter ------------------------------------------------------------------
def export_tflm(model, calibration: np.ndarray, stem: str) -> dict[str, bytes]:
    """Full-int8 conversion (int8 I/O), checked and measured in TFLite Micro, rendered as C++."""
    from edge_mnist import __version__
    from edge_mnist.export.tflite import export_int8
    from edge_mnist.runtime import QuantParams

    data = export_int8(model, calibration)
    micro = measure(data, stem)
    interp = interpreter(data, micro.arena_bytes)

    def quant(details: dict) -> QuantParams:
        q = details["quantization_parameters"]
        return QuantParams(float(q["scales"][0]), int(q["zero_points"][0]), np.dtype(details["dtype"]).name)

    return render(stem, micro, quant(interp.get_input_details(0)), quant(interp.get_output_details(0)), calibration[0], f"edge-mnist {__version__}")


if __name__ == "__main__":  # the arena search's child process
    _search_child(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1")
