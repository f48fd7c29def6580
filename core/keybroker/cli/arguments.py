"""Parsing of free-form command-line arguments: auth attributes and labels."""

from __future__ import annotations

from pathlib import Path

import click


def parse_attributes(args: list[str]) -> dict[str, str]:
    """Turn ``--key=value``, ``--key value``, ``key=value`` and ``--flag`` into a mapping.

    Names may use '-' or '_'. A value ``@path`` is read from that file when it
    exists (handy for PEM certificates). Raise ``click.UsageError`` on anything else.
    """
    result: dict[str, str] = {}
    index = 0
    while index < len(args):
        token = args[index]
        index += 1
        if token.startswith("--"):
            body = token[2:]
            if "=" in body:
                name, value = body.split("=", 1)
            elif index < len(args) and not args[index].startswith("-") and "=" not in args[index]:
                name, value = body, args[index]
                index += 1
            else:
                name, value = body, "true"
        elif "=" in token and not token.startswith("-"):
            name, value = token.split("=", 1)
        else:
            raise click.UsageError(
                f"unexpected argument '{token}': give auth attributes as --name=value or "
                "name=value (see 'keybroker connector describe-type TYPE -a METHOD')"
            )
        name = name.strip().replace("-", "_")
        if not name.isidentifier():
            raise click.UsageError(f"invalid attribute name '{name}' in '{token.split('=')[0]}'")
        if name in result:
            raise click.UsageError(f"attribute '{name}' is given twice")
        result[name] = _read_file_value(value)
    return result


def _read_file_value(value: str) -> str:
    if value.startswith("@") and len(value) > 1:
        path = Path(value[1:]).expanduser()
        if path.is_file():
            return path.read_text()
    return value


def parse_labels(values: tuple[str, ...]) -> dict[str, str]:
    """``key=value`` labels; raise ``click.BadParameter`` naming a malformed one."""
    labels: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                f"'{item}' is not a label: use key=value", param_hint="'-l' / '--label'"
            )
        labels[key.strip()] = value.strip()
    return labels


def parse_label_filters(values: tuple[str, ...]) -> dict[str, str | None]:
    """``key=value`` (value must match) or ``key`` (label must exist) filters."""
    result: dict[str, str | None] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key.strip():
            raise click.BadParameter(f"'{item}' is not a label filter: use key or key=value")
        result[key.strip()] = value.strip() if sep else None
    return result
