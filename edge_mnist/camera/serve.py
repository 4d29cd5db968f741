"""A live view in any browser: the annotated frames as an MJPEG stream on a plain page.

Plain `http.server`, one thread per viewer. Bound to 127.0.0.1 unless told otherwise, because
the camera shows whatever is in front of it to whoever can reach the port.
"""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from edge_mnist._deps import require
from edge_mnist.errors import OutputError

BOUNDARY = "edge-mnist-frame"
# One self-contained page, no build step, no external files: the stream beside a panel that polls
# /latest.json. It flows into one column on a phone.
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-mnist camera</title>
<style>
body{margin:0;background:#181818;color:#eee;font-family:system-ui,-apple-system,sans-serif}
header{padding:.5rem 1rem;color:#aaa;font-size:1rem}
main{display:flex;flex-wrap:wrap;gap:1rem;padding:0 1rem 1rem}
#view{flex:2 1 420px;min-width:0}
#view img{display:block;width:100%;height:auto;background:#000;border-radius:6px}
#panel{flex:1 1 260px;min-width:0}
#text{font:700 clamp(2.2rem,7vw,4.5rem)/1.15 ui-monospace,monospace;color:#7cfc8a;min-height:1.2em;word-break:break-all}
#text .line{display:flex;flex-wrap:wrap;gap:.1em .6em}
#text .none{color:#666;font-weight:400}
table{border-collapse:collapse;margin-top:1rem;width:100%;font-size:1rem}
td{padding:.2rem .5rem .2rem 0;border-bottom:1px solid #2a2a2a}
td.v{text-align:right;font-variant-numeric:tabular-nums}
.hot{color:#ff9f43;font-weight:700}
#status{color:#888;font-size:.85rem;margin-top:.6rem}
</style></head>
<body>
<header>edge-mnist camera</header>
<main>
<div id="view"><img id="stream" src="/stream.mjpg" alt="live view"></div>
<section id="panel">
<div id="text" aria-live="polite"><span class="none">waiting for the first frame</span></div>
<table><tbody>
<tr><td>frame</td><td class="v" id="frame">-</td></tr>
<tr><td>frames per second</td><td class="v" id="fps">-</td></tr>
<tr><td>model</td><td class="v" id="model">-</td></tr>
<tr><td>runtime</td><td class="v" id="runtime">-</td></tr>
<tr><td>board temperature</td><td class="v" id="temperature">-</td></tr>
</tbody><tbody id="timings"></tbody></table>
<div id="status">connecting</div>
</section>
</main>
<script>
"use strict";
function el(id){return document.getElementById(id);}
function show(d){
  var text=el("text");
  text.textContent="";
  if(!d.lines||!d.lines.length){
    var none=document.createElement("span");none.className="none";none.textContent="no digits";text.appendChild(none);
  }
  (d.lines||[]).forEach(function(line){
    var row=document.createElement("div");row.className="line";
    line.numbers.forEach(function(n){var s=document.createElement("span");s.className="num";s.textContent=n.text;row.appendChild(s);});
    text.appendChild(row);
  });
  el("frame").textContent=d.frame;
  el("fps").textContent=d.fps==null?"-":d.fps.toFixed(1);
  el("model").textContent=d.model||"-";
  el("runtime").textContent=d.runtime||"-";
  var t=el("temperature");
  t.textContent=d.temperature_c==null?"not exposed":d.temperature_c.toFixed(1)+" \\u00b0C";
  t.className="v"+(d.temperature_c!=null&&d.temperature_c>=80?" hot":"");
  var rows=el("timings");rows.textContent="";
  Object.keys(d.timings_ms||{}).forEach(function(k){
    var tr=document.createElement("tr"),a=document.createElement("td"),b=document.createElement("td");
    a.textContent=k+" (ms)";b.className="v";b.textContent=d.timings_ms[k].toFixed(1);
    tr.appendChild(a);tr.appendChild(b);rows.appendChild(tr);
  });
  el("status").textContent="live";
}
function tick(){
  fetch("/latest.json",{cache:"no-store"}).then(function(r){
    if(r.ok){return r.json().then(show);}
    el("status").textContent=r.status===503?"waiting for the first frame":"error "+r.status;
  }).catch(function(){el("status").textContent="disconnected";}).then(function(){setTimeout(tick,250);});
}
tick();
</script>
</body></html>
"""


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
    """Serve `/` (the page), `/stream.mjpg` (the stream), `/frame.jpg` (the newest frame) and
    `/latest.json` (the newest reading: text, lines, fps, timings, model, runtime, temperature)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.latest = LatestFrame()
        self._reading = b""
        latest, server = self.latest, self

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
                elif self.path == "/latest.json":
                    reading = server._reading
                    self._send(200, "application/json", reading) if reading else self._send(503, "application/json", b'{"error": "no reading yet"}\n')
                else:
                    self._send(404, "text/plain", b"not found\n")

            def _send(self, code, kind, body):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
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

    def publish_reading(self, reading: dict) -> None:
        """The newest reading, served as /latest.json (serialised once here, not per request)."""
        self._reading = (json.dumps(reading) + "\n").encode()

    def close(self) -> None:
        self.latest.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
