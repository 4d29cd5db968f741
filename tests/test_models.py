import numpy as np
import pytest

from edge_mnist.errors import ModelError
from edge_mnist.models import Preset, build_model, load_keras_model, parse_preset


@pytest.mark.parametrize("preset", list(Preset))
def test_every_preset_takes_an_image_and_returns_probabilities(preset):
    model = build_model(preset)
    assert tuple(model.input_shape[1:]) == (28, 28, 1)
    out = np.asarray(model(np.zeros((2, 28, 28, 1), np.float32)))
    assert out.shape == (2, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_presets_follow_the_tutorials():
    cnn = build_model(Preset.CNN)
    kinds = [layer.__class__.__name__ for layer in cnn.layers[1:]]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    mlp = build_model(Preset.MLP)
    assert [layer.units for layer in mlp.layers if hasattr(layer, "units")] == [512, 512, 10]
    mlp_bn = build_model(Preset.MLP_BN)
    assert [layer.units for layer in mlp_bn.layers if hasattr(layer, "units")] == [580, 325, 125, 10]
    assert sum(layer.__class__.__name__ == "BatchNormalization" for layer in mlp_bn.layers) == 3


def test_unknown_preset_lists_the_valid_ones():
    with pytest.raises(ModelError, match="valid presets: softmax, mlp, mlp-bn, cnn, cnn-camera, edge"):
        parse_preset("resnet")


def test_load_refuses_missing_corrupt_and_non_mnist_models(tmp_path):
    import keras

    with pytest.raises(ModelError, match="not found"):
        load_keras_model(tmp_path / "none.keras")
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(b"PK\x03\x04 definitely not a keras archive")
    with pytest.raises(ModelError, match="cannot load Keras model"):
        load_keras_model(corrupt)
    other = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)])
    other.save(tmp_path / "cifar.keras")
    with pytest.raises(ModelError, match="not an MNIST classifier"):
        load_keras_model(tmp_path / "cifar.keras")


def test_safe_mode_refuses_a_lambda_layer(tmp_path):
    import keras

    # A Lambda layer carries Python bytecode: safe mode must refuse to deserialize it.
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Lambda(lambda x: x * 2.0), keras.layers.Flatten(), keras.layers.Dense(10)])
    model.save(tmp_path / "lambda.keras")
    with pytest.raises(ModelError, match="cannot load Keras model"):
        load_keras_model(tmp_path / "lambda.keras")


def test_the_edge_preset_fits_a_microcontroller_budget(tmp_path):
    from edge_mnist.report_card import report_card

    for preset in (Preset.EDGE, Preset.CNN):
        build_model(preset).save(tmp_path / f"{preset.value}.keras")
    edge, cnn = (report_card(tmp_path / f"{p}.keras")["totals"] for p in ("edge", "cnn"))
    # The budget: at most a quarter of the cnn's MACs; int8 weights well under 100 KB.
    assert edge["macs"] <= cnn["macs"] / 4 and edge["params"] < 100_000


def test_small_cnn_spec():
    import keras

    from edge_mnist.models import small_cnn

    inputs = keras.Input((28, 28, 1))
    out = small_cnn(keras.layers, inputs, "c8-p-s16-o2-gap-d32")
    assert tuple(out.shape[1:]) == (32,)
    kinds = [layer.__class__.__name__ for layer in keras.Model(inputs, out).layers[1:]]
    assert kinds[:4] == ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]
    assert "SeparableConv2D" in kinds and "Dropout" in kinds and "GlobalAveragePooling2D" in kinds
    with pytest.raises(ModelError, match="unknown layer 'x3'"):
        small_cnn(keras.layers, inputs, "c8-x3")


def test_small_cnn_strided_convolution():
    import keras

    from edge_mnist.models import small_cnn

    inputs = keras.Input((28, 28, 1))
    # 28 -> 13 (3x3, stride 2, no padding) -> 11 -> 5 (pooled)
    assert tuple(small_cnn(keras.layers, inputs, "c8/2-c16-p").shape[1:]) == (5, 5, 16)
    assert tuple(small_cnn(keras.layers, inputs, "s8/2").shape[1:]) == (13, 13, 8)
    for token in ("p/2", "d32/2"):
        with pytest.raises(ModelError, match=f"unknown layer '{token}'"):
            small_cnn(keras.layers, inputs, f"c8-{token}")
