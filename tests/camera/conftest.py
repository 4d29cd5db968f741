"""Camera fixtures: camera-like frames rendered from MNIST test digits, and models that must be refused."""
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SEED = 2026
FRAMES = 60


@dataclass(frozen=True)
class CameraData:
    folder: Path  # frame_NNNN.jpg, labels.json, digits.avi
    video: Path
    labels: Path
    frames: int


@pytest.fixture(scope="session")
def camera_data(mnist, tmp_path_factory) -> CameraData:
    """60 seeded 640x480 photos of handwritten numbers (3-12 MNIST test digits each), as images and as an MJPEG video."""
    from edge_mnist.camera.synth import VIDEO_NAME, make_dataset

    folder = tmp_path_factory.mktemp("camera_data")
    labels = make_dataset(folder, mnist, frames=FRAMES, seed=SEED)
    return CameraData(folder, folder / VIDEO_NAME, labels, FRAMES)


@pytest.fixture(scope="session")
def foreign_tflite(tmp_path_factory) -> Path:
    """A real TFLite classifier that is not an MNIST one: 32x32 RGB in (CIFAR-sized), 10 scores out."""
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path_factory.mktemp("foreign") / "cifar.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


class FakeCapture:
    """A stand-in for cv2.VideoCapture of a live camera: `frames` good reads, then failed ones.

    Only the hardware is faked; the FrameSource thread, queue, reopen and close logic run for real.
    """

    def __init__(self, frames: int | None = None, opened: bool = True, interval: float = 0.005):
        self.frames = frames
        self.interval = interval  # a camera delivers at its frame rate, it does not spin
        self.opened = opened
        self.reads = 0
        self.released = False

    def isOpened(self):
        return self.opened and not self.released

    def read(self):
        time.sleep(self.interval)
        if self.released or (self.frames is not None and self.reads >= self.frames):
            return False, None
        self.reads += 1
        image = np.full((480, 640, 3), 200, np.uint8)
        image[0, 0, 0] = self.reads % 256  # tells frames apart
        return True, image

    def release(self):
        self.released = True


@pytest.fixture
def fake_capture():
    """The FakeCapture class, for tests to build the cameras they hand to `fake_cameras`."""
    return FakeCapture


@pytest.fixture
def fake_cameras(monkeypatch):
    """Make `open_capture` hand out the given FakeCaptures in order (then unopenable ones); returns the list."""
    from edge_mnist.camera import sources

    handed: list[FakeCapture] = []

    def install(*captures: FakeCapture):
        queue = list(captures)

        def open_capture(target):
            capture = queue.pop(0) if queue else FakeCapture(opened=False)
            handed.append(capture)
            return capture

        monkeypatch.setattr(sources, "open_capture", open_capture)
        return handed

    return install
