"""TFLite exporters: float32, float16 weights, dynamic-range int8, and full-integer int8 or uint8 I/O."""
from __future__ import annotations

import numpy as np

from edge_mnist._deps import require
from edge_mnist.data import normalize


def _converter(model):
    tf = require("tensorflow")
    return tf, tf.lite.TFLiteConverter.from_keras_model(model)


def export_float32(model, calibration: np.ndarray) -> bytes:
    _, conv = _converter(model)
    return conv.convert()


def export_float16(model, calibration: np.ndarray) -> bytes:
    tf, conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    return conv.convert()


def export_dynamic(model, calibration: np.ndarray) -> bytes:
    tf, conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    return conv.convert()


def _full_integer(model, calibration: np.ndarray, io_dtype) -> bytes:
    tf, conv = _converter(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    images = normalize(calibration)
    conv.representative_dataset = lambda: ([images[i : i + 1]] for i in range(len(images)))
    # Refuse a float fallback: a model that cannot be fully integer must fail loudly here.
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = io_dtype(tf)
    conv.inference_output_type = io_dtype(tf)
    return conv.convert()


def export_int8(model, calibration: np.ndarray) -> bytes:
    return _full_integer(model, calibration, lambda tf: tf.int8)


def export_uint8(model, calibration: np.ndarray) -> bytes:
    return _full_integer(model, calibration, lambda tf: tf.uint8)
