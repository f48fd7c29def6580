"""Credential Access Boundaries: exchanging a token for one that reaches a single GCS bucket.

The STS token-exchange endpoint (RFC 8693) takes any access token and a
boundary, and returns a token limited to the intersection of the source's
permissions and the boundary. The boundary here allows object and bucket
read/write roles on one bucket and nothing else.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from keybroker import redaction
from keybroker.plugin import OperationError, utcnow
from keybroker_gcp.endpoints import api_url
from keybroker_gcp.errors import call
from keybroker_gcp.tokens import AccessToken

EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a URN
#: the roles a bucket-scoped token keeps on its bucket
BUCKET_ROLES = ("roles/storage.objectAdmin", "roles/storage.legacyBucketReader")


def bucket_boundary(bucket: str) -> dict[str, Any]:
    """The Credential Access Boundary allowing ``BUCKET_ROLES`` on ``bucket`` only."""
    return {
        "accessBoundary": {
            "accessBoundaryRules": [
                {
                    "availableResource": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
                    "availablePermissions": [f"inRole:{role}" for role in BUCKET_ROLES],
                }
            ]
        }
    }


def downscope(source: AccessToken, bucket: str, api_endpoint: str | None) -> AccessToken:
    """Exchange ``source`` at STS for a token bounded to ``bucket``."""
    from google.oauth2 import sts

    from keybroker_gcp.rest import auth_transport

    client = sts.Client(api_url(api_endpoint, "sts", "/v1/token"))
    answer = call(
        f"down-scoping a token to bucket {bucket}",
        lambda: client.exchange_token(
            request=auth_transport(),
            grant_type=EXCHANGE_GRANT,
            subject_token=source.token,
            subject_token_type=ACCESS_TOKEN_TYPE,
            requested_token_type=ACCESS_TOKEN_TYPE,
            additional_options=bucket_boundary(bucket),
        ),
    )
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise OperationError(f"down-scoping a token to bucket {bucket}: STS returned no token")
    redaction.remember(token)
    expires_at = source.expires_at
    if answer.get("expires_in"):
        with contextlib.suppress(TypeError, ValueError):
            expires_at = min(expires_at, utcnow() + timedelta(seconds=int(answer["expires_in"])))
    return AccessToken(token=token, expires_at=expires_at)
