"""The rules a connector type's declaration must follow before keybroker loads it.

Each rule protects something the core relies on: unique names so that a name
means one thing, every resource type reachable so that scopes make sense,
secrets typed as secrets so that they are encrypted and masked, expiration
bounds that a user can satisfy. ``declaration_problems`` lists every
broken rule in words a plugin author can act on.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import SecretBytes, SecretStr

from keybroker.types import AuthConfig, AuthMethod, ConnectorType, NotSecret

IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

#: An attribute whose name ends with one of these words holds a secret.
SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "token", "secret", "key", "credential", "credentials"}
)


def looks_secret(attribute: str) -> bool:
    """Whether an attribute's name says it holds a secret (``client_key``, ``api_token``)."""
    words = [w for w in re.split(r"[_\W]+", attribute.lower()) if w]
    return bool(words) and words[-1] in SECRET_WORDS


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _mentions(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return any(_mentions(arg, target) for arg in typing.get_args(annotation))


def schema_problems(method: AuthMethod) -> list[str]:
    """Problems with how an auth method's schema types its attributes."""
    problems: list[str] = []
    schema: type[AuthConfig] = method.config_schema
    where = f"auth method '{method.auth_method}' ({schema.__name__})"
    for name, field in schema.model_fields.items():
        annotation = field.annotation
        members = [m for m in _union_members(annotation) if m is not type(None)]
        plain_secret = members == [SecretStr]
        if _mentions(annotation, SecretBytes):
            problems.append(f"{where}: attribute '{name}' is SecretBytes; use SecretStr")
        elif _mentions(annotation, SecretStr) and not plain_secret:
            problems.append(
                f"{where}: attribute '{name}' nests SecretStr in another type; a secret "
                "attribute must be SecretStr or SecretStr | None"
            )
        elif (
            not plain_secret
            and str in members
            and looks_secret(name)
            and not any(isinstance(m, NotSecret) for m in field.metadata)
        ):
            problems.append(
                f"{where}: attribute '{name}' is named like a secret but typed as plain str; "
                "type it SecretStr (stored encrypted, masked everywhere), or annotate it "
                "Annotated[str, NotSecret()] if it is public"
            )
    return problems


def expiration_problems(method: AuthMethod) -> list[str]:
    """Problems with an auth method's expiration bounds."""
    where = f"auth method '{method.auth_method}'"
    bounds = {
        "min_expiration_seconds": method.min_expiration_seconds,
        "default_expiration_seconds": method.default_expiration_seconds,
        "max_expiration_seconds": method.max_expiration_seconds,
    }
    given = {k: v for k, v in bounds.items() if v is not None}
    if not method.issues_temporary_credentials:
        if given:
            return [
                f"{where} sets {', '.join(given)} but issues no temporary credentials; set "
                "issues_temporary_credentials=True or leave the bounds out"
            ]
        return []
    problems = [f"{where}: {k} must be positive (got {v})" for k, v in given.items() if v <= 0]
    low = method.min_expiration_seconds
    default = method.default_expiration_seconds
    high = method.max_expiration_seconds
    if low is not None and high is not None and low > high:
        problems.append(f"{where}: min_expiration_seconds {low} exceeds max {high}")
    if default is not None and low is not None and default < low:
        problems.append(f"{where}: default_expiration_seconds {default} is below min {low}")
    if default is not None and high is not None and default > high:
        problems.append(f"{where}: default_expiration_seconds {default} exceeds max {high}")
    return problems


def _identifier_problems(kind: str, names: list[str]) -> list[str]:
    problems = [
        f"{kind} '{n}' is not a lowercase identifier (letters, digits and single dashes)"
        for n in names
        if not IDENTIFIER.match(n)
    ]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"{kind} '{name}' is declared twice")
        seen.add(name)
    return problems


def declaration_problems(declaration: ConnectorType) -> list[str]:
    """Every rule ``declaration`` breaks; empty when keybroker can load it."""
    problems = _identifier_problems("connector type", [declaration.connector_type])
    methods = [m.auth_method for m in declaration.auth_methods]
    rtypes = [r.resource_type for r in declaration.resource_types]
    if not methods:
        problems.append("it declares no auth method")
    if not rtypes:
        problems.append("it declares no resource type")
    problems += _identifier_problems("auth method", methods)
    problems += _identifier_problems("resource type", rtypes)
    for rtype in declaration.resource_types:
        unknown = [m for m in rtype.auth_methods if m not in methods]
        if unknown:
            problems.append(
                f"resource type '{rtype.resource_type}' names undeclared auth method(s) "
                f"{', '.join(unknown)}; declared: {', '.join(methods) or 'none'}"
            )
        canonical = [f.label for f in rtype.resource_id_formats if f.canonical]
        if len(canonical) > 1:
            problems.append(
                f"resource type '{rtype.resource_type}' marks {len(canonical)} id formats "
                "canonical; mark one"
            )
    if rtypes:
        for method in declaration.auth_methods:
            if not declaration.resource_types_for(method.auth_method):
                problems.append(
                    f"auth method '{method.auth_method}' reaches no resource type; list it in "
                    "a resource type's auth_methods (or leave those empty to mean all)"
                )
    for method in declaration.auth_methods:
        problems += schema_problems(method)
        problems += expiration_problems(method)
    if not MODULE_NAME.match(declaration.implementation):
        problems.append(f"implementation '{declaration.implementation}' is not a module name")
    problems += [
        f"requires_modules entry '{m}' is not a module name"
        for m in declaration.requires_modules
        if not MODULE_NAME.match(m)
    ]
    return problems
