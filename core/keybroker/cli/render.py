"""Output primitives: grid tables and prose for people, JSON and YAML for scripts.

What the tables of each kind of object hold lives in :mod:`keybroker.cli.show_types`
and :mod:`keybroker.cli.show_connectors`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click

HIDDEN = "[HIDDEN]"
YES, NO = "✅", "\u2796"  # check mark, heavy minus
NEVER = "never"
OUTPUT_FORMATS = ("table", "json", "yaml")
PROSE_WIDTH = 100

# Characters JSON leaves raw that a terminal acts on: DEL, C1 controls, bidi controls.
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def output_option(function: Any) -> Any:
    """The ``-o/--output`` option every listing and describe takes."""
    return click.option(
        "-o",
        "--output",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        help="Output format: a table for people, json or yaml for scripts.",
    )(function)


def emit_data(data: Any, output: str) -> None:
    """Print ``data`` (a model of :mod:`keybroker.views`, a list of them, or plain data) as
    JSON or YAML, with every terminal control character escaped."""
    from pydantic import BaseModel

    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list):
        data = [d.model_dump(mode="json") if isinstance(d, BaseModel) else d for d in data]
    from keybroker.cli.text import stdout_takes_unicode

    unicode = stdout_takes_unicode()  # else escape, so that no character is lost
    if output == "json":
        text = json.dumps(data, indent=2, default=str, ensure_ascii=not unicode)
        click.echo(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
    else:
        import yaml

        text = yaml.dump(
            data, Dumper=_terminal_safe_dumper(), sort_keys=False, allow_unicode=unicode
        )
        click.echo(text.rstrip())


def _terminal_safe_dumper() -> Any:
    """A YAML safe dumper that escapes the characters JSON output escapes too.

    PyYAML escapes C0 and C1 controls itself; with ``allow_unicode`` it would print
    bidirectional controls raw, so a scalar holding one is written escaped.
    """
    import yaml

    class TerminalSafeDumper(yaml.SafeDumper):
        def _ascii_only(self, value: Any) -> bool:
            return isinstance(value, str) and bool(_JSON_UNSAFE.search(value))

        def analyze_scalar(self, scalar: str) -> Any:
            saved = self.allow_unicode
            self.allow_unicode = saved and not self._ascii_only(scalar)
            try:
                return super().analyze_scalar(scalar)
            finally:
                self.allow_unicode = saved

        def process_scalar(self) -> None:
            saved = self.allow_unicode
            self.allow_unicode = saved and not self._ascii_only(getattr(self.event, "value", None))
            try:
                super().process_scalar()
            finally:
                self.allow_unicode = saved

    return TerminalSafeDumper


def table(rows: list[list[Any]], headers: list[str]) -> str:
    """A grid table with multi-line cells, fitted to the terminal (see :mod:`.table`)."""
    from keybroker.cli.table import output_width, render_table

    return render_table(rows, headers, output_width())


def wrap(text: str) -> str:
    """Clean prose and reflow its paragraphs to the terminal width, at most 100 columns."""
    from keybroker.cli.table import output_width
    from keybroker.cli.text import clean, wrap_line

    width = min(PROSE_WIDTH, output_width() or PROSE_WIDTH)
    paragraphs = [p for p in clean(text).strip().split("\n\n") if p.strip()]
    return "\n\n".join("\n".join(wrap_line(" ".join(p.split()), width)) for p in paragraphs)


def line(text: str) -> str:
    """One line of text for people, free of control characters."""
    from keybroker.cli.text import clean_line

    return clean_line(text)


def iso(value: datetime | None) -> str | None:
    """A timestamp for scripts (ISO 8601), or None."""
    return value.isoformat() if value else None


def timestamp(value: datetime | None) -> str:
    """A timestamp for people: UTC to the second."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def humanize(delta: timedelta | None) -> str:
    """``1h5m`` style durations; 'expired' for negative ones; '' for none."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    text = "".join(parts[:2]) if days else "".join(parts[1:])
    return text or f"{secs}s"


def expires_in(delta: timedelta | None) -> str:
    """The EXPIRES IN cell: time left, 'expired', or 'never' for credentials without expiry."""
    return NEVER if delta is None else humanize(delta)
