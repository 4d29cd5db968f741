"""Training data that looks like what the camera reader feeds the classifier.

The reader cuts a digit's ink out of a thresholded photo and remakes it MNIST-style
(`edge_mnist.camera.preprocess.mnist_style`). Real handwriting reaches that step written with any
pen, slanted, blurred, broken where the ink was faint, with a neighbour's stroke or a ruled line's
remnant at its edge. `camera_digits` redraws MNIST training digits that way and passes them through
the same `mnist_style`; `not_digits` makes what the reader also cuts out and must not take for a
digit (two digits run together, letters, dashes, dots, scribbles), which the model
learns to answer with a flat distribution, i.e. low confidence.

Everything is drawn from one seeded numpy generator: a seed names a data set exactly.
"""
from __future__ import annotations

import numpy as np

from edge_mnist._deps import require

# Letters and signs a page holds besides digits; those a hand can make look like one (O, C, I, l, L, S, Z,
# B, G, g, q, a, d, b, r, y, U, V, Y, /, ...) are left out: the model must stay sure of a real digit.
LETTERS = "EFHKMNPRWXefhkmnpuwx+=#*%&@?"
AUGMENTATIONS = ("none", "affine", "shift", "camera")
SHIFT_PIXELS = 2


def _tight(image: np.ndarray, level: int = 0) -> np.ndarray | None:
    ys, xs = np.nonzero(image > level)
    if len(ys) == 0:
        return None
    return image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _warp(digit: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """The digit's gray strokes at `size` px tall, turned, sheared, stretched and bent a little."""
    cv2 = require("cv2")
    h, w = digit.shape
    scale = size / h
    angle = np.deg2rad(rng.uniform(-15, 15))
    shear = rng.uniform(-0.3, 0.3)
    stretch = rng.uniform(0.6, 1.3)  # people write narrower than MNIST more often than wider
    a = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.array([[stretch, shear], [0, 1]]) * scale
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float64) @ a.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    pad = size // 4 + 4
    matrix = np.hstack([a, (pad - lo)[:, None]]).astype(np.float32)
    out_size = (int(hi[0] - lo[0]) + 2 * pad, int(hi[1] - lo[1]) + 2 * pad)
    warped = cv2.warpAffine(digit.astype(np.float32), matrix, out_size, flags=cv2.INTER_CUBIC)
    if rng.random() < 0.3:  # elastic: a smooth random displacement field, a few percent of the size
        oh, ow = warped.shape
        field = [cv2.resize(rng.normal(0, 1, (4, 4)).astype(np.float32), (ow, oh), interpolation=cv2.INTER_CUBIC) * size * rng.uniform(0.01, 0.04) for _ in range(2)]
        xx, yy = np.meshgrid(np.arange(ow, dtype=np.float32), np.arange(oh, dtype=np.float32))
        warped = cv2.remap(warped, xx + field[0], yy + field[1], cv2.INTER_LINEAR)
    return np.clip(warped, 0, 255)


def _pen(gray: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Ink as the reader's threshold sees it: a pen from hairline to marker, blur, noise, faint breaks."""
    cv2 = require("cv2")
    ink = gray / 255.0
    # The stroke's width: where the gray digit is cut decides it, then a pen thinner or fatter than that.
    binary = (ink > rng.uniform(0.3, 0.7)).astype(np.uint8) * 255
    pen = rng.choice(["hairline", "thin", "as is", "marker"], p=[0.2, 0.25, 0.35, 0.2])
    if pen in ("hairline", "thin"):
        steps = int(rng.integers(1, max(2, size // 12)))
        thinner = cv2.erode(binary, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)), iterations=steps)
        pieces = cv2.connectedComponents(thinner)[0]
        if cv2.countNonZero(thinner) > 0.35 * cv2.countNonZero(binary) and pieces <= cv2.connectedComponents(binary)[0] + 1:
            binary = thinner  # thinner, not shredded
    elif pen == "marker":
        k = int(rng.integers(1, max(2, size // 16))) * 2 + 1
        binary = cv2.dilate(binary, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    # Photographed: blurred, noisy, thresholded again; faint spots break a stroke now and then.
    photo = cv2.GaussianBlur(binary.astype(np.float32), (0, 0), rng.uniform(0.3, 1.0 + size / 60))
    photo += rng.normal(0, rng.uniform(0, 15), photo.shape).astype(np.float32)
    if rng.random() < 0.2:
        for _ in range(int(rng.integers(1, 4))):
            y, x = rng.integers(0, photo.shape[0]), rng.integers(0, photo.shape[1])
            cv2.circle(photo, (int(x), int(y)), int(rng.integers(1, max(2, size // 15))), 0, -1)
    ink = (photo > rng.uniform(70, 140)).astype(np.uint8) * 255
    # The reader keeps a glyph's own pieces only: specks of noise around it never reach the classifier.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if count > 2:
        keep = np.zeros(count, bool)
        keep[1:] = stats[1:, 4] >= 0.05 * stats[1:, 4].max()
        ink = keep[labels].astype(np.uint8) * 255
    return ink


def _draw(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """One MNIST digit as a binary crop the reader could have cut out of a photo."""
    size = int(rng.integers(20, 64))
    ink = _pen(_warp(digit, rng, size), rng, size)
    return _tight(ink)


def _with_neighbours(ink: np.ndarray, rng: np.random.Generator, others: np.ndarray) -> np.ndarray:
    """A neighbour's stroke poking in at the side, a ruled line's remnant, a speck: the reader's crop is rarely clean."""
    cv2 = require("cv2")
    roll = rng.random()
    if roll < 0.25:  # slivers of the next digits, cut off where the reader cut: on one side, or both
        for side in ("left", "right") if rng.random() < 0.3 else (str(rng.choice(["left", "right"])),):
            other = _draw(others[rng.integers(len(others))], rng)
            if other is None:
                continue
            h, w = ink.shape
            other = cv2.resize(other, (max(1, int(other.shape[1] * h / other.shape[0])), h), interpolation=cv2.INTER_NEAREST)
            keep = max(1, int(other.shape[1] * rng.uniform(0.05, 0.3)))
            gap = int(rng.integers(-1, 3))  # may touch
            canvas = np.zeros((h, w + keep + max(gap, 0)), np.uint8)
            if side == "right":
                canvas[:, :w] = ink
                canvas[:, w + gap : w + gap + keep] = np.maximum(canvas[:, w + gap : w + gap + keep], other[:, :keep])
            else:
                canvas[:, keep + max(gap, 0) :] = ink
                start = max(gap, 0) - gap
                canvas[:, start : start + keep] = np.maximum(canvas[:, start : start + keep], other[:, -keep:])
            ink = canvas
    elif roll < 0.35:  # what is left of a ruled line the digit sat on
        h, w = ink.shape
        y = int(h * rng.uniform(0.8, 1.0))
        cv2.line(ink, (0, y), (w - 1, y + int(rng.integers(-2, 3))), 255, max(1, h // 30))
    elif roll < 0.45:  # a speck near the digit
        canvas = cv2.copyMakeBorder(ink, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=0)
        y, x = int(rng.integers(0, canvas.shape[0])), int(rng.integers(0, canvas.shape[1]))
        cv2.circle(canvas, (x, y), max(1, ink.shape[0] // 25), 255, -1)
        ink = canvas
    return _tight(ink) if _tight(ink) is not None else ink


def camera_digits(x: np.ndarray, y: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` digits drawn from (x, y) as the camera reader would see them: (count, 28, 28) uint8 and labels."""
    from edge_mnist.camera.preprocess import mnist_style

    images = np.zeros((count, 28, 28), np.uint8)
    labels = np.zeros(count, np.int64)
    picks = rng.integers(0, len(x), count)
    for i, pick in enumerate(picks):
        digit = _tight(x[pick], 20)
        if y[pick] in STYLES and rng.random() < 0.3:
            digit = STYLES[y[pick]](digit.copy(), rng)
        ink = None
        while ink is None:
            ink = _draw(digit, rng)
        images[i] = mnist_style(_with_neighbours(ink, rng, x))
        labels[i] = y[pick]
    return images, labels


# Ways of writing a digit that are common outside the US and rare in MNIST (written by US census staff
# and students), added to MNIST digits before they are redrawn: a 7 crossed at its middle, a 1 with a
# flag at its top (and sometimes a foot), a 2 with a loop where its stroke turns into the base.
def _crossed_seven(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = require("cv2")
    h, w = digit.shape
    row = int(h * rng.uniform(0.45, 0.6))
    xs = np.nonzero(digit[row] > 100)[0]
    if len(xs):
        centre, half = int(xs.mean()), int(w * rng.uniform(0.2, 0.3))
        cv2.line(digit, (centre - half, row), (centre + half, row + int(rng.integers(-1, 2))), 255, max(1, h // 10), cv2.LINE_AA)
    return digit


def _flagged_one(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = require("cv2")
    h, w = digit.shape
    digit = cv2.copyMakeBorder(digit, 0, 0, h // 3, 0, cv2.BORDER_CONSTANT, value=0)  # room for the flag
    ys, xs = np.nonzero(digit > 100)
    top = (int(xs[ys.argmin()]), int(ys.min()))
    length, angle = h * rng.uniform(0.18, 0.3), np.deg2rad(rng.uniform(30, 60))
    cv2.line(digit, top, (int(top[0] - length * np.cos(angle)), int(top[1] + length * np.sin(angle))), 255, max(1, h // 10), cv2.LINE_AA)
    if rng.random() < 0.3:  # a foot
        bottom = (int(xs[ys.argmax()]), int(ys.max()))
        cv2.line(digit, (bottom[0] - h // 5, bottom[1]), (bottom[0] + h // 5, bottom[1]), 255, max(1, h // 10), cv2.LINE_AA)
    return _tight(digit, 20)


def _looped_two(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cv2 = require("cv2")
    h, w = digit.shape
    ys, xs = np.nonzero(digit[int(0.7 * h) :] > 100)
    if len(xs) == 0:
        return digit
    corner = (int(xs.min()), int(0.7 * h) + int(ys[xs.argmin()]))  # where the stroke turns into the base
    radius = max(2, int(h * rng.uniform(0.08, 0.14)))
    cv2.circle(digit, (corner[0] + radius, corner[1] - radius), radius, 255, max(1, h // 12), cv2.LINE_AA)
    return digit


STYLES = {7: _crossed_seven, 1: _flagged_one, 2: _looped_two}


def not_digits(x: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` crops that are not one digit, as the reader would see them: (count, 28, 28) uint8."""
    from edge_mnist.camera.preprocess import mnist_style

    kinds = rng.choice(["pair", "letter", "mark", "scribble"], size=count, p=[0.55, 0.3, 0.1, 0.05])
    images = np.zeros((count, 28, 28), np.uint8)
    for i, kind in enumerate(kinds):
        ink = None
        while ink is None or _passes_for_a_one(ink):  # anything tall and thin may be a 1: not a negative
            ink = _not_a_digit(kind, x, rng)
        images[i] = mnist_style(ink)
    return images


def cut_pieces(x: np.ndarray, y: np.ndarray, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """What the reader cuts out of digits that touch or overlap: (count, 28, 28) uint8 and targets
    (count, 10). Two or three digits written into each other are cut near the true boundary between
    them (the piece is that digit, with its neighbours' slivers) or through the middle of a digit
    (the piece is no digit: a flat target)."""
    cv2 = require("cv2")
    from edge_mnist.camera.preprocess import mnist_style

    images = np.zeros((count, 28, 28), np.uint8)
    targets = np.zeros((count, 10), np.float32)
    i = 0
    while i < count:
        picks = rng.integers(0, len(x), int(rng.integers(2, 4)))
        inks = [_draw(_tight(x[p], 20), rng) for p in picks]
        if any(a is None for a in inks):
            continue
        h = max(a.shape[0] for a in inks)
        inks = [cv2.resize(a, (max(1, a.shape[1] * h // a.shape[0]), h), interpolation=cv2.INTER_NEAREST) for a in inks]
        spans, cursor = [], 0
        for a in inks:
            spans.append((cursor, cursor + a.shape[1]))
            cursor += a.shape[1] + max(int(h * rng.uniform(-0.15, 0.05)), -(a.shape[1] // 2))  # overlapping or touching
        canvas = np.zeros((h, max(end for _, end in spans)), np.uint8)
        for a, (start, end) in zip(inks, spans):
            canvas[:, start:end] = np.maximum(canvas[:, start:end], a)
        which = int(rng.integers(len(inks)))
        if rng.random() < 0.25:  # a bad cut: from the middle of one digit to the middle of the next
            if which == len(inks) - 1:
                continue
            left = (spans[which][0] + spans[which][1]) // 2
            right = (spans[which + 1][0] + spans[which + 1][1]) // 2
            target = np.full(10, 0.1, np.float32)
        else:
            jitter = 0.05 * h
            left = 0 if which == 0 else int((spans[which - 1][1] + spans[which][0]) / 2 + rng.normal(0, jitter))
            right = canvas.shape[1] if which == len(inks) - 1 else int((spans[which][1] + spans[which + 1][0]) / 2 + rng.normal(0, jitter))
            target = np.eye(10, dtype=np.float32)[y[picks[which]]]
        piece = _tight(canvas[:, max(0, left) : max(left + 1, right)])
        if piece is None:
            continue
        images[i], targets[i] = mnist_style(piece), target
        i += 1
    return images, targets


def _passes_for_a_one(ink: np.ndarray) -> bool:
    return ink.shape[1] < 0.45 * ink.shape[0]


def _not_a_digit(kind: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    cv2 = require("cv2")
    size = int(rng.integers(24, 64))
    if kind == "pair":  # two digits run together: the reader must cut them, not read one
        a = _draw(_tight(x[rng.integers(len(x))], 20), rng)
        if a is None:
            return None
        b = _draw(_tight(x[rng.integers(len(x))], 20), rng)
        if b is None:
            return None
        h = max(a.shape[0], b.shape[0])
        a = cv2.resize(a, (max(1, a.shape[1] * h // a.shape[0]), h), interpolation=cv2.INTER_NEAREST)
        b = cv2.resize(b, (max(1, b.shape[1] * h // b.shape[0]), h), interpolation=cv2.INTER_NEAREST)
        overlap = int(min(a.shape[1], b.shape[1]) * rng.uniform(-0.1, 0.3))  # touching, overlapping or just apart
        canvas = np.zeros((h, a.shape[1] + b.shape[1] - overlap), np.uint8)
        canvas[:, : a.shape[1]] = a
        canvas[:, a.shape[1] - overlap :] = np.maximum(canvas[:, a.shape[1] - overlap :], b)
        return _tight(canvas)
    canvas = np.zeros((size * 2, size * 2), np.uint8)
    thickness = max(1, int(size * rng.uniform(0.03, 0.15)))
    if kind == "letter":
        font = int(rng.choice([0, 1, 2, 3, 4, 5, 6, 7])) | (16 if rng.random() < 0.3 else 0)
        text = LETTERS[rng.integers(len(LETTERS))]
        scale = cv2.getFontScaleFromHeight(font & 15, size, thickness)
        cv2.putText(canvas, text, (size // 2, int(size * 1.5)), font, scale, 255, thickness, cv2.LINE_AA)
    elif kind == "mark":  # a dash, a dot, a comma, a plus or an equals sign, drawn large
        shape = rng.integers(4)
        c = size
        if shape == 0:
            cv2.line(canvas, (c // 2, c), (c + c // 2, c + int(rng.integers(-c // 8, c // 8 + 1))), 255, thickness)
        elif shape == 1:
            cv2.circle(canvas, (c, c), max(2, c // 6), 255, -1)
        elif shape == 2:
            cv2.line(canvas, (c // 2, c), (c + c // 2, c), 255, thickness)
            cv2.line(canvas, (c, c // 2), (c, c + c // 2), 255, thickness)
        else:
            cv2.line(canvas, (c // 2, c - c // 5), (c + c // 2, c - c // 5), 255, thickness)
            cv2.line(canvas, (c // 2, c + c // 5), (c + c // 2, c + c // 5), 255, thickness)
    else:  # a scribble: a few random curves
        points = (rng.uniform(0.4, 1.6, (int(rng.integers(6, 11)), 2)) * size).astype(np.int32)
        cv2.polylines(canvas, [points], False, 255, thickness, cv2.LINE_AA)
    return _tight(_pen(canvas.astype(np.float32), rng, size))


def camera_training_set(x: np.ndarray, y: np.ndarray, seed: int, variants: float = 1.0, cuts: float = 0.5, negatives: float = 0.12, progress: bool = False):
    """MNIST as it is, plus `variants` times as many camera-drawn digits, a `cuts` share of pieces cut
    out of digits that touch, and a `negatives` share of non-digits: (images uint8 (N, 28, 28), targets
    float32 (N, 10)), shuffled. Non-digits target a flat 0.1 everywhere."""
    from tqdm.auto import tqdm

    rng = np.random.default_rng(seed)
    count, junk_count, cut_count = int(variants * len(x)), int(negatives * len(x)), int(cuts * len(x))
    images, targets = [x], [np.eye(10, dtype=np.float32)[y]]
    with tqdm(total=count + junk_count + cut_count, desc="camera data", unit="img", disable=not progress) as bar:
        for start in range(0, count, 2000):  # in chunks, for the progress bar; the draws are the same
            drawn, labels = camera_digits(x, y, min(2000, count - start), rng)
            images.append(drawn)
            targets.append(np.eye(10, dtype=np.float32)[labels])
            bar.update(len(drawn))
        for start in range(0, cut_count, 2000):
            pieces, piece_targets = cut_pieces(x, y, min(2000, cut_count - start), rng)
            images.append(pieces)
            targets.append(piece_targets)
            bar.update(len(pieces))
        for start in range(0, junk_count, 2000):
            images.append(not_digits(x, min(2000, junk_count - start), rng))
            targets.append(np.full((len(images[-1]), 10), 0.1, np.float32))
            bar.update(len(images[-1]))
    images, targets = np.concatenate(images), np.concatenate(targets)
    order = rng.permutation(len(images))
    return images[order], targets[order]


def shift(tf, images, batch_seed, pixels: int = SHIFT_PIXELS):
    """A batch (N, 28, 28, 1) with each image moved by whole pixels, up to `pixels` each way, zeros let in.

    The offsets come from `batch_seed` alone (stateless), so the same seed gives the same batches.
    """
    n = tf.shape(images)[0]
    seed = tf.stack([tf.cast(batch_seed, tf.int64), tf.constant(0, tf.int64)])
    moves = tf.cast(tf.random.stateless_uniform([n, 2], seed=seed, minval=-pixels, maxval=pixels + 1, dtype=tf.int32), tf.float32)
    one, zero = tf.ones([n]), tf.zeros([n])
    # Each row maps an output pixel (x, y) to the input pixel (x + dx, y + dy).
    transforms = tf.stack([one, zero, moves[:, 0], zero, one, moves[:, 1], zero, zero], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0, interpolation="NEAREST", fill_mode="CONSTANT"
    )
