"""Bench reports as text tables, JSON files and a comparison chart; matplotlib only for the chart."""
from __future__ import annotations

import json
from pathlib import Path

from edge_mnist.files import atomic_write, write_atomic

COLUMNS = ("model", "format", "runtime", "thr", "size", "accuracy", "p50 us", "p99 us", "img/s", "batch", "cold ms", "peak RSS", "overhead")


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _size(n: int) -> str:
    return f"{n / 1024:.0f} KB" if n < 2**20 else _mb(n)


def _row(r: dict) -> list[str]:
    return [
        r["model"],
        r["format"],
        r["runtime"],
        str(r["threads"]),
        _size(r["size_bytes"]),
        f"{r['accuracy']:.2%}",
        f"{r['latency_us']['p50']:.1f}",
        f"{r['latency_us']['p99']:.1f}",
        f"{r['throughput']['images_per_s']:.0f}",
        str(r["throughput"]["batch"]),
        f"{r['cold_start_ms']['total']:.1f}",
        _mb(r["memory_bytes"]["peak"]),
        f"{r['overhead']['ratio']:.2f}x",
    ]


def _table(header, rows) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)


def machine_line(machine: dict) -> str:
    runtimes = ", ".join(f"{k} {v}" for k, v in machine["runtimes"].items())
    ram = f"{machine['ram_bytes'] / 2**30:.1f} GB RAM" if machine.get("ram_bytes") else "RAM unknown"
    return f"{machine['device']}: {machine['cpu']} ({machine['arch']}, {machine['cores']} cores, {ram}), {machine['os']}, Python {machine['python']}, {runtimes}"


def format_report(report: dict) -> str:
    """The table the bench prints, with the machine and every assumption made about a model."""
    lines = [machine_line(report["machine"]), "", _table(COLUMNS, [_row(r) for r in report["results"]])]
    notes = {}
    for r in report["results"]:
        d = r["detected"]
        notes.setdefault(r["model"], f"{r['model']}: input {d['layout']} {d['input_dtype']}, output {d['output_kind']}, scaling {d['scaling']}"
                         + "".join(f"; ASSUMED {a}" for a in d["assumptions"]))
    lines += ["", *notes.values()]
    lines += [
        f"{r['model']} on tflite-micro: tensor arena {r['tflm']['arena_bytes']:,} bytes (measured); "
        "latency is this desktop running TFLite Micro's reference kernels, NOT a microcontroller timing"
        for r in report["results"]
        if r.get("tflm")
    ]
    lines.append("p50/p99: single-image latency; img/s: full test set at the batch shown; overhead: predict path / bare runtime call.")
    if report["machine"].get("emulated"):
        lines.append("EMULATED run: timings and memory are the emulator's, not a device's; only accuracy and outputs carry over.")
    if any(r.get("process") == "in-process" for r in report["results"]):
        lines.append("in-process run: peak RSS includes every model measured before it in the same process.")
    return "\n".join(lines)


def write_json(path: Path, report: dict) -> None:
    write_atomic(path, (json.dumps(report, indent=2) + "\n").encode())


def _key(r: dict) -> tuple:
    return (r["model"], r["runtime"], r["threads"])


def _device_names(reports: list[dict]) -> list[str]:
    names = [r["machine"]["device"] for r in reports]
    return [f"{n} #{i + 1}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def format_compare(reports: list[dict]) -> str:
    """Devices side by side: one row per (model, runtime, threads) found in any report."""
    names = _device_names(reports)
    keys = list(dict.fromkeys(_key(r) for report in reports for r in report["results"]))
    by_device = [{_key(r): r for r in report["results"]} for report in reports]
    header = ["model", "runtime", "thr"]
    for name in names:
        header += [f"{name} acc", "p50 us", "img/s", "peak RSS"]
    rows = []
    for key in keys:
        row = [key[0], key[1], str(key[2])]
        for results in by_device:
            r = results.get(key)
            row += [f"{r['accuracy']:.2%}", f"{r['latency_us']['p50']:.1f}", f"{r['throughput']['images_per_s']:.0f}", _mb(r["memory_bytes"]["peak"])] if r else ["-"] * 4
        rows.append(row)
    devices = [f"{name}: {machine_line(report['machine'])}" for name, report in zip(names, reports)]
    return "\n".join([*devices, "", _table(header, rows)])


def write_compare_chart(reports: list[dict], path: Path) -> None:
    """Grouped bars per device: single-image p50 latency and batched throughput, log scale."""
    from edge_mnist._deps import require

    matplotlib = require("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = _device_names(reports)
    keys = list(dict.fromkeys(_key(r) for report in reports for r in report["results"]))
    by_device = [{_key(r): r for r in report["results"]} for report in reports]
    labels = [f"{m}\n{rt} t{t}" for m, rt, t in keys]
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 1.6 * len(keys)), 8))
    width = 0.8 / len(reports)
    pos = np.arange(len(keys))
    for ax, metric, title in ((axes[0], "p50", "single-image latency p50 (us, lower is better)"), (axes[1], "ips", "throughput (images/s, higher is better)")):
        for i, (name, results) in enumerate(zip(names, by_device)):
            values = [
                (results[k]["latency_us"]["p50"] if metric == "p50" else results[k]["throughput"]["images_per_s"]) if k in results else 0
                for k in keys
            ]
            ax.bar(pos + i * width, values, width, label=name)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xticks(pos + width * (len(reports) - 1) / 2, labels, fontsize=7)
        ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
