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

from edge_mnist import __version__
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
}


class CliError(click.ClickException):
    exit_code = 2


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return [name for name in LAZY_COMMANDS if self._available(name)]

    def get_command(self, ctx, name):
        if name not in LAZY_COMMANDS:
            return None
        module, attr = LAZY_COMMANDS[name].split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            return None

    def _available(self, name):
        return self.get_command(None, name) is not None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except EdgeMnistError as exc:
            raise CliError(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge-mnist")
def cli():
    """MNIST classifiers from Keras training to verified int8 inference on a Raspberry Pi."""


def main():
    cli(prog_name="edge-mnist")


data_option = click.option(
    "--data", type=click.Path(path_type=Path), default=None, help="MNIST npz or IDX folder (default: $EDGE_MNIST_DATA, then the bundled copy)."
)


@click.command()
@click.option("--model", "preset", default="cnn", show_default=True, help="Preset: softmax, mlp, mlp-bn, cnn, cnn-camera, edge.")
@click.option("--epochs", type=int, default=None, help="Override the recipe's epoch count.")
@click.option("--batch-size", type=int, default=None, help="Override the recipe's batch size.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--tutorial", is_flag=True, help="Use the tutorial's original recipe instead of the fast default.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True, help="Artifacts folder; the model goes to OUT/<model>/.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@data_option
def train(preset, epochs, batch_size, seed, tutorial, out, as_json, data):
    """Train a preset on MNIST; save .keras, history.json and the loss/accuracy plot."""
    from edge_mnist.data import load_mnist
    from edge_mnist.models import parse_preset
    from edge_mnist.training import recipe_for, train as train_model

    preset = parse_preset(preset)
    recipe = recipe_for(preset, tutorial=tutorial, epochs=epochs, batch_size=batch_size)
    mnist = load_mnist(data)
    result = train_model(preset, mnist, out / preset.value, recipe=recipe, seed=seed)
    if as_json:
        click.echo(json.dumps(result.__dict__, indent=2))
    else:
        click.echo(f"{result.preset}: test accuracy {result.test_accuracy:.2%} after {result.epochs} epochs in {result.seconds:.0f} s -> {result.model_path}")


@click.command()
@click.option("--models", default="mlp,cnn,edge", show_default=True, help="Comma-separated presets.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("artifacts"), show_default=True)
@click.option("--force", is_flag=True, help="Redo every stage even where artifacts are up to date.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None, help="Also write the summary as JSON here.")
@data_option
def pipeline(models, out, force, seed, json_path, data):
    """The main job: train each model, export and verify every format, and print one summary table."""
    from edge_mnist.models import parse_preset
    from edge_mnist.pipeline import format_summary, run_pipeline

    presets = [parse_preset(name.strip()) for name in models.split(",") if name.strip()]
    summary = run_pipeline(presets, out, force=force, seed=seed, data=data, echo=click.echo)
    click.echo(format_summary(summary))
    if json_path:
        json_path.write_text(json.dumps(summary, indent=2, default=str))


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
