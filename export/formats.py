"""The one registry of export formats, keyed by name: the CLI, the verifier and the bench all read it.

Adding a format is one entry here plus one exporter function `(keras_model, calibration_uint8) -> bytes`
(a format that writes companion files beside its main one takes the file stem too and returns
`{suffix: bytes}`). Tolerances are data: float formats are held to `atol` on every output against the
Keras model and must agree on every top-1 the float model does not leave closer than `atol`; quantized
formats are judged by accuracy drop and top-1 agreement, and `tflm` also against LiteRT's reference
kernels on the same bytes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from edge_mnist.errors import FormatError
from edge_mnist.export import onnx as onnx_export
from edge_mnist.export import tflite as tflite_export
from edge_mnist.export import tflm as tflm_export


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str  # appended to the model name: cnn + ".int8.tflite"
    exporter: Callable
    runtime: str  # "tflite", "onnx" or "tflm" (TensorFlow Lite Micro): which runtime family loads the file
    quantized: bool  # judged by accuracy drop/agreement (True) or allclose (False)
    calibrated: bool  # the exporter uses the calibration images (full-integer formats)
    atol: float | None  # max |output - keras output| for float formats
    description: str
    max_drop: float | None = None  # a tighter accuracy-drop limit than the gate's default, in pp
    companions: tuple[str, ...] = ()  # suffixes of files written, gated and renamed with the main one


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("tflite-float32", ".float32.tflite", tflite_export.export_float32, "tflite", False, False, 1e-4, "TFLite float32"),
        Format("tflite-float16", ".float16.tflite", tflite_export.export_float16, "tflite", False, False, 2e-3, "TFLite float16 weights"),
        Format("tflite-dynamic", ".dynamic.tflite", tflite_export.export_dynamic, "tflite", True, False, None, "TFLite dynamic-range int8 weights"),
        Format("tflite-int8", ".int8.tflite", tflite_export.export_int8, "tflite", True, True, None, "TFLite full int8, int8 I/O"),
        Format("tflite-uint8", ".uint8.tflite", tflite_export.export_uint8, "tflite", True, True, None, "TFLite full int8, uint8 I/O"),
        Format("onnx", ".float32.onnx", onnx_export.export_float32, "onnx", False, False, 1e-4, "ONNX float32 (tf2onnx)"),
        Format("onnx-int8", ".int8.onnx", onnx_export.export_int8, "onnx", True, True, None, "ONNX int8 static QDQ, per-channel"),
        # Firmware: the full-int8 model as C++ source, gated in TensorFlow Lite Micro itself.
        Format(
            "tflm", tflm_export.SOURCE, tflm_export.export_tflm, "tflm", True, True, None, "TFLite Micro C++ source, full int8",
            max_drop=0.1, companions=(tflm_export.HEADER, tflm_export.EXAMPLE),
        ),
    )
}
INT8_DEFAULT = "tflite-int8"


def parse_formats(names: str | list[str]) -> list[Format]:
    """'tflite-int8,onnx' -> [Format, ...]; an unknown name is refused with the list of valid ones."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise FormatError(f"unknown format {', '.join(unknown) or '(none given)'}; valid formats: {', '.join(FORMATS)}")
    return [FORMATS[n] for n in dict.fromkeys(names)]


def format_of(path) -> Format:
    """The registry entry whose suffix the file name ends with."""
    name = str(path)
    for fmt in sorted(FORMATS.values(), key=lambda f: -len(f.suffix)):
        if name.endswith(fmt.suffix):
            return fmt
    raise FormatError(f"{path}: file name matches no export format; expected one of the suffixes {', '.join(f.suffix for f in FORMATS.values())}")
