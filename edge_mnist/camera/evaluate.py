"""Score a reading against the truth as a person would: digits in reading order, extra digits, exact numbers and lines.

A reading and its truth are both text: one line per written line, numbers separated by spaces
("12 7\n305"). Digits are aligned in reading order with the edit distance, so a digit read right but
out of order counts as missed, a misread one as missed (not extra), and one that is not there as extra.
"""
from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class TextScore:
    digits: int  # digits in the truth
    read: int  # truth digits read right, in reading order
    extra: int  # digits read that are not in the truth
    numbers: int
    numbers_exact: int  # truth numbers read exactly (same digits, not split or joined), in order
    lines: int
    lines_exact: int  # truth lines read exactly, numbers and spaces included, in order

    def __add__(self, other: "TextScore") -> "TextScore":
        return TextScore(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    @property
    def read_rate(self) -> float:
        return self.read / self.digits if self.digits else 1.0

    @property
    def extra_rate(self) -> float:
        return self.extra / self.digits if self.digits else float(self.extra > 0)

    @property
    def numbers_rate(self) -> float:
        return self.numbers_exact / self.numbers if self.numbers else 1.0

    @property
    def lines_rate(self) -> float:
        return self.lines_exact / self.lines if self.lines else 1.0


def split_text(text: str) -> list[list[str]]:
    """Lines of numbers; '/' also ends a line (the truth files' notation)."""
    lines = [line.split() for line in text.replace("/", "\n").splitlines()]
    return [line for line in lines if line]


def score_text(reading: str, truth: str) -> TextScore:
    got, want = split_text(reading), split_text(truth)
    got_digits = "".join("".join(line) for line in got)
    want_digits = "".join("".join(line) for line in want)
    matches, substitutions, insertions = _align(got_digits, want_digits)
    got_numbers = [n for line in got for n in line]
    want_numbers = [n for line in want for n in line]
    got_lines = [" ".join(line) for line in got]
    want_lines = [" ".join(line) for line in want]
    return TextScore(
        digits=len(want_digits),
        read=matches,
        extra=insertions,
        numbers=len(want_numbers),
        numbers_exact=_lcs(got_numbers, want_numbers),
        lines=len(want_lines),
        lines_exact=_lcs(got_lines, want_lines),
    )


def _align(got, want) -> tuple[int, int, int]:
    """(matches, substitutions, insertions) of an edit-distance alignment of `got` onto `want`.

    Among alignments of least cost, the one with the most matches is kept.
    """
    # cost, -matches, substitutions, insertions: tuples compare in that order
    prev = [(j, 0, 0, j) for j in range(len(got) + 1)]  # want empty: every symbol read is an insertion
    for i in range(1, len(want) + 1):
        row = [(i, 0, 0, 0)]
        for j in range(1, len(got) + 1):
            c, m, s, n = prev[j - 1]
            diagonal = (c, m - 1, s, n) if want[i - 1] == got[j - 1] else (c + 1, m, s + 1, n)
            c, m, s, n = row[j - 1]
            insertion = (c + 1, m, s, n + 1)
            c, m, s, n = prev[j]
            deletion = (c + 1, m, s, n)
            row.append(min(diagonal, insertion, deletion))
        prev = row
    _, negative_matches, substitutions, insertions = prev[-1]
    return -negative_matches, substitutions, insertions


def _lcs(a: list, b: list) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        row = [0]
        for j, y in enumerate(b, 1):
            row.append(prev[j - 1] + 1 if x == y else max(prev[j], row[j - 1]))
        prev = row
    return prev[-1]
