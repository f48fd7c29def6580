"""delete: every name checked before anything goes, a confirmation, --yes for scripts."""

from __future__ import annotations

import pytest

from peers.basic_auth_server import BasicAuthService
from peers.cli_runner import keybroker, run, run_json
from peers.httpbasic import register_web
from peers.terminal import Terminal


def names() -> list[str]:
    return [c["name"] for c in run_json("connector", "list")]


@pytest.fixture
def three(web: BasicAuthService) -> list[str]:
    for name in ("a", "b", "c"):
        assert register_web(web, name, "--no-verify").exit_code == 0
    return ["a", "b", "c"]


@pytest.mark.usefixtures("three")
def test_an_unknown_name_deletes_nothing_and_every_unknown_one_is_named() -> None:
    result = run("connector", "delete", "a", "nosuch", "b", "ghost", "--yes")
    assert result.exit_code == 2
    error = result.output.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("Error: ")
    assert "'nosuch', 'ghost'" in error[0] and "nothing was deleted" in error[0]
    assert names() == ["a", "b", "c"]


@pytest.mark.usefixtures("three")
def test_yes_deletes_them_all_once_even_when_named_twice() -> None:
    connector_id = run_json("connector", "describe", "a")["id"]
    result = run("connector", "delete", "a", connector_id, "c", "--yes")
    assert result.exit_code == 0, result.output
    assert result.output.count("Deleted connector 'a'") == 1
    assert "Deleted connector 'c'" in result.output
    assert names() == ["b"]


@pytest.mark.usefixtures("three")
def test_without_yes_and_without_a_terminal_it_refuses_to_ask() -> None:
    result = run("connector", "delete", "a", input="y\n")
    assert result.exit_code == 2
    assert "standard input is not a terminal: add --yes" in result.output
    assert names() == ["a", "b", "c"]
    piped = keybroker("connector", "delete", "b")  # a real process, stdin not a terminal
    assert piped.returncode == 2 and "add --yes" in piped.stderr
    assert names() == ["a", "b", "c"]


@pytest.mark.usefixtures("three")
@pytest.mark.parametrize(("answer", "code", "left"), [("n", 1, ["a", "b", "c"]), ("y", 0, ["c"])])
def test_on_a_terminal_it_lists_what_goes_and_asks(answer: str, code: int, left: list[str]) -> None:
    with Terminal(["connector", "delete", "a", "b"]) as terminal:
        shown = terminal.expect("Delete 2 connector(s)? [y/N]:")
        assert "These connectors will be deleted:" in shown
        assert "  a (" in shown and "  b (" in shown and "  c (" not in shown
        terminal.type(answer)
        assert terminal.finish() == code
    assert names() == left
    if answer == "n":
        assert "Nothing was deleted." in terminal.text
