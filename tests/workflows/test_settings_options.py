"""Commands take their options from settings fields: one declaration of each option, the command
line on top of the ``--config`` file, and a bad value named by its option."""

from pathlib import Path
from typing import Annotated, Literal

import pytest
import typer
from pydantic import Field
from typer.main import get_command
from typer.testing import CliRunner

from terrasynth.core.config import Config
from terrasynth.core.errors import ConfigError
from terrasynth.trainers.settings import Changen2Training, MetaEarthTraining, TrainSettings
from terrasynth.workflows.cli import app
from terrasynth.workflows.commands.options import OverwriteOption, RestartOption
from terrasynth.workflows.commands.settings_options import (
    SCALE_FIELDS,
    Flag,
    flag,
    settings_command,
    trainer_command,
)


class ToySettings(Config):
    batch_size: int = Field(8, ge=1, description="samples per step")
    mode: Literal["fast", "slow"] = "fast"
    augment: bool = True
    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = Field(1, ge=1)
    strategy: str = "auto"
    seed: int = 0


@pytest.fixture
def toy():
    """A one-command app over :class:`ToySettings`, and what its function received."""
    toy_app, received = typer.Typer(), {}

    @toy_app.command("toy")
    @trainer_command(("batch_size", "mode", "augment"))
    def toy_command(out: str = "run", overwrite: RestartOption = False, *, settings: ToySettings) -> None:
        received.update(out=out, settings=settings, overwrite=overwrite)

    @toy_app.callback()
    def group() -> None:
        """Keep ``toy`` a subcommand."""

    return toy_app, received


def test_the_command_line_wins_over_the_config_file_and_defaults_fill_the_rest(toy, tmp_path):
    toy_app, received = toy
    config = tmp_path / "toy.yaml"
    config.write_text("batch_size: 4\nseed: 7\nmode: slow\n")
    result = CliRunner().invoke(
        toy_app,
        ["toy", "--config", str(config), "--seed", "3", "--no-augment", "--devices", "2", "--overwrite"],
    )
    assert result.exit_code == 0, result.output
    assert received["settings"] == ToySettings(batch_size=4, seed=3, mode="slow", augment=False, devices="2")
    assert received["out"] == "run" and received["overwrite"] is True


def test_a_bad_option_value_names_the_option_and_a_bad_file_value_the_file(toy, tmp_path):
    toy_app, _ = toy
    result = CliRunner().invoke(toy_app, ["toy", "--batch-size", "0"])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception).startswith("--batch-size: Input should be greater than or equal to 1")
    config = tmp_path / "toy.toml"
    config.write_text("num_nodes = 0\n")
    result = CliRunner().invoke(toy_app, ["toy", "--config", str(config)])
    assert str(result.exception).startswith(
        f"{config}: num_nodes: Input should be greater than or equal to 1"
    )


@pytest.mark.parametrize(
    ("trainer", "settings"),
    [("metaearth", MetaEarthTraining), ("changen2", Changen2Training), ("detector", TrainSettings)],
)
def test_every_settings_option_of_a_trainer_is_its_field_with_its_default(trainer, settings):
    command = get_command(app).commands["train"].commands[trainer]
    options = {param.opts[0]: param for param in command.params}
    own = {"first_stage"}  # train metaearth's own option: its default depends on the level
    fields = [field for field in settings.model_fields if flag(field) in options and field not in own]
    assert set(SCALE_FIELDS) <= set(fields)
    for field in fields:
        info = settings.model_fields[field]
        assert options[flag(field)].default is None  # None: the file's value, else the field's default
        if info.default is not None:
            assert options[flag(field)].help.endswith(f"(default: {info.default}).")


class DrawOptions(Config):
    source: Annotated[Path, Flag("--from", exists=True, dir_okay=False)] = Field(
        description="the file to draw"
    )
    tag: list[str] | None = Field(None, description="a tag (repeat for several)")
    mode: Literal["fast", "slow"] = Field("fast", description="how to draw")
    size: int = Field(4, ge=1, description="edge in pixels")
    dry_run: bool = Field(False, description="plan only")


@pytest.fixture
def draw(tmp_path):
    """A one-command app over :class:`DrawOptions`, what its function received, and a file to draw."""
    draw_app, received = typer.Typer(), {}

    @draw_app.command("draw")
    @settings_command()
    def draw_command(options: DrawOptions, overwrite: OverwriteOption = False) -> None:
        received.update(options=options, overwrite=overwrite)

    @draw_app.callback()
    def group() -> None:
        """Keep ``draw`` a subcommand."""

    source = tmp_path / "in.tif"
    source.write_text("")
    return draw_app, received, source


def test_a_command_takes_its_options_from_its_model_renamed_repeated_and_flagged(draw):
    draw_app, received, source = draw
    args = ["draw", "--from", str(source), "--tag", "a", "--tag", "b", "--mode", "slow", "--dry-run"]
    result = CliRunner().invoke(draw_app, [*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert received["options"] == DrawOptions(
        source=source, tag=["a", "b"], mode="slow", size=4, dry_run=True
    )
    assert received["overwrite"] is True


def test_help_shows_the_choices_and_defaults_and_a_choice_outside_them_is_refused(draw, monkeypatch):
    draw_app, _, source = draw
    monkeypatch.setenv("COLUMNS", "200")
    help = CliRunner().invoke(draw_app, ["draw", "--help"]).output
    assert "<fast|slow>" in help and "How to draw (default: fast)." in help and "--config" in help
    result = CliRunner().invoke(draw_app, ["draw", "--from", str(source), "--mode", "medium"])
    assert result.exit_code == 2 and "Invalid value for '--mode'" in result.output


def test_a_required_field_is_a_required_option_and_typer_checks_its_path(draw, tmp_path):
    draw_app, _, _ = draw
    result = CliRunner().invoke(draw_app, ["draw"])
    assert result.exit_code == 2 and "Missing option '--from'" in result.output
    result = CliRunner().invoke(draw_app, ["draw", "--from", str(tmp_path / "none.tif")])
    assert result.exit_code == 2 and "Invalid value for '--from'" in result.output


def test_a_config_file_gives_a_command_its_options_and_the_command_line_wins(draw, tmp_path):
    draw_app, received, source = draw
    config = tmp_path / "draw.toml"
    config.write_text('mode = "slow"\nsize = 8\ntag = ["x"]\n')
    result = CliRunner().invoke(
        draw_app, ["draw", "--from", str(source), "--config", str(config), "--size", "2"]
    )
    assert result.exit_code == 0, result.output
    assert received["options"] == DrawOptions(source=source, tag=["x"], mode="slow", size=2)


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("", ["--size", "0"], "--size: Input should be greater than or equal to 1"),
        ("size = 0\n", [], "{config}: size: Input should be greater than or equal to 1"),
        ('mode = "medium"\n', [], "{config}: mode: Input should be 'fast' or 'slow'"),
        ("colour = 1\n", [], "{config}: colour: Extra inputs are not permitted"),
    ],
)
def test_a_bad_value_names_its_option_or_its_file_and_key(draw, tmp_path, text, args, message):
    draw_app, _, source = draw
    config = tmp_path / "draw.toml"
    config.write_text(text)
    result = CliRunner().invoke(draw_app, ["draw", "--from", str(source), "--config", str(config), *args])
    assert isinstance(result.exception, ConfigError)
    assert str(result.exception).startswith(message.format(config=config))


def test_a_command_called_from_python_takes_its_fields_by_name_and_defaults_the_rest(draw):
    draw_app, received, source = draw
    command = get_command(draw_app).commands["draw"].callback
    command(source=source, size=3)
    assert received["options"] == DrawOptions(source=source, size=3) and received["overwrite"] is False
