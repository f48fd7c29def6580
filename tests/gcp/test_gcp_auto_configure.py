"""Auto-configuration of GCP connectors from GOOGLE_APPLICATION_CREDENTIALS and gcloud's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result

from gcp.conftest import GcpWorld
from peers.cli_runner import run, run_json
from peers.fake_google import PROJECT


def auto(name: str, *options: str) -> Result:
    return run("connector", "register", name, "-t", "gcp", "--auto-configure", *options)


def endpoint(gcp: GcpWorld) -> list[str]:
    return ["--auto-configure-option", f"api_endpoint={gcp.google.url}"]


def gcloud_dir(home: Path, monkeypatch: pytest.MonkeyPatch, adc: dict[str, object] | None) -> Path:
    directory = home / "gcloud-config"
    (directory / "configurations").mkdir(parents=True)
    (directory / "active_config").write_text("work")
    (directory / "configurations" / "config_work").write_text(f"[core]\nproject = {PROJECT}\n")
    if adc is not None:
        (directory / "application_default_credentials.json").write_text(json.dumps(adc))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(directory))
    return directory


def test_a_key_named_by_google_application_credentials(
    gcp: GcpWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.key_file()))
    result = auto("auto-key", *endpoint(gcp), "-r", "gcs-bucket")
    assert result.exit_code == 0, result.output
    shown = run_json("connector", "describe", "auto-key", "-x")
    assert shown["auth_method"] == "service-account"
    assert json.loads(shown["secrets"]["service_account_json"]) == gcp.key
    assert shown["configuration"] == {"api_endpoint": gcp.google.url}  # project from the key
    wrong = auto("auto-user", "-a", "user-account")
    assert wrong.exit_code == 2
    assert "holds 'service_account' credentials; they fit auth method 'service-account'" in (
        wrong.output
    )


def test_gcloud_application_default_user_credentials(
    gcp: GcpWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = gcp.google.add_user("dev@example.com")
    del user["quota_project_id"]
    gcp.google.members.add("dev@example.com")
    gcloud_dir(gcp.home, monkeypatch, user)
    result = auto("auto-user", *endpoint(gcp), "-r", "kubernetes-cluster")
    assert result.exit_code == 0, result.output
    assert "us-central1/prod" in result.output
    shown = run_json("connector", "describe", "auto-user", "-x")
    assert shown["auth_method"] == "user-account"
    assert shown["configuration"]["project_id"] == PROJECT  # gcloud's core/project
    assert gcp.google.grants == ["dev@example.com"]  # the file's token_uri was honoured


def test_oauth2_token_minted_from_what_was_found(
    gcp: GcpWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.key_file()))
    result = auto("auto-token", "-a", "oauth2-token", *endpoint(gcp))
    assert result.exit_code == 0, result.output
    shown = run_json("connector", "describe", "auto-token", "-x")
    assert shown["auth_method"] == "oauth2-token"
    assert gcp.google.tokens[shown["secrets"]["token"]].principal == gcp.email
    assert shown["expires_at"] is not None
    assert "service_account_json" not in shown["secrets"]


def test_impersonation_and_implicit_from_what_was_found(
    gcp: GcpWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = f"reader@{PROJECT}.iam.gserviceaccount.com"
    gcp.google.add_service_account("reader", with_key=False)
    gcp.google.allow_token_creation(gcp.email, reader)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.key_file()))
    missing = auto("auto-imp", "-a", "impersonation")
    assert missing.exit_code == 2 and "target_principal=EMAIL" in missing.output
    option = ["--auto-configure-option", f"target_principal={reader}"]
    result = auto("auto-imp", "-a", "impersonation", *option, *endpoint(gcp))
    assert result.exit_code == 0, result.output
    assert gcp.google.impersonations[-1] == [gcp.email, reader]
    implicit = auto("auto-implicit", "-a", "implicit", *endpoint(gcp))
    assert implicit.exit_code == 0, implicit.output
    shown = run_json("connector", "describe", "auto-implicit", "-x")
    assert shown["secrets"] == {} and shown["configuration"]["project_id"] == PROJECT


def test_nothing_found_or_unusable(gcp: GcpWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(gcp.home / "empty"))
    typo = auto("auto-none", "--auto-configure-option", "project=test-project")
    assert typo.exit_code == 2 and "unknown auto-configure option 'project'" in typo.output
    nothing = auto("auto-none")
    assert nothing.exit_code == 2
    assert "no Google credentials found" in nothing.output
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(gcp.home / "missing.json"))
    missing = auto("auto-none")
    assert missing.exit_code == 2 and "which is not a readable file" in missing.output
    external = gcp.home / "external.json"
    external.write_text(json.dumps({"type": "external_account", "audience": "x"}))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(external))
    unusable = auto("auto-none")
    assert unusable.exit_code == 2
    assert "holds 'external_account' credentials, which a connector cannot store" in unusable.output
    garbage = gcp.home / "garbage.json"
    garbage.write_text("{not json")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(garbage))
    broken = auto("auto-none")
    assert broken.exit_code == 2 and "is not a Google credentials file (not JSON)" in broken.output
    assert run_json("connector", "list") == []
