import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from click.testing import CliRunner

from edge_mnist.cli import cli

cv2 = pytest.importorskip("cv2")


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def model(tiny_exports):
    """The slice-trained cnn as int8 TFLite: these tests check the command, not the accuracy."""
    return tiny_exports["tflite-int8"]


def _lines(text):
    return [json.loads(line) for line in text.splitlines()]


def test_camera_headless_prints_one_json_line_per_frame(model, camera_data):
    result = invoke("camera", "--model", model, "--source", camera_data.video, "--headless", "--max-frames", 5)
    assert result.exit_code == 0, result.output
    records = _lines(result.stdout)
    assert [r["frame"] for r in records] == list(range(5))
    assert all(set(r["timings_ms"]) == {"preprocess", "infer", "postprocess", "total"} for r in records)
    assert all(r["source"] == "digits.avi" and r["timestamp"] > 1e9 for r in records)
    assert sum(len(r["digits"]) for r in records) >= 10  # the one-epoch model reads some: accuracy is test_recognize's
    assert "done: 5 frames" in result.stderr


def test_camera_writes_the_log_to_a_file(model, camera_data, tmp_path):
    log = tmp_path / "run.jsonl"
    result = invoke("camera", "--model", model, "--source", camera_data.folder, "--jsonl", log, "--threshold", "otsu")
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and [r["source"] for r in _lines(log.read_text())] == [f"frame_{i:04d}.jpg" for i in range(camera_data.frames)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]


def test_read_prints_the_digits_of_one_picture(model, camera_data, tmp_path):
    image = camera_data.folder / "frame_0002.jpg"
    text = invoke("read", image, "--model", model)
    assert text.exit_code == 0, text.output
    as_json = invoke("read", image, "--model", model, "--json", "--annotated", tmp_path / "seen.png")
    record = json.loads(as_json.stdout)
    lines = record["text"].splitlines()
    assert text.stdout.splitlines()[: len(lines)] == lines and len(record["digits"]) >= 3
    numbers = sum(len(line["numbers"]) for line in record["lines"])
    assert len(text.stdout.splitlines()) == len(lines) + numbers + len(record["digits"])
    seen = cv2.imread(str(tmp_path / "seen.png"))
    assert seen.shape == (480, 640, 3) and not np.array_equal(seen, cv2.imread(str(image)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seen.png"]


def _bad(result, message):
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_bad_sources_are_one_line_and_exit_2(model, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"not a picture")
    log = tmp_path / "run.jsonl"
    _bad(invoke("camera", "--model", model, "--source", 99, "--jsonl", log), "cannot open camera 99")
    _bad(invoke("camera", "--model", model, "--source", empty, "--jsonl", log), "no images in folder")
    _bad(invoke("camera", "--model", model, "--source", broken, "--jsonl", log), "cannot decode image")
    _bad(invoke("camera", "--model", model, "--source", tmp_path / "nope.avi", "--jsonl", log), "source not found")
    _bad(invoke("read", broken / "a.jpg", "--model", model), "cannot decode image")
    _bad(invoke("read", tmp_path / "missing.jpg", "--model", model), "cannot read image")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "empty"]  # no log of a failed run


def test_missing_picamera2_is_one_line_with_the_fix(model):
    try:
        import picamera2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("picamera2 is installed")
    _bad(invoke("camera", "--model", model, "--source", "picamera"), "fix: sudo apt install python3-picamera2")


def test_models_that_are_not_mnist_classifiers_are_refused(foreign_tflite, camera_data, tmp_path, tiny_exports):
    garbage = tmp_path / "noise.tflite"
    garbage.write_bytes(os.urandom(2048))
    image = camera_data.folder / "frame_0000.jpg"
    _bad(invoke("camera", "--model", foreign_tflite, "--source", image), "is not an MNIST image")
    _bad(invoke("read", image, "--model", foreign_tflite), "is not an MNIST image")
    _bad(invoke("read", image, "--model", garbage), "not a valid TFLite model")
    _bad(invoke("read", image, "--model", tmp_path / "none.tflite"), "model file not found")
    keras_file = tmp_path / "model.keras"
    keras_file.write_bytes(tiny_exports["tflite-int8"].read_bytes())
    _bad(invoke("read", image, "--model", keras_file), "unsupported model file")


def test_bad_outputs_are_one_line_and_exit_2(model, camera_data, tmp_path):
    image = camera_data.folder / "frame_0000.jpg"
    _bad(invoke("read", image, "--model", model, "--annotated", tmp_path / "seen.xyz"), "not an image format")
    _bad(invoke("camera", "--model", model, "--source", image, "--jsonl", tmp_path / "no" / "run.jsonl"), "cannot write the log")
    _bad(invoke("camera", "--model", model, "--source", image, "--serve", "localhost"), "--serve expects HOST:PORT")
    assert list(tmp_path.iterdir()) == []


def test_onnx_models_work_too(tiny_exports, camera_data):
    result = invoke("read", camera_data.folder / "frame_0000.jpg", "--model", tiny_exports["onnx"], "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["digits"]) >= 3


def test_camera_disconnect_gives_up_with_exit_2(model, fake_cameras, fake_capture, monkeypatch, tmp_path):
    from edge_mnist.camera import sources

    monkeypatch.setattr(sources, "BACKOFF", (0.01, 0.02))
    fake_cameras(fake_capture(frames=4))
    log = tmp_path / "run.jsonl"
    _bad(invoke("camera", "--model", model, "--source", 0, "--jsonl", log), "camera 0 stopped delivering frames; gave up after 2 reopen attempts")
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_stops_cleanly_and_closes_the_camera(model, fake_cameras, fake_capture, monkeypatch, tmp_path):
    from edge_mnist.camera.recognize import Recognizer

    handed = fake_cameras(fake_capture())
    recognize = Recognizer.recognize
    calls = []

    def interrupted_on_the_third_frame(self, frame):
        calls.append(frame.index)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return recognize(self, frame)

    monkeypatch.setattr(Recognizer, "recognize", interrupted_on_the_third_frame)
    log = tmp_path / "run.jsonl"
    result = invoke("camera", "--model", model, "--source", 0, "--jsonl", log)
    assert result.exit_code == 130
    assert "stopped by Ctrl-C after 2 frames; source closed" in result.stderr and "Traceback" not in result.output
    assert handed[0].released
    assert len(_lines(log.read_text())) == 2  # what was read before Ctrl-C is kept, whole


def test_serve_streams_the_annotated_view_and_sigint_stops_it(model, camera_data, tmp_path):
    """The real command in its own process: a browser's view over HTTP, then Ctrl-C (SIGINT)."""
    log = tmp_path / "run.jsonl"
    code = "from edge_mnist.cli import main; main()"
    args = ["camera", "--model", str(model), "--source", str(camera_data.video), "--loop", "--serve", "127.0.0.1:0", "--jsonl", str(log)]
    # -X faulthandler: if it ever hangs, SIGABRT below dumps every thread's stack into the failure.
    # As from a terminal: SIGINT at its default, which Python turns into KeyboardInterrupt. (A runner
    # that started us in the background may pass SIGINT on ignored, and Python then keeps ignoring it.)
    process = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-c", code, *args],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for _ in range(20):  # runtimes may log a line or two first
            line = process.stderr.readline()
            if not line or line.startswith("live view:"):
                break
        assert line.startswith("live view: http://127.0.0.1:"), line
        url = line.split()[-1]
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        assert "/stream.mjpg" in page
        jpeg = urllib.request.urlopen(url + "frame.jpg", timeout=10).read()
        view = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert view.shape == (480, 640, 3)
        assert (np.abs(view.astype(int) - [0, 200, 0]).sum(axis=2) < 120).sum() > 200  # green digit boxes drawn
        part = log.with_name(log.name + ".part")
        deadline = time.monotonic() + 120  # until it has looped: bounded, and no assumption about the frame rate
        while time.monotonic() < deadline and (not part.exists() or part.read_text().count("\n") <= camera_data.frames):
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        try:
            stderr = process.communicate(timeout=60)[1]
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)
            pytest.fail("no exit 60 s after SIGINT; stacks:\n" + process.communicate(timeout=10)[1][-6000:])
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "stopped by Ctrl-C" in stderr and "Traceback" not in stderr
    records = _lines(log.read_text())
    assert len(records) > camera_data.frames  # it looped


def test_camera_on_tflite_never_imports_tensorflow(run_isolated, model, camera_data):
    out = run_isolated(
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from edge_mnist.cli import cli\n"
        f"r = CliRunner().invoke(cli, ['camera', '--model', {str(model)!r}, '--source', {str(camera_data.video)!r}, '--max-frames', '3', '--headless'])\n"
        "assert r.exit_code == 0, r.output\n"
        f"r = CliRunner().invoke(cli, ['read', {str(camera_data.folder / 'frame_0000.jpg')!r}, '--model', {str(model)!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras')))\n"
    )
    assert out.strip().splitlines()[-1] == "[]"


def test_display_without_window_support_says_what_to_do(model, camera_data, tmp_path):
    # opencv-python-headless (the [pi] extra) has no GUI: forcing the window is a clear error, not a crash.
    gui = cv2.getBuildInformation().split("GUI:")[1].split()[0]
    if gui != "NONE":
        pytest.skip(f"this OpenCV has window support ({gui})")
    log = tmp_path / "run.jsonl"
    _bad(invoke("camera", "--model", model, "--source", camera_data.video, "--display", "--jsonl", log), "use --headless (or --serve)")
    assert list(tmp_path.iterdir()) == []


def _blank_page(seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(215, 3, (480, 640, 3)), 0, 255).astype(np.uint8)  # paper texture and sensor noise


def _marks_page():
    """No digits: a ruled page with a margin, dashes, dots, commas, punched holes and a thumb at the edge."""
    page = _blank_page(1)
    for y in range(40, 480, 45):
        cv2.line(page, (0, y), (639, y + 6), (200, 160, 120), 2)
    cv2.line(page, (90, 0), (92, 479), (130, 130, 220), 2)
    for x, y in [(150, 100), (260, 150), (400, 260), (520, 330)]:
        cv2.line(page, (x, y), (x + 22, y + 1), (40, 40, 40), 4)  # dashes
        cv2.circle(page, (x + 60, y + 8), 3, (40, 40, 40), -1)  # dots
    for y in range(30, 480, 32):
        cv2.circle(page, (40, y), 6, (35, 35, 35), -1)  # spiral holes
    cv2.ellipse(page, (639, 300), (60, 90), 20, 0, 360, (110, 140, 190), -1)  # a thumb
    return page


@pytest.mark.parametrize(
    "picture",
    [_blank_page, _marks_page, lambda: np.zeros((480, 640, 3), np.uint8), lambda: np.full((480, 640, 3), 255, np.uint8)],
    ids=["blank page", "marks but no digits", "all black", "over-exposed"],
)
def test_pictures_without_digits_read_as_none(model, tmp_path, picture):
    path = tmp_path / "picture.png"
    cv2.imwrite(str(path), picture())
    result = invoke("read", path, "--model", model)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "(no digits found)"
    record = json.loads(invoke("read", path, "--model", model, "--json").stdout)
    assert record["digits"] == [] and record["lines"] == [] and record["text"] == ""


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads peak memory from /proc (Linux)")
def test_a_huge_picture_is_read_in_bounded_time_and_memory(model, mnist, tmp_path):
    """An 8000x6000 photo: read at a bounded working size, in its own process, under a time limit."""
    from edge_mnist.camera.synth import write_page

    scene = write_page(mnist, [[[0, 1, 2]]], height=120, pen=10)
    path = tmp_path / "huge.jpg"
    cv2.imwrite(str(path), cv2.resize(scene.image, (8000, 6000), interpolation=cv2.INTER_LINEAR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    # Peak memory from the kernel's high-water mark of this process's own memory: ru_maxrss would carry
    # the parent's (pytest with TensorFlow loaded) across exec.
    code = (
        "import json, sys; from edge_mnist.cli import main\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "peak = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "print(json.dumps({'code': code, 'peak_mb': peak / 1024}), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, "read", str(path), "--model", str(model), "--json"], capture_output=True, text=True, timeout=180)
    status = json.loads(done.stderr.strip().splitlines()[-1])
    assert status["code"] in (0, None), done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert len(record["digits"]) >= 2  # the writing is still there at the working size
    assert all(d["box"][3] > 600 for d in record["digits"])  # boxes in the photo's own pixels
    assert status["peak_mb"] < 600, status  # the decoded photo is 144 MB; everything else works downscaled
