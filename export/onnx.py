"""ONNX exporters: float through Keras 3's own tf2onnx path, int8 as static QDQ calibrated by onnxruntime."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.data import normalize

OPSET = 15  # what Keras 3.15's ONNX export emits through tf2onnx; onnxruntime quantization supports it


def export_float32(model, calibration: np.ndarray) -> bytes:
    require("tf2onnx")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        # tf2onnx.convert.from_keras breaks on Keras 3 models; Keras' own export drives tf2onnx correctly.
        model.export(str(path), format="onnx", verbose=False, opset_version=OPSET)
        return path.read_bytes()


def export_int8(model, calibration: np.ndarray) -> bytes:
    ort = require("onnxruntime")
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, name, images):
            self._batches = iter([{name: images[i : i + 1]} for i in range(len(images))])

        def get_next(self):
            return next(self._batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        float_path, prep_path, q_path = (Path(tmp) / n for n in ("float.onnx", "prep.onnx", "int8.onnx"))
        float_path.write_bytes(export_float32(model, calibration))
        quant_pre_process(str(float_path), str(prep_path), skip_symbolic_shape=False)
        input_name = ort.InferenceSession(str(prep_path), providers=["CPUExecutionProvider"]).get_inputs()[0].name
        quantize_static(
            str(prep_path),
            str(q_path),
            Reader(input_name, normalize(calibration)),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
        )
        return q_path.read_bytes()
