"""edge_mnist.augment.shift: whole-pixel moves of up to two pixels, the same for the same seed."""
import numpy as np

from edge_mnist.augment import SHIFT_PIXELS, shift
from edge_mnist.data import normalize


def _offset(before: np.ndarray, after: np.ndarray) -> tuple[int, int] | None:
    """The (dx, dy) that turns `before` into `after`, zeros let in at the edge; None if no move does."""
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            moved = np.zeros_like(before)
            ys, xs = slice(max(0, -dy), 28 - max(0, dy)), slice(max(0, -dx), 28 - max(0, dx))
            moved[ys, xs] = before[max(0, dy) : 28 - max(0, -dy), max(0, dx) : 28 - max(0, -dx)]
            if np.array_equal(moved, after):
                return dx, dy
    return None


def test_each_image_moves_by_whole_pixels_within_the_limit(mnist):
    import tensorflow as tf

    images = normalize(mnist.x_test[:64])
    moved = shift(tf, tf.constant(images), tf.constant(5, tf.int64)).numpy()
    offsets = [_offset(images[i, ..., 0], moved[i, ..., 0]) for i in range(64)]
    assert None not in offsets
    assert all(abs(dx) <= SHIFT_PIXELS and abs(dy) <= SHIFT_PIXELS for dx, dy in offsets)
    assert len(set(offsets)) > 10  # per image, not one move for the batch


def test_the_same_batch_seed_gives_the_same_moves_and_another_seed_others(mnist):
    import tensorflow as tf

    images = tf.constant(normalize(mnist.x_test[:32]))
    a, b, c = (shift(tf, images, tf.constant(s, tf.int64)).numpy() for s in (5, 5, 6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
