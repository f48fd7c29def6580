"""Pre-authenticated Python clients whose access tokens renew themselves through keybroker.

Imported only when a client is built: it imports google-auth at module level.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC
from typing import Any

from google.auth import credentials as google_credentials
from google.auth import exceptions as google_exceptions
from google.auth.transport import Request

from keybroker.plugin import Connector, KeybrokerError


class KeybrokerCredentials(google_credentials.Credentials):
    """google-auth credentials holding a keybroker access token, renewed through keybroker.

    ``project_id`` names the connector's project. When google-auth finds the token
    expired (or about to), :meth:`refresh` asks keybroker for a fresh connector
    client: the long-lived credentials never enter the process.
    """

    def __init__(
        self, client: Connector, renew: Callable[[], Connector] | None, project_id: str
    ) -> None:
        super().__init__()
        self.project_id = project_id
        self._renew = renew
        self._lock = threading.Lock()
        self._adopt(client)

    def __repr__(self) -> str:
        return f"KeybrokerCredentials(project_id={self.project_id!r}, expiry={self.expiry})"

    def _adopt(self, client: Connector) -> None:
        secret = client.secrets.get("token")
        if secret is None:
            raise google_exceptions.RefreshError("keybroker returned no access token")
        self.token = secret.get_secret_value()
        expires_at = client.expires_at
        # google-auth compares expiry with a naive UTC clock
        self.expiry = expires_at.astimezone(UTC).replace(tzinfo=None) if expires_at else None

    def refresh(self, request: Request) -> None:
        """Fetch a fresh access token from keybroker."""
        if self._renew is None:
            raise google_exceptions.RefreshError(
                "the keybroker access token expired and cannot be renewed here"
            )
        with self._lock:
            try:
                fresh = self._renew()
            except KeybrokerError as exc:
                raise google_exceptions.RefreshError(f"keybroker: {exc.message}") from None
            self._adopt(fresh)


def new_storage_client(credentials: Any, project: str) -> Any:
    """A ``google.cloud.storage.Client`` for ``project`` sending ``credentials``.

    Its HTTP session follows keybroker's proxy rule and reads no ~/.netrc.
    ``STORAGE_EMULATOR_HOST`` is honoured by the library itself, as everywhere else.
    """
    from google.cloud import storage

    from keybroker_gcp.rest import authorized_session

    return storage.Client(
        project=project, credentials=credentials, _http=authorized_session(credentials)
    )
