"""edge_mnist.table: the one renderer, as aligned text and as Markdown, from the same columns."""
from edge_mnist.table import Column, render

COLUMNS = (Column.of("name"), Column.of("accuracy", ".2%", title="acc"), Column("note", lambda r: r.get("note") or "-"))
ROWS = [{"name": "cnn", "accuracy": 0.9932, "note": "a|b"}, {"name": "mlp-long-name", "accuracy": None}]


def test_text_table_aligns_columns_under_a_rule():
    lines = render(COLUMNS, ROWS).splitlines()
    assert lines[0] == "name              acc  note"
    assert lines[1] == "-------------  ------  ----"
    assert lines[2] == "cnn            99.32%  a|b"
    assert lines[3] == "mlp-long-name       -  -"


def test_markdown_table_right_aligns_numbers_and_escapes_pipes():
    assert render(COLUMNS, ROWS, markdown=True).splitlines() == [
        "| name | acc | note |",
        "|---|---:|---|",
        "| cnn | 99.32% | a\\|b |",
        "| mlp-long-name | - | - |",
    ]


def test_columns_read_attributes_too():
    from dataclasses import dataclass

    @dataclass
    class Row:
        name: str
        accuracy: float

    assert render(COLUMNS[:2], [Row("x", 0.5)]).splitlines()[-1] == "x     50.00%"


def test_a_pipe_in_a_title_is_escaped_too():
    # The export table's "max |diff|" column would otherwise split the Markdown header into extra cells.
    header = render((Column("max |diff|", str),), [1.5], markdown=True).splitlines()[0]
    assert header == "| max \\|diff\\| |"
