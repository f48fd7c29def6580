"""The AWS connector end to end through the CLI and the Python API, against moto server."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

import keybroker
from peers.aws_world import ALLOW_ALL, AwsWorld, attrs
from peers.cli_runner import run, run_json
from peers.moto_server import ACCOUNT, REGION

ECR_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


def register(
    world: AwsWorld,
    name: str,
    *options: str,
    method: str = "secret-key",
    keys: dict[str, str] | None = None,
    **extra: str,
):
    return run(
        "connector",
        "register",
        name,
        "-t",
        "aws",
        "-a",
        method,
        *options,
        *attrs(world, keys, **extra),
    )


def ok(result):  # type: ignore[no-untyped-def]
    assert result.exit_code == 0, result.output
    return result


def test_the_three_scopes_verify_and_list_resources(aws: AwsWorld) -> None:
    aws.bucket("reports")
    aws.bucket("raw-data")
    aws.cluster("prod")
    ok(register(aws, "aws-multi-type"))
    ok(register(aws, "aws-multi-instance", "-r", "s3-bucket"))
    ok(
        register(
            aws, "aws-single-instance", "-r", "s3-bucket", "--resource-id", "arn:aws:s3:::reports"
        )
    )

    listed = {c["name"]: c for c in run_json("connector", "list")}
    assert listed["aws-multi-type"]["resource_types"] == [
        "aws-generic",
        "s3-bucket",
        "kubernetes-cluster",
        "docker-registry",
    ]
    assert listed["aws-multi-instance"]["resource_id"] is None
    assert listed["aws-single-instance"]["resource_id"] == "s3://reports"  # canonical form

    multi = run_json("connector", "verify", "aws-multi-type")
    assert [r["resource_ids"] for r in multi["resources"]] == [None, None, None, None]
    narrowed = run_json("connector", "verify", "aws-multi-type", "-r", "s3-bucket")
    assert narrowed["resources"][0]["resource_ids"] == ["s3://raw-data", "s3://reports"]
    clusters = run_json("connector", "verify", "aws-multi-type", "-r", "kubernetes-cluster")
    assert clusters["resources"][0]["resource_ids"] == ["prod"]
    ecr = run_json("connector", "verify", "aws-multi-type", "-r", "docker-registry")
    assert ecr["resources"][0]["resource_ids"] == [ECR_HOST]
    generic = run_json("connector", "verify", "aws-multi-type", "-r", "aws-generic")
    assert generic["resources"][0]["resource_ids"] == [REGION]

    instances = run_json("connector", "verify", "aws-multi-instance")
    assert instances["resources"][0]["resource_ids"] == ["s3://raw-data", "s3://reports"]
    one = run_json("connector", "verify", "aws-multi-instance", "--resource-id", "raw-data")
    assert one["resources"][0]["resource_ids"] == ["s3://raw-data"]
    single = run_json("connector", "verify", "aws-single-instance")
    assert single["resources"][0]["resource_ids"] == ["s3://reports"]

    reports = {
        r["connector_name"]: r for r in run_json("connector", "list-resources", "-r", "s3-bucket")
    }
    assert reports["aws-multi-type"]["resources"][0]["resource_ids"] == [
        "s3://raw-data",
        "s3://reports",
    ]
    assert reports["aws-single-instance"]["resources"][0]["resource_ids"] == ["s3://reports"]
    only = run_json(
        "connector", "list-resources", "-r", "s3-bucket", "--resource-id", "s3://reports"
    )
    assert {r["connector_name"] for r in only} == {
        "aws-multi-type",
        "aws-multi-instance",
        "aws-single-instance",
    }
    table = run("connector", "list-resources").output
    # one row per resource type: each type's names stand on its own line
    assert any("kubernetes-cluster" in line and "prod" in line for line in table.splitlines())
    assert any("aws-generic" in line and REGION in line for line in table.splitlines())


def test_missing_bucket_fails_verification(aws: AwsWorld) -> None:
    result = register(aws, "gone", "-r", "s3-bucket", "--resource-id", "s3://no-such-bucket")
    assert result.exit_code == 1
    assert "S3 bucket 'no-such-bucket' does not exist" in result.output
    assert run_json("connector", "list") == []


def test_pre_authenticated_s3_client_reads_an_object(aws: AwsWorld) -> None:
    aws.bucket("reports", {"q3.csv": b"revenue,42\n"})
    ok(register(aws, "aws-s3", "-r", "s3-bucket", "--resource-id", "s3://reports"))
    s3 = keybroker.get_client("aws-s3")
    assert s3.get_object(Bucket="reports", Key="q3.csv")["Body"].read() == b"revenue,42\n"
    assert s3.meta.endpoint_url == aws.url


def test_session_token_hands_out_temporary_credentials_that_refresh(aws: AwsWorld) -> None:
    aws.bucket("reports", {"a.txt": b"a"})
    ok(register(aws, "aws-session", method="session-token"))
    client = run_json(
        "connector",
        "describe",
        "aws-session",
        "-r",
        "s3-bucket",
        "--resource-id",
        "s3://reports",
        "-x",
    )
    assert client["auth_method"] == "sts-token"
    assert client["resource_id"] == "s3://reports"
    assert client["expires_at"] is not None
    assert client["secrets"]["aws_access_key_id"] != "AKIAADMINEXAMPLE0000"
    session = keybroker.get_client("aws-session", resource_type="aws-generic")
    credentials = session.get_credentials()
    assert credentials.method == "keybroker"  # botocore renews them through keybroker
    assert credentials.refresh_needed() is False
    s3 = keybroker.get_client("aws-session", resource_type="s3-bucket", resource_id="reports")
    assert s3.get_object(Bucket="reports", Key="a.txt")["Body"].read() == b"a"


def test_iam_role_and_federation_token(aws: AwsWorld) -> None:
    aws.bucket("reports")
    role = aws.role("reader", ALLOW_ALL)
    ok(register(aws, "aws-role", "-r", "s3-bucket", method="iam-role", role_arn=role))
    client = run_json("connector", "describe", "aws-role", "--resource-id", "s3://reports")
    assert client["auth_method"] == "sts-token" and client["expires_at"]
    ok(register(aws, "aws-fed", "--expiration-seconds", "900", method="federation-token"))
    fed = run_json(
        "connector", "describe", "aws-fed", "-r", "s3-bucket", "--resource-id", "s3://reports"
    )
    assert fed["auth_method"] == "sts-token"
    left = datetime.fromisoformat(fed["expires_at"]) - datetime.now(UTC)
    assert 0 < left.total_seconds() <= 900  # the connector's --expiration-seconds


def test_implicit_uses_the_environment(aws: AwsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.bucket("reports")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIMPLICIT00000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "implicit-secret")
    result = run(
        "connector",
        "register",
        "aws-implicit",
        "-t",
        "aws",
        "-a",
        "implicit",
        f"region={REGION}",
        f"endpoint_url={aws.url}",
        "-r",
        "s3-bucket",
    )
    ok(result)
    assert run_json("connector", "describe", "aws-implicit")["secrets"] == {}
    assert "s3://reports" in result.output


def test_eks_cluster_yields_a_kubernetes_token_connector_and_login(aws: AwsWorld) -> None:
    aws.cluster("prod")
    ok(register(aws, "aws-eks", "-r", "kubernetes-cluster"))
    client = run_json(
        "connector",
        "describe",
        "aws-eks",
        "--resource-id",
        f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod",
        "-x",
    )
    assert client["connector_type"] == "kubernetes" and client["auth_method"] == "token"
    token = client["secrets"]["token"]
    assert token.startswith("k8s-aws-v1.")
    encoded = token.removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    # the token is an STS GetCallerIdentity URL presigned at the connector's endpoint_url
    assert url.startswith(aws.url + "/?Action=GetCallerIdentity")
    query = parse_qs(urlsplit(url).query)
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"][0]
    assert query["X-Amz-Expires"] == ["60"]
    # moto limit: the EKS endpoint is fake and its CA is not PEM, so no kubectl call here;
    # the kubeconfig entry and the exec plugin it names are exercised instead
    login = run("connector", "login", "aws-eks", "--resource-id", "prod")
    ok(login)
    config = yaml.safe_load(Path(os.environ["KUBECONFIG"]).read_text())
    assert config["current-context"] == "aws-eks-prod"
    user = next(u["user"] for u in config["users"] if u["name"] == "aws-eks-prod")
    assert token not in Path(os.environ["KUBECONFIG"]).read_text()
    exec_entry = user["exec"]
    out = subprocess.run(
        [exec_entry["command"], *exec_entry["args"]],
        capture_output=True,
        text=True,
        env={**os.environ, **{e["name"]: e["value"] for e in exec_entry["env"]}},
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    credential = json.loads(out.stdout)
    assert credential["status"]["token"].startswith("k8s-aws-v1.")
    assert credential["status"]["expirationTimestamp"].endswith("Z")


def test_ecr_yields_a_docker_connector_and_login_uses_the_credential_helper(
    aws: AwsWorld,
) -> None:
    aws.client("ecr").create_repository(repositoryName="app")
    ok(register(aws, "aws-ecr", "-r", "docker-registry"))
    assert run_json("connector", "describe", "aws-ecr")["resource_id"] == ECR_HOST
    client = run_json(
        "connector", "describe", "aws-ecr", "-x", "--resource-id", f"https://{ECR_HOST}/app"
    )
    assert client["connector_type"] == "docker"
    assert client["configuration"] == {"registry": ECR_HOST, "username": "AWS"}
    by_uri = register(
        aws,
        "aws-ecr-uri",
        "-r",
        "docker-registry",
        "--resource-id",
        f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/app",
    )
    ok(by_uri)
    assert run_json("connector", "describe", "aws-ecr-uri")["resource_id"] == ECR_HOST
    # moto limit: ECR reports an expiry in the past; the client gets the documented 12 h
    assert client["expires_at"] is not None
    ok(run("connector", "login", "aws-ecr"))
    docker_config = Path(os.environ["DOCKER_CONFIG"]) / "config.json"
    assert json.loads(docker_config.read_text())["credHelpers"] == {ECR_HOST: "keybroker"}
    helper = Path(sys.executable).with_name("docker-credential-keybroker")
    got = subprocess.run(
        [str(helper), "get"], input=ECR_HOST, capture_output=True, text=True, timeout=60
    )
    assert got.returncode == 0, got.stderr
    answer = json.loads(got.stdout)
    assert answer["Username"] == "AWS" and answer["Secret"] == client["secrets"]["password"]


def test_auto_configure_picks_session_token_for_long_lived_keys(
    aws: AwsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
    ok(run("connector", "register", "auto-env", "-t", "aws", "--auto-configure"))
    described = run_json("connector", "describe", "auto-env")
    assert described["auth_method"] == "session-token"
    assert described["configuration"]["endpoint_url"] == aws.url
    assert set(described["secrets"]) == {"aws_access_key_id", "aws_secret_access_key"}


def test_auto_configure_from_a_profile(aws: AwsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    credentials = Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.write_text(
        "[ops]\naws_access_key_id = AKIAPROFILE000000000\naws_secret_access_key = profile-secret\n"
    )
    Path(os.environ["AWS_CONFIG_FILE"]).write_text(f"[profile ops]\nregion = {REGION}\n")
    monkeypatch.setenv("AWS_PROFILE", "ops")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
    ok(
        run(
            "connector",
            "register",
            "auto-profile",
            "-t",
            "aws",
            "--auto-configure",
            "-a",
            "secret-key",
        )
    )
    shown = run_json("connector", "describe", "auto-profile", "-x")
    assert shown["secrets"]["aws_access_key_id"] == "AKIAPROFILE000000000"
    assert shown["auth_method"] == "secret-key"
    monkeypatch.setenv("AWS_PROFILE", "nope")
    missing = run("connector", "register", "x", "-t", "aws", "--auto-configure")
    assert missing.exit_code == 2 and "AWS profile 'nope'" in missing.output


def test_wrong_secret_key_is_refused_and_nothing_stored(aws: AwsWorld) -> None:
    keys = aws.user("alice", ALLOW_ALL)
    aws.moto.enforce_iam()
    bad = dict(keys, aws_secret_access_key="not-the-secret-key")
    result = register(aws, "aws-bad", keys=bad)
    assert result.exit_code == 1
    assert "AWS refused the request" in result.output
    assert "not-the-secret-key" not in result.output
    good = register(aws, "aws-good", keys=keys)
    ok(good)
    assert [c["name"] for c in run_json("connector", "list")] == ["aws-good"]


@pytest.mark.parametrize(
    ("options", "extra", "message"),
    [
        ([], {"region": "xx-fake-9"}, "unknown AWS region 'xx-fake-9'"),
        ([], {"region": "europe"}, "invalid AWS region 'europe'"),
        (["-r", "s3-bucket", "--resource-id", "s3://Bad_Bucket"], {}, "invalid S3 bucket"),
        (["-r", "s3-bucket", "--resource-id", "arn:aws:s3:bucket"], {}, "invalid S3 bucket ARN"),
        (
            ["-r", "kubernetes-cluster", "--resource-id", "arn:aws:eks:eu-west-1:1:cluster"],
            {},
            "invalid EKS cluster ARN",
        ),
        (
            [
                "-r",
                "kubernetes-cluster",
                "--resource-id",
                f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/prod",
            ],
            {},
            "is in region us-east-1",
        ),
        (["-r", "aws-generic", "--resource-id", "s3://x"], {}, "takes no resource id"),
        (["-r", "aws-generic", "--resource-id", "us-east-1"], {}, "takes no resource id"),
        (["-r", "docker-registry", "--resource-id", "ghcr.io/app"], {}, "invalid ECR registry"),
        (["--expiration-seconds", "60"], {}, "expiration"),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(
    aws: AwsWorld, options: list[str], extra: dict[str, str], message: str
) -> None:
    result = register(aws, "bad", *options, method="session-token", **extra)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert run_json("connector", "list") == []


def test_describe_type_documents_methods_and_iam_permissions() -> None:
    method = run("connector", "describe-type", "aws", "-a", "session-token")
    assert "36 h" in method.output or "1d12h" in method.output
    assert "GetSessionToken" in method.output
    resource = run("connector", "describe-type", "aws", "-r", "kubernetes-cluster")
    assert "eks:DescribeCluster" in resource.output
    assert "arn:aws:eks:{region}:{account}:cluster/{cluster}" in resource.output


def test_temporary_credentials_are_cached_then_renewed_under_a_running_session(
    aws: AwsWorld,
) -> None:
    import dataclasses
    from datetime import timedelta

    from keybroker_aws import sessions

    from keybroker.connector import utcnow

    aws.bucket("reports", {"a.txt": b"a"})
    role = aws.role("job", ALLOW_ALL)
    ok(register(aws, "aws-job", "--expiration-seconds", "900", method="iam-role", role_arn=role))

    def issued_key() -> str:
        client = run_json("connector", "describe", "aws-job", "-r", "aws-generic", "-x")
        return str(client["secrets"]["aws_access_key_id"])

    first = issued_key()
    assert issued_key() == first  # still fresh: the cached credentials are handed out again

    session = keybroker.get_client("aws-job", resource_type="aws-generic")
    credentials = session.get_credentials()
    before = credentials.get_frozen_credentials().access_key
    # let the job run "for hours": every cached credential is 10 s from expiry
    for key, value in list(sessions._cache.items()):
        sessions._cache[key] = dataclasses.replace(
            value, expiration=utcnow() + timedelta(seconds=10)
        )
    credentials._expiry_time = utcnow() + timedelta(seconds=10)
    after = credentials.get_frozen_credentials().access_key
    assert after != before  # botocore asked keybroker, which assumed the role again
    assert issued_key() == after  # and the renewed credentials are the cached ones now
    s3 = session.client("s3", endpoint_url=aws.url)
    assert s3.get_object(Bucket="reports", Key="a.txt")["Body"].read() == b"a"


def test_login_needs_exactly_one_cluster(aws: AwsWorld) -> None:
    ok(register(aws, "aws-any"))
    none = run("connector", "login", "aws-any", "-r", "kubernetes-cluster")
    assert none.exit_code == 1
    assert "reaches no kubernetes-cluster resource" in none.output
    aws.cluster("blue")
    aws.cluster("green")
    several = run("connector", "login", "aws-any", "-r", "kubernetes-cluster")
    assert several.exit_code == 2
    assert "--resource-id: connector 'aws-any' reaches several" in several.output
    assert "choose one (blue, green)" in several.output
    assert not Path(os.environ["KUBECONFIG"]).exists()  # nothing written by either attempt
