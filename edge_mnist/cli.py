"""The `edge-mnist` command: a thin shell over library functions that return data.

Subcommands live beside the code they drive and are imported only when invoked, so `--help`,
`bench` and `camera` never pay for (or need) TensorFlow. Every library error becomes one line and
exit code 2.
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import click

from edge_mnist import __version__, logs
from edge_mnist.errors import EdgeMnistError

# name -> "module:attribute" of a click command, imported on first use
LAZY_COMMANDS = {
    "train": "edge_mnist.cli:train",
    "inspect": "edge_mnist.cli:inspect",
    "pipeline": "edge_mnist.cli:pipeline",
    "export": "edge_mnist.export.cli:export",
    "verify": "edge_mnist.export.cli:verify",
    "bench": "edge_mnist.firmware_bench.cli:bench",
    "camera": "edge_mnist.camera.cli:camera",
    "read": "edge_mnist.camera.cli:read",
    "deploy": "edge_mnist.remote_cli:deploy",
}


class CliError(click.ClickException):
    exit_code = 2


class LazyGroup(click.Group):
    """Imports a subcommand's module only when the subcommand is asked for (or listed by --help).

    A subcommand whose module cannot be imported stays listed and says why, with the fix, instead
    of vanishing from --help.
    """

    def list_commands(self, ctx):
        return list(LAZY_COMMANDS)

    def get_command(self, ctx, name):
        if name not in LAZY_COMMANDS:
            return None
        module, attr = LAZY_COMMANDS[name].split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            return _unavailable(name, exc)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EdgeMnistError as exc:
            raise CliError(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__) from None


def _unavailable(name: str, exc: ImportError) -> click.Command:
    from edge_mnist._deps import fix_for

    reason = f"unavailable: {exc} (fix: {fix_for(exc.name)})" if exc.name else f"unavailable: {exc}"

    def fail(**_):
        raise CliError(f"{name} is {reason}")

    return click.Command(name, callback=fail, help=reason, short_help=reason, context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge-mnist")
@click.option("-v", "--verbose", is_flag=True, help="Show the log lines of TensorFlow, LiteRT and the converters (hidden by default).")
def cli(verbose):
    """MNIST classifiers from Keras training to verified int8 inference on a Raspberry Pi."""
    logs.set_verbose(verbose)


def main():
    cli(prog_name="edge-mnist")


data_option = click.option(
    "--data", type=click.Path(path_type=Path), default=None, help="MNIST npz or IDX folder (default: $EDGE_MNIST_DATA, then the bundled copy)."
)


precision_option = click.option(
    "--precision", type=click.Choice(["auto", "float32"]), default=None,
    help="auto: the recipe's mixed bfloat16 where the CPU has native bf16; float32: as on a CPU without it. Default: $EDGE_MNIST_PRECISION, else auto.",
)


@click.command()
@click.option("--model", "preset", default="cnn", show_default=True, help="Preset: softmax, mlp, mlp-bn, cnn, cnn-camera, edge.")
@click.option("--epochs", type=int, default=None, help="Override the recipe's epoch count.")
@click.option("--batch-size", type=int, default=None, help="Override the recipe's batch size.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tutorial", is_flag=True, help="Use the tutorial's original recipe instead of the fast default.")
@precision_option
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True, help="Artifacts folder; the model goes to OUT/<model>/.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@data_option
def train(preset, epochs, batch_size, seed, tutorial, precision, out, as_json, data):
    """Train a preset on MNIST; save .keras, history.json and the loss/accuracy plot."""
    from dataclasses import asdict

    from edge_mnist.data import load_mnist
    from edge_mnist.models import parse_preset
    from edge_mnist.training import recipe_for, resolve_precision, train as train_model

    preset = parse_preset(preset)
    recipe = recipe_for(preset, tutorial=tutorial, epochs=epochs, batch_size=batch_size)
    resolve_precision(recipe, precision)  # a bad $EDGE_MNIST_PRECISION is refused before the data is read
    mnist = load_mnist(data)
    result = train_model(preset, mnist, out / preset.value, recipe=recipe, seed=seed, precision=precision)
    if as_json:
        click.echo(json.dumps(asdict(result), indent=2))
    else:
        click.echo(
            f"{result.preset}: test accuracy {result.test_accuracy:.2%} after {result.epochs} epochs in {result.seconds:.0f} s"
            f" ({result.precision}) -> {result.model_path}"
        )


@click.command()
@click.option("--models", default="mlp,cnn,edge,cnn-camera", show_default=True, help="Comma-separated presets.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--force", is_flag=True, help="Redo every stage even where artifacts are up to date.")
@click.option("--seed", type=int, default=0, show_default=True)
@precision_option
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, help="Also write the summary as JSON here (also when a gate fails).")
@data_option
def pipeline(models, out, force, seed, precision, json_path, data):
    """The main job: train each model, export and verify every format, and print one summary table.

    Exits with code 2 if any exported file fails its parity gate, after printing the tables and
    writing the JSON, which records the failure.
    """
    from edge_mnist.export.parity import enforce
    from edge_mnist.files import write_atomic
    from edge_mnist.firmware_bench.machine import stamp
    from edge_mnist.models import parse_preset
    from edge_mnist.pipeline import format_summary, run_pipeline

    presets = [parse_preset(name.strip()) for name in models.split(",") if name.strip()]
    result = run_pipeline(presets, out, force=force, seed=seed, data=data, precision=precision, echo=lambda m: click.echo(m, err=True))
    click.echo(format_summary(result))
    if json_path:
        write_atomic(json_path, (json.dumps({**stamp(), **result.to_json()}, indent=2) + "\n").encode())
    enforce(result.parity)


@click.command()
@click.argument("model")
@click.option("--artifacts", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True, help="Artifacts folder a preset name is looked up in.")
@click.option("--json", "as_json", is_flag=True, help="Print the report card as JSON.")
def inspect(model, artifacts, as_json):
    """Report card of MODEL: a .keras, .tflite or .onnx file, or a preset name (its trained .keras).

    Per layer: operator, output shape, parameters, MACs and activation bytes; then the totals, the
    peak activation memory, the file size and, for a full-integer .tflite, the TensorFlow Lite Micro
    tensor arena, measured.
    """
    from edge_mnist.export.run import resolve_model
    from edge_mnist.report_card import format_card, report_card

    card = report_card(resolve_model(model, artifacts))
    click.echo(json.dumps(card, indent=2) if as_json else format_card(card))
