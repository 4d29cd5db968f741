import json
import os

import numpy as np
import pytest

from edge_mnist.camera.output import frame_record
from edge_mnist.camera.preprocess import find_ink
from edge_mnist.camera.recognize import Recognizer, Smoother, load_classifier, read_source, recognize_frames
from edge_mnist.camera.sources import Frame, open_source, read_image
from edge_mnist.camera.synth import score
from edge_mnist.runtime import OutputKind


def test_smoother_steadies_a_flickering_region_and_tracks_regions_apart():
    smoother = Smoother(window=5)
    three, eight = np.eye(10, dtype=np.float32)[3], np.eye(10, dtype=np.float32)[8]
    labels = []
    for i in range(10):
        # Region A flickers between 3 (mostly) and 8; region B, elsewhere, is always 8; A jitters a pixel.
        a = 0.7 * three + 0.3 * eight if i % 3 else 0.4 * three + 0.6 * eight
        smoothed = smoother.update([(100 + i % 2, 100, 30, 40), (400, 100, 30, 40)], np.stack([a, eight]))
        labels.append(tuple(smoothed.argmax(axis=1)))
    assert set(labels[2:]) == {(3, 8)}
    assert all(len(history) <= 5 for _, history in smoother._tracks)  # memory bounded by the window


class _LogitsModel:
    """A predictor whose outputs are logits, as foreign models give: confidences must still be probabilities."""

    output_kind = OutputKind.LOGITS

    def predict(self, images):
        return np.tile(np.arange(10, dtype=np.float32), (len(images), 1))


def test_logits_become_probabilities(camera_data):
    result = Recognizer(_LogitsModel(), min_confidence=0.0).recognize(Frame(0, 0.0, "f", read_image(camera_data.folder / "frame_0000.jpg")))
    assert result.digits and all(d.label == 9 and d.confidence == pytest.approx(np.exp(9) / np.exp(np.arange(10)).sum(), abs=1e-4) for d in result.digits)


@pytest.mark.slow
def test_batched_call_matches_one_crop_at_a_time(camera_data, full_cnn_int8):
    predictor = load_classifier(full_cnn_int8)
    recognizer = Recognizer(predictor)
    ink, crops = find_ink(read_image(camera_data.folder / "frame_0003.jpg")), []
    for line in recognizer._lines(ink):
        recognizer._whole_segments(ink, line, crops)
    assert len(crops) >= 5
    batched = predictor.predict(np.stack(crops))
    single = np.concatenate([predictor.predict(crop[None]) for crop in crops])
    assert (batched.argmax(axis=1) == single.argmax(axis=1)).all()
    assert np.abs(batched - single).max() < 1e-4


def _check_accuracy(results, camera_data):
    """The briefly trained camera model on the generated photos (measured: recall 89.7%, accuracy 97.6%,
    3 extra digits of 419, 81% of numbers exact, on an AMD EPYC): the thresholds leave room for another
    CPU's training to land a little differently."""
    s = score(results, camera_data.labels)
    report = f"{s.digits} digits: recall {s.recall:.2%}, accuracy {s.accuracy:.2%}, {s.extra} extra, numbers exact {s.text.numbers_rate:.2%}"
    assert s.digits >= 350, report
    assert s.recall >= 0.85, report
    assert s.accuracy >= 0.95, report
    assert s.extra <= 0.03 * s.digits, report
    assert s.text.numbers_rate >= 0.7, report
    return s


@pytest.mark.slow
def test_reads_the_video_at_the_target_accuracy(camera_data, camera_cnn_int8):
    results = read_source(camera_cnn_int8, str(camera_data.video))
    assert len(results) == camera_data.frames
    _check_accuracy(results, camera_data)


@pytest.mark.slow
def test_reads_the_image_folder_at_the_target_accuracy(camera_data, camera_cnn_int8):
    results = read_source(camera_cnn_int8, str(camera_data.folder))
    assert [r.source for r in results] == [f"frame_{i:04d}.jpg" for i in range(camera_data.frames)]
    _check_accuracy(results, camera_data)


@pytest.mark.slow
def test_low_confidence_regions_are_dropped(camera_data, full_cnn_int8):
    loose = read_source(full_cnn_int8, str(camera_data.folder), min_confidence=0.0, max_frames=10)
    strict = read_source(full_cnn_int8, str(camera_data.folder), min_confidence=0.999, max_frames=10)
    assert sum(len(r.digits) for r in strict) < sum(len(r.digits) for r in loose)
    assert all(d.confidence >= 0.999 for r in strict for d in r.digits)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads resident memory from /proc (Linux)")
def test_soak_a_looped_video_does_not_grow_in_memory(camera_data, full_cnn_int8):
    """Thousands of frames of the video played in a loop, with smoothing and JSON records: flat memory."""
    frames, warmup = 2400, 300
    recognizer = Recognizer(load_classifier(full_cnn_int8), smooth=3)
    samples, digits = [], 0
    with open_source(str(camera_data.video), loop=True, max_frames=frames) as source:
        for result in recognize_frames(recognizer, source):
            digits += len(result.digits)
            json.dumps(frame_record(result))
            if result.index >= warmup and result.index % 100 == 0:
                samples.append(_rss_mb())
    assert result.index == frames - 1 and digits > 5 * frames
    growth = max(samples) - samples[0]
    assert growth < 8, f"resident memory grew {growth:.1f} MB over {frames - warmup} frames: {[round(s) for s in samples]}"


def test_a_frame_of_faint_specks_beside_writing_looks_at_a_bounded_number_of_them(monkeypatch):
    # Thousands of pieces too faint alone (paper texture, a sprayed page) beside a line of dark strokes:
    # the search for faint writing on the line groups at most MAX_FAINT of them.
    from edge_mnist.camera import recognize

    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    page = np.full((480, 640), 220, np.uint8)
    for x, y in rng.integers((20, 20), (620, 460), (3000, 2)):
        cv2.rectangle(page, (int(x), int(y)), (int(x) + 2, int(y) + 2), 110, -1)  # a speck 3 px wide, half as dark
    for x in (100, 200, 300, 400):
        cv2.line(page, (x, 200), (x + 10, 250), 20, 4)
    grouped = []
    group_pieces = recognize.group_pieces
    monkeypatch.setattr(recognize, "group_pieces", lambda boxes: grouped.append(len(boxes)) or group_pieces(boxes))
    ink = find_ink(page)
    assert len(ink.faint) > recognize.MAX_FAINT  # the frame really has that many
    recognize._faint_writing(ink, Recognizer(_LogitsModel())._lines(ink))
    assert grouped and max(grouped) <= recognize.MAX_FAINT
