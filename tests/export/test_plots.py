"""The pictures of what quantization changed (edge_mnist.export.plots)."""
import numpy as np
import pytest

from edge_mnist.export.plots import GRID_MAX, confusion_plot, disagreement_plot

cv2 = pytest.importorskip("cv2")


def test_confusion_plot_is_a_png(tmp_path):
    rng = np.random.default_rng(0)
    float_top1 = rng.integers(0, 10, 500)
    path = confusion_plot(float_top1, np.where(rng.random(500) < 0.9, float_top1, 3), "tflite-int8", tmp_path / "c.png")
    assert cv2.imread(str(path)).shape[2] == 3


@pytest.mark.parametrize("disagreements", [0, 5, GRID_MAX + 20])
def test_disagreement_grid_draws_up_to_the_limit(mnist, tmp_path, disagreements):
    float_top1 = mnist.y_test[:200].astype(int)
    quant_top1 = float_top1.copy()
    quant_top1[:disagreements] = (quant_top1[:disagreements] + 1) % 10
    path = disagreement_plot(mnist.x_test[:200], mnist.y_test[:200], float_top1, quant_top1, "onnx-int8", tmp_path / "g.png")
    image = cv2.imread(str(path))
    assert image is not None
    # One row of eight digits per eight disagreements, capped at GRID_MAX: the picture grows with them.
    rows = max(1, -(-min(disagreements, GRID_MAX) // 8))
    assert image.shape[0] > 100 * rows
