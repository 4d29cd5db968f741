"""What a run shows: JSON lines for machines, an annotated frame for people (window or browser)."""
from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

from edge_mnist._deps import require
from edge_mnist.camera.recognize import FrameResult
from edge_mnist.errors import MissingDependencyError, OutputError  # noqa: F401  (OutputError is part of this module's API)

WINDOW = "edge-mnist camera"


def frame_record(result: FrameResult) -> dict:
    """One JSON line per frame: stable keys, boxes as [x, y, w, h] in frame pixels.

    `text` has one line per written line and a space between numbers; `lines` holds the same as
    lines of numbers of digits; `digits` is every digit in reading order, for scripts that want a flat list.
    """
    return {
        "frame": result.index,
        "timestamp": round(result.timestamp, 3),
        "source": result.source,
        "text": result.text,
        "lines": [
            {"text": line.text, "numbers": [{"text": number.text, "digits": [_digit(d) for d in number.digits]} for number in line.numbers]}
            for line in result.lines
        ],
        "digits": [_digit(d) for d in result.digits],
        "timings_ms": result.timings_ms,
    }


def _digit(d) -> dict:
    return {"label": d.label, "confidence": d.confidence, "box": list(d.box)}


class JsonLines:
    """One JSON line per frame to stdout ('-') or a file.

    A file is written as NAME.part, flushed line by line (follow it with `tail -f`), and renamed to
    NAME when the run ends normally or by Ctrl-C; a run that fails deletes it. So NAME only ever
    holds a whole run's log, and a failed run never replaces an earlier one.
    """

    def __init__(self, target: str):
        self.path = None if target == "-" else Path(target)
        self._part = None if self.path is None else self.path.with_name(self.path.name + ".part")
        try:
            self._file = sys.stdout if self.path is None else open(self._part, "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write the log {self.path}: {exc.strerror}") from None

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self, keep: bool) -> None:
        if self.path is None:
            return
        self._file.close()
        if keep:
            os.replace(self._part, self.path)
        else:
            self._part.unlink(missing_ok=True)


class FpsMeter:
    """Frames per second over the last `window` frames."""

    def __init__(self, window: int = 30):
        self._stamps: deque = deque(maxlen=window)

    def tick(self) -> float:
        self._stamps.append(time.perf_counter())
        if len(self._stamps) < 2:
            return 0.0
        return (len(self._stamps) - 1) / (self._stamps[-1] - self._stamps[0])


def annotate(image: np.ndarray, result: FrameResult, fps: float | None = None) -> np.ndarray:
    """A copy of the frame with each digit's box, label and confidence, and the frame rate."""
    cv2 = require("cv2")
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    for digit in result.digits:
        x, y, w, h = digit.box
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 200, 0), 2)
        cv2.putText(out, f"{digit.label} {digit.confidence:.0%}", (x, max(12, y - 5)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1, cv2.LINE_AA)
    status = f"{result.text or '-'}" + (f"  {fps:.1f} fps" if fps else "")
    cv2.putText(out, status, (8, out.shape[0] - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 0, 0), 2, cv2.LINE_AA)
    return out


def display_available() -> bool:
    """A window can only open where there is a screen: on Linux that means $DISPLAY or Wayland."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class Window:
    """An OpenCV window; `show` returns False once the user pressed q or Esc."""

    def __init__(self):
        self._cv2 = require("cv2")

    def show(self, image: np.ndarray) -> bool:
        try:
            self._cv2.imshow(WINDOW, image)
            key = self._cv2.waitKey(1) & 0xFF
        except self._cv2.error:
            raise MissingDependencyError("this OpenCV has no window support; use --headless (or --serve), or fix: pip install opencv-python") from None
        return key not in (ord("q"), 27)

    def close(self) -> None:
        try:
            self._cv2.destroyWindow(WINDOW)
        except self._cv2.error:
            pass  # the window never opened
