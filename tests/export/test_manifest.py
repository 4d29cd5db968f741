"""manifest.json: merging, atomic writes, refusing a damaged file (edge_mnist.export.manifest)."""
import json

import pytest

from edge_mnist.errors import ModelError
from edge_mnist.export.manifest import MANIFEST, read_manifest, tool_versions, update_manifest, write_atomic


def test_missing_manifest_reads_as_empty(tmp_path):
    assert read_manifest(tmp_path) == {"files": {}}


def test_update_merges_and_keeps_other_files(tmp_path):
    update_manifest(tmp_path, "cnn", {"cnn.int8.tflite": {"size_bytes": 1}})
    update_manifest(tmp_path, "cnn", {"cnn.float32.onnx": {"size_bytes": 2}, "cnn.int8.tflite": {"size_bytes": 3}})
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest == {"model": "cnn", "files": {"cnn.int8.tflite": {"size_bytes": 3}, "cnn.float32.onnx": {"size_bytes": 2}}}
    assert [p.name for p in tmp_path.iterdir()] == [MANIFEST]  # no temporary file left


@pytest.mark.parametrize("text", ["{oops", "[1, 2]", '{"files": 3}'])
def test_damaged_manifest_is_refused(tmp_path, text):
    (tmp_path / MANIFEST).write_text(text)
    with pytest.raises(ModelError, match="delete it to start afresh"):
        read_manifest(tmp_path)


def test_write_atomic_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "model.tflite"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["model.tflite"]


def test_tool_versions_name_the_converters_and_runtimes():
    versions = tool_versions()
    for tool in ("tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert"):
        assert versions[tool] and versions[tool][0].isdigit()
