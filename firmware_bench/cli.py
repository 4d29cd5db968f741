"""`edge-mnist bench`: the device benchmark's command line; all figures come from the library as data."""
from __future__ import annotations

from pathlib import Path

import click

from edge_mnist.runtime import Runtime, Scaling


def _threads(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        counts = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of thread counts") from None
    if not counts or counts[0] < 1:
        raise click.BadParameter("thread counts must be at least 1")
    return counts


@click.command()
@click.argument("models", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--runtime", type=click.Choice([r.value for r in Runtime]), default=None,
    help="Force a runtime (default: ai-edge-litert, then tflite-runtime, then tensorflow; onnxruntime for .onnx). "
    "tflite-micro runs full-int8 .tflite files in TensorFlow Lite Micro's reference kernels, one thread: "
    "accuracy and the measured arena; its latency is this machine's, never a microcontroller's.",
)
@click.option("--threads", default=None, help="Comma-separated thread counts (default: 1 and all cores).")
@click.option("--scaling", type=click.Choice([s.value for s in Scaling]), default=None, help="Pixel scaling of float inputs when the model cannot tell (default: inferred, else 0-1).")
@click.option("--runs", type=click.IntRange(10), default=300, show_default=True, help="Timed single-image inferences.")
@click.option("--batch", type=click.IntRange(1), default=64, show_default=True, help="Batch for throughput, where the model's batch axis is dynamic.")
@click.option("--limit", type=click.IntRange(1, 10000), default=None, help="Only the first N test images for accuracy and throughput (default: all 10,000).")
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=Path("bench.json"), show_default=True, help="Where to save the report (or, with --compare, nothing).")
@click.option("--in-process", is_flag=True, help="Measure in this process instead of one child per model (memory figures then accumulate).")
@click.option("--outputs", "outputs_dir", type=click.Path(path_type=Path), default=None, help="Also save each model's raw test-set scores as .npy here.")
@click.option("--compare", is_flag=True, help="MODELS are bench JSON reports: put the devices side by side and draw a chart.")
@click.option("--chart", type=click.Path(path_type=Path), default=Path("bench-compare.png"), show_default=True, help="The --compare chart (PNG).")
@click.option("--data", type=click.Path(path_type=Path), default=None, help="MNIST npz or IDX folder (default: $EDGE_MNIST_DATA, then the bundled copy).")
def bench(models, runtime, threads, scaling, runs, batch, limit, json_path, in_process, outputs_dir, compare, chart, data):
    """Latency, throughput, accuracy and memory of exported models (files or folders, default: artifacts/).

    Needs only numpy and a TFLite runtime (onnxruntime for .onnx); never TensorFlow unless forced
    with --runtime tensorflow.
    """
    from edge_mnist.firmware_bench import report as fmt

    if compare:
        from edge_mnist.firmware_bench.bench import load_report

        if len(models) < 2:
            raise click.UsageError("--compare takes two or more bench JSON reports")
        reports = [load_report(path) for path in models]
        click.echo(fmt.format_compare(reports))
        fmt.write_compare_chart(reports, chart)
        click.echo(f"chart: {chart}")
        return

    from edge_mnist.firmware_bench.bench import default_threads, run_bench, write_report
    from edge_mnist.firmware_bench.measure import Settings

    settings = Settings(
        runtime=Runtime(runtime) if runtime else None,
        scaling=Scaling(scaling) if scaling else None,
        runs=runs,
        warmup=max(runs // 10, 5),
        batch=batch,
        limit=limit,
    )
    report = run_bench(
        models or [Path("artifacts")],
        settings,
        _threads(threads) or default_threads(),
        data=data,
        in_process=in_process,
        outputs_dir=outputs_dir,
        progress=lambda text: click.echo(f"bench {text}", err=True),
    )
    click.echo(fmt.format_report(report))
    write_report(json_path, report)
    click.echo(f"report: {json_path}")
