"""Each error class maps to one exit code and one HTTP status, as docs/reference/errors.md says."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from keybroker.errors import ERROR_CLASSES, StaleVersionError, UsageError

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
            assert 400 <= error.http_status < 500, error
            # exit 2 says "fix the command"; a lost race is fixed by running it again
            assert error.exit_code == (1 if error is StaleVersionError else 2), error
        else:
            assert error.exit_code == 1, error


FLAG = re.compile(r"(?<![\w'\"/-])--?[a-z][a-z-]*(?:[= )]|$)")
#: a whole command suggested in quotes ("run 'keybroker connect --url URL'") is advice,
#: not a parameter named by its flag
SUGGESTED_COMMAND = re.compile(r"'keybroker [^']*'")
ROOT = Path(__file__).parents[2]


def raised_texts(path: Path) -> Iterator[tuple[int, str]]:
    """(line, the string constants of the raised call) of every ``raise X(...)`` in ``path``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            parts = [
                n.value
                for n in ast.walk(node.exc)
                if isinstance(n, ast.Constant) and isinstance(n.value, str)
            ]
            yield node.lineno, "".join(parts)


#: messages still naming flags, in code whose lanes were at work when this test arrived.
#: Each entry is a file and a piece of the message; delete an entry once fixed.
NOT_YET_NEUTRAL = {
    ("plugins/gcp/src/keybroker_gcp/implementation.py", "choose a GKE cluster with --resource-id"),
    ("plugins/gcp/src/keybroker_gcp/implementation.py", "choose a registry with --resource-id"),
    ("plugins/gcp/src/keybroker_gcp/auto_configuration.py", "give --auto-configure-option"),
    ("plugins/gcp/src/keybroker_gcp/auto_configuration.py", "register with -a implicit"),
    ("plugins/gcp/src/keybroker_gcp/auto_configuration.py", "needs --auto-configure-option"),
    # the team-server client, from the server-foundation lane
    ("core/keybroker/remote/http.py", "give its CA with --ca-file"),
}


def _tolerated(path: str, text: str) -> bool:
    return any(path == where and piece in text for where, piece in NOT_YET_NEUTRAL)


def test_errors_outside_the_cli_name_parameters_never_command_line_flags() -> None:
    """Plugins and the core say which parameter is wrong (``parameter=``); the CLI adds its flag.

    A flag in the message would be wrong for the HTTP API and the Python API,
    and doubled by the CLI's own prefix.
    """
    sources = [
        *(ROOT / "core" / "keybroker").rglob("*.py"),
        *(ROOT / "plugins").glob("*/src/**/*.py"),
        *(ROOT / "examples").glob("*/src/**/*.py"),
    ]
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for path in sources
        if "cli" not in path.relative_to(ROOT).parts
        for line, text in raised_texts(path)
        if FLAG.search(SUGGESTED_COMMAND.sub("", text))
        and not _tolerated(str(path.relative_to(ROOT)), text)
    ]
    assert len(sources) > 50
    assert found == []
