"""The GCP connector through the CLI: scopes, verification, listing and every auth method.

Peers: the fake Google API server (OAuth2, tokeninfo, IAM Credentials, STS,
GKE, Artifact Registry, Resource Manager) and the gcp-storage-emulator, both
real servers on 127.0.0.1.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import Result

from gcp.conftest import GcpWorld
from peers.cli_runner import run, run_json
from peers.fake_google import PROJECT

REGISTRIES = ["gcr.io/test-project", "us-central1-docker.pkg.dev/test-project/images"]


def register(
    gcp: GcpWorld, name: str, *options: str, method: str = "service-account", **extra: str
) -> Result:
    return run(
        "connector", "register", name, "-t", "gcp", "-a", method, *options, *gcp.attributes(**extra)
    )


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def ids(report: dict[str, Any]) -> list[Any]:
    return [r["resource_ids"] for r in report["resources"]]


def test_the_three_scopes_verify_and_list_resources(gcp: GcpWorld) -> None:
    gcp.emulator.bucket("reports")
    gcp.emulator.bucket("raw-data")
    ok(register(gcp, "gcp-multi-type"))
    ok(register(gcp, "gcs-multi-instance", "-r", "gcs-bucket"))
    ok(register(gcp, "gcs-single-instance", "-r", "gcs-bucket", "--resource-id", "reports"))

    listed = {c["name"]: c for c in run_json("connector", "list")}
    assert listed["gcp-multi-type"]["resource_types"] == [
        "gcp-generic",
        "gcs-bucket",
        "kubernetes-cluster",
        "docker-registry",
    ]
    assert listed["gcs-multi-instance"]["resource_id"] is None
    assert listed["gcs-single-instance"]["resource_id"] == "gs://reports"  # canonical form

    assert ids(run_json("connector", "verify", "gcp-multi-type")) == [None, None, None, None]
    narrowed = {
        rtype: ids(run_json("connector", "verify", "gcp-multi-type", "-r", rtype))[0]
        for rtype in ("gcp-generic", "gcs-bucket", "kubernetes-cluster", "docker-registry")
    }
    assert narrowed == {
        "gcp-generic": [PROJECT],
        "gcs-bucket": ["gs://raw-data", "gs://reports"],
        "kubernetes-cluster": ["us-central1/prod"],
        "docker-registry": REGISTRIES,  # the PYTHON repository is not a registry
    }
    one_cluster = run_json(
        "connector",
        "verify",
        "gcp-multi-type",
        "-r",
        "kubernetes-cluster",
        "--resource-id",
        f"projects/{PROJECT}/locations/us-central1/clusters/prod",
    )
    assert ids(one_cluster) == [["us-central1/prod"]]
    image = "us-central1-docker.pkg.dev/test-project/images/hello:1.0"
    one_registry = run_json(
        "connector", "verify", "gcp-multi-type", "-r", "docker-registry", "--resource-id", image
    )
    assert ids(one_registry) == [["us-central1-docker.pkg.dev/test-project/images"]]

    assert ids(run_json("connector", "verify", "gcs-multi-instance")) == [
        ["gs://raw-data", "gs://reports"]
    ]
    narrowed_one = run_json(
        "connector", "verify", "gcs-multi-instance", "--resource-id", "raw-data"
    )
    assert ids(narrowed_one) == [["gs://raw-data"]]
    assert ids(run_json("connector", "verify", "gcs-single-instance")) == [["gs://reports"]]
    outside = run("connector", "verify", "gcs-single-instance", "--resource-id", "raw-data")
    assert outside.exit_code == 2 and "scoped to resource 'gs://reports'" in outside.output

    reports = {
        r["connector_name"]: r for r in run_json("connector", "list-resources", "-r", "gcs-bucket")
    }
    assert ids(reports["gcp-multi-type"]) == [["gs://raw-data", "gs://reports"]]
    assert ids(reports["gcs-single-instance"]) == [["gs://reports"]]
    only = run_json(
        "connector", "list-resources", "-r", "gcs-bucket", "--resource-id", "gs://reports"
    )
    assert {r["connector_name"] for r in only} == {
        "gcp-multi-type",
        "gcs-multi-instance",
        "gcs-single-instance",
    }
    table = run("connector", "list-resources").output
    assert any(
        "kubernetes-cluster" in line and "us-central1/prod" in line for line in table.splitlines()
    )
    assert any("gcp-generic" in line and PROJECT in line for line in table.splitlines())


def test_generic_and_registry_single_instance(gcp: GcpWorld) -> None:
    ok(register(gcp, "gcp-project", "-r", "gcp-generic"))
    assert run_json("connector", "describe", "gcp-project")["resource_id"] == PROJECT
    other = register(gcp, "other", "-r", "gcp-generic", "--resource-id", "another-project")
    assert (
        other.exit_code == 2 and "named by the connector's project 'test-project'" in other.output
    )
    ok(
        register(
            gcp,
            "gcr",
            "-r",
            "docker-registry",
            "--resource-id",
            "https://gcr.io/test-project/app:v1",
        )
    )
    assert run_json("connector", "describe", "gcr")["resource_id"] == "gcr.io/test-project"
    eu = register(gcp, "eu-gcr", "-r", "docker-registry", "--resource-id", "eu.gcr.io/test-project")
    assert eu.exit_code == 1
    assert "has no 'eu.gcr.io' repository in Artifact Registry (europe)" in eu.output
    pypi = register(
        gcp,
        "pypi",
        "-r",
        "docker-registry",
        "--resource-id",
        "europe-west1-docker.pkg.dev/test-project/pypi",
    )
    assert pypi.exit_code == 1 and "holds PYTHON packages, not docker images" in pypi.output
    assert {c["name"] for c in run_json("connector", "list")} == {"gcp-project", "gcr"}


def test_missing_resources_fail_verification_and_nothing_is_stored(gcp: GcpWorld) -> None:
    bucket = register(gcp, "gone", "-r", "gcs-bucket", "--resource-id", "gs://no-such-bucket")
    assert bucket.exit_code == 1
    assert "GCS bucket 'no-such-bucket' does not exist" in bucket.output
    cluster = register(
        gcp, "gone", "-r", "kubernetes-cluster", "--resource-id", "europe-west1/prod"
    )
    assert cluster.exit_code == 1
    assert "GKE cluster 'prod' does not exist in europe-west1" in cluster.output
    assert run_json("connector", "list") == []


def test_a_service_account_without_project_access_is_refused(gcp: GcpWorld) -> None:
    gcp.google.members.clear()
    ok(register(gcp, "no-access"))  # the key itself is good: a token is minted
    denied = run("connector", "verify", "no-access", "-r", "kubernetes-cluster")
    assert denied.exit_code == 1
    assert "permission denied (PERMISSION_DENIED: Permission denied on project" in denied.output


def test_user_account_mints_tokens_from_its_refresh_token(gcp: GcpWorld) -> None:
    user = gcp.google.add_user("dev@example.com")
    gcp.google.members.add("dev@example.com")
    gcp.emulator.bucket("reports")
    path = gcp.key_file(user, "user.json")
    result = run(
        "connector",
        "register",
        "gcp-user",
        "-t",
        "gcp",
        "-a",
        "user-account",
        f"user_account_json=@{path}",
        f"project_id={PROJECT}",
        f"api_endpoint={gcp.google.url}",
        "-r",
        "gcs-bucket",
    )
    ok(result)
    assert "gs://reports" in result.output
    assert gcp.google.grants == ["dev@example.com"]
    client = run_json("connector", "describe", "gcp-user", "--resource-id", "reports", "-x")
    assert client["auth_method"] == "oauth2-token"
    assert client["secrets"]["token"].startswith("ya29.")
    assert user["refresh_token"] not in json.dumps(client)
    assert user["client_secret"] not in json.dumps(client)

    wrong = dict(user, client_secret="not-the-secret")
    refused = run(
        "connector",
        "register",
        "gcp-user-bad",
        "-t",
        "gcp",
        "-a",
        "user-account",
        f"user_account_json=@{gcp.key_file(wrong, 'wrong.json')}",
        f"project_id={PROJECT}",
    )
    assert refused.exit_code == 1
    assert "Google refused the credentials (invalid_client: Unauthorized)" in refused.output
    assert "not-the-secret" not in refused.output
    assert [c["name"] for c in run_json("connector", "list")] == ["gcp-user"]


def _token_connector(gcp: GcpWorld, name: str, token: str, *extra: str) -> Result:
    return run(
        "connector",
        "register",
        name,
        "-t",
        "gcp",
        "-a",
        "oauth2-token",
        f"token={token}",
        f"project_id={PROJECT}",
        f"api_endpoint={gcp.google.url}",
        *extra,
    )


def test_oauth2_token_shows_its_expiry_and_is_refused_once_expired(gcp: GcpWorld) -> None:
    token = gcp.google.issue(gcp.email)
    expires = (datetime.now(UTC) + timedelta(minutes=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ok(_token_connector(gcp, "gcp-token", token, f"expires_at={expires}"))
    listed = run_json("connector", "list")[0]
    assert listed["expires_at"].startswith(expires[:16])
    table = run("connector", "list").output
    assert "49m" in table or "50m" in table  # EXPIRES IN
    assert token not in table
    assert ids(run_json("connector", "verify", "gcp-token", "-r", "kubernetes-cluster")) == [
        ["us-central1/prod"]
    ]
    client = run_json("connector", "describe", "gcp-token", "-r", "gcp-generic", "-x")
    assert client["secrets"]["token"] == token  # handed out as it is
    assert client["expires_at"].startswith(expires[:16])

    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    expired = _token_connector(gcp, "gcp-expired", token, f"expires_at={past}")
    assert expired.exit_code == 1
    assert "the OAuth2 token expired at" in expired.output
    assert token not in expired.output
    assert [c["name"] for c in run_json("connector", "list")] == ["gcp-token"]

    stored = _token_connector(gcp, "gcp-stale", token, f"expires_at={past}", "--no-verify")
    ok(stored)
    refused = run("connector", "describe", "gcp-stale", "-r", "gcp-generic", "-x")
    assert refused.exit_code == 1 and "expired at" in refused.output
    assert token not in refused.output
    verify = run("connector", "verify", "gcp-stale")
    assert verify.exit_code == 1 and "the OAuth2 token expired at" in verify.output
    fresh = gcp.google.issue(gcp.email)
    updated = run("connector", "update", "gcp-stale", f"token={fresh}", f"expires_at={expires}")
    assert updated.exit_code == 0, updated.output
    stale = next(c for c in run_json("connector", "list") if c["name"] == "gcp-stale")
    assert stale["expires_at"].startswith(expires[:16])  # the connector's expiry moved too
    assert fresh not in updated.output


def test_oauth2_token_without_expiry_asks_tokeninfo(gcp: GcpWorld) -> None:
    token = gcp.google.issue(gcp.email, lifetime=1200)
    ok(_token_connector(gcp, "gcp-token", token))
    client = run_json("connector", "describe", "gcp-token", "-r", "gcp-generic", "-x")
    left = datetime.fromisoformat(client["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=18) < left <= timedelta(minutes=20)
    gcp.google.revoke_all()
    revoked = run("connector", "verify", "gcp-token")
    assert revoked.exit_code == 1
    assert "Google does not accept the OAuth2 token" in revoked.output


def test_impersonation_through_a_delegation_chain(gcp: GcpWorld) -> None:
    google = gcp.google
    google.add_service_account("hop", with_key=False)
    google.add_service_account("reader", with_key=False)
    hop, reader = (
        f"hop@{PROJECT}.iam.gserviceaccount.com",
        f"reader@{PROJECT}.iam.gserviceaccount.com",
    )
    google.members.add(reader)
    gcp.emulator.bucket("reports")
    attributes = {"target_principal": reader, "delegates": hop}
    refused = register(gcp, "gcp-imp", "-r", "gcs-bucket", method="impersonation", **attributes)
    assert refused.exit_code == 1
    assert "impersonating reader@" in refused.output
    assert "iam.serviceAccounts.getAccessToken' denied" in refused.output
    google.allow_token_creation(gcp.email, hop)
    google.allow_token_creation(hop, reader)
    result = register(
        gcp,
        "gcp-imp",
        "-r",
        "gcs-bucket",
        "--expiration-seconds",
        "900",
        method="impersonation",
        **attributes,
    )
    ok(result)
    assert "gs://reports" in result.output
    assert google.impersonations[-1] == [gcp.email, hop, reader]
    client = run_json("connector", "describe", "gcp-imp", "--resource-id", "gs://reports", "-x")
    left = datetime.fromisoformat(client["expires_at"]) - datetime.now(UTC)
    assert timedelta(minutes=13) < left <= timedelta(minutes=15)  # --expiration-seconds
    # the client's token is the target's, down-scoped to the bucket
    exchange = google.exchanges[-1]
    assert exchange["principal"] == reader
    issued = google.tokens[client["secrets"]["token"]]
    assert issued.principal == reader and issued.boundary is not None


def test_implicit_uses_application_default_credentials(gcp: GcpWorld, monkeypatch: Any) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.key_file()))
    result = run(
        "connector",
        "register",
        "gcp-implicit",
        "-t",
        "gcp",
        "-a",
        "implicit",
        f"project_id={PROJECT}",
        f"api_endpoint={gcp.google.url}",
        "-r",
        "kubernetes-cluster",
    )
    ok(result)
    assert "us-central1/prod" in result.output
    assert run_json("connector", "describe", "gcp-implicit", "-x")["secrets"] == {}
    assert gcp.google.grants == [gcp.email]


def test_describe_type_documents_methods_and_permissions() -> None:
    impersonation = run("connector", "describe-type", "gcp", "-a", "impersonation").output
    assert "generateAccessToken" in impersonation and "target_principal" in impersonation
    assert "delegates" in impersonation
    token = run("connector", "describe-type", "gcp", "-a", "oauth2-token").output
    assert "expires_at" in token and "EXPIRES IN" in token
    service = run("connector", "describe-type", "gcp", "-a", "service-account").output
    assert "token_uri" in service and "api_endpoint" in service
    gcs = run("connector", "describe-type", "gcp", "-r", "gcs-bucket").output
    assert "storage.buckets.list" in gcs and "gs://{bucket}" in gcs
    gke = run("connector", "describe-type", "gcp", "-r", "kubernetes-cluster").output
    assert "container.clusters.get" in gke and "{location}/{cluster}" in gke
    registry = run("connector", "describe-type", "gcp", "-r", "docker-registry").output
    assert "artifactregistry.repositories.list" in registry
    assert "{location}-docker.pkg.dev/{project}[/{repository}]" in registry
