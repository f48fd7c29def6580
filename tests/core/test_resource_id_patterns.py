"""Every resource id and name pattern of the plugins matches the whole value.

A pattern ending in '$' also accepts a value with a trailing newline, which
then travels into stored ids, kubeconfig contexts and config.json keys. Values
are trimmed of surrounding whitespace where a user types them, and anything
left that is not the whole pattern is refused.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from keybroker_aws import resource_ids as aws
from keybroker_docker.names import canonical_registry
from keybroker_httpbasic.implementation import canonical_resource_id as httpbasic_id
from keybroker_kubernetes.names import canonical_cluster, check_header_text, parse_server

from keybroker.errors import UsageError

ROLE = "arn:aws:iam::123456789012:role/app"
ECR_REPOSITORY_ARN = "arn:aws:ecr:eu-west-1:123456789012:repository"

TRIMMED: list[tuple[Callable[[str], object], str, object]] = [
    (aws.canonical_bucket, "reports", "s3://reports"),
    (lambda v: aws.canonical_cluster(v, "eu-west-1"), "prod", "prod"),
    (
        lambda v: aws.canonical_cluster(v, "eu-west-1"),
        "arn:aws:eks:eu-west-1:123456789012:cluster/prod",
        "prod",
    ),
    (
        lambda v: aws.canonical_registry(v, "eu-west-1"),
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    ),
    (
        lambda v: aws.canonical_registry(v, "eu-west-1"),
        "arn:aws:ecr:eu-west-1:123456789012:repository/app",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    ),
    (aws.check_role_arn, f"{ROLE}", ROLE),
    (canonical_registry, "ghcr.io", "ghcr.io"),
    (canonical_registry, "127.0.0.1:5000/team/app:1", "127.0.0.1:5000"),
    (canonical_cluster, "10.0.0.1:6443", "10.0.0.1:6443"),
    (lambda v: httpbasic_id("http-endpoint", v), "/reports", "/reports"),
]


@pytest.mark.parametrize(("function", "value", "expected"), TRIMMED)
def test_a_trailing_newline_is_trimmed_never_kept(
    function: Callable[[str], object], value: str, expected: object
) -> None:
    assert function(value) == expected
    assert function(value + "\n") == expected
    assert function(f" {value}\n") == expected


REFUSED: list[tuple[Callable[[str], object], str]] = [
    (aws.check_region, "eu-west-1\n"),
    (aws.check_region, "eu-west-1\nx"),
    (aws.canonical_bucket, "rep\norts"),
    (lambda v: aws.canonical_cluster(v, None), "pr\nod"),
    (
        lambda v: aws.canonical_cluster(v, None),
        "arn:aws:eks:eu-west-1:123456789012:cluster/prod\nx",
    ),
    (lambda v: aws.canonical_registry(v, None), f"{ECR_REPOSITORY_ARN}/a\nb"),
    (aws.check_role_arn, "arn:aws:iam::123456789012:role/app\nx"),
    (aws.check_access_key_id, "AKIAEXAMPLE\n"),
    (lambda v: aws.check_token_text("aws_session_token", v), "token\n"),
    (aws.check_endpoint_url, "http://h\n.example"),
    (canonical_registry, "ghcr.io\n/org/app"),
    (canonical_registry, "gh\ncr.io"),
    (parse_server, "https://10.0.0.1\n:6443"),
    (parse_server, "https://10.0.\n0.1:6443"),
    (lambda v: check_header_text("token", v), "abc\n"),
    (lambda v: httpbasic_id("http-endpoint", v), "/reports\n/x"),
]


@pytest.mark.parametrize(("function", "value"), REFUSED)
def test_a_newline_inside_a_value_is_refused(function: Callable[[str], object], value: str) -> None:
    with pytest.raises(UsageError):
        function(value)
