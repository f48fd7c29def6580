"""``docker-credential-keybroker``: a docker credential helper backed by keybroker.

docker (and skopeo, buildah, ...) run it with one of the protocol's actions as
the argument: ``get`` reads a registry URL on stdin and prints
``{"ServerURL", "Username", "Secret"}``, fetched fresh from the connector that
``keybroker connector login`` recorded for the registry. ``list`` prints the
registries it serves. ``store`` and ``erase`` accept their input and change
nothing: the credentials belong to keybroker, not to docker.
"""

from __future__ import annotations

import json
import os
import sys

NOT_FOUND = "credentials not found in native keychain"


def _get(server_url: str) -> int:
    from keybroker_docker.docker_config import read_mapping
    from keybroker_docker.implementation import docker_config_dir
    from keybroker_docker.names import canonical_registry

    try:
        host = canonical_registry(server_url)
    except Exception:
        print(NOT_FOUND)
        return 1
    entry = read_mapping(docker_config_dir()).get(host)
    if not entry:
        print(NOT_FOUND)
        return 1
    os.environ.update({str(k): str(v) for k, v in (entry.get("env") or {}).items()})
    from keybroker import ConnectorService
    from keybroker.plugin import KeybrokerError
    from keybroker.settings import Settings

    try:
        settings = Settings.from_env()
        settings.check_login_store()  # the store login used, or say what to set
        issued = ConnectorService(settings=settings).issue_client(
            entry["connector"], entry.get("resource_type"), entry.get("resource_id")
        )
        client = issued.client
    except KeybrokerError as exc:
        print(f"keybroker: {exc.message}", file=sys.stderr)
        return 1
    json.dump(
        {
            "ServerURL": server_url,
            "Username": str(client.configuration.get("username", "")),
            "Secret": client.secrets["password"].get_secret_value(),
        },
        sys.stdout,
    )
    return 0


def _list() -> int:
    from keybroker_docker.docker_config import read_mapping
    from keybroker_docker.implementation import docker_config_dir

    mapping = read_mapping(docker_config_dir())
    json.dump(
        {host: entry.get("connector_name", "") for host, entry in mapping.items()}, sys.stdout
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one credential-helper action; the exit code follows the protocol."""
    args = sys.argv[1:] if argv is None else argv
    action = args[0] if args else ""
    if action == "get":
        return _get(sys.stdin.read().strip())
    if action in ("store", "erase"):
        sys.stdin.read()
        return 0
    if action == "list":
        return _list()
    if action in ("version", "--version"):
        print("docker-credential-keybroker (keybroker)")
        return 0
    print("usage: docker-credential-keybroker get|store|erase|list", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
