"""Regenerate ``docs/user-guide/commands.md`` with real output of every command.

Runs the installed ``keybroker`` CLI, each command as its own process, on a
fresh home directory against a real peer (the kit's HTTP service with basic
auth, reached through the example ``httpbasic`` plugin), and writes the page.
Temporary paths, ports and ids are replaced by stable stand-ins so that a
refresh only shows real changes.

    uv run python scripts/capture_cli.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from contextlib import AbstractContextManager
from pathlib import Path

from keybroker.testing.http_peer import HttpPeer, http_peer

PAGE = Path(__file__).resolve().parents[1] / "docs" / "user-guide" / "commands.md"
USER, PASSWORD = "alice", "correct-horse-battery"
ROUTES = {"/index": ["/reports", "/metrics"], "/reports": "q3 figures", "/metrics": "cpu 3"}

INTRO = """# Commands

Every command with its real output, captured by `scripts/capture_cli.py` from
the CLI (run it again to refresh this page). The examples use the `httpbasic`
connector type of the example plugin and a small HTTP service with basic
authentication at `http://127.0.0.1:8080`; the commands are the same for
every connector type.

Every listing and `describe` command takes `-o json` or `-o yaml` for
scripts. Bad input exits with 2 and one line naming what is wrong; an
operation that fails exits with 1.
"""

# (heading, explanation, commands)
SECTIONS: list[tuple[str, str, list[str]]] = [
    (
        "Overview",
        "The command groups.",
        ["keybroker --help", "keybroker connector --help"],
    ),
    (
        "connector list-types",
        "The installed connector types and where they can be used (LOCAL: the "
        "plugin and its SDK are installed here).",
        ["keybroker connector list-types"],
    ),
    (
        "connector describe-type",
        "A connector type's documentation; `-a` shows one auth method and its "
        "attributes, `-r` one resource type and the id formats it accepts.",
        [
            "keybroker connector describe-type httpbasic",
            "keybroker connector describe-type httpbasic -a password",
            "keybroker connector describe-type httpbasic -r http-endpoint",
        ],
    ),
    (
        "connector register",
        "Register a connector: the credentials are verified before anything is "
        "stored. Without `-r` the connector is multi-type; `-r` alone makes it "
        "multi-instance; `-r` with `--resource-id` single-instance (see "
        "[scopes](scopes.md)).",
        [
            "keybroker connector register web -t httpbasic "
            "url=$URL username=$USER password=$PASSWORD",
            "keybroker connector register web-pages -t httpbasic -r http-endpoint "
            "url=$URL username=$USER password=$PASSWORD",
            "keybroker connector register web-reports -t httpbasic -r http-endpoint "
            "--resource-id reports url=$URL username=$USER password=$PASSWORD",
            "keybroker connector register broken -t httpbasic "
            "url=$URL username=$USER password=wrong",
        ],
    ),
    (
        "connector list",
        "The registered connectors; `-t`, `-r`, `-l` filter.",
        ["keybroker connector list", "keybroker connector list -r http-endpoint"],
    ),
    (
        "connector describe",
        "One connector; secrets stay hidden unless `--show-secrets` is given.",
        ["keybroker connector describe web-reports"],
    ),
    (
        "connector verify",
        "Check a connector again and list what it reaches, optionally narrowed.",
        [
            "keybroker connector verify web",
            "keybroker connector verify web -r http-endpoint",
            "keybroker connector verify web-pages --resource-id /metrics",
        ],
    ),
    (
        "connector list-resources",
        "What every connector reaches, all checked concurrently.",
        [
            "keybroker connector list-resources",
            "keybroker connector list-resources -r http-endpoint",
        ],
    ),
    (
        "connector update",
        "Change attributes, scope or labels; the connector is verified again first.",
        ["keybroker connector update web-reports -l team=finance -d 'Quarterly reports'"],
    ),
    (
        "connector login",
        "Configure the local tools that handle the connector's resources (here "
        "the example plugin's netrc writer, for `curl -n`); `--tool` picks some.",
        [
            "keybroker connector login web-reports",
            "keybroker connector login web -r http-server --tool netrc",
        ],
    ),
    (
        "connector delete",
        "Delete connectors; without `--yes` the command lists them and asks first.",
        ["keybroker connector delete web-pages --yes"],
    ),
    (
        "plugin list",
        "Installed plugins, their entry points, the hooks each implements and "
        "whether it loaded (`KEYBROKER_PLUGINS` and `KEYBROKER_DISABLE_PLUGINS` "
        "restrict what loads).",
        ["keybroker plugin list"],
    ),
    (
        "plugin new",
        "Start a plugin distribution for a new connector type (see "
        "[writing a plugin](../plugins/writing-a-plugin.md)).",
        ["keybroker plugin new acme-cloud"],
    ),
]


IDS: dict[str, str] = {}


def _stable(text: str, home: str, url: str) -> str:
    text = text.replace(home, "~").replace(url, "http://127.0.0.1:8080")
    text = text.replace(url.removeprefix("http://"), "127.0.0.1:8080")

    def replace(match: re.Match[str]) -> str:
        return IDS.setdefault(match.group(0), f"{len(IDS) + 1:08x}-0000-4000-8000-000000000000")

    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", replace, text)


def main() -> int:
    with tempfile.TemporaryDirectory() as home, _peer() as peer:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("KEYBROKER_", "AWS_"))},
            "HOME": home,
            "KEYBROKER_CONFIG_DIR": f"{home}/.config/keybroker",
            "NETRC": f"{home}/.netrc",
            "COLUMNS": "160",
        }
        values = {"$URL": peer.url, "$USER": USER, "$PASSWORD": PASSWORD}
        parts = [INTRO]
        for heading, explanation, commands in SECTIONS:
            parts.append(f"\n## {heading}\n\n{explanation}\n")
            for command in commands:
                argv = command
                for key, value in values.items():
                    argv = argv.replace(key, value)
                done = subprocess.run(
                    [sys.executable, "-m", "keybroker", *_split(argv)[1:]],
                    env=env,
                    cwd=home,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                shown = command.replace("$URL", "http://127.0.0.1:8080").replace("$USER", USER)
                shown = shown.replace("$PASSWORD", "********")
                output = _stable(done.stdout + done.stderr, home, peer.url).rstrip()
                exit_note = f"\n# exit code {done.returncode}" if done.returncode else ""
                parts.append(f"\n```console\n$ {shown}\n{output}{exit_note}\n```\n")
        PAGE.write_text("".join(parts))
    print(f"wrote {PAGE}")
    return 0


def _peer() -> AbstractContextManager[HttpPeer]:
    """The peer on port 8080 when it is free (so tables keep their width), else any port."""
    import socket

    with socket.socket() as probe:
        free = probe.connect_ex(("127.0.0.1", 8080)) != 0
    return http_peer(ROUTES, basic_auth=(USER, PASSWORD), port=8080 if free else 0)


def _split(command: str) -> list[str]:
    import shlex

    return shlex.split(command)


if __name__ == "__main__":
    sys.exit(main())
