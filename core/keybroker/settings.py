"""Where keybroker keeps its files, and the settings read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_DIR_ENV = "KEYBROKER_CONFIG_DIR"
STORE_URL_ENV = "KEYBROKER_STORE_URL"
ENCRYPTION_KEY_ENV = "KEYBROKER_ENCRYPTION_KEY"
TIMEOUT_ENV = "KEYBROKER_TIMEOUT"

DEFAULT_TIMEOUT_SECONDS = 30.0


def _default_config_dir() -> Path:
    env = os.environ.get(CONFIG_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("keybroker", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Resolved settings; :meth:`from_env` reads them from environment variables."""

    config_dir: Path = field(default_factory=_default_config_dir)
    store_url: str | None = None
    encryption_key: str | None = field(default=None, repr=False)
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from ``KEYBROKER_*`` environment variables, defaults elsewhere."""
        timeout = os.environ.get(TIMEOUT_ENV)
        return cls(
            config_dir=_default_config_dir(),
            store_url=os.environ.get(STORE_URL_ENV) or None,
            encryption_key=os.environ.get(ENCRYPTION_KEY_ENV) or None,
            timeout_seconds=float(timeout) if timeout else DEFAULT_TIMEOUT_SECONDS,
        )

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL of the embedded store."""
        return self.store_url or f"sqlite:///{self.config_dir / 'keybroker.db'}"

    @property
    def key_file(self) -> Path:
        """The file holding the encryption key when none is given in the environment."""
        return self.config_dir / "secret.key"

    def refresh_env(self) -> dict[str, str]:
        """Environment a child process needs to reach the same store (no secrets)."""
        env = {CONFIG_DIR_ENV: str(self.config_dir)}
        if self.store_url:
            env[STORE_URL_ENV] = self.store_url
        return env
