"""The ``gcp`` connector type against the conformance kit (keybroker.testing).

Peers as in the other GCP tests: the fake Google APIs, the GCS emulator, the
TLS API server behind the fake GKE cluster and the token-auth registry.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gcp.conftest import GcpWorld
from keybroker.testing import ConnectorTypeConformance, WorkingCredentials
from peers.fake_google import PROJECT
from peers.google_jwt import private_pem, rsa_key


def _forged(key: dict[str, Any]) -> str:
    """The key file with another, well-formed private key: Google refuses its signature."""
    return json.dumps(dict(key, private_key=private_pem(rsa_key())))


class TestGcpConformance(ConnectorTypeConformance):
    connector_type = "gcp"

    @pytest.fixture
    def credentials(
        self, gcp: GcpWorld, keybroker_home: Path, monkeypatch: pytest.MonkeyPatch
    ) -> list[WorkingCredentials]:
        google = gcp.google
        gcp.emulator.bucket("reports")
        endpoint = {"api_endpoint": google.url}
        user = google.add_user("dev@example.com")
        google.members.add("dev@example.com")
        google.add_service_account("reader", with_key=False)
        reader = f"reader@{PROJECT}.iam.gserviceaccount.com"
        google.members.add(reader)
        google.allow_token_creation(gcp.email, reader)
        expires = (datetime.now(UTC) + timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
        # 'implicit' takes what google-auth finds where keybroker runs (keybroker_home first:
        # it clears GOOGLE_* variables)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.key_file()))
        return [
            WorkingCredentials(
                "service-account", {"service_account_json": gcp.key_json, **endpoint}
            ),
            WorkingCredentials("implicit", {"project_id": PROJECT, **endpoint}),
            WorkingCredentials(
                "user-account",
                {"user_account_json": json.dumps(user), "project_id": PROJECT, **endpoint},
            ),
            WorkingCredentials(
                "oauth2-token",
                {
                    "token": google.issue(gcp.email),
                    "expires_at": expires,
                    "project_id": PROJECT,
                    **endpoint,
                },
            ),
            WorkingCredentials(
                "impersonation",
                {"service_account_json": gcp.key_json, "target_principal": reader, **endpoint},
            ),
        ]

    @pytest.fixture
    def refused_credentials(
        self, gcp: GcpWorld, credentials: list[WorkingCredentials]
    ) -> list[WorkingCredentials]:
        """Well-formed wrong secrets (the schemas refuse malformed ones before verify runs)."""
        wrong: dict[str, dict[str, Any]] = {
            "service-account": {"service_account_json": _forged(gcp.key)},
            "impersonation": {"service_account_json": _forged(gcp.key)},
            "oauth2-token": {"token": "ya29.never-issued-by-google-0000000000"},
        }
        refused = []
        for working in credentials:
            if working.auth_method == "user-account":
                user = json.loads(working.attributes["user_account_json"])
                user["client_secret"] = "not-the-client-secret"
                wrong["user-account"] = {"user_account_json": json.dumps(user)}
            if working.auth_method in wrong:
                refused.append(
                    WorkingCredentials(
                        working.auth_method, {**working.attributes, **wrong[working.auth_method]}
                    )
                )
        return refused
