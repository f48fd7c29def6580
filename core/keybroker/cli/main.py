"""The ``keybroker`` entry point: the root command group and error reporting."""

from __future__ import annotations

import errno
import sys
from typing import Any

import click

from keybroker import __version__
from keybroker.cli.connector import connector
from keybroker.cli.context import CliState
from keybroker.cli.plugin import plugin

ALIASES = {"service-connector": "connector"}

#: how the CLI words a request parameter that an error names (errors carry the parameter)
PARAMETER_FLAGS = {
    "connector_type": "-t/--type",
    "auth_method": "-a/--auth-method",
    "resource_type": "-r/--resource-type",
    "resource_id": "--resource-id",
    "expiration_seconds": "--expiration-seconds",
    "labels": "-l/--label",
    "description": "-d/--description",
    "auto_configure": "--auto-configure",
    "auto_configure_options": "--auto-configure-option",
    "directory": "-d/--directory",
    "tools": "--tool",
}

#: commands imported only when named (or listed by --help): a connector command loads none
LAZY_COMMANDS = {
    "connect": ("keybroker.cli.connection", "connect"),
    "disconnect": ("keybroker.cli.connection", "disconnect"),
    "status": ("keybroker.cli.connection", "status"),
    "user": ("keybroker.cli.users", "user"),
    "audit": ("keybroker.cli.audit", "audit"),
    "authorized-device": ("keybroker.cli.devices", "authorized_device"),
    "service-account": ("keybroker.cli.service_accounts", "service_account"),
    "server": ("keybroker.cli.server", "server"),
}


class ReportedError(click.ClickException):
    """A keybroker error shown as one ``Error: ...`` line with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it per class


class KeybrokerGroup(click.Group):
    """The root group: resolves aliases and turns errors into one line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = ALIASES.get(cmd_name, cmd_name)
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[name]
            command: click.Command = getattr(importlib.import_module(module), attribute)
            add_debug_options(command, hidden=True)
            self.add_command(command, name)
        return super().get_command(ctx, name)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            if parent is None:
                refuse_undecodable(args)
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as exc:
            raise one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            raise one_line(exc) from None
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # the reader went away (| head): click exits quietly
            state = ctx.find_object(CliState)
            raise to_reported(exc, bool(state and state.debug)) from None
        except Exception as exc:
            state = ctx.find_object(CliState)
            raise to_reported(exc, bool(state and state.debug)) from None


def refuse_undecodable(args: list[str]) -> None:
    """Refuse an argument that is not UTF-8 (Python keeps its bytes as lone surrogates).

    Such text cannot be stored, sent or printed; it would fail deep inside an
    operation instead of here. The argument is named by its position only: it
    may be a secret.
    """
    for number, arg in enumerate(args, start=1):
        if any("\udc80" <= ch <= "\udcff" for ch in arg):
            raise click.UsageError(
                f"argument {number} is not UTF-8 text; give names and values in UTF-8"
            )


def one_line(exc: click.ClickException) -> click.ClickException:
    """``exc`` with its message on one line, free of terminal control characters.

    Click's own messages quote what the user typed (an unknown option, a bad choice).
    """
    from keybroker.cli.text import clean_line

    if isinstance(exc, ReportedError):
        return exc
    text = clean_line(exc.format_message())
    if isinstance(exc, click.UsageError):
        return click.UsageError(text, exc.ctx)
    return ReportedError(text, exc.exit_code)


def to_reported(exc: Exception, debug: bool) -> ReportedError:
    """The one-line form of ``exc``; with ``debug`` the (scrubbed) traceback is printed first.

    An error naming a request parameter is prefixed with the option that sets it.
    """
    from keybroker import redaction
    from keybroker.errors import KeybrokerError

    if debug:
        import traceback

        sys.stderr.write(redaction.scrub("".join(traceback.format_exception(exc))))
    if isinstance(exc, KeybrokerError):
        from keybroker.cli.text import clean_line

        message = clean_line(redaction.scrub(exc.message))
        flag = PARAMETER_FLAGS.get(exc.parameter or "")
        if flag:
            message = f"{flag}: {message}"
        return ReportedError(message, exc.exit_code)
    return ReportedError(
        f"unexpected {type(exc).__name__}; run with --debug for details and report it", 1
    )


def _enable_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _debug_logging(ctx, wire=False)


def _enable_wire(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _debug_logging(ctx, wire=True)


def _debug_logging(ctx: click.Context, wire: bool) -> None:
    """Turn on debug output for this invocation; logging is put back when it ends."""
    from keybroker.debug_log import enable_debug_logging

    ctx.ensure_object(CliState).debug = True
    ctx.find_root().call_on_close(enable_debug_logging(wire=wire))


def debug_options(hidden: bool) -> list[click.Option]:
    """``--debug`` and ``--debug-wire`` (documented once, on the root command)."""
    return [
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            hidden=hidden,
            callback=_enable_debug,
            help="Show tracebacks and keybroker's debug logs, secrets masked (also accepted "
            "after any command).",
        ),
        click.Option(
            ["--debug-wire"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            hidden=hidden,
            callback=_enable_wire,
            help="Also show cloud SDKs' wire logs (may show credentials; same as "
            "KEYBROKER_DEBUG_WIRE=1 with --debug).",
        ),
    ]


def add_debug_options(command: click.Command, hidden: bool = False) -> None:
    """Give ``command`` and all its subcommands the debug options."""
    command.params.extend(debug_options(hidden))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_debug_options(sub, hidden=True)


@click.group(cls=KeybrokerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="keybroker")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """keybroker: verified, short-lived access to cloud and infrastructure resources.

    Register service connectors once, then let people, pipelines and tools
    (kubectl, docker, Python code) reach buckets, clusters and registries
    through them. Start with 'keybroker connector list-types'.
    """
    ctx.ensure_object(CliState)


cli.add_command(connector)
cli.add_command(plugin)
add_debug_options(cli)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 operation failed, 2 bad usage)."""
    from keybroker.cli.text import stdout_takes_unicode

    if not stdout_takes_unicode() and hasattr(sys.stdout, "reconfigure"):
        # a latin-1 or ASCII terminal: a table's box drawing and emoji become '?'
        # instead of an error after the work was done (JSON and YAML escape them)
        sys.stdout.reconfigure(errors="replace")
    try:
        cli.main(args=argv, prog_name="keybroker", obj=CliState())
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
