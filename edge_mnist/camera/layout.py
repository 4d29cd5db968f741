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
    # A line drawn under (or over) a number is shorter than its digits but wider than one and a half of
    # their heights (a digit's flag or a broken-off stroke is narrower), and belongs to none of them.
    width_short = np.where(h[:, None] <= h[None, :], w[:, None], w[None, :])
    join = (
        (overlap_x >= 0.4 * narrow)
        & (overlap_y >= -0.35 * tall)  # close vertically
        # one clearly smaller (a flag, a fragment), or stacked with little side-by-side overlap
        & ((short < 0.5 * tall) | (overlap_y <= 0.3 * short))
        & ((union_h <= 1.5 * tall) | (short < 0.3 * tall))
        & (width_short <= 1.5 * tall)
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
    direction from each glyph to its nearest neighbour of a similar size, where at least two agree
    to say so."""
    if len(boxes) < 2:
        return 0.0
    b = np.asarray(boxes, np.float32)
    centres = b[:, :2] + b[:, 2:] / 2
    heights = b[:, 3]
    steps = centres[None, :, :] - centres[:, None, :]  # [i, j]: from glyph i to glyph j
    distance = np.hypot(steps[..., 0], steps[..., 1])
    ratio = heights[None, :] / heights[:, None]
    near = (ratio >= 0.6) & (ratio <= 1.67) & (distance <= 1.8 * np.maximum(heights[None, :], heights[:, None]))
    np.fill_diagonal(near, False)
    distance = np.where(near, distance, np.inf)
    nearest = distance.argmin(axis=1)
    found = np.isfinite(distance[np.arange(len(b)), nearest])
    step = steps[np.arange(len(b)), nearest][found]
    angles = np.arctan2(step[:, 1], step[:, 0])
    angles = np.where(angles > np.pi / 2, angles - np.pi, np.where(angles <= -np.pi / 2, angles + np.pi, angles))
    angles = angles[np.abs(angles) <= math.radians(50)]
    # One pair of neighbours is no direction (a digit above and beside another, on different lines).
    return float(np.median(angles)) if len(angles) >= 2 else 0.0


def build_lines(boxes: list[Box], config: LayoutConfig = LayoutConfig()) -> tuple[list[list[int]], list[float]]:
    """Glyph indices per line, each line left to right, lines top to bottom; and each line's angle."""
    if not boxes:
        return [], []
    theta = writing_angle(boxes, config)
    start = (math.cos(theta), math.sin(theta))
    centres = [(b[0] + b[2] / 2, b[1] + b[3] / 2) for b in boxes]  # plain floats: numpy is slow on pairs
    lines: list[list[int]] = []
    directions: list[tuple[float, float]] = []
    last_full: list[int] = []  # each line's last full-size glyph: its last piece may be a broken digit's half
    for i in sorted(range(len(boxes)), key=lambda k: centres[k][0] * start[0] + centres[k][1] * start[1]):
        best, best_cost = None, math.inf
        for k, line in enumerate(lines):
            j = last_full[k]
            size = max(boxes[i][3], boxes[j][3])
            if min(boxes[i][3], boxes[j][3]) < 0.5 * size:
                continue
            vx, vy = centres[i][0] - centres[j][0], centres[i][1] - centres[j][1]
            dx, dy = directions[k]
            along = vx * dx + vy * dy
            across = abs(vx * dy - vy * dx)
            if not -0.3 * size <= along <= config.max_link * size:
                continue
            if across > config.max_offset * size and not _side_by_side(boxes[i], boxes[j], directions[k]):
                continue
            cost = across / size + 0.1 * along / size
            if cost < best_cost:
                best, best_cost = k, cost
        if best is None:
            lines.append([i])
            directions.append(start)
            last_full.append(i)
            continue
        line = lines[best]
        sx, sy = centres[i][0] - centres[line[-1]][0], centres[i][1] - centres[line[-1]][1]
        norm = math.hypot(sx, sy)
        if norm > 0.5 * boxes[i][3]:
            # Follow the line as it bends (an arc, a page curling), but slowly: one glyph set off by a
            # descender or a sloppy baseline must not turn the line.
            bx, by = 0.5 * directions[best][0] + 0.5 * sx / norm, 0.5 * directions[best][1] + 0.5 * sy / norm
            directions[best] = (bx / math.hypot(bx, by), by / math.hypot(bx, by))
        line.append(i)
        tallest = max(boxes[m][3] for m in line[-3:])
        last_full[best] = next(m for m in reversed(line) if boxes[m][3] >= 0.6 * tallest)
    normal = (-math.sin(theta), math.cos(theta))
    order = sorted(range(len(lines)), key=lambda k: statistics.fmean(centres[i][0] * normal[0] + centres[i][1] * normal[1] for i in lines[k]))
    angles = [_line_angle([centres[i] for i in lines[k]], theta) for k in order]
    return [lines[k] for k in order], angles


def _side_by_side(a: Box, b: Box, direction: tuple[float, float]) -> bool:
    """Whether the smaller glyph lies mostly within the other's band across the line: a small 0 written
    high beside a 4 whose tail hangs low is on the same line, though their centres are far apart."""
    normal = (-direction[1], direction[0])
    (a0, a1), (b0, b1) = extent(a, normal), extent(b, normal)
    return min(a1, b1) - max(a0, b0) >= 0.6 * min(a1 - a0, b1 - b0)


def _line_angle(centres: list[tuple[float, float]], default: float) -> float:
    """The least-squares slope through the glyphs' centres, as an angle."""
    if len(centres) < 2:
        return default
    mx, my = statistics.fmean(c[0] for c in centres), statistics.fmean(c[1] for c in centres)
    sxx = sum((c[0] - mx) ** 2 for c in centres)
    if sxx < 1e-6:
        return default
    return math.atan(sum((c[0] - mx) * (c[1] - my) for c in centres) / sxx)


def extent(box: Box, direction) -> tuple[float, float]:
    """The box's span along `direction` (its corners projected). Plain floats: called for every pair
    of glyphs that may share a line, numpy's per-call cost would be most of it."""
    x, y, w, h = box
    dx, dy = float(direction[0]), float(direction[1])
    start, across, down = x * dx + y * dy, w * dx, h * dy
    return start + min(0.0, across) + min(0.0, down), start + max(0.0, across) + max(0.0, down)


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
