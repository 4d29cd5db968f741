"""`edge-mnist export` and `edge-mnist verify` at the command line: the table, the verdict, and bad input."""
import json
import shutil

import numpy as np
import pytest

from edge_mnist.export.formats import FORMATS


def _one_line_exit_2(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ")
    for fragment in fragments:
        assert fragment in last, last
    return last


def test_commands_have_help(invoke):
    for command in ("export", "verify"):
        result = invoke(command, "--help")
        assert result.exit_code == 0 and "--max-drop" in result.output


def test_export_int8_prints_the_table_with_the_size_against_float(invoke, tiny_models, tmp_path):
    model = tmp_path / "cnn.keras"
    shutil.copy(tiny_models["cnn"], model)
    result = invoke("export", "--model", model)  # no format: the default --int8
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("cnn: float Keras model ") and lines[1].split()[:4] == ["format", "size", "vs", "float"]
    row = lines[3].split()
    assert row[0] == "tflite-int8" and row[-1] == "written"
    assert 0.2 < float(row[2].rstrip("x")) < 0.35  # float32 converted in memory to measure it, not written
    assert "cnn.tflite-int8.confusion.png" in result.stdout and f"manifest: {tmp_path / 'manifest.json'}" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["cnn.keras", "cnn.int8.tflite", "manifest.json", "cnn.tflite-int8.confusion.png", "cnn.tflite-int8.disagreements.png"]
    )


@pytest.mark.parametrize("name", ["tflite-int8", "onnx-int8"])
def test_verify_passes_an_exported_file_with_the_figures_of_the_manifest(invoke, exported, name):
    folder = exported[0]
    path = folder / f"cnn{FORMATS[name].suffix}"
    result = invoke("verify", path, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    recorded = json.loads((folder / "manifest.json").read_text())["files"][path.name]["parity"]
    assert figures["matches_manifest"] is True and figures["keras"] == str(folder / "cnn.keras")
    # The runtimes are deterministic: re-running the gate gives the recorded figures exactly.
    for key in ("accuracy", "reference_accuracy", "agreement", "max_abs_diff", "passed"):
        assert figures[key] == recorded[key], key


def test_verify_table(invoke, exported):
    result = invoke("verify", exported[0] / "cnn.uint8.tflite")
    assert result.exit_code == 0, result.output
    header, rule, row = result.stdout.splitlines()[-3:]
    assert header.split()[0] == "format" and set(rule) == {"-", " "} and row.split()[0] == "tflite-uint8" and row.endswith("pass")


def test_verify_catches_a_file_from_another_model(invoke, artifacts_copy, tiny_models, mnist):
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.models import load_keras_model

    # The mlp's float32 export dropped in place of the cnn's: a valid model, but not this one.
    calibration = representative_images(mnist.x_train, mnist.y_train, 10)
    path = artifacts_copy / "cnn.float32.tflite"
    path.write_bytes(FORMATS["tflite-float32"].exporter(load_keras_model(tiny_models["mlp"]), calibration))
    result = invoke("verify", path)
    _one_line_exit_2(result, "parity gate failed: tflite-float32 (max |diff|")
    assert "sha256 differs from the one recorded in manifest.json" in result.output


def test_tighter_tolerance_fails_verify(invoke, exported):
    agreement = json.loads((exported[0] / "manifest.json").read_text())["files"]["cnn.int8.tflite"]["parity"]["agreement"]
    assert agreement < 100  # int8 changes a few of a one-epoch model's 10,000 answers
    result = invoke("verify", exported[0] / "cnn.int8.tflite", "--min-agreement", f"{agreement + 0.01:.2f}")
    _one_line_exit_2(result, "parity gate failed: tflite-int8 (top-1 agreement")


# -- bad input: one line, exit code 2, nothing written ------------------------------------------


def _non_mnist_keras(path):
    import keras

    inputs = keras.Input(shape=(32, 32, 3))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    model.save(path)
    return model


def test_export_missing_model(invoke, tmp_path):
    _one_line_exit_2(invoke("export", "--model", tmp_path / "nope.keras"), "model file not found")
    _one_line_exit_2(invoke("export", "--model", "cnn", "--artifacts", tmp_path), "train it first: edge-mnist train --model cnn")


def test_export_corrupt_model(invoke, tiny_models, tmp_path):
    truncated = tmp_path / "cnn.keras"
    truncated.write_bytes(tiny_models["cnn"].read_bytes()[:5000])
    _one_line_exit_2(invoke("export", "--model", truncated), "cannot load Keras model")
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.keras"]


def test_export_non_mnist_model(invoke, tmp_path):
    _non_mnist_keras(tmp_path / "cifar.keras")
    _one_line_exit_2(invoke("export", "--model", tmp_path / "cifar.keras", "--all"), "not an MNIST classifier")
    assert [p.name for p in tmp_path.iterdir()] == ["cifar.keras"]


def test_export_with_a_corrupt_manifest_refuses_to_overwrite_it(invoke, artifacts_copy):
    (artifacts_copy / "manifest.json").write_text("{not json")
    _one_line_exit_2(invoke("export", "--model", artifacts_copy / "cnn.keras"), "unreadable manifest")
    assert (artifacts_copy / "manifest.json").read_text() == "{not json"


def test_verify_missing_file_or_unknown_suffix(invoke, tmp_path):
    _one_line_exit_2(invoke("verify", tmp_path / "cnn.int8.tflite"), "model file not found")
    _one_line_exit_2(invoke("verify", tmp_path / "cnn.pb"), "matches no export format")


def test_verify_without_its_source_model(invoke, exported, tmp_path):
    shutil.copy(exported[0] / "cnn.int8.tflite", tmp_path)
    _one_line_exit_2(invoke("verify", tmp_path / "cnn.int8.tflite"), f"cannot find the .keras model it came from (looked for {tmp_path / 'cnn.keras'}); pass --keras PATH")
    shutil.copy(exported[0] / "cnn.int8.tflite", tmp_path / "digits.tflite")
    _one_line_exit_2(invoke("verify", tmp_path / "digits.tflite", "--format", "tflite-int8"), "cannot find the .keras model it came from; pass --keras PATH")


def test_verify_a_file_named_otherwise_with_format(invoke, exported, tmp_path):
    shutil.copy(exported[0] / "cnn.int8.tflite", tmp_path / "digits.tflite")
    result = invoke("verify", tmp_path / "digits.tflite", "--format", "tflite-int8", "--keras", exported[0] / "cnn.keras", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["format"] == "tflite-int8" and figures["passed"] and figures["matches_manifest"] is None


@pytest.mark.parametrize("name, message", [("tflite-int4", "unknown format tflite-int4"), ("onnx-int8", "cnn.int8.tflite: onnx-int8 files end in .onnx")])
def test_verify_with_a_wrong_format(invoke, exported, name, message):
    _one_line_exit_2(invoke("verify", exported[0] / "cnn.int8.tflite", "--format", name), message)


@pytest.mark.parametrize("suffix, message", [(".int8.tflite", "not a valid TFLite model"), (".int8.onnx", "cannot load ONNX model")])
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_verify_corrupt_file(invoke, exported, tmp_path, suffix, message, damage):
    good = (exported[0] / f"cnn{suffix}").read_bytes()
    bad = tmp_path / f"cnn{suffix}"
    bad.write_bytes(np.random.default_rng(0).bytes(4096) if damage == "garbage" else good[: len(good) // 2])
    _one_line_exit_2(invoke("verify", bad, "--keras", exported[0] / "cnn.keras"), message)


def test_verify_non_mnist_tflite(invoke, exported, tmp_path):
    model = _non_mnist_keras(tmp_path / "cifar.keras")
    path = tmp_path / "cifar.float32.tflite"
    path.write_bytes(FORMATS["tflite-float32"].exporter(model, None))
    _one_line_exit_2(invoke("verify", path, "--keras", exported[0] / "cnn.keras"), "is not an MNIST image")


def test_verify_against_a_non_mnist_keras(invoke, exported, tmp_path):
    _non_mnist_keras(tmp_path / "cifar.keras")
    _one_line_exit_2(invoke("verify", exported[0] / "cnn.int8.tflite", "--keras", tmp_path / "cifar.keras"), "not an MNIST classifier")
