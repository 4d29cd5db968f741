"""TFLite exporters: float32, float16 weights, dynamic-range int8, and full-integer int8 or uint8 I/O."""
from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from edge_mnist._deps import require
from edge_mnist.data import normalize


def _convert(model, configure=lambda tf, conv: None) -> bytes:
    tf = require("tensorflow")
    # Keras 3 prints the signature of its temporary SavedModel to stdout, which belongs to the CLI's table or JSON.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # Raised for every full-integer conversion: the input statistics come from the representative dataset.
        warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
        conv = tf.lite.TFLiteConverter.from_keras_model(model)
        configure(tf, conv)
        return conv.convert()


def export_float32(model, calibration: np.ndarray) -> bytes:
    return _convert(model)


def export_float16(model, calibration: np.ndarray) -> bytes:
    def configure(tf, conv):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.target_spec.supported_types = [tf.float16]

    return _convert(model, configure)


def export_dynamic(model, calibration: np.ndarray) -> bytes:
    return _convert(model, lambda tf, conv: setattr(conv, "optimizations", [tf.lite.Optimize.DEFAULT]))


def _full_integer(model, calibration: np.ndarray, io_dtype: str) -> bytes:
    images = normalize(calibration)

    def configure(tf, conv):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([images[i : i + 1]] for i in range(len(images)))
        # Refuse a float fallback: a model that cannot be fully integer must fail loudly here.
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = getattr(tf, io_dtype)

    return _convert(model, configure)


def export_int8(model, calibration: np.ndarray) -> bytes:
    return _full_integer(model, calibration, "int8")


def export_uint8(model, calibration: np.ndarray) -> bytes:
    return _full_integer(model, calibration, "uint8")
