"""GCP resource names as users type them: canonical forms and refusals (offline, no peer)."""

from __future__ import annotations

import pytest
from keybroker_gcp.endpoints import check_endpoint
from keybroker_gcp.resource_ids import canonical_bucket, canonical_cluster, canonical_registry

from keybroker.errors import UsageError


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("reports", "gs://reports"),
        ("gs://reports/", "gs://reports"),
        (" gs://raw_data-2 ", "gs://raw_data-2"),
        ("logs.example.com", "gs://logs.example.com"),
        ("a" * 63, "gs://" + "a" * 63),
    ],
)
def test_bucket_names(typed: str, canonical: str) -> None:
    assert canonical_bucket(typed) == canonical


@pytest.mark.parametrize(
    "typed",
    [
        "ab",
        "a" * 64,
        "-reports",
        "reports-",
        "Reports",
        "goog-data",
        "my-google-bucket",
        "g00gle-x",
        "10.0.0.1",
        "a..b",
        "gs://a/b",
        "s3://reports",
        "bad bucket",
    ],
)
def test_malformed_bucket_names(typed: str) -> None:
    with pytest.raises(UsageError):
        canonical_bucket(typed)


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("us-central1/prod", "us-central1/prod"),
        ("europe-west4-b/blue-1", "europe-west4-b/blue-1"),
        ("projects/test-project/locations/us-central1/clusters/prod", "us-central1/prod"),
        ("projects/test-project/zones/us-central1-a/clusters/prod", "us-central1-a/prod"),
        (
            "https://container.googleapis.com/v1/projects/test-project/locations/us-east1/clusters/x",
            "us-east1/x",
        ),
        ("gke_test-project_us-central1_prod", "us-central1/prod"),
    ],
)
def test_cluster_names(typed: str, canonical: str) -> None:
    assert canonical_cluster(typed, "test-project") == canonical


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("gcr.io/test-project", "gcr.io/test-project"),
        ("https://EU.gcr.io/test-project/app:1.0", "eu.gcr.io/test-project"),
        ("us-docker.pkg.dev/test-project", "us-docker.pkg.dev/test-project"),
        (
            "us-central1-docker.pkg.dev/test-project/images/hello:1.0",
            "us-central1-docker.pkg.dev/test-project/images",
        ),
        (
            "us-central1-docker.pkg.dev/test-project/images/hello@sha256:abc",
            "us-central1-docker.pkg.dev/test-project/images",
        ),
        ("gcr.io/example.com/my-project/app", "gcr.io/example.com/my-project"),
    ],
)
def test_registry_names(typed: str, canonical: str) -> None:
    assert canonical_registry(typed, None) == canonical


def test_names_with_another_project_are_refused() -> None:
    with pytest.raises(UsageError, match="belongs to project 'other-project'"):
        canonical_registry("gcr.io/other-project", "test-project")
    with pytest.raises(UsageError, match="belongs to project 'other-project'"):
        canonical_cluster("gke_other-project_us-central1_prod", "test-project")


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        ("https://oauth2.googleapis.com/token", True),
        ("http://127.0.0.1:8080/", True),
        ("http://[::1]:8080", True),
        ("http://localhost:9000", True),
        ("http://10.0.0.5:8080", False),
        ("http://oauth2.example.com/token", False),
        ("ftp://127.0.0.1/", False),
        ("https://user:pass@example.com", False),
        ("https://example.com/?x=1", False),
    ],
)
def test_endpoints_carry_credentials_only_safely(url: str, accepted: bool) -> None:
    if accepted:
        assert check_endpoint(url, "api_endpoint") == url.rstrip("/")
    else:
        with pytest.raises(ValueError, match="api_endpoint"):
            check_endpoint(url, "api_endpoint")


def test_declaring_and_listing_the_type_imports_nothing_from_google() -> None:
    """Only the namespace packages ``google`` and ``google.cloud`` may be touched (find_spec)."""
    import subprocess
    import sys

    probe = (
        "import sys, keybroker_gcp.declaration, keybroker_gcp.implementation\n"
        "from keybroker.cli.main import main\n"
        "try:\n    main(['connector', 'describe-type', 'gcp'])\n"
        "except SystemExit:\n    pass\n"
        "sdk = ('google.auth', 'google.oauth2', 'google.cloud.storage', 'google.api_core', "
        "'requests')\n"
        "loaded = [m for m in sys.modules if m.startswith(sdk)]\n"
        "print('LOADED', loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "LOADED []" in out.stdout
