"""Interactive registration (``register -i``): ask for what the command line left out.

Every answer is checked as soon as it is given (an attribute against its auth
method's schema, a resource id through the connector type's canonical form, a
label's syntax) and asked again when wrong, so that one typo never throws away
the secrets typed before it. Prompts name the attribute and say whether it is
required; square brackets appear only around a real default, as click shows it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keybroker.cli.arguments import parse_labels, read_value
from keybroker.cli.text import clean_line

if TYPE_CHECKING:
    from keybroker.service import ConnectorService
    from keybroker.types import AttributeDoc, AuthConfig, AuthMethod, ConnectorType

T = TypeVar("T")


class Retry(Exception):
    """An answer that is wrong; the message says why, and the question is asked again."""


def ask(
    text: str,
    check: Callable[[str], T],
    *,
    required: bool = True,
    hidden: bool = False,
    default: str | None = None,
) -> T | None:
    """Prompt until ``check`` accepts the answer; None for an empty optional answer."""
    while True:
        answer = _prompt(text, default=default, hidden=hidden)
        if answer == "" and default is None:
            if not required:
                return None
            click.echo("Error: a value is required.", err=True)
            continue
        try:
            return check(answer)
        except (Retry, click.UsageError) as exc:
            message = exc.format_message() if isinstance(exc, click.UsageError) else str(exc)
            click.echo(f"Error: {clean_line(message)}", err=True)
        except Exception as exc:
            from keybroker.errors import KeybrokerError

            if not isinstance(exc, KeybrokerError):
                raise
            click.echo(f"Error: {clean_line(exc.message)}", err=True)


def _reads_a_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _prompt(text: str, **options: Any) -> Any:
    """``click.prompt``; input that ends (a pipe of answers runs dry) is a clear error.

    Hidden answers are read without echo from a terminal; from a pipe (which
    echoes nothing) they are read like the others, not through ``getpass``,
    which would warn about echo and read the terminal instead of the pipe.
    """
    default = options.pop("default", None)
    hidden = options.pop("hidden", False)
    try:
        return click.prompt(
            text,
            default=default if default is not None else "",
            show_default=default is not None,
            hide_input=hidden and _reads_a_terminal(),
            err=True,  # questions go where errors go: stdout stays the result (-o json)
            **options,
        )
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, EOFError):
            from keybroker.errors import UsageError

            click.echo(err=True)  # end the unanswered question's line
            raise UsageError(
                "the input ended before every question was answered; nothing was stored"
            ) from None
        raise  # Ctrl-C: "Aborted!"


def _choose(text: str, choices: list[str]) -> str:
    """One of ``choices``; the first is the default."""
    return str(_prompt(text, type=click.Choice(choices), default=choices[0]))


def attribute_problems(
    schema: type[AuthConfig], known: dict[str, Any], name: str, value: Any
) -> list[str]:
    """What the schema says is wrong with ``value`` for attribute ``name``, alone.

    The other attributes given so far take part (a validator may compare them);
    the ones not given yet are ignored.
    """
    from pydantic import ValidationError

    from keybroker.validation_errors import problem

    try:
        schema.model_validate({**known, name: value})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            location = error.get("loc", ())
            if location and location[0] == name:
                problems.append(problem(error))
        return problems
    return []


def _attribute_prompt(attribute: AttributeDoc, is_list: bool) -> str:
    title = clean_line(attribute.title)
    same = title.lower() == attribute.name.replace("_", " ").lower()
    notes = ["required" if attribute.required else "optional, Enter to skip"]
    if attribute.secret:
        notes.append("hidden")
    if is_list:
        notes.append("a JSON list or one value")
    label = attribute.name if same else f"{attribute.name}: {title}"
    return f"{label} ({', '.join(notes)})"


def ask_attributes(method: AuthMethod, given: dict[str, Any]) -> dict[str, Any]:
    """Every attribute of ``method``: the given ones checked, the others asked for."""
    schema = method.config_schema
    attributes = dict(given)
    for name, value in given.items():
        problems = attribute_problems(schema, {}, name, value)
        if problems:
            from keybroker.errors import UsageError

            click.echo(err=True)  # end the unanswered question's line
            raise UsageError(f"attribute '{name}': {clean_line('; '.join(problems))}")
    lists = set(schema.list_fields())
    for attribute in method.attributes():
        if attribute.name in attributes:
            continue

        def check(answer: str, name: str = attribute.name) -> Any:
            value = read_value(name, answer)
            problems = attribute_problems(schema, attributes, name, value)
            if problems:
                raise Retry(f"attribute '{name}': {'; '.join(problems)}")
            return value

        value = ask(
            _attribute_prompt(attribute, attribute.name in lists),
            check,
            required=attribute.required,
            hidden=attribute.secret,
        )
        if value is not None:
            attributes[attribute.name] = value
    return attributes


def _config(method: AuthMethod, attributes: dict[str, Any]) -> AuthConfig | None:
    from pydantic import ValidationError

    try:
        return method.config_schema.model_validate(attributes)
    except ValidationError:
        return None


def ask_scope(
    service: ConnectorService,
    declaration: ConnectorType,
    method: AuthMethod,
    attributes: dict[str, Any],
    resource_type: str | None,
    resource_id: str | None,
) -> tuple[str | None, str | None]:
    """The resource type and id, asked for when not given and there is a choice."""
    reachable = [r.resource_type for r in declaration.resource_types_for(method.auth_method)]
    if resource_type is None and len(reachable) > 1:

        def check_type(answer: str) -> str:
            if answer not in reachable:
                raise Retry(f"'{answer}' is not one of: {', '.join(reachable)}")
            return answer

        resource_type = ask(
            f"Resource type ({', '.join(reachable)}; Enter for all of them, a multi-type "
            "connector)",
            check_type,
            required=False,
        )
    elif resource_type is None and reachable:
        resource_type = reachable[0]
    rtype = declaration.resource_type(resource_type) if resource_type else None
    if resource_id is None and rtype is not None and rtype.supports_instances:
        config = _config(method, attributes)
        formats = [f.pattern for f in rtype.resource_id_formats]
        example = f", e.g. {formats[0]}" if formats else ""

        def check_id(answer: str) -> str:
            assert rtype is not None
            return service.canonical_resource_id(declaration, rtype.resource_type, answer, config)

        resource_id = ask(
            f"Resource id of one {rtype.resource_type}{example} (Enter for every one it "
            "reaches, a multi-instance connector)",
            check_id,
            required=False,
        )
    return resource_type, resource_id


def ask_expiration(method: AuthMethod) -> int | None:
    """The lifetime of issued credentials, for an auth method that issues temporary ones."""
    from keybroker.service.validation import MAX_EXPIRATION_SECONDS, validate_expiration

    if not method.issues_temporary_credentials:
        return None
    low = method.min_expiration_seconds or 1
    high = min(method.max_expiration_seconds or MAX_EXPIRATION_SECONDS, MAX_EXPIRATION_SECONDS)

    def check(answer: str) -> int:
        try:
            seconds = int(answer.strip())
        except ValueError:
            raise Retry(f"'{answer}' is not a whole number of seconds") from None
        if seconds < 1:
            raise Retry(f"{seconds} is outside {low} to {high} seconds")
        validated = validate_expiration(method, seconds)  # the service's own range check
        return seconds if validated is None else validated

    default = method.default_expiration_seconds
    bounds = f"{low} to {high}"
    return ask(
        f"Lifetime of issued credentials in seconds ({bounds}; Enter for "
        f"{default if default else 'the default'})",
        check,
        required=False,
    )


def _label(answer: str) -> dict[str, str]:
    """One ``key=value`` answer, checked as the service will check it."""
    from keybroker.service.validation import validate_labels

    label = parse_labels((answer,))
    validate_labels(dict(label))
    return label


def _description(answer: str) -> str:
    from keybroker.service.validation import validate_description

    validate_description(answer)
    return answer


def ask_labels() -> dict[str, str]:
    """Labels, one ``key=value`` per answer, until an empty answer."""
    labels: dict[str, str] = {}
    while True:
        label = ask("Label as key=value (optional, Enter when done)", _label, required=False)
        if not label:
            return labels
        labels.update(label)


def ask_registration(service: ConnectorService, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (the command line's) completed with answers to what they leave out."""
    from keybroker.catalog import require_auth_method
    from keybroker.errors import UsageError

    types = [t for t in service.catalog.list_types() if t.loaded and t.local]
    names = [t.connector_type for t in types]
    if not names:
        raise UsageError("no connector type is installed; try 'pip install keybroker[all]'")
    connector_type = values["connector_type"] or _choose("Connector type", names)
    # answers are checked as they are typed, by the plugin installed here
    if connector_type not in service.registry.names() and service.server() is not None:
        raise UsageError(
            f"-i checks your answers with the plugin installed here, and connector type "
            f"'{connector_type}' is not: install keybroker-{connector_type} here, or register "
            "without -i ('keybroker connector describe-type' documents its attributes)",
            parameter="connector_type",
        )
    declaration = service.registry.declaration(connector_type)
    methods = [m.auth_method for m in declaration.auth_methods]
    auth_method = values["auth_method"] or (
        methods[0] if len(methods) == 1 else _choose("Auth method", methods)
    )
    method = require_auth_method(declaration, auth_method)
    attributes = ask_attributes(method, values["attributes"])
    resource_type, resource_id = ask_scope(
        service, declaration, method, attributes, values["resource_type"], values["resource_id"]
    )
    expiration = values["expiration_seconds"]
    if expiration is None:
        expiration = ask_expiration(method)
    description = values["description"]
    if not description:
        description = (
            ask("Description (optional, Enter to skip)", _description, required=False) or ""
        )
    labels = values["labels"] or ask_labels()
    return {
        **values,
        "connector_type": connector_type,
        "auth_method": auth_method,
        "attributes": attributes,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "expiration_seconds": expiration,
        "description": description,
        "labels": labels,
    }
