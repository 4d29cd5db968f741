"""Export every format, gate it, and put only passing files in place (edge_mnist.export.run)."""
import hashlib
import json

import numpy as np
import pytest

from edge_mnist.export.formats import FORMATS
from edge_mnist.export.parity import DEFAULT_MAX_DROP, DEFAULT_MIN_AGREEMENT
from edge_mnist.models import Preset
from edge_mnist.pipeline import formats_for

CNN_FORMATS = {f.name: f for f in formats_for(Preset.CNN)}  # what the `exported` fixture wrote


def _rows(exported):
    folder, result, payload = exported
    assert result.exit_code == 0, result.output
    return {row["format"]: row for row in payload["rows"]}


def test_every_format_is_written_and_passes_the_gate(exported):
    folder = exported[0]
    rows = _rows(exported)
    assert list(rows) == list(CNN_FORMATS)
    for name, row in rows.items():
        assert row["status"] == "written" and row["figures"]["passed"], row
        path = folder / f"cnn{FORMATS[name].suffix}"
        assert row["path"] == str(path) and path.stat().st_size == row["size_bytes"]
    # Whatever the runtime, every export was judged on the whole test set against the same float model.
    assert {row["figures"]["reference_accuracy"] for row in rows.values()} == {exported[2]["reference_accuracy"]}
    assert exported[2]["reference_accuracy"] > 85  # one epoch on 2,700 images


@pytest.mark.parametrize("name", [n for n, f in CNN_FORMATS.items() if not f.quantized])
def test_float_formats_agree_on_every_top1_but_the_float_models_near_ties(exported, name):
    figures = _rows(exported)[name]["figures"]
    assert figures["max_abs_diff"] <= FORMATS[name].atol
    # Every changed top-1 is a tie closer than the tolerance (float16 may turn one; float32 formats none).
    assert figures["agreement"] == pytest.approx(100.0 - 100.0 * figures["ties"] / 10_000)
    if name != "tflite-float16":
        assert figures["agreement"] == 100.0 and figures["delta_pp"] == 0.0


def test_float32_formats_match_keras_to_float_rounding(exported):
    rows = _rows(exported)
    assert rows["tflite-float32"]["figures"]["max_abs_diff"] < 1e-5
    assert rows["onnx"]["figures"]["max_abs_diff"] < 1e-5


@pytest.mark.parametrize("name", [n for n, f in CNN_FORMATS.items() if f.quantized])
def test_quantized_formats_stay_within_the_default_tolerance(exported, name):
    figures = _rows(exported)[name]["figures"]
    assert -figures["delta_pp"] <= DEFAULT_MAX_DROP
    assert figures["agreement"] >= DEFAULT_MIN_AGREEMENT


def test_sizes_versus_float(exported):
    rows = _rows(exported)
    ratio = {name: row["size_vs_float"] for name, row in rows.items()}
    assert ratio["tflite-float32"] == 1.0 and ratio["onnx"] == 1.0
    # int8 weights are a quarter of float32 ones; the graph and quantization parameters add a little.
    for name in ("tflite-dynamic", "tflite-int8", "tflite-uint8", "onnx-int8"):
        assert 0.2 < ratio[name] < 0.35, (name, ratio[name])
    assert 0.45 < ratio["tflite-float16"] < 0.55


def test_manifest_records_every_file(exported):
    folder, _, payload = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    assert payload["manifest"] == str(folder / "manifest.json")
    assert manifest["model"] == "cnn" and set(manifest["files"]) == {f"cnn{f.suffix}" for f in CNN_FORMATS.values()}
    keras_sha = hashlib.sha256((folder / "cnn.keras").read_bytes()).hexdigest()
    for file_name, entry in manifest["files"].items():
        data = (folder / file_name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size_bytes"] == len(data)
        assert entry["source_model"] == {"file": "cnn.keras", "sha256": keras_sha}
        assert entry["parity"]["passed"] and entry["parity"]["format"] == entry["format"]
        # Judged by the runtime a device would use, never TensorFlow's own interpreter.
        assert entry["parity"]["runtime"].split()[0] == ("onnxruntime" if entry["runtime"] == "onnx" else "ai-edge-litert")
        assert entry["tools"]["tensorflow"] and entry["tools"]["onnxruntime"] and entry["tools"]["ai-edge-litert"]
        assert entry["input"]["shape"][1:] == [28, 28, 1] and entry["output"]["shape"][1:] == [10]
        calibrated = FORMATS[entry["format"]].calibrated
        assert entry["calibration"] == ({"size": 500, "seed": 0, "source": "training split, stratified over digits"} if calibrated else None)


def test_manifest_records_the_quantization_a_device_must_apply(exported):
    files = json.loads((exported[0] / "manifest.json").read_text())["files"]
    for name, dtype, zero_point in (("cnn.int8.tflite", "int8", -128), ("cnn.uint8.tflite", "uint8", 0)):
        entry = files[name]
        assert entry["input"]["dtype"] == dtype and entry["output"]["dtype"] == dtype
        # Calibrated on pixels in [0, 1]: the whole code range spans exactly that.
        assert entry["input"]["quantization"] == {"scale": pytest.approx(1 / 255, rel=1e-3), "zero_point": zero_point}
        assert entry["output"]["quantization"]["scale"] == pytest.approx(1 / 256, rel=1e-3)
    assert files["cnn.float32.tflite"]["input"] == {"name": files["cnn.float32.tflite"]["input"]["name"], "dtype": "float32", "shape": [-1, 28, 28, 1], "quantization": None}
    onnx_int8 = files["cnn.int8.onnx"]
    assert onnx_int8["input"]["dtype"] == "float32"  # QDQ keeps float I/O; the quantization is inside
    assert onnx_int8["input"]["quantization"]["scale"] == pytest.approx(1 / 255, rel=1e-2)
    assert onnx_int8["opset"] == files["cnn.float32.onnx"]["opset"] == 15


def test_quantized_formats_get_a_confusion_matrix_and_a_disagreement_grid(exported):
    cv2 = pytest.importorskip("cv2")
    folder = exported[0]
    rows = _rows(exported)
    for name, fmt in CNN_FORMATS.items():
        plots = rows[name]["plots"]
        if not fmt.quantized:
            assert plots == []
            continue
        assert plots == [str(folder / f"cnn.{name}.confusion.png"), str(folder / f"cnn.{name}.disagreements.png")]
        for plot in plots:
            image = cv2.imread(plot)
            assert image is not None and image.shape[0] > 150 and image.shape[1] > 400


def test_no_temporary_file_is_left_behind(exported):
    assert not [p.name for p in exported[0].iterdir() if p.name.startswith(".")]


def test_broken_quantization_fails_the_gate_and_keeps_the_previous_file(invoke, artifacts_copy, monkeypatch):
    """All-black calibration images: the int8 input range collapses, every real digit clips. The gate must catch it."""
    before = {p.name: p.read_bytes() for p in artifacts_copy.iterdir()}
    monkeypatch.setattr("edge_mnist.export.run.representative_images", lambda x, y, size, seed: np.zeros((size, 28, 28), np.uint8))
    result = invoke("export", "--model", artifacts_copy / "cnn.keras", "--int8", "--formats", "onnx-int8")
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: parity gate failed: onnx-int8 (accuracy drop") and "tflite-int8 (accuracy drop" in last
    assert "FAILED" in result.output
    # Every earlier file is byte for byte the same; the rejected exports' pictures are new files beside them.
    after = {p.name: p.read_bytes() for p in artifacts_copy.iterdir()}
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {f"cnn.{f}.failed.{kind}.png" for f in ("tflite-int8", "onnx-int8") for kind in ("confusion", "disagreements")}


def test_reuse_redoes_only_what_the_new_calibration_changes(artifacts_copy, mnist):
    from edge_mnist.export.run import Status, export_model

    float_before = (artifacts_copy / "cnn.float32.tflite").read_bytes()
    int8_before = (artifacts_copy / "cnn.int8.tflite").read_bytes()
    # A different calibration seed makes the int8 file stale, not the float one; both are verified again.
    report = export_model(artifacts_copy / "cnn.keras", [FORMATS["tflite-int8"], FORMATS["tflite-float32"]], mnist, seed=1, reuse=True, plots=False)
    assert [row.status for row in report.rows] == [Status.WRITTEN, Status.REUSED]
    assert all(r.passed for r in report.results) and len(report.results) == 2
    assert (artifacts_copy / "cnn.float32.tflite").read_bytes() == float_before
    assert (artifacts_copy / "cnn.int8.tflite").read_bytes() != int8_before
    manifest = json.loads((artifacts_copy / "manifest.json").read_text())
    assert manifest["files"]["cnn.int8.tflite"]["calibration"]["seed"] == 1
