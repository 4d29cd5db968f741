"""A live view in any browser: the annotated frames as an MJPEG stream on a plain page.

Plain `http.server`, one thread per viewer. Bound to 127.0.0.1 unless told otherwise, because
the camera shows whatever is in front of it to whoever can reach the port.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from edge_mnist._deps import require
from edge_mnist.errors import OutputError

BOUNDARY = "edge-mnist-frame"
PAGE = b"""<!doctype html><html><head><title>edge-mnist camera</title></head>
<body style="background:#222;color:#eee;font-family:sans-serif">
<h1>edge-mnist camera</h1><img src="/stream.mjpg" alt="live view"></body></html>"""


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT' or 'PORT' -> (host, port); the host defaults to 127.0.0.1."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise OutputError(f"--serve expects HOST:PORT or PORT, got {text!r}")
    return host or "127.0.0.1", number


class LatestFrame:
    """The newest JPEG; viewers wait for the next one instead of polling."""

    def __init__(self):
        self._jpeg: bytes | None = None
        self._changed = threading.Condition()
        self.closed = False

    def publish(self, jpeg: bytes) -> None:
        with self._changed:
            self._jpeg = jpeg
            self._changed.notify_all()

    def next(self, after: bytes | None, timeout: float = 5.0) -> bytes | None:
        with self._changed:
            self._changed.wait_for(lambda: self.closed or (self._jpeg is not None and self._jpeg is not after), timeout)
            return None if self.closed else self._jpeg

    def close(self) -> None:
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class MjpegServer:
    """Serve `/` (the page), `/stream.mjpg` (the stream) and `/frame.jpg` (the newest frame)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.latest = LatestFrame()
        latest = self.latest

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep stdout for the JSON lines
                pass

            def do_GET(self):
                if self.path == "/":
                    self._send(200, "text/html; charset=utf-8", PAGE)
                elif self.path == "/frame.jpg":
                    jpeg = latest.next(None)
                    self._send(200, "image/jpeg", jpeg) if jpeg else self._send(503, "text/plain", b"no frame yet\n")
                elif self.path == "/stream.mjpg":
                    self._stream()
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, code, kind, body):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self):
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                jpeg = None
                try:
                    while True:
                        jpeg = latest.next(jpeg)
                        if jpeg is None:
                            return
                        head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                        self.wfile.write(head + jpeg + b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return  # the viewer went away

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise OutputError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge-mnist-serve", daemon=True)
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        return self._server.server_address[:2]

    def publish(self, image: np.ndarray, quality: int = 80) -> None:
        cv2 = require("cv2")
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            self.latest.publish(jpeg.tobytes())

    def close(self) -> None:
        self.latest.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
