"""The docker connector against Debian's distribution registry, checked with skopeo."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from keybroker_docker.names import api_base_url, canonical_registry

from keybroker.errors import UsageError
from peers.cli_runner import run, run_json
from peers.http_peer import send_json
from peers.leaser import leaser_installed
from peers.registry import REPOSITORY, TAG, Registry, require


def docker_config() -> Path:
    return Path(os.environ["DOCKER_CONFIG"]) / "config.json"


def register(registry: Registry, name: str = "reg", password: str | None = None):
    return run(
        "connector",
        "register",
        name,
        "-t",
        "docker",
        f"registry={registry.url}",
        f"username={registry.username}",
        f"password={password or registry.password}",
    )


def skopeo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    require("skopeo")
    environment = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    return subprocess.run(
        ["skopeo", *args, "--authfile", str(docker_config()), "--tls-verify=false"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **(env or {})},
    )


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        (None, "docker.io"),
        ("", "docker.io"),
        ("ubuntu", "docker.io"),
        ("library/ubuntu:22.04", "docker.io"),
        ("index.docker.io", "docker.io"),
        ("https://registry-1.docker.io/v2/", "docker.io"),
        ("ghcr.io", "ghcr.io"),
        ("GHCR.io/org/app:1.2", "ghcr.io"),
        ("https://ghcr.io/org/app", "ghcr.io"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"),
        ("localhost:5000/team/app@sha256:abc", "localhost:5000"),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        ),
    ],
)
def test_registry_names(typed: str | None, canonical: str) -> None:
    assert canonical_registry(typed) == canonical


@pytest.mark.parametrize("typed", ["ftp://ghcr.io", "bad_host.io", "ghcr.io:port/x"])
def test_malformed_registry_names(typed: str) -> None:
    with pytest.raises(UsageError, match="invalid registry"):
        canonical_registry(typed)


def test_api_urls() -> None:
    assert api_base_url(None) == "https://registry-1.docker.io"
    assert api_base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert api_base_url("ghcr.io") == "https://ghcr.io"


def test_register_verify_list(registry: Registry) -> None:
    result = register(registry)
    assert result.exit_code == 0, result.output
    (connector,) = run_json("connector", "list")
    assert connector["resource_type"] == "docker-registry"
    assert connector["resource_id"] == registry.host
    assert connector["secrets"] == {"password": "[HIDDEN]"}
    verified = run("connector", "verify", "reg")
    assert verified.exit_code == 0 and registry.host in verified.output


def test_wrong_password_stores_nothing_and_leaves_docker_config_alone(registry: Registry) -> None:
    docker_config().parent.mkdir(parents=True, exist_ok=True)
    docker_config().write_text('{"auths": {"other.io": {"auth": "eDp5"}}}')
    result = register(registry, password="wrong-password")
    assert result.exit_code == 1
    assert f"{registry.host} refused the credentials of '{registry.username}'" in result.output
    assert "wrong-password" not in result.output
    assert run_json("connector", "list") == []
    assert docker_config().read_text() == '{"auths": {"other.io": {"auth": "eDp5"}}}'


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["registry=ftp://x.io", "username=u", "password=p"], "invalid registry 'ftp://x.io'"),
        (["username=u"], "missing required attribute 'password'"),
        (["username=u", "password=p", "email=a@b.c"], "unknown attribute 'email'"),
    ],
)
def test_bad_attributes(args: list[str], message: str) -> None:
    result = run("connector", "register", "reg", "-t", "docker", *args)
    assert result.exit_code == 2
    assert message in result.output


def test_unreachable_registry() -> None:
    result = run(
        "connector",
        "register",
        "reg",
        "-t",
        "docker",
        "registry=127.0.0.1:1",
        "username=u",
        "password=p",
    )
    assert result.exit_code == 1
    assert "cannot reach registry 127.0.0.1:1" in result.output


def test_login_then_skopeo_reads_the_image(registry: Registry) -> None:
    docker_config().parent.mkdir(parents=True, exist_ok=True)
    docker_config().write_text(
        json.dumps({"auths": {"other.io": {"auth": "eDp5"}}, "psFormat": "table {{.ID}}"})
    )
    assert register(registry).exit_code == 0
    login = run("connector", "login", "reg")
    assert login.exit_code == 0, login.output
    data = json.loads(docker_config().read_text())
    assert data["psFormat"] == "table {{.ID}}"
    assert data["auths"]["other.io"] == {"auth": "eDp5"}
    expected = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()
    assert data["auths"][registry.host] == {"auth": expected}
    assert oct(docker_config().stat().st_mode & 0o777) == "0o600"
    tags = skopeo("list-tags", f"docker://{registry.host}/{REPOSITORY}")
    assert tags.returncode == 0, tags.stderr
    assert json.loads(tags.stdout)["Tags"] == [TAG]
    inspected = skopeo("inspect", f"docker://{registry.host}/{REPOSITORY}:{TAG}")
    assert inspected.returncode == 0, inspected.stderr
    assert len(json.loads(inspected.stdout)["Layers"]) == 1


def test_docker_config_that_is_not_json_is_left_alone(registry: Registry) -> None:
    assert register(registry).exit_code == 0
    docker_config().parent.mkdir(parents=True, exist_ok=True)
    docker_config().write_text("{not json")
    result = run("connector", "login", "reg")
    assert result.exit_code == 2
    assert "is not valid JSON" in result.output
    assert docker_config().read_text() == "{not json"


def test_python_client_without_daemon_is_a_registry_session(registry: Registry) -> None:
    import keybroker

    assert register(registry).exit_code == 0
    session = keybroker.get_client("reg")
    assert type(session).__name__ == "RegistrySession"
    assert registry.password not in repr(session)
    assert session.tags(REPOSITORY) == [TAG]
    assert REPOSITORY in session.catalog()
    assert session.manifest(REPOSITORY, TAG)["schemaVersion"] == 2


def test_auto_configure_from_docker_config(registry: Registry) -> None:
    docker_config().parent.mkdir(parents=True, exist_ok=True)
    pair = f"{registry.username}:{registry.password}".encode()
    docker_config().write_text(
        json.dumps(
            {
                "auths": {
                    registry.host: {"auth": base64.b64encode(pair).decode()},
                    "ghcr.io": {"auth": base64.b64encode(b"someone:token").decode()},
                }
            }
        )
    )
    ambiguous = run("connector", "register", "auto", "-t", "docker", "--auto-configure")
    assert ambiguous.exit_code == 2 and "ghcr.io" in ambiguous.output
    # the plugin names the parameter; the CLI words it as its option, once
    assert ambiguous.output.startswith(
        "Error: --auto-configure-option: choose a registry with the auto-configure option "
        "registry=HOST"
    )
    result = run(
        "connector",
        "register",
        "auto",
        "-t",
        "docker",
        "--auto-configure",
        "--auto-configure-option",
        f"registry={registry.host}",
    )
    assert result.exit_code == 0, result.output
    assert run_json("connector", "describe", "auto")["resource_id"] == registry.host


# -- bearer token challenge ------------------------------------------------------------------


@pytest.fixture
def token_registry() -> Iterator[str]:
    """A registry front that answers with a bearer challenge and a token realm."""
    good = "Basic " + base64.b64encode(b"robot:robot-secret").decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            port = self.server.server_address[1]
            if self.path.startswith("/token"):
                ok = self.headers.get("Authorization") == good and "service=test" in self.path
                self._answer(200 if ok else 401, {"token": "bearer-abc"} if ok else {})
            elif self.headers.get("Authorization") == "Bearer bearer-abc":
                self._answer(200, {})
            else:
                self._answer(
                    401,
                    {},
                    {
                        "WWW-Authenticate": f'Bearer realm="http://127.0.0.1:{port}/token",service="test"'
                    },
                )

        def _answer(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
            send_json(self, status, body, headers)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bearer_token_challenge(token_registry: str) -> None:
    ok = run(
        "connector",
        "register",
        "tok",
        "-t",
        "docker",
        f"registry={token_registry}",
        "username=robot",
        "password=robot-secret",
    )
    assert ok.exit_code == 0, ok.output
    bad = run(
        "connector",
        "register",
        "tok2",
        "-t",
        "docker",
        f"registry={token_registry}",
        "username=robot",
        "password=nope",
    )
    assert bad.exit_code == 1 and "token service answered HTTP 401" in bad.output


# -- temporary credentials: the credential helper -----------------------------------------


@pytest.fixture
def leaser(tmp_path: Path) -> Iterator[dict[str, str]]:
    with leaser_installed(tmp_path / "site") as env:
        yield env


def test_temporary_credentials_go_through_the_credential_helper(
    registry: Registry, leaser: dict[str, str]
) -> None:
    registered = run(
        "connector",
        "register",
        "lease",
        "-t",
        "leaser",
        f"registry={registry.host}",
        f"username={registry.username}",
        f"password={registry.password}",
    )
    assert registered.exit_code == 0, registered.output
    login = run("connector", "login", "lease")
    assert login.exit_code == 0, login.output
    config_text = docker_config().read_text()
    assert json.loads(config_text)["credHelpers"] == {registry.host: "keybroker"}
    assert registry.password not in config_text
    mapping = (docker_config().parent / "keybroker-credentials.json").read_text()
    assert registry.password not in mapping
    tags = skopeo("list-tags", f"docker://{registry.host}/{REPOSITORY}", env=leaser)
    assert tags.returncode == 0, tags.stderr
    assert json.loads(tags.stdout)["Tags"] == [TAG]

    def helper(action: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(Path(sys.executable).parent / "docker-credential-keybroker"), action],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **leaser},
            timeout=60,
        )

    got = helper("get", f"http://{registry.host}")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout) == {
        "ServerURL": f"http://{registry.host}",
        "Username": registry.username,
        "Secret": registry.password,
    }
    assert json.loads(helper("list").stdout) == {registry.host: "lease"}
    unknown = helper("get", "ghcr.io")
    assert unknown.returncode == 1 and "credentials not found" in unknown.stdout
    assert helper("erase", registry.host).returncode == 0
    assert helper("get", registry.host).returncode == 0  # erase never removes keybroker's access


def test_python_client_is_a_logged_in_docker_client_when_a_daemon_answers(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    import docker
    import keybroker
    from peers.fake_docker_daemon import fake_docker_daemon

    assert register(registry).exit_code == 0
    with fake_docker_daemon() as daemon:
        monkeypatch.setenv("DOCKER_HOST", daemon.host)
        client = keybroker.get_client("reg")
        assert isinstance(client, docker.DockerClient)
        assert client.version()["Version"] == "27.0.0-test"
    (login,) = daemon.logins
    assert login["serveraddress"] == registry.host
    assert login["username"] == registry.username
    assert login["password"] == registry.password
