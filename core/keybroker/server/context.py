"""What one server process holds: its settings, database engine, keys and services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from keybroker.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from keybroker.server.api_key_limits import ApiKeyLimiter
    from keybroker.server.api_keys import ApiKeyService
    from keybroker.server.audit import AuditLog
    from keybroker.server.connectors import ConnectorBackend
    from keybroker.server.credentials import CredentialService
    from keybroker.server.device_flow import DeviceFlow
    from keybroker.server.devices import DeviceService
    from keybroker.server.keys import ServerKeys
    from keybroker.server.ratelimit import SignInLimiter
    from keybroker.server.service_accounts import ServiceAccountService
    from keybroker.server.settings import ServerSettings
    from keybroker.server.tokens import TokenHasher
    from keybroker.server.users import UserService
    from keybroker.server.web_sessions import WebSessions
    from keybroker.store.direct_reads import DirectReader

#: the ``store_metadata`` entry holding the server key's check value
_KEY_CHECK = "server_key_check"


@dataclass
class ServerContext:
    """The services a request handler reaches through ``request.app.state.context``."""

    settings: ServerSettings
    engine: Engine
    keys: ServerKeys = field(repr=False)
    users: UserService
    credentials: CredentialService
    limiter: SignInLimiter
    audit: AuditLog
    devices: DeviceService
    device_flow: DeviceFlow
    web_sessions: WebSessions
    connectors: ConnectorBackend
    service_accounts: ServiceAccountService
    api_keys: ApiKeyService
    api_key_limiter: ApiKeyLimiter
    hasher: TokenHasher = field(repr=False)
    direct: DirectReader = field(repr=False)

    @classmethod
    def create(cls, settings: ServerSettings) -> ServerContext:
        """Open the database (no query yet) and build the services."""
        from keybroker.server.api_key_limits import ApiKeyLimiter
        from keybroker.server.api_keys import ApiKeyService
        from keybroker.server.audit import AuditLog
        from keybroker.server.connectors import ConnectorBackend
        from keybroker.server.credentials import CredentialService
        from keybroker.server.database import create_engine, direct_reader
        from keybroker.server.devices import DeviceService
        from keybroker.server.keys import load_keys
        from keybroker.server.ratelimit import SignInLimiter
        from keybroker.server.service_accounts import ServiceAccountService
        from keybroker.server.tokens import TokenHasher
        from keybroker.server.users import UserService
        from keybroker.server.web_sessions import WebSessions

        keys = load_keys(settings)
        engine = create_engine(settings)
        direct = direct_reader(settings, engine)
        hasher = TokenHasher([keys.token_hash_key])
        credentials = CredentialService(
            engine, hasher, timedelta(hours=settings.session_hours), direct
        )
        audit = AuditLog(engine)
        service_accounts = ServiceAccountService(engine, audit)
        api_keys = ApiKeyService(engine, credentials, service_accounts, audit)
        service_accounts.keys = api_keys
        return cls(
            settings=settings,
            engine=engine,
            keys=keys,
            users=UserService(engine),
            credentials=credentials,
            limiter=SignInLimiter(
                engine,
                keys.token_hash_key,
                per_user=settings.sign_in_failures_per_user,
                per_address=settings.sign_in_failures_per_address,
                window_seconds=settings.sign_in_window_seconds,
            ),
            audit=audit,
            devices=DeviceService(engine, audit),
            device_flow=_device_flow(settings, engine, hasher, credentials, audit),
            web_sessions=WebSessions(
                engine,
                hasher,
                keys.token_hash_key,
                timedelta(minutes=settings.web_session_minutes),
            ),
            connectors=ConnectorBackend(
                engine,
                keys.encryption_key,
                audit,
                environment_credentials=settings.allow_environment_credentials,
                direct=direct,
            ),
            service_accounts=service_accounts,
            api_keys=api_keys,
            api_key_limiter=ApiKeyLimiter(
                engine,
                per_address=settings.api_key_failures_per_address,
                window_seconds=settings.sign_in_window_seconds,
            ),
            hasher=hasher,
            direct=direct,
        )

    def prepare(self) -> str | None:
        """Migrate, check the encryption key against the database, create the first admin.

        Safe to run from several replicas at once. Returns a generated admin
        password when one was made (the caller prints it once), else None.
        """
        from keybroker.server.database import check_schema, migrate

        migrate(self.engine)
        with self.engine.connect() as connection:
            check_schema(connection)
        self._check_key()
        self._accept_earlier_tokens()
        return self.users.bootstrap_admin(self.settings.admin_password)

    def _accept_earlier_tokens(self) -> None:
        """Keep tokens issued before a key rotation valid (their hash keys, sealed in the
        database by ``keybroker server rotate-key``)."""
        from keybroker.server.key_rotation import previous_token_keys

        with self.engine.connect() as connection:
            self.hasher.accept_previous(previous_token_keys(connection, self.keys))

    def _check_key(self) -> None:
        from sqlalchemy import insert, select
        from sqlalchemy.exc import IntegrityError

        from keybroker.store.schema import store_metadata

        expected = self.keys.check_value.encode()
        query = select(store_metadata.c.value).where(store_metadata.c.name == _KEY_CHECK)
        with self.engine.connect() as connection:
            found = connection.execute(query).scalar()
        if found is None:
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        insert(store_metadata).values(name=_KEY_CHECK, value=expected)
                    )
                return
            except IntegrityError:
                with self.engine.connect() as connection:
                    found = connection.execute(query).scalar()
        if found is None or bytes(found) != expected:
            raise StoreError(
                "this server's encryption key is not the one the database was set up with; "
                "give every replica the same KEYBROKER_SERVER_ENCRYPTION_KEY"
            )

    def close(self) -> None:
        """Release database connections."""
        self.audit.close()
        self.engine.dispose()
        if self.direct.engine is not self.engine:
            self.direct.engine.dispose()


def _device_flow(
    settings: ServerSettings,
    engine: Engine,
    hasher: TokenHasher,
    credentials: CredentialService,
    audit: AuditLog,
) -> DeviceFlow:
    """The device authorization grant with its two limiters."""
    from keybroker.server.device_flow import DeviceFlow
    from keybroker.server.user_code_limits import DeviceRequestLimiter, UserCodeLimiter

    window = settings.sign_in_window_seconds
    return DeviceFlow(
        engine,
        hasher,
        credentials,
        audit,
        settings,
        requests=DeviceRequestLimiter(
            engine, per_address=settings.device_requests_per_address, window_seconds=window
        ),
        guesses=UserCodeLimiter(
            engine,
            per_user=settings.user_code_failures_per_user,
            per_address=settings.user_code_failures_per_address,
            window_seconds=window,
        ),
    )
