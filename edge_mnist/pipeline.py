"""`edge-mnist pipeline`: train every preset, export it to every format and gate each file, reusing what is up to date.

The library returns what happened, failed gates included; the command line prints it, writes the
JSON and turns a failed gate into exit code 2.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edge_mnist.data import load_mnist
from edge_mnist.models import DEFAULT, Preset
from edge_mnist.table import Column, render


@dataclass(frozen=True)
class ModelSummary:
    model: str
    keras: str
    accuracy: float  # the float Keras model on the test set, 0-1
    train_seconds: float
    trained: bool  # False: the model on disk was current and reused
    precision: str  # what training computed in: "float32" or "mixed_bfloat16"
    exports: tuple = ()  # ExportRow per format

    def to_json(self) -> dict:
        return {**asdict(self), "exports": [row.to_json() for row in self.exports]}

    @classmethod
    def from_json(cls, data: dict) -> "ModelSummary":
        from edge_mnist.export.run import ExportRow

        return cls(**{**data, "exports": tuple(ExportRow.from_json(row) for row in data["exports"])})


@dataclass(frozen=True)
class PipelineResult:
    models: list[ModelSummary]
    parity: list = field(default_factory=list, repr=False)  # every file's Parity, for parity.enforce

    @property
    def failure(self) -> str | None:
        """One line naming every format that failed its gate; None when all passed."""
        from edge_mnist.export.parity import failure_line

        return failure_line(self.parity)

    def to_json(self) -> dict:
        return {"models": [m.to_json() for m in self.models], "passed": self.failure is None, "failure": self.failure}


def _trained_is_current(model_dir: Path, preset: Preset, seed: int, precision: str) -> dict | None:
    """The saved training record, if the model on disk was made by the current recipe, seed and precision."""
    history = model_dir / f"{preset.value}.history.json"
    if not (model_dir / f"{preset.value}.keras").is_file() or not history.is_file():
        return None
    try:
        record = json.loads(history.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    if record.get("recipe") != asdict(DEFAULT[preset]) or record.get("seed") != seed or record.get("precision") != precision:
        return None
    return record


def formats_for(preset: Preset) -> list:
    """Every registry format; the firmware source (tflm) for the microcontroller preset only: the cnn's
    596 KB int8 model fits few boards, and a TFLite Micro gate on 10,000 digits of it takes minutes."""
    from edge_mnist.export.formats import FORMATS

    return [f for f in FORMATS.values() if f.runtime != "tflm" or preset is Preset.EDGE]


def run_pipeline(
    presets: list[Preset], out: Path, force: bool = False, seed: int = 0, data=None, precision: str | None = None, echo=lambda message: None
) -> PipelineResult:
    """Train, export and verify each preset; a failed gate is in the result (`.failure`), never raised here.

    `precision` is training's switch ("auto" or "float32"; None reads $EDGE_MNIST_PRECISION); `echo`
    receives progress messages.
    """
    from edge_mnist.export.run import export_model
    from edge_mnist.training import resolve_precision, train

    mnist = load_mnist(data)
    models, parity = [], []
    for preset in presets:
        model_dir = Path(out) / preset.value
        keras_path = model_dir / f"{preset.value}.keras"
        effective = resolve_precision(DEFAULT[preset], precision)
        record = None if force else _trained_is_current(model_dir, preset, seed, effective)
        if record:
            echo(f"{preset.value}: up to date ({keras_path}), skipping training")
            trained = (record["test_accuracy"], record["seconds"], False)
        else:
            echo(f"{preset.value}: training ({effective})")
            result = train(preset, mnist, model_dir, seed=seed, precision=precision)
            trained = (result.test_accuracy, result.seconds, True)
        # A file is re-exported only if its source model or calibration changed; every file is re-verified.
        report = export_model(keras_path, formats_for(preset), mnist, seed=seed, reuse=not force, echo=lambda m, p=preset.value: echo(f"{p} {m}"))
        models.append(ModelSummary(preset.value, str(keras_path), *trained, effective, tuple(report.rows)))
        parity += report.results
    return PipelineResult(models, parity)


TRAINING_COLUMNS = (
    Column.of("model"),
    Column.of("accuracy", ".2%", title="test acc"),
    Column.of("train_seconds", ".0f", title="train s"),
    Column.of("precision"),
    Column("status", lambda m: "trained" if m.trained else "reused"),
)


def format_summary(result: PipelineResult, markdown: bool = False) -> str:
    """The training table, then every model's export table."""
    from edge_mnist.export.report import format_models

    return "\n\n".join([render(TRAINING_COLUMNS, result.models, markdown), format_models([(m.model, m.exports) for m in result.models], markdown)])
