"""The remote backend: the connector operations of a team server, over its REST API.

:class:`RemoteOperations` implements
:class:`~keybroker.operations.ConnectorOperations` with one request per
operation (``/api/v1/connector-types``, ``/connectors``, ``/resources``, ...).
Requests carry the caller's secrets in clear only where the contract says so
(the attributes of a register or update); answers are parsed into the same
models the local backend returns, and the server's errors come back as the same
error classes (with their message and parameter) through
:class:`~keybroker.remote.http.ServerClient`. Lists follow ``next_cursor``.

The server runs verification and list-resources with its own plugins; logins
and Python clients run here (:mod:`keybroker.local_use`) from the short-lived
connector client :meth:`RemoteOperations.issue_client` returns.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from keybroker import redaction
from keybroker.errors import NotFoundError, OperationError
from keybroker.operations import IssuedClient, IssuePurpose, Registration
from keybroker.views import ConnectorTypeView, ConnectorView, RegistrationView, ResourceReport

if TYPE_CHECKING:
    from keybroker.connector import Connector, ConnectorQuery, RegisterRequest, UpdateRequest
    from keybroker.remote.http import ServerClient

API = "/api/v1"


def plain(value: Any) -> Any:
    """``value`` with every :class:`~pydantic.SecretStr` replaced by its clear text.

    Only for request bodies that must carry the caller's own secrets to the
    server (register, update); pydantic would otherwise send ``**********``.
    """
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, BaseModel):
        return {name: plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    return value


def request_body(model: BaseModel) -> dict[str, Any]:
    """The JSON body of a request model, its secret values in clear."""
    body: dict[str, Any] = to_jsonable_python(plain(model))
    return body


def _segment(name_or_id: str) -> str:
    """A connector name or id as one path segment (a name may hold ``/`` or ``?``)."""
    return quote(name_or_id, safe="")


def label_filters(labels: dict[str, str | None]) -> list[str]:
    """Label filters as the API takes them: ``key=value``, or ``key`` for "has the label"."""
    return [key if value is None else f"{key}={value}" for key, value in labels.items()]


class RemoteOperations:
    """:class:`~keybroker.operations.ConnectorOperations` of a keybroker server.

    ``client`` is signed in (a session, device or API-key token); the server
    decides what its user may see and do.
    """

    def __init__(self, client: ServerClient) -> None:
        self.client = client

    @property
    def url(self) -> str:
        """The server's URL, for messages."""
        return self.client.url

    def __repr__(self) -> str:
        return f"RemoteOperations({self.url!r})"

    def close(self) -> None:
        """Close the connection to the server."""
        self.client.close()

    # -- parsing ----------------------------------------------------------------------

    def _parse(self, model: type[Any], data: Any) -> Any:
        """``data`` as ``model``; an answer of another shape is the server's fault, said so."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise OperationError(
                f"the server at {self.url} answered a {model.__name__} this client cannot "
                f"read ({exc.error_count()} problem(s)); is it a newer or older keybroker?"
            ) from None

    def _connector(self, data: Any) -> Connector:
        view: ConnectorView = self._parse(ConnectorView, data)
        return view.to_connector()

    def _registration(self, data: Any) -> Registration:
        view: RegistrationView = self._parse(RegistrationView, data)
        return Registration(connector=view.to_connector(), verification=view.verification)

    def _lacks_type(self, exc: NotFoundError, connector_type: str) -> NotFoundError:
        """A server's "unknown connector type" reworded as the package it lacks."""
        if exc.parameter != "connector_type":
            return exc
        return NotFoundError(
            f"the server at {self.url} lacks keybroker-{connector_type} (connector type "
            f"'{connector_type}' is not installed there: {exc.message}); ask its "
            "administrator to install it on the server",
            parameter="connector_type",
        )

    # -- connector types --------------------------------------------------------------

    def list_types(
        self, resource_type: str | None = None, auth_method: str | None = None
    ) -> builtins.list[ConnectorTypeView]:
        """The server's connector types, as the server sees them (``local``: installed there)."""
        params = {"resource_type": resource_type, "auth_method": auth_method}
        return [
            self._parse(ConnectorTypeView, item)
            for item in self.client.pages(f"{API}/connector-types", params)
        ]

    def describe_type(self, connector_type: str) -> ConnectorTypeView:
        """One connector type of the server; ``NotFoundError`` when it has none such."""
        view: ConnectorTypeView = self._parse(
            ConnectorTypeView, self.client.get(f"{API}/connector-types/{_segment(connector_type)}")
        )
        return view

    # -- connectors -------------------------------------------------------------------

    def register(self, request: RegisterRequest) -> Registration:
        """Register on the server (which validates, verifies and stores)."""
        try:
            answer = self.client.post(f"{API}/connectors", request_body(request))
        except NotFoundError as exc:
            raise self._lacks_type(exc, request.connector_type) from None
        return self._registration(answer)

    def list(self, query: ConnectorQuery | None = None) -> builtins.list[Connector]:
        """The connectors the server shows this user, every page of them."""
        params: dict[str, Any] = {}
        if query is not None:
            params = {
                "name": query.name,
                "connector_type": query.connector_type,
                "resource_type": query.resource_type,
                "resource_id": query.resource_id,
                "label": label_filters(query.labels) or None,
            }
        return [self._connector(item) for item in self.client.pages(f"{API}/connectors", params)]

    def get(self, name_or_id: str, show_secrets: bool = False) -> Connector:
        """One connector; its secret values only with ``show_secrets`` (owner only)."""
        answer = self.client.get(
            f"{API}/connectors/{_segment(name_or_id)}",
            {"show_secrets": "true" if show_secrets else "false"},
        )
        connector = self._connector(answer)
        if show_secrets:
            redaction.remember(*connector.secret_values())
        return connector

    def update(self, name_or_id: str, request: UpdateRequest) -> Registration:
        """Change a connector on the server (which verifies it again unless asked not to)."""
        path = f"{API}/connectors/{_segment(name_or_id)}"
        return self._registration(self.client.patch(path, request_body(request)))

    def delete(self, name_or_id: str) -> Connector:
        """Delete a connector on the server; returns what it was."""
        return self._connector(self.client.delete(f"{API}/connectors/{_segment(name_or_id)}"))

    # -- verification and resources ---------------------------------------------------

    def verify(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> ResourceReport:
        """Verify on the server, with its plugins; raises as the local backend does."""
        answer = self.client.post(
            f"{API}/connectors/{_segment(name_or_id)}/verify",
            {"resource_type": resource_type, "resource_id": resource_id},
        )
        report: ResourceReport = self._parse(ResourceReport, answer)
        return report

    def list_resources(
        self,
        connector_type: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> builtins.list[ResourceReport]:
        """What every connector this user may use reaches, checked on the server."""
        params = {
            "connector_type": connector_type,
            "resource_type": resource_type,
            "resource_id": resource_id,
        }
        return [
            self._parse(ResourceReport, item)
            for item in self.client.pages(f"{API}/resources", params)
        ]

    # -- connector clients ------------------------------------------------------------

    def issue_client(
        self,
        name_or_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
        purpose: IssuePurpose = IssuePurpose.ISSUE,
    ) -> IssuedClient:
        """A short-lived connector client issued by the server (its secrets in clear)."""
        answer = self.client.post(
            f"{API}/connectors/{_segment(name_or_id)}/clients",
            {
                "resource_type": resource_type,
                "resource_id": resource_id,
                "purpose": str(purpose),
            },
        )
        issued: IssuedClient = self._parse(IssuedClient, answer)
        redaction.remember(*issued.client.secret_values())
        return issued
