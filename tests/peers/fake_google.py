"""A local stand-in for the Google REST APIs the gcp connector calls (no emulator exists).

It answers the documented endpoints on 127.0.0.1 over plain http:

- ``POST /token`` (OAuth2): the RFC 7523 JWT-bearer grant, whose assertion is
  really verified against the service account's public key (a wrong key gets
  ``invalid_grant``, as from Google), and the refresh-token grant of user accounts;
- ``/tokeninfo``: what a live access token is;
- ``POST /v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`` (IAM
  Credentials): checks the caller's token and every link of the delegation chain;
- ``POST /v1/token`` (STS): token exchange with a Credential Access Boundary;
- ``GET /v1/projects/P/locations/-/clusters`` and ``.../clusters/NAME`` (GKE);
- ``GET /v1/projects/P/locations[/L/repositories[/R]]`` (Artifact Registry);
- ``GET /v1/projects/P`` (Resource Manager);
- ``GET /v2/token``: the bearer-token realm of a docker registry, taking
  ``oauth2accesstoken`` and a live access token, as Google's registries do.

google-auth reaches it through a key file's ``token_uri``; the plugin through
its ``api_endpoint`` attribute.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from peers.google_jwt import (
    check_rs256,
    private_pem,
    rsa_key,
    self_signed_identity,
    sign_registry_token,
    unverified_claims,
)
from peers.http_peer import send_json

GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
PROJECT = "test-project"
REGISTRY_ISSUER = "fake-google-registry"
REGISTRY_USERNAME = "oauth2accesstoken"
LOCATIONS = ["europe-west1", "us", "us-central1"]


@dataclass
class ServiceAccount:
    """A service account the fake knows; ``key`` is set when it has a key file."""

    email: str
    key_id: str | None = None
    key: Any = field(default=None, repr=False)


@dataclass
class Issued:
    """An access token the fake issued."""

    principal: str
    expires_at: float
    scope: str
    boundary: dict[str, Any] | None = None


@dataclass
class FakeGoogle:
    """The fake's state: identities, permissions, resources and what was asked of it."""

    url: str = ""
    project: str = PROJECT
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)
    users: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    tokens: dict[str, Issued] = field(default_factory=dict)
    token_creators: dict[str, set[str]] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    repositories: list[dict[str, Any]] = field(default_factory=list)
    token_lifetime: int = 3600
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    impersonations: list[list[str]] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)
    basic_auth_paths: list[str] = field(default_factory=list)
    on_issue: list[Callable[[str], None]] = field(default_factory=list)
    registry_service: str = "keybroker-test-registry"
    registry_key: Any = field(default=None, repr=False)
    registry_cert_der: bytes = b""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reset(self) -> None:
        """Forget every identity, token, permission, resource and record (keeps the server)."""
        with self.lock:
            for collection in (
                self.service_accounts,
                self.users,
                self.tokens,
                self.token_creators,
                self.members,
                self.clusters,
                self.repositories,
                self.exchanges,
                self.impersonations,
                self.grants,
                self.basic_auth_paths,
                self.on_issue,
            ):
                collection.clear()
            self.token_lifetime = 3600

    # -- identities -------------------------------------------------------------------

    def add_service_account(self, name: str, *, with_key: bool = True) -> dict[str, Any] | None:
        """Create ``name@PROJECT.iam.gserviceaccount.com``; its key file when ``with_key``."""
        email = f"{name}@{self.project}.iam.gserviceaccount.com"
        account = ServiceAccount(email)
        self.service_accounts[email] = account
        if not with_key:
            return None
        account.key = rsa_key()
        account.key_id = secrets.token_hex(20)
        return {
            "type": "service_account",
            "project_id": self.project,
            "private_key_id": account.key_id,
            "private_key": private_pem(account.key),
            "client_email": email,
            "client_id": str(100000000000000000000 + len(self.service_accounts)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": f"{self.url}/token",
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + email.replace("@", "%40"),
        }

    def add_user(self, email: str) -> dict[str, Any]:
        """An authorized-user credentials file for ``email`` (as gcloud writes it)."""
        client_id = f"{secrets.token_hex(8)}.apps.googleusercontent.com"
        client_secret = secrets.token_urlsafe(18)
        refresh_token = "1//" + secrets.token_urlsafe(40)
        self.users[refresh_token] = (client_id, client_secret, email)
        return {
            "type": "authorized_user",
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
            "token_uri": f"{self.url}/token",
            "quota_project_id": self.project,
        }

    def allow_token_creation(self, caller: str, target: str) -> None:
        """Grant ``caller`` roles/iam.serviceAccountTokenCreator on ``target``."""
        self.token_creators.setdefault(target, set()).add(caller)

    def issue(
        self, principal: str, lifetime: int | None = None, boundary: dict[str, Any] | None = None
    ) -> str:
        """A new live access token for ``principal``."""
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        expires = time.time() + (lifetime or self.token_lifetime)
        with self.lock:
            self.tokens[token] = Issued(principal, expires, "cloud-platform", boundary)
        for listener in self.on_issue:
            listener(token)
        return token

    def live(self, token: str | None) -> Issued | None:
        """The issued token if it is known and not expired."""
        issued = self.tokens.get(token or "")
        return issued if issued is not None and issued.expires_at > time.time() else None

    def revoke_all(self) -> None:
        """Make every issued token invalid (as if they had all expired)."""
        with self.lock:
            self.tokens.clear()

    # -- resources --------------------------------------------------------------------

    def add_cluster(self, location: str, name: str, endpoint: str, ca_pem: str) -> None:
        """A GKE cluster whose API server is at ``endpoint`` (host:port, as GKE reports)."""
        self.clusters.append(
            {
                "name": name,
                "location": location,
                "zone": location,
                "endpoint": endpoint,
                "status": "RUNNING",
                "masterAuth": {"clusterCaCertificate": base64.b64encode(ca_pem.encode()).decode()},
                "selfLink": f"https://container.googleapis.com/v1/projects/{self.project}/"
                f"locations/{location}/clusters/{name}",
            }
        )

    def add_repository(
        self, location: str, repository: str, registry_uri: str, fmt: str = "DOCKER"
    ) -> None:
        """An Artifact Registry repository whose images live at ``registry_uri``."""
        self.repositories.append(
            {
                "name": f"projects/{self.project}/locations/{location}/repositories/{repository}",
                "format": fmt,
                "registryUri": registry_uri,
            }
        )

    def registry_certificate_pem(self) -> str:
        """The certificate a registry trusts for this fake's registry tokens."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        certificate = x509.load_der_x509_certificate(self.registry_cert_der)
        return certificate.public_bytes(serialization.Encoding.PEM).decode()


def verify_assertion(fake: FakeGoogle, assertion: str) -> tuple[str, str] | tuple[None, str]:
    """Check an RFC 7523 assertion as Google does: (principal, scope) or (None, error)."""
    claims = unverified_claims(assertion)
    account = fake.service_accounts.get(str((claims or {}).get("iss")))
    if claims is None:
        return None, "Invalid JWT: malformed"
    if account is None or account.key is None:
        return None, "Invalid grant: account not found"
    problem = check_rs256(assertion, account.key.public_key(), account.key_id)
    if problem:
        return None, problem
    if claims.get("aud") != GOOGLE_TOKEN_AUDIENCE:
        return None, "Invalid JWT: Failed audience check."
    now = time.time()
    iat, exp = float(claims.get("iat", 0)), float(claims.get("exp", 0))
    if not (iat - 300 <= now < exp) or exp - iat > 3600:
        return None, (
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe. Check your iat and exp values in the JWT claim."
        )
    return account.email, str(claims.get("scope", ""))


# -- the server --------------------------------------------------------------------------------


def _api_error(status: int, name: str, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "status": name}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGoogle

    def log_message(self, *args: object) -> None:
        pass

    # plumbing

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        send_json(self, status, body, headers)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        query = urlsplit(self.path).query
        merged = parse_qs(query)
        merged.update(parse_qs(raw))
        return {k: v[0] for k, v in merged.items()}

    def _json_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def _caller(self) -> Issued | None:
        header = self.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        return self.fake.live(token) if scheme == "Bearer" else None

    def _project_caller(self, project: str) -> Issued | None:
        """The caller, if it may read the project's resources; else answers the error."""
        caller = self._caller()
        if caller is None:
            self._send(
                401,
                _api_error(
                    401,
                    "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                ),
            )
            return None
        if (
            caller.boundary is not None
            or project != self.fake.project
            or (caller.principal not in self.fake.members)
        ):
            self._send(
                403,
                _api_error(403, "PERMISSION_DENIED", f"Permission denied on project {project}."),
            )
            return None
        return caller

    # routes

    def _note_ambient_auth(self, path: str) -> None:
        """Google's APIs take no Basic auth: one here came from the environment (.netrc)."""
        if path != "/v2/token" and (self.headers.get("Authorization") or "").startswith("Basic"):
            self.fake.basic_auth_paths.append(path)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        self._note_ambient_auth(path)
        if path == "/token":
            self._oauth2_token(self._form())
        elif path == "/tokeninfo":
            self._token_info(self._form())
        elif path == "/v1/token":
            self._sts_exchange(self._form())
        elif path.startswith("/v1/projects/-/serviceAccounts/") and path.endswith(
            ":generateAccessToken"
        ):
            target = unquote(path.removeprefix("/v1/projects/-/serviceAccounts/")).removesuffix(
                ":generateAccessToken"
            )
            self._generate_access_token(target, self._json_body())
        else:
            self._send(404, _api_error(404, "NOT_FOUND", f"no route {path}"))

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self._note_ambient_auth(path)
        parts = path.strip("/").split("/")
        if path == "/tokeninfo":
            self._token_info(self._form())
        elif path == "/v2/token":
            self._registry_token()
        elif parts[:2] == ["v1", "projects"] and len(parts) == 3:
            self._project(parts[2])
        elif parts[:2] == ["v1", "projects"] and len(parts) >= 4 and parts[3] == "locations":
            self._locations(parts[2], parts[4:])
        else:
            self._send(404, _api_error(404, "NOT_FOUND", f"no route {path}"))

    # OAuth2

    def _oauth2_token(self, form: dict[str, str]) -> None:
        fake = self.fake
        grant = form.get("grant_type")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            principal, detail = verify_assertion(fake, form.get("assertion", ""))
            if principal is None:
                self._send(400, {"error": "invalid_grant", "error_description": detail})
                return
        elif grant == "refresh_token":
            user = fake.users.get(form.get("refresh_token", ""))
            if user is None:
                self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
                return
            client_id, client_secret, principal = user
            if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
                self._send(401, {"error": "invalid_client", "error_description": "Unauthorized"})
                return
        else:
            self._send(
                400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
            )
            return
        fake.grants.append(principal)
        token = fake.issue(principal)
        self._send(
            200,
            {"access_token": token, "expires_in": fake.token_lifetime, "token_type": "Bearer"},
        )

    def _token_info(self, form: dict[str, str]) -> None:
        issued = self.fake.live(form.get("access_token"))
        if issued is None:
            self._send(400, {"error": "invalid_token", "error_description": "Invalid Value"})
            return
        left = int(issued.expires_at - time.time())
        self._send(
            200,
            {
                "azp": "fake",
                "aud": "fake",
                "scope": "https://www.googleapis.com/auth/cloud-platform",
                "exp": str(int(issued.expires_at)),
                "expires_in": str(left),
                "email": issued.principal,
                "email_verified": "true",
                "access_type": "online",
            },
        )

    # IAM Credentials

    def _generate_access_token(self, target: str, body: dict[str, Any]) -> None:
        fake = self.fake
        caller = self._caller()
        if caller is None or caller.boundary is not None:
            self._send(
                401,
                _api_error(
                    401, "UNAUTHENTICATED", "Request had invalid authentication credentials."
                ),
            )
            return
        delegates = [
            str(d).removeprefix("projects/-/serviceAccounts/") for d in body.get("delegates") or []
        ]
        chain = [caller.principal, *delegates, target]
        for holder, account in itertools.pairwise(chain):
            if account not in fake.service_accounts or holder not in fake.token_creators.get(
                account, set()
            ):
                self._send(
                    403,
                    _api_error(
                        403,
                        "PERMISSION_DENIED",
                        "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                        "(or it may not exist).",
                    ),
                )
                return
        lifetime = int(str(body.get("lifetime") or "3600s").removesuffix("s"))
        fake.impersonations.append(chain)
        token = fake.issue(target, lifetime=lifetime)
        expires = datetime.fromtimestamp(fake.tokens[token].expires_at, UTC)
        self._send(
            200, {"accessToken": token, "expireTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}
        )

    # STS

    def _sts_exchange(self, form: dict[str, str]) -> None:
        fake = self.fake
        source = fake.live(form.get("subject_token"))
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:token-exchange":
            self._send(400, {"error": "invalid_request", "error_description": "bad grant_type"})
            return
        if source is None:
            self._send(
                400,
                {"error": "invalid_grant", "error_description": "The subject token is invalid."},
            )
            return
        try:
            options = json.loads(unquote(form.get("options", "")) or "{}")
            rules = options["accessBoundary"]["accessBoundaryRules"]
        except (ValueError, KeyError, TypeError):
            self._send(
                400,
                {"error": "invalid_request", "error_description": "missing access boundary"},
            )
            return
        fake.exchanges.append({"principal": source.principal, "boundary": options})
        lifetime = max(1, int(source.expires_at - time.time()))
        token = fake.issue(source.principal, lifetime=lifetime, boundary={"rules": rules})
        self._send(
            200,
            {
                "access_token": token,
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer",
                "expires_in": lifetime,
            },
        )

    # Resource Manager, GKE, Artifact Registry

    def _project(self, project: str) -> None:
        if self._project_caller(project) is None:
            return
        self._send(
            200,
            {
                "projectId": project,
                "projectNumber": "123456789012",
                "name": project,
                "lifecycleState": "ACTIVE",
            },
        )

    def _locations(self, project: str, rest: list[str]) -> None:
        if self._project_caller(project) is None:
            return
        fake = self.fake
        if not rest:  # Artifact Registry ListLocations
            self._send(
                200,
                {
                    "locations": [
                        {"name": f"projects/{project}/locations/{loc}", "locationId": loc}
                        for loc in LOCATIONS
                    ]
                },
            )
            return
        location = rest[0]
        kind = rest[1] if len(rest) > 1 else ""
        name = "/".join(rest[2:])
        if kind == "clusters":
            found = [c for c in fake.clusters if location in ("-", c["location"])]
            if not name:
                self._send(200, {"clusters": found})
                return
            match = [c for c in found if c["name"] == name]
            if match:
                self._send(200, match[0])
            else:
                self._send(
                    404,
                    _api_error(
                        404,
                        "NOT_FOUND",
                        f"Not found: projects/{project}/locations/{location}/clusters/{name}.",
                    ),
                )
            return
        if kind == "repositories":
            prefix = f"projects/{project}/locations/{location}/repositories/"
            found = [r for r in fake.repositories if r["name"].startswith(prefix)]
            if not name:
                self._send(200, {"repositories": found})
                return
            match = [r for r in found if r["name"] == prefix + name]
            if match:
                self._send(200, match[0])
            else:
                self._send(
                    404,
                    _api_error(404, "NOT_FOUND", f"Requested entity was not found: {prefix}{name}"),
                )
            return
        self._send(404, _api_error(404, "NOT_FOUND", "no such collection"))

    # docker registry token realm

    def _registry_token(self) -> None:
        fake = self.fake
        query = parse_qs(urlsplit(self.path).query)
        header = self.headers.get("Authorization") or ""
        scheme, _, value = header.partition(" ")
        caller = None
        if scheme == "Basic":
            user, _, password = base64.b64decode(value).decode().partition(":")
            issued = fake.live(password)
            if user == REGISTRY_USERNAME and issued is not None and issued.boundary is None:
                caller = issued
        if caller is None or caller.principal not in fake.members:
            self._send(
                401,
                {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
            )
            return
        if query.get("service", [""])[0] != fake.registry_service:
            self._send(400, {"errors": [{"code": "DENIED", "message": "unknown service"}]})
            return
        token = sign_registry_token(
            fake.registry_key,
            fake.registry_cert_der,
            REGISTRY_ISSUER,
            fake.registry_service,
            caller.principal,
            query.get("scope", []),
        )
        self._send(
            200,
            {
                "token": token,
                "access_token": token,
                "expires_in": 300,
                "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )


@contextmanager
def fake_google(directory: Path) -> Iterator[FakeGoogle]:
    """Serve a fresh fake on 127.0.0.1; ``directory`` receives the registry token certificate."""
    fake = FakeGoogle()
    fake.registry_key, fake.registry_cert_der = self_signed_identity(REGISTRY_ISSUER)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "registry-token.pem").write_text(fake.registry_certificate_pem())
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
