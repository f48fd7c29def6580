"""Bad input to the GCP connector: one clear line, a non-zero exit, nothing stored, no secret.

The private key of the test service account must never appear in any output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from gcp.conftest import GcpWorld
from peers.cli_runner import run, run_json
from peers.fake_google import PROJECT


def register_key(gcp: GcpWorld, key_text: str, *options: str) -> Result:
    path = gcp.home / "candidate.json"
    path.write_text(key_text)
    return run(
        "connector",
        "register",
        "bad",
        "-t",
        "gcp",
        "-a",
        "service-account",
        f"service_account_json=@{path}",
        f"api_endpoint={gcp.google.url}",
        *options,
    )


def assert_refused(gcp: GcpWorld, result: Result, exit_code: int, message: str) -> None:
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    body = gcp.key["private_key"].split("-----")[2].strip()
    assert body[:40] not in result.output and "PRIVATE KEY" not in result.output
    assert run_json("connector", "list") == []


def test_a_key_file_that_is_not_json(gcp: GcpWorld) -> None:
    result = register_key(gcp, "this is not a key file " + gcp.key["private_key"])
    assert_refused(gcp, result, 2, "service_account_json is not JSON")


def test_a_json_file_that_is_not_a_service_account_key(gcp: GcpWorld) -> None:
    user = gcp.google.add_user("dev@example.com")
    result = register_key(gcp, json.dumps(user))
    assert_refused(gcp, result, 2, "a key file of type 'authorized_user', not 'service_account'")
    partial = {k: v for k, v in gcp.key.items() if k != "client_email"}
    missing = register_key(gcp, json.dumps(partial))
    assert_refused(gcp, missing, 2, "service_account_json lacks client_email")
    garbled = dict(gcp.key, private_key=gcp.key["private_key"].replace("A", "%"))
    broken = register_key(gcp, json.dumps(garbled))
    assert_refused(gcp, broken, 2, "is not an unencrypted PEM RSA key")


def test_a_token_uri_that_would_send_the_assertion_in_clear(gcp: GcpWorld) -> None:
    leaky = dict(gcp.key, token_uri="http://tokens.example.com/token")
    result = register_key(gcp, json.dumps(leaky))
    assert_refused(gcp, result, 2, "uses plain http: credentials would travel in clear")


def test_a_key_google_does_not_know_is_refused_like_google_does(gcp: GcpWorld) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = dict(
        gcp.key,
        private_key=other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    )
    result = register_key(gcp, json.dumps(forged))
    assert_refused(
        gcp, result, 1, "Google refused the credentials (invalid_grant: Invalid JWT Signature.)"
    )
    assert gcp.google.grants == []  # the fake verified the signature and issued nothing


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["-r", "gcs-bucket", "--resource-id", "gs://Bad_Bucket"],
            "invalid GCS bucket name 'Bad_Bucket'",
        ),
        (["-r", "gcs-bucket", "--resource-id", "gs://ab"], "use 3 to 63 characters"),
        (["-r", "gcs-bucket", "--resource-id", "gs://my-google-data"], "cannot start with 'goog'"),
        (["-r", "gcs-bucket", "--resource-id", "192.168.1.1"], "cannot be an IP address"),
        (["-r", "gcs-bucket", "--resource-id", "gs://reports/q3.csv"], "not an object path"),
        (["-r", "gcs-bucket", "--resource-id", "s3://reports"], "use gs://BUCKET or BUCKET"),
        (
            ["-r", "kubernetes-cluster", "--resource-id", "prod"],
            "needs its location: use LOCATION/NAME",
        ),
        (
            ["-r", "kubernetes-cluster", "--resource-id", "central/prod"],
            "invalid GKE cluster location",
        ),
        (
            ["-r", "kubernetes-cluster", "--resource-id", "us-central1/Prod_1"],
            "invalid GKE cluster name",
        ),
        (
            [
                "-r",
                "kubernetes-cluster",
                "--resource-id",
                "projects/other-project/locations/us-central1/clusters/prod",
            ],
            "belongs to project 'other-project'",
        ),
        (
            ["-r", "docker-registry", "--resource-id", "ghcr.io/test-project"],
            "invalid GCP container registry",
        ),
        (["-r", "docker-registry", "--resource-id", "gcr.io"], "needs its project"),
        (
            ["-r", "docker-registry", "--resource-id", "gcr.io/other-project"],
            "belongs to project 'other-project'",
        ),
        (
            ["-r", "docker-registry", "--resource-id", "us-docker.pkg.dev/test-project/Bad_Repo"],
            "invalid Artifact Registry repository",
        ),
        (["-r", "s3-bucket"], "s3-bucket"),
        (["-r", "gcp-generic", "--resource-id", "Not A Project"], "invalid GCP project id"),
        (["--expiration-seconds", "900"], "does not issue temporary credentials"),
    ],
)
def test_malformed_names_are_refused_before_anything_is_stored(
    gcp: GcpWorld, options: list[str], message: str
) -> None:
    result = register_key(gcp, json.dumps(gcp.key), *options)
    assert_refused(gcp, result, 2, message)
    assert gcp.google.grants == []  # refused offline: no token was even asked for


def test_attributes_are_checked_offline(gcp: GcpWorld) -> None:
    endpoint = register_key(gcp, json.dumps(gcp.key), "project_id=test-project")
    assert endpoint.exit_code == 0, endpoint.output
    assert run("connector", "delete", "bad", "--yes").exit_code == 0
    cases = [
        (["api_endpoint=http://google.example.com"], "uses plain http"),
        (["project_id=Test Project"], "invalid GCP project id"),
    ]
    for extra, message in cases:
        path = Path(gcp.key_file())
        result = run(
            "connector",
            "register",
            "bad",
            "-t",
            "gcp",
            "-a",
            "service-account",
            f"service_account_json=@{path}",
            *extra,
        )
        assert_refused(gcp, result, 2, message)
    no_project = run(
        "connector",
        "register",
        "bad",
        "-t",
        "gcp",
        "-a",
        "oauth2-token",
        "token=ya29.x",
    )
    assert_refused(gcp, no_project, 2, "missing required attribute 'project_id'")
    bad_time = run(
        "connector",
        "register",
        "bad",
        "-t",
        "gcp",
        "-a",
        "oauth2-token",
        "token=ya29.x",
        f"project_id={PROJECT}",
        "expires_at=tomorrow",
    )
    assert_refused(gcp, bad_time, 2, "expires_at 'tomorrow' is not an ISO 8601 time")
    not_email = run(
        "connector",
        "register",
        "bad",
        "-t",
        "gcp",
        "-a",
        "impersonation",
        f"service_account_json=@{gcp.key_file()}",
        "target_principal=reader",
    )
    assert_refused(gcp, not_email, 2, "target_principal 'reader' is not a service account email")


def test_secrets_never_show_in_listings_or_errors(gcp: GcpWorld) -> None:
    registered = register_key(gcp, json.dumps(gcp.key), "-r", "gcs-bucket")
    assert registered.exit_code == 0, registered.output
    outputs = [
        registered.output,
        run("connector", "list").output,
        run("connector", "describe", "bad").output,
        run("connector", "describe", "bad", "-o", "json").output,
        run("connector", "verify", "bad", "--resource-id", "gs://missing-bucket").output,
    ]
    body = gcp.key["private_key"].split("-----")[2].strip()
    for output in outputs:
        assert body[:40] not in output and "PRIVATE KEY" not in output
