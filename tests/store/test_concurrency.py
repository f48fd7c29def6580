"""Several real processes on one store at once: first use, and updates of one connector.

Each worker is a separate Python process started at the same instant (they
wait for a shared start time), so they race the way parallel CI jobs or
two people on a team server would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keybroker.connector import Connector
from keybroker.settings import Settings
from keybroker.store.sql import SQLConnectorStore
from peers.databases import server_database

WORKERS = 5

FIRST_USE = textwrap.dedent(
    """
    import sys, time
    from pydantic import SecretStr
    from keybroker.connector import Connector
    from keybroker.settings import Settings
    from keybroker.store.sql import SQLConnectorStore

    start, name = float(sys.argv[1]), sys.argv[2]
    time.sleep(max(0.0, start - time.time()))
    store = SQLConnectorStore.from_settings(Settings.from_env())
    store.create(Connector(name=name, connector_type="httpbasic", auth_method="password",
                           secrets={"password": SecretStr("pw-" + name)}))
    print("created", name)
    """
)

UPDATES = textwrap.dedent(
    """
    import json, sys, time
    from pydantic import SecretStr
    from keybroker.errors import ConflictError
    from keybroker.settings import Settings
    from keybroker.store.sql import SQLConnectorStore

    start, worker, rounds = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    store = SQLConnectorStore.from_settings(Settings.from_env())
    time.sleep(max(0.0, start - time.time()))
    done, conflicts = [], 0
    for i in range(rounds):
        connector = store.get("shared", with_secrets=True)
        password = f"{worker}-{i}"
        connector.secrets = {"password": SecretStr(password)}
        time.sleep(0.01)  # as long as a quick verification: others read meanwhile
        try:
            store.update(connector)
            done.append(password)
        except ConflictError:
            conflicts += 1
    print(json.dumps({"done": done, "conflicts": conflicts}))
    """
)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment of a fresh store (the config dir does not exist yet) on each backend."""
    env = {**os.environ, "KEYBROKER_CONFIG_DIR": str(tmp_path / "fresh" / "config")}
    if request.param == "sqlite":
        yield env
        return
    with server_database(request.param) as url:
        yield {**env, "KEYBROKER_STORE_URL": url}


def _start_together(script: str, args: list[list[str]], env: dict[str, str]) -> list[str]:
    """Run one process per argument list, all released at the same moment; their outputs."""
    start = time.time() + 1.5  # enough for every interpreter to have started
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(start), *extra],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for extra in args
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outputs.append(out)
    return outputs


def test_parallel_first_use_of_a_fresh_store(store_env: dict[str, str]) -> None:
    names = [f"c{i}" for i in range(WORKERS)]
    _start_together(FIRST_USE, [[n] for n in names], store_env)
    settings = Settings(
        config_dir=Path(store_env["KEYBROKER_CONFIG_DIR"]),
        store_url=store_env.get("KEYBROKER_STORE_URL"),
    )
    # one key file, and every process sealed with the key in it
    assert [p.name for p in settings.config_dir.iterdir() if p.name.endswith(".tmp")] == []
    store = SQLConnectorStore.from_settings(settings)
    for name in names:
        assert store.get(name, with_secrets=True).secret_values() == [f"pw-{name}"]
    store.close()


def test_parallel_updates_never_lose_a_write(store_env: dict[str, str]) -> None:
    settings = Settings(
        config_dir=Path(store_env["KEYBROKER_CONFIG_DIR"]),
        store_url=store_env.get("KEYBROKER_STORE_URL"),
    )
    store = SQLConnectorStore.from_settings(settings)
    store.create(Connector(name="shared", connector_type="httpbasic", auth_method="password"))
    outputs = _start_together(UPDATES, [[f"w{i}", "15"] for i in range(3)], store_env)
    results = [json.loads(out) for out in outputs]
    done = [password for r in results for password in r["done"]]
    conflicts = sum(r["conflicts"] for r in results)
    assert conflicts > 0, "the workers never overlapped: the test proves nothing"
    final = store.get("shared", with_secrets=True)
    # every update reported as done is one version: none was overwritten unseen
    assert final.version == 1 + len(done)
    assert final.secret_values()[0] in done
    store.close()
