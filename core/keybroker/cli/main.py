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


class ReportedError(click.ClickException):
    """A keybroker error shown as one ``Error: ...`` line with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it per class


class KeybrokerGroup(click.Group):
    """The root group: resolves aliases and turns errors into one line and an exit code."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
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
    """The one-line form of ``exc``; with ``debug`` the traceback is printed first."""
    from keybroker.errors import KeybrokerError

    if debug:
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, KeybrokerError):
        from keybroker.cli.text import clean_line

        return ReportedError(clean_line(exc.message), exc.exit_code)
    return ReportedError(
        f"unexpected {type(exc).__name__}; run with --debug for details and report it", 1
    )


@click.group(cls=KeybrokerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs on errors.")
@click.version_option(__version__, prog_name="keybroker")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """keybroker: verified, short-lived access to cloud and infrastructure resources.

    Register service connectors once, then let people, pipelines and tools
    (kubectl, docker, Python code) reach buckets, clusters and registries
    through them. Start with 'keybroker connector list-types'.
    """
    state = ctx.ensure_object(CliState)
    state.debug = state.debug or debug
    if state.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)


cli.add_command(connector)
cli.add_command(plugin)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 1 operation failed, 2 bad usage)."""
    try:
        cli.main(args=argv, prog_name="keybroker", obj=CliState())
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0
