"""Benchmark a set of models: expand folders, one measurement per (model, threads), collect one report."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from edge_mnist.errors import EdgeMnistError, ModelError
from edge_mnist.firmware_bench.machine import machine_info
from edge_mnist.firmware_bench.measure import Settings, bench_model, load_test_set
from edge_mnist.runtime import Runtime

SCHEMA = "edge-mnist-bench/1"
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


def run_bench(paths, settings: Settings, threads: list[int], data=None, in_process: bool = False, outputs_dir: Path | None = None, progress=None) -> dict:
    """Benchmark every model at every thread count; returns the JSON-ready report.

    Each measurement runs in its own child process unless `in_process` (the emulated run cannot
    spawn children); in-process memory figures include everything measured before.
    """
    models = expand_models(paths)
    if settings.runtime is Runtime.TFLITE_MICRO:
        threads = [1]  # TensorFlow Lite Micro runs on one core, as on a microcontroller
    family = ".onnx" if settings.runtime is Runtime.ONNXRUNTIME else ".tflite"
    if settings.runtime and not any(m.suffix.lower() == family for m in models):
        raise ModelError(f"--runtime {settings.runtime.value} runs {family} files, and none was given")
    if in_process:
        x, y = load_test_set(data)  # fails early on a missing test set, before any model is loaded
    else:
        from edge_mnist.data import resolve_path

        if not resolve_path(data).exists():
            raise EdgeMnistError(f"MNIST test set not found at {resolve_path(data)}; fix: pass --data PATH to an mnist.npz or IDX folder")
    if outputs_dir:
        outputs_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for model in models:
        for count in threads:
            one = replace(_settings_for(model, settings), threads=count)
            outputs = outputs_dir / f"{model.name}.t{count}.npy" if outputs_dir else None
            if progress:
                progress(f"{model} threads={count}")
            result = bench_model(model, x, y, one, outputs) if in_process else _in_child(model, one, data, outputs)
            result["process"] = "in-process" if in_process else "child"
            results.append(result)
    runtimes = {r["runtime"]: r["runtime_version"] for r in results}
    return {"schema": SCHEMA, "machine": machine_info(runtimes), "settings": _settings_json(settings, threads, data), "results": results}


def _in_child(model: Path, settings: Settings, data, outputs: Path | None) -> dict:
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
        raise EdgeMnistError(payload["error"])
    if done.returncode != 0 or not isinstance(payload, dict):
        tail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1][:200]
        raise ModelError(f"{model.name}: the runtime crashed on this model ({tail})")
    return payload


def _settings_json(settings: Settings, threads: list[int], data) -> dict:
    return {
        "runtime": settings.runtime.value if settings.runtime else None,
        "scaling": settings.scaling.value if settings.scaling else None,
        "threads": threads,
        "runs": settings.runs,
        "warmup": settings.warmup,
        "batch": settings.batch,
        "limit": settings.limit,
        "data": str(data) if data else None,
    }


def load_report(path) -> dict:
    """A report written by `bench --json`; anything else is refused."""
    path = Path(path)
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise EdgeMnistError(f"bench report not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EdgeMnistError(f"{path}: not a bench JSON report ({exc})") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA or not isinstance(report.get("results"), list):
        raise EdgeMnistError(f"{path}: not a bench JSON report (expected schema {SCHEMA})")
    return report
