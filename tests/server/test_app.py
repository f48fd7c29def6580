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
