"""Grid tables for people: cleaned cells, display-width alignment, fitted to the terminal.

On a terminal the table is fitted to its width: the widest columns are narrowed
and their cells wrapped (at spaces and hyphens when possible), never truncated,
so that nothing a user may need to copy (an id, a resource name) is lost. When
the output is not a terminal (a pipe, a file) lines keep their full length,
unless ``COLUMNS`` is set, which is honoured everywhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from keybroker.cli.text import clean, display_width, stdout_takes_unicode, wrap_line

# A column is narrowed down to its longest header word, or this, whichever is wider;
# when even that does not fit, down to the last resort (headers then break mid-word).
MIN_COLUMN_WIDTH = 6
LAST_RESORT_WIDTH = 3
#: the box-drawing characters, and what an output that cannot encode them gets instead
BOX = {c: c for c in "┌┬┐├┼┤└┴┘─│"}
ASCII_BOX = {**{c: "+" for c in "┌┬┐├┼┤└┴┘"}, "─": "-", "│": "|"}


def output_width() -> int | None:
    """The width tables must fit in: ``COLUMNS``, else the terminal's; None when piped."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    stream = sys.stdout
    try:
        if stream is None or not stream.isatty():
            return None
        return os.get_terminal_size(stream.fileno()).columns or None
    except (AttributeError, OSError, ValueError):
        return None


def _lines(value: object) -> list[str]:
    text = clean("" if value is None else value)
    if not stdout_takes_unicode():  # measure what will be shown: '?' for what cannot be
        encoding = getattr(sys.stdout, "encoding", None) or "ascii"
        text = text.encode(encoding, "replace").decode(encoding)
    return text.split("\n")


def _natural_widths(grid: list[list[list[str]]]) -> list[int]:
    count = len(grid[0])
    return [max(display_width(line) for row in grid for line in row[i]) for i in range(count)]


def _minimum_widths(headers: list[list[str]], natural: list[int]) -> list[int]:
    """The narrowest each column may become: its longest header word, or the floor."""
    result = []
    for header, width in zip(headers, natural, strict=True):
        words = [display_width(w) for line in header for w in line.split()] or [0]
        result.append(min(width, max(MIN_COLUMN_WIDTH, *words)))
    return result


def fit_widths(natural: list[int], minimum: list[int], available: int) -> list[int]:
    """Column widths that fit ``available`` columns of content: the widest shrink first.

    Every column wider than a common cap is cut down to it (never below its
    minimum); the cap is the highest that fits, and what is left over goes to the
    cut columns. When even the minimums do not fit, the minimums are returned.
    """

    def capped(cap: int) -> list[int]:
        return [min(n, max(cap, m)) for n, m in zip(natural, minimum, strict=True)]

    if sum(natural) <= available:
        return list(natural)
    low, high = 0, max(natural)
    while low < high:  # the highest cap whose widths fit
        middle = (low + high + 1) // 2
        if sum(capped(middle)) <= available:
            low = middle
        else:
            high = middle - 1
    widths = capped(low)
    spare = available - sum(widths)
    for i, width in enumerate(widths):
        if spare <= 0:
            break
        if width < natural[i]:
            widths[i] += 1
            spare -= 1
    return widths


def render_table(
    rows: Sequence[Sequence[object]], headers: Sequence[str], max_width: int | None = None
) -> str:
    """A box-drawn grid of ``rows`` under ``headers``; cells may hold several lines.

    ``max_width`` (the whole table's width in columns) makes the widest columns
    wrap; None keeps every cell on its own lines at full length.
    """
    grid = [[_lines(h) for h in headers]] + [[_lines(c) for c in row] for row in rows]
    natural = _natural_widths(grid)
    widths = natural
    if max_width is not None:
        available = max_width - (3 * len(headers) + 1)
        minimum = _minimum_widths(grid[0], natural)
        if sum(minimum) > available:
            minimum = [min(n, LAST_RESORT_WIDTH) for n in natural]
        widths = fit_widths(natural, minimum, available)
    wrapped = [
        [[part for line in cell for part in wrap_line(line, widths[i])] for i, cell in enumerate(r)]
        for r in grid
    ]

    box = BOX if stdout_takes_unicode() else ASCII_BOX

    def rule(left: str, middle: str, right: str) -> str:
        return box[left] + box[middle].join(box["─"] * (w + 2) for w in widths) + box[right]

    def body(cells: list[list[str]]) -> list[str]:
        height = max(len(c) for c in cells)
        out = []
        for index in range(height):
            parts = []
            for cell, width in zip(cells, widths, strict=True):
                line = cell[index] if index < len(cell) else ""
                parts.append(" " + line + " " * max(0, width - display_width(line)) + " ")
            out.append(box["│"] + box["│"].join(parts) + box["│"])
        return out

    lines = [rule("┌", "┬", "┐"), *body(wrapped[0])]
    for row in wrapped[1:]:
        lines.append(rule("├", "┼", "┤"))
        lines.extend(body(row))
    lines.append(rule("└", "┴", "┘"))
    return "\n".join(lines)
