"""The Raspberry Pi path without a Pi: `edge-mnist bench` under qemu-aarch64, checked against this x86 machine.

Runs the bench in-process here and emulated (scripts/aarch64_env.sh: python3.11 + numpy + ai-edge-litert +
onnxruntime, no TensorFlow, the same runtime versions as this environment), then compares, model by model:
- accuracy: at most --max-changed test images may get a different top-1 (and the report says how many did);
- int8 outputs: equal within one quantization step after an int8 softmax, exactly equal otherwise;
- float outputs: within 1e-5;
- the emulated process never imported TensorFlow;
- with --camera-video, the camera path reads the video's frames (stored as PNG: the same pixels) exactly as
  on x86, and the video itself (each side decoding it) within CAMERA_TOLERANCE.
Emulated timings and memory are the emulator's: this script reports none of them.

Usage: python scripts/aarch64_check.py MODEL[@N]... [--json out.json] [--cpu cortex-a72] [--camera-video VIDEO]
MODEL@N uses only the first N test images for that model (emulation is slow: a conv net runs at about
50 images/s there); a bare MODEL uses all 10,000.
Exit code: 0 every check passed, 1 a check failed, 77 emulation unavailable here (reason on stderr).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np

from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.bench import load_report, run_bench
from edge_mnist.firmware_bench.machine import stamp, stamp_line
from edge_mnist.firmware_bench.measure import Settings
from edge_mnist.firmware_bench.results import BenchReport
from edge_mnist.table import Column, render

ENV_SCRIPT = Path(__file__).with_name("aarch64_env.sh")
UNAVAILABLE = 77
FLOAT_ATOL = 1e-5
RUNS = 20  # the bench's timed loop is not what is checked here; keep the emulated run short


def device_wheels() -> str:
    """The device side's wheels, pinned to this environment's versions so outputs can match bit for bit."""
    pins = [f"{name}=={version(name)}" for name in ("ai-edge-litert", "onnxruntime", "numpy", "opencv-python-headless")]
    return " ".join(pins + ["click", "tqdm"])


def parse_model(text: str) -> tuple[Path, int | None]:
    path, _, limit = text.rpartition("@")
    return (Path(path).resolve(), int(limit)) if path and limit.isdigit() else (Path(text).resolve(), None)


def bench_x86(models: list[Path], limit: int | None, outputs: Path) -> BenchReport:
    return run_bench(models, Settings(runs=RUNS, warmup=5, limit=limit), [1], in_process=True, outputs_dir=outputs)


# Digits of a video read differently on aarch64 (x86's reading as the reference): at most this share,
# and never fewer than min_digits allowed. The two OpenCV builds decode a video's frames one or two gray
# levels apart (FFmpeg's IDCT and colour conversion), and a digit near one of the reader's thresholds (a
# faint stroke's hysteresis, a cut, the confidence floor) goes either way: 0 to 2 of 41-43 digits in six
# frames, 13 of 126 in twenty (stop 22; a faint 0 lost, lines grouped anew). Given the same pixels the
# two read alike to the digit (the frames check, which must show no change), so what differs here is the
# decoding; a broken camera path (channels, thresholds, the model) changes most digits.
CAMERA_TOLERANCE = {"share": 0.2, "min_digits": 2}


def run_emulated(args: list[str], cpu: str) -> None:
    """`edge-mnist ARGS` in the emulated aarch64 Python; exits 77 if emulation cannot be set up here."""
    env = {**os.environ, "EDGE_MNIST_HOST_PYTHON": sys.executable, "EDGE_MNIST_AARCH64_WHEELS": device_wheels(), "EDGE_MNIST_AARCH64_CPU": cpu}
    command = ["bash", str(ENV_SCRIPT), "run", "-c", "from edge_mnist.cli import main; main()", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode == UNAVAILABLE:
        print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "aarch64 emulation unavailable", file=sys.stderr)
        sys.exit(UNAVAILABLE)
    if done.returncode != 0:
        raise SystemExit(f"emulated edge-mnist {args[0]} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")


def bench_emulated(models: list[Path], limit: int | None, outputs: Path, report: Path, cpu: str) -> BenchReport:
    # The emulated Python cannot start children (no binfmt_misc needed): measure in-process.
    args = ["bench", *map(str, models), "--in-process", "--threads", "1", "--runs", str(RUNS), "--json", str(report), "--outputs", str(outputs)]
    run_emulated(args + (["--limit", str(limit)] if limit else []), cpu)
    return load_report(report)


def camera_check(model: Path, video: Path, tmp: Path, cpu: str) -> dict:
    """The camera path, emulated and on x86, twice: on the video's frames decoded here and stored as PNG
    (the same pixels on both sides: the readings must be identical), and on the video itself (each side
    decodes it: within CAMERA_TOLERANCE)."""
    import cv2

    from edge_mnist.camera.recognize import read_source

    frames = tmp / "frames"
    frames.mkdir()
    capture = cv2.VideoCapture(str(video))
    for i in range(10_000):
        ok, image = capture.read()
        if not ok:
            break
        cv2.imwrite(str(frames / f"frame_{i:05d}.png"), image)
    capture.release()
    same_pixels = _read_alike(model, frames, tmp / "frames.jsonl", cpu, read_source)
    decoded = _read_alike(model, video, tmp / "video.jsonl", cpu, read_source)
    allowed = max(CAMERA_TOLERANCE["min_digits"], int(CAMERA_TOLERANCE["share"] * decoded["digits"]))
    passed = same_pixels["agree"] and same_pixels["digits_changed"] == 0 and decoded["agree"] and decoded["digits_changed"] <= allowed
    return {"model": model.name, "video": video.name, "frames": same_pixels, "decoded": {**decoded, "digits_allowed": allowed}, "passed": passed}


def _read_alike(model: Path, source: Path, log: Path, cpu: str, read_source) -> dict:
    """How the emulated camera's reading of `source` differs from x86's, frame by frame."""
    from edge_mnist.camera.evaluate import score_text

    run_emulated(["camera", "--model", str(model), "--source", str(source), "--headless", "--jsonl", str(log)], cpu)
    arm = [json.loads(line)["text"] for line in log.read_text().splitlines()]
    x86 = [result.text for result in read_source(model, str(source))]
    scores = [score_text(a, b) for a, b in zip(arm, x86)]
    return {
        "frames": len(x86),
        "agree": len(arm) == len(x86),  # as many frames read on both sides
        "digits": sum(s.digits for s in scores),
        "frames_differing": sum(a != b for a, b in zip(arm, x86)),
        # Digits of the x86 reading not read alike on aarch64, plus digits only aarch64 read.
        "digits_changed": sum(s.digits - s.read + s.extra for s in scores),
    }


def compare(x86: BenchReport, arm: BenchReport, x86_dir: Path, arm_dir: Path, max_changed: int) -> list[dict]:
    rows = []
    arm_results = {r.model: r for r in arm.results}
    for ref in x86.results:
        emu = arm_results[ref.model]
        a = np.load(x86_dir / f"{ref.model}.t1.npy", allow_pickle=False)
        b = np.load(arm_dir / f"{ref.model}.t1.npy", allow_pickle=False)
        quant = ref.detected["output_quant"]
        kind = ref.detected["output_kind"]
        diff = float(np.abs(a - b).max())
        if quant:
            # TFLite's int8 SOFTMAX kernel is arch-specific (one step, rarely); everything before it is exact.
            allowed, unit, value = (1.0 if kind == "probabilities" else 0.0), "steps", round(diff / quant["scale"], 6)
        else:
            allowed, unit, value = FLOAT_ATOL, "abs", diff
        changed = int((a.argmax(1) != b.argmax(1)).sum())
        checks = {
            "outputs": value <= allowed,
            "top1_changed": changed <= max_changed,
            "accuracy_equal_within_changed": abs(ref.correct - emu.correct) <= changed,
            "no_tensorflow": not emu.tensorflow_imported,
            "same_runtime_version": ref.runtime_version == emu.runtime_version,
        }
        rows.append({
            "model": ref.model,
            "runtime": f"{emu.runtime} {emu.runtime_version}",
            "images": ref.test_images,
            "x86_accuracy": ref.accuracy,
            "aarch64_accuracy": emu.accuracy,
            "top1_changed": changed,
            "max_output_diff": value,
            "diff_unit": unit,
            "allowed": allowed,
            "checks": checks,
            "passed": all(checks.values()),
        })
    return rows


COLUMNS = (
    Column.of("model"),
    Column.of("runtime"),
    Column.of("images", "d"),
    Column.of("x86_accuracy", ".2%", title="x86 acc"),
    Column.of("aarch64_accuracy", ".2%", title="arm acc"),
    Column.of("top1_changed", "d", title="changed"),
    Column("max diff", lambda r: f"{r['max_output_diff']:.3g} {r['diff_unit']} (<= {r['allowed']:g})", right=True),
    Column("ok", lambda r: "yes" if r["passed"] else "NO " + str([k for k, v in r["checks"].items() if not v])),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="MODEL or MODEL@N (only the first N test images)")
    parser.add_argument("--max-changed", type=int, default=2, help="Most test images whose top-1 may differ from x86.")
    parser.add_argument("--cpu", default="cortex-a72", help="qemu CPU: cortex-a72 is a Pi 4, cortex-a76 a Pi 5.")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--camera-video", type=Path, default=None, help="Also run `edge-mnist camera` on this video.")
    parser.add_argument("--camera-model", type=Path, default=None, help="The camera's model (default: the first .tflite given).")
    args = parser.parse_args()
    groups: dict[int | None, list[Path]] = {}
    for path, limit in map(parse_model, args.models):
        groups.setdefault(limit, []).append(path)
    rows = []
    with tempfile.TemporaryDirectory(prefix="edge-mnist-aarch64-") as tmp:
        tmp = Path(tmp)
        for i, (limit, models) in enumerate(groups.items()):  # one emulated bench per test-set size
            arm = bench_emulated(models, limit, tmp / "arm", tmp / f"arm{i}.json", args.cpu)
            x86 = bench_x86(models, limit, tmp / "x86")
            rows += compare(x86, arm, tmp / "x86", tmp / "arm", args.max_changed)
        camera = None
        if args.camera_video:
            model = args.camera_model or next(path for path, _ in map(parse_model, args.models) if path.suffix == ".tflite")
            camera = camera_check(Path(model).resolve(), args.camera_video.resolve(), tmp, args.cpu)
    record = {"kind": "aarch64-check", "emulated_machine": arm.machine, "cpu": args.cpu, "results": rows, "camera": camera, **stamp()}
    print(table(record, markdown=False))
    if args.json:
        write_atomic(args.json, (json.dumps(record, indent=2) + "\n").encode())
    return 0 if all(r["passed"] for r in rows) and (camera is None or camera["passed"]) else 1


def table(record: dict, markdown: bool = True) -> str:
    emulated = record["emulated_machine"]
    lines = [render(COLUMNS, record["results"], markdown), ""]
    camera = record.get("camera")
    if camera:
        same, decoded = camera["frames"], camera["decoded"]
        lines += [
            f"camera: {camera['model']} on {camera['video']}: its {same['frames']} frames as PNG (the same pixels): {same['frames_differing']} read differently, "
            f"{same['digits_changed']} of {same['digits']} digits changed (must be 0); the video decoded on each side: {decoded['frames_differing']} read differently, "
            f"{decoded['digits_changed']} of {decoded['digits']} digits changed (<= {decoded['digits_allowed']}): {'ok' if camera['passed'] else 'DIFFERENT'}",
            "",
        ]
    lines.append(
        f"Emulated {emulated['arch']} (qemu-aarch64 -cpu {record['cpu']}), Python {emulated['python']}, numpy {emulated['numpy']}, "
        f"{', '.join(f'{k} {v}' for k, v in emulated['runtimes'].items())}; against {stamp_line(record, load=False)}. Timings are not reported."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
