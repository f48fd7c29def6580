"""EKS bearer tokens: a presigned STS GetCallerIdentity URL naming the cluster."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from keybroker_aws.declaration import RegionConfig
from keybroker_aws.sessions import Identity, client

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - a format marker, not a secret
CLUSTER_HEADER = "x-k8s-aws-id"
PRESIGN_SECONDS = 60
#: EKS accepts a token for 15 minutes; hand it out for a little less
TOKEN_LIFETIME = timedelta(minutes=14)


def eks_token(session: Identity, config: RegionConfig, cluster: str) -> str:
    """The token ``aws eks get-token`` would print, signed with ``session``'s credentials."""
    sts = client(session, "sts", config)

    def name_the_cluster(request: Any, **_: Any) -> None:
        request.headers[CLUSTER_HEADER] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", name_the_cluster)
    url = sts.generate_presigned_url(
        "get_caller_identity", Params={}, ExpiresIn=PRESIGN_SECONDS, HttpMethod="GET"
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
