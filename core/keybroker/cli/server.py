"""``keybroker server up|migrate|rotate-key``: run the team server (needs the ``server`` extra)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from keybroker.errors import UsageError

if TYPE_CHECKING:
    from keybroker.server.settings import ServerSettings

INSECURE_LISTEN_ENV = "KEYBROKER_SERVER_INSECURE_LISTEN"


def _require_extra() -> None:
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn", "argon2") if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(
            f"the server needs {', '.join(missing)}: install it with "
            "pip install 'keybroker[server]'"
        )


def _settings(database_url: str | None, data_dir: Path | None) -> ServerSettings:
    from keybroker.server.settings import DATA_DIR_ENV, DATABASE_URL_ENV, ServerSettings

    # uvicorn workers build their own settings from the environment: hand the options down
    if database_url:
        os.environ[DATABASE_URL_ENV] = database_url
    if data_dir:
        os.environ[DATA_DIR_ENV] = str(data_dir)
    return ServerSettings.from_env()


def _display_url(settings: ServerSettings) -> str:
    from keybroker.store.sql import redact_url

    return redact_url(settings.database_url)


database_url_option = click.option(
    "--database-url",
    metavar="URL",
    help="sqlite:///PATH, postgresql+psycopg://... or mysql+pymysql://... "
    "[env KEYBROKER_SERVER_DATABASE_URL; default: SQLite in the data directory]",
)
data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the default SQLite database and key file live [env KEYBROKER_SERVER_DATA_DIR].",
)


@click.group()
def server() -> None:
    """Run a keybroker team server (install with: pip install 'keybroker[server]')."""


@server.command("up")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@database_url_option
@data_dir_option
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes; on Linux each accepts on a socket of its own (SO_REUSEPORT).",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), help="PEM certificate.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), help="PEM private key.")
@click.option(
    "--insecure-listen",
    is_flag=True,
    envvar=INSECURE_LISTEN_ENV,
    help="Listen on a non-loopback address without TLS (TLS ends at a proxy in front).",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True)
def up(
    host: str,
    port: int,
    database_url: str | None,
    data_dir: Path | None,
    workers: int,
    tls_cert: str | None,
    tls_key: str | None,
    insecure_listen: bool,
    access_log: bool,
) -> None:
    """Start the server: migrate the database, create the first admin, serve HTTP(S).

    Without TLS the server listens only on loopback unless --insecure-listen says
    that a proxy in front of it terminates TLS.
    """
    from keybroker.remote.http import is_loopback

    _require_extra()
    if bool(tls_cert) != bool(tls_key):
        raise UsageError("give both --tls-cert and --tls-key, or neither")
    if not tls_cert and not insecure_listen and not is_loopback(host):
        raise UsageError(
            f"refusing to serve plain HTTP on {host}: tokens and passwords would cross the "
            "network in clear; give --tls-cert and --tls-key, or --insecure-listen when a "
            "proxy in front terminates TLS"
        )
    if tls_cert and tls_key:
        _check_tls(tls_cert, tls_key)
    settings = _settings(database_url, data_dir)

    from keybroker.server import workers as worker_processes

    # bound (or, for uvicorn's own sockets, probed) first: a port in use is refused
    # before the database is touched. With several workers each gets a socket of its own.
    own_sockets = workers > 1 and worker_processes.spreads_connections()
    sockets = worker_processes.bind_sockets(host, port, workers if own_sockets else 0)
    try:
        _prepare(settings)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    scheme = "https" if tls_cert else "http"
    shown_host = f"[{host}]" if ":" in host else host
    click.echo(
        f"keybroker server: listening on {scheme}://{shown_host}:{port} "
        f"({workers} worker{'s' if workers > 1 else ''}, database {_display_url(settings)})",
    )
    options: dict[str, Any] = {
        "app": "keybroker.server.app:app_from_env",
        "factory": True,
        "host": host,
        "port": port,
        "ssl_certfile": tls_cert,
        "ssl_keyfile": tls_key,
        "proxy_headers": bool(settings.forwarded_allow_ips),
        "forwarded_allow_ips": settings.forwarded_allow_ips or None,
        "access_log": access_log,
        "server_header": False,
        "log_level": "info",
    }
    if own_sockets:
        raise SystemExit(worker_processes.serve(options, sockets))
    import uvicorn

    uvicorn.run(workers=workers, **options)


def _check_tls(cert: str, key: str) -> None:
    """Refuse TLS files the server could not serve with, before anything starts."""
    import ssl

    def no_password() -> bytes:
        raise UsageError(f"the private key {key} is encrypted; give an unencrypted PEM key")

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=no_password)
    except ssl.SSLError as exc:
        mismatch = exc.reason == "KEY_VALUES_MISMATCH"
        reason = "the key is not the certificate's" if mismatch else "not PEM files of both"
        raise UsageError(
            f"cannot serve TLS with --tls-cert {cert} and --tls-key {key}: {reason}; "
            "give a PEM certificate and its unencrypted private key"
        ) from None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise UsageError(
            f"cannot serve TLS with --tls-cert {cert} and --tls-key {key}: {reason}; "
            "give a PEM certificate and its unencrypted private key"
        ) from None


def _prepare(settings: ServerSettings) -> None:
    """Migrate the database and create the first admin, printing a generated password once."""
    from keybroker.server.app import print_generated_admin_password
    from keybroker.server.context import ServerContext

    context = ServerContext.create(settings)
    try:
        generated = context.prepare()
    finally:
        context.close()
    if generated:
        print_generated_admin_password(generated)


@server.command("migrate")
@database_url_option
@data_dir_option
def migrate(database_url: str | None, data_dir: Path | None) -> None:
    """Create or upgrade the database schema (the server also does this at start)."""
    _require_extra()
    settings = _settings(database_url, data_dir)

    from keybroker.server.database import create_engine
    from keybroker.server.database import migrate as run_migrations
    from keybroker.store.schema import HEAD_REVISION

    engine = create_engine(settings)
    try:
        before = run_migrations(engine)
    finally:
        engine.dispose()
    where = _display_url(settings)
    if before is None:
        click.echo(f"The database at {where} was already at revision {HEAD_REVISION}.")
    else:
        click.echo(
            f"The database at {where} is now at revision {HEAD_REVISION} "
            f"(it was at {before} when this command started)."
        )


@server.command("rotate-key")
@database_url_option
@data_dir_option
@click.option(
    "--new-key-stdin",
    is_flag=True,
    help="Read the new key (urlsafe base64 of 32 bytes) from standard input.",
)
@click.option(
    "--new-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a generated new key to this file (it must not exist; mode 0600).",
)
def rotate_key(
    database_url: str | None,
    data_dir: Path | None,
    new_key_stdin: bool,
    new_key_file: Path | None,
) -> None:
    """Re-encrypt every connector secret with a new key; stop every replica first.

    The current key comes from where the server reads it. The new key is read
    from stdin (--new-key-stdin), written to --new-key-file, or, when the server
    reads its key from a key file, replaces that file. Tokens issued before keep
    working. Restart the replicas with the new key afterwards.
    """
    from keybroker.server.database import create_engine
    from keybroker.server.key_rotation import rotate_server_key
    from keybroker.server.keys import ServerKeys, load_keys
    from keybroker.server.settings import ENCRYPTION_KEY_ENV
    from keybroker.store.crypto import new_key_text, parse_key

    _require_extra()
    if new_key_stdin and new_key_file:
        raise UsageError("give --new-key-stdin or --new-key-file, not both")
    settings = _settings(database_url, data_dir)
    current = load_keys(settings)
    replaced_file: Path | None = None
    if new_key_stdin:
        import sys

        new_text = sys.stdin.readline().strip()
        parse_key(new_text, "standard input")
    elif new_key_file is not None:
        if new_key_file.exists():
            raise UsageError(f"{new_key_file} exists already; name a new file for the new key")
        new_text = new_key_text()
    elif settings.encryption_key:
        raise UsageError(
            f"the current key comes from {ENCRYPTION_KEY_ENV}: give the new one with "
            "--new-key-stdin, or have one generated with --new-key-file PATH"
        )
    else:
        new_text = new_key_text()
        replaced_file = settings.key_file
    new = ServerKeys(parse_key(new_text, "the new key"))
    target = new_key_file or replaced_file
    staged = _stage_key(target, new_text)
    engine = create_engine(settings)
    try:
        count = rotate_server_key(engine, current, new)
    except BaseException:
        if staged is not None:
            staged.unlink(missing_ok=True)
        raise
    finally:
        engine.dispose()
    if staged is not None and target is not None:
        os.replace(staged, target)
    where = _display_url(settings)
    s = "" if count == 1 else "s"
    click.echo(f"Re-encrypted {count} connector{s} in {where} with the new key.")
    if replaced_file is not None:
        click.echo(f"The key file {replaced_file} now holds the new key.")
    elif new_key_file is not None:
        click.echo(f"The new key is in {new_key_file}.")
    click.echo("Start every replica with the new key now; tokens issued before keep working.")


def _stage_key(target: Path | None, text: str) -> Path | None:
    """Write ``text`` to a private file beside ``target`` (renamed into place once the
    database has the new key), or None when no file is to be written."""
    if target is None:
        return None
    staged = target.with_name(f".{target.name}.new")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, (text + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return staged
