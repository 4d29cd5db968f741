"""Regenerate every table in README.md and docs/benchmarks.md from the JSON the benchmark scripts wrote.

    python scripts/render_docs.py            # rewrite the tables in place (make docs)
    python scripts/render_docs.py --check    # exit 1 if a table differs from what its JSON gives (the test suite runs this)

A generated table sits between two markers:

    <!-- table: MODULE:FUNCTION [docs/results/FILE.json ...] -->
    ...replaced on every run...
    <!-- /table -->

FUNCTION(*records, markdown=True) -> str gets each named JSON file, loaded, and returns the Markdown
to put between the markers, which must name the CPU and the date the figures come from. MODULE is
a file in scripts/ (e.g. `seed_sweep`) or any importable module (e.g. `edge_mnist.pipeline`). To add a
table: have your script write JSON under docs/results/, give it (or a module of yours) such a function,
put the markers where the table belongs, and run this.
"""
from __future__ import annotations

import argparse
import difflib
import importlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ("README.md", "docs/benchmarks.md")
BLOCK = re.compile(r"(<!-- table: (?P<spec>[^>]*?) -->\n)(?P<body>.*?)(<!-- /table -->)", re.S)

sys.path.insert(0, str(ROOT / "scripts"))


def render_block(spec: str) -> str:
    target, *paths = spec.split()
    module, _, function = target.partition(":")
    try:
        renderer = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        raise SystemExit(f"table {spec!r}: no renderer {target} ({exc})") from None
    records = []
    for path in paths:
        try:
            records.append(json.loads((ROOT / path).read_text()))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"table {spec!r}: cannot read {path} ({exc})") from None
    return renderer(*records, markdown=True).rstrip("\n") + "\n"


def render_document(text: str) -> str:
    return BLOCK.sub(lambda m: m.group(1) + render_block(m.group("spec")) + m.group(4), text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="Change nothing; exit 1 if any table is out of date.")
    args = parser.parse_args()
    stale = []
    for name in DOCUMENTS:
        path = ROOT / name
        text = path.read_text()
        new = render_document(text)
        if new == text:
            continue
        stale.append(name)
        if args.check:
            sys.stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), name, f"{name} (regenerated)"))
        else:
            path.write_text(new)
            print(f"regenerated the tables of {name}")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run: python scripts/render_docs.py", file=sys.stderr)
        return 1
    return 0


# -- renderers for results that are not a script's own ------------------------------------------


def pipeline_tables(record: dict, markdown: bool = True) -> str:
    """`edge-mnist pipeline --json`: the training table and every model's export table."""
    from edge_mnist.firmware_bench.machine import stamp_line
    from edge_mnist.pipeline import ModelSummary, PipelineResult, format_summary

    result = PipelineResult([ModelSummary.from_json(m) for m in record["models"]])
    gate = "every file passed its parity gate" if record["passed"] else f"FAILED: {record['failure']}"
    return f"{format_summary(result, markdown)}\n\n{stamp_line(record)}; {gate}."


def bench_table(record: dict, markdown: bool = True) -> str:
    """`edge-mnist bench --json`: the bench's own table, the machine and what was detected in each model."""
    from edge_mnist.firmware_bench.report import COLUMNS, machine_line
    from edge_mnist.firmware_bench.results import BenchReport
    from edge_mnist.table import render

    report = BenchReport.from_json(record)
    settings = report.settings
    notes = dict.fromkeys(f"{r.model}: {r.detected['layout']} {r.detected['input_dtype']} in, {r.detected['output_kind']} out" for r in report.results)
    caption = (
        f"{machine_line(report.machine)}; measured {report.measured_at[:10]} {report.measured_at[11:16]} UTC;"
        f" {settings['runs']} timed single-image runs after {settings['warmup']} warm-up, batch {settings['batch']} for img/s."
    )
    return "\n".join([render(COLUMNS, report.results, markdown), "", caption, "", *[f"- {n}" for n in notes]])


def cold_start_table(record: dict, markdown: bool = True) -> str:
    """Cold start from a bench report: runtime import, load, first inference, each on a fresh interpreter."""
    from edge_mnist.firmware_bench.results import BenchReport
    from edge_mnist.table import Column, render

    report = BenchReport.from_json(record)
    columns = (
        Column("model", lambda r: r.model),
        Column("thr", lambda r: r.threads, right=True),
        Column("import runtime ms", lambda r: f"{r.cold_start_ms.import_runtime:.1f}", right=True),
        Column("load ms", lambda r: f"{r.cold_start_ms.load:.2f}", right=True),
        Column("first inference ms", lambda r: f"{r.cold_start_ms.first_inference:.2f}", right=True),
        Column("cold start ms", lambda r: f"{r.cold_start_ms.total:.2f}", right=True),
        Column("then p50 ms", lambda r: f"{r.latency_us.p50 / 1000:.3f}", right=True),
    )
    return f"{render(columns, report.results, markdown)}\n\nSame run as the table above ({report.measured_at[:10]}), one fresh child process per row."



def _accuracy_rows(sweep: dict, pipeline: dict) -> list[tuple[str, str, str]]:
    """The pipeline's float accuracy per model, then each recipe over seeds: what another CPU is checked on."""
    import seed_sweep

    from edge_mnist.firmware_bench.machine import stamp_line

    accuracy = ", ".join(f"{m['model']} {m['accuracy']:.2%}" for m in pipeline["models"])
    rows = [("`make pipeline`: float test accuracy (seed 0)", accuracy, stamp_line(pipeline, load=False))]
    for row in seed_sweep.summary(sweep):
        figure = f"mean {row['mean']:.2%}, min {row['min']:.2%}, max {row['max']:.2%} (floor {seed_sweep.floors_text(row['floors'])}: {'met' if row['met'] else 'NOT met'})"
        rows.append((f"`{row['preset']}` over seeds {min(row['seeds'])}-{max(row['seeds'])}, {row['switch']} path ({row['precision']})", figure, stamp_line(row["runs"][0], time=False, load=False)))
    return rows


def _summary(rows: list[tuple[str, str, str]], markdown: bool) -> str:
    from edge_mnist.table import Column, render

    columns = (Column("what", lambda r: r[0]), Column("figure", lambda r: r[1]), Column("measured on", lambda r: r[2]))
    return render(columns, rows, markdown)


def accuracy_results(sweep: dict, pipeline: dict, markdown: bool = True) -> str:
    """The accuracy rows of the README's summary alone: for the same figures measured on another CPU."""
    return _summary(_accuracy_rows(sweep, pipeline), markdown)


def readme_results(sweep: dict, ratio: dict, pipeline: dict, bench: dict, overhead: dict, markdown: bool = True) -> str:
    """The README's summary: one line per headline figure, each from the results file that holds it."""
    from edge_mnist.firmware_bench.machine import stamp_line
    from edge_mnist.firmware_bench.results import BenchReport

    rows = _accuracy_rows(sweep, pipeline)
    for switch in dict.fromkeys(r["switch"] for r in ratio["runs"]):
        runs = [r for r in ratio["runs"] if r["switch"] == switch]
        ratios = [r["ratio"] for r in runs]
        spread = f"{min(ratios):.2f}" if len(runs) == 1 else f"{min(ratios):.2f}-{max(ratios):.2f}"
        figure = f"{spread} over {len(runs)} run{'s' if len(runs) > 1 else ''} (target <= {ratio['target']:.2f})"
        rows.append((f"CNN training time, default / tutorial recipe, {switch} path ({runs[0]['default']['precision']})", figure, stamp_line(runs[0], time=False, load=False)))
    cnn = next(m for m in pipeline["models"] if m["model"] == "cnn")
    exports = {e["format"]: e for e in cnn["exports"]}
    int8 = exports["tflite-int8"]
    rows.append((
        "int8 TFLite CNN: size, accuracy, agreement with float",
        f"{int8['size_bytes'] / 1024:.0f} kB ({int8['size_vs_float']:.2f}x float32), {int8['figures']['accuracy']:.2f}% ({int8['figures']['delta_pp']:+.2f} pp), {int8['figures']['agreement']:.2f}%",
        stamp_line(pipeline, load=False),
    ))
    rows.append((
        "ONNX CNN: float / int8 QDQ",
        f"{exports['onnx']['figures']['accuracy']:.2f}% (max diff {exports['onnx']['figures']['max_abs_diff']:.1e}) / {exports['onnx-int8']['figures']['accuracy']:.2f}%",
        stamp_line(pipeline, load=False),
    ))
    report = BenchReport.from_json(bench)
    int8_runs = sorted((r for r in report.results if r.format == "tflite-int8"), key=lambda r: r.threads)
    rows.append((
        "int8 TFLite CNN on the desktop (`edge-mnist bench`), " + " / ".join(f"{r.threads}" for r in int8_runs) + " threads",
        "p50 " + " / ".join(f"{r.latency_us.p50:.0f}" for r in int8_runs) + " us, "
        + " / ".join(f"{r.throughput.images_per_s:,.0f}" for r in int8_runs) + " images/s batched, cold start "
        + " / ".join(f"{r.cold_start_ms.total:.1f}" for r in int8_runs) + f" ms, {int8_runs[0].accuracy:.2%}, peak RSS {int8_runs[0].memory_bytes.peak / 2**20:.0f} MB",
        f"{report.machine['cpu']}, {report.machine['cores']} cores, {report.measured_at[:10]}",
    ))
    for r in overhead["results"]:
        rows.append((f"predict path / bare invoke, {r['model']}", f"{min(r['ratio']):.2f}-{max(r['ratio']):.2f}x over {len(r['ratio'])} repeats (target <= {overhead['target']}x)", stamp_line(overhead, time=False, load=False)))
    return _summary(rows, markdown)


if __name__ == "__main__":
    sys.exit(main())
