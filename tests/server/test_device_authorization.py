"""RFC 8414 metadata and the RFC 8628 endpoints, driven by a standard OAuth client.

oauthlib's ``DeviceClient`` builds the token requests and reads the answers (it
raises the RFC's errors by name); the device authorization request, which oauthlib
has no helper for, is plain form-encoded HTTP as §3.1 describes. The person's side
uses the device pages over plain HTTP (the browser tests use Chromium).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest
from oauthlib.oauth2 import DeviceClient
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from peers.device_flow import (
    AUTHORIZE,
    CLIENT_ID,
    GRANT,
    TOKEN,
    PageVisitor,
    approve,
    poll,
    post_form,
    start,
)
from peers.keybroker_server import ADMIN_PASSWORD, RunningServer, start_server

FAST = {
    "KEYBROKER_SERVER_DEVICE_POLL_INTERVAL_SECONDS": "1",
    "KEYBROKER_SERVER_DEVICE_CODE_SECONDS": "3",
    "KEYBROKER_SERVER_DEVICE_REQUESTS_PER_ADDRESS": "1000",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose device codes live 3 s and whose clients poll every second."""
    running = start_server(tmp_path_factory.mktemp("oauth"), extra_env=FAST)
    try:
        yield running
    finally:
        running.stop()


def _token_request(server: RunningServer, device_code: str) -> dict[str, object]:
    """A token request as oauthlib's DeviceClient builds and reads it."""
    client = DeviceClient(CLIENT_ID)
    body = client.prepare_request_body(device_code, include_client_id=True)
    request = urllib.request.Request(
        server.url + TOKEN,
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, headers, text = response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, error.headers, error.read().decode()
    assert status in (200, 400), status
    assert headers["Cache-Control"] == "no-store"
    return dict(client.parse_request_body_response(text))


def _error_of(server: RunningServer, device_code: str) -> str:
    with pytest.raises(OAuth2Error) as raised:
        _token_request(server, device_code)
    return str(raised.value.error)


def test_metadata_names_the_endpoints(server: RunningServer) -> None:
    status, headers, document = server.request("GET", "/.well-known/oauth-authorization-server")
    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert document["issuer"] == server.url
    assert document["device_authorization_endpoint"] == server.url + AUTHORIZE
    assert document["token_endpoint"] == server.url + TOKEN
    assert document["grant_types_supported"] == [GRANT]
    assert document["token_endpoint_auth_methods_supported"] == ["none"]


def test_device_authorization_answer(server: RunningServer) -> None:
    status, headers, body = post_form(
        server.url + AUTHORIZE, {"client_id": CLIENT_ID, "hostname": "laptop"}
    )
    assert status == 200
    assert headers["cache-control"] == "no-store"
    assert headers["content-type"] == "application/json"
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert body["device_code"].startswith("kbc_") and len(body["device_code"]) > 40
    code = body["user_code"]
    assert len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set("BCDFGHJKLMNPQRSTVWXZ")
    assert body["verification_uri"] == server.url + "/device"
    assert body["verification_uri_complete"] == f"{server.url}/device?user_code={code}"
    assert body["expires_in"] == 3
    assert body["interval"] == 1


def test_pending_then_slow_down_then_the_token(server: RunningServer) -> None:
    started = start(server.url, hostname="ci-runner")
    assert _error_of(server, started["device_code"]) == "authorization_pending"
    # polled again at once: slow_down, and the interval grows by 5 s for every later poll
    assert _error_of(server, started["device_code"]) == "slow_down"
    time.sleep(1.2)  # the original interval has passed, the grown one has not
    assert _error_of(server, started["device_code"]) == "slow_down"
    approve(server.url, "admin", ADMIN_PASSWORD, started["user_code"], trust=True)
    token = _token_request(server, started["device_code"])
    assert token["token_type"] == "Bearer"
    assert str(token["access_token"]).startswith("kbd_")
    # a trusted device: 30 days, give or take the test's own seconds
    assert 30 * 86400 - 60 < int(str(token["expires_in"])) <= 30 * 86400
    status, _, identity = server.request(
        "GET", "/api/v1/auth/whoami", token=str(token["access_token"])
    )
    assert status == 200
    assert identity["name"] == "admin"
    assert identity["credential_kind"] == "device"
    # the device code is spent
    assert _error_of(server, started["device_code"]) == "invalid_grant"


def test_denied(server: RunningServer) -> None:
    started = start(server.url)
    visitor = PageVisitor(server.url)
    assert visitor.sign_in("admin", ADMIN_PASSWORD) == 200
    assert visitor.decide(started["user_code"], approve=False) == 200
    assert "Request denied" in visitor.last_page
    assert _error_of(server, started["device_code"]) == "access_denied"
    assert _error_of(server, started["device_code"]) == "access_denied"


def test_expired(server: RunningServer) -> None:
    started = start(server.url)
    time.sleep(3.2)
    assert _error_of(server, started["device_code"]) == "expired_token"
    # too late to approve, too
    visitor = PageVisitor(server.url)
    assert visitor.sign_in("admin", ADMIN_PASSWORD) == 200
    assert visitor.enter_code(started["user_code"]) == 400
    assert "not valid, or it has expired" in visitor.last_page


def test_approved_but_polled_after_expiry_is_expired(server: RunningServer) -> None:
    started = start(server.url)
    approve(server.url, "admin", ADMIN_PASSWORD, started["user_code"])
    time.sleep(3.2)
    assert _error_of(server, started["device_code"]) == "expired_token"


@pytest.mark.parametrize(
    "device_code",
    [
        "kbc_" + "A" * 43,  # well formed, never issued
        "kbc_",
        "not-a-device-code",
        "kbc_" + "é" * 10,
        "kbc_" + "x" * 500,
    ],
)
def test_unknown_and_malformed_device_codes_are_invalid_grant(
    server: RunningServer, device_code: str
) -> None:
    status, body = poll(server.url, device_code)
    assert (status, body["error"]) == (400, "invalid_grant")


def test_a_code_of_another_client_or_an_unknown_client(server: RunningServer) -> None:
    started = start(server.url)
    status, body = poll(server.url, started["device_code"], client_id="someone-else")
    assert (status, body["error"]) == (400, "invalid_client")
    status, _, body = post_form(server.url + AUTHORIZE, {"client_id": "someone-else"})
    assert (status, body["error"]) == (400, "invalid_client")
    status, _, body = post_form(server.url + AUTHORIZE, {})
    assert (status, body["error"]) == (400, "invalid_request")


def test_client_authentication_is_refused_for_the_public_client(server: RunningServer) -> None:
    status, headers, body = post_form(
        server.url + AUTHORIZE,
        {"client_id": CLIENT_ID},
        headers={"Authorization": "Basic a2V5YnJva2VyLWNsaTpzZWNyZXQ="},
    )
    assert (status, body["error"]) == (401, "invalid_client")
    assert headers["www-authenticate"].startswith("Basic")
    status, _, body = post_form(
        server.url + AUTHORIZE, {"client_id": CLIENT_ID, "client_secret": "s"}
    )
    assert (status, body["error"]) == (400, "invalid_client")


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"device_code": "kbc_x", "client_id": CLIENT_ID}, "invalid_request"),
        (
            {"grant_type": "password", "device_code": "kbc_x", "client_id": CLIENT_ID},
            "unsupported_grant_type",
        ),
        ({"grant_type": GRANT, "client_id": CLIENT_ID}, "invalid_request"),
        ({"grant_type": GRANT, "device_code": "kbc_x"}, "invalid_request"),
        (
            [
                ("grant_type", GRANT),
                ("device_code", "kbc_x"),
                ("device_code", "kbc_y"),
                ("client_id", CLIENT_ID),
            ],
            "invalid_request",
        ),
    ],
)
def test_bad_token_requests(
    server: RunningServer, fields: dict[str, str] | list[tuple[str, str]], error: str
) -> None:
    status, headers, body = post_form(server.url + TOKEN, fields)
    assert (status, body["error"]) == (400, error)
    assert headers["cache-control"] == "no-store"
    assert body["error_description"]


def test_bad_device_authorization_requests(server: RunningServer) -> None:
    url = server.url + AUTHORIZE
    status, _, body = post_form(url, {"client_id": CLIENT_ID, "scope": "admin"})
    assert (status, body["error"]) == (400, "invalid_scope")
    for hostname in ("evil\u202eexe.txt", "line\nbreak", "x" * 256):
        status, _, body = post_form(url, {"client_id": CLIENT_ID, "hostname": hostname})
        assert (status, body["error"]) == (400, "invalid_request"), hostname
    # JSON is not what RFC 8628 §3.1 asks for
    status, _, body = server.request("POST", AUTHORIZE, {"client_id": CLIENT_ID})
    assert (status, body["error"]) == (400, "invalid_request")


def test_codes_are_stored_only_as_keyed_hashes(server: RunningServer) -> None:
    from sqlalchemy import create_engine, text

    started = start(server.url)
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT device_code_hash, user_code_hash FROM device_authorizations")
            ).all()
            dump = json.dumps([list(row) for row in rows])
    finally:
        engine.dispose()
    assert started["device_code"] not in dump
    assert started["user_code"].replace("-", "") not in dump
    assert all(len(value) == 64 for row in rows for value in row)


def test_device_authorization_requests_are_limited_per_address(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    limited = start_server(
        tmp_path_factory.mktemp("limited"),
        extra_env={"KEYBROKER_SERVER_DEVICE_REQUESTS_PER_ADDRESS": "3"},
    )
    try:
        for _ in range(3):
            start(limited.url)
        status, headers, body = post_form(limited.url + AUTHORIZE, {"client_id": CLIENT_ID})
        assert status == 429
        assert body["error"] == "rate_limited"
        assert 0 < int(headers["retry-after"]) <= 900
    finally:
        limited.stop()
