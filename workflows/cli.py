"""The ``terrasynth`` command line.

This module assembles the commands of :mod:`terrasynth.workflows.commands` (one module per command
group), each a thin shell over a documented Python call in ``terrasynth.workflows``. A known error
(:class:`~terrasynth.core.errors.TerrasynthError`) prints one line and exits with status 2;
``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from terrasynth.workflows.commands.check import check
from terrasynth.workflows.commands.convert import convert_app
from terrasynth.workflows.commands.demo import demo
from terrasynth.workflows.commands.evaluate import evaluate_app
from terrasynth.workflows.commands.generate import generate
from terrasynth.workflows.commands.ingest import ingest
from terrasynth.workflows.commands.preview import preview
from terrasynth.workflows.commands.synthesize import synthesize
from terrasynth.workflows.commands.train import train_app

app = typer.Typer(
    name="terrasynth",
    help="Generated Earth imagery and change data: corpora, cascaded diffusion, change models, evaluation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        from terrasynth import __version__

        typer.echo(f"terrasynth {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback on errors and every warning.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """(``--debug`` is read by :func:`main` before the command runs.)"""


app.command("demo")(demo)
app.command("ingest")(ingest)
app.command("check")(check)
app.command("preview")(preview)
app.command("generate")(generate)
app.command("synthesize")(synthesize)
app.add_typer(train_app, name="train")
app.add_typer(evaluate_app, name="evaluate")
app.add_typer(convert_app, name="convert")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``terrasynth`` script.

    Every failure the user can act on ends in one line on stderr: a known error, a usage error
    (unknown option, value out of range, missing option), a file the system refused (read-only,
    full disk, a folder where a file was expected). Those exit with status 2; an interrupt says how
    to resume and exits with 130. Library warnings are shown with ``--debug`` only.
    """
    import warnings

    # typer >= 0.29 carries its own copy of click and exports only some of its exceptions
    from typer._click.exceptions import NoArgsIsHelpError

    from terrasynth.core.errors import TerrasynthError, describe_os_error

    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    if not debug:
        warnings.filterwarnings("ignore")
        warnings.filterwarnings("default", module=r"terrasynth\.")
    interrupted = "interrupted: nothing unfinished is left looking finished; rerun the same command (ingest and training resume where they stopped)"
    try:
        code = app(args=argv, prog_name="terrasynth", standalone_mode=False)
    except KeyboardInterrupt:
        _fail(interrupted, 130)
    except typer.Abort as error:  # typer turns EOFError (a truncated file, say) into Abort
        if debug:
            raise
        _fail(f"unexpected end of data ({error.__context__ or 'EOF'}): a file is truncated", 2)
    except NoArgsIsHelpError:  # typer has printed the command's help
        sys.exit(2)
    except typer.TyperException as error:  # usage: unknown option, bad or missing value
        ctx = getattr(error, "ctx", None)  # click's usage errors carry the command's context
        command = ctx.command_path if ctx else "terrasynth"
        _fail(f"{error.format_message()} (see {command} --help)", 2)
    except TerrasynthError as error:
        if debug:
            raise
        _fail(str(error), 2)
    except OSError as error:
        if debug:
            raise
        _fail(describe_os_error(error), 2)
    if code == 130:  # typer's answer to a KeyboardInterrupt
        _fail(interrupted, 130)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, status: int) -> None:
    print(f"terrasynth: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(status)


if __name__ == "__main__":
    main()
