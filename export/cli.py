"""`edge-mnist export` and `edge-mnist verify`: the parity table at the command line."""
from __future__ import annotations

import json
from pathlib import Path

import click

from edge_mnist.cli import data_option
from edge_mnist.export.parity import DEFAULT_MAX_DROP, DEFAULT_MIN_AGREEMENT
from edge_mnist.export.run import DEFAULT_CALIBRATION_SIZE


def _tolerances(f):
    f = click.option(
        "--min-agreement", type=click.FloatRange(0, 100), default=DEFAULT_MIN_AGREEMENT, show_default=True,
        help="Smallest top-1 agreement (%) with the float model a quantized format must reach.",
    )(f)
    return click.option(
        "--max-drop", type=click.FloatRange(min=0), default=DEFAULT_MAX_DROP, show_default=True,
        help="Largest accuracy loss (percentage points) a quantized format may show.",
    )(f)


@click.command()
@click.option("--model", default="cnn", show_default=True, help="A preset name (uses ARTIFACTS/<preset>/<preset>.keras) or a path to a .keras file.")
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True, help="Artifacts folder a preset name is looked up in.")
@click.option("--int8", is_flag=True, help="Full-integer int8 TFLite with int8 input/output (the default when no format is chosen).")
@click.option("--uint8", is_flag=True, help="Full-integer int8 TFLite with uint8 input/output, as many Pi/Coral examples expect.")
@click.option("--formats", default=None, help="Comma-separated format names, e.g. tflite-int8,onnx,onnx-int8.")
@click.option("--all", "all_formats", is_flag=True, help="Every format in the registry.")
@click.option("--calibration-size", type=int, default=DEFAULT_CALIBRATION_SIZE, show_default=True, help="Training images used to calibrate int8 (stratified over digits).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the calibration sample.")
@_tolerances
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
@data_option
def export(model, artifacts, int8, uint8, formats, all_formats, calibration_size, seed, max_drop, min_agreement, as_json, data):
    """Export a trained model, verify every file against it, and keep only the files that pass.

    Files go next to the .keras model as <model>.<format>.{tflite,onnx}, with manifest.json and, for
    quantized formats, a float-vs-quantized confusion matrix and a grid of the digits they disagree on.
    Exits with code 2 if any format fails the parity gate; the previous good file stays in place.
    """
    from edge_mnist.data import load_mnist
    from edge_mnist.export.formats import FORMATS, INT8_DEFAULT, parse_formats
    from edge_mnist.export.parity import enforce
    from edge_mnist.export.report import format_table
    from edge_mnist.export.run import export_model, resolve_model

    # Refuse bad names before any slow work.
    names = list(FORMATS) if all_formats else [n.strip() for n in (formats or "").split(",") if n.strip()]
    names += ["tflite-int8"] * int8 + ["tflite-uint8"] * uint8
    chosen = parse_formats(names or [INT8_DEFAULT])
    keras_path = resolve_model(model, artifacts)
    report = export_model(
        keras_path, chosen, load_mnist(data), calibration_size=calibration_size, seed=seed, max_drop=max_drop,
        min_agreement=min_agreement, echo=(lambda m: None) if as_json else (lambda m: click.echo(m, err=True)),
    )
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(format_table(report))
        plots = [p for row in report.rows for p in row.plots]
        if plots:
            click.echo("plots: " + ", ".join(plots))
        if report.manifest_path:
            click.echo(f"manifest: {report.manifest_path}")
    enforce(report.results)


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--keras", "keras_path", type=click.Path(path_type=Path), default=None, help="The source .keras model (default: from manifest.json, else the file's own name).")
@click.option("--format", "format_name", default=None, help="The file's format, e.g. tflite-int8 (default: from its name, cnn.int8.tflite).")
@_tolerances
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@data_option
def verify(path, keras_path, format_name, max_drop, min_agreement, as_json, data):
    """Re-run the parity gate on an exported .tflite or .onnx file. Exit code 2 if it fails."""
    from edge_mnist.data import load_mnist
    from edge_mnist.export.formats import parse_formats
    from edge_mnist.export.parity import enforce
    from edge_mnist.export.report import COLUMNS
    from edge_mnist.export.run import ExportRow, verify_file
    from edge_mnist.table import render

    fmt = parse_formats([format_name])[0] if format_name else None
    report = verify_file(path, load_mnist(data), keras_path=keras_path, fmt=fmt, max_drop=max_drop, min_agreement=min_agreement)
    figures = report.result.figures()
    if as_json:
        payload = {"path": report.path, "keras": report.keras_path, "size_bytes": report.size_bytes, "matches_manifest": report.matches_manifest, **figures}
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(f"{report.path} against {report.keras_path} (float Keras model {figures['reference_accuracy']:.2f}%), run by {figures['runtime']}")
        row = ExportRow(report.result.format, report.path, report.size_bytes, None, "pass" if report.result.passed else "FAILED", figures)
        click.echo(render(COLUMNS, [row]))
        if report.matches_manifest is False:
            click.echo("note: this file's sha256 differs from the one recorded in manifest.json")
    enforce([report.result])
