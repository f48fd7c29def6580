"""The connection to a team server: stored by ``keybroker connect``, or given by the environment.

``connect`` keeps the server URL, the session token (or a service account's API
key), the identity and the expiry in ``<config dir>/server-session.json``, created
with mode 0600 and refused when others can read it. ``KEYBROKER_STORE_URL=https://...``
selects a server without ``connect``: the credential then comes from
``KEYBROKER_STORE_API_KEY`` (a service account's API key, for CI jobs and
containers), from the file named by ``KEYBROKER_STORE_TOKEN_FILE`` (e.g. a mounted
secret), or from the stored session for that same URL.

:func:`current_session` is the one place every client (CLI, Python API, tool
helpers) asks which server to use and with which credential.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from keybroker.errors import UsageError
from keybroker.remote.http import normalize_url

if TYPE_CHECKING:
    from keybroker.remote.http import ServerClient
    from keybroker.settings import Settings

SESSION_FILE = "server-session.json"
TOKEN_FILE_ENV = "KEYBROKER_STORE_TOKEN_FILE"  # noqa: S105 - a variable name
API_KEY_ENV = "KEYBROKER_STORE_API_KEY"
STORE_URL_ENV = "KEYBROKER_STORE_URL"
#: the prefix of a service account's API key (``keybroker.server.tokens``)
API_KEY_PREFIX = "kbk_"


@dataclass(frozen=True)
class ServerSession:
    """Where the server is and the credential to reach it with."""

    url: str
    token: str = field(repr=False)
    username: str | None = None
    expires_at: datetime | None = None
    ca_file: str | None = None
    allow_http: bool = False

    @property
    def is_api_key(self) -> bool:
        """Whether the credential is a service account's API key (it is never signed out)."""
        return self.token.startswith(API_KEY_PREFIX)

    def client(self, timeout: float) -> ServerClient:
        """An HTTP client of the server, signed in with this session's token."""
        from keybroker.remote.http import ServerClient

        return ServerClient(
            self.url,
            self.token,
            timeout=timeout,
            ca_file=self.ca_file,
            allow_http=self.allow_http,
        )


def session_path(settings: Settings) -> Path:
    """Where ``connect`` stores the session."""
    return settings.config_dir / SESSION_FILE


def is_server_url(url: str | None) -> bool:
    """Whether a store URL names a team server rather than a database."""
    return bool(url) and str(url).lower().startswith(("http://", "https://"))


def load_session(settings: Settings) -> ServerSession | None:
    """The stored session, or None; refuses a file others can read or that is corrupt."""
    path = session_path(settings)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if mode & 0o077:
        raise UsageError(
            f"the session file {path} is readable by other users (mode {mode:o}); "
            f"run 'chmod 600 {path}' or 'keybroker disconnect'"
        )
    try:
        data = json.loads(path.read_text())
        expires = data.get("expires_at")
        return ServerSession(
            url=str(data["url"]),
            token=str(data["token"]),
            username=data.get("username"),
            expires_at=datetime.fromisoformat(expires) if expires else None,
            ca_file=data.get("ca_file"),
            allow_http=bool(data.get("allow_http", False)),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(
            f"the session file {path} is unreadable or corrupt; run 'keybroker connect' again"
        ) from None


def save_session(settings: Settings, session: ServerSession) -> Path:
    """Write the session atomically, readable only by the user."""
    path = session_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = asdict(session)
    data["expires_at"] = session.expires_at.isoformat() if session.expires_at else None
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".session-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return path


def remove_session(settings: Settings) -> bool:
    """Delete the stored session; whether there was one."""
    try:
        session_path(settings).unlink()
    except FileNotFoundError:
        return False
    return True


def environment_token() -> str | None:
    """A credential the environment gives for ``KEYBROKER_STORE_URL``, or None.

    ``KEYBROKER_STORE_API_KEY`` (a service account's API key, for CI jobs and
    containers) or the content of the file named by ``KEYBROKER_STORE_TOKEN_FILE``
    (e.g. a mounted secret); not both. This is the one place that reads
    credentials from the environment; none of them is ever written into a file
    that ``login`` writes.
    """
    api_key = os.environ.get(API_KEY_ENV, "").strip()
    token_file = os.environ.get(TOKEN_FILE_ENV)
    if api_key:
        if token_file:
            raise UsageError(f"set either {API_KEY_ENV} or {TOKEN_FILE_ENV}, not both")
        return api_key
    if not token_file:
        return None
    try:
        token = Path(token_file).expanduser().read_text().strip()
    except OSError as exc:
        raise UsageError(f"cannot read {TOKEN_FILE_ENV} ({token_file}): {exc.strerror}") from None
    if not token:
        raise UsageError(f"{TOKEN_FILE_ENV} ({token_file}) is empty")
    return token


def helper_env() -> dict[str, str]:
    """What a credential helper needs, besides the server URL, to sign in as this client does.

    The *path* of the token file (never its content); a token kept in the
    stored session is found through the config directory, and an API key in the
    environment reaches the helper through the tool's own environment.
    """
    token_file = os.environ.get(TOKEN_FILE_ENV)
    return {TOKEN_FILE_ENV: str(Path(token_file).expanduser().absolute())} if token_file else {}


def current_session(settings: Settings) -> ServerSession | None:
    """The server this client uses, or None for a store (embedded, or a database URL).

    ``KEYBROKER_STORE_URL`` wins over the stored session: a database URL opens
    that store, an http(s) URL that server, whose credential is the environment's
    (:func:`environment_token`) or the stored session's for the same URL.
    """
    if os.environ.get(API_KEY_ENV, "").strip() and not is_server_url(settings.store_url):
        raise UsageError(
            f"{API_KEY_ENV} is set but {STORE_URL_ENV} does not name a server; "
            f"set {STORE_URL_ENV}=https://... (the server the key belongs to) as well"
        )
    if settings.store_url and not is_server_url(settings.store_url):
        return None
    stored = load_session(settings)
    if not is_server_url(settings.store_url):
        return stored
    url = normalize_url(str(settings.store_url), allow_http=True)
    token = environment_token()
    if token is not None:
        normalize_url(url)  # plain http only to loopback for a credential from the environment
        return ServerSession(url=url, token=token)
    if stored is not None and stored.url == url:
        return stored
    raise UsageError(
        f"{STORE_URL_ENV} names the server {url} but there is no session for it; "
        f"run 'keybroker connect --url {url}', or set {API_KEY_ENV} (a service account's "
        f"API key) or {TOKEN_FILE_ENV}"
    )


def require_session(settings: Settings) -> ServerSession:
    """The current session; a clear error when this client is not connected."""
    session = current_session(settings)
    if session is None:
        raise UsageError(
            "not connected to a keybroker server; run 'keybroker connect --url URL' first"
        )
    return session
