"""Trainer commands take their settings options from the settings' fields: one declaration of each
setting, the command line on top of the ``--config`` file, and a bad value named by its option."""

from typing import Literal

import pytest
import typer
from pydantic import Field
from typer.main import get_command
from typer.testing import CliRunner

from terrasynth.core.config import Config
from terrasynth.core.errors import ConfigError
from terrasynth.trainers.settings import Changen2Training, MetaEarthTraining, TrainSettings
from terrasynth.workflows.cli import app
from terrasynth.workflows.commands.options import RestartOption
from terrasynth.workflows.commands.settings_options import SCALE_FIELDS, flag, trainer_command


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
