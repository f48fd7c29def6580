"""Where keybroker keeps its files, and the settings read from the environment."""

from __future__ import annotations

import base64
import binascii
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from keybroker.errors import UsageError

CONFIG_DIR_ENV = "KEYBROKER_CONFIG_DIR"
STORE_URL_ENV = "KEYBROKER_STORE_URL"
ENCRYPTION_KEY_ENV = "KEYBROKER_ENCRYPTION_KEY"
TIMEOUT_ENV = "KEYBROKER_TIMEOUT"
#: where a login's credential helper expects the store, written by ``refresh_env`` (no secret)
LOGIN_STORE_ENV = "KEYBROKER_LOGIN_STORE"

DEFAULT_TIMEOUT_SECONDS = 30.0
#: a day: longer than any call should take, short enough to catch a typo in the unit
MAX_TIMEOUT_SECONDS = 86400.0
ENCRYPTION_KEY_BYTES = 32

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _default_config_dir() -> Path:
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env).expanduser().absolute()
    from platformdirs import user_config_dir

    return Path(user_config_dir("keybroker", appauthor=False))


def _env(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    return os.environ.get(name) or None


def _timeout_from_env() -> float:
    text = _env(TIMEOUT_ENV)
    if text is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not (0 < value <= MAX_TIMEOUT_SECONDS):
        raise UsageError(
            f"{TIMEOUT_ENV}={text.strip()[:40]!r} is not valid: give a number of seconds "
            f"greater than 0 and at most {MAX_TIMEOUT_SECONDS:g}, e.g. {TIMEOUT_ENV}=30"
        )
    return value


def _store_url_from_env() -> str | None:
    url = _env(STORE_URL_ENV)
    if url is None:
        return None
    if not _URL_SCHEME.match(url.strip()):
        # never echo the value: a database URL may carry a password
        raise UsageError(
            f"{STORE_URL_ENV} is not a URL: give a database URL such as "
            "sqlite:////path/keybroker.db, postgresql+psycopg://user@host/db or "
            "mysql+pymysql://user@host/db"
        )
    return url.strip()


def _encryption_key_from_env() -> str | None:
    text = _env(ENCRYPTION_KEY_ENV)
    if text is None:
        return None
    try:
        key = base64.urlsafe_b64decode(text.strip().encode() + b"==")
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != ENCRYPTION_KEY_BYTES:
        # never echo the value: it is the key
        raise UsageError(
            f"{ENCRYPTION_KEY_ENV} is not valid: give {ENCRYPTION_KEY_BYTES} random bytes "
            "encoded as urlsafe base64 (e.g. from `openssl rand -base64 32 | tr '+/' '-_'`)"
        )
    return text.strip()


@dataclass(frozen=True)
class Settings:
    """Resolved settings; :meth:`from_env` reads them from environment variables."""

    config_dir: Path = field(default_factory=_default_config_dir)
    store_url: str | None = None
    encryption_key: str | None = field(default=None, repr=False)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from ``KEYBROKER_*`` environment variables, defaults elsewhere.

        An empty variable counts as unset. A malformed value raises ``UsageError``
        naming the variable and what it accepts (never echoing a key or a URL).
        """
        return cls(
            config_dir=_default_config_dir(),
            store_url=_store_url_from_env(),
            encryption_key=_encryption_key_from_env(),
            timeout_seconds=_timeout_from_env(),
        )

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the embedded store."""
        return self.store_url or f"sqlite:///{self.config_dir / 'keybroker.db'}"

    @property
    def key_file(self) -> Path:
        """The file holding the encryption key when none is given in the environment."""
        return self.config_dir / "secret.key"

    @property
    def store_location(self) -> str:
        """The store's URL with nothing secret in it (no password), for files and messages."""
        return password_free_url(self.database_url)

    def refresh_env(self) -> dict[str, str]:
        """Environment a credential helper needs to reach the same store: never a secret.

        ``login`` writes it into kubectl's exec entry and docker's credential
        mapping, and the helper runs with it on top of the environment kubectl
        or docker run in. It names the config directory (the key file, and
        later a server session); the store URL only when it carries no
        password (empty for the embedded store, so that a ``KEYBROKER_STORE_URL``
        in the tool's environment cannot send the helper elsewhere). A URL with
        a password is never written: the helper takes it from the tool's
        environment, and ``KEYBROKER_LOGIN_STORE`` (the URL without its
        password) lets it say what to set when it finds another store there.
        """
        env = {CONFIG_DIR_ENV: str(self.config_dir), LOGIN_STORE_ENV: self.store_location}
        if self.store_url is None:
            env[STORE_URL_ENV] = ""
        elif password_free_url(self.store_url) == self.store_url:
            env[STORE_URL_ENV] = self.store_url
        return env

    def check_login_store(self) -> None:
        """In a credential helper: refuse a store other than the one login was made with."""
        expected = os.environ.get(LOGIN_STORE_ENV)
        if expected and expected != self.store_location:
            raise UsageError(
                f"this login was made with the store {expected}, but keybroker would use "
                f"{self.store_location} here; set {STORE_URL_ENV} (with its password) in the "
                "environment kubectl or docker runs in, or log in again from that environment"
            )


_SECRET_QUERY_KEY = re.compile(r"pass|pwd|secret|token|credential", re.IGNORECASE)


def password_free_url(url: str) -> str:
    """A database URL without its password and secret-looking query parameters.

    Returns ``url`` itself when it holds no secret, so equality tells whether it did.
    """
    from sqlalchemy.engine import URL, make_url

    try:
        parsed = make_url(url)
    except Exception:
        return "<unparsable store URL>"
    secret_keys = [key for key in parsed.query if _SECRET_QUERY_KEY.search(key)]
    if parsed.password is None and not secret_keys:
        return url
    cleaned = URL.create(
        parsed.drivername,
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query={k: v for k, v in parsed.query.items() if k not in secret_keys},
    )
    return cleaned.render_as_string(hide_password=False)
