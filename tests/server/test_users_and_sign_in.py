"""Users, sign-in, sessions and the audit log through a real server on each database.

The CLI runs as a real subprocess against the server process.
"""

from __future__ import annotations

import statistics
import time
import uuid

from peers.keybroker_server import (
    ADMIN_PASSWORD,
    RunningServer,
    connect,
    keybroker,
    keybroker_json,
)

USER_PASSWORD = "user-password-Zr8-long"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _create(server: RunningServer, token: str, name: str, **extra: object) -> None:
    status, _, body = server.request(
        "POST", "/api/v1/users", {"name": name, "password": USER_PASSWORD, **extra}, token
    )
    assert status == 201, body


def test_admin_from_environment_signs_in(server: RunningServer) -> None:
    token = server.sign_in("admin", ADMIN_PASSWORD)
    status, _, identity = server.request("GET", "/api/v1/auth/whoami", token=token)
    assert status == 200
    assert identity["name"] == "admin"
    assert identity["is_admin"] is True
    assert identity["credential_kind"] == "session"
    assert token.startswith("kbs_")


def test_cli_manages_users(server: RunningServer) -> None:
    connect(server, "admin", ADMIN_PASSWORD)
    status = keybroker_json("status")
    assert status["url"] == server.url
    assert status["user"] == "admin"
    assert status["is_admin"] is True

    name = _name("bob")
    created = keybroker("user", "create", name, "--password-stdin", input=USER_PASSWORD + "\n")
    assert created.returncode == 0, created.stderr
    # names are case-sensitive on every database
    upper = keybroker("user", "create", name.upper(), "--password-stdin", input=USER_PASSWORD)
    assert upper.returncode == 0, upper.stderr
    again = keybroker("user", "create", name, "--password-stdin", input=USER_PASSWORD)
    assert again.returncode == 2
    assert f"an account named '{name}' already exists" in again.stderr

    names = [u["name"] for u in keybroker_json("user", "list")]
    assert name in names
    assert name.upper() in names
    assert names == sorted(names)

    updated = keybroker("user", "update", name, "--admin", "true", "--description", "ops")
    assert updated.returncode == 0, updated.stderr
    described = keybroker_json("user", "describe", name)
    assert described["is_admin"] is True
    assert described["description"] == "ops"
    assert "password_hash" not in described

    assert keybroker("user", "delete", name).returncode == 0
    gone = keybroker("user", "describe", name)
    assert gone.returncode == 2
    assert f"no user named '{name}'" in gone.stderr


def test_cli_refuses_bad_input_before_sending(server: RunningServer) -> None:
    connect(server, "admin", ADMIN_PASSWORD)
    short = keybroker("user", "create", _name("x"), "--password-stdin", input="short\n")
    assert short.returncode == 2
    assert "password: String should have at least 12 characters" in short.stderr
    flag = keybroker("user", "update", "admin", "--active", "maybe")
    assert flag.returncode == 2
    assert "--active takes true or false" in flag.stderr
    since = keybroker("audit", "list", "--since", "yesterday")
    assert since.returncode == 2
    assert "--since takes a duration" in since.stderr


def test_non_admin_cannot_manage_users_and_is_audited(
    server: RunningServer, admin_token: str
) -> None:
    carol = _name("carol")
    _create(server, admin_token, carol)
    connect(server, carol, USER_PASSWORD)

    refused = keybroker("user", "list")
    assert refused.returncode == 1
    assert "only an admin may manage users" in refused.stderr
    status, _, body = server.request(
        "DELETE", "/api/v1/users/admin", token=server.sign_in(carol, USER_PASSWORD)
    )
    assert status == 403
    assert body["error"]["code"] == "forbidden"

    # carol sees her own entries only, including the refusals
    own = keybroker_json("audit", "list")
    assert {e["actor"] for e in own} == {carol}
    denied = {(e["action"], e["outcome"], e["target"]) for e in own}
    assert ("user.list", "denied", None) in denied
    assert ("user.delete", "denied", "user:admin") in denied
    assert keybroker("audit", "list", "--user", "admin").returncode == 1

    # the admin sees them too
    status, _, page = server.request(
        "GET", f"/api/v1/audit?user={carol}&action=user.list", token=admin_token
    )
    assert status == 200
    assert [e["outcome"] for e in page["items"]] == ["denied"]
    assert page["items"][0]["client_ip"] == "127.0.0.1"


def test_unknown_user_and_wrong_password_answer_alike(
    server: RunningServer, admin_token: str
) -> None:
    dave = _name("dave")
    _create(server, admin_token, dave)

    def attempt(username: str) -> tuple[float, int, dict[str, str], object]:
        start = time.perf_counter()
        status, headers, body = server.request(
            "POST", "/api/v1/auth/sign-in", {"username": username, "password": "wrong-password-1"}
        )
        return time.perf_counter() - start, status, headers, body

    wrong = [attempt(dave) for _ in range(4)]
    unknown = [attempt(_name("nobody")) for _ in range(4)]
    assert {(s, str(b)) for _, s, _, b in wrong} == {(s, str(b)) for _, s, _, b in unknown}
    assert wrong[0][1] == 401
    assert wrong[0][2]["www-authenticate"] == "Bearer"
    # an unknown user costs a password hash too (without one it would be ~100 times faster)
    wrong_time = statistics.median(t for t, *_ in wrong)
    unknown_time = statistics.median(t for t, *_ in unknown)
    assert unknown_time > wrong_time * 0.5, (unknown_time, wrong_time)


def test_sign_out_revokes_the_session(server: RunningServer, admin_token: str) -> None:
    erin = _name("erin")
    _create(server, admin_token, erin)
    connect(server, erin, USER_PASSWORD)
    token = server.sign_in(erin, USER_PASSWORD)
    assert keybroker("disconnect").returncode == 0
    assert "Not connected" in keybroker("status").stdout
    status, _, _ = server.request("POST", "/api/v1/auth/sign-out", token=token)
    assert status == 204
    status, _, body = server.request("GET", "/api/v1/auth/whoami", token=token)
    assert status == 401
    assert body["error"]["code"] == "not_authenticated"


def test_deactivation_and_new_password_take_effect_at_once(
    server: RunningServer, admin_token: str
) -> None:
    frank = _name("frank")
    _create(server, admin_token, frank)
    token = server.sign_in(frank, USER_PASSWORD)
    assert server.request("GET", "/api/v1/auth/whoami", token=token)[0] == 200

    server.request("PATCH", f"/api/v1/users/{frank}", {"active": False}, admin_token)
    status, _, body = server.request("GET", "/api/v1/auth/whoami", token=token)
    assert status == 401
    assert "deactivated" in body["error"]["message"]

    server.request("PATCH", f"/api/v1/users/{frank}", {"active": True}, admin_token)
    assert server.request("GET", "/api/v1/auth/whoami", token=token)[0] == 200
    server.request(
        "PATCH", f"/api/v1/users/{frank}", {"password": "another-password-9"}, admin_token
    )
    assert server.request("GET", "/api/v1/auth/whoami", token=token)[0] == 401
    assert server.sign_in(frank, "another-password-9")


def test_admins_cannot_lock_themselves_out(server: RunningServer, admin_token: str) -> None:
    for change in ({"active": False}, {"is_admin": False}):
        status, _, body = server.request("PATCH", "/api/v1/users/admin", change, admin_token)
        assert status == 403, body
    status, _, _ = server.request("DELETE", "/api/v1/users/admin", token=admin_token)
    assert status == 403
    assert server.request("GET", "/api/v1/auth/whoami", token=admin_token)[0] == 200


def test_user_pages_follow_the_cursor(server: RunningServer, admin_token: str) -> None:
    prefix = _name("page")
    names = [f"{prefix}-{i}" for i in range(7)]
    for name in names:
        _create(server, admin_token, name)
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        status, _, page = server.request("GET", "/api/v1/users" + query, token=admin_token)
        assert status == 200
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 3
        seen += [u["name"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen))
    assert [n for n in seen if n.startswith(prefix)] == names

    status, _, body = server.request(
        "GET", "/api/v1/users?cursor=bm90LWEtY3Vyc29y", token=admin_token
    )
    assert status == 400
    assert body["error"]["parameter"] == "cursor"


def test_audit_filters(server: RunningServer, admin_token: str) -> None:
    grace = _name("grace")
    _create(server, admin_token, grace)
    server.sign_in(grace, USER_PASSWORD)
    status, _, page = server.request(
        "GET",
        f"/api/v1/audit?user={grace}&action=auth.sign_in&since=2000-01-01T00:00:00Z",
        token=admin_token,
    )
    assert status == 200
    [entry] = page["items"]
    assert entry["outcome"] == "success"
    assert entry["credential_kind"] == "session"
    assert entry["expires_at"] is not None
    status, _, page = server.request(
        "GET", f"/api/v1/audit?user={grace}&since=2999-01-01T00:00:00Z", token=admin_token
    )
    assert page["items"] == []
