import json

import numpy as np
import pytest

from edge_mnist.camera.output import FpsMeter, JsonLines, OutputError, annotate, display_available, frame_record
from edge_mnist.camera.recognize import Digit, FrameResult, Line, Number

FOUR, TWO, SEVEN = Digit(4, 0.98765, (10, 20, 30, 40)), Digit(2, 0.9, (60, 20, 30, 40)), Digit(7, 0.75, (160, 20, 30, 40))
RESULT = FrameResult(
    7,
    1700000000.123456,
    "frame_0007.jpg",
    (Line((Number((FOUR, TWO)),)), Line((Number((SEVEN,)), Number((TWO,))))),
    {"preprocess": 1.2, "infer": 0.8, "postprocess": 0.01, "total": 2.01},
)


def digit(d):
    return {"label": d.label, "confidence": d.confidence, "box": list(d.box)}


def test_frame_record_is_plain_json():
    record = json.loads(json.dumps(frame_record(RESULT)))
    assert record == {
        "frame": 7,
        "timestamp": 1700000000.123,
        "source": "frame_0007.jpg",
        "text": "42\n7 2",
        "lines": [
            {"text": "42", "numbers": [{"text": "42", "digits": [digit(FOUR), digit(TWO)]}]},
            {"text": "7 2", "numbers": [{"text": "7", "digits": [digit(SEVEN)]}, {"text": "2", "digits": [digit(TWO)]}]},
        ],
        "digits": [digit(FOUR), digit(TWO), digit(SEVEN), digit(TWO)],
        "timings_ms": {"preprocess": 1.2, "infer": 0.8, "postprocess": 0.01, "total": 2.01},
    }


def test_jsonl_file_appears_only_when_the_run_ends(tmp_path):
    path = tmp_path / "run.jsonl"
    log = JsonLines(str(path))
    log.write({"frame": 0})
    assert not path.exists() and (tmp_path / "run.jsonl.part").read_text() == '{"frame": 0}\n'  # followable while it runs
    log.close(keep=True)
    assert path.read_text() == '{"frame": 0}\n' and not (tmp_path / "run.jsonl.part").exists()


def test_a_failed_run_keeps_the_previous_log(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("earlier run\n")
    log = JsonLines(str(path))
    log.write({"frame": 0})
    log.close(keep=False)
    assert path.read_text() == "earlier run\n" and list(tmp_path.iterdir()) == [path]


def test_jsonl_to_stdout(capsys):
    log = JsonLines("-")
    log.write({"frame": 1})
    log.close(keep=True)
    assert capsys.readouterr().out == '{"frame": 1}\n'


def test_unwritable_log_is_a_clear_error(tmp_path):
    with pytest.raises(OutputError, match="cannot write the log"):
        JsonLines(str(tmp_path / "missing" / "run.jsonl"))


def test_annotate_draws_on_a_copy():
    frame = np.full((120, 160, 3), 255, np.uint8)
    out = annotate(frame, RESULT, fps=12.5)
    assert out.shape == frame.shape and (frame == 255).all()
    assert (out[20, 10:40] != 255).any()  # the box's top edge
    gray = annotate(frame[..., 0], RESULT)
    assert gray.shape == (120, 160, 3)


def test_display_is_detected_from_the_environment(monkeypatch):
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert not display_available()
    monkeypatch.setenv("DISPLAY", ":0")
    assert display_available()


def test_fps_meter_counts_frames_over_time(monkeypatch):
    clock = iter([0.0, 0.1, 0.2, 0.3])
    monkeypatch.setattr("edge_mnist.camera.output.time.perf_counter", lambda: next(clock))
    meter = FpsMeter()
    assert [round(meter.tick(), 6) for _ in range(4)] == [0.0, 10.0, 10.0, 10.0]
