"""Make regions of a camera frame look like MNIST digits.

MNIST was made by scaling each digit so its longer side is 20 pixels (keeping the aspect ratio,
anti-aliased) and pasting it into 28x28 so that its centre of mass sits at the centre. A camera
digit is dark ink on light paper under uneven light, so it is first thresholded (locally, so a
lighting gradient does not swallow half the page), then cut out and put through the same steps.

The stages are separate functions so the camera benchmark can time each one; `find_regions` is
what the recognizer calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from edge_mnist._deps import require

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels


class Threshold(str, Enum):
    ADAPTIVE = "adaptive"  # local mean: robust to lighting gradients and shadows
    OTSU = "otsu"  # one global level: fine under even light


@dataclass(frozen=True)
class PreprocessConfig:
    threshold: Threshold = Threshold.ADAPTIVE
    block: int = 41  # adaptive window (odd); wider than the thickest stroke so strokes stay solid
    offset: int = 12  # how much darker than its neighbourhood a pixel must be to count as ink
    min_height: int = 18  # pixels; smaller blobs are specks, texture, noise or a broken stroke's stray piece
    max_height_frac: float = 0.8  # of the frame height; taller is an edge or a shadow, not a digit
    min_aspect: float = 0.08  # w / h; a "1" is thin, a line is thinner
    max_aspect: float = 2.0  # a wide 5 or 7 seen at an angle
    min_fill: float = 0.06  # ink pixels / box area: a stray outline is emptier
    max_fill: float = 0.9  # a solid blob is fuller
    join: int = 7  # dilation (px) that joins the pieces of a broken stroke into one region


@dataclass(frozen=True)
class Regions:
    boxes: list[Box]
    images: np.ndarray  # (N, 28, 28) uint8, white on black, MNIST-style


def to_gray(frame: np.ndarray) -> np.ndarray:
    cv2 = require("cv2")
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def ink_mask(gray: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """uint8 mask, 255 where there is ink (so the digit is already white on black)."""
    cv2 = require("cv2")
    if config.threshold is Threshold.ADAPTIVE:
        return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, config.block, config.offset)
    return cv2.threshold(cv2.GaussianBlur(gray, (5, 5), 0), 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]


def candidate_boxes(mask: np.ndarray, config: PreprocessConfig) -> list[Box]:
    """Tight ink boxes of the regions that may be digits: not cut by the frame edge, of a digit's size and shape."""
    cv2 = require("cv2")
    height, width = mask.shape
    joined = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (config.join, config.join))) if config.join > 1 else mask
    # Two-level contours: outer boundaries of every blob, holes on the second level. Outer
    # boundaries only (RETR_EXTERNAL) would lose every digit inside a closed ring, such as the
    # edge of a sheet lying wholly in view; labelling all components is several times slower.
    contours, hierarchy = cv2.findContours(joined, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour, (_, _, _, parent) in zip(contours, hierarchy[0] if hierarchy is not None else ()):
        if parent != -1:
            continue  # a hole
        x, y, w, h = cv2.boundingRect(contour)
        if x <= 0 or y <= 0 or x + w >= width or y + h >= height:
            continue  # cut off by the frame edge: reading half a digit is worse than reading none
        if h < config.min_height or h > config.max_height_frac * height or not config.min_aspect <= w / h <= config.max_aspect:
            continue
        crop = mask[y : y + h, x : x + w]
        if not config.min_fill <= cv2.countNonZero(crop) / float(w * h) <= config.max_fill:
            continue
        # The ink's own box: the dilation only groups broken strokes, it must not pad the digit.
        tx, ty, tw, th = cv2.boundingRect(crop)
        boxes.append((x + tx, y + ty, tw, th))
    return boxes


def digit_images(mask: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """(N, 28, 28) uint8: each box's ink, MNIST-style."""
    if not boxes:
        return np.zeros((0, 28, 28), np.uint8)
    return np.stack([mnist_style(mask[y : y + h, x : x + w]) for x, y, w, h in boxes])


def find_regions(frame: np.ndarray, config: PreprocessConfig = PreprocessConfig()) -> Regions:
    """Candidate digits of one frame (BGR or gray), each as its box and a 28x28 MNIST-style image."""
    mask = ink_mask(to_gray(frame), config)
    boxes = candidate_boxes(mask, config)
    return Regions(boxes, digit_images(mask, boxes))


def mnist_style(ink: np.ndarray) -> np.ndarray:
    """A tight white-on-black crop -> 28x28: longer side 20 px, centre of mass at the centre."""
    cv2 = require("cv2")
    h, w = ink.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
    moments = cv2.moments(small)
    if moments["m00"] > 0:
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    else:
        cx, cy = size[0] / 2, size[1] / 2
    shift = np.float32([[1, 0, 14 - cx], [0, 1, 14 - cy]])
    return cv2.warpAffine(small, shift, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)
