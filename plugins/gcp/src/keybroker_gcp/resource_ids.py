"""GCP resource names as users write them, and their canonical forms (no SDK needed).

Every check here runs offline, before any credential is used: a malformed
name is refused with the accepted forms, never sent to Google.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from keybroker.plugin import UsageError

PROJECT_PATTERN = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*\.[a-z]{2,}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
REGION_PATTERN = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
ZONE_PATTERN = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
MULTI_REGION_PATTERN = re.compile(r"^[a-z]+$")
CLUSTER_NAME_PATTERN = re.compile(r"^[a-z](?:[a-z0-9-]{0,38}[a-z0-9])?$")
CLUSTER_PATH = re.compile(
    r"^(?:https://container\.googleapis\.com/v1(?:beta1)?/)?"
    r"projects/([^/]+)/(?:locations|zones)/([^/]+)/clusters/([^/]+)$"
)
CLUSTER_CONTEXT = re.compile(r"^gke_(.+)_([a-z]+-[a-z]+[0-9]+(?:-[a-z])?)_([^_]+)$")
BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")
REPOSITORY_PATTERN = re.compile(r"^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$")
GCR_HOSTS = {"gcr.io": "us", "us.gcr.io": "us", "eu.gcr.io": "europe", "asia.gcr.io": "asia"}
ARTIFACT_HOST = re.compile(r"^([a-z]+(?:-[a-z]+[0-9]+)?)-docker\.pkg\.dev$")


def check_project(project: str) -> str:
    """``project`` if it is a valid project id; ``UsageError`` otherwise."""
    if not PROJECT_PATTERN.match(project):
        raise UsageError(
            f"invalid GCP project id '{project}': use the project's id (not its name or "
            "number): 6 to 30 lowercase letters, digits and '-', starting with a letter"
        )
    return project


def _same_project(kind: str, resource_id: str, found: str, project: str | None) -> None:
    if project is not None and found != project:
        raise UsageError(
            f"{kind} '{resource_id}' belongs to project '{found}', but the connector works in "
            f"project '{project}'"
        )


# -- GCS buckets -------------------------------------------------------------------------


def _bucket_problem(name: str) -> str | None:
    """What is wrong with a bucket name by Google's naming rules, or None."""
    if not BUCKET_CHARS.match(name):
        return (
            "use lowercase letters, digits, '-', '_' and '.', starting and ending with a "
            "letter or digit"
        )
    components = name.split(".")
    if "." in name:
        if len(name) > 222 or any(not c or len(c) > 63 for c in components):
            return "a name with dots has at most 222 characters, at most 63 between dots"
    elif not 3 <= len(name) <= 63:
        return "use 3 to 63 characters"
    if len(name) < 3:
        return "use 3 to 63 characters"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "a bucket name cannot be an IP address"
    if name.startswith("goog") or "google" in name or "g00gle" in name:
        return "a bucket name cannot start with 'goog' or contain 'google'"
    return None


def canonical_bucket(resource_id: str) -> str:
    """``gs://name`` from ``gs://name`` or ``name``, checked against GCS naming rules."""
    text = resource_id.strip()
    name = text.removeprefix("gs://").rstrip("/")
    if "://" in name:
        raise UsageError(f"invalid GCS bucket '{resource_id}': use gs://BUCKET or BUCKET")
    if "/" in name:
        raise UsageError(
            f"invalid GCS bucket '{resource_id}': name the bucket (gs://BUCKET), not an object "
            "path in it"
        )
    problem = _bucket_problem(name)
    if problem:
        raise UsageError(f"invalid GCS bucket name '{name}': {problem}")
    return f"gs://{name}"


def bucket_name(canonical: str) -> str:
    """The bare name of a canonical ``gs://name``."""
    return canonical.removeprefix("gs://")


# -- GKE clusters ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClusterId:
    """A GKE cluster: its location (region or zone) and name."""

    location: str
    name: str

    def __str__(self) -> str:
        return f"{self.location}/{self.name}"


def is_location(location: str) -> bool:
    """Whether ``location`` looks like a GCP region or zone."""
    return bool(REGION_PATTERN.match(location) or ZONE_PATTERN.match(location))


def parse_cluster(resource_id: str, project: str | None) -> ClusterId:
    """A GKE cluster from ``LOCATION/NAME``, its resource name or a gcloud context name."""
    text = resource_id.strip()
    found_project = None
    match = CLUSTER_PATH.match(text) or CLUSTER_CONTEXT.match(text)
    if match:
        found_project, location, name = match.groups()
    elif text.count("/") == 1:
        location, name = text.split("/")
    elif "/" not in text and CLUSTER_NAME_PATTERN.match(text):
        raise UsageError(
            f"GKE cluster '{resource_id}' needs its location: use LOCATION/NAME, e.g. "
            f"us-central1/{text} ('keybroker connector verify CONNECTOR -r kubernetes-cluster' "
            "lists the clusters a connector reaches)"
        )
    else:
        raise UsageError(
            f"invalid GKE cluster '{resource_id}': use LOCATION/NAME (e.g. us-central1/prod), "
            "projects/PROJECT/locations/LOCATION/clusters/NAME or gke_PROJECT_LOCATION_NAME"
        )
    if not is_location(location):
        raise UsageError(
            f"invalid GKE cluster location '{location}': use a region such as us-central1 or a "
            "zone such as us-central1-a"
        )
    if not CLUSTER_NAME_PATTERN.match(name):
        raise UsageError(
            f"invalid GKE cluster name '{name}': 1 to 40 lowercase letters, digits and '-', "
            "starting with a letter"
        )
    if found_project is not None:
        _same_project("GKE cluster", resource_id, found_project, project)
    return ClusterId(location, name)


def canonical_cluster(resource_id: str, project: str | None) -> str:
    """``LOCATION/NAME`` of a GKE cluster."""
    return str(parse_cluster(resource_id, project))


# -- container registries ----------------------------------------------------------------


@dataclass(frozen=True)
class RegistryId:
    """A Container Registry host or an Artifact Registry location, optionally one repository."""

    host: str
    project: str
    repository: str | None = None

    @property
    def is_gcr(self) -> bool:
        """Whether this is a Container Registry (``gcr.io``) host."""
        return self.host in GCR_HOSTS

    @property
    def location(self) -> str:
        """The Artifact Registry location that serves it."""
        if self.is_gcr:
            return GCR_HOSTS[self.host]
        match = ARTIFACT_HOST.match(self.host)
        assert match is not None
        return match.group(1)

    def __str__(self) -> str:
        path = self.project.replace(":", "/")
        return f"{self.host}/{path}" + (f"/{self.repository}" if self.repository else "")


REGISTRY_FORMS = (
    "gcr.io/PROJECT (or us., eu., asia.gcr.io) or LOCATION-docker.pkg.dev/PROJECT[/REPOSITORY]"
)


def parse_registry(resource_id: str, project: str | None) -> RegistryId:
    """A registry from a Container Registry or Artifact Registry URI (an image path may follow)."""
    text = resource_id.strip()
    lowered = text.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            break
    text = text.split("@", 1)[0].rstrip("/")
    parts = text.split("/")
    host = parts[0].lower()
    rest = parts[1:]
    if host not in GCR_HOSTS and not ARTIFACT_HOST.match(host):
        raise UsageError(f"invalid GCP container registry '{resource_id}': use {REGISTRY_FORMS}")
    if not rest or not rest[0]:
        raise UsageError(
            f"GCP container registry '{resource_id}' needs its project: use {REGISTRY_FORMS}"
        )
    found = rest[0].split(":", 1)[0]
    consumed = 1
    if "." in found and len(rest) > 1:  # a domain-scoped project: example.com/my-project
        found = f"{found}:{rest[1].split(':', 1)[0]}"
        consumed = 2
    if not PROJECT_PATTERN.match(found):
        raise UsageError(
            f"invalid GCP container registry '{resource_id}': '{found}' is not a project id; "
            f"use {REGISTRY_FORMS}"
        )
    _same_project("container registry", resource_id, found, project)
    repository = None
    if host not in GCR_HOSTS and len(rest) > consumed:
        repository = rest[consumed].split(":", 1)[0]
        if not REPOSITORY_PATTERN.match(repository):
            raise UsageError(
                f"invalid Artifact Registry repository '{repository}' in '{resource_id}': "
                "lowercase letters, digits and '-', starting with a letter"
            )
    return RegistryId(host, found, repository)


def canonical_registry(resource_id: str, project: str | None) -> str:
    """``gcr.io/PROJECT`` or ``LOCATION-docker.pkg.dev/PROJECT[/REPOSITORY]``."""
    return str(parse_registry(resource_id, project))


def artifact_registry_id(location: str, project: str, repository: str | None) -> str:
    """The canonical id of an Artifact Registry location or repository."""
    return str(RegistryId(f"{location}-docker.pkg.dev", project, repository))
