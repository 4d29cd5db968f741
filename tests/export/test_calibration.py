"""The calibration sample: training images, stratified over the ten digits, seeded."""
import shutil

import numpy as np
import pytest

from edge_mnist.errors import DataError
from edge_mnist.export.calibration import representative_images


def _labels_of(images, mnist):
    # Look each picked image up in the training split: proves they come from it, and gives their labels.
    index = {img.tobytes(): label for img, label in zip(mnist.x_train, mnist.y_train)}
    return np.array([index[img.tobytes()] for img in images])


def test_sample_is_stratified_over_digits_from_the_training_split(mnist):
    images = representative_images(mnist.x_train, mnist.y_train, size=205, seed=3)
    assert images.shape == (205, 28, 28) and images.dtype == np.uint8
    counts = np.bincount(_labels_of(images, mnist), minlength=10)
    assert counts.tolist() == [21] * 5 + [20] * 5
    assert len({img.tobytes() for img in images}) == 205  # no image drawn twice


def test_sample_is_seeded(mnist):
    a = representative_images(mnist.x_train, mnist.y_train, size=50, seed=1)
    assert np.array_equal(a, representative_images(mnist.x_train, mnist.y_train, size=50, seed=1))
    assert not np.array_equal(a, representative_images(mnist.x_train, mnist.y_train, size=50, seed=2))


@pytest.mark.parametrize("size", [0, -5])
def test_empty_calibration_is_refused(mnist, size):
    with pytest.raises(DataError, match="calibration set is empty"):
        representative_images(mnist.x_train, mnist.y_train, size=size)


def test_more_than_the_rarest_digit_allows_is_refused(mnist):
    with pytest.raises(DataError, match="stratified sample"):
        representative_images(mnist.x_train, mnist.y_train, size=60000)


def test_empty_calibration_from_the_cli_is_exit_2_and_writes_nothing(invoke, tiny_models, tmp_path):
    model = tmp_path / "cnn.keras"
    shutil.copy(tiny_models["cnn"], model)
    result = invoke("export", "--model", model, "--all", "--calibration-size", "0")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "calibration set is empty" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["cnn.keras"]
