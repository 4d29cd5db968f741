"""`edge-mnist camera` (live recognition) and `edge-mnist read` (the digits in one picture)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import click

from edge_mnist.camera.preprocess import PreprocessConfig, Threshold

model_option = click.option(
    "--model",
    type=click.Path(path_type=Path),
    default=None,
    help="Exported model, .tflite or .onnx [default: the best in artifacts/: cnn-camera, else cnn, edge, mlp (int8)].",
)


def _model(model: Path | None) -> Path:
    from edge_mnist.camera.recognize import default_model

    if model is not None:
        return model
    model = default_model()
    click.echo(f"model: {model}", err=True)
    return model
confidence_option = click.option(
    "--min-confidence", type=click.FloatRange(0, 1), default=0.5, show_default=True, help="Drop digits the model is less sure of."
)
threshold_option = click.option(
    "--threshold",
    type=click.Choice([t.value for t in Threshold]),
    default=Threshold.ADAPTIVE.value,
    show_default=True,
    help="Ink threshold: adaptive copes with uneven light, otsu is one global level.",
)
threads_option = click.option("--threads", type=click.IntRange(1), default=1, show_default=True, help="Interpreter and OpenCV threads.")


@click.command()
@model_option
@click.option("--source", default="0", show_default=True, help="Camera index, picamera[:N], stream URL, video file, image or folder of images.")
@confidence_option
@click.option("--smooth", type=click.IntRange(0), default=0, show_default=True, help="Average each tracked region over this many frames (0 or 1: off).")
@click.option("--jsonl", "jsonl", default="-", show_default=True, help="One JSON line per frame here ('-' = stdout, '' = nowhere); a file is written as FILE.part and renamed when the run ends.")
@click.option("--serve", "serve", default=None, metavar="HOST:PORT", help="Live view as an MJPEG page in a browser; PORT alone binds 127.0.0.1.")
@click.option("--headless/--display", "headless", default=None, help="Force the OpenCV window off/on [default: on only when a display exists].")
@click.option("--max-frames", type=click.IntRange(1), default=None, help="Stop after this many frames.")
@click.option("--loop", is_flag=True, help="Play a video, image or folder in a loop (long runs, soak tests).")
@threshold_option
@threads_option
@click.pass_context
def camera(ctx, model, source, min_confidence, smooth, jsonl, serve, headless, max_frames, loop, threshold, threads):
    """Read digits live from a camera (or a video, image or folder); JSON lines per frame."""
    from edge_mnist._deps import require
    from edge_mnist.camera.output import FpsMeter, JsonLines, Window, annotate, display_available, frame_record
    from edge_mnist.camera.recognize import Recognizer, load_classifier
    from edge_mnist.camera.serve import MjpegServer, parse_address
    from edge_mnist.camera.sources import open_source

    require("cv2").setNumThreads(threads)
    address = parse_address(serve) if serve else None
    config = PreprocessConfig(threshold=Threshold(threshold))
    recognizer = Recognizer(load_classifier(_model(model), threads=threads), min_confidence=min_confidence, smooth=smooth, config=config)
    window = server = log = None
    count, finished, interrupted = 0, False, False
    try:
        # Open the source first: a camera that cannot be opened leaves no log and no server behind.
        with open_source(source, max_frames=max_frames, loop=loop) as frames:
            if address:
                server = MjpegServer(*address)
                click.echo(f"live view: http://{server.address[0]}:{server.address[1]}/", err=True)
            if headless is False or (headless is None and display_available()):
                window = Window()
            log = JsonLines(jsonl) if jsonl else None
            fps = FpsMeter()
            for frame in frames:
                result = recognizer.recognize(frame)
                count += 1
                if log is not None:
                    log.write(frame_record(result))
                if window is None and server is None:
                    continue
                view = annotate(frame.image, result, fps.tick())
                if server is not None:
                    server.publish(view)
                if window is not None and not window.show(view):
                    break
        finished = True
    except KeyboardInterrupt:
        finished = interrupted = True  # the `with` has closed the source; every logged line is whole
    finally:
        if window is not None:
            window.close()
        if server is not None:
            server.close()
        if log is not None:
            log.close(keep=finished)
    if interrupted:
        click.echo(f"stopped by Ctrl-C after {count} frames; source closed", err=True)
        ctx.exit(130)
    click.echo(f"done: {count} frames", err=True)


@click.command()
@click.argument("image", type=click.Path(path_type=Path))
@model_option
@confidence_option
@threshold_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--annotated", type=click.Path(path_type=Path), default=None, help="Also save the picture with boxes and labels here (.png or .jpg).")
def read(image, model, min_confidence, threshold, as_json, annotated):
    """Print the numbers in one picture: one line per written line, a space between numbers."""
    from edge_mnist.camera.output import annotate, frame_record
    from edge_mnist.camera.recognize import Recognizer, load_classifier
    from edge_mnist.camera.sources import Frame, read_image

    recognizer = Recognizer(load_classifier(_model(model)), min_confidence=min_confidence, config=PreprocessConfig(threshold=Threshold(threshold)))
    frame = Frame(0, time.time(), image.name, read_image(image))
    result = recognizer.recognize(frame)
    if annotated is not None:
        _write_image(annotated, annotate(frame.image, result))
    if as_json:
        click.echo(json.dumps(frame_record(result), indent=2))
        return
    click.echo(result.text or "(no digits found)")
    for number, line in ((n, i) for i, line in enumerate(result.lines, 1) for n in line.numbers):
        click.echo(f"  line {line}  {number.text}")
        for digit in number.digits:
            x, y, w, h = digit.box
            click.echo(f"    {digit.label}  confidence {digit.confidence:.2f}  box x={x} y={y} w={w} h={h}")


def _write_image(path: Path, image) -> None:
    """Encode by the file's suffix, then write a temporary file and rename it: never a half-written picture."""
    from edge_mnist._deps import require
    from edge_mnist.errors import OutputError
    from edge_mnist.files import write_atomic

    cv2 = require("cv2")
    try:
        ok, data = cv2.imencode(path.suffix, image)
    except cv2.error:
        ok = False
    if not ok:
        raise OutputError(f"cannot write {path}: {path.suffix or 'no suffix'} is not an image format this OpenCV writes; use .png or .jpg")
    try:
        write_atomic(path, data.tobytes())
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None
