import time

import numpy as np
import pytest

from edge_mnist.camera import sources
from edge_mnist.camera.sources import QUEUE_SIZE, SourceKind, open_source, parse_source, read_image
from edge_mnist.errors import MissingDependencyError, SourceError

FAST = (0.01, 0.01, 0.01)  # reopen back-off for tests: three attempts, no waiting


def test_parse_source_tells_every_kind_apart(tmp_path, camera_data):
    image = camera_data.folder / "frame_0000.jpg"
    assert parse_source("0").kind is SourceKind.DEVICE
    assert parse_source("picamera") == sources.SourceSpec(SourceKind.PICAMERA, "0")
    assert parse_source("picamera:1").target == "1"
    assert parse_source("rtsp://cam.local/stream").kind is SourceKind.STREAM
    assert parse_source(str(camera_data.video)).kind is SourceKind.VIDEO
    assert parse_source(str(image)).kind is SourceKind.IMAGE
    assert parse_source(str(camera_data.folder)).kind is SourceKind.FOLDER
    with pytest.raises(SourceError, match="source not found"):
        parse_source(str(tmp_path / "nope.avi"))


def test_folder_yields_its_images_in_name_order(camera_data):
    with open_source(str(camera_data.folder)) as frames:
        names = [frame.name for frame in frames]
    assert names == [f"frame_{i:04d}.jpg" for i in range(camera_data.frames)]  # labels.json and the video are skipped


def test_video_yields_every_frame_and_loops(camera_data):
    with open_source(str(camera_data.video)) as frames:
        shapes = [frame.image.shape for frame in frames]
    assert shapes == [(480, 640, 3)] * camera_data.frames
    total = camera_data.frames * 2 + 5
    with open_source(str(camera_data.video), loop=True, max_frames=total) as frames:
        indices = [frame.index for frame in frames]
    assert indices == list(range(total))


def test_a_phone_photo_stored_sideways_is_read_upright(tmp_path):
    # Phones store a portrait photo as landscape pixels plus an EXIF orientation; read as stored, every
    # digit in it would lie on its side.
    cv2 = pytest.importorskip("cv2")
    stored = np.zeros((100, 200, 3), np.uint8)
    stored[:, :50] = 255  # a bright band along the stored left edge
    jpeg = cv2.imencode(".jpg", stored)[1].tobytes()
    # An APP1 segment with one TIFF entry: Orientation (0x0112) = 6, "turn 90 degrees clockwise to view".
    tiff = b"MM\x00*\x00\x00\x00\x08" + b"\x00\x01" + b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00" + b"\x00\x00\x00\x00"
    app1 = b"\xff\xe1" + (2 + 6 + len(tiff)).to_bytes(2, "big") + b"Exif\x00\x00" + tiff
    (tmp_path / "portrait.jpg").write_bytes(jpeg[:2] + app1 + jpeg[2:])
    image = read_image(tmp_path / "portrait.jpg")
    assert image.shape[:2] == (200, 100)  # upright: as tall as the stored image was wide
    assert image[:50].mean() > 200 and image[-50:].mean() < 50  # the band, turned clockwise, on top


@pytest.mark.parametrize("ink", [0, 255])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_drawing_on_a_transparent_background_is_laid_on_a_contrasting_ground(tmp_path, ink, dtype):
    # A canvas or paint program saves a digit as colour everywhere and the drawing in the alpha
    # channel: decoded as colour alone, black ink on transparent black is one black page.
    cv2 = pytest.importorskip("cv2")
    top = np.iinfo(dtype).max
    alpha = np.zeros((60, 80), dtype)
    cv2.circle(alpha, (40, 30), 15, int(top), 3)
    drawn = np.dstack([np.full((60, 80, 3), ink * (top // 255), dtype), alpha])
    cv2.imwrite(str(tmp_path / "drawing.png"), drawn)
    image = read_image(tmp_path / "drawing.png")
    assert image.shape == (60, 80, 3) and image.dtype == np.uint8
    stroke, ground = image[30, 25], image[5, 5]  # on the circle, and far from it
    assert abs(int(stroke.mean()) - ink) <= 1 and abs(int(ground.mean()) - (255 - ink)) <= 1


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("no pictures here")
    with pytest.raises(SourceError, match="no images in folder"):
        open_source(str(tmp_path))


def test_unreadable_image_is_refused(tmp_path):
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8 this is not a jpeg")
    with pytest.raises(SourceError, match="cannot decode image"):
        read_image(bad)
    with open_source(str(tmp_path)) as frames, pytest.raises(SourceError, match="photo.jpg"):
        next(iter(frames))


def test_undecodable_video_is_refused(tmp_path):
    bad = tmp_path / "clip.avi"
    bad.write_bytes(b"RIFF garbage" * 100)
    with pytest.raises(SourceError, match="cannot open video"):
        open_source(str(bad))


def test_unopenable_camera_is_refused():
    # A real OpenCV capture on an index no machine here has.
    with pytest.raises(SourceError, match="cannot open camera 99"):
        open_source("99")


def test_missing_picamera2_names_the_fix():
    try:
        import picamera2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("picamera2 is installed: its absence cannot be tested here")
    with pytest.raises(MissingDependencyError, match="picamera2.*fix: sudo apt install python3-picamera2"):
        open_source("picamera")


def test_loop_is_refused_for_live_sources():
    with pytest.raises(SourceError, match="--loop"):
        open_source("0", loop=True)


def test_live_source_drops_stale_frames_for_a_slow_reader(fake_cameras, fake_capture):
    handed = fake_cameras(fake_capture(interval=0.002))
    seen = []
    with open_source("0", max_frames=5) as frames:
        for frame in frames:
            seen.append(frame.index)
            time.sleep(0.05)  # a slow model: the camera delivers ~25 frames meanwhile
            assert frames._thread.is_alive()
    assert len(seen) == 5
    assert max(np.diff(seen)) > QUEUE_SIZE  # stale frames were dropped, not queued up
    assert handed[0].released


def test_live_source_reopens_after_a_disconnect(fake_cameras, fake_capture):
    handed = fake_cameras(fake_capture(frames=3), fake_capture(opened=False), fake_capture())
    with open_source("0", max_frames=10, backoff=FAST) as frames:
        assert len(list(frames)) == 10
    assert len(handed) == 3 and all(capture.released for capture in handed)
    assert handed[2].reads >= 7  # frames after the disconnect came from the reopened camera


def test_live_source_gives_up_with_a_clear_message(fake_cameras, fake_capture):
    fake_cameras(fake_capture(frames=3))
    start = time.monotonic()
    with open_source("0", backoff=FAST) as frames, pytest.raises(SourceError, match="camera 0 stopped delivering frames; gave up after 3 reopen attempts"):
        for _ in frames:
            pass
    assert time.monotonic() - start < 2


def test_close_stops_the_capture_thread_and_releases_the_camera(fake_cameras, fake_capture):
    handed = fake_cameras(fake_capture())
    source = open_source("0")
    frames = iter(source)
    next(frames)
    thread = source._thread
    assert thread.is_alive()
    source.close()
    assert not thread.is_alive() and handed[0].released
