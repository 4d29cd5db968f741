"""Pictures of what quantization changed: float-vs-int8 confusion matrix and the digits they disagree on."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.files import atomic_write

GRID_MAX = 48  # disagreements drawn; the title says how many there were in all


def _pyplot():
    matplotlib = require("matplotlib")
    matplotlib.use("Agg")  # files only; never open a window or need a display
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))


def confusion_plot(float_top1: np.ndarray, quant_top1: np.ndarray, name: str, path) -> Path:
    """10x10 counts: rows the float model's digit, columns the quantized model's. Off-diagonal = changed."""
    plt = _pyplot()
    matrix = np.zeros((10, 10), dtype=int)
    np.add.at(matrix, (float_top1, quant_top1), 1)
    fig, ax = plt.subplots(figsize=(6, 5.5))
    ax.imshow(np.log1p(matrix), cmap="Blues")
    for i, j in zip(*np.nonzero(matrix)):
        ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color="white" if i == j else "crimson")
    agreement = np.trace(matrix) / max(matrix.sum(), 1) * 100
    ax.set(xticks=range(10), yticks=range(10), xlabel=f"{name} prediction", ylabel="float Keras prediction")
    ax.set_title(f"float vs {name}: {agreement:.2f}% agree on {matrix.sum()} test digits")
    path = Path(path)
    _save(fig, path)
    plt.close(fig)
    return path


def disagreement_plot(images: np.ndarray, labels: np.ndarray, float_top1: np.ndarray, quant_top1: np.ndarray, name: str, path) -> Path:
    """A grid of the test digits where the quantized and float models pick different digits, captioned with both answers."""
    plt = _pyplot()
    idx = np.flatnonzero(float_top1 != quant_top1)
    shown = idx[:GRID_MAX]
    cols, cell, caption = 8, 28, 14  # pixels: a digit, and the strip under it for its caption
    rows = max(1, -(-len(shown) // cols))
    # One mosaic image on one axes: far quicker to draw than an axes per digit.
    mosaic = np.zeros((rows * (cell + caption), cols * cell), np.uint8)
    fig, ax = plt.subplots(figsize=(cols * 0.9, rows * 1.2 + 0.6))
    for k, i in enumerate(shown):
        r, c = divmod(k, cols)
        mosaic[r * (cell + caption) : r * (cell + caption) + cell, c * cell : (c + 1) * cell] = images[i]
        ax.text(c * cell + cell / 2, r * (cell + caption) + cell + 1, f"{labels[i]}: f{float_top1[i]} q{quant_top1[i]}", color="white", fontsize=6, ha="center", va="top")
    ax.imshow(mosaic, cmap="gray", interpolation="nearest")
    ax.axis("off")
    more = f", first {len(shown)} shown" if len(idx) > len(shown) else ""
    ax.set_title(f"{len(idx)} test digits where float and {name} disagree{more}\n(true digit: f = float answer, q = {name} answer)", fontsize=8)
    path = Path(path)
    _save(fig, path)
    plt.close(fig)
    return path
