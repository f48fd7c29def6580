"""The device flow on two server processes sharing PostgreSQL: every step may land on
either replica, and the limit on wrong user codes is one limit for both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from peers.databases import server_database
from peers.device_flow import PageVisitor, approve, poll, start
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, new_encryption_key, start_server

LIMITS = {
    "KEYBROKER_SERVER_USER_CODE_FAILURES_PER_USER": "4",
    "KEYBROKER_SERVER_SIGN_IN_WINDOW_SECONDS": "600",
    "KEYBROKER_SERVER_DEVICE_POLL_INTERVAL_SECONDS": "1",
}


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, ...]]:
    directory = tmp_path_factory.mktemp("device-replicas")
    key = new_encryption_key()
    with server_database("postgresql") as url:
        first = start_server(directory, url, encryption_key=key, extra_env=LIMITS, name="a")
        second = start_server(directory, url, encryption_key=key, extra_env=LIMITS, name="b")
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def test_each_step_on_another_replica(replicas: tuple[RunningServer, ...]) -> None:
    a, b = replicas
    started = start(a.url, hostname="split-brain")
    assert poll(b.url, started["device_code"])[1]["error"] == "authorization_pending"
    approve(b.url, "admin", ADMIN_PASSWORD, started["user_code"], trust=True)
    status, body = poll(a.url, started["device_code"])
    assert status == 200, body
    token = body["access_token"]
    # spent on both
    assert poll(b.url, started["device_code"])[1]["error"] == "invalid_grant"
    # locked through one replica, refused by the other at once
    device_id = a.request("GET", "/api/v1/auth/whoami", token=token)[2]["device_id"]
    admin = a.sign_in("admin", ADMIN_PASSWORD)
    assert a.request("PATCH", f"/api/v1/devices/{device_id}", {"locked": True}, admin)[0] == 200
    status, _, body = b.request("GET", "/api/v1/auth/whoami", token=token)
    assert (status, body["error"]["code"]) == (401, "device_locked")


def test_wrong_user_codes_are_limited_across_replicas(replicas: tuple[RunningServer, ...]) -> None:
    a, b = replicas
    pending = start(a.url, hostname="target")
    on_a, on_b = PageVisitor(a.url), PageVisitor(b.url)
    assert on_a.sign_in("admin", ADMIN_PASSWORD) == 200
    assert on_b.sign_in("admin", ADMIN_PASSWORD) == 200
    # malformed, unknown and wrong codes all count, wherever they are typed
    for visitor, guess in ((on_a, "BCDF-GHJK"), (on_b, "zz"), (on_a, "BBBB-BBBB"), (on_b, "!!")):
        assert visitor.enter_code(guess) == 400
        assert "not valid, or it has expired" in visitor.last_page
    status, headers, page = on_b.post(
        "/device", {"csrf_token": on_b.csrf(), "user_code": pending["user_code"]}
    )
    assert status == 429  # even the right code, once the limit is reached
    assert "too many wrong codes" in page
    assert 0 < int(headers["retry-after"]) <= 600
    assert on_a.enter_code(pending["user_code"]) == 429
    # the request itself is untouched, and another person may still approve it
    status, _, admin = a.request(
        "POST",
        "/api/v1/users",
        {"name": "dora", "password": "dora-password-12345"},
        token=a.sign_in("admin", ADMIN_PASSWORD),
    )
    assert status == 201, admin
    approve(b.url, "dora", "dora-password-12345", pending["user_code"])
    assert poll(a.url, pending["device_code"])[0] == 200
