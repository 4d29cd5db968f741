"""Make regions of a camera frame look like MNIST digits.

MNIST was made by scaling each digit so its longer side is 20 pixels (keeping the aspect ratio,
anti-aliased) and pasting it into 28x28 so that its centre of mass sits at the centre. A camera
digit is dark ink on light paper under uneven light, so it is first thresholded (locally, so a
lighting gradient does not swallow half the page), then cut out and put through the same steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from edge_mnist._deps import require

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels


class Threshold(str, Enum):
    ADAPTIVE = "adaptive"  # local mean: robust to lighting gradients and shadows
    OTSU = "otsu"  # one global level: fine under even light, faster


@dataclass(frozen=True)
class PreprocessConfig:
    threshold: Threshold = Threshold.ADAPTIVE
    block: int = 41  # adaptive window (odd); wider than the thickest stroke so strokes stay solid
    offset: int = 12  # how much darker than its neighbourhood a pixel must be to count as ink
    min_height: int = 14  # pixels; smaller blobs are specks, texture or noise
    max_height_frac: float = 0.8  # of the frame height; taller is an edge or a shadow, not a digit
    min_aspect: float = 0.08  # w / h; a "1" is thin, a line is thinner
    max_aspect: float = 1.6
    min_fill: float = 0.06  # ink pixels / box area: a stray outline is emptier
    max_fill: float = 0.9  # a solid blob is fuller
    join: int = 5  # dilation (px) that joins the pieces of a broken stroke into one region


@dataclass(frozen=True)
class Regions:
    boxes: list[Box]
    images: np.ndarray  # (N, 28, 28) uint8, white on black, MNIST-style


def to_gray(frame: np.ndarray) -> np.ndarray:
    cv2 = require("cv2")
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def ink_mask(gray: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """uint8 mask, 255 where there is ink."""
    cv2 = require("cv2")
    if config.threshold is Threshold.ADAPTIVE:
        return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, config.block, config.offset)
    return cv2.threshold(cv2.GaussianBlur(gray, (5, 5), 0), 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]


def find_regions(frame: np.ndarray, config: PreprocessConfig = PreprocessConfig()) -> Regions:
    """Candidate digits of one frame (BGR or gray), each as its box and a 28x28 MNIST-style image."""
    cv2 = require("cv2")
    gray = to_gray(frame)
    mask = ink_mask(gray, config)
    height, width = mask.shape
    joined = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (config.join, config.join))) if config.join > 1 else mask
    # External contours only: far cheaper than labelling every component, and holes do not matter.
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes, images = [], []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if x <= 0 or y <= 0 or x + w >= width or y + h >= height:
            continue  # cut off by the frame edge: reading half a digit is worse than reading none
        if h < config.min_height or h > config.max_height_frac * height or not config.min_aspect <= w / h <= config.max_aspect:
            continue
        crop = mask[y : y + h, x : x + w]
        fill = cv2.countNonZero(crop) / float(w * h)
        if not config.min_fill <= fill <= config.max_fill:
            continue
        box = _tight(crop, (x, y))
        if box is None:
            continue
        bx, by, bw, bh = box
        boxes.append(box)
        images.append(mnist_style(mask[by : by + bh, bx : bx + bw]))
    stack = np.stack(images) if images else np.zeros((0, 28, 28), np.uint8)
    return Regions(boxes, stack)


def _tight(crop: np.ndarray, origin: tuple[int, int]) -> Box | None:
    """The ink's own box inside a (dilated) region's box: dilation only groups, it must not pad."""
    cv2 = require("cv2")
    points = cv2.findNonZero(crop)
    if points is None:
        return None
    x, y, w, h = cv2.boundingRect(points)
    return origin[0] + x, origin[1] + y, w, h


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
