"""`edge-mnist inspect`: the per-layer report card of .keras, .tflite and .onnx models."""
import json
import shutil

import pytest
from click.testing import CliRunner

from edge_mnist.cli import cli
from edge_mnist.report_card import peak_alive, report_card

# The cnn preset by hand: conv 26x26x32 over 3x3x1, conv 24x24x32 over 3x3x32, dense 4608->128, dense 128->10.
CNN_MACS = 26 * 26 * 32 * 9 + 24 * 24 * 32 * 9 * 32 + 4608 * 128 + 128 * 10
MLP_MACS = 784 * 512 + 512 * 512 + 512 * 10


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_keras_card_counts_what_the_model_computes(tiny_models):
    from edge_mnist.models import load_keras_model

    card = report_card(tiny_models["cnn"])
    assert card["format"] == "keras" and card["totals"]["macs"] == CNN_MACS
    assert card["totals"]["params"] == load_keras_model(tiny_models["cnn"]).count_params()
    conv = next(layer for layer in card["layers"] if layer["operator"] == "Conv2D")
    assert conv["output_shape"] == [26, 26, 32] and conv["params"] == 320 and conv["activation_bytes"] == 26 * 26 * 32 * 4
    # Running in order, the two convolutions' outputs are alive together at the peak, float32.
    assert card["peak_activation_bytes"] == (26 * 26 * 32 + 24 * 24 * 32) * 4
    assert report_card(tiny_models["mlp"])["totals"]["macs"] == MLP_MACS


def test_every_format_of_one_model_has_the_same_macs(tiny_exports):
    for name in ("tflite-float32", "tflite-int8", "onnx"):
        assert report_card(tiny_exports[name])["totals"]["macs"] == CNN_MACS, name


def test_int8_tflite_card_has_byte_activations_and_the_measured_arena(tiny_exports):
    card = report_card(tiny_exports["tflite-int8"])
    conv = next(layer for layer in card["layers"] if layer["operator"] == "CONV_2D")
    assert conv["activation_bytes"] == 26 * 26 * 32  # int8: one byte each
    assert card["peak_activation_bytes"] == 26 * 26 * 32 + 24 * 24 * 32
    arena = card["tflm_arena"]
    assert arena["bytes"] >= card["peak_activation_bytes"] and arena["runtime"].startswith("tflite-micro")


def test_float_tflite_card_says_why_there_is_no_arena(tiny_exports):
    arena = report_card(tiny_exports["tflite-float32"])["tflm_arena"]
    assert arena["bytes"] is None and "a float model" in arena["note"]


def test_peak_alive_keeps_a_skip_connection_alive():
    # a -> b -> c, and c also reads a: a stays alive through the second step.
    steps = [(["a"], ["b"]), (["b", "a"], ["c"])]
    assert peak_alive(steps, {"a": 10, "b": 5, "c": 1}, ["c"]) == 16
    assert peak_alive([(["a"], ["b"]), (["b"], ["c"])], {"a": 10, "b": 5, "c": 1}, ["c"]) == 15


def test_inspect_prints_the_card_of_each_preset(tiny_models, small_edge, tmp_path):
    for preset, path in {**tiny_models, "edge": small_edge}.items():
        (tmp_path / preset).mkdir()
        shutil.copy(path, tmp_path / preset / f"{preset}.keras")
        result = invoke("inspect", preset, "--artifacts", tmp_path)
        assert result.exit_code == 0, result.output
        for text in ("layer", "operator", "output", "params", "MACs", "activation", "total", "peak activation memory"):
            assert text in result.stdout
    assert "SeparableConv2D" in result.stdout or "Conv2D" in result.stdout


def test_inspect_json(tiny_exports):
    result = invoke("inspect", tiny_exports["tflite-int8"], "--json")
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)
    assert card["totals"]["macs"] == CNN_MACS and card["file_bytes"] == tiny_exports["tflite-int8"].stat().st_size
    assert card["tflm_arena"]["bytes"] > 0 and "TFLite Micro arena" in invoke("inspect", tiny_exports["tflite-int8"]).stdout


@pytest.mark.parametrize("name, text", [("notes.txt", "cannot inspect this file"), ("missing.keras", "model file not found")])
def test_inspect_refuses_bad_files_in_one_line(tmp_path, name, text):
    if name.endswith(".txt"):
        (tmp_path / name).write_text("hello")
    result = invoke("inspect", tmp_path / name)
    assert result.exit_code == 2 and result.output.count("\n") == 1 and text in result.output, result.output


def test_inspect_refuses_a_keras_model_that_is_not_an_mnist_classifier(tmp_path):
    keras = pytest.importorskip("keras")
    inputs = keras.Input((32, 32, 3))
    keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs))).save(tmp_path / "cifar.keras")
    result = invoke("inspect", tmp_path / "cifar.keras")
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "not an MNIST classifier" in result.output


def test_inspecting_a_tflite_file_never_imports_tensorflow(run_isolated, tiny_exports):
    out = run_isolated(
        "import sys\n"
        "from edge_mnist.report_card import report_card\n"
        f"card = report_card({str(tiny_exports['tflite-int8'])!r})\n"
        "print(card['tflm_arena']['bytes'] > 0, sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    assert out.strip() == "True []"


def test_the_card_is_laid_out_by_the_one_table_renderer():
    from edge_mnist.report_card import format_card
    layers = [
        {"name": "conv", "operator": "Conv2D", "output_shape": [26, 26, 32], "params": 320, "macs": 194688, "activation_bytes": 86528},
        {"name": "mean", "operator": "Mean", "output_shape": [], "params": 0, "macs": 0, "activation_bytes": 4},
    ]
    card = {"path": "m.keras", "format": "keras", "file_bytes": 1234, "layers": layers, "peak_activation_bytes": 86532,
            "totals": {"params": 320, "macs": 194688, "activation_bytes": 86532}}
    lines = format_card(card).splitlines()
    header, rule, first = lines[1:4]
    assert lines[0] == "m.keras (keras, 1,234 bytes)"
    assert header.split() == ["layer", "operator", "output", "params", "MACs", "activation"] and set(rule) == {"-", " "}
    assert first.split() == ["conv", "Conv2D", "26x26x32", "320", "194,688", "84.5", "KB"] and "scalar" in lines[4]
    # The totals under a second rule, their figures right-aligned under the layers'.
    assert lines[5] == rule and lines[6].split() == ["total", "320", "194,688", "84.5", "KB"]
    assert len(lines[6]) == len(first) and lines[6].endswith(first[-len("84.5 KB"):])
