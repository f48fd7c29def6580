"""Parsing of free-form command-line arguments: auth attributes and labels.

Attribute values
----------------
``name=value`` and ``--name=value`` (or ``--name value``) give an attribute;
``--flag`` alone means ``true``. A value ``@PATH`` is read from that file:
UTF-8 text, a regular file or a pipe (``<(command)``), at most
:data:`MAX_FILE_BYTES`, with one trailing newline (``\\n`` or ``\\r\\n``)
removed, since editors and ``echo`` add one that no credential contains. A
value that starts with a literal ``@`` is written ``@@...``. A list attribute
may be repeated, once per value; any other attribute given twice is an error.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

import click

MAX_FILE_BYTES = 64 * 1024


def split_attributes(args: list[str]) -> list[tuple[str, str]]:
    """``(name, value)`` pairs in the order given, values of ``@PATH`` read from files.

    Names may use '-' or '_' (they are returned with '_'). Raise
    ``click.UsageError`` naming the first malformed argument or unreadable file.
    """
    pairs: list[tuple[str, str]] = []
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
            from keybroker.cli.text import clean_line

            raise click.UsageError(
                f"'{clean_line(token)}' is neither an option nor an attribute: give auth "
                "attributes as name=value or --name=value (see 'keybroker connector "
                "describe-type TYPE -a METHOD')"
            )
        name = name.strip().replace("-", "_")
        if not name.isidentifier() or not name.isascii():
            from keybroker.cli.text import clean_line

            raise click.UsageError(
                f"invalid attribute name '{clean_line(name)}': use letters, digits and '_'"
            )
        pairs.append((name, read_value(name, value)))
    return pairs


def merge_attributes(
    pairs: Iterable[tuple[str, str]], list_fields: Iterable[str] | None
) -> dict[str, str | list[str]]:
    """One value per attribute; a repeated list attribute becomes a list of its values.

    ``list_fields`` names the attributes that take lists; None when they cannot be
    known (an unknown connector type, reported later), which accepts any repetition.
    """
    lists = None if list_fields is None else set(list_fields)
    result: dict[str, str | list[str]] = {}
    for name, value in pairs:
        if name not in result:
            result[name] = value
            continue
        if lists is not None and name not in lists:
            raise click.UsageError(
                f"attribute '{name}' is given twice; only list attributes may be repeated"
            )
        current = result[name]
        result[name] = [*(current if isinstance(current, list) else [current]), value]
    return result


def read_value(name: str, value: str) -> str:
    """``value`` itself, or the content of the file ``@PATH`` names (``@@`` is a literal @)."""
    if not value.startswith("@"):
        return value
    if value.startswith("@@"):
        return value[1:]
    if value == "@":
        raise click.UsageError(
            f"attribute '{name}': '@' needs a file path after it (write '@@' for a value "
            "starting with a literal '@')"
        )
    return read_file_value(name, Path(os.path.expanduser(value[1:])))


def read_file_value(name: str, path: Path) -> str:
    """The text of ``path`` for attribute ``name``, read strictly; see the module docs."""
    from keybroker.cli.text import clean_line

    shown = clean_line(str(path))

    def fail(problem: str) -> click.UsageError:
        return click.UsageError(f"attribute '{name}': cannot use file '{shown}': {problem}")

    def kind(mode: int) -> str:
        if stat.S_ISDIR(mode):
            raise fail("it is a directory")
        if stat.S_ISREG(mode):
            return "file"
        if stat.S_ISFIFO(mode):
            return "pipe"
        raise fail("not a regular file or a pipe")

    try:
        expected = kind(os.stat(path).st_mode)  # refuse a device before opening it
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise fail("no such file") from None
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as exc:
        raise fail(exc.strerror or "cannot open it") from None
    try:
        if kind(os.fstat(descriptor).st_mode) != expected:
            raise fail("it changed while being opened")
        data = _read_at_most(descriptor, MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise fail(exc.strerror or "cannot read it") from None
    finally:
        os.close(descriptor)
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"larger than {MAX_FILE_BYTES // 1024} KiB")
    if b"\0" in data:
        raise fail("it is binary (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 text (invalid byte at offset {exc.start})") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors write
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")


def _read_at_most(descriptor: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(descriptor, min(65536, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_labels(values: tuple[str, ...]) -> dict[str, str]:
    """``key=value`` labels; raise ``click.BadParameter`` naming a malformed one."""
    labels: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            from keybroker.cli.text import clean_line

            raise click.BadParameter(
                f"'{clean_line(item)}' is not a label: use key=value",
                param_hint="'-l' / '--label'",
            )
        labels[key.strip()] = value.strip()
    return labels


def parse_label_filters(values: tuple[str, ...]) -> dict[str, str | None]:
    """``key=value`` (value must match) or ``key`` (label must exist) filters."""
    result: dict[str, str | None] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key.strip():
            from keybroker.cli.text import clean_line

            raise click.BadParameter(
                f"'{clean_line(item)}' is not a label filter: use key or key=value",
                param_hint="'-l' / '--label'",
            )
        result[key.strip()] = value.strip() if sep else None
    return result
