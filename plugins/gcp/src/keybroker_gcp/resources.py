"""What the credentials reach, per resource type: listing and single-resource checks.

Resource Manager, GKE and Artifact Registry are called over their REST APIs
with the connector's access token; GCS through ``google.cloud.storage``.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from keybroker.plugin import AuthorizationError, ConnectionFailure, OperationError
from keybroker_gcp.configs import GCPConfig
from keybroker_gcp.declaration import GCS, GENERIC, GKE, REGISTRY
from keybroker_gcp.resource_ids import (
    GCR_HOSTS,
    ClusterId,
    RegistryId,
    artifact_registry_id,
    bucket_name,
    parse_cluster,
    parse_registry,
)
from keybroker_gcp.rest import GoogleApi, NotFound
from keybroker_gcp.tokens import AccessToken

#: Artifact Registry locations listed at once
LOCATION_WORKERS = 8


def check_project(token: AccessToken, config: GCPConfig) -> None:
    """Cloud Resource Manager projects.get: the project exists and is active."""
    project = config.project()
    api = GoogleApi(token.token, config.api_endpoint)
    try:
        answer = api.get("cloudresourcemanager", f"/v1/projects/{project}", f"project {project}")
    except NotFound:
        raise OperationError(f"GCP project '{project}' does not exist") from None
    state = answer.get("lifecycleState", "ACTIVE")
    if state != "ACTIVE":
        raise OperationError(f"GCP project '{project}' is not active ({state})")


# -- GCS ----------------------------------------------------------------------------------


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Report google-cloud-storage failures of ``action`` as one line."""
    import requests
    from google.api_core import exceptions as api

    from keybroker_gcp.errors import google_auth_errors

    with google_auth_errors(action):
        try:
            yield
        except (api.Unauthorized, api.Forbidden) as exc:
            raise AuthorizationError(
                f"{action}: permission denied (HTTP {exc.code}: {_first_line(exc.message)})"
            ) from None
        except api.GoogleAPICallError as exc:
            raise OperationError(
                f"{action}: HTTP {exc.code} ({_first_line(exc.message)})"
            ) from None
        except requests.RequestException as exc:
            raise ConnectionFailure(f"{action}: cannot reach GCS ({type(exc).__name__})") from None


def _first_line(text: object) -> str:
    line = str(text or "").strip().splitlines()
    return line[0][:200] if line else "no reason given"


def storage_client(token: AccessToken, project: str) -> Any:
    """A ``google.cloud.storage.Client`` sending ``token`` (honours STORAGE_EMULATOR_HOST)."""
    from google.oauth2.credentials import Credentials

    from keybroker_gcp.python_clients import new_storage_client

    return new_storage_client(Credentials(token=token.token), project)


def list_buckets(token: AccessToken, config: GCPConfig) -> list[str]:
    """Every bucket of the project the credentials may list, as ``gs://name``."""
    project = config.project()
    client = storage_client(token, project)
    with storage_errors(f"listing the GCS buckets of project {project}"):
        names = [b.name for b in client.list_buckets(project=project, timeout=30, retry=None)]
    return sorted(f"gs://{name}" for name in names)


def check_bucket(token: AccessToken, config: GCPConfig, resource_id: str) -> None:
    """Prove access to one bucket (buckets.get)."""
    from google.api_core.exceptions import NotFound as BucketNotFound

    name = bucket_name(resource_id)
    client = storage_client(token, config.project())
    with storage_errors(f"GCS bucket {name}"):
        try:
            client.get_bucket(name, timeout=30, retry=None)
        except BucketNotFound:
            raise OperationError(f"GCS bucket '{name}' does not exist") from None


# -- GKE ----------------------------------------------------------------------------------


def list_clusters(token: AccessToken, config: GCPConfig) -> list[str]:
    """``LOCATION/NAME`` of every GKE cluster of the project."""
    project = config.project()
    api = GoogleApi(token.token, config.api_endpoint)
    answer = api.get(
        "container",
        f"/v1/projects/{project}/locations/-/clusters",
        f"listing the GKE clusters of project {project}",
    )
    ids = []
    for cluster in answer.get("clusters") or []:
        location, name = cluster.get("location") or cluster.get("zone"), cluster.get("name")
        if isinstance(location, str) and isinstance(name, str):
            ids.append(f"{location}/{name}")
    return sorted(ids)


def describe_cluster(token: AccessToken, config: GCPConfig, cluster: ClusterId) -> dict[str, Any]:
    """GKE clusters.get of one cluster."""
    project = config.project()
    api = GoogleApi(token.token, config.api_endpoint)
    try:
        answer: dict[str, Any] = api.get(
            "container",
            f"/v1/projects/{project}/locations/{cluster.location}/clusters/{cluster.name}",
            f"GKE cluster {cluster}",
        )
    except NotFound:
        raise OperationError(
            f"GKE cluster '{cluster.name}' does not exist in {cluster.location} of project "
            f"{project}"
        ) from None
    return answer


# -- Artifact Registry ------------------------------------------------------------------------


def _repositories_in(token: str, config: GCPConfig, location: str) -> list[dict[str, Any]]:
    project = config.project()
    api = GoogleApi(token, config.api_endpoint)
    found = api.pages(
        "artifactregistry",
        f"/v1/projects/{project}/locations/{location}/repositories",
        f"listing the Artifact Registry repositories of {project} in {location}",
        "repositories",
    )
    return [r for r in found if r.get("format") == "DOCKER"]


def docker_repositories(
    token: AccessToken, config: GCPConfig, location: str | None = None
) -> list[dict[str, Any]]:
    """The docker repositories of the project (in one location, or in all of them)."""
    if location is not None:
        return _repositories_in(token.token, config, location)
    project = config.project()
    api = GoogleApi(token.token, config.api_endpoint)
    locations = [
        str(entry.get("locationId") or str(entry.get("name", "")).rsplit("/", 1)[-1])
        for entry in api.pages(
            "artifactregistry",
            f"/v1/projects/{project}/locations",
            f"listing the Artifact Registry locations of {project}",
            "locations",
        )
    ]
    locations = sorted({loc for loc in locations if loc})
    if not locations:
        return []
    with ThreadPoolExecutor(max_workers=min(LOCATION_WORKERS, len(locations))) as pool:
        results = pool.map(lambda loc: _repositories_in(token.token, config, loc), locations)
        return [repository for found in results for repository in found]


def registry_id(repository: dict[str, Any]) -> str | None:
    """The canonical id of a docker repository: ``gcr.io/P`` or ``LOC-docker.pkg.dev/P/R``."""
    parts = str(repository.get("name", "")).split("/")
    if len(parts) != 6 or parts[0] != "projects" or parts[2] != "locations":
        return None
    project, location, repo = parts[1], parts[3], parts[5]
    if repo in GCR_HOSTS:
        return str(RegistryId(repo, project))
    return artifact_registry_id(location, project, repo)


def list_registries(token: AccessToken, config: GCPConfig) -> list[str]:
    """Every docker repository (and gcr.io host) of the project, canonical ids."""
    ids = {registry_id(r) for r in docker_repositories(token, config)}
    return sorted(i for i in ids if i)


def registry_repositories(
    token: AccessToken, config: GCPConfig, registry: RegistryId
) -> list[dict[str, Any]]:
    """Prove access to one registry; the docker repositories that serve it."""
    project = config.project()
    api = GoogleApi(token.token, config.api_endpoint)
    name = registry.host if registry.is_gcr else registry.repository
    if name is None:  # a whole Artifact Registry location
        return docker_repositories(token, config, registry.location)
    try:
        repository: dict[str, Any] = api.get(
            "artifactregistry",
            f"/v1/projects/{project}/locations/{registry.location}/repositories/{name}",
            f"container registry {registry}",
        )
    except NotFound:
        if registry.is_gcr:
            raise OperationError(
                f"container registry '{registry}' does not exist: project {project} has no "
                f"'{registry.host}' repository in Artifact Registry ({registry.location})"
            ) from None
        raise OperationError(f"Artifact Registry repository '{registry}' does not exist") from None
    if repository.get("format") != "DOCKER":
        raise OperationError(
            f"Artifact Registry repository '{registry}' holds {repository.get('format')} "
            "packages, not docker images"
        )
    return [repository]


# -- dispatch ---------------------------------------------------------------------------------


def reachable(
    token: AccessToken, config: GCPConfig, resource_type: str, resource_id: str | None
) -> list[str]:
    """Canonical ids of ``resource_type`` reached (all of them, or the one given)."""
    project = config.project()
    if resource_type == GENERIC:
        check_project(token, config)
        return [project]
    if resource_type == GCS:
        if resource_id is None:
            return list_buckets(token, config)
        check_bucket(token, config, resource_id)
        return [resource_id]
    if resource_type == GKE:
        if resource_id is None:
            return list_clusters(token, config)
        describe_cluster(token, config, parse_cluster(resource_id, project))
        return [resource_id]
    if resource_type == REGISTRY:
        if resource_id is None:
            return list_registries(token, config)
        registry_repositories(token, config, parse_registry(resource_id, project))
        return [resource_id]
    raise OperationError(f"unknown GCP resource type '{resource_type}'")
