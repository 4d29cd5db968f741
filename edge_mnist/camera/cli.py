"""`edge-mnist camera` (live recognition) and `edge-mnist read` (the digits in one picture)."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

DEFAULT_MODEL = Path("artifacts/cnn/cnn.int8.tflite")

model_option = click.option(
    "--model", type=click.Path(path_type=Path), default=DEFAULT_MODEL, show_default=True, help="Exported model: .tflite (int8 by default) or .onnx."
)
confidence_option = click.option(
    "--min-confidence", type=click.FloatRange(0, 1), default=0.5, show_default=True, help="Drop digits the model is less sure of."
)
threads_option = click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="Interpreter threads.")


@click.command()
@model_option
@click.option("--source", default="0", show_default=True, help="Camera index, picamera[:N], stream URL, video file, image or folder of images.")
@confidence_option
@click.option("--smooth", type=click.IntRange(0), default=0, show_default=True, help="Average each tracked region over this many frames (0 or 1: off).")
@click.option("--jsonl", "jsonl", default="-", show_default=True, help="Write one JSON line per frame here ('-' = stdout, '' = nowhere).")
@click.option("--serve", "serve", default=None, metavar="HOST:PORT", help="Live view as an MJPEG page in a browser (e.g. 127.0.0.1:8080).")
@click.option("--headless/--display", "headless", default=None, help="Force the OpenCV window off/on [default: on only when a display exists].")
@click.option("--max-frames", type=click.IntRange(1), default=None, help="Stop after this many frames.")
@click.option("--loop", is_flag=True, help="Play a video, image or folder in a loop (long runs, soak tests).")
@threads_option
@click.pass_context
def camera(ctx, model, source, min_confidence, smooth, jsonl, serve, headless, max_frames, loop, threads):
    """Read digits live from a camera (or a video, image or folder); JSON lines per frame."""
    from edge_mnist._deps import require
    from edge_mnist.camera.output import FpsMeter, Window, annotate, display_available, frame_record
    from edge_mnist.camera.recognize import Recognizer, load_classifier
    from edge_mnist.camera.serve import MjpegServer, parse_address
    from edge_mnist.camera.sources import open_source

    require("cv2").setNumThreads(threads)
    address = parse_address(serve) if serve else None
    recognizer = Recognizer(load_classifier(model, threads=threads), min_confidence=min_confidence, smooth=smooth)
    window = Window() if (not headless if headless is not None else display_available()) else None
    server = out = None
    count = 0
    try:
        with open_source(source, max_frames=max_frames, loop=loop) as frames:
            if address:
                server = MjpegServer(*address)
                click.echo(f"live view: http://{server.address[0]}:{server.address[1]}/", err=True)
            # A line-per-frame log is appended and flushed as it goes, so it can be followed live;
            # every line on disk is a whole record.
            out = sys.stdout if jsonl == "-" else open(jsonl, "w", encoding="utf-8") if jsonl else None
            fps = FpsMeter()
            for frame in frames:
                result = recognizer.recognize(frame)
                count += 1
                if out is not None:
                    out.write(json.dumps(frame_record(result)) + "\n")
                    out.flush()
                if window is None and server is None:
                    continue
                view = annotate(frame.image, result, fps.tick())
                if server is not None:
                    server.publish(view)
                if window is not None and not window.show(view):
                    break
    except KeyboardInterrupt:
        click.echo(f"stopped by Ctrl-C after {count} frames; source closed", err=True)
        ctx.exit(130)
    finally:
        if window is not None:
            window.close()
        if server is not None:
            server.close()
        if out is not None and out is not sys.stdout:
            out.close()
    click.echo(f"done: {count} frames", err=True)


@click.command()
@click.argument("image", type=click.Path(path_type=Path))
@model_option
@confidence_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--annotated", type=click.Path(path_type=Path), default=None, help="Also save the picture with boxes and labels here.")
@threads_option
def read(image, model, min_confidence, as_json, annotated, threads):
    """Print the digits in one picture, left to right, top to bottom."""
    from edge_mnist._deps import require
    from edge_mnist.camera.output import annotate, frame_record
    from edge_mnist.camera.recognize import Recognizer, load_classifier
    from edge_mnist.camera.sources import Frame, read_image

    cv2 = require("cv2")
    recognizer = Recognizer(load_classifier(model, threads=threads), min_confidence=min_confidence)
    frame = Frame(0, time.time(), image.name, read_image(image))
    result = recognizer.recognize(frame)
    if annotated is not None:
        _write_image(annotated, annotate(frame.image, result), cv2)
    if as_json:
        click.echo(json.dumps(frame_record(result), indent=2))
        return
    click.echo(result.text or "(no digits found)")
    for digit in result.digits:
        x, y, w, h = digit.box
        click.echo(f"  {digit.label}  confidence {digit.confidence:.2f}  box x={x} y={y} w={w} h={h}")


def _write_image(path: Path, image, cv2) -> None:
    from edge_mnist.errors import SourceError

    ok, data = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise SourceError(f"cannot encode an image as {path.suffix!r}; use .png or .jpg")
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.tobytes())
    os.replace(tmp, path)
