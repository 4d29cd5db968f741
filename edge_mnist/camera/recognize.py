"""From a frame to digits: find regions, classify them in one batched call, order and filter them."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from edge_mnist.camera.preprocess import Box, PreprocessConfig, find_regions
from edge_mnist.camera.sources import Frame
from edge_mnist.runtime import OutputKind, Predictor, Runtime

@dataclass(frozen=True)
class Digit:
    label: int
    confidence: float
    box: Box


@dataclass(frozen=True)
class FrameResult:
    index: int
    timestamp: float  # seconds since the epoch, when the frame was captured
    source: str  # the frame's file name, or the source it came from
    digits: tuple[Digit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)  # preprocess, infer, postprocess, total

    @property
    def text(self) -> str:
        return "".join(str(d.label) for d in self.digits)


def load_classifier(model, runtime: Runtime | None = None, threads: int | None = 1) -> Predictor:
    """The model as a Predictor, which refuses anything but an MNIST classifier (28x28 in, 10 scores
    or a class index out). The input scaling is read from an int8 model's quantization."""
    return Predictor(model, runtime=runtime, threads=threads, scaling=None)


def reading_order(digits: list[Digit]) -> list[Digit]:
    """Left to right within a line, lines top to bottom; a digit joins a line its vertical centre falls inside."""
    lines: list[list[Digit]] = []
    for digit in sorted(digits, key=lambda d: d.box[1]):
        centre = digit.box[1] + digit.box[3] / 2
        for line in lines:
            top = min(d.box[1] for d in line)
            bottom = max(d.box[1] + d.box[3] for d in line)
            if top <= centre <= bottom:
                line.append(digit)
                break
        else:
            lines.append([digit])
    return [d for line in lines for d in sorted(line, key=lambda d: d.box[0])]


def classify(predictor: Predictor, images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 10) probabilities, all regions of a frame in one batched call.

    The batch is not padded to a fixed size: with the int8 cnn, resizing the interpreter when the
    region count changes costs about as much as two padding images would (~0.08 ms).
    """
    if len(images) == 0:
        return np.zeros((0, 10), np.float32)
    scores = predictor.predict(images)
    if predictor.output_kind is not OutputKind.LOGITS:
        return scores  # every edge-mnist model ends in softmax
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))  # a foreign model's logits: confidences need probabilities
    return exp / exp.sum(axis=1, keepdims=True)


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


class Recognizer:
    """Digits of a frame with one model; keeps state only for smoothing."""

    def __init__(self, predictor: Predictor, min_confidence: float = 0.5, smooth: int = 0, config: PreprocessConfig = PreprocessConfig()):
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be between 0 and 1, got {min_confidence}")
        self.predictor = predictor
        self.min_confidence = min_confidence
        self.config = config
        self.smoother = Smoother(smooth) if smooth > 1 else None

    def recognize(self, frame: Frame) -> FrameResult:
        start = time.perf_counter_ns()
        regions = find_regions(frame.image, self.config)
        found = time.perf_counter_ns()
        scores = classify(self.predictor, regions.images)
        inferred = time.perf_counter_ns()
        if self.smoother is not None:
            scores = self.smoother.update(regions.boxes, scores)
        labels, confidences = scores.argmax(axis=1), scores.max(axis=1)
        digits = [
            Digit(int(label), round(float(conf), 4), tuple(int(v) for v in box))
            for label, conf, box in zip(labels, confidences, regions.boxes)
            if conf >= self.min_confidence
        ]
        ordered = tuple(reading_order(digits))
        done = time.perf_counter_ns()
        timings = {
            "preprocess": (found - start) / 1e6,
            "infer": (inferred - found) / 1e6,
            "postprocess": (done - inferred) / 1e6,
            "total": (done - start) / 1e6,
        }
        return FrameResult(frame.index, frame.timestamp, frame.name, ordered, {k: round(v, 3) for k, v in timings.items()})


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
