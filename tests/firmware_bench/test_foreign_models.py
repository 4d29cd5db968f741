"""Models from elsewhere: detected layout, dtype, scaling and output kind; stated assumptions; clear refusals."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from edge_mnist.cli import cli
from edge_mnist.errors import ModelError
from edge_mnist.runtime import Predictor, Scaling

FOREIGN = ["float255.tflite", "int8_signed_logits.tflite", "uint8_index.tflite", "nchw_meanstd.onnx", "uint8_index.onnx"]


@pytest.mark.parametrize("name", FOREIGN)
def test_foreign_model_is_read_correctly(foreign_models, mlp_reference, mnist, name):
    f = foreign_models[name]
    # Where the model cannot tell its scaling, the user says it (--scaling); elsewhere it is inferred.
    predictor = Predictor(f.path, scaling=None if f.inferred else Scaling(f.scaling))
    if f.path.suffix == ".tflite" or f.output_kind == "class index":
        # Read from the graph or the output's shape at load, with no probe inference.
        assert predictor._kind is not None and predictor._kind.value == f.output_kind
    d = predictor.describe()
    assert (d["layout"], d["input_dtype"], d["output_kind"], d["scaling"]) == (f.layout, f.input_dtype, f.output_kind, f.scaling)
    agreement = (predictor.classify(mnist.x_test) == mlp_reference).mean()
    # Float copies of the weights agree on (nearly) every image; int8 ones lose a little to rounding.
    assert agreement >= (0.97 if d["input_dtype"] != "float32" else 0.999), agreement


def test_what_the_model_cannot_say_is_an_assumption_in_the_report(foreign_models, mlp_reference, mnist, tmp_path):
    f = foreign_models["float255.tflite"]
    predictor = Predictor(f.path, scaling=None)
    assert any("assumed pixels in 0-1" in a for a in predictor.assumptions)
    # The assumption is wrong for this model, and it shows: the bench makes it visible, not silent.
    assert (predictor.classify(mnist.x_test[:1000]) == mlp_reference[:1000]).mean() < 0.5
    out = tmp_path / "b.json"
    result = CliRunner().invoke(cli, ["bench", str(f.path), "--threads", "1", "--runs", "10", "--limit", "500", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "float255.tflite: input 28x28 float32, output probabilities, scaling 0-1; ASSUMED float input" in result.stdout
    fixed = CliRunner().invoke(cli, ["bench", str(f.path), "--scaling", "0-255", "--threads", "1", "--runs", "10", "--limit", "500", "--json", str(out)])
    assert fixed.exit_code == 0 and "ASSUMED" not in fixed.stdout
    assert json.loads(out.read_text())["results"][0]["detected"]["scaling"] == "0-255"


def test_raw_integer_input_says_how_pixels_were_fed(foreign_models):
    f = foreign_models["uint8_index.onnx"]
    assert Predictor(f.path, scaling=None).assumptions == ["uint8 input without quantization parameters: fed the raw pixel"]


def test_class_index_models_give_one_hot_scores(foreign_models, mnist, mlp_reference):
    predictor = Predictor(foreign_models["uint8_index.tflite"].path)
    scores = predictor.predict(mnist.x_test[:20])
    assert scores.shape == (20, 10) and set(np.unique(scores)) == {0.0, 1.0}
    assert (scores.sum(axis=1) == 1).all()


@pytest.mark.parametrize(
    "name, needle",
    [
        ("custom_op.tflite", "needs operator Atan"),
        ("npu_op.onnx", "needs operator com.example.npu:NpuFlatten"),
        ("big_input.tflite", "is not an MNIST image"),
        ("truncated.tflite", "not a valid TFLite model"),
        ("empty.tflite", "not a valid TFLite model"),
        ("garbage.onnx", "cannot load ONNX model"),
    ],
)
def test_unrunnable_models_are_refused_in_one_line(unrunnable_models, tmp_path, name, needle):
    with pytest.raises(ModelError, match=needle):
        Predictor(unrunnable_models[name])
    result = CliRunner().invoke(cli, ["bench", str(unrunnable_models[name]), "--threads", "1", "--json", str(tmp_path / "b.json")])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and needle in result.output
    assert not (tmp_path / "b.json").exists()
