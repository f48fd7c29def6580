"""``keybroker connect --url URL`` without credentials: sign in through a web browser.

Shows the verification URL and the user code, opens the browser when this machine
has one (never on a machine without a display, where Python's ``webbrowser`` could
start a text browser in the terminal), waits for the approval, and stores the
device token like any other session.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import click

from keybroker.cli.render import humanize, line

if TYPE_CHECKING:
    from keybroker.remote.device_flow import DeviceAuthorization
    from keybroker.remote.http import ServerClient


def browser_available() -> bool:
    """Whether a graphical web browser can be opened here (a display, or macOS/Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_browser(url: str) -> bool:
    import webbrowser

    try:
        return bool(webbrowser.open(url, new=1))
    except webbrowser.Error:
        return False


def _instructions(authorization: DeviceAuthorization, opened: bool) -> None:
    lifetime = humanize(timedelta(seconds=authorization.expires_in))
    complete = authorization.verification_uri_complete
    lines = [
        "To connect this device, sign in at",
        "",
        f"    {line(authorization.verification_uri)}",
        "",
        "and enter the code",
        "",
        f"    {line(authorization.user_code)}",
        "",
    ]
    if complete:
        verb = "Opened" if opened else "Or open"
        lines.append(f"{verb} {line(complete)}{' in your browser' if opened else ''}.")
    lines.append(f"Waiting for the approval; the code expires in {lifetime} (Ctrl-C to stop).")
    click.echo("\n".join(lines), err=True)


def connect_with_browser(
    client: ServerClient, *, open_browser: bool, ca_file: str | None, allow_http: bool
) -> None:
    """Run the device flow against ``client``'s server and store the session it yields."""
    from keybroker.cli.connection import _expiry_text, _settings, _sign_out_quietly
    from keybroker.remote.device_flow import request_authorization, this_device, wait_for_token
    from keybroker.remote.http import ServerClient
    from keybroker.remote.session import ServerSession, load_session, save_session

    settings = _settings()
    authorization = request_authorization(client, this_device())
    opened = False
    if open_browser and browser_available():
        target = authorization.verification_uri_complete or authorization.verification_uri
        opened = _open_browser(target)
    try:  # from the first line that says Ctrl-C stops the wait
        _instructions(authorization, opened)
        token = wait_for_token(
            client,
            authorization,
            on_slow_down=lambda seconds: click.echo(
                f"The server asked to poll less often: every {seconds} s from now on.", err=True
            ),
            on_transient_failure=lambda message, seconds: click.echo(
                f"Could not ask the server ({line(message)}); trying again in {seconds} s.",
                err=True,
            ),
        )
    except KeyboardInterrupt:
        click.echo("Stopped waiting: this device was not connected.", err=True)
        raise click.exceptions.Exit(130) from None
    with ServerClient(
        client.url,
        token.access_token,
        timeout=settings.timeout_seconds,
        ca_file=ca_file,
        allow_http=allow_http,
    ) as authorized:
        identity = authorized.get("/api/v1/auth/whoami")
        device = _device(authorized, identity.get("device_id"))
    expires = identity.get("expires_at")
    expires_at = datetime.fromisoformat(expires) if expires else None
    if expires_at is None and token.expires_in is not None:
        expires_at = datetime.now(UTC) + timedelta(seconds=token.expires_in)
    previous = load_session(settings)
    save_session(
        settings,
        ServerSession(
            url=client.url,
            token=token.access_token,
            username=identity["name"],
            expires_at=expires_at,
            ca_file=ca_file,
            allow_http=allow_http,
        ),
    )
    if previous is not None:
        _sign_out_quietly(previous, settings.timeout_seconds)
    role = " (admin)" if identity.get("is_admin") else ""
    kind = "a trusted device" if device and device.get("trusted") else "a device"
    click.echo(
        f"Connected to {client.url} as {line(identity['name'])}{role} from {kind}; "
        f"access {_expiry_text(expires_at)}."
    )


def _device(client: ServerClient, device_id: Any) -> dict[str, Any] | None:
    """The device record of this token, or None when it cannot be read."""
    from keybroker.errors import KeybrokerError

    if not isinstance(device_id, str):
        return None
    try:
        found = client.get(f"/api/v1/devices/{quote(device_id, safe='')}")
    except KeybrokerError:
        return None
    return found if isinstance(found, dict) else None
