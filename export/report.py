"""The export table: one row per format, the same columns for export, verify and the pipeline."""
from __future__ import annotations

from edge_mnist.table import Column, render


def _status(row) -> str:
    status = getattr(row.status, "value", row.status)
    return status if row.figures["passed"] else f"{status} ({row.figures['failure']})"


COLUMNS = (
    Column("format", lambda r: r.format),
    Column("size", lambda r: f"{r.size_bytes / 1024:.1f}kB", right=True),
    Column("vs float", lambda r: f"{r.size_vs_float:.2f}x" if r.size_vs_float else "-", right=True),
    Column("accuracy", lambda r: f"{r.figures['accuracy']:.2f}%", right=True),
    Column("delta", lambda r: f"{r.figures['delta_pp']:+.2f} pp", right=True),
    Column("agree", lambda r: f"{r.figures['agreement']:.2f}%", right=True),
    Column("max |diff|", lambda r: f"{r.figures['max_abs_diff']:.2e}", right=True),
    Column("status", _status),
)


def format_table(report, markdown: bool = False) -> str:
    """An ExportReport under the float Keras model's accuracy."""
    head = f"{report.model}: float Keras model {report.reference_accuracy:.2f}% on the MNIST test set"
    return "\n".join([head, render(COLUMNS, report.rows, markdown)])


def format_models(models, markdown: bool = False) -> str:
    """Several models' export rows in one table, a model column first: `models` is [(name, [ExportRow, ...]), ...]."""
    columns = [Column("model", lambda pair: pair[0])] + [Column(c.title, lambda pair, c=c: c.cell(pair[1]), c.right) for c in COLUMNS]
    return render(columns, [(name, row) for name, rows in models for row in rows], markdown)
