"""`edge-mnist pipeline`: train every preset, export it to every format and gate each file, reusing what is up to date."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from edge_mnist.data import load_mnist
from edge_mnist.models import DEFAULT, Preset


def _trained_is_current(model_dir: Path, preset: Preset, seed: int) -> dict | None:
    """The saved training record, if the model on disk was made by the current recipe and seed."""
    history = model_dir / f"{preset.value}.history.json"
    if not (model_dir / f"{preset.value}.keras").is_file() or not history.is_file():
        return None
    try:
        record = json.loads(history.read_text())
    except (OSError, ValueError):
        return None
    if record.get("recipe") != asdict(DEFAULT[preset]) or record.get("seed") != seed:
        return None
    return record


def formats_for(preset: Preset) -> list:
    """Every registry format; the firmware source (tflm) for the microcontroller preset only: the cnn's
    596 KB int8 model fits few boards, and a TFLite Micro gate on 10,000 digits of it takes minutes."""
    from edge_mnist.export.formats import FORMATS

    return [f for f in FORMATS.values() if f.runtime != "tflm" or preset is Preset.EDGE]


def run_pipeline(presets: list[Preset], out: Path, force: bool = False, seed: int = 0, data=None, echo=print) -> dict:
    """Train, export and verify each preset; raises ParityError (after echoing the summary) if any file failed its gate."""
    from edge_mnist.export.parity import enforce
    from edge_mnist.export.run import export_model
    from edge_mnist.training import train

    mnist = load_mnist(data)
    rows, results = [], []
    for preset in presets:
        model_dir = Path(out) / preset.value
        keras_path = model_dir / f"{preset.value}.keras"
        record = None if force else _trained_is_current(model_dir, preset, seed)
        if record:
            echo(f"{preset.value}: up to date ({keras_path}), skipping training")
            row = {"model": preset.value, "accuracy": record["test_accuracy"], "train_seconds": record["seconds"], "trained": False}
        else:
            echo(f"{preset.value}: training")
            result = train(preset, mnist, model_dir, seed=seed)
            row = {"model": preset.value, "accuracy": result.test_accuracy, "train_seconds": result.seconds, "trained": True}
        row["keras"] = str(keras_path)
        # A file is re-exported only if its source model or calibration changed; every file is re-verified.
        report = export_model(keras_path, formats_for(preset), mnist, seed=seed, reuse=not force, echo=lambda m, p=preset.value: echo(f"{p} {m}"))
        row["exports"] = [
            {"format": r.format, "path": r.path, "size_bytes": r.size_bytes, "size_vs_float": r.size_vs_float, "status": r.status.value, "plots": list(r.plots), **r.figures}
            for r in report.rows
        ]
        rows.append(row)
        results += report.results
    summary = {"models": rows}
    if any(not r.passed for r in results):
        echo(format_summary(summary))
        enforce(results)
    return summary


def format_summary(summary: dict) -> str:
    from edge_mnist.export.cli import HEADER, format_row

    lines = [f"{'model':<8} {'test acc':>9} {'train s':>8}  status", "-" * 40]
    for row in summary["models"]:
        status = "trained" if row["trained"] else "reused"
        lines.append(f"{row['model']:<8} {row['accuracy']:>9.2%} {row['train_seconds']:>8.0f}  {status}")
    lines += ["", f"{'model':<8} {HEADER}", "-" * (9 + len(HEADER))]
    for row in summary["models"]:
        lines += [f"{row['model']:<8} {format_row(e['format'], e['size_bytes'], e['size_vs_float'], e, e['status'])}" for e in row.get("exports", [])]
    return "\n".join(lines)
