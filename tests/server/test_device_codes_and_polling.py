"""Small pieces of the device flow in-process: the codes, form parsing, the pages' escaping,
the CSRF tokens, and the client's polling schedule (with a stub server and a fake clock;
the real path is in test_device_authorization and test_device_cli)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from keybroker.remote.device_flow import (
    DeviceAuthorization,
    DeviceAuthorizationFailed,
    request_authorization,
    wait_for_token,
)
from keybroker.server import pages
from keybroker.server.device_codes import (
    USER_CODE_ALPHABET,
    display_user_code,
    new_device_code,
    new_user_code,
    normalize_user_code,
)
from keybroker.server.forms import FormError, parse_form
from keybroker.server.web_sessions import WebSessions, new_anonymous_value


def test_user_codes_avoid_lookalikes_and_read_forgivingly() -> None:
    codes = {new_user_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 8 and set(c) <= set(USER_CODE_ALPHABET) for c in codes)
    assert not set("AEIOUY0123456789") & set(USER_CODE_ALPHABET)
    assert display_user_code("BCDFGHJK") == "BCDF-GHJK"
    for typed in ("BCDF-GHJK", "bcdfghjk", " bcdf-ghjk ", "BCDF GHJK", "bC-dF-gH-jK"):
        assert normalize_user_code(typed) == "BCDFGHJK", typed
    cyrillic_ve = "\u0412CDF-GHJK"
    for typed in ("BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "", "B" * 100, cyrillic_ve):
        assert normalize_user_code(typed) is None, typed


def test_device_codes_are_long_and_prefixed() -> None:
    code = new_device_code()
    assert code.startswith("kbc_")
    assert len(code) == 47  # 256 random bits


def test_forms_keep_known_fields_and_refuse_repeats() -> None:
    known = frozenset({"a", "b"})
    assert parse_form(b"a=1&b=x%20y&c=ignored&c=twice", known) == {"a": "1", "b": "x y"}
    with pytest.raises(FormError, match="a is given more than once"):
        parse_form(b"a=1&a=2", known)
    with pytest.raises(FormError, match="UTF-8"):
        parse_form(b"a=%ff", known)
    with pytest.raises(FormError, match="UTF-8"):
        parse_form("a=é".encode(), known)
    with pytest.raises(FormError, match="more than 32 fields"):
        parse_form(b"&".join(b"x%d=1" % i for i in range(40)), known)


def test_pages_escape_every_value() -> None:
    frame = pages.Frame(csrf_token='"><script>x</script>', signed_in_as="<b>eve</b>")
    view = pages.DeviceView(
        user_code="BCDF-GHJK",
        hostname='"><img src=x onerror=alert(1)>',
        os="<svg onload=alert(1)>",
        client_id="keybroker-cli",
        client_version="</dd><script>",
        ip_address="127.0.0.1",
        asked="now",
    )
    html = pages.confirm_page(
        frame, view, user="<i>eve</i>", trusted_for="30 days", untrusted_for="24 hours"
    )
    for raw in ("<img", "<svg", "<script", "<b>eve", "<i>eve"):
        assert raw not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in html
    assert pages.duration(timedelta(days=30)) == "30 days"
    assert pages.duration(timedelta(hours=24)) == "24 hours"
    assert pages.duration(timedelta(hours=1)) == "1 hour"


def test_csrf_tokens_belong_to_one_session() -> None:
    from sqlalchemy import create_engine

    from keybroker.server.tokens import TokenHasher

    engine, hasher = create_engine("sqlite://"), TokenHasher([b"h" * 32])
    sessions = WebSessions(engine, hasher, b"k" * 32, timedelta(minutes=15))
    one, other = new_anonymous_value(), new_anonymous_value()
    token = sessions.csrf_token(one)
    assert sessions.csrf_matches(one, token)
    assert not sessions.csrf_matches(other, token)
    assert not sessions.csrf_matches(None, token)
    assert not sessions.csrf_matches(one, None)
    assert not sessions.csrf_matches(one, token[:-1])
    assert not sessions.csrf_matches("not-a-cookie", sessions.csrf_token("not-a-cookie"))
    keyed = WebSessions(engine, hasher, b"q" * 32, timedelta(minutes=15))
    assert not keyed.csrf_matches(one, token)  # another server key, another token


class StubServer:
    """Answers token requests from a script; records when each poll came."""

    url = "http://127.0.0.1:1"

    def __init__(self, answers: list[tuple[int, dict[str, Any]]], clock: FakeClock) -> None:
        self.answers = answers
        self.clock = clock
        self.polled_at: list[float] = []

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        self.polled_at.append(self.clock.now)
        status, body = self.answers.pop(0)
        return status, {}, body

    def close(self) -> None:
        pass


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def __call__(self) -> float:
        return self.now


def _authorization(expires_in: int = 600, interval: int = 5) -> DeviceAuthorization:
    return DeviceAuthorization(
        device_code="kbc_x",
        user_code="BCDF-GHJK",
        verification_uri="https://kb.example/device",
        verification_uri_complete=None,
        expires_in=expires_in,
        interval=interval,
    )


def test_polling_honours_the_interval_and_each_slow_down_adds_five_seconds() -> None:
    clock = FakeClock()
    pending = (400, {"error": "authorization_pending"})
    slow = (400, {"error": "slow_down"})
    token = (200, {"access_token": "kbd_t", "token_type": "Bearer", "expires_in": 60})
    server = StubServer([pending, slow, pending, slow, pending, token], clock)
    grown: list[int] = []
    result = wait_for_token(
        server,  # type: ignore[arg-type]
        _authorization(),
        sleep=clock.sleep,
        clock=clock,
        on_slow_down=grown.append,
    )
    assert result.access_token == "kbd_t"
    assert server.polled_at == [5, 10, 20, 30, 45, 60]
    assert grown == [10, 15]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((400, {"error": "access_denied"}), "denied in the browser"),
        ((400, {"error": "expired_token"}), "the code expired"),
        ((400, {"error": "invalid_grant", "error_description": "used"}), "invalid_grant: used"),
        ((200, {"access_token": "kbd_t", "token_type": "mac"}), "unknown type 'mac'"),
    ],
)
def test_polling_ends_with_a_clear_message(
    answer: tuple[int, dict[str, Any]], message: str
) -> None:
    clock = FakeClock()
    server = StubServer([answer], clock)
    with pytest.raises(Exception, match=message) as raised:
        wait_for_token(server, _authorization(), sleep=clock.sleep, clock=clock)  # type: ignore[arg-type]
    assert raised.value.exit_code == 1  # type: ignore[attr-defined]


def test_polling_stops_at_the_expiry_without_asking_again() -> None:
    clock = FakeClock()
    server = StubServer([(400, {"error": "authorization_pending"})] * 10, clock)
    with pytest.raises(DeviceAuthorizationFailed, match="expired"):
        wait_for_token(
            server,  # type: ignore[arg-type]
            _authorization(expires_in=12, interval=5),
            sleep=clock.sleep,
            clock=clock,
        )
    assert server.polled_at == [5, 10]


@pytest.mark.parametrize(
    "uri", ["javascript:alert(1)", "file:///etc/passwd", "https://", "https://x/\x1b[2J", 5]
)
def test_a_verification_uri_that_is_not_http_is_never_opened(uri: object) -> None:
    class Answer:
        url = "https://kb.example"

        def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], Any]:
            return (
                200,
                {},
                {
                    "device_code": "kbc_x",
                    "user_code": "BCDF-GHJK",
                    "verification_uri": uri,
                    "expires_in": 600,
                },
            )

    with pytest.raises(Exception, match="verification_uri") as raised:
        request_authorization(Answer(), {})  # type: ignore[arg-type]
    assert raised.value.exit_code == 1  # type: ignore[attr-defined]


class FlakyServer(StubServer):
    """Raises the scripted exceptions before answering from the script."""

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        answer = self.answers[0]
        if isinstance(answer, BaseException):
            self.polled_at.append(self.clock.now)
            self.answers.pop(0)
            raise answer
        return super().post_form(path, fields)


def test_a_server_restarting_while_a_person_approves_does_not_end_the_wait() -> None:
    from keybroker.errors import ConnectionFailure
    from keybroker.remote.http import ServerError, ServerRateLimited

    clock = FakeClock()
    token = (200, {"access_token": "kbd_t", "token_type": "Bearer", "expires_in": 60})
    server = FlakyServer(
        [
            (400, {"error": "authorization_pending"}),
            ConnectionFailure("cannot reach the server"),
            ServerError("the server failed: database", 503, None),
            ServerRateLimited("too many requests", 30),
            token,
        ],  # type: ignore[list-item]
        clock,
    )
    told: list[tuple[str, int]] = []
    result = wait_for_token(
        server,  # type: ignore[arg-type]
        _authorization(),
        sleep=clock.sleep,
        clock=clock,
        on_transient_failure=lambda message, wait: told.append((message, wait)),
    )
    assert result.access_token == "kbd_t"
    # waits grow (10 s, 20 s), honour Retry-After (30 s), and fall back to the interval
    assert [wait for _message, wait in told] == [10, 20, 40]
    assert server.polled_at == [5, 10, 20, 40, 80]
    assert "cannot reach the server" in told[0][0]


def test_a_server_that_stays_down_ends_the_wait_with_advice() -> None:
    from keybroker.errors import ConnectionFailure

    clock = FakeClock()
    failures = [ConnectionFailure("cannot reach the server at http://x") for _ in range(10)]
    server = FlakyServer(failures, clock)  # type: ignore[arg-type]
    with pytest.raises(DeviceAuthorizationFailed, match=r"gave up waiting .* connect' again"):
        wait_for_token(
            server,  # type: ignore[arg-type]
            _authorization(expires_in=3600),
            sleep=clock.sleep,
            clock=clock,
        )
    assert len(server.polled_at) == 6
