"""Camera-like test data: MNIST *test* digits rendered as if a phone or Pi camera photographed them.

Dark ink on textured off-white paper, uneven lighting, slight perspective and rotation, blur,
sensor noise and JPEG compression, several digits per 640x480 frame. Everything is drawn from one
seeded generator, so a seed names a dataset exactly. Training digits are never used: accuracy on
these frames must not be inflated by digits the model has seen.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.data import Mnist
from edge_mnist.errors import SourceError
from edge_mnist.files import write_atomic

WIDTH, HEIGHT = 640, 480
MARGIN = 48  # keeps digits off the frame edge, where the perspective warp shows the desk
GAP = 14  # minimum space between two digits, so their contours stay apart
LABELS_FILE = "labels.json"
VIDEO_NAME = "digits.avi"
VIDEO_FOURCC = "MJPG"  # this OpenCV build both writes and reads Motion-JPEG in AVI


@dataclass(frozen=True)
class Truth:
    label: int
    box: tuple[int, int, int, int]  # x, y, w, h of the digit's ink in the frame
    index: int  # the digit's index in the MNIST test split


@dataclass(frozen=True)
class Scene:
    image: np.ndarray  # (480, 640, 3) uint8 BGR
    truths: tuple[Truth, ...]


def render_scene(rng: np.random.Generator, mnist: Mnist, picks) -> Scene:
    """One frame holding the MNIST test digits at indices `picks`, at random sizes and places.

    A digit that finds no free place is left out, so a scene may hold fewer digits than asked for.
    """
    cv2 = require("cv2")
    paper = _paper(rng, cv2)
    ink_level = rng.uniform(20, 70)
    truths: list[Truth] = []
    for pick in picks:
        digit, label = mnist.x_test[pick], mnist.y_test[pick]
        spot = _place(rng, digit, [t.box for t in truths])
        if spot is None:
            continue
        (x, y, size), ink_box = spot
        alpha = cv2.resize(digit, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
        alpha = np.clip(alpha, 0, 1) * rng.uniform(0.85, 1.0)
        region = paper[y : y + size, x : x + size]
        paper[y : y + size, x : x + size] = region * (1 - alpha) + ink_level * alpha
        truths.append(Truth(int(label), ink_box, int(pick)))
    image, matrix = _photograph(rng, paper, cv2)
    return Scene(image, tuple(Truth(t.label, _warp_box(t.box, matrix, cv2), t.index) for t in truths))


def _paper(rng, cv2) -> np.ndarray:
    """Off-white paper with fibre texture, blotches and a lighting gradient, float32 gray."""
    base = rng.uniform(185, 235)
    fibres = cv2.GaussianBlur(rng.normal(0, 6, (HEIGHT, WIDTH)).astype(np.float32), (0, 0), 1.2)
    blotches = cv2.resize(rng.normal(0, 5, (6, 8)).astype(np.float32), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (xx / WIDTH - 0.5) + np.sin(angle) * (yy / HEIGHT - 0.5)) * rng.uniform(0.2, 0.55)
    return (base + fibres + blotches) * (1 + ramp)


def _place(rng, digit, taken):
    """((x, y, size) of the scaled 28x28 square, ink box) clear of every taken ink box, or None."""
    ys, xs = np.nonzero(digit > 40)
    for _ in range(60):
        scale = rng.uniform(45, 110) / (ys.max() - ys.min() + 1)
        size = int(round(28 * scale))
        x = int(rng.integers(0, WIDTH - size))
        y = int(rng.integers(0, HEIGHT - size))
        x0, y0 = x + int(xs.min() * scale), y + int(ys.min() * scale)
        ink = (x0, y0, int((xs.max() + 1) * scale) - int(xs.min() * scale), int((ys.max() + 1) * scale) - int(ys.min() * scale))
        inside = ink[0] >= MARGIN and ink[1] >= MARGIN and ink[0] + ink[2] <= WIDTH - MARGIN and ink[1] + ink[3] <= HEIGHT - MARGIN
        if inside and not any(_near(ink, other) for other in taken):
            return (x, y, size), ink
    return None


def _near(a, b) -> bool:
    return not (a[0] + a[2] + GAP <= b[0] or b[0] + b[2] + GAP <= a[0] or a[1] + a[3] + GAP <= b[1] or b[1] + b[3] + GAP <= a[1])


def _photograph(rng, paper, cv2):
    """Tilt (rotation + perspective), blur, noise and JPEG: returns (BGR frame, 3x3 warp matrix)."""
    centre = np.float32([WIDTH / 2, HEIGHT / 2])
    angle = np.deg2rad(rng.uniform(-7, 7))
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    corners = np.float32([[0, 0], [WIDTH, 0], [WIDTH, HEIGHT], [0, HEIGHT]])
    moved = (corners - centre) @ rot.T + centre + rng.uniform(-18, 18, (4, 2)).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(corners, moved.astype(np.float32))
    desk = float(rng.uniform(40, 90))
    gray = cv2.warpPerspective(paper.astype(np.float32), matrix, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderValue=desk)
    gray = cv2.GaussianBlur(gray, (0, 0), rng.uniform(0.5, 1.3))
    tint = np.float32(rng.uniform(0.9, 1.05, 3))  # white balance: paper is never quite gray
    colour = gray[..., None] * tint + rng.normal(0, rng.uniform(2, 6), (HEIGHT, WIDTH, 3)).astype(np.float32)
    frame = np.clip(colour, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(55, 90))])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR), matrix


def _warp_box(box, matrix, cv2) -> tuple[int, int, int, int]:
    x, y, w, h = box
    pts = np.float32([[[x, y]], [[x + w, y]], [[x + w, y + h]], [[x, y + h]]])
    moved = cv2.perspectiveTransform(pts, matrix).reshape(-1, 2)
    x0, y0 = np.floor(moved.min(axis=0)).astype(int)
    x1, y1 = np.ceil(moved.max(axis=0)).astype(int)
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def make_dataset(out_dir, mnist: Mnist, frames: int = 40, digits: tuple[int, int] = (5, 10), seed: int = 0, video: bool = True) -> Path:
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
            picks = rng.choice(len(mnist.x_test), size=int(rng.integers(digits[0], digits[1] + 1)), replace=False)
            scene = render_scene(rng, mnist, picks)
            name = f"frame_{index:04d}.jpg"
            write_atomic(out / name, cv2.imencode(".jpg", scene.image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes())
            if writer is not None:
                writer.write(scene.image)
            records.append({"image": name, "digits": [{"label": t.label, "box": list(t.box), "test_index": t.index} for t in scene.truths]})
    except BaseException:
        video_tmp.unlink(missing_ok=True)
        raise
    finally:
        if writer is not None:
            writer.release()
    if video:
        os.replace(video_tmp, out / VIDEO_NAME)
    labels_path = out / LABELS_FILE
    write_atomic(labels_path, json.dumps({"seed": seed, "width": WIDTH, "height": HEIGHT, "video": VIDEO_NAME if video else None, "frames": records}, indent=1).encode())
    return labels_path


@dataclass(frozen=True)
class Score:
    digits: int  # labelled digits
    found: int  # labelled digits with a reported digit on them
    correct: int  # found and read right
    extra: int  # reported digits on no labelled digit

    @property
    def recall(self) -> float:
        return self.found / self.digits if self.digits else 0.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.found if self.found else 0.0


def score(results, labels_file) -> Score:
    """Digit-level scores of recognition results against a labels.json, frame i against record i.

    A reported digit is on a labelled digit when the centre of its box lies inside the label's box.
    """
    records = json.loads(Path(labels_file).read_text())["frames"]
    digits = found = correct = extra = 0
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
    if len(results) < len(records):
        digits += sum(len(r["digits"]) for r in records[len(results) :])
    return Score(digits, found, correct, extra)
