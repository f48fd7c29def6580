"""``keybroker-kube-credential``: kubectl's exec credential plugin, backed by keybroker.

kubectl runs it whenever it needs a token for a context that ``keybroker
connector login`` wrote for temporary credentials. It prints a
``client.authentication.k8s.io/v1`` ExecCredential with the token and its
expiry, so kubectl asks again once it has expired.
"""

from __future__ import annotations

import argparse
import json
import sys


def exec_credential(token: str, expires_at: str | None) -> dict[str, object]:
    """The ExecCredential document kubectl reads."""
    status: dict[str, object] = {"token": token}
    if expires_at:
        status["expirationTimestamp"] = expires_at
    return {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "spec": {"interactive": False},
        "status": status,
    }


def main(argv: list[str] | None = None) -> int:
    """Print a fresh ExecCredential for ``--connector``'s cluster; one-line errors, exit 1."""
    parser = argparse.ArgumentParser(prog="keybroker-kube-credential", description=__doc__)
    parser.add_argument("--connector", required=True, help="connector name or id")
    parser.add_argument("--resource-type", default="kubernetes-cluster")
    parser.add_argument("--resource-id")
    args = parser.parse_args(argv)
    from keybroker import ConnectorService
    from keybroker.plugin import KeybrokerError
    from keybroker.settings import Settings

    try:
        settings = Settings.from_env()
        settings.check_login_store()  # the store login used, or say what to set
        issued = ConnectorService(settings=settings).issue_client(
            args.connector, args.resource_type, args.resource_id
        )
        client = issued.client
        token = client.secrets.get("token")
        if token is None:
            raise KeybrokerError(
                f"connector '{args.connector}' does not issue a token for this cluster"
            )
        expires = client.expires_at
        stamp = expires.strftime("%Y-%m-%dT%H:%M:%SZ") if expires else None
    except KeybrokerError as exc:
        print(f"keybroker: {exc.message}", file=sys.stderr)
        return 1
    json.dump(exec_credential(token.get_secret_value(), stamp), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
