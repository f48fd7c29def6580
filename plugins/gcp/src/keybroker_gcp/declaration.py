"""The light module the entry point names: the ``gcp`` connector type, no Google SDK."""

from __future__ import annotations

from keybroker.plugin import AuthMethod, ConnectorType, ResourceIdFormat, ResourceType, hookimpl
from keybroker_gcp.configs import (
    ImpersonationConfig,
    ImplicitConfig,
    OAuth2TokenConfig,
    ServiceAccountConfig,
    UserAccountConfig,
)

HOUR = 3600

#: the keybroker.plugin API version this plugin is written against
REQUIRES_PLUGIN_API = 1

GENERIC = "gcp-generic"
GCS = "gcs-bucket"
GKE = "kubernetes-cluster"
REGISTRY = "docker-registry"

DOC_IMPLICIT = """\
Uses the application default credentials google-auth finds where keybroker
runs: GOOGLE_APPLICATION_CREDENTIALS, the gcloud application-default file,
or the metadata server of a GCE VM, GKE pod or Cloud Run service. Nothing
secret is stored in the connector; clients get one-hour access tokens.
Because it hands out the credentials of the process that runs it, a team
server refuses this method unless its administrator allows it."""

DOC_USER_ACCOUNT = """\
A user's authorized-user credentials (client id, client secret and refresh
token), as 'gcloud auth application-default login' writes them. The refresh
token stays in the connector; clients get one-hour access tokens minted from
it, down-scoped to one bucket for a GCS bucket. Meant for development: the
tokens carry everything the user may do."""

DOC_SERVICE_ACCOUNT = """\
A service account key file (JSON). keybroker signs an OAuth2 JWT assertion
(RFC 7523) with the key and sends it to the key file's token_uri; clients
get the resulting one-hour access tokens, never the key. Tokens for one GCS
bucket are down-scoped to that bucket with a Credential Access Boundary.
project_id defaults to the key file's project."""

DOC_GIVEN_ACCESS = """\
An access token obtained elsewhere (e.g. 'gcloud auth print-access-token'),
with its expiry. It is handed out as it is (down-scoped to one bucket for a
GCS bucket) and stops working when it expires: EXPIRES IN shows how long is
left, and keybroker refuses the connector afterwards until it is updated
with a fresh token ('keybroker connector update NAME token=... expires_at=...')."""

DOC_IMPERSONATION = """\
A source service account key mints short-lived access tokens for a target
service account through the IAM Credentials API (generateAccessToken),
optionally through a chain of delegates. The source needs
roles/iam.serviceAccountTokenCreator on the target (or on the first
delegate, each delegate on the next). Clients get only the target's tokens,
down-scoped to one bucket for a GCS bucket. Tokens live 1 hour by default;
up to 12 hours where the organization policy
iam.allowServiceAccountCredentialLifetimeExtension allows it. project_id
defaults to the key file's project."""

CONNECTOR_TYPE = ConnectorType(
    connector_type="gcp",
    name="GCP connector",
    emoji="🔵",
    description=(
        "Reaches Google Cloud resources of one project: any service through google-auth "
        "credentials, GCS buckets, GKE clusters and Artifact Registry / Container Registry. "
        "Clients get short-lived access tokens (down-scoped to one bucket for GCS), never a "
        "key or a refresh token. GKE clusters and registries are handed to kubectl, docker "
        "and Python code as kubernetes and docker connector clients. STORAGE_EMULATOR_HOST, "
        "the key file's token_uri and api_endpoint point it at emulators or test servers."
    ),
    auth_methods=[
        AuthMethod(
            auth_method="implicit",
            name="GCP implicit credentials",
            description=DOC_IMPLICIT,
            config_schema=ImplicitConfig,
            server_opt_in=True,
        ),
        AuthMethod(
            auth_method="user-account",
            name="GCP user account",
            description=DOC_USER_ACCOUNT,
            config_schema=UserAccountConfig,
        ),
        AuthMethod(
            auth_method="service-account",
            name="GCP service account",
            description=DOC_SERVICE_ACCOUNT,
            config_schema=ServiceAccountConfig,
        ),
        AuthMethod(
            auth_method="oauth2-token",
            name="GCP OAuth2 access token",
            description=DOC_GIVEN_ACCESS,
            config_schema=OAuth2TokenConfig,
        ),
        AuthMethod(
            auth_method="impersonation",
            name="GCP service account impersonation",
            description=DOC_IMPERSONATION,
            config_schema=ImpersonationConfig,
            issues_temporary_credentials=True,
            default_expiration_seconds=HOUR,
            min_expiration_seconds=5 * 60,
            max_expiration_seconds=12 * HOUR,
        ),
    ],
    resource_types=[
        ResourceType(
            resource_type=GENERIC,
            name="GCP services (generic)",
            emoji="🔵",
            description=(
                "Any Google Cloud service: Python code gets google-auth credentials that renew "
                "themselves through keybroker (their project_id attribute names the project). "
                "The resource name is the project id. Verification reads the project from "
                "Cloud Resource Manager: resourcemanager.projects.get (e.g. roles/browser)."
            ),
        ),
        ResourceType(
            resource_type=GCS,
            name="GCP GCS bucket",
            emoji="📦",
            supports_instances=True,
            description=(
                "GCS buckets; Python code gets a google.cloud.storage Client. IAM permissions: "
                "storage.buckets.list in the project to list buckets, storage.buckets.get and "
                "storage.objects.list/get/create/delete on a bucket (roles/storage.admin, or "
                "roles/storage.objectAdmin with roles/storage.legacyBucketReader). Tokens for "
                "one bucket carry a Credential Access Boundary allowing only that bucket "
                "(roles/storage.objectAdmin and roles/storage.legacyBucketReader on it)."
            ),
            resource_id_formats=[
                ResourceIdFormat(
                    label="GCS URI",
                    pattern="gs://{bucket}",
                    canonical=True,
                    example="gs://reports",
                ),
                ResourceIdFormat(
                    label="bucket name",
                    pattern="{bucket}",
                    example="reports",
                ),
            ],
        ),
        ResourceType(
            resource_type=GKE,
            name="GCP GKE Kubernetes cluster",
            emoji="🌀",
            supports_instances=True,
            description=(
                "GKE clusters of the project, handed out as short-lived kubernetes connector "
                "clients (an access token with the cluster's endpoint and CA). IAM "
                "permissions: container.clusters.list and container.clusters.get "
                "(roles/container.clusterViewer), plus what the identity may do inside the "
                "cluster (e.g. roles/container.developer or Kubernetes RBAC). Access tokens "
                "cannot be narrowed to one cluster."
            ),
            resource_id_formats=[
                ResourceIdFormat(
                    label="location and name",
                    pattern="{location}/{cluster}",
                    canonical=True,
                    example="us-central1/prod",
                ),
                ResourceIdFormat(
                    label="GKE resource name",
                    pattern="projects/{project}/locations/{location}/clusters/{cluster}",
                    example="projects/my-project/locations/us-central1/clusters/prod",
                ),
                ResourceIdFormat(
                    label="gcloud kubeconfig context",
                    pattern="gke_{project}_{location}_{cluster}",
                    example="gke_my-project_us-central1_prod",
                ),
            ],
        ),
        ResourceType(
            resource_type=REGISTRY,
            name="GCP container registry",
            emoji="🐳",
            supports_instances=True,
            description=(
                "Artifact Registry docker repositories and Container Registry hosts (served "
                "by Artifact Registry gcr.io repositories) of the project, handed out as "
                "short-lived docker connector clients (user oauth2accesstoken, an access "
                "token as password). IAM permissions: artifactregistry.locations.list and "
                "artifactregistry.repositories.list/get to list and check; "
                "roles/artifactregistry.reader to pull, roles/artifactregistry.writer to push."
            ),
            resource_id_formats=[
                ResourceIdFormat(
                    label="Artifact Registry",
                    pattern="{location}-docker.pkg.dev/{project}[/{repository}]",
                    canonical=True,
                    example="us-central1-docker.pkg.dev/my-project/images",
                ),
                ResourceIdFormat(
                    label="Container Registry",
                    pattern="[us.|eu.|asia.]gcr.io/{project}",
                    example="gcr.io/my-project",
                ),
                ResourceIdFormat(
                    label="image reference",
                    pattern="{registry}/{image}[:{tag}]",
                    example="us-central1-docker.pkg.dev/my-project/images/app:1.0",
                ),
            ],
        ),
    ],
    supports_auto_configuration=True,
    implementation="keybroker_gcp.implementation",
    requires_modules=["google.auth", "google.cloud.storage", "requests"],
    install_hint="pip install 'keybroker[gcp]'",
)


@hookimpl
def declare_connector_type() -> ConnectorType:
    """Declare the ``gcp`` connector type."""
    return CONNECTOR_TYPE
