"""`edge-mnist pipeline`'s export stage (edge_mnist/pipeline.py): every format exported and verified per model."""
import hashlib
import json
from dataclasses import asdict, replace

import pytest

from edge_mnist.errors import ParityError
from edge_mnist.export.formats import FORMATS
from edge_mnist.models import DEFAULT, Preset
from edge_mnist.pipeline import format_summary, formats_for, run_pipeline


@pytest.fixture
def pipeline_out(artifacts_copy):
    """The exported tiny cnn, its history marked as the default recipe so the pipeline skips a full training run."""
    history = artifacts_copy / "cnn.history.json"
    record = {"recipe": asdict(DEFAULT[Preset.CNN]), "seed": 0, "test_accuracy": 0.9, "seconds": 1.0}
    history.write_text(json.dumps(record))
    return artifacts_copy.parent


def test_pipeline_reuses_current_exports_verifies_every_one_and_redoes_a_changed_file(pipeline_out):
    folder = pipeline_out / "cnn"
    with open(folder / "cnn.dynamic.tflite", "ab") as f:
        f.write(b"\0")  # no longer the file the manifest vouches for
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".tflite", ".onnx")}
    messages = []
    summary = run_pipeline([Preset.CNN], pipeline_out, echo=messages.append)
    (model,) = summary["models"]
    assert model["trained"] is False
    status = {e["format"]: e["status"] for e in model["exports"]}
    cnn_formats = [f.name for f in formats_for(Preset.CNN)]
    assert status == {name: "written" if name == "tflite-dynamic" else "reused" for name in cnn_formats}
    assert all(e["passed"] for e in model["exports"])
    assert sum(m.endswith(": passed") for m in messages) == len(cnn_formats)
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.suffix in (".tflite", ".onnx")}
    assert {n for n in after if after[n] != before[n]} == {"cnn.dynamic.tflite"}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"]["cnn.dynamic.tflite"]["sha256"] == hashlib.sha256(after["cnn.dynamic.tflite"]).hexdigest()
    table = format_summary(summary)
    for name in cnn_formats:
        assert f"cnn      {name}" in table


def test_pipeline_shows_the_summary_then_fails_on_any_failed_gate(pipeline_out, monkeypatch):
    # float16 weights held to a float32 tolerance: an honest export that must fail this gate.
    monkeypatch.setitem(FORMATS, "tflite-float16", replace(FORMATS["tflite-float16"], atol=1e-9))
    messages = []
    with pytest.raises(ParityError, match=r"^parity gate failed: tflite-float16 \(max \|diff\|"):
        run_pipeline([Preset.CNN], pipeline_out, echo=messages.append)
    summary_line = next(line for line in messages[-1].splitlines() if "tflite-float16" in line)
    assert "FAILED (max |diff|" in summary_line


def test_the_pipeline_runs_edge_by_default_with_its_firmware_export():
    from edge_mnist.cli import pipeline

    assert next(p for p in pipeline.params if p.name == "models").default == "mlp,cnn,edge"
    assert [f.name for f in formats_for(Preset.EDGE)] == list(FORMATS)
    assert "tflm" not in [f.name for f in formats_for(Preset.CNN)] + [f.name for f in formats_for(Preset.MLP)]


@pytest.mark.slow
def test_pipeline_exports_and_gates_edge_in_every_format_tflm_included(small_edge, tmp_path):
    import shutil

    (tmp_path / "edge").mkdir()
    shutil.copy(small_edge, tmp_path / "edge" / "edge.keras")
    record = {"recipe": asdict(DEFAULT[Preset.EDGE]), "seed": 0, "test_accuracy": 0.98, "seconds": 1.0}
    (tmp_path / "edge" / "edge.history.json").write_text(json.dumps(record))
    summary = run_pipeline([Preset.EDGE], tmp_path, echo=lambda m: None)
    (model,) = summary["models"]
    exports = {e["format"]: e for e in model["exports"]}
    assert list(exports) == list(FORMATS) and all(e["passed"] and e["status"] == "written" for e in exports.values())
    assert exports["tflm"]["micro"]["arena_bytes"] > 0 and (tmp_path / "edge" / "edge.tflm.h").is_file()
