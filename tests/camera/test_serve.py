import threading
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
