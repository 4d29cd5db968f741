"""Benchmark a set of models: expand folders, one measurement per (model, threads), collect one report."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from edge_mnist.data import load_test_set
from edge_mnist.errors import EdgeMnistError, ModelError, error_class
from edge_mnist.files import write_atomic
from edge_mnist.firmware_bench.machine import machine_info
from edge_mnist.firmware_bench.measure import Settings, bench_model
from edge_mnist.firmware_bench.results import BenchReport, BenchResult
from edge_mnist.runtime import Runtime

MODEL_SUFFIXES = (".tflite", ".onnx")


def expand_models(paths) -> list[Path]:
    """Files as given; a folder stands for every .tflite/.onnx under it."""
    models = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES)
            if not found:
                raise ModelError(f"{path}: no .tflite or .onnx model in this folder")
            models += found
        elif path.is_file():
            models.append(path)
        else:
            raise ModelError(f"model not found: {path}")
    return list(dict.fromkeys(models))


def default_threads() -> list[int]:
    return sorted({1, os.cpu_count() or 1})


def _settings_for(model: Path, settings: Settings) -> Settings:
    """--runtime applies to the files of its family; the other family keeps its own runtime."""
    onnx = model.suffix.lower() == ".onnx"
    if settings.runtime is not None and (settings.runtime is Runtime.ONNXRUNTIME) != onnx:
        return replace(settings, runtime=None)
    return settings


def run_bench(paths, settings: Settings, threads: list[int], data=None, in_process: bool = False, outputs_dir: Path | None = None, progress=None) -> BenchReport:
    """Benchmark every model at every thread count.

    Each measurement runs in its own child process unless `in_process` (the emulated run cannot
    spawn children); in-process memory figures include everything measured before.
    """
    models = expand_models(paths)
    if settings.runtime is Runtime.TFLITE_MICRO:
        threads = [1]  # TensorFlow Lite Micro runs on one core, as on a microcontroller
    family = ".onnx" if settings.runtime is Runtime.ONNXRUNTIME else ".tflite"
    if settings.runtime and not any(m.suffix.lower() == family for m in models):
        raise ModelError(f"--runtime {settings.runtime.value} runs {family} files, and none was given")
    x, y = load_test_set(data)  # a missing or corrupt test set fails here, before any model is loaded
    if outputs_dir:
        outputs_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for model in models:
        for count in threads:
            one = replace(_settings_for(model, settings), threads=count)
            outputs = outputs_dir / f"{model.name}.t{count}.npy" if outputs_dir else None
            if progress:
                progress(f"{model} threads={count}")
            if in_process:
                results.append(replace(bench_model(model, x, y, one, outputs), process="in-process"))
            else:
                results.append(_in_child(model, one, data, outputs))
    runtimes = {r.runtime: r.runtime_version for r in results}
    run_settings = {**settings.to_json(), "threads": threads, "data": str(data) if data else None}
    return BenchReport(machine_info(runtimes), run_settings, results, measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _in_child(model: Path, settings: Settings, data, outputs: Path | None) -> BenchResult:
    from edge_mnist.firmware_bench.worker import args_for

    # sys.executable, never "python3" by name: the child must be this same environment.
    command = [sys.executable, "-m", "edge_mnist.firmware_bench.worker", *args_for(model, settings, data, outputs)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    try:
        payload = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        payload = None
    if isinstance(payload, dict) and "error" in payload:
        # The child's error, as the same member of the exception family it raised.
        raise error_class(payload.get("kind"))(payload["error"])
    if done.returncode != 0 or not isinstance(payload, dict):
        tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1][:200]
        raise ModelError(f"{model.name}: the runtime crashed on this model ({tail})")
    return BenchResult.from_json(payload)


def write_report(path, report: BenchReport) -> None:
    write_atomic(path, (json.dumps(report.to_json(), indent=2) + "\n").encode())


def load_report(path) -> BenchReport:
    """A report written by `bench --json`; anything else is refused."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise EdgeMnistError(f"bench report not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EdgeMnistError(f"{path}: not a bench JSON report ({exc})") from None
    try:
        return BenchReport.from_json(data)
    except EdgeMnistError as exc:
        raise EdgeMnistError(f"{path}: {exc}") from None
