"""The pytest plugin keybroker installs (entry point ``pytest11``): fixtures for plugin authors.

Every fixture is named ``keybroker_*`` and none is autouse, so projects that
merely have keybroker installed see no change. Heavy modules are imported
inside the fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from keybroker.testing.isolation import isolate

if TYPE_CHECKING:
    from keybroker.registry import PluginRegistry
    from keybroker.service import ConnectorService
    from keybroker.testing.cli import CliRunner
    from keybroker.testing.http_peer import HttpPeer


@pytest.fixture
def keybroker_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home directory holding keybroker's store and every tool's configuration.

    ``HOME``, ``KEYBROKER_CONFIG_DIR``, ``KUBECONFIG``, ``DOCKER_CONFIG``,
    ``NETRC`` and the cloud CLIs' files point into it; ambient cloud
    credentials are removed from the environment.
    """
    return isolate(tmp_path / "home", monkeypatch)


@pytest.fixture
def keybroker_registry(keybroker_home: Path) -> PluginRegistry:
    """A plugin registry with nothing loaded yet (it sees the installed plugins)."""
    from keybroker.registry import PluginRegistry
    from keybroker.testing.install import forget_entry_points

    forget_entry_points()
    return PluginRegistry()


@pytest.fixture
def keybroker_service(
    keybroker_home: Path, keybroker_registry: PluginRegistry
) -> Iterator[ConnectorService]:
    """The connector service on the embedded store of the isolated home."""
    from keybroker.service import ConnectorService

    service = ConnectorService(registry=keybroker_registry)
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def keybroker_cli(keybroker_home: Path) -> CliRunner:
    """Runs ``keybroker`` commands (in-process or as a subprocess) in the isolated home."""
    from keybroker.testing.cli import CliRunner
    from keybroker.testing.install import forget_entry_points

    forget_entry_points()
    return CliRunner()


@pytest.fixture
def keybroker_http_peer() -> Iterator[Callable[..., HttpPeer]]:
    """Start tiny HTTP peers: ``keybroker_http_peer(routes, bearer_token=...)``.

    See ``keybroker.testing.http_peer.http_peer``; every peer stops when
    the test ends.
    """
    from keybroker.testing.http_peer import http_peer

    with ExitStack() as stack:

        def start(routes: dict[str, Any], **auth: Any) -> HttpPeer:
            return stack.enter_context(http_peer(routes, **auth))

        yield start


@pytest.fixture
def keybroker_install_plugin(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Install plugins as real distributions (dist-info with entry points) for this test.

    ``keybroker_install_plugin(dist_name, modules, entry_points)`` writes the
    modules (dotted name -> source) and puts them on ``sys.path``; the returned
    directory can also go on a subprocess's ``PYTHONPATH``. Removed afterwards.
    """
    from keybroker.testing.install import plugin_on_path, write_plugin

    target = tmp_path / "site-packages"
    with ExitStack() as stack:
        on_path = False

        def install(
            dist_name: str,
            modules: dict[str, str],
            entry_points: dict[str, dict[str, str]],
            version: str = "0.0.1",
        ) -> Path:
            nonlocal on_path
            write_plugin(target, dist_name, modules, entry_points, version)
            if not on_path:
                stack.enter_context(plugin_on_path(target))
                on_path = True
            else:
                from keybroker.testing.install import forget_entry_points

                forget_entry_points()
            return target

        yield install
