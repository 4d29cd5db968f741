"""Export a `.keras` model to the chosen formats, gate each file, and only then put it in place.

Every file is written to a temporary sibling, run through the parity gate, and renamed over the
previous one only if it passed: a failing export leaves the last good artifact untouched. A format's
companion files (the tflm header and example) go through the same temporary-then-rename path.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

from edge_mnist.data import INPUT_NORMALIZATION, Mnist
from edge_mnist.errors import EdgeMnistError, FormatError, ModelError
from edge_mnist.export import manifest as mf
from edge_mnist.export.calibration import representative_images
from edge_mnist.export.formats import FORMATS, Format, format_of
from edge_mnist.export.parity import DEFAULT_MAX_DROP, DEFAULT_MIN_AGREEMENT, Parity, Reference, check, reference_scores
from edge_mnist.files import sha256
from edge_mnist.logs import native_quiet
from edge_mnist.models import Preset, load_keras_model
from edge_mnist.runtime import Predictor

DEFAULT_CALIBRATION_SIZE = 500
CALIBRATION_SOURCE = "training split, stratified over digits"


class Status(str, Enum):
    WRITTEN = "written"  # exported in this run, passed, renamed into place
    REUSED = "reused"  # already current on disk (same source model and settings), re-verified in this run
    FAILED = "FAILED"  # outside tolerance: the previous file, if any, was left as it was


@dataclass(frozen=True)
class ExportRow:
    format: str
    path: str  # where the file is (or, for a failed export, would have gone)
    size_bytes: int  # the file; for tflm, the model array (what goes to flash)
    size_vs_float: float  # size / size of the same runtime's float32 export of the same model
    status: Status
    figures: dict  # Parity.figures()
    plots: tuple[str, ...] = ()

    def to_json(self) -> dict:
        """The one JSON form of a row, in export --json and in the pipeline's summary alike."""
        return {**asdict(self), "status": self.status.value, "plots": list(self.plots)}

    @classmethod
    def from_json(cls, data: dict) -> "ExportRow":
        return cls(**{**data, "status": Status(data["status"]), "plots": tuple(data.get("plots", ()))})


@dataclass(frozen=True)
class ExportReport:
    model: str
    keras_path: str
    reference_accuracy: float  # the float Keras model on the test set, %
    manifest_path: str | None  # None when no file passed
    rows: list[ExportRow]
    results: list[Parity]  # every file checked in this run, for parity.enforce

    def to_json(self) -> dict:
        return {
            "model": self.model,
            "keras": self.keras_path,
            "reference_accuracy": self.reference_accuracy,
            "manifest": self.manifest_path,
            "rows": [row.to_json() for row in self.rows],
        }


@dataclass(frozen=True)
class VerifyReport:
    path: str
    keras_path: str
    size_bytes: int
    matches_manifest: bool | None  # sha256 equal to the manifest's record; None if not recorded
    result: Parity


def resolve_model(model: str, artifacts) -> Path:
    """A preset name means <artifacts>/<preset>/<preset>.keras; anything else is a path to a .keras file."""
    if model not in {p.value for p in Preset}:
        return Path(model)
    path = Path(artifacts) / model / f"{model}.keras"
    if not path.is_file():
        raise ModelError(f"model file not found: {path}; train it first: edge-mnist train --model {model} --out {artifacts}")
    return path


def export_model(
    keras_path,
    formats: list[Format],
    mnist: Mnist,
    calibration_size: int = DEFAULT_CALIBRATION_SIZE,
    seed: int = 0,
    max_drop: float = DEFAULT_MAX_DROP,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    reuse: bool = False,
    plots: bool = True,
    echo=lambda message: None,
) -> ExportReport:
    """Export, gate and place each format; returns every row, failures included. Call parity.enforce on `.results`.

    With `reuse`, a file already made from the same model with the same calibration is not exported
    again, but it is still re-verified.
    """
    keras_path = Path(keras_path)
    calibration = representative_images(mnist.x_train, mnist.y_train, calibration_size, seed)
    model = load_keras_model(keras_path)
    out_dir, name = keras_path.parent, keras_path.stem
    source_sha = sha256(keras_path)
    calibration_record = {"size": calibration_size, "seed": seed, "source": CALIBRATION_SOURCE}
    previous = mf.read_manifest(out_dir)["files"]
    reference = reference_scores(model, mnist.x_test, mnist.y_test)

    temps: list[Path] = []
    try:
        checked = []  # (format, final path, file checked, status, parity, {companion final: its temp})
        for fmt in formats:
            final = out_dir / f"{name}{fmt.suffix}"
            companions = {}
            if reuse and _is_current(previous.get(final.name), final, source_sha, calibration_record if fmt.calibrated else None):
                echo(f"{fmt.name}: up to date ({final}), re-verifying")
                path, status = final, Status.REUSED
            else:
                echo(f"{fmt.name}: exporting")
                files = _convert(fmt, model, calibration, keras_path, source_sha, calibration_record)
                # Beside the final file, so the rename after the gate is atomic.
                path = mf.write_temp(final, files.pop(fmt.suffix))
                temps.append(path)
                for suffix, data in files.items():
                    companion = out_dir / f"{name}{suffix}"
                    companions[companion] = mf.write_temp(companion, data)
                    temps.append(companions[companion])
                status = Status.WRITTEN
            result = check(Predictor(path), fmt, reference, mnist.x_test, max_drop, min_agreement)
            echo(f"{fmt.name}: {'passed' if result.passed else 'FAILED, ' + result.failure}")
            checked.append((fmt, final, path, status, result, companions))

        sizes = {fmt.name: result.micro["flash_bytes"] if result.micro else path.stat().st_size for fmt, _, path, _, result, _ in checked}
        # Before anything is renamed into place: a float conversion that fails here leaves no file without its record.
        float_sizes = {fmt.runtime: _float_size(fmt, sizes, previous, source_sha, model, calibration) for fmt, *_ in checked}
        rows, entries = [], {}
        for fmt, final, path, status, result, companions in checked:
            drawn = _plots(result, reference, mnist, out_dir, name, redraw=status is not Status.REUSED) if plots and fmt.quantized else ()
            if status is Status.REUSED:
                # Its record gets this run's figures, pass or fail.
                entries[final.name] = {**previous[final.name], "parity": result.figures(), "verified_at": _now()}
            elif result.passed:
                entries[final.name] = _entry(fmt, path, final, result, source_sha, keras_path, calibration_record, companions)
                for companion, tmp in companions.items():
                    os.replace(tmp, companion)
                os.replace(path, final)
            if not result.passed:
                status = Status.FAILED
            ratio = sizes[fmt.name] / float_sizes[fmt.runtime]
            rows.append(ExportRow(fmt.name, str(final), sizes[fmt.name], ratio, status, result.figures(), drawn))
        manifest_path = mf.update_manifest(out_dir, name, entries) if entries else None
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return ExportReport(name, str(keras_path), reference.accuracy, str(manifest_path) if manifest_path else None, rows, [c[4] for c in checked])


def _convert(fmt: Format, model, calibration, keras_path: Path, source_sha: str, calibration_record: dict) -> dict[str, bytes]:
    """{suffix: bytes} of every file the format writes, its main file first."""
    try:
        with native_quiet():  # converters print their settings and progress straight to stderr
            if fmt.companions:
                return fmt.exporter(model, calibration, keras_path.stem)
            data = fmt.exporter(model, calibration)
    except EdgeMnistError:
        raise
    except Exception as exc:  # converters raise anything from ValueError to ConverterError
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise ModelError(f"{fmt.name}: export of {keras_path} failed ({exc.__class__.__name__}: {first})") from None
    if fmt.runtime == "onnx":
        data = _with_onnx_metadata(
            data,
            {
                "edge_mnist.format": fmt.name,
                "edge_mnist.source_sha256": source_sha,
                "edge_mnist.input_normalization": INPUT_NORMALIZATION,
                "edge_mnist.calibration": f"{calibration_record['size']} images, seed {calibration_record['seed']}",
            },
        )
    return {fmt.suffix: data}


def _with_onnx_metadata(data: bytes, metadata: dict) -> bytes:
    """Record provenance inside the ONNX file too, where any ONNX tool can read it."""
    from edge_mnist._deps import require

    onnx = require("onnx")
    model = onnx.load_from_string(data)
    for key, value in metadata.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, str(value)
    return model.SerializeToString()


def _is_current(entry: dict | None, path: Path, source_sha: str, calibration_record: dict | None) -> bool:
    """The file on disk is what exporting again would make: same source model, same calibration, untouched."""
    companions = (entry or {}).get("companions") or {}
    return bool(
        entry
        and path.is_file()
        and all((path.parent / file).is_file() and sha256(path.parent / file) == digest for file, digest in companions.items())
        and entry.get("parity", {}).get("passed")
        and entry.get("source_model", {}).get("sha256") == source_sha
        and entry.get("calibration") == calibration_record
        and entry.get("sha256") == sha256(path)
    )


def _float_size(fmt: Format, sizes: dict[str, int], previous: dict, source_sha: str, model, calibration) -> int:
    """The size of the same runtime's float32 export: from this run, the manifest, or converted in memory to measure it."""
    family = "tflite" if fmt.runtime == "tflm" else fmt.runtime  # firmware carries a TFLite flatbuffer
    base = next(f for f in FORMATS.values() if f.runtime == family and not f.quantized)
    if base.name not in sizes:  # (keyed by name: tflm and tflite-int8 share the tflite float32 base)
        recorded = next((e for e in previous.values() if e.get("format") == base.name and e.get("source_model", {}).get("sha256") == source_sha), None)
        sizes[base.name] = recorded["size_bytes"] if recorded else len(base.exporter(model, calibration))
    return sizes[base.name]


def _entry(fmt: Format, path: Path, final: Path, result: Parity, source_sha: str, keras_path: Path, calibration_record: dict, companions: dict) -> dict:
    """The manifest record of a file that passed the gate."""
    micro = {}
    if result.micro:
        from edge_mnist.export.tflm import arena_margin, micro_runtime

        arena = result.micro["arena_bytes"]
        micro = {
            "flash_bytes": result.micro["flash_bytes"],
            "arena_bytes": arena,  # measured in TensorFlow Lite Micro: the smallest arena that ran the model
            "arena_margin_bytes": arena_margin(arena),
            "arena_runtime": f"{micro_runtime()}, reference kernels",
            "companions": {c.name: sha256(tmp) for c, tmp in companions.items()},
        }
    return {
        "file": final.name,
        "format": fmt.name,
        "description": fmt.description,
        "runtime": fmt.runtime,
        "size_bytes": path.stat().st_size,
        "sha256": sha256(path),
        **mf.io_spec(path),
        "parity": result.figures(),
        **micro,
        "source_model": {"file": keras_path.name, "sha256": source_sha},
        "calibration": calibration_record if fmt.calibrated else None,
        "input_normalization": INPUT_NORMALIZATION,
        "tools": mf.tool_versions(),
        "exported_at": _now(),
        "verified_at": _now(),
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _plots(result: Parity, reference: Reference, mnist: Mnist, out_dir: Path, name: str, redraw: bool) -> tuple[str, ...]:
    """Confusion matrix and disagreement grid; a rejected export's go beside, not over, the good file's pictures."""
    from edge_mnist.export.plots import confusion_plot, disagreement_plot

    stem = f"{name}.{result.format}" + ("" if result.passed else ".failed")
    confusion, grid = out_dir / f"{stem}.confusion.png", out_dir / f"{stem}.disagreements.png"
    if result.passed:
        for stale in out_dir.glob(f"{stem}.failed.*.png"):
            stale.unlink()
        if not redraw and confusion.is_file() and grid.is_file():
            return (str(confusion), str(grid))  # same file, same source model: the same pictures
    confusion_plot(reference.top1, result.top1, result.format, confusion)
    disagreement_plot(mnist.x_test, mnist.y_test, reference.top1, result.top1, result.format, grid)
    return (str(confusion), str(grid))


def source_model_of(path: Path, fmt: Format) -> Path | None:
    """The .keras file an export came from: the manifest's record, else the name it was exported under."""
    entry = mf.read_manifest(path.parent)["files"].get(path.name)
    if entry and entry.get("source_model", {}).get("file"):
        return path.parent / entry["source_model"]["file"]
    if path.name.endswith(fmt.suffix):
        return path.with_name(path.name[: -len(fmt.suffix)] + ".keras")
    return None


def verify_file(
    path,
    mnist: Mnist,
    keras_path=None,
    fmt: Format | None = None,
    max_drop: float = DEFAULT_MAX_DROP,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
) -> VerifyReport:
    """Re-run the gate on an exported file against its source model; a failed gate is in the result, not raised.

    `fmt` defaults to the format the file name ends with; give it for a file named otherwise.
    """
    path = Path(path)
    fmt = fmt or format_of(path)
    if path.suffix != Path(fmt.suffix).suffix:
        raise FormatError(f"{path.name}: {fmt.name} files end in {Path(fmt.suffix).suffix}")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    keras_path = Path(keras_path) if keras_path else source_model_of(path, fmt)
    if keras_path is None or not keras_path.is_file():
        found = f" (looked for {keras_path})" if keras_path else ""
        raise ModelError(f"{path.name}: cannot find the .keras model it came from{found}; pass --keras PATH")
    predictor = Predictor(path)  # a corrupt or non-MNIST file is refused before the slow reference run
    model = load_keras_model(keras_path)
    result = check(predictor, fmt, reference_scores(model, mnist.x_test, mnist.y_test), mnist.x_test, max_drop, min_agreement)
    entry = mf.read_manifest(path.parent)["files"].get(path.name)
    matches = (sha256(path) == entry["sha256"]) if entry and entry.get("sha256") else None
    return VerifyReport(str(path), str(keras_path), path.stat().st_size, matches, result)
