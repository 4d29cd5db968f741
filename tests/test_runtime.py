"""edge_mnist.runtime: the quantize/dequantize helper, layout detection, and Predictor on real exports."""
import numpy as np
import pytest

from edge_mnist.errors import MissingDependencyError, ModelError
from edge_mnist.runtime import (
    OutputKind,
    Predictor,
    QuantParams,
    Runtime,
    Scaling,
    dequantize,
    detect_layout,
    quantize,
    scale_pixels,
    scaling_from_quant,
)

INT8_UNIT = QuantParams(1 / 255, -128, "int8")  # what the converter picks for [0, 1] inputs


def test_quantize_rounds_half_to_even_and_clips():
    q = QuantParams(0.5, 0, "int8")
    assert quantize(np.array([0.25, 0.75, 1.25, -0.25]), q).tolist() == [0, 2, 2, 0]
    assert quantize(np.array([1000.0, -1000.0]), q).tolist() == [127, -128]
    assert quantize(np.array([-1.0, 300.0]), QuantParams(1.0, 0, "uint8")).tolist() == [0, 255]


def test_dequantize_inverts_quantize_within_half_a_step():
    x = np.linspace(0, 1, 1001, dtype=np.float32)
    back = dequantize(quantize(x, INT8_UNIT), INT8_UNIT)
    assert back.dtype == np.float32
    assert np.abs(back - x).max() <= INT8_UNIT.scale / 2 + 1e-7


def test_scale_pixels_maps_the_ends_of_each_scaling():
    ends = np.array([0, 255], np.uint8)
    assert scale_pixels(ends, Scaling.UNIT).tolist() == [0.0, 1.0]
    assert scale_pixels(ends, Scaling.BYTE).tolist() == [0.0, 255.0]
    assert scale_pixels(ends, Scaling.SIGNED).tolist() == [-1.0, 1.0]
    assert np.allclose(scale_pixels(ends, Scaling.STANDARD), [-0.4242, 2.8215], atol=1e-4)


@pytest.mark.parametrize(
    "shape, description, dynamic",
    [
        ([1, 28, 28, 1], "NHWC 28x28x1", False),
        ([-1, 28, 28, 1], "NHWC 28x28x1", True),
        ([None, 1, 28, 28], "NCHW 1x28x28", True),
        ([1, 28, 28], "28x28", False),
        ([-1, 784], "flat 784", True),
    ],
)
def test_detect_layout_knows_the_mnist_layouts(shape, description, dynamic):
    layout = detect_layout(shape)
    assert (layout.description, layout.dynamic_batch) == (description, dynamic)
    assert int(np.prod(layout.shape)) == 784 and layout.shape[0] == 1


@pytest.mark.parametrize("shape", [[1, 32, 32, 1], [784], [28, 28], [2, 784], [1, 28, 28, 3]])
def test_detect_layout_refuses_anything_else(shape):
    with pytest.raises(ModelError, match="not an MNIST image"):
        detect_layout(shape)


@pytest.mark.parametrize(
    "q, scaling",
    [
        (INT8_UNIT, Scaling.UNIT),
        (QuantParams(1 / 255, 0, "uint8"), Scaling.UNIT),
        (QuantParams(1.0, 0, "uint8"), Scaling.BYTE),
        (QuantParams(1.0, -128, "int8"), Scaling.BYTE),
        (QuantParams(2 / 255, -1, "int8"), Scaling.SIGNED),
        (QuantParams(3.2457 / 255, -97, "int8"), Scaling.STANDARD),
        (QuantParams(0.1, 0, "int8"), None),
    ],
)
def test_scaling_from_quant_reads_the_calibrated_range(q, scaling):
    assert scaling_from_quant(q) is scaling


def test_int8_predictor_matches_the_float_export(mnist, tiny_exports):
    images = mnist.x_test[:500]
    float_scores = Predictor(tiny_exports["tflite-float32"]).predict(images)
    int8 = Predictor(tiny_exports["tflite-int8"], threads=1)
    scores = int8.predict(images)
    assert scores.shape == (500, 10) and scores.dtype == np.float32
    assert int8.input_quant.dtype == "int8" and int8.output_quant.dtype == "int8"
    assert np.abs(scores - float_scores).max() < 0.1
    assert (scores.argmax(1) == float_scores.argmax(1)).mean() >= 0.98


@pytest.mark.parametrize("name", ["tflite-float32", "tflite-int8", "tflite-uint8", "onnx"])
def test_single_image_path_equals_the_batched_path(mnist, tiny_exports, name):
    predictor = Predictor(tiny_exports[name], threads=1)
    images = mnist.x_test[:40]
    batched = predictor.predict(images, batch_size=16)
    single = np.concatenate([predictor.predict(images[i : i + 1]) for i in range(len(images))])
    assert np.array_equal(single, batched)
    # The single path reuses buffers: an earlier result must not change under a later call.
    first = predictor.predict(images[:1])
    predictor.predict(images[1:2])
    assert np.array_equal(first, batched[:1])


@pytest.mark.parametrize("name", ["tflite-int8", "tflite-uint8", "onnx"])
def test_our_exports_are_detected_as_they_are(tiny_exports, name):
    d = Predictor(tiny_exports[name]).describe()
    assert d["layout"] == "NHWC 28x28x1" and d["dynamic_batch"]
    assert d["output_kind"] == OutputKind.PROBABILITIES.value and d["scaling"] == "0-1"


def test_quantized_input_says_its_scaling_with_no_assumption(tiny_exports):
    predictor = Predictor(tiny_exports["tflite-int8"], scaling=None)
    assert predictor.scaling is Scaling.UNIT and predictor.assumptions == []


def test_float_input_without_a_scaling_is_an_assumption_said_aloud(tiny_exports):
    predictor = Predictor(tiny_exports["tflite-float32"], scaling=None)
    assert predictor.scaling is Scaling.UNIT
    assert any("assumed pixels in 0-1" in a for a in predictor.assumptions)


def test_bare_call_runs_the_same_model_on_the_same_input(mnist, tiny_exports):
    image = mnist.x_test[:1]
    tflite = Predictor(tiny_exports["tflite-int8"], threads=1)
    tflite.bare_call(image)()
    raw = tflite._interp.get_tensor(tflite._out_index)
    assert np.array_equal(dequantize(raw, tflite.output_quant), tflite.predict(image))
    onnx = Predictor(tiny_exports["onnx"], threads=1)
    assert np.array_equal(onnx.bare_call(image)()[0], onnx.predict(image))


def test_predict_refuses_images_that_are_not_uint8_28x28(tiny_exports):
    predictor = Predictor(tiny_exports["tflite-int8"])
    with pytest.raises(ModelError, match="uint8 images of shape"):
        predictor.predict(np.zeros((1, 28, 28), np.float32))
    with pytest.raises(ModelError, match="uint8 images of shape"):
        predictor.predict(np.zeros((1, 32, 32), np.uint8))


def test_missing_and_unknown_files_are_refused(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        Predictor(tmp_path / "nope.tflite")
    (tmp_path / "model.pb").write_bytes(b"x")
    with pytest.raises(ModelError, match="expected .tflite or .onnx"):
        Predictor(tmp_path / "model.pb")


def test_runtime_that_cannot_run_the_format_is_refused(tiny_exports):
    with pytest.raises(ModelError, match="runs on onnxruntime"):
        Predictor(tiny_exports["onnx"], runtime=Runtime.LITERT)
    with pytest.raises(ModelError, match="cannot run on onnxruntime"):
        Predictor(tiny_exports["tflite-int8"], runtime=Runtime.ONNXRUNTIME)


def test_forced_runtime_that_is_not_installed_names_the_fix(tiny_exports):
    try:
        import tflite_runtime  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="pip install tflite-runtime"):
            Predictor(tiny_exports["tflite-int8"], runtime=Runtime.TFLITE_RUNTIME)
    else:
        pytest.skip("tflite-runtime is installed here, so it cannot be missing")


def test_no_tflite_runtime_at_all_names_the_pi_extra(run_isolated, tiny_exports):
    out = run_isolated(
        "import sys\n"
        "for name in ('ai_edge_litert', 'tflite_runtime', 'tensorflow'):\n"
        "    sys.modules[name] = None  # import of these now raises ImportError\n"
        "from edge_mnist.errors import MissingDependencyError\n"
        "from edge_mnist.runtime import Predictor\n"
        "try:\n"
        f"    Predictor({str(tiny_exports['tflite-int8'])!r})\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    assert "pip install 'edge-mnist[pi]'" in out


def test_tflite_load_prefers_litert_and_never_imports_tensorflow(run_isolated, tiny_exports):
    out = run_isolated(
        "import sys\n"
        "from edge_mnist.runtime import Predictor\n"
        f"p = Predictor({str(tiny_exports['tflite-int8'])!r})\n"
        "print(p.runtime.value, 'tensorflow' in sys.modules)\n"
    )
    assert out.split() == ["ai-edge-litert", "False"]


def _counting_tflite(monkeypatch):
    """Make every TFLite interpreter count its invokes; returns the counter."""
    import edge_mnist.runtime as runtime

    calls = []
    Interpreter, runtime_name, version = runtime.load_tflite_interpreter_class()

    class Counting(Interpreter):
        def invoke(self, *args, **kwargs):
            calls.append(1)
            return super().invoke(*args, **kwargs)

    monkeypatch.setattr(runtime, "load_tflite_interpreter_class", lambda runtime=None: (Counting, runtime_name, version))
    return calls


@pytest.mark.parametrize("name", ["tflite-float32", "tflite-int8", "tflite-uint8"])
def test_loading_runs_no_inference_so_the_first_predict_is_a_cold_one(tiny_exports, monkeypatch, name):
    calls = _counting_tflite(monkeypatch)
    predictor = Predictor(tiny_exports[name], scaling=None)
    assert calls == []
    # What the output is came from the file itself: the graph ends in a softmax.
    assert predictor.output_kind is OutputKind.PROBABILITIES and calls == []
    predictor.predict(np.zeros((1, 28, 28), np.uint8))
    assert calls == [1]


def test_onnx_loading_runs_no_inference(tiny_exports, tmp_path, monkeypatch):
    import onnxruntime

    from edge_mnist.export.run import _with_onnx_metadata

    ours = tmp_path / "cnn.float32.onnx"  # as `edge-mnist export` writes it: with its edge-mnist metadata
    ours.write_bytes(_with_onnx_metadata(tiny_exports["onnx"].read_bytes(), {"edge_mnist.format": "onnx"}))
    calls = []
    run = onnxruntime.InferenceSession.run
    monkeypatch.setattr(onnxruntime.InferenceSession, "run", lambda self, *a, **k: calls.append(1) or run(self, *a, **k))
    predictor = Predictor(ours)
    # An edge-mnist ONNX file says it is one in its metadata, and every edge-mnist model ends in a softmax.
    assert predictor.output_kind is OutputKind.PROBABILITIES and calls == []


def test_an_onnx_file_that_does_not_say_is_probed_once_when_asked(tiny_exports, monkeypatch):
    import onnxruntime

    bare = tiny_exports["onnx"]  # straight from the exporter, without edge-mnist's metadata
    calls = []
    run = onnxruntime.InferenceSession.run
    monkeypatch.setattr(onnxruntime.InferenceSession, "run", lambda self, *a, **k: calls.append(1) or run(self, *a, **k))
    predictor = Predictor(bare)
    assert calls == []
    assert predictor.output_kind is OutputKind.PROBABILITIES and len(calls) == 2
    assert predictor.output_kind is OutputKind.PROBABILITIES and len(calls) == 2
