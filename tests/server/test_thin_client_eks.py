"""A client with only keybroker-kubernetes logs kubectl in to EKS via the server's AWS connector.

The client machine is a fresh virtual environment with ``keybroker`` and
``keybroker-kubernetes`` only: no ``keybroker-aws``, no boto3. The AWS
connector lives on a real server process, whose AWS plugin verifies it and
issues, per kubectl call, a short-lived EKS token (a ``kubernetes`` connector
client). kubectl then reaches a cluster that checks the token with STS, as EKS
does.

moto limits worked around (``/work/shared/design.md``): the cluster moto
creates has a fake endpoint and a CA that is not PEM, so kubectl is pointed at a
local TLS API server (``--server``/``--certificate-authority``) that reviews
the token by calling the presigned STS URL at moto (its signature sent as a
header: moto routes a presigned GET to S3); IAM enforcement stays off, so STS
answers any correctly formed presigned URL.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from peers.aws_world import ADMIN_KEYS, AwsWorld, attrs, eks_token_reviewer
from peers.fake_kube_api import fake_kube_api
from peers.keybroker_server import ADMIN_PASSWORD, start_server
from peers.moto_server import running_moto
from peers.thin_client import thin_client

PASSWORD = "kim-password-for-eks-1"

pytestmark = [pytest.mark.slow, pytest.mark.peer]


def test_a_kubernetes_only_client_logs_kubectl_in_to_eks_through_the_server(
    tmp_path: Path,
) -> None:
    client = thin_client(tmp_path / "thin", "kubernetes")
    installed = client.distributions()
    assert {"keybroker", "keybroker-kubernetes"} <= installed
    assert not {"keybroker-aws", "boto3", "botocore"} & installed

    with running_moto(tmp_path / "moto.log") as moto:
        aws = AwsWorld(moto)
        aws.cluster("prod")
        (tmp_path / "server").mkdir()
        server = start_server(tmp_path / "server")
        try:
            admin = server.sign_in("admin", ADMIN_PASSWORD)
            status, _, body = server.request(
                "POST", "/api/v1/users", {"name": "kim", "password": PASSWORD}, admin
            )
            assert status == 201, body
            connected = client.keybroker(
                "connect",
                "--url",
                server.url,
                "--username",
                "kim",
                "--password-stdin",
                input=PASSWORD + "\n",
            )
            assert connected.returncode == 0, connected.stderr

            listed = client.keybroker("connector", "list-types", "-o", "json")
            assert listed.returncode == 0, listed.stderr
            types = {t["connector_type"]: t for t in json.loads(listed.stdout)}
            assert (types["aws"]["local"], types["aws"]["remote"]) == (False, True)
            assert types["aws"]["local_problem"] == "keybroker-aws is not installed here"
            assert (types["kubernetes"]["local"], types["kubernetes"]["remote"]) == (True, True)
            documented = client.keybroker("connector", "describe-type", "aws", "-a", "secret-key")
            assert documented.returncode == 0, documented.stderr
            assert "aws_secret_access_key" in documented.stdout

            registered = client.keybroker(
                "connector",
                "register",
                "aws-eks",
                "-t",
                "aws",
                "-a",
                "secret-key",
                "-r",
                "kubernetes-cluster",
                *attrs(aws),
            )
            assert registered.returncode == 0, registered.stderr
            verified = client.keybroker("connector", "verify", "aws-eks", "-o", "json")
            assert verified.returncode == 0, verified.stderr  # on the server, by its AWS plugin
            assert json.loads(verified.stdout)["resources"][0]["resource_ids"] == ["prod"]

            login = client.keybroker("connector", "login", "aws-eks", "--resource-id", "prod")
            assert login.returncode == 0, login.stderr

            kubeconfig = Path(os.environ["KUBECONFIG"])
            written = kubeconfig.read_text()
            session = json.loads(
                (Path(os.environ["KEYBROKER_CONFIG_DIR"]) / "server-session.json").read_text()
            )
            for secret in (ADMIN_KEYS["aws_secret_access_key"], session["token"], "k8s-aws-v1."):
                assert secret not in written
            config = yaml.safe_load(written)
            user = next(u["user"] for u in config["users"] if u["name"] == "aws-eks-prod")
            assert user["exec"]["command"] == str(client.command("keybroker-kube-credential"))
            assert {"name": "KEYBROKER_STORE_URL", "value": server.url} in user["exec"]["env"]

            with fake_kube_api(tmp_path / "kube-tls") as kube:
                kube.token_reviewer = eks_token_reviewer(moto.url, "prod")
                ca = tmp_path / "cluster-ca.pem"
                ca.write_text(kube.ca_pem)
                kubectl = subprocess.run(
                    [
                        "kubectl",
                        "--server",
                        kube.server,
                        "--certificate-authority",
                        str(ca),
                        "get",
                        "namespaces",
                        "-o",
                        "name",
                    ],
                    capture_output=True,
                    text=True,
                    env=client.env,
                    timeout=120,
                )
                assert kubectl.returncode == 0, kubectl.stderr
                assert "namespace/team-data" in kubectl.stdout
                assert kube.seen_tokens and kube.seen_tokens[-1].startswith("k8s-aws-v1.")

            status, _, audit = server.request(
                "GET", "/api/v1/audit?user=kim&limit=100", None, admin
            )
            assert status == 200, audit
            actions = {(e["action"], e["connector_name"]) for e in audit["items"]}
            assert ("connector.login", "aws-eks") in actions  # keybroker connector login
            assert ("connector.issue", "aws-eks") in actions  # kubectl's exec plugin
            assert ADMIN_KEYS["aws_secret_access_key"] not in server.log_text()
        finally:
            server.stop()
