"""The ``terrasynth`` command line.

Each command is a thin shell over a documented Python call in ``terrasynth.workflows``; heavy
libraries are imported inside the commands so that ``--help`` stays fast. A known error
(:class:`~terrasynth.core.errors.TerrasynthError`) prints one line and exits with status 2;
``--debug`` shows the full traceback instead.
"""

from __future__ import annotations

import sys

import typer

from terrasynth.workflows import (
    changen2_cli,
    demo,
    evaluate_change,
    evaluate_generation,
    generate,
    ingest,
    preview,
)
from terrasynth.workflows.train import train_app

app = typer.Typer(
    name="terrasynth",
    help="Generated Earth imagery and change data: corpora, cascaded diffusion, change models, evaluation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_state = {"debug": False}


def _show_version(value: bool) -> None:
    if value:
        from terrasynth import __version__

        typer.echo(f"terrasynth {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    _state["debug"] = debug


app.command("demo")(demo.cli)
app.command("ingest")(ingest.cli)
app.command("preview")(preview.cli)
app.command("generate")(generate.cli)
app.command("synthesize")(changen2_cli.synthesize)
app.add_typer(train_app, name="train")
evaluate_app = typer.Typer(help="Evaluate generated imagery and change detectors.", no_args_is_help=True)
evaluate_app.command("generation")(evaluate_generation.cli)
evaluate_app.command("change")(evaluate_change.cli)
app.add_typer(evaluate_app, name="evaluate")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``terrasynth`` script."""
    from terrasynth.core.errors import TerrasynthError

    try:
        app(args=argv, prog_name="terrasynth")
    except TerrasynthError as error:
        if _state["debug"]:
            raise
        print(f"terrasynth: error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("terrasynth: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
