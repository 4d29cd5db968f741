"""Session fixtures: the real MNIST, and tiny real models trained once on slices of it."""
import os
from pathlib import Path

import pytest

# Keep TensorFlow's start-up chatter out of test logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TRAIN_SLICE = 3000


@pytest.fixture(scope="session")
def mnist():
    from edge_mnist.data import load_mnist

    return load_mnist()


@pytest.fixture(scope="session")
def tiny_models(mnist, tmp_path_factory) -> dict[str, Path]:
    """`.keras` files of the mlp and cnn presets, one epoch on a slice of the training split."""
    from edge_mnist.models import Preset
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("tiny_models")
    paths = {}
    for preset in (Preset.MLP, Preset.CNN):
        recipe = recipe_for(preset, epochs=1, batch_size=64)
        result = train(preset, mnist, out / preset.value, recipe=recipe, seed=1, train_limit=TRAIN_SLICE, progress=False)
        paths[preset.value] = Path(result.model_path)
    return paths


@pytest.fixture(scope="session")
def small_edge(mnist, tmp_path_factory) -> Path:
    """`.keras` of the edge preset, two epochs of its recipe on the full training split (about 98%; after
    one, BatchNormalization's moving statistics still lag far behind the weights):
    small enough for TFLite Micro to run all 10,000 test digits in seconds, accurate enough for its gate."""
    from edge_mnist.models import Preset
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("small_edge")
    return Path(train(Preset.EDGE, mnist, out, recipe=recipe_for(Preset.EDGE, epochs=2), seed=0, progress=False).model_path)


@pytest.fixture(scope="session")
def tiny_exports(mnist, tiny_models, tmp_path_factory) -> dict[str, Path]:
    """The tiny cnn in every TFLite format and as ONNX float, written straight from the registry's exporters."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import load_keras_model

    out = tmp_path_factory.mktemp("tiny_exports")
    model = load_keras_model(tiny_models["cnn"])
    calibration = representative_images(mnist.x_train, mnist.y_train, size=200, seed=0)
    paths = {}
    for name in ("tflite-float32", "tflite-int8", "tflite-uint8", "onnx"):
        fmt = FORMATS[name]
        path = out / f"cnn{fmt.suffix}"
        path.write_bytes(fmt.exporter(model, calibration))
        paths[name] = path
    return paths


@pytest.fixture(scope="session")
def run_isolated():
    """Run Python code in a fresh interpreter (sys.modules starts clean) and return its stdout."""
    import subprocess
    import sys

    def run(code: str) -> str:
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    return run


@pytest.fixture(scope="session")
def full_cnn(mnist, tmp_path_factory):
    """The cnn preset trained briefly (2 epochs of the default recipe) on the full training split.

    A real, accurate model (about 99%) for the acceptance, camera and bench tests; made once per session.
    """
    from edge_mnist.models import Preset
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("full_cnn")
    return train(Preset.CNN, mnist, out, recipe=recipe_for(Preset.CNN, epochs=2), seed=0, progress=False)


@pytest.fixture(scope="session")
def full_cnn_int8(mnist, full_cnn) -> Path:
    """`full_cnn` as a full-integer int8 TFLite file (int8 input and output)."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import load_keras_model

    fmt = FORMATS["tflite-int8"]
    path = Path(full_cnn.model_path).with_name(f"cnn{fmt.suffix}")
    calibration = representative_images(mnist.x_train, mnist.y_train, size=500, seed=0)
    path.write_bytes(fmt.exporter(load_keras_model(full_cnn.model_path), calibration))
    return path


@pytest.fixture(scope="session")
def camera_cnn_int8(mnist, tmp_path_factory) -> Path:
    """The cnn-camera preset trained briefly (3 epochs on a third of the training split, with its
    camera-drawn digits, cut pieces and non-digits), as a full-integer int8 TFLite file."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import Preset, load_keras_model
    from edge_mnist.training import recipe_for, train

    out = tmp_path_factory.mktemp("camera_cnn")
    result = train(Preset.CNN_CAMERA, mnist, out, recipe=recipe_for(Preset.CNN_CAMERA, epochs=3), seed=0, train_limit=20000, progress=False)
    fmt = FORMATS["tflite-int8"]
    path = out / f"cnn-camera{fmt.suffix}"
    calibration = representative_images(mnist.x_train, mnist.y_train, size=500, seed=0)
    path.write_bytes(fmt.exporter(load_keras_model(result.model_path), calibration))
    return path


@pytest.fixture(scope="session")
def small_edge_int8(mnist, small_edge) -> Path:
    """`small_edge` as a full-integer int8 TFLite file (int8 input and output)."""
    from edge_mnist.export.calibration import representative_images
    from edge_mnist.export.formats import FORMATS
    from edge_mnist.models import load_keras_model

    fmt = FORMATS["tflite-int8"]
    path = small_edge.with_name(f"edge{fmt.suffix}")
    calibration = representative_images(mnist.x_train, mnist.y_train, size=500, seed=0)
    path.write_bytes(fmt.exporter(load_keras_model(small_edge), calibration))
    return path
