"""boto3 and botocore for the AWS plugin: loaded once, shared, and sealed off from the machine.

**Isolation.** A connector with explicit credentials (every auth method but
``implicit``) runs in a botocore session that reads nothing ambient: no
``AWS_*`` environment variables, no shared config or credentials file, no
profile, no ``credential_process``, no configured endpoint URLs
(``AWS_ENDPOINT_URL*``), no client-side monitoring. Its region and endpoint
are the connector's own, so it behaves the same on a laptop and on a team
server, and a missing key fails instead of falling back to whatever
credentials the machine has. Only ``AWS_CA_BUNDLE`` is kept: whom to trust,
not who we are. Proxies follow :mod:`keybroker.proxies`. ``implicit``
connectors use an ordinary session: finding the machine's credentials is
their point.

**Speed.** Building a session, its endpoint data and service models costs far
more CPU than an API call. One data loader serves every session, one isolated
session creates every internal client, and client creation is serialized
behind one lock, so that a fan-out over many connectors (list-resources)
builds each service model once on one thread instead of in every thread at
once under the GIL.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from keybroker.plugin import proxy_for

#: held while botocore builds sessions, models and clients (botocore sessions are not
#: thread-safe, and its loader caches without a lock)
_lock = threading.RLock()
_loader: Any = None
_shared_core: Any = None
_regions: frozenset[str] | None = None

CONNECT_TIMEOUT_SECONDS = 10
READ_TIMEOUT_SECONDS = 30


def data_loader() -> Any:
    """The one botocore data loader: service models and endpoint data are parsed once.

    It searches botocore's own data only (``AWS_DATA_PATH`` is not honoured).
    """
    global _loader
    with _lock:
        if _loader is None:
            from botocore.loaders import create_loader

            _loader = create_loader()
        return _loader


def isolated_core() -> Any:
    """A new botocore session that takes no configuration from the machine.

    Each setting is what the program sets on the session (boto3 sets the
    region, for instance), else botocore's default: environment variables and
    config files are never consulted.
    """
    import botocore.session
    from botocore.configprovider import (
        BOTOCORE_DEFAUT_SESSION_VARIABLES,
        ChainProvider,
        ConfigValueStore,
        ConstantProvider,
        InstanceVarProvider,
    )
    from botocore.credentials import CredentialResolver
    from botocore.tokens import TokenProviderChain

    defaults: dict[str, Any] = {
        name: spec[2] for name, spec in BOTOCORE_DEFAUT_SESSION_VARIABLES.items()
    }
    defaults.update(
        profile=None,
        config_file=os.devnull,
        credentials_file=os.devnull,
        ignore_configured_endpoint_urls=True,
        csm_enabled=False,
        ca_bundle=os.environ.get("AWS_CA_BUNDLE") or None,
        s3=None,
        proxies_config=None,
    )
    with _lock:
        core = botocore.session.Session()
        providers = {
            name: ChainProvider(
                providers=[InstanceVarProvider(name, core), ConstantProvider(value)]
            )
            for name, value in defaults.items()
        }
        core.register_component("config_store", ConfigValueStore(mapping=providers))
        core.register_component("data_loader", data_loader())
        # fail closed: without explicit keys there are no credentials, never ambient ones
        core.register_component("credential_provider", CredentialResolver(providers=[]))
        core.register_component("token_provider", TokenProviderChain(providers=[]))
    return core


def ambient_core(profile_name: str | None) -> Any:
    """A botocore session configured the usual way (environment, files, ``profile_name``)."""
    import botocore.session

    with _lock:
        core = botocore.session.Session(profile=profile_name)
        core.register_component("data_loader", data_loader())
    return core


def shared_isolated_core() -> Any:
    """The isolated session every internal client with explicit credentials comes from."""
    global _shared_core
    with _lock:
        if _shared_core is None:
            _shared_core = isolated_core()
        return _shared_core


def client_config(endpoint_url: str | None) -> Any:
    """Retries, timeouts and the proxy route of a client."""
    from botocore.config import Config

    proxies: dict[str, str] | None = None  # AWS itself: botocore's HTTPS_PROXY/NO_PROXY
    if endpoint_url:
        proxy = proxy_for(endpoint_url)
        proxies = {"https": proxy} if proxy else {}
    return Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        proxies=proxies,
    )


def create_client(
    core: Any, service: str, region: str, endpoint_url: str | None, **keys: Any
) -> Any:
    """A client of ``service`` from ``core`` (a botocore session), built under the SDK lock."""
    with _lock:
        return core.create_client(
            service,
            region_name=region,
            endpoint_url=endpoint_url,
            config=client_config(endpoint_url),
            **keys,
        )


def boto3_session(core: Any, **arguments: Any) -> Any:
    """A boto3 session around ``core`` (credentials and region as boto3.Session takes them)."""
    import boto3

    with _lock:
        return boto3.Session(botocore_session=core, **arguments)


def follow_proxy_rule(session: Any, endpoint_url: str | None) -> Any:
    """Make the clients of a boto3 session handed to Python code route as keybroker's own do.

    Without it, botocore would send a plain-http ``endpoint_url``'s requests,
    session token included, through ``HTTP_PROXY``.
    """
    if endpoint_url:
        from botocore.config import Config

        proxy = proxy_for(endpoint_url)
        session._session.set_default_client_config(
            Config(proxies={"https": proxy} if proxy else {})
        )
    return session


def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows, from its bundled partition data."""
    global _regions
    with _lock:
        if _regions is None:
            data = data_loader().load_data("partitions")
            _regions = frozenset(
                region
                for partition in data.get("partitions", [])
                for region in partition.get("regions", {})
            )
        return _regions
