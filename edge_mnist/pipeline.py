"""`edge-mnist pipeline`: train every preset, then run each later stage on it, reusing what is up to date."""
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


def run_pipeline(presets: list[Preset], out: Path, force: bool = False, seed: int = 0, data=None, echo=print) -> dict:
    from edge_mnist.training import train

    mnist = load_mnist(data)
    rows = []
    for preset in presets:
        model_dir = Path(out) / preset.value
        record = None if force else _trained_is_current(model_dir, preset, seed)
        if record:
            echo(f"{preset.value}: up to date ({model_dir / (preset.value + '.keras')}), skipping training")
            row = {"model": preset.value, "accuracy": record["test_accuracy"], "train_seconds": record["seconds"], "trained": False}
        else:
            echo(f"{preset.value}: training")
            result = train(preset, mnist, model_dir, seed=seed)
            row = {"model": preset.value, "accuracy": result.test_accuracy, "train_seconds": result.seconds, "trained": True}
        row["keras"] = str(model_dir / f"{preset.value}.keras")
        rows.append(row)
    return {"models": rows}


def format_summary(summary: dict) -> str:
    lines = [f"{'model':<8} {'test acc':>9} {'train s':>8}  status", "-" * 40]
    for row in summary["models"]:
        status = "trained" if row["trained"] else "reused"
        lines.append(f"{row['model']:<8} {row['accuracy']:>9.2%} {row['train_seconds']:>8.0f}  {status}")
    return "\n".join(lines)
