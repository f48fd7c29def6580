"""The application in-process: an unexpected exception becomes a 500 with a request id,
and neither the answer nor the log carries its message."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from keybroker.server.app import create_app
from keybroker.server.settings import ServerSettings

SECRET = "s3cr3t-in-an-exception-message"


def _get(app: Any, path: str) -> tuple[int, dict[str, Any]]:
    """One GET through the ASGI interface, as a server would send it."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8080),
    }
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, json.loads(body)


def test_unexpected_failure_is_a_generic_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(ServerSettings(data_dir=tmp_path), prepare=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError(f"database said: password={SECRET}")

    with caplog.at_level(logging.DEBUG):
        status, answer = _get(app, "/boom")
    assert status == 500
    error = answer["error"]
    assert error["code"] == "internal_error"
    assert error["request_id"]
    assert SECRET not in json.dumps(answer)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert error["request_id"] in logged
    assert "RuntimeError" in logged
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("url", "variable", "threads"),
    [
        (None, None, 0),  # SQLite: on the event loop
        ("postgresql+psycopg://kb@db.example.com/kb", None, 4),
        ("mysql+pymysql://kb@10.0.0.7:3306/kb", None, 4),
        ("postgresql+psycopg://kb@127.0.0.1:5432/kb", None, 0),  # this host
        ("mysql+pymysql://kb@localhost/kb", None, 0),
        ("postgresql+psycopg://kb@[::1]/kb", None, 0),
        ("postgresql+psycopg://kb@/kb?host=/run/postgresql", None, 0),  # Unix socket
        ("postgresql+psycopg://kb@/kb?host=db.example.com", None, 4),
        ("mysql+pymysql://kb@/kb?unix_socket=/run/mysqld/mysqld.sock", None, 0),
        ("postgresql+psycopg://kb@db.example.com/kb", "0", 0),
        (None, "3", 3),
    ],
)
def test_the_database_lane_runs_on_the_loop_on_this_host_and_on_threads_across_a_network(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    url: str | None,
    variable: str | None,
    threads: int,
) -> None:
    monkeypatch.setenv("KEYBROKER_SERVER_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("KEYBROKER_SERVER_DATABASE_URL", raising=False)
    monkeypatch.delenv("KEYBROKER_SERVER_DATABASE_THREADS", raising=False)
    if url:
        monkeypatch.setenv("KEYBROKER_SERVER_DATABASE_URL", url)
    if variable:
        monkeypatch.setenv("KEYBROKER_SERVER_DATABASE_THREADS", variable)
    assert ServerSettings.from_env().database_threads == threads


def test_a_negative_database_lane_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keybroker.errors import UsageError

    monkeypatch.setenv("KEYBROKER_SERVER_DATABASE_THREADS", "-1")
    with pytest.raises(UsageError, match="KEYBROKER_SERVER_DATABASE_THREADS must be a whole"):
        ServerSettings.from_env()
