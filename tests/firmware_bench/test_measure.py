"""firmware_bench.measure: the statistics, the verified test set, one in-process benchmark, the overhead figure."""
from pathlib import Path

import numpy as np
import pytest

from edge_mnist.firmware_bench.measure import Settings, bench_model, format_name, memory, overhead, percentiles_us
from edge_mnist.runtime import Predictor


def test_percentiles_in_microseconds():
    stats = percentiles_us([i * 1e-6 for i in range(1, 101)])
    assert stats.min == pytest.approx(1) and stats.p50 == pytest.approx(50.5) and stats.runs == 100
    assert stats.p90 == pytest.approx(90.1) and stats.p99 == pytest.approx(99.01) and stats.mean == pytest.approx(50.5)


def test_memory_reads_this_process():
    mem = memory()
    assert 0 < mem["rss"] <= mem["peak"]


def test_format_name_is_the_registrys_for_our_files():
    assert format_name(Path("cnn.int8.tflite")) == "tflite-int8"
    assert format_name(Path("mlp.float32.onnx")) == "onnx"
    assert format_name(Path("mobilenet_mnist.tflite")) == "foreign tflite"
    assert format_name(Path("mnist-12.onnx")) == "foreign onnx"


def test_bench_model_on_a_slice(tiny_exports, mnist):
    result = bench_model(tiny_exports["tflite-int8"], mnist.x_test, mnist.y_test, Settings(runs=20, warmup=2, limit=256, threads=1))
    assert result.test_images == 256 and result.latency_us.runs == 20
    expected = (Predictor(tiny_exports["tflite-int8"]).classify(mnist.x_test[:256]) == mnist.y_test[:256]).sum()
    assert result.correct == expected


def test_overhead_compares_predict_with_the_bare_invoke(tiny_exports, mnist):
    result = overhead(Predictor(tiny_exports["tflite-int8"], threads=1), mnist.x_test, runs=100)
    assert result.bare == "interpreter.invoke"
    # predict does all of the bare call's work and more, so it cannot be much faster than it.
    assert result.product_us > 0.8 * result.bare_us > 0
    assert result.ratio == pytest.approx(result.product_us / result.bare_us)
