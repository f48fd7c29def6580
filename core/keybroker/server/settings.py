"""The server's settings: data directory, database, encryption key, limits.

Every value comes from a ``KEYBROKER_SERVER_*`` environment variable (or
``KEYBROKER_ADMIN_PASSWORD``) unless a command-line option overrides it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from keybroker.errors import UsageError

DATA_DIR_ENV = "KEYBROKER_SERVER_DATA_DIR"
DATABASE_URL_ENV = "KEYBROKER_SERVER_DATABASE_URL"
ENCRYPTION_KEY_ENV = "KEYBROKER_SERVER_ENCRYPTION_KEY"
ENCRYPTION_KEY_FILE_ENV = "KEYBROKER_SERVER_ENCRYPTION_KEY_FILE"
ADMIN_PASSWORD_ENV = "KEYBROKER_ADMIN_PASSWORD"  # noqa: S105 - a variable name
SESSION_HOURS_ENV = "KEYBROKER_SERVER_SESSION_HOURS"
USER_FAILURES_ENV = "KEYBROKER_SERVER_SIGN_IN_FAILURES_PER_USER"
ADDRESS_FAILURES_ENV = "KEYBROKER_SERVER_SIGN_IN_FAILURES_PER_ADDRESS"
FAILURE_WINDOW_ENV = "KEYBROKER_SERVER_SIGN_IN_WINDOW_SECONDS"
FORWARDED_ALLOW_IPS_ENV = "KEYBROKER_SERVER_FORWARDED_ALLOW_IPS"
POOL_SIZE_ENV = "KEYBROKER_SERVER_DB_POOL_SIZE"
DATABASE_THREADS_ENV = "KEYBROKER_SERVER_DATABASE_THREADS"
PUBLIC_URL_ENV = "KEYBROKER_SERVER_PUBLIC_URL"
DEVICE_CODE_SECONDS_ENV = "KEYBROKER_SERVER_DEVICE_CODE_SECONDS"
DEVICE_POLL_INTERVAL_ENV = "KEYBROKER_SERVER_DEVICE_POLL_INTERVAL_SECONDS"
TRUSTED_DEVICE_DAYS_ENV = "KEYBROKER_SERVER_TRUSTED_DEVICE_DAYS"
DEVICE_HOURS_ENV = "KEYBROKER_SERVER_DEVICE_HOURS"
DEVICE_REQUESTS_ENV = "KEYBROKER_SERVER_DEVICE_REQUESTS_PER_ADDRESS"
USER_CODE_FAILURES_USER_ENV = "KEYBROKER_SERVER_USER_CODE_FAILURES_PER_USER"
USER_CODE_FAILURES_ADDRESS_ENV = "KEYBROKER_SERVER_USER_CODE_FAILURES_PER_ADDRESS"
WEB_SESSION_MINUTES_ENV = "KEYBROKER_SERVER_WEB_SESSION_MINUTES"
ENVIRONMENT_CREDENTIALS_ENV = "KEYBROKER_SERVER_ALLOW_ENVIRONMENT_CREDENTIALS"
API_KEY_FAILURES_ENV = "KEYBROKER_SERVER_API_KEY_FAILURES_PER_ADDRESS"

SUPPORTED_SCHEMES = ("sqlite", "postgresql+psycopg", "mysql+pymysql")

#: database-lane threads per worker for a database across a network
NETWORK_DATABASE_THREADS = 4


def _default_data_dir() -> Path:
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("keybroker", appauthor=False)) / "server"


def _int_env(name: str, default: int, minimum: int = 1) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise UsageError(f"{name} must be a whole number of at least {minimum}, not '{text}'")
    return value


def _optional_int_env(name: str, minimum: int) -> int | None:
    """A whole-number variable, None when unset."""
    return _int_env(name, 0, minimum) if os.environ.get(name) else None


def _bool_env(name: str) -> bool:
    """A true/false variable (unset: false); anything else is refused."""
    text = os.environ.get(name, "").strip().lower()
    if text in ("", "0", "false", "no"):
        return False
    if text in ("1", "true", "yes"):
        return True
    raise UsageError(f"{name} must be true or false, not '{text[:32]}'")


def _public_url_env() -> str | None:
    """``KEYBROKER_SERVER_PUBLIC_URL`` checked: http(s), a host, no query, fragment or user."""
    from urllib.parse import urlsplit

    text = os.environ.get(PUBLIC_URL_ENV, "").strip()
    if not text:
        return None
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise UsageError(
            f"{PUBLIC_URL_ENV} must be the URL clients reach the server at, like "
            f"https://keybroker.example.com (no query, fragment or user), not '{text[:100]}'"
        )
    return text.rstrip("/")


@dataclass(frozen=True)
class ServerSettings:
    """Resolved server settings; :meth:`from_env` reads them from the environment."""

    data_dir: Path = field(default_factory=_default_data_dir)
    database_url_override: str | None = None
    encryption_key: str | None = field(default=None, repr=False)
    encryption_key_file: Path | None = None
    admin_password: str | None = field(default=None, repr=False)
    session_hours: int = 24
    sign_in_failures_per_user: int = 10
    sign_in_failures_per_address: int = 50
    sign_in_window_seconds: int = 900
    forwarded_allow_ips: str = ""
    pool_size: int = 10
    database_threads_override: int | None = None
    public_url: str | None = None
    device_code_seconds: int = 600
    device_poll_interval_seconds: int = 5
    trusted_device_days: int = 30
    device_hours: int = 24
    device_requests_per_address: int = 30
    user_code_failures_per_user: int = 10
    user_code_failures_per_address: int = 30
    web_session_minutes: int = 15
    allow_environment_credentials: bool = False
    api_key_failures_per_address: int = 30

    @classmethod
    def from_env(cls) -> ServerSettings:
        """Settings from ``KEYBROKER_SERVER_*`` (and ``KEYBROKER_ADMIN_PASSWORD``) variables."""
        key_file = os.environ.get(ENCRYPTION_KEY_FILE_ENV)
        return cls(
            data_dir=_default_data_dir(),
            database_url_override=os.environ.get(DATABASE_URL_ENV) or None,
            encryption_key=os.environ.get(ENCRYPTION_KEY_ENV) or None,
            encryption_key_file=Path(key_file).expanduser() if key_file else None,
            admin_password=os.environ.get(ADMIN_PASSWORD_ENV) or None,
            session_hours=_int_env(SESSION_HOURS_ENV, 24),
            sign_in_failures_per_user=_int_env(USER_FAILURES_ENV, 10),
            sign_in_failures_per_address=_int_env(ADDRESS_FAILURES_ENV, 50),
            sign_in_window_seconds=_int_env(FAILURE_WINDOW_ENV, 900),
            forwarded_allow_ips=os.environ.get(FORWARDED_ALLOW_IPS_ENV, "").strip(),
            pool_size=_int_env(POOL_SIZE_ENV, 10),
            database_threads_override=_optional_int_env(DATABASE_THREADS_ENV, minimum=0),
            public_url=_public_url_env(),
            device_code_seconds=_int_env(DEVICE_CODE_SECONDS_ENV, 600),
            device_poll_interval_seconds=_int_env(DEVICE_POLL_INTERVAL_ENV, 5),
            trusted_device_days=_int_env(TRUSTED_DEVICE_DAYS_ENV, 30),
            device_hours=_int_env(DEVICE_HOURS_ENV, 24),
            device_requests_per_address=_int_env(DEVICE_REQUESTS_ENV, 30),
            user_code_failures_per_user=_int_env(USER_CODE_FAILURES_USER_ENV, 10),
            user_code_failures_per_address=_int_env(USER_CODE_FAILURES_ADDRESS_ENV, 30),
            web_session_minutes=_int_env(WEB_SESSION_MINUTES_ENV, 15),
            allow_environment_credentials=_bool_env(ENVIRONMENT_CREDENTIALS_ENV),
            api_key_failures_per_address=_int_env(API_KEY_FAILURES_ENV, 30),
        )

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the database holding connectors and server tables."""
        url = self.database_url_override or f"sqlite:///{self.data_dir / 'server.db'}"
        scheme = url.split(":", 1)[0]
        if scheme not in SUPPORTED_SCHEMES:
            raise UsageError(
                f"the database URL scheme '{scheme}' is not supported; use one of "
                + ", ".join(f"{s}://" for s in SUPPORTED_SCHEMES)
            )
        return url

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is a SQLite file (one host only)."""
        return self.database_url.startswith("sqlite")

    @property
    def database_threads(self) -> int:
        """Threads per worker for short database requests; 0 runs them on the event loop.

        By default 0 for a database on this host (SQLite, or a server reached over
        loopback or a Unix socket: threads would only take turns at the GIL) and 4
        for one across the network (threads overlap its round trips).
        """
        if self.database_threads_override is not None:
            return self.database_threads_override
        return 0 if self.database_is_local else NETWORK_DATABASE_THREADS

    @property
    def database_is_local(self) -> bool:
        """Whether the database is on this host: SQLite, loopback or a Unix socket."""
        from sqlalchemy.engine import make_url

        from keybroker.remote.http import is_loopback

        if self.is_sqlite:
            return True
        url = make_url(self.database_url)
        socket = url.query.get("host") or url.query.get("unix_socket")
        if socket:  # psycopg's host=/path and PyMySQL's unix_socket=/path
            return str(socket).startswith("/")
        return not url.host or is_loopback(url.host)

    @property
    def key_file(self) -> Path:
        """Where the encryption key is read from when none is in the environment."""
        return self.encryption_key_file or self.data_dir / "secret.key"
