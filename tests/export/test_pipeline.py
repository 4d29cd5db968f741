"""`edge-mnist pipeline`'s export stage (edge_mnist/pipeline.py): every format exported and verified per model."""
import hashlib
import json
from dataclasses import asdict, replace

import pytest

from edge_mnist.export.formats import FORMATS
from edge_mnist.models import DEFAULT, Preset
from edge_mnist.pipeline import format_summary, formats_for, run_pipeline
from edge_mnist.training import resolve_precision


@pytest.fixture
def pipeline_out(artifacts_copy):
    """The exported tiny cnn, its history marked as the default recipe so the pipeline skips a full training run."""
    history = artifacts_copy / "cnn.history.json"
    recipe = DEFAULT[Preset.CNN]
    record = {"recipe": asdict(recipe), "seed": 0, "precision": resolve_precision(recipe), "test_accuracy": 0.9, "seconds": 1.0}
    history.write_text(json.dumps(record))
    return artifacts_copy.parent


def test_pipeline_reuses_current_exports_verifies_every_one_and_redoes_a_changed_file(pipeline_out):
    folder = pipeline_out / "cnn"
    with open(folder / "cnn.dynamic.tflite", "ab") as f:
        f.write(b"\0")  # no longer the file the manifest vouches for
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".tflite", ".onnx")}
    messages = []
    result = run_pipeline([Preset.CNN], pipeline_out, echo=messages.append)
    (model,) = result.models
    assert model.trained is False and result.failure is None
    status = {e.format: e.status.value for e in model.exports}
    cnn_formats = [f.name for f in formats_for(Preset.CNN)]
    assert status == {name: "written" if name == "tflite-dynamic" else "reused" for name in cnn_formats}
    assert all(e.figures["passed"] for e in model.exports)
    assert sum(m.endswith(": passed") for m in messages) == len(cnn_formats)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".tflite", ".onnx")}
    assert {n for n in after if after[n] != before[n]} == {"cnn.dynamic.tflite"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"]["cnn.dynamic.tflite"]["sha256"] == hashlib.sha256(after["cnn.dynamic.tflite"]).hexdigest()
    table = format_summary(result)
    for name in cnn_formats:
        assert any(line.split()[:2] == ["cnn", name] for line in table.splitlines()), name
    assert json.loads(json.dumps(result.to_json()))["models"][0]["exports"][0] == model.exports[0].to_json()


def test_a_model_trained_at_another_precision_or_seed_is_not_current(pipeline_out):
    from edge_mnist.pipeline import _trained_is_current

    folder = pipeline_out / "cnn"
    record = json.loads((folder / "cnn.history.json").read_text())
    assert _trained_is_current(folder, Preset.CNN, 0, record["precision"]) == record
    other = "mixed_bfloat16" if record["precision"] == "float32" else "float32"
    assert _trained_is_current(folder, Preset.CNN, 0, other) is None
    assert _trained_is_current(folder, Preset.CNN, 1, record["precision"]) is None


def _float16_held_to_float32_tolerance(monkeypatch):
    # float16 weights held to a float32 tolerance: an honest export that must fail this gate.
    monkeypatch.setitem(FORMATS, "tflite-float16", replace(FORMATS["tflite-float16"], atol=1e-9))


def test_a_failed_gate_is_in_the_result_not_raised(pipeline_out, monkeypatch):
    _float16_held_to_float32_tolerance(monkeypatch)
    result = run_pipeline([Preset.CNN], pipeline_out)
    assert result.failure.startswith("parity gate failed: tflite-float16 (max |diff|")
    assert result.to_json()["passed"] is False and result.to_json()["failure"] == result.failure
    summary_line = next(line for line in format_summary(result).splitlines() if "tflite-float16" in line)
    assert "FAILED (max |diff|" in summary_line


def test_the_pipeline_runs_edge_by_default_with_its_firmware_export():
    from edge_mnist.cli import pipeline

    assert next(p for p in pipeline.params if p.name == "models").default == "mlp,cnn,edge,cnn-camera"
    assert [f.name for f in formats_for(Preset.EDGE)] == list(FORMATS)
    assert "tflm" not in [f.name for f in formats_for(Preset.CNN)] + [f.name for f in formats_for(Preset.MLP)]


@pytest.mark.slow
def test_pipeline_exports_and_gates_edge_in_every_format_tflm_included(small_edge, tmp_path):
    import shutil

    (tmp_path / "edge").mkdir()
    shutil.copy(small_edge, tmp_path / "edge" / "edge.keras")
    recipe = DEFAULT[Preset.EDGE]
    record = {"recipe": asdict(recipe), "seed": 0, "precision": resolve_precision(recipe), "test_accuracy": 0.98, "seconds": 1.0}
    (tmp_path / "edge" / "edge.history.json").write_text(json.dumps(record))
    result = run_pipeline([Preset.EDGE], tmp_path)
    (model,) = result.models
    exports = {e.format: e for e in model.exports}
    assert result.failure is None and model.trained is False
    assert list(exports) == list(FORMATS) and all(e.figures["passed"] and e.status.value == "written" for e in exports.values())
    assert exports["tflm"].figures["micro"]["arena_bytes"] > 0 and (tmp_path / "edge" / "edge.tflm.h").is_file()


def test_cli_prints_writes_the_json_then_exits_2_on_a_failed_gate(pipeline_out, monkeypatch, invoke):
    _float16_held_to_float32_tolerance(monkeypatch)
    out = pipeline_out / "summary.json"
    result = invoke("pipeline", "--models", "cnn", "--out", pipeline_out, "--json", out)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith("Error: parity gate failed: tflite-float16")
    assert any("FAILED (max |diff|" in line for line in result.stdout.splitlines() if "tflite-float16" in line)
    summary = json.loads(out.read_text())
    assert summary["passed"] is False and summary["failure"].startswith("parity gate failed: tflite-float16")
    assert {e["format"]: e["status"] for e in summary["models"][0]["exports"]}["tflite-float16"] == "FAILED"
    assert [p.name for p in pipeline_out.iterdir() if p.name.startswith(".")] == []  # written whole, through a rename


@pytest.mark.parametrize("how", ["option", "environment"])
def test_the_float32_switch_reaches_training_and_the_json(tmp_path, monkeypatch, invoke, how):
    # The path a CPU without native bf16 takes, asked for from the command line: training gets it and
    # the summary records it (a short real run on that path: tests/test_training.py).
    from types import SimpleNamespace

    from edge_mnist import pipeline, training
    from edge_mnist.export import run

    asked = []

    def fake_train(preset, mnist, out, seed=0, precision=None, **_):
        asked.append(training.resolve_precision(DEFAULT[preset], precision))
        return SimpleNamespace(test_accuracy=0.99, seconds=1.0)

    monkeypatch.setattr(training, "train", fake_train)
    monkeypatch.setattr(training, "native_bf16", lambda: True)  # so that "auto" would be bf16 on any CPU
    monkeypatch.setattr(pipeline, "load_mnist", lambda data=None: None)
    monkeypatch.setattr(run, "export_model", lambda *a, **k: SimpleNamespace(rows=[], results=[]))
    args = ["pipeline", "--models", "cnn", "--out", tmp_path, "--json", tmp_path / "summary.json"]
    if how == "option":
        args += ["--precision", "float32"]
    else:
        monkeypatch.setenv("EDGE_MNIST_PRECISION", "float32")
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert asked == ["float32"]
    assert json.loads((tmp_path / "summary.json").read_text())["models"][0]["precision"] == "float32"


def test_the_library_side_never_imports_click(run_isolated):
    # `pipeline`, export and bench return data; only the command line (the *.cli modules) presents it.
    modules = "edge_mnist.pipeline, edge_mnist.export.run, edge_mnist.firmware_bench.bench, edge_mnist.training"
    assert run_isolated(f"import sys, {modules}; print('click' in sys.modules)").strip() == "False"
