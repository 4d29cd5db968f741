"""From a frame to written lines of numbers of digits.

Find the ink and group its pieces into glyphs (preprocess), follow the glyphs into lines (layout)
and take the faint glyphs written on them, then let the classifier decide how each line is cut into
digits: every glyph whole, a glyph wider than a digit cut where its ink is thinnest (or evenly, for
overlapping loops), and glyphs broken apart joined, all classified in one batched call; per line,
the cutting that the classifier is most sure of wins, each extra cut paying a price so that a digit
is not cut in two for a small gain.
Marks too small to be digits, and glyphs the classifier does not take for digits, separate numbers.
"""
from __future__ import annotations

import math
import statistics
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from edge_mnist._deps import require
from edge_mnist.camera.layout import LayoutConfig, build_lines, extent, group_pieces, split_numbers, union_box
from edge_mnist.camera.preprocess import PAD, WORK_SIDE, Box, Ink, PreprocessConfig, find_ink, mnist_style, normalize_stroke, piece_mask, stroke_width, with_pieces
from edge_mnist.camera.sources import Frame
from edge_mnist.errors import ModelError
from edge_mnist.runtime import OutputKind, Predictor, Runtime

# A "1" touching its neighbour ("14", "31") makes a glyph only a little wider than one digit, which the
# classifier often reads as the neighbour alone: such glyphs are cut too, and a cut pays little more than
# the classifier's doubt (on the hard generator's seeds 7 and 11: +0.8-1.0 pp digit recall, +0.7-1.3 pp
# exact numbers, two to five extra digits in 200 frames; the real photos read the same).
SPLIT_COST = 0.2  # log-confidence a glyph must gain for each more digit it is cut into
MAX_CUTS = 4
SPLIT_WIDTH = 0.7  # glyphs wider than this many line heights may be two or more digits run together...
SURE = 0.97  # ...and are cut if the classifier is less sure than this of the whole (or they are wider than 1.25)
DESKEW = math.radians(4)  # glyphs are turned upright only by more than this
SMALL_WRITING = 24  # working pixels: digits shorter than this are read again at twice the size...
SMALL_ON_RULES = 28  # ...and on printed rules, shorter than this (a rule is as thick as their strokes)
UNDERLINE = 1.5  # line heights: a flat mark wider than this underlines digits (a dash is shorter than one)
CHUNK = 8  # classifier batch size
MAX_CROPS = 400  # classifier inputs per frame at most: a frame of noise costs bounded time


@dataclass(frozen=True)
class Digit:
    label: int
    confidence: float
    box: Box  # x, y, w, h in frame pixels


@dataclass(frozen=True)
class Number:
    digits: tuple[Digit, ...]

    @property
    def text(self) -> str:
        return "".join(str(d.label) for d in self.digits)


@dataclass(frozen=True)
class Line:
    numbers: tuple[Number, ...]

    @property
    def text(self) -> str:
        return " ".join(n.text for n in self.numbers)

    @property
    def digits(self) -> tuple[Digit, ...]:
        return tuple(d for n in self.numbers for d in n.digits)


@dataclass(frozen=True)
class FrameResult:
    index: int
    timestamp: float  # seconds since the epoch, when the frame was captured
    source: str  # the frame's file name, or the source it came from
    lines: tuple[Line, ...]  # top to bottom
    timings_ms: dict[str, float] = field(default_factory=dict)  # preprocess, infer, postprocess, total

    @property
    def digits(self) -> tuple[Digit, ...]:
        """Every digit in reading order."""
        return tuple(d for line in self.lines for d in line.digits)

    @property
    def text(self) -> str:
        """One line per written line, a space between numbers."""
        return "\n".join(line.text for line in self.lines)


# What `camera` and `read` use when no model is named, best first: the camera-trained CNN reads real
# handwriting best; the plain CNN, the small edge CNN and the MLP are MNIST-only.
CAMERA_MODELS = ("cnn-camera/cnn-camera.int8.tflite", "cnn/cnn.int8.tflite", "edge/edge.int8.tflite", "mlp/mlp.int8.tflite")


def default_model(artifacts: Path = Path("artifacts")) -> Path:
    """The best model present under `artifacts` (what `edge-mnist pipeline` writes)."""
    for name in CAMERA_MODELS:
        if (artifacts / name).is_file():
            return artifacts / name
    raise ModelError(f"no model given and none found in {artifacts}/ (looked for {', '.join(CAMERA_MODELS)}); run `edge-mnist pipeline` or pass --model")


def load_classifier(model, runtime: Runtime | None = None, threads: int | None = 1) -> Predictor:
    """The model as a Predictor, which refuses anything but an MNIST classifier (28x28 in, 10 scores
    or a class index out). The input scaling is read from an int8 model's quantization."""
    return Predictor(model, runtime=runtime, threads=threads, scaling=None)


def classify(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 10) probabilities, all crops of a frame in one batched call."""
    if len(images) == 0:
        return np.zeros((0, 10), np.float32)
    # Always batches of CHUNK, the last one padded: resizing the interpreter to each frame's crop count
    # re-plans its kernels (about 0.7 ms a time here), far more than a few blank images cost.
    padded = np.zeros((-(-len(images) // CHUNK) * CHUNK, 28, 28), np.uint8)
    padded[: len(images)] = images
    scores = np.concatenate([predictor.predict(padded[i : i + CHUNK]) for i in range(0, len(padded), CHUNK)])[: len(images)]
    if predictor.output_kind is not OutputKind.LOGITS:
        return scores  # every edge-mnist model ends in softmax
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))  # a foreign model's logits: confidences need probabilities
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass
class _Glyph:
    ids: list[int]  # labels of its pieces in the ink
    box: Box  # working pixels
    image: np.ndarray  # its ink upright (turned level with its line), at line scale, strokes normalised
    to_frame: np.ndarray  # 2x3 affine: pixel of `image` -> working pixel


@dataclass
class _Segment:
    glyph: int  # first glyph (index within the line)
    last: int  # last glyph: > glyph for glyphs joined
    columns: tuple[int, int] | None  # cut of one glyph's upright image, or None for whole glyphs
    crop: int  # row of its image in the frame's batch


@dataclass
class _Line:
    glyphs: list[_Glyph]  # left to right
    angle: float  # the writing's direction (radians, positive = falling)
    turn: float  # how far its glyphs were turned to stand upright
    height: float  # its digits' height, working pixels
    marks: list[Box]  # dots, dashes and commas on it (working pixels): they separate numbers
    segments: list[_Segment]  # what was classified


def _stack(crops: list) -> np.ndarray:
    return np.stack(crops) if crops else np.zeros((0, 28, 28), np.uint8)


def _upright(ink: Ink, ids: list[int], box: Box, angle: float) -> tuple[np.ndarray, np.ndarray]:
    image = piece_mask(ink, ids, box)
    offset = np.float32([[1, 0, box[0]], [0, 1, box[1]]])
    if abs(angle) < DESKEW:
        return image, offset
    cv2 = require("cv2")
    h, w = image.shape
    cos, sin = abs(math.cos(angle)), abs(math.sin(angle))
    size = (int(math.ceil(w * cos + h * sin)) + 2, int(math.ceil(w * sin + h * cos)) + 2)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), math.degrees(angle), 1.0)
    turn[:, 2] += (size[0] / 2 - w / 2, size[1] / 2 - h / 2)
    upright = cv2.warpAffine(image, turn, size, flags=cv2.INTER_NEAREST)
    back = cv2.invertAffineTransform(turn)
    return upright, offset @ np.vstack([back, [0, 0, 1]])


def _writing_height(lines: list[_Line]) -> float:
    """The digit height of the frame's writing (working pixels): the median over its glyphs of their line's, 0 if none."""
    heights = [line.height for line in lines for _ in line.glyphs]
    return float(statistics.median(heights)) if heights else 0.0


def _faint_writing(ink: Ink, lines: list[_Line]) -> list[int]:
    """Labels of the faint pieces (too light alone to tell from show-through or a shadow's edge) that
    make glyphs of a line's size written on that line: a digit in a thinner stroke, or a lighter one,
    beside darker writing. Each glyph taken may lead to the next, along the line."""
    written = [line for line in lines if line.glyphs]
    if not len(ink.faint) or not written:
        return []
    rows = [[g.box for g in line.glyphs] for line in written]
    # Only pieces that can be part of a glyph of some line's size are grouped (a frame of faint specks
    # would cost time for nothing), and at most MAX_FAINT of them, the largest.
    heights = [statistics.median(b[3] for b in row) for row in rows]
    _, _, _, w, h, area = ink.faint.T
    fits = np.nonzero((h >= 0.2 * min(heights)) & (h <= FAINT_TALL[1] * max(heights)) & (w <= FAINT_WIDE * max(heights)))[0]
    pieces = fits[np.argsort(-area[fits], kind="stable")[:MAX_FAINT]]
    groups = [[int(pieces[i]) for i in g] for g in group_pieces(ink.faint[pieces, 1:5])]
    candidates = [(union_box(ink.faint[g, 1:5]), g) for g in groups]
    candidates = [(box, g) for box, g in candidates if FAINT_TALL[0] * min(heights) <= box[3] <= FAINT_TALL[1] * max(heights)]
    taken: list[int] = []
    for _ in range(MAX_FAINT_STEPS):
        left = []
        for box, group in candidates:
            row = next((row for row, line in zip(rows, written) if _on_line(box, row, line.angle)), None)
            if row is None:
                left.append((box, group))
            else:
                row.append(box)
                taken += [int(ink.faint[i, 0]) for i in group]
        if len(left) == len(candidates):
            break
        candidates = left
    return taken


MAX_FAINT_STEPS = 4  # a faint number of four digits beside a dark one is followed to its end
MAX_FAINT = 200  # faint pieces looked at in a frame, at most
FAINT_REACH = 2.0  # digit heights from the line's nearest glyph that a faint glyph may be
FAINT_TALL = (0.6, 1.4)  # a faint glyph's height, in its line's digit heights...
FAINT_WIDE = 1.5  # ...and its width at most


def _on_line(box: Box, row: list[Box], angle: float) -> bool:
    """Whether `box` is a glyph of a line holding the glyphs `row`: as tall as they are, at most
    FAINT_REACH of their height beside the nearest, and centred on the line through it."""
    height = statistics.median(b[3] for b in row)
    x, y, w, h = box
    if not FAINT_TALL[0] * height <= h <= FAINT_TALL[1] * height or w > FAINT_WIDE * height:
        return False
    near = min(row, key=lambda b: max(b[0] - (x + w), x - (b[0] + b[2])))
    if max(near[0] - (x + w), x - (near[0] + near[2])) > FAINT_REACH * height:
        return False
    expected = near[1] + near[3] / 2 + math.tan(angle) * (x + w / 2 - near[0] - near[2] / 2)
    return abs(y + h / 2 - expected) <= 0.3 * height


def _split_across_lines(ink: Ink, boxes: list[Box], ids: list[list[int]], groups: list, min_height: int):
    """Glyphs two or more lines tall (a digit touching the one below it on a cramped page; digits of
    three rows joined through the small flags of 5s on a turned page) cut at their thinnest row, where
    other glyphs show two lines of writing, and each part again: each keeps the pieces' ink in its rows."""
    tall = [b[3] for b in boxes if b[3] >= min_height]
    if len(tall) < 3:
        return boxes, ids, groups
    typical = statistics.median(tall)
    out_boxes, out_ids, out_groups = [], [], []
    todo = list(zip(boxes, ids, groups))[::-1]
    while todo:
        box, glyph_ids, group = todo.pop()
        x, y, w, h = box
        cut = None
        if h > 1.7 * typical:
            rows = (piece_mask(ink, glyph_ids, box) > 0).sum(axis=1).astype(np.float32)
            middle = np.arange(int(0.3 * h), int(0.7 * h))
            row = int(middle[np.argmin(rows[middle])]) if len(middle) else 0
            if len(middle) and rows[row] <= 0.3 * rows.max() and _rows_of_writing(boxes, box, y + row, typical):
                cut = row
        if cut is None:
            out_boxes.append(box), out_ids.append(glyph_ids), out_groups.append(group)
            continue
        parts = []
        for part in ((x, y, w, cut), (x, y + cut, w, h - cut)):
            ys = np.nonzero((piece_mask(ink, glyph_ids, part) > 0).any(axis=1))[0]
            if len(ys):  # the part's own ink rows
                parts.append(((part[0], part[1] + int(ys[0]), part[2], int(ys[-1] - ys[0]) + 1), glyph_ids, group))
        todo += parts[::-1]
    return out_boxes, out_ids, out_groups


def _rows_of_writing(boxes: list[Box], box: Box, cut: int, typical: float) -> bool:
    """Whether glyphs of a typical height beside `box` sit both above and below the row `cut`."""
    x, y, w, h = box
    beside = [b for b in boxes if b is not box and 0.6 * typical <= b[3] <= 1.4 * typical and abs(b[0] + b[2] / 2 - (x + w / 2)) <= 4 * typical]
    above = any(b[1] + b[3] / 2 < cut and b[1] + b[3] > y for b in beside)
    below = any(b[1] + b[3] / 2 > cut and b[1] < y + h for b in beside)
    return above and below


def _blob(ink: Ink, ids: list[int], box: Box, area: int) -> bool:
    """A solid round mark (a big dot, a punched hole): its "stroke" is as wide as half its size, and it
    is convex. A digit, even from a fat marker that leaves little paper between its strokes, has bays."""
    cv2 = require("cv2")
    x, y, w, h = box
    if area < 0.65 * w * h or not 0.75 < w / h < 1.33:
        return False
    mask = piece_mask(ink, ids, box)
    if stroke_width(mask) <= 0.4 * min(w, h):
        return False
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    outer = [c for c, link in zip(contours, hierarchy[0]) if link[3] < 0]
    hull_area = cv2.contourArea(cv2.convexHull(np.concatenate(outer)))
    # A fat marker's 0 (or 6, 8, 9) leaves only a small hole in its loop, but a hole: a dot has none.
    holes = sum(cv2.contourArea(c) for c, link in zip(contours, hierarchy[0]) if link[3] >= 0)
    return area >= SOLID * hull_area and holes < HOLE * hull_area


SOLID = 0.95  # a dot fills its convex hull (a drawn disc: 1.0 and more, in pixels against the hull's polygon); a fat marker's 3, 4, 5 or 7 leaves bays, its 6 or 9 with the loop filled a stem (0.92)
HOLE = 0.02  # ...and has no hole this share of its hull or more (a fat marker's 0 keeps one of 7-12%)


def _tight(image: np.ndarray) -> np.ndarray | None:
    cv2 = require("cv2")
    x, y, w, h = cv2.boundingRect(image)
    return image[y : y + h, x : x + w] if w and h else None


def _at_line_scale(image: np.ndarray, to_working: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """The glyph scaled so its line's digits are WORK_SIDE px tall, strokes brought to MNIST's width once
    for all the ways it may be cut; and the affine from its pixels back to working pixels."""
    cv2 = require("cv2")
    scale = WORK_SIDE / height
    h, w = image.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    scaled = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    back = np.float32([[1 / scale, 0, -PAD / scale], [0, 1 / scale, -PAD / scale], [0, 0, 1]])
    return normalize_stroke(scaled), to_working @ back


def _sliver_after(line: _Line, i: int) -> bool:
    """Glyph i + 1 is a sliver (under half a digit wide) that nearly touches glyph i."""
    glyph, after = line.glyphs[i], line.glyphs[i + 1]
    gap = after.box[0] - (glyph.box[0] + glyph.box[2])
    return after.image.shape[1] - 2 * PAD < 0.5 * WORK_SIDE and gap <= 0.15 * line.height


def _joined_with_next(glyph: _Glyph, after: _Glyph) -> np.ndarray | None:
    """Both glyphs' images in glyph's own pixel grid (same line, same scale and turn: a shift apart),
    widened to the right for `after`; None if `after` does not start inside or right of glyph's image."""
    to_glyph = _invert(glyph.to_frame) @ np.vstack([after.to_frame, [0, 0, 1]])
    dx, dy = int(round(to_glyph[0, 2])), int(round(to_glyph[1, 2]))
    if dx < 0:
        return None
    h = max(glyph.image.shape[0], dy + after.image.shape[0]) - min(0, dy)
    w = max(glyph.image.shape[1], dx + after.image.shape[1])
    canvas = np.zeros((h, w), np.uint8)
    top = -min(0, dy)
    canvas[top : top + glyph.image.shape[0], : glyph.image.shape[1]] = glyph.image
    region = canvas[top + dy : top + dy + after.image.shape[0], dx : dx + after.image.shape[1]]
    np.maximum(region, after.image[: region.shape[0], : region.shape[1]], out=region)
    return canvas


def _invert(affine: np.ndarray) -> np.ndarray:
    cv2 = require("cv2")
    return np.vstack([cv2.invertAffineTransform(affine), [0, 0, 1]])[:2]


def _thin_places(image: np.ndarray, height: float) -> tuple[int, int, list[int]]:
    """The ink's first and last column, and up to MAX_CUTS columns where it is thinnest: where two
    digits that touch are joined."""
    inked = (image > 0).sum(axis=0).astype(np.float32)
    columns = np.nonzero(inked)[0]
    if len(columns) == 0:
        return 0, 0, []
    left, right = int(columns[0]), int(columns[-1]) + 1
    counts = np.convolve(inked, np.ones(3, np.float32) / 3, mode="same")
    inner = np.arange(int(left + 0.12 * height), int(right - 0.12 * height))
    minima = [int(c) for c in inner if counts[c] <= counts[c - 1] and counts[c] <= counts[c + 1] and counts[c] <= 0.5 * counts.max()]
    cuts: list[int] = []
    for c in sorted(minima, key=lambda c: counts[c]):
        if len(cuts) < MAX_CUTS and all(abs(c - d) >= 0.12 * height for d in cuts):
            cuts.append(c)
    return left, right, sorted(cuts)


class Recognizer:
    """Digits of a frame with one model; keeps state only for smoothing."""

    def __init__(
        self,
        predictor: Predictor,
        min_confidence: float = 0.5,
        smooth: int = 0,
        config: PreprocessConfig = PreprocessConfig(),
        layout: LayoutConfig = LayoutConfig(),
    ):
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be between 0 and 1, got {min_confidence}")
        self.predictor = predictor
        self.min_confidence = min_confidence
        self.config = config
        self.layout = layout
        self.smoother = Smoother(smooth) if smooth > 1 else None

    def recognize(self, frame: Frame) -> FrameResult:
        start = time.perf_counter_ns()
        ink = find_ink(frame.image, self.config)
        lines = self._lines(ink)
        if 0 < _writing_height(lines) < (SMALL_ON_RULES if ink.ruled else SMALL_WRITING):
            # Small writing (a far camera, a page of small numbers) has strokes as thin as the ruled
            # lines and the gaps between digits: read it again at twice the size, from the frame's own
            # pixels where it was downscaled. Only such frames pay for it.
            ink = find_ink(frame.image, self.config, zoom=2)
            lines = self._lines(ink)
        faint = _faint_writing(ink, lines)
        if faint:
            ink = with_pieces(ink, faint)
            lines = self._lines(ink)
        crops: list[np.ndarray] = []
        for line in lines:
            self._whole_segments(ink, line, crops)
        infer = -time.perf_counter_ns()
        scores = classify(self.predictor, _stack(crops))
        infer += time.perf_counter_ns()
        # A second look, at glyphs too wide for one digit that the classifier is unsure of (or that are
        # far too wide to be one): their cuts, in a second batch.
        first = len(crops)
        for line in lines:
            self._cut_segments(line, scores, crops)
        if len(crops) > first:
            infer -= time.perf_counter_ns()
            scores = np.concatenate([scores, classify(self.predictor, _stack(crops[first:]))])
            infer += time.perf_counter_ns()
        read = time.perf_counter_ns()
        result_lines = self._read_lines(ink, lines, scores)
        done = time.perf_counter_ns()
        timings = {
            "preprocess": (read - start - infer) / 1e6,
            "infer": infer / 1e6,
            "postprocess": (done - read) / 1e6,
            "total": (done - start) / 1e6,
        }
        return FrameResult(frame.index, frame.timestamp, frame.name, tuple(result_lines), {k: round(v, 3) for k, v in timings.items()})

    # -- what to classify ----------------------------------------------------------------------
    def _lines(self, ink: Ink) -> list[_Line]:
        groups = group_pieces(ink.boxes)
        boxes = [union_box(ink.boxes[g]) for g in groups]
        ids = [[int(ink.ids[i]) for i in g] for g in groups]
        min_height = self.layout.min_height * ink.zoom
        boxes, ids, groups = _split_across_lines(ink, boxes, ids, groups, min_height)
        digit_like = [b[3] >= min_height and not _blob(ink, ids[k], b, ink.areas[groups[k]].sum()) for k, b in enumerate(boxes)]
        tall = [k for k, ok in enumerate(digit_like) if ok]
        small = [boxes[k] for k, ok in enumerate(digit_like) if not ok]
        line_members, angles = build_lines([boxes[k] for k in tall], self.layout)
        typical = statistics.median(boxes[k][3] for k in tall) if tall else 0.0
        lines = []
        for members, angle in zip(line_members, angles):
            members = [tall[m] for m in members]
            if len(members) <= 2 and max(boxes[k][3] for k in members) < self.layout.mark_height * typical:
                small += [boxes[k] for k in members]  # a dash or a dot off its line's baseline, not a line of its own
                continue
            # A page held askew turns its digits with its lines; writing that climbs across a level page
            # does not. Turning by half the line's angle is never more than half wrong, and two glyphs
            # are no line to go by.
            turn = 0.5 * angle if len(members) >= 3 else 0.0
            uprights = [_upright(ink, ids[k], boxes[k], turn) for k in members]
            height = statistics.median(image.shape[0] for image, _ in uprights)
            line = _Line([], angle, turn, height, [], [])
            for k, (image, to_working) in zip(members, uprights):
                if image.shape[0] < self.layout.mark_height * height:
                    small.append(boxes[k])  # a mark: whether it separates numbers is decided with the others
                else:
                    line.glyphs.append(_Glyph(ids[k], boxes[k], *_at_line_scale(image, to_working, height)))
            lines.append(line)
        _assign_marks(small, lines)
        return lines

    def _add(self, line: _Line, crops: list, first: int, last: int, columns, image: np.ndarray) -> None:
        if len(crops) >= MAX_CROPS:
            return
        tight = _tight(image)
        if tight is not None:
            crops.append(mnist_style(tight, normalize_stroke=False))  # the glyph's strokes are normalised already
            line.segments.append(_Segment(first, last, columns, len(crops) - 1))

    def _whole_segments(self, ink: Ink, line: _Line, crops: list) -> None:
        glyphs = line.glyphs
        for i, glyph in enumerate(glyphs):
            self._add(line, crops, i, i, None, glyph.image)
            # A digit broken into side-by-side pieces (a faint joint, an open 4): try it joined with its
            # neighbours, where they nearly touch and one is too short or too thin to be a digit of this line.
            for j in range(i + 1, min(i + 3, len(glyphs))):
                joined_box = union_box([g.box for g in glyphs[i : j + 1]])
                gap = glyphs[j].box[0] - (glyphs[j - 1].box[0] + glyphs[j - 1].box[2])
                if gap > 0.15 * line.height or max(joined_box[2], joined_box[3]) > 1.3 * line.height or joined_box[2] > 1.0 * line.height:
                    break
                if all(g.image.shape[0] - 2 * PAD >= 0.8 * WORK_SIDE and g.image.shape[1] - 2 * PAD >= 0.3 * WORK_SIDE for g in glyphs[i : j + 1]):
                    continue
                joined_ids = [k for g in glyphs[i : j + 1] for k in g.ids]
                self._add(line, crops, i, j, None, _at_line_scale(*_upright(ink, joined_ids, joined_box, line.turn), line.height)[0])

    def _cut_segments(self, line: _Line, scores: np.ndarray, crops: list) -> None:
        whole = {s.glyph: float(scores[s.crop].max()) for s in line.segments if s.columns is None and s.last == s.glyph}
        for i, glyph in enumerate(line.glyphs):
            width = (glyph.image.shape[1] - 2 * PAD) / WORK_SIDE  # in digit heights
            if width <= SPLIT_WIDTH or (whole.get(i, 0.0) >= SURE and width <= 1.25):
                continue
            end = glyph.image.shape[1]
            left, right, thin = _thin_places(glyph.image, WORK_SIDE)
            # Where digits that touch are joined (their thin places), and even spacings for every digit
            # count the ink's width allows (loops that overlap, like a written 000, have no thin place).
            ink = right - left
            even = [round(left + ink * n / k) for k in range(max(2, math.ceil(ink / (1.05 * WORK_SIDE))), min(5, int(ink / (0.35 * WORK_SIDE))) + 1) for n in range(1, k)]
            positions = [0, end]
            for c in thin + even:  # the thin places first: an even spacing only where none is close
                if all(abs(c - d) >= 0.1 * WORK_SIDE for d in positions):
                    positions.append(c)
            positions.sort()
            edges = {0, end, *thin}
            # Any piece between two of them that is as wide as a digit can be; a narrow one (a 1) only
            # between thin places.
            pieces = {
                (a, b)
                for i, a in enumerate(positions)
                for b in positions[i + 1 :]
                if (a, b) != (0, end)
                and (0.3 * WORK_SIDE <= b - a <= 1.05 * WORK_SIDE + 2 * PAD or (0.12 * WORK_SIDE <= b - a < 0.3 * WORK_SIDE and a in edges and b in edges))
            }
            for a, b in sorted(pieces):
                self._add(line, crops, i, i, (a, b), np.ascontiguousarray(glyph.image[:, a:b]))
            # A loop drawn in two strokes, its second half a sliver of its own just after the glyph
            # ("(" + ")"): the glyph's last piece joined with the sliver, from every place it may begin.
            joined = _joined_with_next(glyph, line.glyphs[i + 1]) if i + 1 < len(line.glyphs) and _sliver_after(line, i) else None
            if joined is not None:
                for a in sorted({a for a, _ in pieces}):
                    if a and 0.3 * WORK_SIDE <= joined.shape[1] - a <= 1.05 * WORK_SIDE + 2 * PAD:
                        self._add(line, crops, i, i + 1, (a, None), np.ascontiguousarray(joined[:, a:]))

    # -- what was read -------------------------------------------------------------------------
    def _read_lines(self, ink: Ink, lines: list[_Line], scores: np.ndarray) -> list[Line]:
        sure = scores.max(axis=1).tolist() if len(scores) else []  # plain floats, once a frame: the cuttings look them up per segment
        chosen = [_best_cutting(line.glyphs, line.segments, sure) for line in lines]
        boxes = [[self._frame_box(ink, s, line.glyphs) for s in segments] for line, segments in zip(lines, chosen)]
        line_scores = [scores[[s.crop for s in segments]] if segments else np.zeros((0, 10), np.float32) for segments in chosen]
        if self.smoother is not None:
            flat_boxes = [b for bs in boxes for b in bs]
            flat = self.smoother.update(flat_boxes, np.concatenate(line_scores) if flat_boxes else np.zeros((0, 10), np.float32))
            sizes = np.cumsum([0] + [len(bs) for bs in boxes])
            line_scores = [flat[sizes[k] : sizes[k + 1]] for k in range(len(boxes))]
        result = []
        for line, segments, line_boxes, line_score in zip(lines, chosen, boxes, line_scores):
            along = np.array([math.cos(line.angle), math.sin(line.angle)], np.float32)
            digits, spans, separators = [], [], [extent(b, along) for b in line.marks]
            for segment, box, score in zip(segments, line_boxes, line_score):
                label, confidence = int(score.argmax()), float(score.max())
                span = _span(line, segment, along)
                if confidence >= self.min_confidence:
                    digits.append(Digit(label, round(confidence, 4), box))
                    spans.append(span)
                else:
                    separators.append(span)  # not a digit: a letter, a symbol, a blot
            numbers = split_numbers(spans, line.height, separators, self.layout)
            if digits:
                result.append(Line(tuple(Number(tuple(digits[i] for i in number)) for number in numbers)))
        return result

    def _frame_box(self, ink: Ink, segment: _Segment, glyphs: list[_Glyph]) -> Box:
        if segment.columns is None:
            box = union_box([g.box for g in glyphs[segment.glyph : segment.last + 1]])
            return _scaled(box, ink.scale)
        glyph = glyphs[segment.glyph]
        a, b = segment.columns
        if b is None:  # and the sliver after the glyph
            b = glyph.image.shape[1]
            head = self._frame_box(ink, _Segment(segment.glyph, segment.glyph, (a, b), segment.crop), glyphs)
            return union_box([head, _scaled(glyphs[segment.last].box, ink.scale)])
        part = glyph.image[:, a:b]
        ys = np.nonzero(part.any(axis=1))[0]
        top, bottom = (int(ys.min()), int(ys.max()) + 1) if len(ys) else (0, part.shape[0])
        corners = np.float32([[a, top, 1], [b, top, 1], [a, bottom, 1], [b, bottom, 1]]) @ glyph.to_frame.T
        x0, y0 = np.floor(corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
        return _scaled((int(x0), int(y0), int(x1 - x0), int(y1 - y0)), ink.scale)


def _span(line: _Line, segment: _Segment, along: np.ndarray) -> tuple[float, float]:
    """Where a digit's ink begins and ends along its line (working pixels), from the glyph's upright
    image: the box of a digit turned with the page is wider than the digit, and the gaps between
    numbers are judged on these spans."""
    lo, hi = math.inf, -math.inf
    for k, glyph in enumerate(line.glyphs[segment.glyph : segment.last + 1]):
        first, end = segment.columns if segment.columns is not None and k == 0 else (0, None)
        image = glyph.image[:, first:end]
        ys, xs = np.nonzero(image > 127)
        if len(xs) == 0:
            continue
        # along . (to_frame @ [x, y, 1]) for every ink pixel, in one linear form
        a, b, c = along @ glyph.to_frame
        projected = (xs + first) * a + ys * b
        lo, hi = min(lo, float(projected.min()) + c), max(hi, float(projected.max()) + c)
    if lo > hi:
        return extent(union_box([g.box for g in line.glyphs[segment.glyph : segment.last + 1]]), along)
    return lo, hi


def _scaled(box: Box, scale: float) -> Box:
    if scale == 1.0:
        return tuple(int(v) for v in box)
    x, y, w, h = box
    return int(x * scale), int(y * scale), max(1, int(round(w * scale))), max(1, int(round(h * scale)))


def _best_cutting(glyphs: list[_Glyph], segments: list[_Segment], sure: list[float]) -> list[_Segment]:
    """The segments that cover the line's glyphs once each with the highest total log-confidence
    (`sure`: the classifier's top confidence for each crop of the frame).

    Glyph g spans [g, g + 1) on a number line and a cut at column c of it sits at g + c / width, so a
    segment is an interval and the best cutting is a best path from 0 to the glyph count. Each piece
    more of a cut glyph pays SPLIT_COST.
    """

    def span(s: _Segment) -> tuple[float, float]:
        if s.columns is None:
            return float(s.glyph), float(s.last + 1)
        width = glyphs[s.glyph].image.shape[1]
        if s.columns[1] is None:  # the glyph's last piece and the sliver after it
            return s.glyph + s.columns[0] / width, float(s.last + 1)
        return s.glyph + s.columns[0] / width, s.glyph + s.columns[1] / width

    by_end: dict[float, list[tuple[float, _Segment]]] = {}
    for s in segments:
        begin, end = span(s)
        by_end.setdefault(end, []).append((begin, s))
    best: dict[float, tuple[float, _Segment | None]] = {0.0: (0.0, None)}
    for end in sorted(by_end):
        options = []
        for begin, s in by_end[end]:
            if begin in best:
                # A piece that ends inside its glyph makes one more digit of it: that is what costs.
                inside = s.columns is not None and s.columns[1] is not None and s.columns[1] < glyphs[s.glyph].image.shape[1]
                gain = math.log(max(sure[s.crop], 1e-6)) - (SPLIT_COST if inside else 0.0)
                if s.columns is None and s.last == s.glyph:
                    # A whole glyph wider than a digit pays for the digits it would hide: a row of
                    # loops drawn in one stroke (000) is not one unsure digit.
                    gain -= SPLIT_COST * max(0.0, (glyphs[s.glyph].image.shape[1] - 2 * PAD) / WORK_SIDE - 1.0)
                options.append((best[begin][0] + gain, s))
        if options:
            best[end] = max(options, key=lambda o: o[0])
    position, chosen = float(len(glyphs)), []
    if position not in best:
        return []
    while position > 0:
        s = best[position][1]
        chosen.append(s)
        position = span(s)[0]
    return chosen[::-1]


def _assign_marks(small: list[Box], lines: list[_Line]) -> None:
    """Put each small mark that separates numbers with the line it lies on: a dash (wide, in the line's
    band) or a period or comma (on or below the baseline). A speck at mid-height is neither."""
    for box in small:
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        for line in lines:
            if not line.glyphs:
                continue
            x0 = min(g.box[0] for g in line.glyphs)
            x1 = max(g.box[0] + g.box[2] for g in line.glyphs)
            if not x0 < cx < x1:
                continue
            centres = np.array([[g.box[0] + g.box[2] / 2, g.box[1] + g.box[3] / 2] for g in line.glyphs])
            nearest = centres[np.argmin(np.abs(centres[:, 0] - cx))]
            below = cy - (nearest[1] + math.tan(line.angle) * (cx - nearest[0]))  # from the line's centre, down
            if abs(below) > 0.7 * line.height:
                continue
            if box[2] > UNDERLINE * line.height:
                break  # a line under (or over) the number, not a dash between two
            if box[2] >= 1.5 * box[3] or below >= 0.2 * line.height:
                line.marks.append(box)
            break


class Smoother:
    """Steady labels: average each region's scores over its last few frames.

    A region is the same region in the next frame when their boxes overlap the most (IoU >= 0.3);
    a region missing from a frame is forgotten.
    """

    def __init__(self, window: int):
        self.window = window
        self._tracks: list[tuple[Box, deque]] = []

    def update(self, boxes: list[Box], scores: np.ndarray) -> np.ndarray:
        tracks, smoothed = [], np.empty_like(scores)
        free = list(self._tracks)
        for i, box in enumerate(boxes):
            best = max(free, key=lambda t: _iou(t[0], box), default=None)
            history = best[1] if best is not None and _iou(best[0], box) >= 0.3 else deque(maxlen=self.window)
            if best is not None and history is best[1]:
                free.remove(best)
            history.append(scores[i])
            smoothed[i] = np.mean(history, axis=0)
            tracks.append((box, history))
        self._tracks = tracks
        return smoothed


def _iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def recognize_frames(recognizer: Recognizer, frames: Iterable[Frame]) -> Iterator[FrameResult]:
    """Stream results; holds no frame longer than it takes to classify it (safe for endless sources)."""
    for frame in frames:
        yield recognizer.recognize(frame)


def read_source(
    model, source: str, min_confidence: float = 0.5, smooth: int = 0, max_frames: int | None = None, config: PreprocessConfig = PreprocessConfig()
) -> list[FrameResult]:
    """In-process entry point: every frame of `source` (video, image, folder, camera) read with `model`."""
    from edge_mnist.camera.sources import open_source

    recognizer = Recognizer(load_classifier(model), min_confidence=min_confidence, smooth=smooth, config=config)
    with open_source(source, max_frames=max_frames) as frames:
        return list(recognize_frames(recognizer, frames))
