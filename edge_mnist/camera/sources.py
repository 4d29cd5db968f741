"""One interface over every place frames come from, chosen by one `--source` string.

    picamera[:N]        the Raspberry Pi camera through picamera2 (imported only here)
    0, 1, ...           an OpenCV camera index
    rtsp://..., http:// a stream URL
    path/to/video.avi   a video file (any container this OpenCV decodes)
    path/to/image.jpg   a single image
    path/to/folder/     every image in a folder, in name order

Live sources (cameras, streams) are read by their own thread into a tiny queue that drops the
oldest frame when full: a slow model then skips frames instead of falling behind the world. Files
are read in order with nothing dropped, because there is no world to keep up with and tests need
every frame. A live source that stops delivering is reopened with back-off before giving up.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Iterator

import numpy as np

from edge_mnist._deps import require
from edge_mnist.errors import SourceError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
BACKOFF = (0.5, 1.0, 2.0, 4.0)  # seconds between reopen attempts of a live source
QUEUE_SIZE = 2


class SourceKind(str, Enum):
    PICAMERA = "picamera"
    DEVICE = "device"
    STREAM = "stream"
    VIDEO = "video"
    IMAGE = "image"
    FOLDER = "folder"


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    target: str  # a path, a URL, or a camera index as text

    @property
    def live(self) -> bool:
        return self.kind in (SourceKind.PICAMERA, SourceKind.DEVICE, SourceKind.STREAM)


@dataclass(frozen=True)
class Frame:
    index: int
    timestamp: float
    name: str
    image: np.ndarray  # BGR (H, W, 3) or gray (H, W) uint8


def parse_source(text: str) -> SourceSpec:
    text = str(text).strip()
    if text == "picamera" or text.startswith("picamera:"):
        return SourceSpec(SourceKind.PICAMERA, text.partition(":")[2] or "0")
    if text.isdigit():
        return SourceSpec(SourceKind.DEVICE, text)
    if "://" in text:
        return SourceSpec(SourceKind.STREAM, text)
    path = Path(text)
    if path.is_dir():
        return SourceSpec(SourceKind.FOLDER, text)
    if not path.is_file():
        raise SourceError(f"source not found: {text} (expected a camera index, picamera, a URL, a video, an image or a folder)")
    return SourceSpec(SourceKind.IMAGE if path.suffix.lower() in IMAGE_SUFFIXES else SourceKind.VIDEO, text)


def read_image(path) -> np.ndarray:
    """Decode one image file (BGR) upright, turned by its EXIF orientation as a phone shows it, or
    SourceError naming the file."""
    cv2 = require("cv2")
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)  # unlike cv2.imread, works for any file name
    except OSError as exc:
        raise SourceError(f"cannot read image {path}: {exc.strerror}") from None
    # A drawing saved with a transparent background (a canvas or paint program's PNG) holds its digit
    # in the alpha channel: its colour channels are often one colour, black or white, throughout.
    # (A JPEG has no alpha; the colour decode below turns a photo by its EXIF orientation.)
    drawn = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if _may_have_alpha(data) else None
    if drawn is not None and drawn.ndim == 3 and drawn.shape[2] in (2, 4):
        return _on_contrasting_ground(drawn)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(f"cannot decode image {path} (not an image, or a format this OpenCV cannot read)")
    return image


def _may_have_alpha(data: np.ndarray) -> bool:
    """Whether the encoded image can hold an alpha channel: never a JPEG; a PNG only with an alpha
    colour type or a transparency chunk (read from its header, so an opaque PNG is decoded once)."""
    head = data[:64].tobytes()
    if head.startswith(b"\xff\xd8"):
        return False
    if head.startswith(b"\x89PNG") and len(head) > 25:
        if head[25] in (4, 6):  # gray + alpha, RGBA
            return True
        raw = data.tobytes()  # the chunks before the pixels: tRNS makes palette or plain colours transparent
        return b"tRNS" in raw[: max(raw.find(b"IDAT"), 0)]
    return data.size > 0


def _on_contrasting_ground(drawn: np.ndarray) -> np.ndarray:
    """An image with an alpha channel (gray or BGR, then alpha; 8 or 16 bits) as BGR, laid on white
    where what it shows is dark and on black where it is light, so the drawing stands out either way."""
    cv2 = require("cv2")
    top = 65535.0 if drawn.dtype == np.uint16 else 255.0
    colour, alpha = drawn[..., :-1].astype(np.float32) / top, drawn[..., -1:].astype(np.float32) / top
    if colour.shape[2] == 1:
        colour = np.repeat(colour, 3, axis=2)
    shown = float((colour * alpha).sum() / max(3 * float(alpha.sum()), 1e-6))  # the mean brightness of what is drawn
    ground = 1.0 if shown < 0.5 else 0.0
    return cv2.convertScaleAbs(colour * alpha + ground * (1 - alpha), alpha=255.0)


def open_capture(target: str):
    """An OpenCV VideoCapture for a camera index, URL or video file (patched by tests to simulate failures)."""
    cv2 = require("cv2")
    # A failed open makes every backend OpenCV tries print a warning; our own one-line error says it better.
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        return cv2.VideoCapture(int(target) if target.isdigit() else target)
    finally:
        cv2.utils.logging.setLogLevel(level)


class _PiCamera:
    """picamera2 behind the same read()/release() as an OpenCV capture."""

    def __init__(self, index: int):
        picamera2 = require("picamera2")
        self._camera = picamera2.Picamera2(index)
        # "RGB888" is stored B, G, R in memory: exactly OpenCV's channel order.
        self._camera.configure(self._camera.create_video_configuration(main={"size": (640, 480), "format": "RGB888"}))
        self._camera.start()

    def isOpened(self) -> bool:
        return True

    def read(self):
        return True, self._camera.capture_array()

    def release(self) -> None:
        self._camera.stop()
        self._camera.close()


class FrameSource:
    """Iterate frames; always close (a `with` block does), which stops the capture thread and the camera."""

    def __init__(self, spec: SourceSpec, max_frames: int | None = None, loop: bool = False, backoff: tuple[float, ...] | None = None):
        self.spec = spec
        self.max_frames = max_frames
        self.loop = loop
        self.backoff = BACKOFF if backoff is None else backoff
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._capture = None
        if spec.kind is SourceKind.FOLDER:
            self._files = sorted(p for p in Path(spec.target).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self._files:
                raise SourceError(f"no images in folder {spec.target} (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
        elif spec.kind is SourceKind.IMAGE:
            self._files = [Path(spec.target)]
        else:
            self._capture = self._open()
            if self._capture is None:
                raise SourceError(f"cannot open {self._describe()}")

    def _describe(self) -> str:
        return {SourceKind.DEVICE: f"camera {self.spec.target}", SourceKind.PICAMERA: f"Pi camera {self.spec.target}"}.get(
            self.spec.kind, f"{self.spec.kind.value} {self.spec.target}"
        )

    def _open(self):
        """An opened capture, or None; a missing picamera2 raises its install hint instead."""
        if self.spec.kind is SourceKind.PICAMERA:
            try:
                return _PiCamera(int(self.spec.target))
            except (RuntimeError, IndexError, OSError):
                return None
        capture = open_capture(self.spec.target)
        if capture.isOpened():
            return capture
        capture.release()
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def __iter__(self) -> Iterator[Frame]:
        if self.spec.kind in (SourceKind.IMAGE, SourceKind.FOLDER):
            frames = self._files_frames()
        elif self.spec.kind is SourceKind.VIDEO:
            frames = self._video_frames()
        else:
            frames = self._live_frames()
        for count, frame in enumerate(frames, start=1):
            yield frame
            if self.max_frames is not None and count >= self.max_frames:
                return

    def _files_frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            for path in self._files:
                yield Frame(index, time.time(), path.name, read_image(path))
                index += 1
            if not self.loop:
                return

    def _video_frames(self) -> Iterator[Frame]:
        index, name = 0, Path(self.spec.target).name
        while True:
            ok, image = self._capture.read()
            if ok:
                yield Frame(index, time.time(), name, image)
                index += 1
                continue
            if index == 0:
                raise SourceError(f"cannot decode any frame of video {self.spec.target}")
            if not self.loop:
                return
            self._capture.release()  # reopening rewinds every container, seeking does not
            self._capture = self._open()
            if self._capture is None:
                raise SourceError(f"cannot reopen video {self.spec.target}")

    def _live_frames(self) -> Iterator[Frame]:
        frames: queue.Queue = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread = threading.Thread(target=self._capture_loop, args=(frames,), name="edge-mnist-capture", daemon=True)
        self._thread.start()
        while True:
            item = frames.get()
            if isinstance(item, Exception):
                raise item
            yield item

    def _capture_loop(self, frames: queue.Queue) -> None:
        try:
            self._capture_frames(frames)
        except Exception as exc:  # a driver error must reach the reader, not die silently in this thread
            _put_latest(frames, SourceError(f"{self._describe()} failed: {exc}"))

    def _capture_frames(self, frames: queue.Queue) -> None:
        index = 0
        while not self._stop.is_set():
            ok, image = self._capture.read()
            if not ok or image is None:
                if not self._reopen():
                    if not self._stop.is_set():
                        _put_latest(frames, SourceError(f"{self._describe()} stopped delivering frames; gave up after {len(self.backoff)} reopen attempts"))
                    return
                continue
            _put_latest(frames, Frame(index, time.time(), self._describe(), image))
            index += 1

    def _reopen(self) -> bool:
        self._capture.release()
        self._capture = None
        for delay in self.backoff:
            if self._stop.wait(delay):
                return False
            capture = self._open()
            if capture is not None:
                self._capture = capture
                return True
        return False


def _put_latest(frames: queue.Queue, item) -> None:
    """Enqueue, dropping the oldest frame when full: the consumer always gets the freshest view."""
    while True:
        try:
            frames.put_nowait(item)
            return
        except queue.Full:
            try:
                frames.get_nowait()
            except queue.Empty:
                pass


def open_source(source: str | SourceSpec, max_frames: int | None = None, loop: bool = False, backoff: tuple[float, ...] | None = None) -> FrameSource:
    spec = source if isinstance(source, SourceSpec) else parse_source(source)
    if loop and spec.live:
        raise SourceError("--loop applies to video files, images and folders, not to live sources")
    return FrameSource(spec, max_frames=max_frames, loop=loop, backoff=backoff)
