"""Every connector store behaves the same: memory, SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from keybroker.connector import Connector, ConnectorQuery
from keybroker.errors import ConflictError, NotFoundError, StoreError
from keybroker.settings import Settings
from keybroker.store.base import ConnectorStore
from keybroker.store.crypto import SecretBox
from keybroker.store.memory import MemoryConnectorStore
from keybroker.store.sql import SQLConnectorStore

SECRET = "s3cr3t-value-never-stored-in-clear"


#: one key for the module: the server databases are shared by its tests
KEY = os.urandom(32)


def _box() -> SecretBox:
    return SecretBox(KEY)


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConnectorStore]:
    kind = request.param
    created: ConnectorStore
    if kind == "memory":
        created = MemoryConnectorStore()
    elif kind == "sqlite":
        created = SQLConnectorStore(f"sqlite:///{tmp_path / 'kb.db'}", _box())
    else:
        url = request.getfixturevalue(f"{kind}_url")
        created = SQLConnectorStore(url, _box())
        _clear(created)
    yield created
    created.close()


def _clear(store: ConnectorStore) -> None:
    for connector in store.list():
        store.delete(connector.id)


def _connector(name: str = "demo", **changes: object) -> Connector:
    fields: dict[str, object] = {
        "name": name,
        "connector_type": "aws",
        "auth_method": "secret-key",
        "resource_type": "s3-bucket",
        "resource_id": "s3://bucket",
        "configuration": {"region": "eu-west-1", "nested": {"a": [1, 2]}},
        "secrets": {"aws_secret_access_key": SecretStr(SECRET)},
        "labels": {"team": "data", "env": "prod"},
        "description": "a test connector",
        "owner": "alice",
        "shared": True,
        "expiration_seconds": 900,
        "expires_at": datetime(2030, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    }
    fields.update(changes)
    return Connector.model_validate(fields)


def test_round_trip_keeps_every_field(store: ConnectorStore) -> None:
    original = _connector()
    store.create(original)
    loaded = store.get("demo", with_secrets=True)
    assert loaded.model_dump(exclude={"secrets", "secret_names", "version"}) == original.model_dump(
        exclude={"secrets", "secret_names", "version"}
    )
    assert loaded.version == 1 and loaded.error is None
    assert loaded.secrets["aws_secret_access_key"].get_secret_value() == SECRET
    assert loaded.secret_names == ["aws_secret_access_key"]
    assert loaded.created.tzinfo is not None


def test_get_without_secrets_names_them_only(store: ConnectorStore) -> None:
    store.create(_connector())
    loaded = store.get("demo")
    assert loaded.secrets == {}
    assert loaded.secret_names == ["aws_secret_access_key"]
    assert SECRET not in repr(store.list())


def test_duplicate_name_is_refused_and_first_kept(store: ConnectorStore) -> None:
    store.create(_connector(description="first"))
    with pytest.raises(ConflictError, match="'demo' already exists"):
        store.create(_connector(description="second"))
    assert [c.description for c in store.list()] == ["first"]
    assert store.name_exists("demo")
    assert not store.name_exists("Demo2")


def test_lookup_by_id_and_prefix(store: ConnectorStore) -> None:
    created = _connector()
    store.create(created)
    assert store.get(str(created.id)).name == "demo"
    assert store.get(str(created.id)[:8]).name == "demo"
    with pytest.raises(NotFoundError, match="no connector named 'nope'"):
        store.get("nope")


def test_update_replaces_and_refuses_taken_name(store: ConnectorStore) -> None:
    first = _connector("first")
    store.create(first)
    store.create(_connector("second"))
    changed = store.get("first", with_secrets=True)
    changed.labels = {"env": "dev"}
    changed.secrets = {"aws_secret_access_key": SecretStr("rotated-secret")}
    assert store.update(changed).version == 2
    again = store.get(str(first.id), with_secrets=True)
    assert again.labels == {"env": "dev"}
    assert again.secrets["aws_secret_access_key"].get_secret_value() == "rotated-secret"
    clash = again.model_copy(update={"name": "second"})
    with pytest.raises(ConflictError):
        store.update(clash)
    assert store.get(str(first.id)).name == "first"
    with pytest.raises(NotFoundError):
        store.update(_connector("ghost"))


def test_delete(store: ConnectorStore) -> None:
    created = _connector()
    store.create(created)
    store.delete(created.id)
    assert store.list() == []
    with pytest.raises(NotFoundError):
        store.delete(created.id)


def test_filters(store: ConnectorStore) -> None:
    store.create(_connector("aws-bucket"))
    store.create(_connector("aws-all", resource_type=None, resource_id=None, labels={}))
    store.create(
        _connector(
            "kube",
            connector_type="kubernetes",
            resource_type="kubernetes-cluster",
            resource_id="api.example.com",
            labels={"env": "dev"},
        )
    )

    def names(**kwargs: object) -> list[str]:
        return [c.name for c in store.list(ConnectorQuery.model_validate(kwargs))]

    assert names() == ["aws-all", "aws-bucket", "kube"]
    assert names(name="aws") == ["aws-all", "aws-bucket"]
    assert names(connector_type="kubernetes") == ["kube"]
    assert names(resource_type="s3-bucket") == ["aws-all", "aws-bucket"]
    assert names(resource_id="s3://bucket") == ["aws-bucket"]
    assert names(labels={"env": "dev"}) == ["kube"]
    assert names(labels={"team": None}) == ["aws-bucket"]


# -- the embedded SQLite store in particular ---------------------------------------


def _settings(tmp_path: Path, key: str | None = None) -> Settings:
    return Settings(config_dir=tmp_path / "config", encryption_key=key)


def test_secrets_are_encrypted_in_the_database_file(tmp_path: Path) -> None:
    store = SQLConnectorStore.from_settings(_settings(tmp_path))
    store.create(_connector())
    store.close()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "config").glob("keybroker.db*"))
    assert b"eu-west-1" in raw  # the database really holds the connector ...
    assert SECRET.encode() not in raw  # ... but not the secret in clear


def test_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    SQLConnectorStore.from_settings(settings).create(_connector())
    assert oct(settings.key_file.stat().st_mode & 0o777) == "0o600"
    reopened = SQLConnectorStore.from_settings(settings)
    assert (
        reopened.get("demo", with_secrets=True).secrets["aws_secret_access_key"].get_secret_value()
        == SECRET
    )


def test_group_readable_key_file_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    SQLConnectorStore.from_settings(settings).close()
    settings.key_file.chmod(0o644)
    with pytest.raises(StoreError, match="chmod 600"):
        SQLConnectorStore.from_settings(settings)


def test_wrong_key_fails_at_open_not_per_connector(tmp_path: Path) -> None:
    key_a = base64.urlsafe_b64encode(os.urandom(32)).decode()
    key_b = base64.urlsafe_b64encode(os.urandom(32)).decode()
    SQLConnectorStore.from_settings(_settings(tmp_path, key_a)).create(_connector())
    with pytest.raises(
        StoreError, match="encryption key from KEYBROKER_ENCRYPTION_KEY does not open the store"
    ):
        SQLConnectorStore.from_settings(_settings(tmp_path, key_b))
    assert not (tmp_path / "config" / "secret.key").exists()
    reopened = SQLConnectorStore.from_settings(_settings(tmp_path, key_a))
    assert reopened.get("demo", with_secrets=True).secret_values() == [SECRET]


def test_malformed_key_names_the_expected_format(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="KEYBROKER_ENCRYPTION_KEY is not valid: expected 32"):
        SQLConnectorStore.from_settings(_settings(tmp_path, "not-a-key"))


def test_ciphertext_cannot_move_to_another_connector(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    store = SQLConnectorStore.from_settings(_settings(tmp_path))
    store.create(_connector("one"))
    store.create(_connector("two", secrets={"aws_secret_access_key": SecretStr("other")}))
    engine = create_engine(f"sqlite:///{tmp_path / 'config' / 'keybroker.db'}")
    with engine.begin() as connection:
        blob = connection.execute(text("SELECT secrets FROM connectors WHERE name='one'")).scalar()
        connection.execute(text("UPDATE connectors SET secrets=:b WHERE name='two'"), {"b": blob})
    engine.dispose()
    with pytest.raises(StoreError, match="connector 'two' was changed outside keybroker"):
        store.get("two", with_secrets=True)


def test_two_processes_share_one_store(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    SQLConnectorStore.from_settings(settings).create(_connector())
    script = (
        "from keybroker.settings import Settings\n"
        "from keybroker.store.sql import SQLConnectorStore\n"
        "import sys\n"
        "s = SQLConnectorStore.from_settings(Settings.from_env())\n"
        "c = s.get('demo', with_secrets=True)\n"
        "print(c.secrets['aws_secret_access_key'].get_secret_value() == sys.argv[1])\n"
        "print('alembic' in sys.modules)\n"
    )
    env = {**os.environ, "KEYBROKER_CONFIG_DIR": str(settings.config_dir)}
    out = subprocess.run(
        [sys.executable, "-c", script, SECRET],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # the other process reads the secret, and an up-to-date store does not import Alembic
    assert out == ["True", "False"]


def test_head_constant_matches_the_migration_scripts() -> None:
    from keybroker.store.schema import HEAD_REVISION
    from keybroker.store.schema_upgrade import script_head

    assert script_head() == HEAD_REVISION


def test_unreachable_server_store_is_one_clear_error() -> None:
    with pytest.raises(
        StoreError, match=r"cannot open the store at postgresql\+psycopg://u:\*\*\*"
    ):
        SQLConnectorStore("postgresql+psycopg://u:pw@127.0.0.1:1/none", _box())


def test_expiry_in_the_past_survives_round_trip(tmp_path: Path) -> None:
    store = SQLConnectorStore.from_settings(_settings(tmp_path))
    past = datetime.now(UTC) - timedelta(minutes=5)
    store.create(_connector(expires_at=past))
    assert store.get("demo").is_expired()


# -- optimistic concurrency and names, on every backend ----------------------------------


def test_update_succeeds_only_against_the_version_it_read(store: ConnectorStore) -> None:
    store.create(_connector())
    mine = store.get("demo", with_secrets=True)
    theirs = store.get("demo", with_secrets=True)
    assert mine.version == theirs.version == 1
    mine.secrets = {"aws_secret_access_key": SecretStr("mine")}
    assert store.update(mine).version == 2
    theirs.secrets = {"aws_secret_access_key": SecretStr("theirs")}
    with pytest.raises(
        ConflictError,
        match="connector 'demo' was changed by someone else since it was read; "
        "run the command again",
    ):
        store.update(theirs)
    stored = store.get("demo", with_secrets=True)
    assert stored.secret_values() == ["mine"] and stored.version == 2
    assert [c.version for c in store.list()] == [2]
    stored.description = "after reading again"
    assert store.update(stored).version == 3


def test_update_of_a_deleted_connector_is_not_found(store: ConnectorStore) -> None:
    store.create(_connector())
    read = store.get("demo", with_secrets=True)
    store.delete(read.id)
    with pytest.raises(NotFoundError, match="'demo' does not exist"):
        store.update(read)


def test_names_compare_exactly(store: ConnectorStore) -> None:
    store.create(_connector("Web", description="capital"))
    store.create(_connector("web", description="lower"))
    store.create(_connector("web ", description="trailing space"))
    assert store.get("Web").description == "capital"
    assert store.get("web").description == "lower"
    assert store.get("web ").description == "trailing space"
    assert not store.name_exists("WEB")
    with pytest.raises(ConflictError, match="'Web' already exists"):
        store.create(_connector("Web"))
    renamed = store.get("web", with_secrets=True)
    renamed.name = "WEB"
    store.update(renamed)
    assert sorted(c.name for c in store.list()) == ["WEB", "Web", "web "]
    clash = store.get("WEB", with_secrets=True)
    clash.name = "Web"
    with pytest.raises(ConflictError, match="'Web' already exists"):
        store.update(clash)


def test_connector_without_secrets_round_trips(store: ConnectorStore) -> None:
    store.create(_connector(secrets={}, auth_method="implicit"))
    loaded = store.get("demo", with_secrets=True)
    assert loaded.secrets == {} and loaded.secret_names == [] and loaded.error is None


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_a_value_the_database_refuses_is_a_store_error_not_a_driver_exception(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """The service keeps resource ids within the column; a store never lets a driver error out."""
    store = SQLConnectorStore(request.getfixturevalue(f"{kind}_url"), _box())
    _clear(store)
    try:
        with pytest.raises(StoreError, match=r"^the store at .* failed: \w*(Data|Error)"):
            store.create(_connector("too-long", resource_id="s3://" + "b" * 600))
        assert store.list() == []
    finally:
        store.close()


@pytest.mark.parametrize(
    "url", ["mysql+pymysql://root@127.0.0.1:3306/", "postgresql+psycopg://u:pw@127.0.0.1:1"]
)
def test_a_server_url_without_a_database_name_is_a_usage_error(url: str) -> None:
    from keybroker.errors import UsageError

    with pytest.raises(UsageError, match="names no database; add its name") as caught:
        SQLConnectorStore(url, _box())
    assert "pw" not in str(caught.value)
