import numpy as np
import pytest

from edge_mnist.camera.preprocess import PreprocessConfig, Threshold, find_regions, mnist_style

cv2 = pytest.importorskip("cv2")


def _tight(image):
    ys, xs = np.nonzero(image)
    return image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _centre_of_mass(image):
    m = cv2.moments(image)
    return m["m10"] / m["m00"], m["m01"] / m["m00"]


def test_mnist_style_remakes_mnist_geometry(mnist):
    """Cut an MNIST digit out, blow it up, and mnist_style must put it back as MNIST had it."""
    for digit in mnist.x_test[:50]:
        big = cv2.resize(_tight(digit), None, fx=4, fy=4, interpolation=cv2.INTER_NEAREST)
        out = mnist_style(big)
        ink = _tight(out > 30)
        assert out.shape == (28, 28) and out.dtype == np.uint8
        assert 19 <= max(ink.shape) <= 21  # longer side 20 px
        cx, cy = _centre_of_mass(out)
        assert abs(cx - 14) < 0.6 and abs(cy - 14) < 0.6
        assert np.corrcoef(out.ravel(), digit.ravel().astype(np.float32))[0, 1] > 0.8


def _page(mnist, light_ramp=0.0):
    """A gray page (dark ink on white) with three MNIST digits and four things that are not digits."""
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    page = 215 * (1 - light_ramp * xx / 640)
    truths = []
    for i, (x, y) in enumerate([(100, 150), (300, 160), (480, 300)]):
        digit = cv2.resize(mnist.x_test[i], (84, 84), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        patch = page[y : y + 84, x : x + 84]
        page[y : y + 84, x : x + 84] = patch * (1 - np.clip(digit, 0, 1)) + 30 * np.clip(digit, 0, 1)
        truths.append((x, y, int(mnist.y_test[i])))
    page[0:200, 0:25] = 30  # cut by the frame edge
    page[400:404, 200:204] = 30  # a speck
    page[60:70, 300:600] = 30  # a line: the wrong shape
    page[40:440, 600:620] = 30  # a tall bar: too large
    return np.clip(page, 0, 255).astype(np.uint8), truths


@pytest.mark.parametrize("threshold", list(Threshold))
def test_find_regions_keeps_the_digits_and_drops_the_rest(mnist, threshold):
    page, truths = _page(mnist)
    regions = find_regions(page, PreprocessConfig(threshold=threshold))
    assert len(regions.boxes) == 3 and regions.images.shape == (3, 28, 28)
    for (bx, by, bw, bh), (x, y, _) in zip(sorted(regions.boxes), truths):
        assert x <= bx < x + 84 and y <= by < y + 84 and bx + bw <= x + 84 and by + bh <= y + 84


def test_adaptive_threshold_survives_a_lighting_gradient(mnist):
    page, _ = _page(mnist, light_ramp=0.7)  # the right side of the page is in deep shadow
    assert len(find_regions(page, PreprocessConfig(threshold=Threshold.ADAPTIVE)).boxes) == 3


def test_a_blank_frame_has_no_regions():
    regions = find_regions(np.full((480, 640, 3), 200, np.uint8))
    assert regions.boxes == [] and regions.images.shape == (0, 28, 28)
