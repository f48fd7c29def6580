"""The AWS connector uses its own configuration only, and names what is wrong with its input.

A connector with explicit keys runs in a botocore session that reads nothing
from the machine (environment, config files, profiles, credential_process,
AWS_ENDPOINT_URL); only ``implicit`` connectors look for ambient credentials.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from click.testing import Result
from keybroker_aws.declaration import SecretKeyConfig
from keybroker_aws.errors import call
from keybroker_aws.sessions import Identity, client

import keybroker
from keybroker.errors import OperationError, UsageError
from peers.aws_world import ADMIN_KEYS, ALLOW_ALL, AwsWorld, attrs
from peers.cli_runner import run, run_json
from peers.connect_proxy import clear_proxy_environment, recording_proxy
from peers.moto_server import REGION


@pytest.fixture(autouse=True)
def no_machine_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_proxy_environment(monkeypatch)


def register(name: str, *arguments: str, method: str = "secret-key") -> Result:
    return run("connector", "register", name, "-t", "aws", "-a", method, *arguments)


def ambient_aws(monkeypatch: pytest.MonkeyPatch, keys: dict[str, str], tmp_path: Path) -> None:
    """Good credentials and misleading settings everywhere boto3 looks on this machine."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["aws_secret_access_key"])
    process = tmp_path / "credential-process"
    process.write_text(
        f"#!{sys.executable}\nimport json\nprint(json.dumps({{'Version': 1, "
        f"'AccessKeyId': {keys['aws_access_key_id']!r}, "
        f"'SecretAccessKey': {keys['aws_secret_access_key']!r}}}))\n"
    )
    process.chmod(stat.S_IRWXU)
    config = Path(os.environ["AWS_CONFIG_FILE"])
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f"[default]\nregion = us-west-2\ncredential_process = {process}\n"
        "[profile other]\nregion = us-west-2\n"
    )
    Path(os.environ["AWS_SHARED_CREDENTIALS_FILE"]).write_text(
        "[default]\naws_access_key_id = {aws_access_key_id}\n"
        "aws_secret_access_key = {aws_secret_access_key}\n".format(**keys)
    )
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_CSM_ENABLED", "true")


def test_wrong_keys_are_refused_whatever_the_machine_holds(
    aws: AwsWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    keys = aws.user("alice", ALLOW_ALL)
    aws.moto.enforce_iam()
    ambient_aws(monkeypatch, keys, tmp_path)
    wrong = dict(keys, aws_secret_access_key="not-the-secret-key")
    result = register("bad", *attrs(aws, wrong))
    assert result.exit_code == 1, result.output
    assert "AWS refused the request" in result.output
    # the same ambient credentials are exactly what an implicit connector is for
    implicit = register(
        "implicit", f"region={REGION}", f"endpoint_url={aws.url}", method="implicit"
    )
    assert implicit.exit_code == 0, implicit.output


def test_no_keys_never_means_the_machines_keys(
    aws: AwsWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ambient_aws(monkeypatch, ADMIN_KEYS, tmp_path)
    config = SecretKeyConfig.model_validate(
        {**ADMIN_KEYS, "region": REGION, "endpoint_url": aws.url}
    )
    with pytest.raises(OperationError, match="without an access key"):
        client(Identity(), "sts", config)
    with pytest.raises(OperationError, match="without an access key"):
        Identity().boto3_session(REGION)


def test_ambient_settings_do_not_change_a_connector(
    aws: AwsWorld, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    aws.bucket("reports")
    ambient_aws(monkeypatch, ADMIN_KEYS, tmp_path)
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
    result = register("explicit", *attrs(aws), "-r", "s3-bucket")
    assert result.exit_code == 0, result.output
    assert "s3://reports" in result.output
    s3 = keybroker.get_client("explicit", resource_type="s3-bucket")
    assert s3.meta.region_name == REGION
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["reports"]


def test_ambient_endpoint_urls_never_answer_for_a_connector(
    aws: AwsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto would answer (and "verify") anything; a connector without endpoint_url is for AWS
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", aws.url)
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:1")  # fail fast instead of going out
    keys = [f"{k}={v}" for k, v in ADMIN_KEYS.items()]
    result = register("real-aws", *keys, f"region={REGION}")
    assert result.exit_code == 1
    assert "GetCallerIdentity: cannot reach the proxy 127.0.0.1:1 named by HTTPS_PROXY" in (
        result.output
    )


def test_plain_http_endpoint_never_goes_through_a_proxy(
    aws: AwsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws.bucket("reports", {"a.txt": b"a"})
    with recording_proxy() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"):
            monkeypatch.setenv(name, proxy.url)
        result = register("via", *attrs(aws), method="session-token")
        assert result.exit_code == 0, result.output
        s3 = keybroker.get_client("via", resource_type="s3-bucket", resource_id="s3://reports")
        assert s3.get_object(Bucket="reports", Key="a.txt")["Body"].read() == b"a"
        session = keybroker.get_client("via", resource_type="aws-generic")
        assert session.client("sts", endpoint_url=aws.url).get_caller_identity()["Account"]
    # the session token travels in a header: a proxy would read it in clear
    assert proxy.plain_requests == [] and proxy.tunnels == []


def test_an_unreachable_endpoint_is_named() -> None:
    keys = [f"{k}={v}" for k, v in ADMIN_KEYS.items()]
    result = register("gone", *keys, f"region={REGION}", "endpoint_url=http://127.0.0.1:1/")
    assert result.exit_code == 1
    assert "GetCallerIdentity: cannot reach http://127.0.0.1:1" in result.output


@pytest.mark.parametrize(
    ("method", "extra", "message", "secret"),
    [
        ("secret-key", {"endpoint_url": "not-a-url"}, "invalid endpoint_url 'not-a-url'", None),
        ("secret-key", {"endpoint_url": "ftp://h"}, "invalid endpoint_url", None),
        ("secret-key", {"endpoint_url": "http://h:99999"}, "port is not a number", None),
        ("secret-key", {"endpoint_url": "http://u:pw-x@h"}, "carries credentials", "pw-x"),
        ("secret-key", {"endpoint_url": "http://h\n/x"}, "spaces or control", None),
        ("secret-key", {"region": "eu-west-1\nx"}, "invalid AWS region", None),
        ("secret-key", {"aws_access_key_id": "AKIA EXAMPLE"}, "invalid aws_access_key_id", None),
        (
            "secret-key",
            {"aws_secret_access_key": "abc\ndef-secret"},
            "invalid aws_secret_access_key",
            "def-secret",
        ),
        (
            "sts-token",
            {"aws_session_token": "tok\r\nX-Injected: 1"},
            "invalid aws_session_token",
            "X-Injected",
        ),
        ("iam-role", {"role_arn": "arn:aws:iam::123:role/x"}, "invalid role_arn", None),
        ("iam-role", {"role_arn": "arn:aws:iam::123456789012:user/x"}, "invalid role_arn", None),
    ],
)
def test_values_the_sdk_would_reject_are_usage_errors_naming_the_attribute(
    aws: AwsWorld, method: str, extra: dict[str, str], message: str, secret: str | None
) -> None:
    values = {**ADMIN_KEYS, "region": REGION, "endpoint_url": aws.url}
    if method == "sts-token":
        values["aws_session_token"] = "token"
    if method == "iam-role":
        values["role_arn"] = f"arn:aws:iam::{'1' * 12}:role/r"
    values.update(extra)
    result = register("bad", *[f"{k}={v}" for k, v in values.items()], method=method)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and "unexpected" not in result.output
    if secret:
        assert secret not in result.output
    assert run_json("connector", "list") == []


@pytest.mark.parametrize(
    ("arns", "message"),
    [
        (["arn:aws:iam::aws:policy/ReadOnlyAccess", "ReadOnly"], "entry 'ReadOnly'"),
        (["arn:aws:iam::aws:policy/ReadOnlyAccess\n"], None),  # surrounding space is dropped
        ([f"arn:aws:iam::aws:policy/P{i}" for i in range(11)], "AWS accepts at most 10"),
    ],
)
def test_policy_arns_are_checked_before_any_call(arns: list[str], message: str | None) -> None:
    from keybroker.connector import RegisterRequest
    from keybroker.service import ConnectorService

    request = RegisterRequest(
        name="fed",
        connector_type="aws",
        auth_method="federation-token",
        verify=False,
        attributes={**ADMIN_KEYS, "region": REGION, "policy_arns": arns},
    )
    if message is None:
        stored = ConnectorService().register(request).connector
        assert stored.configuration["policy_arns"] == [arns[0].strip()]
        return
    with pytest.raises(UsageError, match=message):
        ConnectorService().register(request)


def test_an_unknown_implicit_profile_is_a_usage_error(aws: AwsWorld) -> None:
    result = register(
        "implicit",
        f"region={REGION}",
        f"endpoint_url={aws.url}",
        "profile_name=no-such-profile",
        method="implicit",
    )
    assert result.exit_code == 2, result.output
    assert "AWS profile 'no-such-profile' (profile_name" in result.output


def test_sdk_and_aws_validation_errors_name_the_attribute(aws: AwsWorld) -> None:
    from botocore.exceptions import ClientError

    sts = aws.client("sts")
    # botocore checks the request locally before sending it
    with pytest.raises(UsageError, match="AssumeRole: invalid role_arn"):
        call("AssumeRole", lambda: sts.assume_role(RoleArn="short", RoleSessionName="s"))
    refusal = ClientError(
        {
            "Error": {
                "Code": "ValidationError",
                "Message": "1 validation error detected: Value '99999' at 'durationSeconds' "
                "failed to satisfy constraint",
            }
        },
        "AssumeRole",
    )

    def refused() -> None:
        raise refusal

    with pytest.raises(UsageError, match="AssumeRole: invalid expiration_seconds"):
        call("AssumeRole", refused)
