"""Bench reports as text tables, JSON files and a comparison chart; matplotlib only for the chart."""
from __future__ import annotations

from pathlib import Path

from edge_mnist.files import atomic_write
from edge_mnist.firmware_bench.machine import warnings
from edge_mnist.firmware_bench.results import BenchReport
from edge_mnist.table import Column, render


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 2**20 else _mb(n)


COLUMNS = (
    Column("model", lambda r: r.model),
    Column("format", lambda r: r.format),
    Column("runtime", lambda r: r.runtime),
    Column("thr", lambda r: r.threads, right=True),
    Column("size", lambda r: _size(r.size_bytes), right=True),
    Column("accuracy", lambda r: f"{r.accuracy:.2%}", right=True),
    Column("p50 us", lambda r: f"{r.latency_us.p50:.1f}", right=True),
    Column("p99 us", lambda r: f"{r.latency_us.p99:.1f}", right=True),
    Column("img/s", lambda r: f"{r.throughput.images_per_s:.0f}", right=True),
    Column("batch", lambda r: r.throughput.batch, right=True),
    Column("cold ms", lambda r: f"{r.cold_start_ms.total:.1f}", right=True),
    Column("peak RSS", lambda r: _mb(r.memory_bytes.peak), right=True),
    Column("overhead", lambda r: f"{r.overhead.ratio:.2f}x", right=True),
)


def machine_line(machine: dict) -> str:
    """The machine in one line: device, CPU, cores, RAM, OS, Python and runtimes."""
    runtimes = ", ".join(f"{k} {v}" for k, v in machine["runtimes"].items())
    ram = f"{machine['ram_bytes'] / 2**30:.1f} GB RAM" if machine.get("ram_bytes") else "RAM unknown"
    extra = "".join(
        f", {text}"
        for text in (
            f"governor {machine['governor']}" if machine.get("governor") else "",
            f"{machine['temperature_c']:.0f} C" if machine.get("temperature_c") is not None else "",
        )
        if text
    )
    line = f"{machine['device']}: {machine['cpu']} ({machine['arch']}, {machine['cores']} cores, {ram}), {machine['os']}, Python {machine['python']}, {runtimes}{extra}"
    return line + "".join(f"  WARNING {w}" for w in warnings(machine))


def format_report(report: BenchReport) -> str:
    """The table the bench prints, with the machine and every assumption made about a model."""
    lines = [machine_line(report.machine), "", render(COLUMNS, report.results)]
    notes = {}
    for r in report.results:
        d = r.detected
        notes.setdefault(r.model, f"{r.model}: input {d['layout']} {d['input_dtype']}, output {d['output_kind']}, scaling {d['scaling']}"
                         + "".join(f"; ASSUMED {a}" for a in d["assumptions"]))
    lines += ["", *notes.values()]
    lines += [
        f"{r.model} on tflite-micro: tensor arena {r.tflm['arena_bytes']:,} bytes (measured); "
        "latency is this desktop running TFLite Micro's reference kernels, NOT a microcontroller timing"
        for r in report.results
        if r.tflm
    ]
    lines.append("p50/p99: single-image latency; img/s: full test set at the batch shown; cold ms: load + first inference on a fresh interpreter;"
                 " overhead: predict path / bare runtime call.")
    if report.machine.get("emulated"):
        lines.append("EMULATED run: timings and memory are the emulator's, not a device's; only accuracy and outputs carry over.")
    if any(r.process == "in-process" for r in report.results):
        lines.append("in-process run: peak RSS includes every model measured before it in the same process.")
    return "\n".join(lines)


def _key(r) -> tuple:
    return (r.model, r.runtime, r.threads)


def _device_names(reports: list[BenchReport]) -> list[str]:
    # a board benched over SSH goes by the name the user gave it (`bench --on HOST`)
    names = [r.machine.get("ssh_host") or r.machine["device"] for r in reports]
    return [f"{n} #{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def format_compare(reports: list[BenchReport], markdown: bool = False) -> str:
    """Devices side by side: one row per (model, runtime, threads) found in any report."""
    names = _device_names(reports)
    keys = list(dict.fromkeys(_key(r) for report in reports for r in report.results))
    by_device = [{_key(r): r for r in report.results} for report in reports]
    columns = [Column("model", lambda k: k[0]), Column("runtime", lambda k: k[1]), Column("thr", lambda k: k[2], right=True)]
    for name, results in zip(names, by_device):
        for title, cell in (
            (f"{name} acc", lambda r: f"{r.accuracy:.2%}"),
            ("p50 us", lambda r: f"{r.latency_us.p50:.1f}"),
            ("img/s", lambda r: f"{r.throughput.images_per_s:.0f}"),
            ("peak RSS", lambda r: _mb(r.memory_bytes.peak)),
        ):
            columns.append(Column(title, lambda k, results=results, cell=cell: cell(results[k]) if k in results else "-", right=True))
    suspect = [f"WARNING {name}: {', '.join(warnings(report.machine))}; its timings may be low" for name, report in zip(names, reports) if warnings(report.machine)]
    devices = [f"{name}: {machine_line(report.machine)}" for name, report in zip(names, reports)]
    return "\n".join([*devices, "", render(columns, keys, markdown), *([""] + suspect if suspect else [])])


def write_compare_chart(reports: list[BenchReport], path: Path) -> None:
    """Grouped bars per device: single-image p50 latency and batched throughput, log scale."""
    from edge_mnist._deps import require

    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = _device_names(reports)
    keys = list(dict.fromkeys(_key(r) for report in reports for r in report.results))
    by_device = [{_key(r): r for r in report.results} for report in reports]
    labels = [f"{m}\n{rt} t{t}" for m, rt, t in keys]
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 1.6 * len(keys)), 8))
    width = 0.8 / len(reports)
    pos = np.arange(len(keys))
    metrics = (
        (axes[0], lambda r: r.latency_us.p50, "single-image latency p50 (us, lower is better)"),
        (axes[1], lambda r: r.throughput.images_per_s, "throughput (images/s, higher is better)"),
    )
    for ax, metric, title in metrics:
        for i, (name, results) in enumerate(zip(names, by_device)):
            ax.bar(pos + i * width, [metric(results[k]) if k in results else 0 for k in keys], width, label=name)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xticks(pos + width * (len(reports) - 1) / 2, labels, fontsize=7)
        ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
