"""How the writer laid the ink out: pieces into glyphs, glyphs into lines, digits into numbers.

Pure geometry on boxes; no pixels and no model. Lines are followed from glyph to glyph along the
writing's own direction, so slanted lines, lines on an arc and lines of different lengths hold
together; numbers are split where the gap is large for the line's digit height, or where a mark
that is not a digit (a dash, a dot) stands between two digits.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from edge_mnist.camera.preprocess import Box


@dataclass(frozen=True)
class LayoutConfig:
    min_height: int = 12  # working pixels; shorter glyphs are marks (dots, dashes) or noise, never digits
    max_link: float = 5.0  # centre-to-centre distance, in digit heights, that still joins two glyphs into a line
    max_offset: float = 0.45  # how far off the line's direction (in digit heights) the next glyph may sit
    mark_height: float = 0.5  # a glyph shorter than this share of its line's digit height is a mark
    usual_gap: float = 0.35  # the gap between digits of one number, in digit heights, before a line shows its own
    relative_gap: float = 2.5  # a gap this many times the line's usual gap separates numbers...
    min_number_gap: float = 0.4  # ...if it is at least this many digit heights
    number_gap: float = 3.0  # a gap wider than this many digit heights always does


def group_pieces(boxes: np.ndarray) -> list[list[int]]:
    """Indices of pieces that make one glyph: pieces stacked one over the other (a 5's flag, a stroke broken
    by a faint spot) join; pieces side by side stay apart (they are separate digits, or a split decides)."""
    n = len(boxes)
    if n == 0:
        return []
    x0, y0, w, h = (boxes[:, i].astype(np.float32) for i in range(4))
    x1, y1 = x0 + w, y0 + h
    overlap_x = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    overlap_y = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    narrow = np.minimum(w[:, None], w[None, :])
    short, tall = np.minimum(h[:, None], h[None, :]), np.maximum(h[:, None], h[None, :])
    union_h = np.maximum(y1[:, None], y1[None, :]) - np.minimum(y0[:, None], y0[None, :])
    join = (
        (overlap_x >= 0.4 * narrow)
        & (overlap_y >= -0.35 * tall)  # close vertically
        # one clearly smaller (a flag, a fragment), or stacked with little side-by-side overlap
        & ((short < 0.5 * tall) | (overlap_y <= 0.3 * short))
        & ((union_h <= 1.5 * tall) | (short < 0.3 * tall))
    )
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(join, 1))):
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def union_box(boxes) -> Box:
    x0, y0 = min(int(b[0]) for b in boxes), min(int(b[1]) for b in boxes)
    x1, y1 = max(int(b[0] + b[2]) for b in boxes), max(int(b[1] + b[3]) for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _centre(box: Box) -> np.ndarray:
    return np.array([box[0] + box[2] / 2, box[1] + box[3] / 2], np.float32)


def writing_angle(boxes: list[Box], config: LayoutConfig = LayoutConfig()) -> float:
    """The writing's dominant direction (radians, 0 = left to right, positive = falling): the median
    direction from each glyph to its nearest neighbour of a similar size."""
    angles = []
    centres = [_centre(b) for b in boxes]
    for i, (a, ca) in enumerate(zip(boxes, centres)):
        best, best_d = None, math.inf
        for j, (b, cb) in enumerate(zip(boxes, centres)):
            if i == j or not 0.6 <= b[3] / a[3] <= 1.67:
                continue
            d = float(np.hypot(*(cb - ca)))
            if d < best_d and d <= 2.5 * max(a[3], b[3]):
                best, best_d = cb - ca, d
        if best is not None:
            angle = math.atan2(best[1], best[0])
            angle = angle - math.pi if angle > math.pi / 2 else angle + math.pi if angle <= -math.pi / 2 else angle
            if abs(angle) <= math.radians(50):
                angles.append(angle)
    return statistics.median(angles) if angles else 0.0


def build_lines(boxes: list[Box], config: LayoutConfig = LayoutConfig()) -> tuple[list[list[int]], list[float]]:
    """Glyph indices per line, each line left to right, lines top to bottom; and each line's angle."""
    if not boxes:
        return [], []
    theta = writing_angle(boxes, config)
    start = np.array([math.cos(theta), math.sin(theta)], np.float32)
    centres = [_centre(b) for b in boxes]
    along_theta = [float(c @ start) for c in centres]
    lines: list[list[int]] = []
    directions: list[np.ndarray] = []
    for i in sorted(range(len(boxes)), key=lambda k: along_theta[k]):
        best, best_cost = None, math.inf
        for k, line in enumerate(lines):
            j = line[-1]
            size = max(boxes[i][3], boxes[j][3])
            if min(boxes[i][3], boxes[j][3]) < 0.5 * size:
                continue
            v = centres[i] - centres[j]
            d = directions[k]
            along = float(v @ d)
            across = abs(float(v[0] * d[1] - v[1] * d[0]))
            if not -0.3 * size <= along <= config.max_link * size or across > config.max_offset * size:
                continue
            cost = across / size + 0.1 * along / size
            if cost < best_cost:
                best, best_cost = k, cost
        if best is None:
            lines.append([i])
            directions.append(start.copy())
            continue
        line = lines[best]
        step = centres[i] - centres[line[-1]]
        norm = float(np.hypot(*step))
        if norm > 0.5 * boxes[i][3]:
            # Follow the line as it bends (an arc, a page curling), but slowly: one glyph set off by a
            # descender or a sloppy baseline must not turn the line.
            blended = 0.5 * directions[best] + 0.5 * step / norm
            directions[best] = blended / np.hypot(*blended)
        line.append(i)
    normal = np.array([-math.sin(theta), math.cos(theta)], np.float32)
    order = sorted(range(len(lines)), key=lambda k: statistics.fmean(float(centres[i] @ normal) for i in lines[k]))
    angles = [_line_angle([centres[i] for i in lines[k]], theta) for k in order]
    return [lines[k] for k in order], angles


def _line_angle(centres: list[np.ndarray], default: float) -> float:
    if len(centres) < 2:
        return default
    points = np.array(centres)
    spread = points[-1] - points[0]
    if abs(spread[0]) < 1e-3:
        return default
    slope = np.polyfit(points[:, 0], points[:, 1], 1)[0] if len(points) > 2 else spread[1] / spread[0]
    return float(math.atan(slope))


def extent(box: Box, direction: np.ndarray) -> tuple[float, float]:
    """The box's span along `direction` (its corners projected)."""
    x, y, w, h = box
    corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], np.float32) @ direction
    return float(corners.min()), float(corners.max())


def split_numbers(spans: list[tuple[float, float]], height: float, separators: list[tuple[float, float]], config: LayoutConfig = LayoutConfig()) -> list[list[int]]:
    """Indices of the line's digits grouped into numbers, from each digit's span along the line
    (in reading order, as `extent` gives them), the line's digit height, and the spans of the
    separators on it.

    Writers space their digits differently, so a number ends where a gap is wide *for this line*:
    `relative_gap` times the line's usual gap (the median of its other gaps and of one prior gap of
    `usual_gap` heights, so that a line of two digits is judged by the prior) and at least
    `min_number_gap` heights; evenly spaced digits are one number however far apart, up to
    `number_gap` heights. A separator (a dash, a dot, a glyph that is not a digit) between two digits
    also ends a number.
    """
    if not spans:
        return []
    gaps = [spans[i + 1][0] - spans[i][1] for i in range(len(spans) - 1)]
    numbers, current = [], [0]
    for i, gap in enumerate(gaps):
        usual = statistics.median([g for k, g in enumerate(gaps) if k != i] + [config.usual_gap * height])
        wide = gap > config.number_gap * height or (gap > config.min_number_gap * height and gap > config.relative_gap * max(usual, 0.1 * height))
        centre_left, centre_right = sum(spans[i]) / 2, sum(spans[i + 1]) / 2
        separated = any(centre_left < (m[0] + m[1]) / 2 < centre_right for m in separators)
        if wide or separated:
            numbers.append(current)
            current = []
        current.append(i + 1)
    numbers.append(current)
    return numbers
