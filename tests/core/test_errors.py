"""Each error class maps to one exit code and one HTTP status, as docs/reference/errors.md says."""

from __future__ import annotations

import re
from pathlib import Path

from keybroker.errors import ERROR_CLASSES, UsageError

DOC = Path(__file__).parents[2] / "docs" / "reference" / "errors.md"


def documented() -> dict[str, tuple[int, int]]:
    """Class name -> (exit code, HTTP status) from the table in docs/reference/errors.md."""
    rows = re.findall(r"^\| `(\w+)` \| (\d) \| (\d{3}) \|", DOC.read_text(), re.MULTILINE)
    return {name: (int(code), int(status)) for name, code, status in rows}


def test_the_documented_table_is_the_one_the_code_uses() -> None:
    assert documented() == {c.__name__: (c.exit_code, c.http_status) for c in ERROR_CLASSES}


def test_wrong_input_is_never_a_server_error() -> None:
    for error in ERROR_CLASSES:
        if issubclass(error, UsageError):
            assert error.exit_code == 2 and 400 <= error.http_status < 500, error
        else:
            assert error.exit_code == 1, error
