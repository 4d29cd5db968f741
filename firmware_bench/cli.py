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
@click.option("--on", "hosts", multiple=True, metavar="HOST",
              help="Run on this board too (repeatable; see `edge-mnist deploy`): MODELS are then paths in its deploy folder [default: artifacts]. "
              "Each report comes back to --reports, and the boards are compared with this machine's run.")
@click.option("--reports", "reports_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("bench-reports"), show_default=True,
              help="With --on: where each board's report (HOST.json) and this machine's (desktop.json) are saved.")
@click.option("--no-desktop", is_flag=True, help="With --on: compare the boards only, without running here.")
@click.option("--ssh-config", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None, help="With --on: an ssh_config file, passed to ssh as -F.")
@click.option("--dir", "remote_dir", default="~/edge-mnist", show_default=True, help="With --on: the deploy folder on the board.")
def bench(models, runtime, threads, scaling, runs, batch, limit, json_path, in_process, outputs_dir, compare, chart, data, hosts, reports_dir, no_desktop,
          ssh_config, remote_dir):
    """Latency, throughput, accuracy and memory of exported models (files or folders, default: artifacts/).

    Needs only numpy and a TFLite runtime (onnxruntime for .onnx); never TensorFlow unless forced
    with --runtime tensorflow.
    """
    from edge_mnist.firmware_bench import report as fmt

    if hosts:
        if compare or outputs_dir or data:
            raise click.UsageError("--on runs the boards' deployed models on their bundled test set: no --compare, --outputs or --data with it")
        args = [str(m) for m in models] + ["--runs", str(runs), "--batch", str(batch)]
        args += (["--runtime", runtime] if runtime else []) + (["--threads", threads] if threads else []) + (["--scaling", scaling] if scaling else [])
        args += (["--limit", str(limit)] if limit else []) + (["--in-process"] if in_process else [])
        _bench_on(hosts, args, reports_dir, chart, ssh_config, remote_dir, desktop=None if no_desktop else dict(
            models=models, runtime=runtime, threads=threads, scaling=scaling, runs=runs, batch=batch, limit=limit, in_process=in_process))
        return

    if compare:
        from edge_mnist.firmware_bench.bench import load_report

        if len(models) < 2:
            raise click.UsageError("--compare takes two or more bench JSON reports")
        reports = [load_report(path) for path in models]
        click.echo(fmt.format_compare(reports))
        fmt.write_compare_chart(reports, chart)
        click.echo(f"chart: {chart}")
        return

    from edge_mnist.firmware_bench.bench import write_report

    report = _run_here(models, runtime, threads, scaling, runs, batch, limit, in_process, outputs_dir=outputs_dir, data=data)
    click.echo(fmt.format_report(report))
    write_report(json_path, report)
    click.echo(f"report: {json_path}")


def _run_here(models, runtime, threads, scaling, runs, batch, limit, in_process, outputs_dir=None, data=None):
    from edge_mnist.firmware_bench.bench import default_threads, run_bench
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
    return report


def _bench_on(hosts, args, reports_dir: Path, chart: Path, ssh_config, remote_dir: str, desktop: dict | None) -> None:
    """Each board's bench over SSH, then this machine's, then the comparison table and chart."""
    from edge_mnist.errors import RemoteError
    from edge_mnist.firmware_bench import report as fmt
    from edge_mnist.firmware_bench.bench import write_report
    from edge_mnist.firmware_bench.results import BenchReport
    from edge_mnist.remote import Target, remote_bench

    reports, failures = [], []
    for host in hosts:
        out = reports_dir / f"{host.replace('/', '_')}.json"
        click.echo(f"{host}: bench on the board, report -> {out}", err=True)
        try:
            data = remote_bench(Target(host, ssh_config), args, out, remote_dir, echo=lambda text: click.echo(text, err=True))
        except KeyboardInterrupt:
            click.echo(f"stopped by Ctrl-C: the bench on {host} is stopped, no report written for it", err=True)
            click.get_current_context().exit(130)
        except RemoteError as exc:
            failures.append(str(exc))
            if len(hosts) > 1:
                click.echo(f"FAILED {exc}", err=True)
            continue
        reports.append(BenchReport.from_json(data))
    if desktop is not None and reports:
        click.echo("desktop: bench here, for comparison", err=True)
        local = _run_here(**desktop)
        local = BenchReport({**local.machine, "device": f"desktop {local.machine['device']}"}, local.settings, local.results, measured_at=local.measured_at)
        write_report(reports_dir / "desktop.json", local)
        reports.insert(0, local)
    if reports:
        click.echo(fmt.format_compare(reports) if len(reports) > 1 else fmt.format_report(reports[0]))
        if len(reports) > 1:
            fmt.write_compare_chart(reports, chart)
            click.echo(f"chart: {chart}")
        click.echo(f"reports: {reports_dir}/")
    if failures:
        raise RemoteError(failures[0] if len(failures) == 1 else f"{len(failures)} of {len(hosts)} boards failed; first: {failures[0]}")
