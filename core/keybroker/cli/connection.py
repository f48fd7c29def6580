"""``keybroker connect|disconnect|status``: sign in to a team server and keep the session."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from keybroker.cli.render import emit_data, humanize, line, output_option
from keybroker.errors import KeybrokerError, UsageError


def _settings() -> Any:
    from keybroker.settings import Settings

    return Settings.from_env()


def read_password(password_stdin: bool, prompt: str, confirm: bool = False) -> str:
    """A password from stdin (``--password-stdin``) or a hidden prompt on a terminal."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin read an empty password")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password on; pass it with --password-stdin")
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    return value


def _expiry_text(expires_at: datetime | None) -> str:
    if expires_at is None:
        return "does not expire (revoke it to end access)"
    left = expires_at - datetime.now(UTC)
    return f"expires {expires_at.isoformat(timespec='seconds')} (in {humanize(left)})"


@click.command("connect")
@click.option("--url", required=True, help="The server, e.g. https://keybroker.example.com")
@click.option(
    "--username",
    help="Sign in with this user name and a password instead of in a web browser.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option(
    "--api-key",
    metavar="KEY",
    help="Connect as a service account with its API key (prefer --api-key-stdin: a command "
    "line is visible to other processes).",
)
@click.option(
    "--api-key-stdin", is_flag=True, help="Read a service account's API key from standard input."
)
@click.option(
    "--no-browser",
    is_flag=True,
    help="Do not open a web browser: show the URL and code to use on another machine.",
)
@click.option(
    "--ca-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="PEM file of the CA that signed the server's certificate.",
)
@click.option("--allow-http", is_flag=True, help="Allow plain http:// to a non-loopback host.")
def connect(
    url: str,
    username: str | None,
    password_stdin: bool,
    api_key: str | None,
    api_key_stdin: bool,
    no_browser: bool,
    ca_file: Path | None,
    allow_http: bool,
) -> None:
    """Sign in to a keybroker server; later commands use it until 'keybroker disconnect'.

    Without --username, this device is authorized in a web browser: sign in there,
    check the code and approve (trusting the device gives it 30 days instead of 24
    hours, by default). The browser opens by itself when this machine has a display.

    With --api-key or --api-key-stdin, this client acts as a service account (for CI
    jobs and containers, KEYBROKER_STORE_URL and KEYBROKER_STORE_API_KEY in the
    environment do the same without connect).
    """
    from keybroker.remote.http import ServerClient
    from keybroker.remote.session import ServerSession, load_session, save_session

    settings = _settings()
    ca = str(ca_file.resolve()) if ca_file else None
    if username is None and password_stdin:
        raise UsageError(
            "--password-stdin needs --username; without both, connect signs in in a browser"
        )
    if (api_key is not None or api_key_stdin) and (username is not None or password_stdin):
        raise UsageError("give either --username or --api-key/--api-key-stdin, not both")
    client = ServerClient(url, timeout=settings.timeout_seconds, ca_file=ca, allow_http=allow_http)
    if api_key is not None or api_key_stdin:
        key = read_api_key(api_key, api_key_stdin)
        with client:
            _connect_with_api_key(client, key, settings, ca, allow_http)
        return
    if username is None:
        from keybroker.cli.device_login import connect_with_browser

        with client:
            connect_with_browser(
                client, open_browser=not no_browser, ca_file=ca, allow_http=allow_http
            )
        return
    password = read_password(password_stdin, f"Password for {username}")
    with client:
        answer = client.post("/api/v1/auth/sign-in", {"username": username, "password": password})
    identity = answer["identity"]
    expires = datetime.fromisoformat(answer["expires_at"])
    previous = load_session(settings)
    session = ServerSession(
        url=client.url,
        token=answer["token"],
        username=identity["name"],
        expires_at=expires,
        ca_file=ca,
        allow_http=allow_http,
    )
    save_session(settings, session)
    if previous is not None:
        _sign_out_quietly(previous, settings.timeout_seconds)
    role = " (admin)" if identity.get("is_admin") else ""
    click.echo(
        f"Connected to {client.url} as {identity['name']}{role}; "
        f"the session {_expiry_text(expires)}."
    )


def read_api_key(given: str | None, from_stdin: bool) -> str:
    """An API key from the option or from stdin (``--api-key-stdin``); never echoed."""
    if given is not None and from_stdin:
        raise UsageError("give either --api-key or --api-key-stdin, not both")
    key = sys.stdin.readline().strip() if from_stdin else (given or "").strip()
    if not key:
        raise UsageError(
            "the API key is empty; give the kbk_... value 'keybroker service-account create' "
            "printed"
        )
    return key


def _connect_with_api_key(
    client: Any, key: str, settings: Any, ca: str | None, allow_http: bool
) -> None:
    """Check ``key`` with the server and keep it as the session (file mode 0600)."""
    from keybroker.remote.http import ServerClient
    from keybroker.remote.session import ServerSession, load_session, save_session

    with ServerClient(
        client.url, key, timeout=settings.timeout_seconds, ca_file=ca, allow_http=allow_http
    ) as keyed:
        identity = keyed.get("/api/v1/auth/whoami")
    if identity.get("credential_kind") != "api_key":
        raise UsageError(
            "--api-key takes a service account's API key (kbk_...); sign in as a person "
            "with 'keybroker connect --url URL'"
        )
    expires = identity.get("expires_at")
    expires_at = datetime.fromisoformat(expires) if expires else None
    previous = load_session(settings)
    save_session(
        settings,
        ServerSession(
            url=client.url,
            token=key,
            username=identity["name"],
            expires_at=expires_at,
            ca_file=ca,
            allow_http=allow_http,
        ),
    )
    if previous is not None and previous.token != key:
        _sign_out_quietly(previous, settings.timeout_seconds)
    click.echo(
        f"Connected to {client.url} as the service account {line(identity['name'])}; "
        f"the API key {_expiry_text(expires_at)}."
    )


def _sign_out_quietly(session: Any, timeout: float) -> bool:
    """Revoke a session on its server; whether the server confirmed it.

    An API key is never revoked this way (it belongs to CI jobs too): False.
    """
    if session.is_api_key:
        return False
    try:
        with session.client(timeout) as client:
            client.post("/api/v1/auth/sign-out")
    except KeybrokerError:
        return False
    return True


@click.command("disconnect")
def disconnect() -> None:
    """Sign out of the server and forget the session; commands use the embedded store again."""
    from keybroker.remote.session import load_session, remove_session

    settings = _settings()
    session = load_session(settings)
    if session is None:
        click.echo("Not connected to a server.")
        return
    confirmed = _sign_out_quietly(session, settings.timeout_seconds)
    remove_session(settings)
    if session.is_api_key:
        click.echo(
            f"Removed the session of {session.url}; the API key itself stays valid until it "
            "is rotated, deactivated or deleted ('keybroker service-account api-key ...')."
        )
    elif confirmed:
        click.echo(f"Signed out of {session.url} and removed the session.")
    else:
        click.echo(
            f"Removed the session; {session.url} could not confirm the sign-out, so the token "
            f"stays valid on the server until it {_expiry_text(session.expires_at)}."
        )


@click.command("status")
@output_option
def status(output: str) -> None:
    """Show the server this client uses, who it is signed in as, and when access ends."""
    from keybroker.remote.session import current_session

    settings = _settings()
    session = current_session(settings)
    if session is None:
        embedded = settings.store_url is None
        data: dict[str, Any] = {
            "connected": False,
            "store": "embedded" if embedded else settings.store_location,
        }
        if output != "table":
            emit_data(data, output)
        elif embedded:
            click.echo("Not connected to a server: commands use the embedded store.")
        else:
            click.echo(
                line(
                    "Not using a server: KEYBROKER_STORE_URL names the database "
                    f"{settings.store_location}, which commands open directly."
                )
            )
        return
    with session.client(settings.timeout_seconds) as client:
        identity = client.get("/api/v1/auth/whoami")
    expires = identity.get("expires_at")
    expires_at = datetime.fromisoformat(expires) if expires else None
    data = {
        "connected": True,
        "url": session.url,
        "user": identity["name"],
        "kind": identity["kind"],
        "is_admin": identity["is_admin"],
        "credential": identity["credential_kind"],
        "expires_at": expires,
    }
    device = None
    if identity.get("device_id"):
        from keybroker.cli.device_login import _device

        with session.client(settings.timeout_seconds) as client:
            device = _device(client, identity["device_id"])
    if device is not None:
        data["device"] = device
    if output != "table":
        emit_data(data, output)
        return
    role = " (admin)" if identity["is_admin"] else ""
    click.echo(f"Server:  {session.url}")
    if identity["kind"] == "service_account":
        click.echo(f"Service account: {line(identity['name'])}")
    else:
        click.echo(f"User:    {line(identity['name'])}{role}")
    if device is not None:
        trust = "trusted" if device.get("trusted") else "not trusted"
        click.echo(
            f"Device:  {line(device.get('hostname') or '(no name)')} ({trust}; "
            f"id {line(str(device.get('id')))})"
        )
    if identity["credential_kind"] == "api_key":
        click.echo(f"Access:  API key that {_expiry_text(expires_at)}")
    else:
        click.echo(f"Access:  {identity['credential_kind']} token that {_expiry_text(expires_at)}")


def server_client() -> Any:
    """An HTTP client of the connected server; a clear error when not connected."""
    from keybroker.remote.session import require_session

    settings = _settings()
    return require_session(settings).client(settings.timeout_seconds)
