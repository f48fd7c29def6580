"""Merging an update request into a stored connector.

The result is a :class:`~keybroker.service.validation.ConnectorSpec` that goes
through the same validation as a new connector. It carries the stored
connector's ``version``, so the store refuses the write if someone else
changed the connector in between.
"""

from __future__ import annotations

from typing import Any

from keybroker.connector import Connector, UpdateRequest
from keybroker.service.validation import ConnectorSpec
from keybroker.types import ConnectorType


def merge_update(
    current: Connector, request: UpdateRequest, declaration: ConnectorType
) -> ConnectorSpec:
    """``current`` (read with its secrets) changed as ``request`` asks."""
    auth_method = request.auth_method or current.auth_method
    same_method = auth_method == current.auth_method
    attributes: dict[str, Any] = current.attributes() if same_method else {}
    attributes.update(request.attributes)

    resource_type, resource_id = current.resource_type, current.resource_id
    if request.resource_type is not None:
        if request.resource_type != (current.resource_type or ""):
            resource_id = None
        resource_type = request.resource_type or None
    if request.resource_id is not None:
        resource_id = request.resource_id or None
    rtype = declaration.resource_type(resource_type) if resource_type else None
    if rtype is not None and not rtype.supports_instances and request.resource_id is None:
        resource_id = None  # named again from the (possibly new) configuration

    labels = dict(current.labels)
    for key, value in request.labels.items():
        if value is None:
            labels.pop(key, None)
        else:
            labels[key] = value

    expiration = request.expiration_seconds
    if expiration is None and same_method:
        expiration = current.expiration_seconds

    return ConnectorSpec(
        connector_id=current.id,
        name=request.name if request.name is not None else current.name,
        declaration=declaration,
        auth_method=auth_method,
        attributes=attributes,
        resource_type=resource_type,
        resource_id=resource_id,
        labels=labels,
        description=request.description if request.description is not None else current.description,
        expiration_seconds=expiration,
        expires_at=current.expires_at,
        owner=current.owner,
        shared=current.shared,
        created=current.created,
        version=current.version,
    )
