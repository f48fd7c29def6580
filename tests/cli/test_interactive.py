"""Interactive registration (``register -i``) on a real pseudo-terminal, as a person types."""

from __future__ import annotations

from peers.basic_auth_server import BasicAuthService
from peers.cli_runner import run, run_json
from peers.terminal import Terminal


def test_each_answer_is_checked_and_asked_again(web: BasicAuthService) -> None:
    with Terminal(["connector", "register", "asked", "-i"]) as t:
        t.expect("Connector type (aws, docker, gcp, httpbasic, kubernetes) [aws]: ")
        t.type("httpbasic")
        t.expect("url: Service URL (required): ")
        t.type(web.url)
        t.expect("username: User name (required): ")
        t.type("")
        t.expect("Error: a value is required.")
        t.expect("username: User name (required): ")
        t.type(web.username)
        t.expect("password (required, hidden): ")
        t.type(web.password)
        prompt = "Resource type (http-server, http-endpoint; Enter for all of them, a multi-type "
        t.expect(prompt)
        t.type("bucket")
        t.expect("Error: 'bucket' is not one of: http-server, http-endpoint")
        t.expect(prompt)
        t.type("http-endpoint")
        t.expect("Resource id of one http-endpoint, e.g. /{path} (Enter for every one it reaches")
        t.type("not a path!")
        t.expect("Error: invalid endpoint 'not a path!': use a path such as /reports")
        t.expect("Resource id of one http-endpoint")
        t.type("metrics/")
        t.expect("Description (optional, Enter to skip): ")
        t.type("the metrics endpoint")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("oops")
        t.expect("'oops' is not a label: use key=value")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("team=data")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("")
        t.expect("verified and registered")
        assert t.finish() == 0
    assert web.password not in t.text  # typed, never echoed
    assert "[url]" not in t.text and ", )" not in t.text  # nothing that looks like a default
    stored = run_json("connector", "describe", "asked", "-x")
    assert stored["resource_type"] == "http-endpoint"
    assert stored["resource_id"] == "/metrics"  # the canonical form
    assert stored["description"] == "the metrics endpoint"
    assert stored["labels"] == {"team": "data"}
    assert stored["secrets"]["password"] == web.password


def test_a_value_the_schema_refuses_is_asked_again_before_any_secret() -> None:
    args = ["connector", "register", "aws-asked", "-i", "-t", "aws", "-a", "secret-key"]
    with Terminal([*args, "--no-verify"]) as t:
        t.expect("region: AWS region (required): ")
        t.type("nowhere")
        t.expect("Error: attribute 'region': invalid AWS region 'nowhere'")
        t.expect("region: AWS region (required): ")
        t.type("eu-west-1")
        t.expect("endpoint_url: AWS endpoint URL (optional, Enter to skip): ")
        t.type("")
        t.expect("aws_access_key_id (required, hidden): ")
        t.type("AKIAEXAMPLE000000000")
        t.expect("aws_secret_access_key (required, hidden): ")
        t.type("very-secret-key")
        t.expect("Resource type (aws-generic, s3-bucket, kubernetes-cluster, docker-registry;")
        t.type("s3-bucket")
        t.expect("Resource id of one s3-bucket")
        t.type("arn:aws:s3:::reports")
        t.expect("Description (optional, Enter to skip): ")
        t.type("")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("")
        t.expect("registered without verification")
        assert t.finish() == 0
    assert "very-secret-key" not in t.text
    stored = run_json("connector", "describe", "aws-asked")
    assert stored["resource_id"] == "s3://reports"
    assert stored["configuration"]["region"] == "eu-west-1"


def test_a_temporary_credentials_method_asks_for_their_lifetime() -> None:
    args = ["connector", "register", "aws-s", "-i", "-t", "aws", "-a", "session-token"]
    extra = ["region=eu-west-1", "aws_access_key_id=AKIAEXAMPLE000000000", "-r", "aws-generic"]
    with Terminal([*args, *extra, "aws_secret_access_key=x", "--no-verify"]) as t:
        t.expect("endpoint_url: AWS endpoint URL (optional, Enter to skip): ")
        t.type("")
        t.expect("Lifetime of issued credentials in seconds (900 to 129600; Enter for 43200): ")
        t.type("60")
        t.expect(
            "Error: expiration of 60 s is outside the range of auth method 'session-token': "
            "900 to 129600 s"
        )
        t.type("1800")
        t.expect("Description (optional, Enter to skip): ")
        t.type("")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("")
        assert t.finish() == 0, t.text
    assert run_json("connector", "describe", "aws-s")["expiration_seconds"] == 1800


def test_a_bad_attribute_on_the_command_line_fails_before_any_question() -> None:
    result = run(
        "connector", "register", "x", "-i", "-t", "aws", "-a", "secret-key", "region=nowhere"
    )
    assert result.exit_code == 2
    assert "attribute 'region': invalid AWS region 'nowhere'" in result.output
    assert "region:" not in result.output.split("Error:")[0]  # nothing was asked
    assert run_json("connector", "list") == []


def test_a_bad_name_is_refused_before_any_question() -> None:
    result = run("connector", "register", "bad name", "-i", input="httpbasic\n")
    assert result.exit_code == 2
    assert result.output.startswith("Error: invalid connector name 'bad name'")
    assert "Connector type" not in result.output


def test_description_and_labels_are_checked_as_typed_not_after_every_secret(
    web: BasicAuthService,
) -> None:
    args = ["connector", "register", "checked", "-i", "-t", "httpbasic", f"url={web.url}"]
    with Terminal([*args, f"username={web.username}"]) as t:
        t.expect("password (required, hidden): ")
        t.type(web.password)
        t.expect("Resource type (http-server, http-endpoint;")
        t.type("")
        t.expect("Description (optional, Enter to skip): ")
        t.type("\x1b[31mred")
        t.expect("Error: the description contains a control character")
        t.expect("Description (optional, Enter to skip): ")
        t.type("reports service")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("team=" + "x" * 300)
        t.expect("Error: the value of label 'team' is longer than 256 characters")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("team=data")
        t.expect("Label as key=value (optional, Enter when done): ")
        t.type("")
        t.expect("verified and registered")
        assert t.finish() == 0, t.text
    stored = run_json("connector", "describe", "checked")
    assert stored["description"] == "reports service"
    assert stored["labels"] == {"team": "data"}


def test_answers_from_a_pipe_work_too_hidden_ones_without_warnings(
    web: BasicAuthService,
) -> None:
    """A real process: getpass would warn about echo and read a terminal instead of the pipe."""
    import os
    import subprocess
    import sys

    answers = [
        "httpbasic",
        web.url,
        web.username,
        web.password,
        "http-endpoint",
        "/metrics",
        "",  # description
        "",  # no label
    ]
    result = subprocess.run(
        [sys.executable, "-m", "keybroker", "connector", "register", "piped", "-i"],
        input="\n".join(answers) + "\n",
        capture_output=True,
        text=True,
        env=dict(os.environ),
        start_new_session=True,  # no terminal to fall back on, as in CI
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "GetPassWarning" not in result.stderr and "may be echoed" not in result.stderr
    assert "password (required, hidden): " in result.stderr
    assert web.password not in result.stdout + result.stderr
    stored = run_json("connector", "describe", "piped", "-x")
    assert stored["secrets"]["password"] == web.password
    assert stored["resource_id"] == "/metrics"
    assert stored["configuration"]["url"] == web.url


def test_a_taken_name_is_refused_before_any_question() -> None:
    registered = run(
        "connector", "register", "taken", "-t", "httpbasic", "url=http://127.0.0.1:9",
        "username=u", "password=p", "--no-verify",
    )  # fmt: skip
    assert registered.exit_code == 0, registered.output
    result = run("connector", "register", "taken", "-i", input="httpbasic\n")
    assert result.exit_code == 2
    assert result.output == (
        "Error: a connector named 'taken' already exists; choose another name\n"
    )
