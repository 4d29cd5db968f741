"""From a camera frame to pieces of ink, and from a piece of ink to an MNIST-style 28x28 image.

Ink is what is clearly darker than the paper around it. The paper's brightness is estimated
locally (a closing over a quarter-size copy, wider than a pen's stroke; a frame with fatter strokes
is read at half the size), so uneven light, shadows and tinted paper do not matter; a pixel's
contrast is how much darker than its paper it is. Two levels decide what is ink (hysteresis): a low
one gives a stroke its whole shape, thin and faint parts included, and a piece of ink is kept only
if enough of it reaches a high one, set relative to the darkest writing on the page. Writing that shows through from the back of a thin page, pencil
marks under pen, and soft shadows never reach it. Pieces between the two are kept aside as faint: a
digit in a thinner or lighter stroke beside darker writing looks the same, and the recognizer takes
those that sit on a line of writing.

Ruled lines and margins (long, thin, straight strokes across much of the frame) are fitted and
erased, and the strokes of digits that crossed them are reconnected.
Where the page's edge (or a hard shadow's) runs through the frame, the paper estimate leaves thin
slivers of contrast along it; they have dark ground, not paper, on one side, and are not ink.

MNIST was made by scaling each digit so its longer side is 20 pixels and centring its mass in
28x28, from pen strokes about 2 px wide at that size; `mnist_style` does the same to a crop and
first thickens a hairline or thins a marker stroke to MNIST's width.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from edge_mnist._deps import require

Box = tuple[int, int, int, int]  # x, y, w, h


class Threshold(str, Enum):
    ADAPTIVE = "adaptive"  # darker than the local paper: robust to uneven light, shadows, show-through
    OTSU = "otsu"  # one global level: fine under even light


@dataclass(frozen=True)
class PreprocessConfig:
    threshold: Threshold = Threshold.ADAPTIVE
    max_side: int = 1600  # larger frames are read downscaled to this: bounded time and memory
    min_ink: int = 60  # contrast (0-255) the darkest writing must reach, or the page is blank
    floor: int = 30  # contrast below this is paper texture and sensor noise, whatever the page
    low: float = 0.3  # a stroke's whole shape: contrast above this share of the page's ink level
    strong: float = 0.7  # ...and a piece is ink only if enough of it is this dark (show-through is not)
    min_strong: float = 0.1  # share of a piece's pixels that must be strong (so its 90th percentile is)
    faint: float = 0.45  # pieces not strong but this dark are kept aside: writing if they sit on a line of it
    min_area: int = 5  # pixels; smaller specks are noise
    rule_length: float = 0.25  # a straight stroke longer than this share of the frame is a ruled line


@dataclass(frozen=True)
class Ink:
    """The ink of one frame at working scale: a mask, its connected pieces, and the scale back to the frame."""

    scale: float  # frame pixels per working pixel (under 1 where a small frame, or small writing, was enlarged)
    mask: np.ndarray  # uint8, 255 = ink, ruled lines erased
    labels: np.ndarray  # int32 label of each pixel's piece (0 = paper)
    boxes: np.ndarray  # (N, 4) int x, y, w, h of each kept piece
    areas: np.ndarray  # (N,) its ink pixels
    ids: np.ndarray  # (N,) the label of each kept piece
    level: float  # the page's ink contrast (0 on a blank page)
    zoom: int = 1  # 2 where small writing was read at twice the size: sizes in working pixels double
    faint: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), int))  # label, x, y, w, h, area of each piece too faint alone
    ruled: bool = False  # printed rules (or a grid) were erased from it


def with_pieces(ink: Ink, labels) -> Ink:
    """The ink with these faint pieces kept too."""
    chosen = np.isin(ink.faint[:, 0], labels)
    added = ink.faint[chosen]
    return replace(ink, boxes=np.concatenate([ink.boxes, added[:, 1:5]]), areas=np.concatenate([ink.areas, added[:, 5]]), ids=np.concatenate([ink.ids, added[:, 0]]), faint=ink.faint[~chosen])


def components(mask: np.ndarray):
    """(count, labels, stats) of the 8-connected pieces of a 0/255 mask.

    Grana's block-based labelling: three times faster here than OpenCV's default with one thread.
    """
    cv2 = require("cv2")
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return count, labels, stats


def to_gray(frame: np.ndarray) -> np.ndarray:
    cv2 = require("cv2")
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def working_gray(frame: np.ndarray, max_side: int, zoom: int = 1) -> tuple[np.ndarray, float]:
    """Gray at most `max_side` pixels on its longer side (at least MIN_SIDE: a thumbnail, or a 28x28
    MNIST image, is enlarged), `zoom` times that, and the factor back to frame pixels."""
    cv2 = require("cv2")
    gray = to_gray(frame)
    longest = max(gray.shape)
    scale = longest / (min(max(longest, MIN_SIDE), max_side) * zoom)
    if scale == 1.0:
        return gray, 1.0
    size = (max(1, round(gray.shape[1] / scale)), max(1, round(gray.shape[0] / scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale > 1 else cv2.INTER_CUBIC), scale


MIN_SIDE = 256  # working pixels on the longer side, at least: the ink's measures need room


def quarter_size(gray: np.ndarray, zoom: int = 1) -> np.ndarray:
    """The gray frame at a quarter of its size at zoom 1 (so a re-read at twice the size measures the
    paper and the polarity the same way, at the same cost): what the page-wide measures look at."""
    cv2 = require("cv2")
    h, w = gray.shape
    return cv2.resize(gray, (max(1, w // (4 * zoom)), max(1, h // (4 * zoom))), interpolation=cv2.INTER_AREA)


def dark_on_light(gray: np.ndarray, small: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The gray frame and its quarter-size copy `small` as dark writing on light paper: inverted where
    its thin strokes are light on dark (chalk on a board, a digit drawn white on black as MNIST stores
    them, a lit screen).

    Decided on the quarter-size copy: the ground must be dark (the frame's median in the lowest quarter
    of its range: a page of paper on a dark desk still fills most of a photo of it, and the paper
    between ruled lines in a shadow is mid-grey), and strokes narrower than 36 px that are lighter
    than their surroundings (a top-hat) must be about as many as the darker ones (a black-hat, which
    counts the dark holes of light loops and the gaps between light digits too); a sheet of paper on
    a dark desk is wider than 36 px, so it is no light stroke.
    """
    cv2 = require("cv2")
    hist = cv2.calcHist([small], [0], None, [256], [0, 256]).ravel()
    low, middle, high = (_quantile(hist, q) for q in (0.02, 0.5, 0.98))
    if middle - low >= DARK_GROUND * (high - low):
        return gray, small
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    dark = cv2.countNonZero(cv2.threshold(cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, kernel), STROKE_CONTRAST, 255, cv2.THRESH_BINARY)[1])
    light = cv2.countNonZero(cv2.threshold(cv2.morphologyEx(small, cv2.MORPH_TOPHAT, kernel), STROKE_CONTRAST, 255, cv2.THRESH_BINARY)[1])
    return (cv2.bitwise_not(gray), cv2.bitwise_not(small)) if light > LIGHT_SHARE * dark else (gray, small)


STROKE_CONTRAST = 60  # gray levels a stroke stands out from its surroundings by, to be weighed
LIGHT_SHARE = 0.8  # light strokes against dark ones, on a dark ground (white digits on black: about 1 to 2.5)
DARK_GROUND = 0.25  # share of the frame's range its median may sit above the darkest, for a dark ground


def paper_of(small: np.ndarray) -> np.ndarray:
    """The paper's brightness, at quarter size: a closing (max filter, then min filter) 9 px wide there,
    36 px at full size, wider than a pen's stroke, so strokes vanish from it; and unlike a max filter
    alone it follows the sharp edge of a shadow instead of spilling the lit side's brightness across it."""
    cv2 = require("cv2")
    return cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))


def contrast_map(gray: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """uint8: 255 * (paper - pixel) / paper, from the quarter-size `paper` (`paper_of`)."""
    cv2 = require("cv2")
    h, w = gray.shape
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(cv2.subtract(paper, gray), paper, scale=255)


def thick_strokes(small: np.ndarray, paper: np.ndarray) -> bool:
    """Whether the frame holds strokes too wide for `paper_of` (36 px or more: a marker held close to
    the camera), which the contrast would show hollow: dark pieces at least a digit's size for such a
    stroke, away from the frame's edge (a shadow cast from outside the frame reaches it), that hold a
    stretch a closing at an eighth of the size (reaching 72 px) fills and the quarter-size `paper` does
    not. (The desk just beyond a page's edge is such a stretch too, but a sliver.)"""
    cv2 = require("cv2")
    h, w = small.shape
    eighth = cv2.resize(small, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(paper_of(eighth), (w, h), interpolation=cv2.INTER_LINEAR)
    dark = cv2.threshold(cv2.divide(cv2.subtract(coarse, small), coarse, scale=255), STROKE_CONTRAST, 255, cv2.THRESH_BINARY)[1]
    missed = cv2.divide(cv2.subtract(coarse, paper), coarse, scale=255) > STROKE_CONTRAST
    count, labels, stats = components(dark)
    wide = np.bincount(labels[missed], minlength=count)
    digit_sized = (stats[:, 2] >= THICK_STROKE) & (stats[:, 3] >= 2 * THICK_STROKE)
    return bool((_inside(stats, w, h) & digit_sized & (wide >= THICK_STROKE**2 // 4))[1:].any())


THICK_STROKE = 9  # quarter-size pixels: 36 px at full size, the widest stroke `paper_of` removes
THICK_MIN_SIDE = 128  # working pixels: a frame of fat strokes is read halved down to this size on its longer side


def find_ink(frame: np.ndarray, config: PreprocessConfig = PreprocessConfig(), zoom: int = 1) -> Ink:
    """The ink of a frame; `zoom` 2 reads it at twice the working size (sizes in pixels scale with it)."""
    cv2 = require("cv2")
    gray, scale = working_gray(frame, config.max_side, zoom)
    gray, small = dark_on_light(gray, quarter_size(gray, zoom))
    paper = paper_of(small)
    if zoom == 1 and max(gray.shape) // 2 >= THICK_MIN_SIDE and thick_strokes(small, paper):
        # Read at half the size, where the strokes are half as wide (and again, for wider ones: a marker
        # a third of the digit's height wide still reads hollow in a 640x480 frame read at 320x240).
        return find_ink(frame, replace(config, max_side=max(gray.shape) // 2))
    if config.threshold is Threshold.OTSU:
        mask = cv2.threshold(cv2.GaussianBlur(gray, (5, 5), 0), 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)[1]
        contrast, level = None, 255.0
    else:
        contrast = contrast_map(gray, paper)
        level = _ink_level(contrast, config)
        if level < config.min_ink:
            empty = np.zeros(gray.shape, np.uint8)
            return Ink(scale, empty, empty.astype(np.int32), np.zeros((0, 4), int), np.zeros(0, int), np.zeros(0, int), 0.0, zoom)
        mask = cv2.threshold(contrast, max(config.floor, config.low * level), 255, cv2.THRESH_BINARY)[1]
    count, labels, stats = components(mask)
    height, width = mask.shape
    # Printed boxes go before ruled lines are looked for: a comb of boxes is as long as a rule, and
    # erasing its top and bottom would leave its dividers to be read as 1s.
    candidates = (stats[:, 4] >= config.min_area * zoom**2) & _inside(stats, width, height)
    candidates[0] = False
    frames = np.nonzero(_printed_frames(labels, stats, candidates, zoom))[0]
    if len(frames):
        mask[np.isin(labels, frames)] = 0
        count, labels, stats = components(mask)
    ruled = _erase_rules(mask, labels, stats, config, zoom, contrast, level)
    if ruled:
        count, labels, stats = components(mask)
        if contrast is not None:
            # The writing was part of the grid of rules the level was measured on, and printed rules
            # can be darker than pencil: measure the writing again, now that it stands alone.
            remeasured = _writing_level(contrast, labels, stats, config) or level
            if remeasured > level:
                # Its whole shape is what stands out at the low share of its own level: what the net's
                # lower level let in around it (a blurred stroke's halo, joining its neighbours) goes.
                mask[contrast <= max(config.floor, config.low * remeasured)] = 0
                count, labels, stats = components(mask)
            level = remeasured
    if contrast is None:
        strong_pixels = faint_pixels = stats[:, 4]  # Otsu's split: all ink is dark
    else:
        strong_pixels, faint_pixels = (np.bincount(labels[cv2.threshold(contrast, share * level, 255, cv2.THRESH_BINARY)[1] > 0], minlength=count) for share in (config.strong, config.faint))
    area = stats[:, 4]
    whole = (area >= config.min_area * zoom**2) & _inside(stats, width, height)
    whole[0] = False  # the paper
    keep = whole & (strong_pixels >= config.min_strong * area)
    kept = np.nonzero(keep)[0]
    keep[kept] &= ~_edge_slivers(gray, mask, labels, paper, stats, kept, zoom)
    ids = np.nonzero(keep)[0]
    aside = np.nonzero(whole & ~keep & (faint_pixels >= config.min_strong * area))[0]
    return Ink(scale, mask, labels, stats[ids, :4].astype(int), stats[ids, 4].astype(int), ids, float(level), zoom, np.column_stack([aside, stats[aside]]).astype(int), ruled)


def _edge_slivers(gray: np.ndarray, mask: np.ndarray, labels: np.ndarray, paper: np.ndarray, stats: np.ndarray, ids: np.ndarray, zoom: int) -> np.ndarray:
    """Which of the pieces `ids` are slivers along the edge of the paper (against the desk, a sleeve, a
    hard shadow), not strokes: thin pieces that the paper does not surround, because on one side lies
    ground as dark as they are. A pen's stroke has paper on both sides."""
    cv2 = require("cv2")
    x, y, w, h, area = stats[ids].T
    length = np.hypot(w, h)  # a thin piece, straight or turned, is about this long...
    thin = (length >= SLIVER_LENGTH * zoom) & (area <= SLIVER_WIDTH * zoom * length) & (np.minimum(w, h) >= 3 * zoom)  # ...and this wide
    flags = np.zeros(len(ids), bool)
    if not thin.any():
        return flags
    # Only where the paper estimate (quarter size) changes within 12 px is there ground to look at.
    kernel = np.ones((3, 3), np.uint8)
    row = np.clip((y + h // 2) // (4 * zoom), 0, paper.shape[0] - 1)
    column = np.clip((x + w // 2) // (4 * zoom), 0, paper.shape[1] - 1)
    near_edge = thin & (cv2.erode(paper, kernel)[row, column] < 0.9 * cv2.dilate(paper, kernel)[row, column])
    r = 3 * zoom
    for k in np.nonzero(near_edge)[0]:
        x0, y0, x1, y1 = max(0, x[k] - r), max(0, y[k] - r), min(gray.shape[1], x[k] + w[k] + r), min(gray.shape[0], y[k] + h[k] + r)
        region = gray[y0:y1, x0:x1]
        piece = labels[y0:y1, x0:x1] == ids[k]
        ground = region[~piece & (mask[y0:y1, x0:x1] == 0)]
        if len(ground):
            stroke, paper_there = float(np.median(region[piece])), float(np.percentile(ground, 90))
            flags[k] = (ground <= stroke + 0.25 * (paper_there - stroke)).mean() > SLIVER_DARK
    return flags


SLIVER_LENGTH = 8  # working pixels at zoom 1: shorter pieces are left to the size checks
SLIVER_WIDTH = 4  # working pixels at zoom 1: a sliver is no wider on average (a pen's stroke may be)
SLIVER_DARK = 0.3  # share of the ground around a thin piece as dark as it is, for it to be an edge's sliver


def _printed_frames(labels: np.ndarray, stats: np.ndarray, keep: np.ndarray, zoom: int) -> np.ndarray:
    """Which kept pieces are printed boxes around the writing (a form's boxes, one or a comb of them):
    thin outlines whose ink runs along all four sides of their box and that hold a piece of writing of
    their own height's scale inside. The writing in them is read; the boxes would be read as 1s and 0s."""
    x, y, w, h, area = stats.T
    frames = np.zeros(len(stats), bool)
    outer = np.nonzero(keep & (w >= FRAME_MIN * zoom) & (h >= FRAME_MIN * zoom) & (area < 0.3 * w * h))[0]
    inner = np.nonzero(keep & (h >= FRAME_MIN * zoom // 2))[0]
    if not len(outer) or not len(inner):
        return frames
    o, n = outer[:, None], inner[None, :]  # every outline against every piece that could be in it, at once
    holds = ((x[n] > x[o]) & (y[n] > y[o]) & (x[n] + w[n] < x[o] + w[o]) & (y[n] + h[n] < y[o] + h[o]) & (h[n] >= 0.35 * h[o])).any(axis=1)
    for i in outer[holds]:
        piece = labels[y[i] : y[i] + h[i], x[i] : x[i] + w[i]] == i
        band = max(2, int(0.3 * min(w[i], h[i])))  # a turned box's side runs across a band this deep
        sides = (piece[:band].any(axis=0).mean(), piece[-band:].any(axis=0).mean(), piece[:, :band].any(axis=1).mean(), piece[:, -band:].any(axis=1).mean())
        # (A long comb turned a little has its end sides in fewer of its box's rows.)
        frames[i] = min(sides[:2]) >= 0.8 and min(sides[2:]) >= 0.6
    return frames


FRAME_MIN = 16  # working pixels at zoom 1: a printed box is at least this wide and tall


def _inside(stats: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pieces not cut by the frame's edge: half a digit is worse than none, and desks, sleeves, thumbs and
    page edges live there."""
    x, y, w, h = stats[:, :4].T
    return (x > 0) & (y > 0) & (x + w < width) & (y + h < height)


def _writing_level(contrast: np.ndarray, labels: np.ndarray, stats: np.ndarray, config: PreprocessConfig) -> float:
    """The 95th percentile of the contrast of the pieces that look written (inside the frame, not solid
    blobs, not bits of lines), or 0 if there are none. What is left of a dense grid looks written too:
    where it is most of the ink, the writing is measured above its contrast, as `_ink_level` does."""
    writing = _writing(stats, contrast.shape, config)
    if not writing.any():
        return 0.0
    hist = _histogram(contrast, labels, writing)
    return _darker_part(np.ascontiguousarray(contrast[::2, ::2]), hist, config)


def _writing(stats: np.ndarray, shape: tuple[int, int], config: PreprocessConfig) -> np.ndarray:
    """Which pieces look written: inside the frame, not solid blobs, not bits of lines."""
    x, y, w, h, area = stats.T
    blob = (area > 0.6 * w * h) & (w < 2 * h) & (h < 2 * w)
    fragment = ((h <= 3) & (w >= 6 * h)) | ((w <= 3) & (h >= 6 * w))
    writing = _inside(stats, shape[1], shape[0]) & (area >= 2 * config.min_area) & ~blob & ~fragment
    writing[0] = False
    return writing


def _percentile_95(contrast: np.ndarray, labels: np.ndarray, chosen: np.ndarray) -> float:
    """The 95th percentile of the uint8 `contrast` over the pieces `chosen`: from its histogram, at the cost of one pass."""
    return _quantile(_histogram(contrast, labels, chosen), 0.95)


def _quantile(hist: np.ndarray, q: float) -> float:
    return float(np.searchsorted(np.cumsum(hist), q * hist.sum()))


def _histogram(contrast: np.ndarray, labels: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The 256-bin histogram of the uint8 `contrast` over the pieces `chosen` (a flag for each label of `labels`)."""
    cv2 = require("cv2")
    # np.take from a uint8 table: a third of the time of indexing the flags with the labels.
    where = np.take(chosen.astype(np.uint8), labels)
    return cv2.calcHist([contrast], [0], where, [256], [0, 256]).ravel()


FAINT_MAJORITY = 0.8  # share of the pixels below Otsu's split...
DARKER = 2.5  # ...and how many times darker the rest must be on average, for the faint part to be printed lines


def _otsu_split(hist: np.ndarray) -> int | None:
    """Otsu's level on a 256-bin histogram, if it splits off a dark minority from a faint majority; else None."""
    count, moment = np.cumsum(hist), np.cumsum(hist * np.arange(256))
    below, above = count[:-1], count[-1] - count[:-1]  # pixels at or under each level, and over it
    if count[-1] == 0:
        return None
    mean_below = moment[:-1] / np.maximum(below, 1)
    mean_above = (moment[-1] - moment[:-1]) / np.maximum(above, 1)
    split = int(np.argmax(below * above * (mean_above - mean_below) ** 2))
    if below[split] < FAINT_MAJORITY * count[-1] or mean_above[split] < DARKER * mean_below[split]:
        return None
    return split


def _ink_level(contrast: np.ndarray, config: PreprocessConfig) -> float:
    """The contrast of the page's writing: the 95th percentile over the pieces that could be writing.

    Pieces cut by the frame edge (a dark sleeve, the desk, a thumb), solid blobs (punched holes) and
    bits of ruled lines are left out, or they would set the level and make the real writing look
    faint (or, for faint rules, vanish). Where that leaves nothing dark enough, the writing touches
    ruled lines or a printed grid that reach the frame's edge: then the level is taken from that net
    with the writing on it (a sparse piece through the middle of the frame; the page's edge against
    the desk hugs the border). Where most of what is measured is faint and the rest far darker (a
    grid, or rules, holding the writing and punched holes in their net), the writing is measured
    alone, above the net's contrast. Measured on a half-size copy: it is a statistic.
    """
    half = np.ascontiguousarray(contrast[::2, ::2])
    count, labels, stats = components((half > config.floor).astype(np.uint8))
    writing = _writing(stats, half.shape, config)
    hist = _histogram(half, labels, writing)
    if _quantile(hist, 0.95) < config.min_ink:
        x, y, w, h, area = stats.T
        height, width = half.shape
        writing = (area < NET_FILL * w * h) & _through_middle(stats, width, height, config)
        if not writing[1:].any():
            # Nothing but solid marks inside the frame: they are the writing (a fat marker's digits).
            writing = _inside(stats, width, height) & (area >= 2 * config.min_area)
        writing[0] = False
        if not writing.any():
            return 0.0
        hist = _histogram(half, labels, writing)
    return _darker_part(half, hist, config)


def _darker_part(half: np.ndarray, hist: np.ndarray, config: PreprocessConfig) -> float:
    """The 95th percentile of the histogram `hist` of what could be writing; where most of it is faint
    and the rest far darker (a printed net holding the writing), of the writing alone above the net's
    contrast (measured on `half`, the half-size contrast, so punched holes are left out again)."""
    split = _otsu_split(hist)
    if split is not None:
        _, labels, stats = components((half > split).astype(np.uint8))
        alone = _writing(stats, half.shape, config)
        if alone.any():
            return _percentile_95(half, labels, alone)
        hist[: split + 1] = 0
    return _quantile(hist, 0.95)


def _through_middle(stats: np.ndarray, width: int, height: int, config: PreprocessConfig) -> np.ndarray:
    """Pieces that run through the middle of the frame, as rules and nets of them do: through both its
    middles, or along one, long, and clear of the frame's edges across it (a lone rule well above or
    below the middle). The faint line where the page meets the desk hugs the frame's edge."""
    x, y, w, h = stats[:, :4].T
    middle_x, middle_y = (x < 0.6 * width) & (x + w > 0.4 * width), (y < 0.6 * height) & (y + h > 0.4 * height)
    across = middle_x & (w >= config.rule_length * width) & (y > 0) & (y + h < height)
    down = middle_y & (h >= config.rule_length * height) & (x > 0) & (x + w < width)
    return (middle_x & middle_y) | across | down


NET_FILL = 0.35  # a net of rules or a printed grid fills less of its box than this (a notebook's rules: 4%, 5 mm squares: 20%)


def _erase_rules(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, config: PreprocessConfig, zoom: int, contrast: np.ndarray | None = None, level: float = 0.0) -> bool:
    """Erase ruled lines and margins in place; True if any was found.

    Only frames with a piece of ink spanning much of the frame, or many thin dashes along it, can hold
    one, which keeps the common case free. There, a rule is a long run of *thin* ink: pixels in short
    runs across the rule's direction, linked along it over a good part of the frame, whatever the
    digits touching it.
    """
    cv2 = require("cv2")
    height, width = mask.shape
    # A rule, or a grid of them, is long, fills little of its box (under RULE_FILL; the desk in a corner,
    # a sleeve or a shadow fill much more) and runs through the middle of the frame.
    x, y, w, h, area = stats[1:].T
    across, down = w >= config.rule_length * width, h >= config.rule_length * height
    # A net over most of the frame may be dense (a grid); one long stroke may not be (a digit's, in a
    # small frame, is as long as a rule and fills its narrow box as densely as a grid does), nor a fat
    # marker's digit, whose outline spans a good part of the frame.
    net = (w >= 2 * config.rule_length * width) & (h >= 2 * config.rule_length * height)
    sparse = area < np.where(net, GRID_FILL, RULE_FILL) * w * h
    # Rules as pale as the mask's level are in it only in dashes: thin pieces along one direction that
    # add up to rules across the frame (a number's dash or a 7's bar adds little). Dashes both ways
    # are a pale grid, whose pieces are kept aside as faint.
    dashed = [_dashes(stats, vertical, zoom) >= RULE_DASHES * (height if vertical else width) for vertical in (False, True)]
    if not (sparse & (across | down) & _through_middle(stats[1:], width, height, config)).any() and sum(dashed) != 1:
        return False
    # Find the rules of both directions before erasing any: erasing the ruled lines first would cut a
    # margin into pieces too short to be found.
    pieces = [(*_long_thin_pieces(mask, vertical, config, zoom), vertical) for vertical in (False, True)]
    original = mask.copy()

    def erase(labels: np.ndarray, label: int, box: Box, vertical: bool) -> bool:
        return _erase_rule(mask, original, contrast, level, labels, label, box, vertical, zoom)

    found = {}
    for thin_labels, thin_stats, long_pieces, vertical in pieces:
        found[vertical] = [i for i in long_pieces if erase(thin_labels, i, tuple(thin_stats[i, :4]), vertical)]
        for i in _continued(thin_labels, thin_stats, found[vertical], vertical, zoom):
            erase(thin_labels, i, tuple(thin_stats[i, :4]), vertical)
    # The rules of a family that are fainter than the low share of the writing's level are in the mask
    # only in dashes, too short to be found (a webcam's view of a notebook: the writing dark, the rules
    # pale). Where such dashes are left along the family, its rules are looked for in all that is darker
    # than the paper's texture, and erased unless erased already (mostly gone from the mask: the found
    # rules' own pale edges).
    family = [vertical for vertical, rules in found.items() if len(rules) >= RULE_FAMILY and _dashes(stats, vertical, zoom, mask) >= RULE_DASHES_LEFT * (height if vertical else width)]
    if contrast is not None and family:
        gone = cv2.subtract(original, mask)
        darker = cv2.threshold(contrast, config.floor, 255, cv2.THRESH_BINARY)[1]
        for vertical in family:
            pale_labels, pale_stats, candidates = _long_thin_pieces(darker, vertical, config, zoom)
            for i in candidates:
                box = tuple(pale_stats[i, :4])
                window = (slice(box[1], box[1] + box[3]), slice(box[0], box[0] + box[2]))
                piece = pale_labels[window] == i
                if np.count_nonzero(original[window][piece]) < RULE_LINK * zoom:
                    continue  # hardly any of it in the mask: nothing there to join the writing
                if np.count_nonzero(gone[window][piece]) <= RULE_ERASED * np.count_nonzero(piece):
                    erase(pale_labels, i, box, vertical)
    return any(found.values())


def _dashes(stats: np.ndarray, vertical: bool, zoom: int, mask: np.ndarray | None = None) -> int:
    """How long the pieces thin enough for a printed rule and running along `vertical`'s direction are
    together (those still in `mask`, if given), in working pixels."""
    x, y, w, h = stats[1:, :4].T
    along, across = (h, w) if vertical else (w, h)
    dashes = np.nonzero((across <= RULE_THICKNESS * zoom) & (along >= 3 * across))[0]
    if mask is not None:
        dashes = [k for k in dashes if mask[y[k] : y[k] + h[k], x[k] : x[k] + w[k]].any()]
    return int(along[dashes].sum())


def _long_thin_pieces(binary: np.ndarray, vertical: bool, config: PreprocessConfig, zoom: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The thin ink of `binary` (no thicker than a printed rule across `vertical`'s direction) in pieces,
    their labels and stats, and those long enough to be a rule, or a stretch of one."""
    cv2 = require("cv2")
    height, width = binary.shape
    thickness = RULE_THICKNESS * zoom
    kernel = np.ones((1, thickness + 1), np.uint8) if vertical else np.ones((thickness + 1, 1), np.uint8)
    thin = cv2.subtract(binary, cv2.morphologyEx(binary, cv2.MORPH_OPEN, kernel))
    # Where a margin crosses a rule, neither is thin: bridge such short gaps along the rule.
    thin = cv2.morphologyEx(thin, cv2.MORPH_CLOSE, np.ones((15 * zoom, 1) if vertical else (1, 15 * zoom), np.uint8))
    _, labels, stats = components(thin)
    span = stats[:, 3] if vertical else stats[:, 2]
    return labels, stats, [int(i) for i in np.nonzero(span >= RULE_PIECE * config.rule_length * (height if vertical else width))[0] if i]


def _continued(labels: np.ndarray, stats: np.ndarray, found: list[int], vertical: bool, zoom: int) -> list[int]:
    """Pieces that continue a found rule past where it broke (writing sitting on it, a stretch where it
    fades, a turned page's rule stepping from one row of pixels to the next): long thin pieces that
    begin a short gap beyond a rule's end, or beyond such a piece's, on the rule's line."""
    along, across = (1, 0) if vertical else (0, 1)
    begin, length, thickness = stats[:, along], stats[:, along + 2], stats[:, across + 2]
    pieces = [int(i) for i in np.nonzero((length >= RULE_LINK * zoom) & (thickness <= 0.3 * length))[0] if i and i not in found]
    if not found or not pieces:
        return []

    line: dict[int, tuple[float, float]] = {}

    def ends(i: int) -> tuple[float, float]:  # where the piece is across its direction, at its two ends
        if i not in line:
            x, y, w, h = stats[i, :4]
            piece = labels[y : y + h, x : x + w] == i
            piece = piece.T if vertical else piece
            rows = np.arange(piece.shape[0])
            line[i] = tuple(float(stats[i, across] + rows @ piece[:, k] / max(1, piece[:, k].sum())) for k in (0, -1))
        return line[i]

    chain: list[int] = []
    todo = [(i, (ends(i)[1] - ends(i)[0]) / max(1, length[i] - 1)) for i in found]
    while todo:
        i, slope = todo.pop()
        first, last = begin[i], begin[i] + length[i] - 1
        for j in list(pieces):
            after = begin[j] - last  # j begins this far beyond i's end, or ends this far before its start
            before = first - (begin[j] + length[j] - 1)
            if -RULE_THICKNESS * zoom <= after <= RULE_GAP * zoom:
                off = ends(j)[0] - (ends(i)[1] + slope * after)
            elif -RULE_THICKNESS * zoom <= before <= RULE_GAP * zoom:
                off = ends(j)[1] - (ends(i)[0] - slope * before)
            else:
                continue
            if abs(off) <= RULE_THICKNESS * zoom / 2:
                pieces.remove(j)
                chain.append(j)
                todo.append((j, slope))
    return chain


RULE_THICKNESS = 5  # working pixels at zoom 1: printed rules are thinner; digit strokes crossing them are not erased
RULE_FILL = 0.12  # a rule, or a net of them, fills less of its box than this (a notebook's rules: 4%)...
GRID_FILL = 0.35  # ...and a net over most of the frame less than this (a grid of 5 mm squares: 15-20%; cramped rules with a strip of desk: 25%)
RULE_COVER = 0.8  # share of a rule's length with ink on it (a notebook's rules: 0.9-1.0; stacked digits: 0.4-0.8)...
RULE_WANDER = 0.4  # ...or else its median distance from a fitted parabola at most, in working pixels at zoom 1
RULE_PIECE = 0.7  # a rule broken by the writing on it: pieces this share of rule_length are followed too...
RULE_LINK = 40  # ...and pieces at least this long (working pixels at zoom 1) that continue one...
RULE_GAP = 40  # ...across a gap of at most this many
RULE_FAMILY = 3  # rules found in one direction that make a printed family, whose fainter members are looked for...
RULE_ERASED = 0.5  # ...unless this share of a candidate's pixels was erased with a rule already
RULE_DASHES = 2.0  # thin dashes along one direction adding up to this many frame widths (or heights) may be pale rules...
RULE_DASHES_LEFT = 0.5  # ...and this many, left after a family's rules are erased, are its paler ones


def _erase_rule(mask: np.ndarray, original: np.ndarray, contrast: np.ndarray | None, level: float, labels: np.ndarray, label: int, box: Box, vertical: bool, zoom: int) -> bool:
    """Follow one long thin piece; if it runs straight (or gently curved), erase a band along it from
    the mask, except where a stroke crosses it (ink just beyond both edges of the band)."""
    x, y, w, h = box
    margin = (RULE_THICKNESS + 3) * zoom
    if vertical:
        lo, hi = max(0, x - margin), min(mask.shape[1], x + w + margin)
        window = (slice(y, y + h), slice(lo, hi))
    else:
        lo, hi = max(0, y - margin), min(mask.shape[0], y + h + margin)
        window = (slice(lo, hi), slice(x, x + w))
    turn = (lambda a: a.T) if vertical else (lambda a: a)  # rows across the rule
    darkness = None if contrast is None else turn(contrast[window])
    return _erase_along(turn(mask[window]), turn(original[window]), turn(labels[window] == label), zoom, darkness=darkness, level=level)


def _erase_along(region: np.ndarray, before: np.ndarray, piece: np.ndarray, zoom: int, split: bool = True, darkness: np.ndarray | None = None, level: float = 0.0) -> bool:
    """_erase_rule's work on one piece, `piece` its pixels in `region` (the mask there, rows across the
    rule), `before` the mask as it was before any rule was erased, `darkness` the contrast there and
    `level` the page's ink level (if measured); `split`: a hollow piece may be followed as two lines."""
    cv2 = require("cv2")
    rows = np.arange(piece.shape[0], dtype=np.float32)[:, None]
    counts = piece.sum(axis=0)
    inked = counts > 0
    columns = np.arange(piece.shape[1])
    across = np.ascontiguousarray(piece.T)  # argmax along contiguous rows: ten times faster
    top = np.argmax(across, axis=1)
    bottom = piece.shape[0] - 1 - np.argmax(across[:, ::-1], axis=1)
    thickness = bottom - top + 1
    # Two lines of a grid joined by the writing between them (a number across squared paper's lines)
    # make one piece, hollow across: ink far wider than it is thick. Each line is followed alone.
    hollow = inked & (thickness > counts + RULE_THICKNESS * zoom)
    if split and hollow.mean() > 0.5:
        middle = np.interp(columns, columns[hollow], (top + thickness / 2)[hollow])
        return any([_erase_along(region, before, piece & (rows < middle), zoom, False, darkness, level), _erase_along(region, before, piece & (rows >= middle), zoom, False, darkness, level)])
    if inked.mean() < 0.6:
        return False  # mostly gaps: a row of separate strokes, not a line
    # Where writing touches the rule, the ink across it is thicker than the rule: its centre is off
    # the rule there, for as long as a row of 0s sits on it. The rule is followed through its clean
    # columns only and drawn straight across the others.
    # (No thicker than a printed rule: where writing is small its strokes are as thin as a rule, and a
    # row of them bridged into one long piece is no rule however straight it runs.)
    clean = inked & (thickness <= min(np.median(thickness[inked]) + zoom, RULE_THICKNESS * zoom))
    if clean.sum() < 0.5 * inked.sum():
        return False
    centre = np.interp(columns, columns[clean], ((top + bottom) / 2)[clean]).astype(np.float32)
    # A running median follows a rule that bends with the page and ignores a stroke crossing it.
    line = cv2.medianBlur(centre.reshape(1, -1), 5).ravel() if len(centre) >= 5 else centre
    line = np.convolve(np.pad(line, 12, mode="edge"), np.ones(25) / 25, mode="valid")
    if np.median(np.abs(line - centre)[clean]) > zoom:
        return False  # a long wavy scribble, not a rule
    half = float(np.median(counts[inked])) / 2 + zoom
    masked = (piece & (before > 0)).sum(axis=0)
    if np.count_nonzero(masked) >= 0.2 * np.count_nonzero(inked):
        # No thicker than the rule is in the mask: one followed in a map of fainter ink is thicker there.
        half = min(half, float(np.median(masked[masked > 0])) / 2 + zoom)
    # Digits stacked in a column (a list of numbers on a cramped page) line up as a dashed line once
    # the gaps between the rows are bridged. A printed line has ink under nearly all of its length;
    # one with gaps of paper must then be straight, as a faint printed grid's is, and a column of
    # handwriting is not: it wanders off any smooth curve.
    if ((before > 0) & (np.abs(rows - line[None, :]) <= half + zoom)).any(axis=0).mean() < RULE_COVER:
        fit = np.polyval(np.polyfit(columns[clean], centre[clean], 2), columns[clean])
        if np.median(np.abs(fit - centre[clean])) > RULE_WANDER * zoom:
            return False
    # Where writing touches the rule, the band is narrowed to the rule itself: a stroke lying on a
    # rule as thick as itself (small writing) keeps its edge.
    band = np.abs(rows - line[None, :]) <= np.where(clean, half, half - zoom)[None, :]
    above, below = np.floor(line - half - zoom).astype(int), np.ceil(line + half + zoom).astype(int)
    inside = (above >= 0) & (below < piece.shape[0])  # at the frame's edge nothing can cross
    crossed = inside & (before[np.clip(above, 0, None), columns] > 0) & (before[np.clip(below, None, piece.shape[0] - 1), columns] > 0)
    # A blot or a loop's side lying on the rule is thicker than the rule over a short run of columns,
    # with ink beyond both edges of the band somewhere in the run (not always in one column): keep
    # it whole. A long run is writing sitting on the rule, which stays erased under it.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], (inked & ~clean).astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2]):
        if end - start > max(12 * zoom, 4 * half):
            continue
        ink, centre = before[:, start:end] > 0, line[None, start:end]
        if (ink & (rows < centre - half)).any() and (ink & (rows > centre + half)).any():
            crossed[start:end] = True
    erase = band & ~crossed[None, :]
    if darkness is not None:
        # The foot of a digit written on the rule lies along it, as thin as the rule where the writing
        # is small; but a pen is mostly darker than a printed rule: what is clearly darker than the
        # rule's own ink, and as dark as the page's writing, is writing and stays.
        rule = darkness[band & piece & clean[None, :]]
        if len(rule):
            erase &= darkness <= max(RULE_WRITING * np.percentile(rule, 90), WRITING_SHARE * level)
    region[erase] = 0
    return True


RULE_WRITING = 1.25  # writing lying on a rule is darker than this many times the rule's contrast (its 90th percentile)...
WRITING_SHARE = 0.9  # ...and than this share of the page's ink level


def piece_mask(ink: Ink, ids, box: Box) -> np.ndarray:
    """uint8 crop of `box` (working pixels) holding only the ink of pieces `ids` (so neighbours do not intrude)."""
    x, y, w, h = box
    crop = ink.labels[y : y + h, x : x + w]
    out = np.isin(crop, ids) if len(ids) > 1 else crop == ids[0]
    return out.astype(np.uint8) * 255


# Stroke widths as `width_at_40` measures them. MNIST's test digits: median 5.8 px, 5th-95th
# percentile 3.7-9.7. A crop of ink comes out of `mnist_style` about 0.8 times as wide as it went in,
# so inputs from 4.6 to 12 px come out as MNIST writes and are left alone; thinner and thicker ones
# are brought to 7.2 px (`scripts/bench_reader.py --stroke-stats` measures all of this).
STROKE_TARGET = 7.2
STROKE_RANGE = (4.6, 12.0)
WORK_SIDE = 40
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)  # what cv2 makes of a 3x3 cross or ellipse


def stroke_width(binary: np.ndarray, gray: np.ndarray | None = None) -> float:
    """Mean stroke width: twice the ink's area over its boundary pixels. With `gray` (the same crop
    before thresholding) the area is the ink's mass, exact under area interpolation, so a hairline
    shrunk to faint gray still measures true."""
    cv2 = require("cv2")
    area = cv2.countNonZero(binary)
    boundary = area - cv2.countNonZero(cv2.erode(binary, _CROSS))
    if gray is not None:
        area = float(gray.sum()) / 255.0
    return 2.0 * area / boundary if boundary else 0.0


def at_40(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A tight crop scaled to 40 px on its longer side, and its ink there as 0/255 (anything above
    a third of its peak: a hairline shrunk to faint gray still counts)."""
    cv2 = require("cv2")
    h, w = ink.shape
    scale = WORK_SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    work = cv2.resize(ink, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return work, cv2.threshold(work, max(8, int(work.max()) // 3), 255, cv2.THRESH_BINARY)[1]


def width_at_40(ink: np.ndarray) -> float:
    """The stroke width of a tight crop, measured with its longer side at 40 px."""
    work, binary = at_40(ink)
    return stroke_width(binary, work)


def mnist_style(ink: np.ndarray, normalize_stroke: bool = True) -> np.ndarray:
    """A tight white-on-black crop -> 28x28: longer side 20 px, centre of mass at the centre, MNIST's stroke width."""
    cv2 = require("cv2")
    if normalize_stroke:
        ink = _normalize_stroke(ink)
    h, w = ink.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(ink, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    moments = cv2.moments(small)
    if moments["m00"] > 0:
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    else:
        cx, cy = size[0] / 2, size[1] / 2
    shift = np.float32([[1, 0, 14 - cx], [0, 1, 14 - cy]])
    return cv2.warpAffine(small, shift, (28, 28), flags=cv2.INTER_LINEAR, borderValue=0)


def _normalize_stroke(ink: np.ndarray) -> np.ndarray:
    """A tight crop at 40 px on its longer side with its strokes brought into MNIST's range, tight again."""
    cv2 = require("cv2")
    work = normalize_stroke(at_40(ink)[0])
    x, y, w, h = cv2.boundingRect(work)
    return work[y : y + h, x : x + w] if w and h else ink


PAD = 4  # normalize_stroke's margin: a hairline grows by at most this much on each side


def normalize_stroke(work: np.ndarray) -> np.ndarray:
    """Gray ink already scaled so a digit is about 40 px tall, strokes thickened or thinned into MNIST's
    range. The result has a PAD px margin added on every side, whatever was done."""
    cv2 = require("cv2")
    binary = cv2.threshold(work, max(8, int(work.max()) // 3), 255, cv2.THRESH_BINARY)[1]
    width = stroke_width(binary, work)
    if width == 0 or STROKE_RANGE[0] <= width <= STROKE_RANGE[1]:
        return cv2.copyMakeBorder(work, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=0)
    if width < STROKE_RANGE[0]:
        # A hairline: solid first (it may be faint gray at this size), then grown a pixel a side at a
        # time (the width of a line one or two pixels wide cannot be measured, only grown past).
        work = cv2.copyMakeBorder(binary, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=0)
        for _ in range(PAD):
            work = cv2.dilate(work, _CROSS)
            if stroke_width(work) >= STROKE_TARGET - 2:
                break
        return work
    # Gray edges erode faster than solid ink: thin by a little less than the excess.
    k = int(round((width - STROKE_TARGET) / 2)) * 2 - 1
    work = cv2.erode(work, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    return cv2.copyMakeBorder(work, PAD, PAD, PAD, PAD, cv2.BORDER_CONSTANT, value=0)
