import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from edge_mnist.camera.output import OutputError
from edge_mnist.camera.serve import BOUNDARY, MjpegServer, parse_address

cv2 = pytest.importorskip("cv2")


def test_parse_address_defaults_to_localhost():
    assert parse_address("8080") == ("127.0.0.1", 8080)
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    for bad in ("localhost", "host:99999", ":x"):
        with pytest.raises(OutputError, match="--serve expects HOST:PORT"):
            parse_address(bad)


@pytest.fixture
def server():
    server = MjpegServer("127.0.0.1", 0)
    yield server
    server.close()


def _get(server, path):
    host, port = server.address
    return urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5)


def test_serves_the_page_and_the_newest_frame(server):
    assert server.address[0] == "127.0.0.1"
    page = _get(server, "/").read().decode()
    assert 'src="/stream.mjpg"' in page and 'id="text"' in page and "/latest.json" in page
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, 32:] = (0, 0, 255)
    server.publish(frame)
    with _get(server, "/frame.jpg") as response:
        assert response.headers["Content-Type"] == "image/jpeg"
        decoded = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == frame.shape and decoded[24, 48, 2] > 200 and decoded[24, 10, 2] < 50
    with pytest.raises(urllib.error.HTTPError, match="404"):
        _get(server, "/etc/passwd")


def test_stream_sends_jpeg_parts_until_closed(server):
    server.publish(np.zeros((48, 64, 3), np.uint8))
    response = _get(server, "/stream.mjpg")
    assert response.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    assert response.readline() == f"--{BOUNDARY}\r\n".encode()
    assert response.readline() == b"Content-Type: image/jpeg\r\n"
    length = int(response.readline().split(b":")[1])
    response.readline()
    assert response.read(length)[:2] == b"\xff\xd8"  # a JPEG
    threading.Timer(0.2, server.latest.close).start()
    assert response.read() == b"\r\n"  # the stream ends when the run does


def test_a_taken_port_is_a_clear_error(server):
    with pytest.raises(OutputError, match="cannot serve on 127.0.0.1"):
        MjpegServer("127.0.0.1", server.address[1])


def test_latest_json_serves_the_newest_reading(server):
    with pytest.raises(urllib.error.HTTPError, match="503"):
        _get(server, "/latest.json")
    server.publish_reading({"frame": 3, "text": "12 7", "fps": 9.5})
    with _get(server, "/latest.json") as response:
        assert response.headers["Content-Type"] == "application/json"
        assert json.loads(response.read()) == {"frame": 3, "text": "12 7", "fps": 9.5}


# --------------------------------------------------------------------------------------------
# The page in a real browser
# --------------------------------------------------------------------------------------------
def as_from_a_terminal() -> None:
    """A child's preexec_fn: SIGINT at its default, which Python turns into KeyboardInterrupt, as from a
    terminal. (A runner that started the tests in the background passes SIGINT on ignored, and Python
    then keeps ignoring it: Ctrl-C would never reach the command under test.)"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def ctrl_c(process: subprocess.Popen, timeout: float) -> int:
    """Ctrl-C to a child and its exit code; a child still running `timeout` s later is killed, not left behind."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        pytest.fail(f"still running {timeout} s after Ctrl-C (killed)")


def start_reader(args: list[str], timeout: float = 120) -> tuple[subprocess.Popen, str, list[str]]:
    """`edge-mnist ARGS` in a child; returns it once it printed a line with a URL, that URL, and its stderr lines."""
    process = subprocess.Popen([sys.executable, "-m", "edge_mnist", *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, preexec_fn=as_from_a_terminal)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        url = next((line.split("http://", 1)[1].split()[0] for line in lines if "live view" in line and "http://" in line), None)
        if url:
            return process, "http://" + url, lines
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.kill()
    process.wait(10)
    pytest.fail(f"no live view URL within {timeout} s: {''.join(lines)[-2000:]}")


def wait_for_reading(url: str, after_frame: int = 2, timeout: float = 60) -> dict:
    """The newest reading once the reader is past its first frames (the frame rate needs two)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "latest.json", timeout=5) as response:
                reading = json.loads(response.read())
            if reading["frame"] >= after_frame:
                return reading
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"{url}latest.json gave no reading past frame {after_frame} within {timeout} s")


def shown_lines(dom: str) -> list[str]:
    """The numbers the page's text panel shows, one string per written line, from the dumped DOM."""
    panel = re.search(r'<div id="text"[^>]*>(.*?)</div>\s*<table', dom, re.S)
    assert panel, dom[:3000]
    return [" ".join(re.findall(r'<span class="num">([^<]*)</span>', line)) for line in re.findall(r'<div class="line">(.*?)</div>', panel.group(1), re.S)]


def check_page(url: str, chromium, folder) -> dict:
    """Load the page in headless Chromium: the text panel shows what /latest.json says, and the stream's frame is drawn."""
    reading = wait_for_reading(url)
    dom, shot = chromium(url, folder)
    after = wait_for_reading(url)
    assert reading["text"] == after["text"] and after["frame"] > reading["frame"], "the still video must read the same on every frame"
    assert reading["text"], reading  # something is read, or the comparison below is vacuous
    assert shown_lines(dom) == reading["text"].split("\n"), (shown_lines(dom), reading["text"])
    assert re.search(r'id="fps">\d+\.\d<', dom) and re.search(r'id="runtime">\S+ \S+<', dom) and 'id="status">live<' in dom
    assert re.search(r"<td>infer \(ms\)</td>", dom) or re.search(r"\(ms\)</td>", dom), "per-stage timings shown"
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[1] == 1000
    # The stream's frame (a white page of paper) is drawn in the left part of the window: the MJPEG reached the browser.
    assert (image[60:500, 20:600] > 200).all(axis=2).mean() > 0.3, "no frame drawn in the screenshot"
    return after


def test_the_page_shows_what_is_read_in_headless_chromium(tiny_exports, still_video, chromium, tmp_path):
    process, url, lines = start_reader(["camera", "--model", str(tiny_exports["tflite-int8"]), "--source", str(still_video), "--loop",
                                        "--serve", "127.0.0.1:0", "--jsonl", "", "--headless"])
    try:
        reading = check_page(url, chromium, tmp_path / "chromium")
        assert reading["model"] == "cnn.int8.tflite" and reading["fps"] > 0 and set(reading["timings_ms"]) >= {"infer", "total"}
    finally:
        code = ctrl_c(process, 30)
    assert code == 130, "".join(lines)[-2000:]
