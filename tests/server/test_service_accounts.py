"""Service accounts and API keys over HTTP, on a real server per database kind."""

from __future__ import annotations

import time
from typing import Any

from peers.keybroker_server import RunningServer

PASSWORD = "owner-password-12345"
SA = "/api/v1/service-accounts"


def _user(server: RunningServer, admin: str, name: str) -> str:
    status, _, body = server.request(
        "POST", "/api/v1/users", {"name": name, "password": PASSWORD}, admin
    )
    assert status == 201, body
    return server.sign_in(name, PASSWORD)


def _create(server: RunningServer, token: str, name: str, **extra: Any) -> dict[str, Any]:
    status, headers, body = server.request("POST", SA, {"name": name, **extra}, token)
    assert status == 201, body
    assert headers["cache-control"] == "no-store"
    return body  # type: ignore[no-any-return]


def _whoami(server: RunningServer, key: str) -> tuple[int, Any]:
    status, _, body = server.request("GET", "/api/v1/auth/whoami", token=key)
    return status, body


def _audit(server: RunningServer, admin: str, action: str) -> list[dict[str, Any]]:
    status, _, body = server.request("GET", f"/api/v1/audit?action={action}", token=admin)
    assert status == 200, body
    return body["items"]  # type: ignore[no-any-return]


def test_create_shows_the_key_once_and_it_signs_in_as_the_service_account(
    server: RunningServer, admin_token: str
) -> None:
    owner = _user(server, admin_token, "olga")
    created = _create(server, owner, "olga-ci", description="nightly build")
    key = created["key"]
    assert key.startswith("kbk_") and len(key) >= 40
    assert created["service_account"]["owner"] == "olga"
    assert created["service_account"]["active"] is True
    assert created["api_key"]["name"] == "default"
    status, identity = _whoami(server, key)
    assert status == 200, identity
    assert identity == {
        "name": "olga-ci",
        "kind": "service_account",
        "is_admin": False,
        "credential_kind": "api_key",
        "expires_at": None,
        "device_id": None,
    }
    # never shown again: not in describe, list, or the audit log
    for path in (f"{SA}/olga-ci", f"{SA}/olga-ci/api-keys", f"{SA}/olga-ci/api-keys/default"):
        status, _, body = server.request("GET", path, token=owner)
        assert status == 200 and key not in str(body)
    assert key not in str(server.request("GET", "/api/v1/audit", token=admin_token)[2])
    described = server.request("GET", f"{SA}/olga-ci/api-keys/default", token=owner)[2]
    assert described["last_used"] is not None  # the whoami above
    assert described["rotated"] is None
    entry = _audit(server, admin_token, "service_account.create")[0]
    assert (entry["actor"], entry["target"]) == ("olga", "service_account:olga-ci")
    # the key is stored only as a keyed hash
    from sqlalchemy import create_engine, text

    engine = create_engine(server.database_url)
    with engine.connect() as connection:
        stored = [r[0] for r in connection.execute(text("SELECT token_hash FROM credentials"))]
    engine.dispose()
    assert key not in stored and key[4:] not in "".join(stored)


def test_owners_see_their_own_admins_all_others_nothing(
    server: RunningServer, admin_token: str
) -> None:
    paula = _user(server, admin_token, "paula")
    quinn = _user(server, admin_token, "quinn")
    _create(server, paula, "paula-ci")
    _create(server, quinn, "quinn-ci")
    names = lambda token: [a["name"] for a in server.request("GET", SA, token=token)[2]["items"]]  # noqa: E731
    assert "paula-ci" in names(paula) and "quinn-ci" not in names(paula)
    assert {"paula-ci", "quinn-ci"} <= set(names(admin_token))
    # another user's account is not found, for reading and for changing alike
    for method, path, body in (
        ("GET", f"{SA}/quinn-ci", None),
        ("PATCH", f"{SA}/quinn-ci", {"active": False}),
        ("DELETE", f"{SA}/quinn-ci", None),
        ("GET", f"{SA}/quinn-ci/api-keys", None),
        ("POST", f"{SA}/quinn-ci/api-keys/default/rotate", {}),
    ):
        status, _, answer = server.request(method, path, body, paula)
        assert status == 404, (method, path, answer)
        assert answer["error"]["code"] == "not_found"
    # an admin manages anyone's
    status, _, answer = server.request("PATCH", f"{SA}/quinn-ci", {"description": "x"}, admin_token)
    assert status == 200 and answer["owner"] == "quinn"


def test_a_service_account_manages_nothing(server: RunningServer, admin_token: str) -> None:
    key = _create(server, admin_token, "robot")["key"]
    status, _, body = server.request(
        "POST", "/api/v1/users", {"name": "mallory", "password": PASSWORD}, key
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    denied = _audit(server, admin_token, "user.create")[0]
    assert (denied["actor"], denied["actor_kind"], denied["outcome"]) == (
        "robot",
        "service_account",
        "denied",
    )
    status, _, body = server.request("POST", SA, {"name": "robot-child"}, key)
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert "service account cannot manage" in body["error"]["message"]
    assert _audit(server, admin_token, "service_account.create")[0]["outcome"] == "denied"
    status, _, body = server.request("POST", f"{SA}/robot/api-keys", {"name": "more"}, key)
    assert status == 403
    assert server.request("GET", "/api/v1/users", token=key)[0] == 403
    # nor can it be made admin or given a password through the users API
    assert server.request("PATCH", "/api/v1/users/robot", {"is_admin": True}, admin_token)[0] == 404
    assert _whoami(server, key)[1]["is_admin"] is False


def test_rotation_without_and_with_retention(server: RunningServer, admin_token: str) -> None:
    first = _create(server, admin_token, "rotor")["key"]
    path = f"{SA}/rotor/api-keys/default/rotate"
    status, headers, rotated = server.request("POST", path, {}, admin_token)
    assert status == 200, rotated
    assert headers["cache-control"] == "no-store"
    second = rotated["key"]
    assert rotated["api_key"]["rotated"] is not None
    assert rotated["api_key"]["retained_until"] is None
    assert _whoami(server, first)[0] == 401  # at once
    assert _whoami(server, second)[0] == 200
    # with retention: both work until the period ends, then only the new one
    status, _, rotated = server.request("POST", path, {"retain_seconds": 3}, admin_token)
    assert status == 200, rotated
    third = rotated["key"]
    assert rotated["api_key"]["retained_until"] is not None
    status, identity = _whoami(server, second)
    assert status == 200 and identity["expires_at"] == rotated["api_key"]["retained_until"]
    assert _whoami(server, third) == (200, {**identity, "expires_at": None})
    time.sleep(3.5)
    status, body = _whoami(server, second)
    assert status == 401
    assert "rotated and its retention has ended" in body["error"]["message"]
    assert _whoami(server, third)[0] == 200
    entries = _audit(server, admin_token, "api_key.rotate")
    assert entries[0]["expires_at"] is not None and entries[1]["expires_at"] is None


def test_deactivating_a_key_or_its_account_refuses_it_at_once(
    server: RunningServer, admin_token: str
) -> None:
    key = _create(server, admin_token, "sleeper")["key"]
    status, _, spare = server.request(
        "POST", f"{SA}/sleeper/api-keys", {"name": "spare"}, admin_token
    )
    assert status == 201, spare
    key_path = f"{SA}/sleeper/api-keys/default"
    assert server.request("PATCH", key_path, {"active": False}, admin_token)[0] == 200
    status, body = _whoami(server, key)
    assert (
        status == 401
        and "API key is deactivated (service account 'sleeper')" in body["error"]["message"]
    )
    assert _whoami(server, spare["key"])[0] == 200  # the other key is untouched
    assert server.request("PATCH", key_path, {"active": True}, admin_token)[0] == 200
    assert _whoami(server, key)[0] == 200
    assert server.request("PATCH", f"{SA}/sleeper", {"active": False}, admin_token)[0] == 200
    for value in (key, spare["key"]):
        status, body = _whoami(server, value)
        assert status == 401
        assert "service account 'sleeper' is deactivated" in body["error"]["message"]
    actions = [
        (e["action"], e["detail"]) for e in _audit(server, admin_token, "service_account.update")
    ]
    assert ("service_account.update", "deactivated") in actions
    refusals = _audit(server, admin_token, "auth.api_key")
    assert refusals[0]["actor"] == "sleeper" and refusals[0]["outcome"] == "denied"


def test_deleting_a_key_or_the_account_refuses_its_keys(
    server: RunningServer, admin_token: str
) -> None:
    key = _create(server, admin_token, "doomed")["key"]
    other = server.request("POST", f"{SA}/doomed/api-keys", {"name": "other"}, admin_token)[2]
    assert server.request("DELETE", f"{SA}/doomed/api-keys/other", token=admin_token)[0] == 204
    unknown = _whoami(server, "kbk_" + "A" * 43)
    assert _whoami(server, other["key"]) == unknown
    assert server.request("DELETE", f"{SA}/doomed", token=admin_token)[0] == 204
    assert _whoami(server, key) == unknown  # the same answer as a key never issued
    assert server.request("GET", f"{SA}/doomed", token=admin_token)[0] == 404
    assert _audit(server, admin_token, "service_account.delete")[0]["target"] == (
        "service_account:doomed"
    )


def test_unknown_wrong_and_malformed_keys_get_one_answer(
    server: RunningServer, admin_token: str
) -> None:
    key = _create(server, admin_token, "typo")["key"]
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    answers = {
        value: _whoami(server, value)
        for value in (wrong, "kbk_" + "x" * 43, "kbk_", "not-a-key", "kbk_" + "é" * 10)
    }
    assert {status for status, _ in answers.values()} == {401}
    assert len({body["error"]["message"] for _, body in answers.values()}) == 1
    for value, (_, body) in answers.items():
        assert value not in str(body)
    failures = _audit(server, admin_token, "auth.api_key")
    assert {f["outcome"] for f in failures[:5]} == {"failed"}
    assert all(key not in str(f) and wrong not in str(f) for f in failures)


def test_bad_input_answers_the_stable_error_shape(server: RunningServer, admin_token: str) -> None:
    _create(server, admin_token, "shape")
    cases = [
        ("POST", SA, {"name": "shape"}, 409, "conflict"),
        ("POST", SA, {"name": "admin"}, 409, "conflict"),  # a user's name
        ("POST", SA, {"name": "bad name!"}, 422, "validation_error"),
        ("POST", SA, {"name": "ok", "is_admin": True}, 422, "validation_error"),
        ("POST", f"{SA}/shape/api-keys", {"name": "default"}, 409, "conflict"),
        ("POST", f"{SA}/shape/api-keys/default/rotate", {"retain_seconds": -1}, 422, None),
        ("POST", f"{SA}/shape/api-keys/default/rotate", {"retain_seconds": "5"}, 422, None),
        ("PATCH", f"{SA}/shape", {}, 400, "bad_request"),
        ("PATCH", f"{SA}/shape", {"active": "no"}, 422, "validation_error"),
        ("PATCH", f"{SA}/shape/api-keys/nope", {"active": False}, 404, "not_found"),
        ("GET", f"{SA}?cursor=%21", None, 422, "validation_error"),
        ("GET", f"{SA}?cursor=abc", None, 400, "bad_request"),
    ]
    for method, path, body, status, code in cases:
        got, _, answer = server.request(method, path, body, admin_token)
        assert got == status, (method, path, body, answer)
        assert set(answer["error"]) == {"code", "message", "parameter", "request_id"}
        if code:
            assert answer["error"]["code"] == code, answer
    assert server.request("GET", f"{SA}/shape", token=None)[0] == 401


def test_lists_are_cursor_pages(server: RunningServer, admin_token: str) -> None:
    owner = _user(server, admin_token, "pager")
    for name in ("pg-c", "pg-a", "pg-b"):
        _create(server, owner, name)
    for name in ("k2", "k1"):
        assert server.request("POST", f"{SA}/pg-a/api-keys", {"name": name}, owner)[0] == 201
    seen, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = server.request("GET", SA + query, token=owner)[2]
        seen += [a["name"] for a in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["pg-a", "pg-b", "pg-c"]
    page = server.request("GET", f"{SA}/pg-a/api-keys?limit=2", token=owner)[2]
    assert [k["name"] for k in page["items"]] == ["default", "k1"] and page["next_cursor"]


def test_a_service_account_stops_with_its_deactivated_owner(
    server: RunningServer, admin_token: str
) -> None:
    owner = _user(server, admin_token, "steve")
    key = _create(server, owner, "steve-ci")["key"]
    assert server.request("PATCH", "/api/v1/users/steve", {"active": False}, admin_token)[0] == 200
    status, body = _whoami(server, key)
    assert status == 401
    assert (
        "owner 'steve' of the service account 'steve-ci' is deactivated"
        in (body["error"]["message"])
    )
    assert server.request("PATCH", "/api/v1/users/steve", {"active": True}, admin_token)[0] == 200
    assert _whoami(server, key)[0] == 200
    # a deleted owner leaves the account to the admins; it keeps working
    assert server.request("DELETE", "/api/v1/users/steve", token=admin_token)[0] == 204
    assert _whoami(server, key)[0] == 200
    status, _, orphan = server.request("GET", f"{SA}/steve-ci", token=admin_token)
    assert status == 200 and orphan["owner"] is None
