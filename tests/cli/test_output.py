"""What people see: clean text, aligned and terminal-fitted tables, consistent cells."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from wcwidth import width

from keybroker.cli.table import render_table
from keybroker.cli.text import clean, clean_line
from peers.basic_auth_server import BasicAuthService
from peers.cli_runner import keybroker, run, run_json
from peers.httpbasic import register_web
from peers.terminal import Terminal

HOSTILE = (
    "plain \x1b[31mred\x1b[0m \x1b]0;owned title\x07 \x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\"
    " \x9b2J \u202eevil\u202c \x07bell\r overwrite \x00nul\x7f"
)
TERMINAL_ACTIONS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(autouse=True)
def no_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)


def widths(text: str) -> set[int]:
    """The display widths of the lines of the grid tables in ``text``."""
    return {width(line) for line in text.splitlines() if line.startswith(("│", "┌", "├", "└"))}


def column(text: str, index: int) -> str:
    """What the ``index``-th column of a grid table shows, its lines joined."""
    cells = [line.split("│")[index + 1] for line in text.splitlines() if line.startswith("│")]
    return "".join(cell.strip() for cell in cells)


def assert_aligned(text: str) -> None:
    """Every line of each grid table is as wide as the table's top line."""
    top = None
    for line in text.splitlines():
        if line.startswith("┌"):
            top = width(line)
        elif line.startswith(("│", "├", "└")):
            assert width(line) == top, text


def test_clean_removes_what_a_terminal_would_act_on() -> None:
    cleaned = clean(HOSTILE)
    assert not TERMINAL_ACTIONS.search(cleaned)
    assert "red" in cleaned and "link" in cleaned and "evil" in cleaned
    assert "owned title" not in cleaned  # a window title is not text to show
    assert clean("a\tb\nc") == "a b\nc"
    assert clean_line("first\nsecond\r\nthird") == "first second third"
    assert clean("unterminated \x1b]0;title") == "unterminated "


def test_hostile_text_is_refused_and_shown_harmless_from_older_rows(
    web: BasicAuthService,
) -> None:
    for option in (["-d", HOSTILE], ["-l", f"note={HOSTILE}"]):
        refused = register_web(web, "web", *option)
        assert refused.exit_code == 2 and "control character" in refused.output
        assert not TERMINAL_ACTIONS.search(refused.output.replace("\n", ""))
    assert register_web(web, "web").exit_code == 0
    # a row written before keybroker refused such text, straight through the store
    from keybroker.service import ConnectorService

    service = ConnectorService()
    stored = service.get("web", show_secrets=True)
    service.store.update(
        stored.model_copy(update={"description": HOSTILE, "labels": {"note": HOSTILE}})
    )
    service.close()
    for command in (["list"], ["describe", "web"], ["list", "-o", "yaml"]):
        shown = run("connector", *command).output
        assert not TERMINAL_ACTIONS.search(shown), command
    assert run_json("connector", "describe", "web")["description"] == HOSTILE
    as_json = run("connector", "describe", "web", "-o", "json").output
    assert not TERMINAL_ACTIONS.search(as_json.replace("\n", ""))
    assert json.loads(as_json)["labels"]["note"] == HOSTILE
    as_yaml = run("connector", "describe", "web", "-o", "yaml").output
    assert yaml.safe_load(as_yaml)["description"] == HOSTILE


def test_errors_quoting_user_input_are_one_clean_line() -> None:
    for args in (
        ["connector", "describe", "\x1b[2Jghost\nline"],
        ["connector", "list", "--\x1b]0;title\x07"],
        ["connector", "list-types", "-o", "\x9b31m"],
    ):
        result = run(*args)
        assert result.exit_code == 2
        assert not TERMINAL_ACTIONS.search(result.output.replace("\n", ""))
        assert len([line for line in result.output.splitlines() if "Error" in line]) == 1


def test_emoji_and_wide_characters_keep_columns_aligned(web: BasicAuthService) -> None:
    assert register_web(web, "web", "-l", "mood=😀🚀", "-l", "city=東京").exit_code == 0
    assert (
        register_web(web, "other", "-r", "http-endpoint", "--resource-id", "/reports").exit_code
        == 0
    )
    for args in (["list"], ["describe", "web"], ["list-types"], ["list-resources"]):
        shown = run("connector", *args).output
        assert_aligned(shown)


def test_tables_fit_the_terminal_width_and_lose_nothing(
    web: BasicAuthService, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register_web(web, "a-connector-with-a-long-name", "-l", "team=platform").exit_code == 0
    connector_id = run_json("connector", "describe", "a-connector-with-a-long-name")["id"]
    full = run("connector", "list").output  # not a terminal, no COLUMNS: nothing wrapped
    assert connector_id in full and max(widths(full)) > 80
    monkeypatch.setenv("COLUMNS", "80")
    fitted = run("connector", "list").output
    assert widths(fitted) == {80}
    assert connector_id in column(fitted, 1)  # wrapped, never cut


def test_a_real_terminal_gets_a_fitted_table(web: BasicAuthService) -> None:
    assert register_web(web, "web", "-d", "x" * 200).exit_code == 0
    with Terminal(["connector", "list"], columns=72) as terminal:
        assert terminal.finish() == 0
    assert max(widths(terminal.text)) <= 72
    with Terminal(["connector", "describe", "web"], columns=50) as terminal:
        assert terminal.finish() == 0
    assert max(widths(terminal.text)) <= 50
    piped = keybroker("connector", "list", env={"COLUMNS": ""})
    assert max(widths(piped.stdout)) > 72  # a pipe gets whole lines


def test_render_table_wraps_wide_characters_without_splitting_them() -> None:
    rows = [["東京都千代田区丸の内一丁目", "ok"], ["🚀" * 12, "✅"]]
    text = render_table(rows, ["PLACE", "OK"], max_width=20)
    assert widths(text) == {20}
    assert column(text, 0) == "PLACE東京都千代田区丸の内一丁目" + "🚀" * 12


def test_expiry_is_shown_the_same_in_list_and_describe(web: BasicAuthService) -> None:
    assert register_web(web).exit_code == 0
    listed = run("connector", "list").output
    header = next(line for line in listed.splitlines() if "EXPIRES IN" in line)
    row = next(line for line in listed.splitlines() if line.startswith("│ web "))
    column = [c.strip() for c in header.split("│")].index("EXPIRES IN")
    assert row.split("│")[column].strip() == "never"
    described = run("connector", "describe", "web").output
    assert re.search(r"│ EXPIRES IN\s+│ never\s+│", described)


def test_describe_type_tables_have_every_header() -> None:
    shown = run("connector", "describe-type", "httpbasic", "-r", "http-endpoint").output
    header = next(line for line in shown.splitlines() if "RESOURCE ID FORMAT" in line)
    assert [c.strip() for c in header.strip("│").split("│")] == [
        "RESOURCE ID FORMAT",
        "PATTERN",
        "CANONICAL",
    ]
    for args in (["httpbasic"], ["httpbasic", "-a", "password"], ["aws", "-a", "iam-role"]):
        described = run("connector", "describe-type", *args).output
        headers = [
            line for line in described.splitlines() if line.startswith("│") and line.isupper()
        ]
        for line in headers:
            assert all(cell.strip() for cell in line.strip("│").split("│")), line


def test_describe_with_a_resource_shows_a_connector_client(web: BasicAuthService) -> None:
    assert register_web(web).exit_code == 0
    source = run_json("connector", "describe", "web")
    args = ["connector", "describe", "web", "-r", "http-endpoint", "--resource-id", "reports"]
    shown = run(*args).output
    assert shown.startswith("Connector client of 'web' for 📄 http-endpoint '/reports'")
    assert f"│ CONNECTOR     │ web ({source['id']})" in shown
    assert "does not expire" in shown and "[HIDDEN]" in shown
    assert "OWNER" not in shown and "│ ID " not in shown
    first, second = run_json(*args), run_json(*args)
    assert first == second  # nothing random: no made-up id
    assert first["kind"] == "connector-client"
    assert first["connector"] == {"id": source["id"], "name": "web"}
    assert first["resource_type"] == "http-endpoint" and first["resource_id"] == "/reports"
    assert first["expires_at"] is None and "owner" not in first and "id" not in first
    assert first["secrets"] == {"password": "[HIDDEN]"}
    assert run_json(*args, "-x")["secrets"] == {"password": web.password}


def test_a_connector_its_store_cannot_trust_is_listed_as_broken(web: BasicAuthService) -> None:
    assert register_web(web, "web").exit_code == 0
    assert register_web(web, "other").exit_code == 0
    database = Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "keybroker.db"
    with sqlite3.connect(database) as db:  # an attacker with write access to the file
        db.execute("UPDATE connectors SET configuration='{}' WHERE name='web'")
    listed = run("connector", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if line.startswith("│ web "))
    assert "error: connector 'web' was changed outside" in row
    other = next(line for line in listed.output.splitlines() if line.startswith("│ other "))
    assert "http-server" in other
    data = {c["name"]: c for c in run_json("connector", "list")}
    assert "changed outside keybroker" in data["web"]["error"] and data["other"]["error"] is None
    described = run("connector", "describe", "web").output
    assert re.search(r"│ ERROR\s+│ connector 'web' was changed outside", described)


def test_an_output_that_cannot_encode_unicode_still_gets_aligned_tables_and_exact_data() -> None:
    """A latin-1 terminal: box drawing and emoji raised UnicodeEncodeError after the work."""
    import json
    import os
    import subprocess
    import sys

    import yaml

    def keybroker(*args: str, encoding: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "keybroker", *args],
            capture_output=True,
            env={**os.environ, "PYTHONIOENCODING": encoding, "COLUMNS": "200"},
            timeout=60,
        )

    table = keybroker("connector", "list-types", encoding="latin-1")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.decode("latin-1").splitlines()
    assert lines[0].startswith("+-") and lines[1].startswith("| NAME")
    assert len({len(line) for line in lines if line.startswith(("+", "|"))}) == 1  # aligned
    for output in ("json", "yaml"):
        escaped = keybroker("connector", "list-types", "-o", output, encoding="latin-1")
        plain = keybroker("connector", "list-types", "-o", output, encoding="utf-8")
        assert escaped.returncode == 0, escaped.stderr
        load = json.loads if output == "json" else yaml.safe_load
        assert load(escaped.stdout.decode("latin-1")) == load(plain.stdout.decode("utf-8"))
