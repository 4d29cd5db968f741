import json

import numpy as np
import pytest

from edge_mnist.errors import EdgeMnistError
from edge_mnist.models import Preset
from edge_mnist.training import recipe_for, train


def test_training_writes_every_artifact(tiny_models):
    folder = tiny_models["cnn"].parent
    assert (folder / "cnn.keras").stat().st_size > 10_000
    record = json.loads((folder / "cnn.history.json").read_text())
    assert record["train_images"] == 2700  # the slice less its validation tenth
    assert set(record["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    png = (folder / "cnn.history.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(folder.glob(".*tmp*")), "no temporary files left behind"


def test_a_tiny_model_learns_something_real(tiny_models):
    record = json.loads((tiny_models["mlp"].parent / "mlp.history.json").read_text())
    assert record["test_accuracy"] > 0.80  # one epoch on 2,700 images; chance is 0.10


def test_training_is_deterministic_with_a_seed(mnist, tmp_path):
    recipe = recipe_for(Preset.SOFTMAX, epochs=1)
    a = train(Preset.SOFTMAX, mnist, tmp_path / "a", recipe=recipe, seed=7, train_limit=1000, progress=False)
    b = train(Preset.SOFTMAX, mnist, tmp_path / "b", recipe=recipe, seed=7, train_limit=1000, progress=False)
    ha = json.loads(open(a.history_path).read())["history"]
    hb = json.loads(open(b.history_path).read())["history"]
    assert ha == hb
    assert a.test_accuracy == b.test_accuracy


def test_recipe_overrides_are_checked():
    assert recipe_for(Preset.CNN, tutorial=True).epochs == 12
    assert recipe_for(Preset.CNN, epochs=2, batch_size=32).batch_size == 32
    with pytest.raises(EdgeMnistError, match="at least 1"):
        recipe_for(Preset.CNN, epochs=0)


@pytest.mark.acceptance
@pytest.mark.slow
def test_cnn_trains_briefly_on_full_data_to_98_5(full_cnn):
    assert full_cnn.epochs == 2
    assert full_cnn.test_accuracy >= 0.985, full_cnn


def test_mixed_precision_training_saves_a_plain_float32_model(tiny_models):
    import keras

    from edge_mnist.models import load_keras_model
    from edge_mnist.training import native_bf16

    record = json.loads((tiny_models["cnn"].parent / "cnn.history.json").read_text())
    assert record["recipe"]["precision"] == "mixed_bfloat16"
    assert record["precision"] == ("mixed_bfloat16" if native_bf16() else "float32")
    model = load_keras_model(tiny_models["cnn"])
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    assert {w.dtype for w in model.get_weights()} == {np.dtype("float32")}
    assert keras.mixed_precision.global_policy().name == "float32", "training must not leak its dtype policy"
