"""Photos of handwritten numbers, made from MNIST *test* digits: the reader's seeded test bench.

Each frame holds lines of numbers of 1-4 digits, written as people write them: each MNIST digit is
thinned to its skeleton and redrawn with the frame's pen (hairline to marker), 20 px to half the
frame tall, neighbours sometimes touching or overlapping, a slight wobble per digit. Numbers are set
apart by a wider gap, a dash or a comma. The page is white, grey, yellow or ruled (with a margin), or squared where asked for,
maybe spiral-bound, with a stray dot or two; the photo is turned (up to 15 degrees) and put in
perspective, lit unevenly with a hard shadow, maybe a thumb at the edge, blurred, noisy and saved as
JPEG. Labels keep the lines, the numbers and each digit's box, label and test-split index.
Everything comes from one seeded generator, so a seed names a data set exactly, and training
digits are never used: reading these frames says nothing about digits the model has seen.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.camera.evaluate import TextScore, score_text
from edge_mnist.data import Mnist
from edge_mnist.errors import SourceError
from edge_mnist.files import write_atomic

WIDTH, HEIGHT = 640, 480
MARGIN = 24  # digits stay this far inside the frame
LABELS_FILE = "labels.json"
VIDEO_NAME = "digits.avi"
VIDEO_FOURCC = "MJPG"  # this OpenCV build both writes and reads Motion-JPEG in AVI
PAPERS = ("white", "grey", "yellow", "ruled")  # the hard set's; "squared" is asked for by name


@dataclass(frozen=True)
class Truth:
    label: int
    box: tuple[int, int, int, int]  # x, y, w, h of the digit's ink in the frame
    index: int  # the digit's index in the MNIST test split


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # (480, 640, 3) uint8 BGR
    lines: tuple[tuple[tuple[Truth, ...], ...], ...]  # lines of numbers of digits, in reading order

    @property
    def truths(self) -> tuple[Truth, ...]:
        return tuple(t for line in self.lines for number in line for t in number)

    @property
    def text(self) -> str:
        return "\n".join(" ".join("".join(str(t.label) for t in number) for number in line) for line in self.lines)


def render_scene(rng: np.random.Generator, mnist: Mnist, digits: int, papers: tuple[str, ...] = PAPERS) -> Scene:
    """One frame with about `digits` test digits (fewer when the frame's size of writing cannot fit them)."""
    for _ in range(20):
        scene = _try_scene(rng, mnist, digits, papers)
        if scene is not None:
            return scene
    raise RuntimeError("no layout fitted in 20 tries")  # never seen: the last tries use small writing


def _try_scene(rng, mnist: Mnist, digits: int, papers: tuple[str, ...]) -> Scene | None:
    cv2 = require("cv2")
    height = float(np.exp(rng.uniform(np.log(20), np.log(HEIGHT / 2))))  # the writer's digit height, log-uniform
    paper = str(rng.choice(papers))
    page, spacing = _paper(rng, paper, height)
    ink = np.zeros((HEIGHT, WIDTH), np.float32)  # how much ink covers each page pixel
    pen = max(1.0, height * float(np.exp(rng.uniform(np.log(1 / 40), np.log(1 / 6)))))  # hairline to marker
    left = MARGIN + (int(0.18 * WIDTH) if paper == "ruled" else 0) + int(rng.integers(0, 40))
    lines = []
    y, placed = MARGIN + height * rng.uniform(0.2, 1.0), 0
    while placed < digits and y + height < HEIGHT - MARGIN:
        line, x = [], left + rng.uniform(0, 2 * height)
        while placed < digits:
            size = min(int(rng.integers(1, 5)), digits - placed)
            picks = [int(i) for i in rng.integers(len(mnist.x_test), size=size)]
            number, x_end = _write_number(rng, mnist, ink, x, y, height, pen, picks, rng.uniform(-0.15, 0.35))
            if number is None:
                break
            line.append(number)
            placed += len(number)
            x = x_end + _separate(rng, ink, x_end, y, height, pen, str(rng.choice(["gap", "dash", "comma"], p=[0.6, 0.25, 0.15])))
            if rng.random() < 0.3:
                break  # lines of different lengths
        if line:
            lines.append(line)
        y += spacing * np.ceil(1.25 * height / spacing) if paper == "ruled" else height * rng.uniform(1.3, 1.8)
    if placed == 0 or (placed < digits and height > 40):
        return None
    if rng.random() < 0.4:  # a stray dot on the page, away from the writing
        for _ in range(10):
            spot = (int(rng.integers(MARGIN, WIDTH - MARGIN)), int(rng.integers(MARGIN, HEIGHT - MARGIN)))
            if ink[max(0, spot[1] - int(height)) : spot[1] + int(height), max(0, spot[0] - int(height)) : spot[0] + int(height)].max() == 0:
                cv2.circle(ink, spot, max(1, int(pen * rng.uniform(0.6, 1.2))), 1.0, -1, cv2.LINE_AA)
                break
    colour = _ink_colour(rng)
    page = page * (1 - ink[..., None]) + colour * ink[..., None]
    image, matrix = _photograph(rng, page, writing=ink)
    warped = tuple(tuple(tuple(Truth(t.label, _warp_box(t.box, matrix, cv2), t.index) for t in number) for number in line) for line in lines)
    if any(not _inside(t.box) for line in warped for number in line for t in number):
        return None
    return Scene(image, warped)


def _paper(rng, kind: str, height: float, holes: bool = True):
    """The page (float32 BGR, HEIGHT x WIDTH) and the spacing of its ruled lines."""
    cv2 = require("cv2")
    base = {"white": (240, 240, 240), "grey": (195, 195, 200), "yellow": (150, 225, 240), "ruled": (235, 235, 230), "squared": (240, 240, 240), "notebook": (235, 235, 230)}[kind]
    tone = np.float32(base) * rng.uniform(0.85, 1.05)
    fibres = cv2.GaussianBlur(rng.normal(0, 4, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 1.0)
    page = np.clip(tone + fibres[..., None], 0, 255)
    spacing = height * rng.uniform(1.3, 1.6)
    if kind == "ruled":
        blue = np.float32([200, 160, 120]) * rng.uniform(0.8, 1.0)
        offset = rng.uniform(0, spacing)
        for y in np.arange(offset, HEIGHT + spacing, spacing):
            cv2.line(page, (0, int(y + 0.6 * height)), (WIDTH - 1, int(y + 0.6 * height)), blue.tolist(), 1 + int(rng.random() < 0.4), cv2.LINE_AA)
        margin = int(0.15 * WIDTH)
        cv2.line(page, (margin, 0), (margin, HEIGHT - 1), [130, 130, 220], 2, cv2.LINE_AA)
    if kind == "squared":  # a school maths book: a square or two to a digit
        blue = np.float32([200, 170, 130]) * rng.uniform(0.8, 1.0)
        step = max(8.0, height * rng.uniform(0.5, 1.1))
        for at in np.arange(rng.uniform(0, step), max(HEIGHT, WIDTH), step):
            cv2.line(page, (0, int(at)), (WIDTH - 1, int(at)), blue.tolist(), 1, cv2.LINE_AA)
            cv2.line(page, (int(at), 0), (int(at), HEIGHT - 1), blue.tolist(), 1, cv2.LINE_AA)
    if holes and rng.random() < 0.25:  # spiral-bound: a column of punched holes down the left edge
        for y in range(int(rng.integers(10, 30)), HEIGHT, int(rng.integers(26, 36))):
            cv2.circle(page, (int(rng.integers(8, 14)), y), int(rng.integers(4, 7)), [40, 40, 40], -1, cv2.LINE_AA)
    return page, spacing


def _ink_colour(rng) -> np.ndarray:
    kind = rng.choice(["black", "blue", "pencil"], p=[0.45, 0.35, 0.2])
    if kind == "black":
        return np.float32([rng.uniform(10, 50)] * 3)
    if kind == "blue":
        return np.float32([rng.uniform(110, 170), rng.uniform(30, 70), rng.uniform(20, 50)])
    return np.float32([rng.uniform(80, 120)] * 3)  # pencil: gray, lighter


def _write_number(rng, mnist: Mnist, ink, x: float, y: float, height: float, pen: float, picks: list[int], spacing: float):
    """Write the test digits `picks` from (x, y) (the top of the line), `spacing` digit heights apart
    (below zero they touch), if they all fit; returns their truths and where the number ends, or
    (None, x) and nothing written."""
    cv2 = require("cv2")
    placed, cursor = [], x
    for index in picks:
        stroke = _restroke(mnist.x_test[index], height * rng.uniform(0.9, 1.1), pen * rng.uniform(0.9, 1.1), rng, cv2)
        top = int(round(y + height * rng.uniform(-0.06, 0.06) + (height - stroke.shape[0]) / 2))
        left = int(round(cursor))
        if left + stroke.shape[1] > WIDTH - MARGIN or top < MARGIN or top + stroke.shape[0] > HEIGHT - MARGIN:
            return None, x
        placed.append((index, stroke, left, top))
        cursor = left + stroke.shape[1] + (spacing + rng.uniform(-0.05, 0.05)) * height
    truths = []
    for index, stroke, left, top in placed:
        region = ink[top : top + stroke.shape[0], left : left + stroke.shape[1]]
        np.maximum(region, stroke, out=region)
        ys, xs = np.nonzero(stroke > 0.5)
        truths.append(Truth(int(mnist.y_test[index]), (left + int(xs.min()), top + int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1), index))
    return tuple(truths), truths[-1].box[0] + truths[-1].box[2]


def _separate(rng, ink, x_end: float, y: float, height: float, pen: float, kind: str) -> float:
    """The space after a number: a wide gap, or a dash or a comma between narrower ones."""
    cv2 = require("cv2")
    if kind == "gap":
        return height * rng.uniform(1.2, 2.5)
    before = height * rng.uniform(0.25, 0.45)
    if kind == "dash":
        length = height * rng.uniform(0.25, 0.45)
        mid = int(y + height * rng.uniform(0.45, 0.6))
        start = (int(x_end + before), mid)
        cv2.line(ink, start, (int(start[0] + length), mid + int(rng.integers(-2, 3))), 1.0, max(1, int(round(pen))), cv2.LINE_AA)
        return before + length + height * rng.uniform(0.25, 0.45)
    centre = (int(x_end + before * 0.6), int(y + height * 0.95))
    cv2.circle(ink, centre, max(1, int(round(pen * 0.8))), 1.0, -1, cv2.LINE_AA)
    cv2.line(ink, centre, (centre[0] - int(pen), centre[1] + int(1.5 * pen) + 2), 1.0, max(1, int(round(pen * 0.6))), cv2.LINE_AA)
    return before + height * rng.uniform(0.4, 0.8)


def write_page(
    mnist: Mnist, lines, height: float = 60.0, pen: float = 6.0, spacing: float = 0.15, separator: str = "gap", turn: float = 0.0, paper: str = "white", seed: int = 0,
    rules: float = 1.0,
) -> Scene:
    """A page with exactly these numbers, for tests that need to know what is on it: `lines` of
    numbers of MNIST test indices, written `height` px tall with one `pen` (px), digits `spacing`
    heights apart (below zero they touch), numbers apart by `separator` ('gap', 'dash' or 'comma'),
    on `paper` (one of PAPERS, or "squared": printed lines fall where they fall; or "notebook": the
    writing sits on its rules, a notebook's cramped lines, `rules` as dark as usual at 1, paler below),
    the page turned `turn` degrees, photographed without shadows, thumbs or perspective."""
    cv2 = require("cv2")
    rng = np.random.default_rng(seed)
    page, _ = _paper(rng, paper, height, holes=False)
    ink = np.zeros((HEIGHT, WIDTH), np.float32)
    written, y = [], max(MARGIN, (HEIGHT - 1.6 * height * len(lines)) / 2)  # centred: a turned page keeps it in view
    if paper == "notebook":  # a rule under each line of writing (the digits' feet on it), more at the same pitch, a margin
        colour, width = (255 - (255 - np.float32([200, 160, 120]) * rng.uniform(0.6, 1.0)) * rules).tolist(), 1 + int(rng.random() < 0.4)
        for rule in np.arange((y + height) % (1.6 * height), HEIGHT, 1.6 * height):
            cv2.line(page, (0, int(round(rule))), (WIDTH - 1, int(round(rule))), colour, width, cv2.LINE_AA)
        cv2.line(page, (2 * MARGIN - 8, 0), (2 * MARGIN - 8, HEIGHT - 1), [130, 130, 220], 2, cv2.LINE_AA)
    for line in lines:
        numbers, x = [], 2 * MARGIN + height * 0.3
        for k, picks in enumerate(line):
            if k:
                x += _separate(rng, ink, x, y, height, pen, separator)
            number, x = _write_number(rng, mnist, ink, x, y, height, pen, list(picks), spacing)
            if number is None:
                raise ValueError(f"{picks} does not fit on the page at {height:.0f} px")
            numbers.append(number)
        written.append(numbers)
        y += 1.6 * height
    page = page * (1 - ink[..., None]) + np.float32([30, 30, 30]) * ink[..., None]
    image, matrix = _photograph(rng, page, turn=turn, perspective=0.0, extras=False)
    scene = Scene(image, tuple(tuple(tuple(Truth(t.label, _warp_box(t.box, matrix, cv2), t.index) for t in n) for n in line) for line in written))
    if not all(_inside(t.box) for t in scene.truths):
        raise ValueError(f"turned {turn} degrees, the writing leaves the frame")
    return scene


def _restroke(digit: np.ndarray, height: float, pen: float, rng, cv2) -> np.ndarray:
    """The digit's skeleton redrawn with a round pen `pen` px wide, `height` px tall: float32 coverage in [0, 1]."""
    ys, xs = np.nonzero(digit > 30)
    tight = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    # Drawn at 3x and shrunk: smooth, anti-aliased strokes at any width. The skeleton is found at
    # most 90 px tall (thinning is slow) and scaled up from there.
    up = 3
    scale = height * up / tight.shape[0]
    size = (max(1, int(round(tight.shape[1] * scale))), max(1, int(round(tight.shape[0] * scale))))
    thin_scale = min(scale, 90 / tight.shape[0])
    thin_size = (max(1, int(round(tight.shape[1] * thin_scale))), max(1, int(round(tight.shape[0] * thin_scale))))
    skeleton = _thin(np.pad(cv2.resize(tight, thin_size, interpolation=cv2.INTER_CUBIC) > 110, 2).astype(np.uint8))
    if thin_size != size:
        skeleton = (cv2.resize(skeleton * 255, (size[0] + 4, size[1] + 4), interpolation=cv2.INTER_LINEAR) > 0).astype(np.uint8)
    radius = max(1, int(round(pen * up / 2)))
    pad = radius + 2
    skeleton = np.pad(skeleton, pad)
    stroke = cv2.dilate(skeleton * 255, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    angle = rng.uniform(-6, 6)  # each digit leans its own way a little
    turn = cv2.getRotationMatrix2D((stroke.shape[1] / 2, stroke.shape[0] / 2), angle, 1.0)
    stroke = cv2.warpAffine(stroke, turn, (stroke.shape[1], stroke.shape[0]))
    small = cv2.resize(stroke, (max(1, stroke.shape[1] // up), max(1, stroke.shape[0] // up)), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(small > 0)
    return small[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0


def _thin(image: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a 0/1 image to one-pixel-wide strokes."""
    image = image.copy()
    while True:
        changed = False
        for step in (0, 1):
            p = np.pad(image, 1)
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:], p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]  # P2..P9
            count = sum(n)
            transitions = sum((n[k] == 0) & (n[(k + 1) % 8] == 1) for k in range(8))
            if step == 0:
                side = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                side = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            remove = (image == 1) & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                image[remove] = 0
                changed = True
        if not changed:
            return image


def _photograph(rng, page, turn: float | None = None, perspective: float = 25.0, extras: bool = True, writing=None):
    """Turned (`turn` degrees, or up to 15 either way) and in perspective (corners moved up to
    `perspective` px), lit unevenly, with (`extras`) maybe a hard shadow and a thumb clear of the
    `writing` (the page's ink), blurred, noisy, JPEG: returns (BGR frame, 3x3 warp matrix from page to frame)."""
    cv2 = require("cv2")
    centre = np.float32([WIDTH / 2, HEIGHT / 2])
    angle = np.deg2rad(rng.uniform(-15, 15) if turn is None else turn)
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.float32([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]])
    moved = (corners - centre) @ rot.T + centre + rng.uniform(-perspective, perspective, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    desk = np.float32(rng.uniform(30, 110, 3))
    frame = cv2.warpPerspective(page.astype(np.float32), matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderValue=desk.tolist())
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    light = 1 + (np.cos(direction) * (xx / WIDTH - 0.5) + np.sin(direction) * (yy / HEIGHT - 0.5)) * rng.uniform(0.1, 0.5)
    light *= 1 - rng.uniform(0, 0.35) * (((xx - WIDTH / 2) / WIDTH) ** 2 + ((yy - HEIGHT / 2) / HEIGHT) ** 2) * 2  # vignetting
    if extras and rng.random() < 0.4:  # a hard shadow: a dark wedge from one edge, its border sharp or soft
        shadow = np.zeros((HEIGHT, WIDTH), np.float32)
        a, b = rng.uniform(0, WIDTH, 2)
        cv2.fillPoly(shadow, [np.int32([[a, 0], [b, HEIGHT], [0, HEIGHT], [0, 0]] if rng.random() < 0.5 else [[a, 0], [b, HEIGHT], [WIDTH, HEIGHT], [WIDTH, 0]])], 1.0)
        shadow = cv2.GaussianBlur(shadow, (0, 0), rng.uniform(0.5, 8))
        light *= 1 - rng.uniform(0.25, 0.5) * shadow
    frame *= light[..., None]
    if extras and rng.random() < 0.15:  # a thumb holding the page, at the frame's edge
        x = float(rng.choice([0, WIDTH]))
        thumb = ((int(x), int(rng.uniform(0.2, 0.8) * HEIGHT)), (int(rng.uniform(40, 70)), int(rng.uniform(60, 100))), rng.uniform(0, 180))
        covered = np.zeros((HEIGHT, WIDTH), np.uint8)
        cv2.ellipse(covered, *thumb, 0, 360, 1, -1)
        # A thumb over the writing hides digits that the truth would still hold: it holds the page elsewhere.
        if writing is None or not cv2.warpPerspective(writing, matrix, (WIDTH, HEIGHT))[covered > 0].any():
            cv2.ellipse(frame, *thumb, 0, 360, [110, 140, 190], -1, cv2.LINE_AA)
    frame = cv2.GaussianBlur(frame, (0, 0), rng.uniform(0.4, 1.4))
    frame += rng.normal(0, rng.uniform(2, 7), frame.shape).astype(np.float32)
    frame = np.clip(frame, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(50, 90))])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR), matrix


def _warp_box(box, matrix, cv2) -> tuple[int, int, int, int]:
    x, y, w, h = box
    pts = np.float32([[[x, y]], [[x + w, y]], [[x + w, y + h]], [[x, y + h]]])
    moved = cv2.perspectiveTransform(pts, matrix).reshape(-1, 2)
    x0, y0 = np.floor(moved.min(axis=0)).astype(int)
    x1, y1 = np.ceil(moved.max(axis=0)).astype(int)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _inside(box) -> bool:
    x, y, w, h = box
    return x >= 4 and y >= 4 and x + w <= WIDTH - 4 and y + h <= HEIGHT - 4


def make_dataset(
    out_dir, mnist: Mnist, frames: int = 40, digits: tuple[int, int] = (3, 12), seed: int = 0, video: bool = True, papers: tuple[str, ...] = PAPERS
) -> Path:
    """Write frame_NNNN.jpg images, labels.json and (optionally) digits.avi into `out_dir`.

    Digits come from the test split only. Returns the labels file. Each file is written to a
    temporary name and renamed, so an interrupted run never leaves a half-written artifact.
    """
    cv2 = require("cv2")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    records = []
    writer = None
    video_tmp = out / f".{VIDEO_NAME}.tmp.avi"
    try:
        if video:
            writer = cv2.VideoWriter(str(video_tmp), cv2.VideoWriter_fourcc(*VIDEO_FOURCC), 10.0, (WIDTH, HEIGHT))
            if not writer.isOpened():
                raise SourceError(f"this OpenCV cannot write {VIDEO_FOURCC} video to {video_tmp}")
        for index in range(frames):
            scene = render_scene(rng, mnist, int(rng.integers(digits[0], digits[1] + 1)), papers)
            name = f"frame_{index:04d}.jpg"
            write_atomic(out / name, cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes())
            if writer is not None:
                writer.write(scene.image)
            records.append(
                {
                    "image": name,
                    "text": scene.text,
                    "lines": [[[{"label": t.label, "box": list(t.box), "test_index": t.index} for t in number] for number in line] for line in scene.lines],
                    "digits": [{"label": t.label, "box": list(t.box), "test_index": t.index} for t in scene.truths],
                }
            )
    except BaseException:
        video_tmp.unlink(missing_ok=True)
        raise
    finally:
        if writer is not None:
            writer.release()
    if video:
        os.replace(video_tmp, out / VIDEO_NAME)
    labels_path = out / LABELS_FILE
    meta = {"seed": seed, "width": WIDTH, "height": HEIGHT, "source": "MNIST test split", "video": VIDEO_NAME if video else None, "frames": records}
    write_atomic(labels_path, json.dumps(meta, indent=1).encode())
    return labels_path


@dataclass(frozen=True)
class Score:
    digits: int  # labelled digits
    found: int  # labelled digits with a reported digit on them
    correct: int  # found and read right
    extra: int  # reported digits on no labelled digit
    text: TextScore | None = None  # numbers and lines read exactly, where the labels have them

    @property
    def recall(self) -> float:
        return self.found / self.digits if self.digits else 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.found if self.found else 0.0


def score(results, labels_file) -> Score:
    """Digit-level scores of recognition results against a labels.json, frame i against record i,
    and (for labels with text) numbers and lines read exactly.

    A reported digit is on a labelled digit when the centre of its box lies inside the label's box.
    """
    records = json.loads(Path(labels_file).read_text())["frames"]
    digits = found = correct = extra = 0
    text = None
    for result, record in zip(results, records):
        unused = list(result.digits)
        for truth in record["digits"]:
            digits += 1
            x, y, w, h = truth["box"]
            hit = next((d for d in unused if x <= d.box[0] + d.box[2] / 2 <= x + w and y <= d.box[1] + d.box[3] / 2 <= y + h), None)
            if hit is not None:
                unused.remove(hit)
                found += 1
                correct += hit.label == truth["label"]
        extra += len(unused)
        if "text" in record:
            frame_text = score_text(result.text, record["text"])
            text = frame_text if text is None else text + frame_text
    for record in records[len(results) :]:
        digits += len(record["digits"])
        if "text" in record:
            missed = score_text("", record["text"])
            text = missed if text is None else text + missed
    return Score(digits, found, correct, extra, text)
