"""The representative dataset for int8 calibration: training images only, stratified over digits, seeded."""
import numpy as np

from edge_mnist.errors import DataError


def representative_images(x_train: np.ndarray, y_train: np.ndarray, size: int = 500, seed: int = 0) -> np.ndarray:
    """`size` uint8 training images, as close to equally many of each digit as `size` allows."""
    if size < 1:
        raise DataError("calibration set is empty: --calibration-size must be at least 1")
    # The rarest digit caps a stratified sample; asking for more would quietly return fewer.
    largest = 10 * min(int((y_train == d).sum()) for d in range(10))
    if size > largest:
        raise DataError(f"--calibration-size {size} is more than a stratified sample of this training split allows ({largest})")
    rng = np.random.default_rng(seed)
    per_digit = [rng.permutation(np.flatnonzero(y_train == d)) for d in range(10)]
    picks = [idx[: size // 10 + (d < size % 10)] for d, idx in enumerate(per_digit)]
    chosen = rng.permutation(np.concatenate(picks))
    return x_train[chosen]
