"""The one table renderer: export, pipeline, bench and the benchmark document all lay out tables here.

A table is a list of `Column`s, each knowing its title and how to turn a row (any object: a
dataclass, a dict) into a cell, and a list of rows. `render` lays it out as aligned text for the
terminal or as a Markdown table for docs/benchmarks.md, from the same columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence


@dataclass(frozen=True)
class Column:
    title: str
    cell: Callable[[Any], object]  # row -> value; str() of it is what is shown
    right: bool = False  # right-align (numbers)

    @classmethod
    def of(cls, name: str, fmt: str = "", title: str | None = None, right: bool | None = None) -> "Column":
        """A column showing `row[name]` (or `row.name`) through a format spec, e.g. Column.of("accuracy", ".2%").

        Formatted values are right-aligned unless said otherwise; None shows as "-".
        """

        def cell(row):
            value = row[name] if isinstance(row, dict) else getattr(row, name)
            return "-" if value is None else format(value, fmt)

        return cls(title or name, cell, bool(fmt) if right is None else right)


def render(columns: Sequence[Column], rows: Iterable, markdown: bool = False) -> str:
    """Rows under a header: aligned text with a dashed rule, or a Markdown table."""
    cells = [[str(column.cell(row)) for column in columns] for row in rows]
    titles = [column.title for column in columns]
    if markdown:
        lines = ["| " + " | ".join(t.replace("|", "\\|") for t in titles) + " |", "|" + "|".join("---:" if c.right else "---" for c in columns) + "|"]
        return "\n".join(lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells])
    widths = [max(len(text) for text in column) for column in zip(titles, *cells)]

    def line(texts):
        return "  ".join(t.rjust(w) if c.right else t.ljust(w) for t, w, c in zip(texts, widths, columns)).rstrip()

    return "\n".join([line(titles), "  ".join("-" * w for w in widths), *map(line, cells)])
