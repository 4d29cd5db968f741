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
@click.option("--on", "on", default=None, metavar="HOST",
              help="Run the reader on this board (see `edge-mnist deploy`), its view on the board's 127.0.0.1 forwarded here over SSH; "
              "--model and --source are then the board's (paths relative to its deploy folder).")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="With --on: the local port of the forwarded view [default: a free one].")
@click.option("--ssh-config", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="With --on: an ssh_config file, passed to ssh as -F.")
@click.option("--dir", "remote_dir", default="~/edge-mnist", show_default=True, help="With --on: the deploy folder on the board.")
@click.pass_context
def camera(ctx, model, source, min_confidence, smooth, jsonl, serve, headless, max_frames, loop, threshold, threads, on, port, ssh_config, remote_dir):
    """Read digits live from a camera (or a video, image or folder); JSON lines per frame.

    With --on HOST the reader runs on a Raspberry Pi and its browser view is forwarded to this
    machine: open the printed URL; Ctrl-C stops the reader on the board and the tunnel.
    """
    if on:
        args = ["--source", source, "--min-confidence", str(min_confidence), "--smooth", str(smooth), "--threshold", threshold, "--threads", str(threads)]
        args += (["--model", str(model)] if model else []) + (["--max-frames", str(max_frames)] if max_frames else []) + (["--loop"] if loop else [])
        _camera_on(ctx, on, args, port, ssh_config, remote_dir)
        return
    from edge_mnist._deps import require
    from edge_mnist.camera.output import FpsMeter, JsonLines, Window, annotate, display_available, frame_record
    from edge_mnist.camera.recognize import Recognizer, load_classifier
    from edge_mnist.camera.serve import MjpegServer, parse_address
    from edge_mnist.camera.sources import open_source
    from edge_mnist.firmware_bench.machine import temperature_c

    require("cv2").setNumThreads(threads)
    address = parse_address(serve) if serve else None
    config = PreprocessConfig(threshold=Threshold(threshold))
    model = _model(model)
    predictor = load_classifier(model, threads=threads)
    recognizer = Recognizer(predictor, min_confidence=min_confidence, smooth=smooth, config=config)
    about = {"model": model.name, "runtime": f"{predictor.runtime.value} {predictor.runtime_version}"}
    temperature = _Every(1.0, temperature_c)
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
                rate = fps.tick()
                view = annotate(frame.image, result, rate)
                if server is not None:
                    server.publish(view)
                    server.publish_reading({**frame_record(result), "fps": round(rate, 2), **about, "temperature_c": temperature()})
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


class _Every:
    """`read()` at most once per `seconds`, the last value in between (a sysfs read per frame is waste)."""

    def __init__(self, seconds: float, read):
        self.seconds, self.read, self.at, self.value = seconds, read, float("-inf"), None

    def __call__(self):
        now = time.monotonic()
        if now - self.at >= self.seconds:
            self.at, self.value = now, self.read()
        return self.value


def _camera_on(ctx, host: str, args: list[str], port: int, ssh_config: Path | None, remote_dir: str) -> None:
    """The reader on a board, watched here through an SSH tunnel until Ctrl-C or its end."""
    from edge_mnist.errors import RemoteError
    from edge_mnist.remote import Target, ssh_failure, start_camera

    def relay(line: str) -> None:
        # the board's own "live view" URL is on the board's loopback: only ours is useful here
        if not line.split(": ", 1)[-1].startswith(("live view:", "board pid ")):
            click.echo(line, err=True)

    running = start_camera(Target(host, ssh_config), args, remote_dir, local_port=port, echo=relay)
    click.echo(f"live view of {host}: {running.url}  (Ctrl-C stops the reader on {host} and the tunnel)", err=True)
    try:
        while running.alive():
            time.sleep(0.2)
    except KeyboardInterrupt:
        running.stop()
        click.echo(f"stopped: the reader on {host} and the tunnel are closed", err=True)
        ctx.exit(130)
    code = running.stop()
    if code == 255:
        raise RemoteError(ssh_failure(host, "\n".join(running.log)))
    if code != 0:
        raise RemoteError(f"{host}: the camera stopped with exit code {code}: {running.log[-1] if running.log else 'no message'}")
    click.echo(f"the reader on {host} finished", err=True)


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
