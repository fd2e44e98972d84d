"""One CLI style across every ``terrasynth`` command: choices shown in ``--help`` and refused in one
line, one option name per concept, one ``--device`` default and ``--config`` on every trainer.

The commands are walked through typer's click command tree, so a new command is checked too.
"""

import re
import subprocess
import sys
from typing import get_args

import pytest
from typer.main import get_command

from terrasynth.core import choices
from terrasynth.workflows.cli import app, main
from terrasynth.workflows.devices import DEVICE_HELP


def _walk(command, path=()):
    if getattr(command, "commands", None):
        for name, sub in command.commands.items():
            yield from _walk(sub, (*path, name))
    else:
        yield path, command


COMMANDS = dict(_walk(get_command(app)))
"""Every command by its path, e.g. ``("train", "detector")``."""

CHOICES = {
    (path, param.opts[0]): tuple(str(choice) for choice in param.type_descriptor.choices)
    for path, command in COMMANDS.items()
    for param in command.params
    if param.type_descriptor.is_choice
}
"""(command path, option) -> its choices, for every option typer treats as a choice."""

FIXED_SETS = {
    ("demo", "--scale"),
    ("ingest", "--source"),
    ("ingest", "--imagery"),
    ("ingest", "--fine-imagery"),
    ("ingest", "--landcover"),
    ("generate", "--noise"),
    ("generate", "--solver"),
    ("synthesize", "--layout"),
    ("synthesize", "--pairing"),
    ("synthesize", "--change"),
    *((("train", trainer), "--accelerator") for trainer in ("metaearth", "changen2", "detector")),
    (("train", "metaearth"), "--preset"),
    (("train", "metaearth"), "--condition"),
    (("train", "changen2"), "--preset"),
    (("train", "changen2"), "--mask"),
    (("train", "detector"), "--dataset"),
    (("train", "detector"), "--precision"),
    (("evaluate", "change"), "--dataset"),
    (("convert", "changen2"), "--mask"),
}
"""Every option whose values come from a fixed set (one-word commands as plain strings)."""

SYNONYMS = [
    ("--learning-rate", "--lr"),
    ("--tile-size", "--chip"),
    ("--gsd", "--resolution"),
    ("--mask", "--masks"),
    ("--out", "--output", "--out-dir"),
    ("--checkpoint", "--model", "--weights-dir"),
    ("--steps", "--num-steps", "--sampling-steps"),
    ("--batch-size", "--batch"),
]
"""Names of one concept: the first is the one every command uses."""

TRAINERS = [("train", "metaearth"), ("train", "changen2"), ("train", "detector")]
"""The configurable trainers (the bundled checkpoints' commands replay a fixed recipe)."""


def _key(path):
    return path[0] if len(path) == 1 else path


def test_every_option_with_a_fixed_set_of_values_is_a_choice():
    assert {(_key(path), option) for path, option in CHOICES} == FIXED_SETS


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_shows_its_help(capsys, path):
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    assert " ".join(COMMANDS[path].help.split()[:4]) in " ".join(capsys.readouterr().out.split())


def test_help_imports_no_torch():
    """Every command's choices come from torch-free modules, so ``--help`` stays fast."""
    script = """
import sys
from terrasynth.workflows.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
assert "torch" not in sys.modules, "terrasynth --help imported torch"
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("path", "option"), sorted(CHOICES, key=str), ids=lambda v: " ".join(v))
def test_help_shows_the_choices_of_every_option(capsys, monkeypatch, path, option):
    monkeypatch.setenv("COLUMNS", "400")  # one table row per option, unwrapped
    with pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if re.match(rf"\W+{option} ", line))
    assert f"<{'|'.join(CHOICES[path, option])}>" in row


@pytest.mark.parametrize(("path", "option"), sorted(CHOICES, key=str), ids=lambda v: " ".join(v))
def test_a_value_outside_the_choices_is_refused_in_one_line(capsys, path, option):
    with pytest.raises(SystemExit) as exit_info:
        main([*path, option, "no-such-choice"])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.count("\n") == 1
    listed = ", ".join(repr(choice) for choice in CHOICES[path, option])
    assert error.startswith(f"terrasynth: error: Invalid value for '{option}'") and listed in error


def test_no_two_commands_use_two_names_for_one_concept():
    used = {
        name
        for command in COMMANDS.values()
        for param in command.params
        for name in (*param.opts, *param.secondary_opts)
    }
    for preferred, *others in SYNONYMS:
        assert not used & set(others), f"use {preferred}, not {sorted(used & set(others))}"


def test_every_device_option_has_the_one_default():
    devices = [
        param.help for command in COMMANDS.values() for param in command.params if "--device" in param.opts
    ]
    assert len(devices) == 4 and set(devices) == {DEVICE_HELP}


def test_every_trainer_takes_a_config_file():
    for path in TRAINERS:
        assert "--config" in [param.opts[0] for param in COMMANDS[path].params], path


def test_the_preset_and_mask_choices_are_the_models_own():
    from terrasynth.models.changen2.mask_encoding import MASK_KINDS
    from terrasynth.models.changen2.rsdit import PRESETS as RSDIT_PRESETS
    from terrasynth.models.metaearth import PRESETS as METAEARTH_PRESETS

    assert set(get_args(choices.MetaEarthPreset)) == set(METAEARTH_PRESETS)
    assert set(get_args(choices.RSDiTPreset)) == set(RSDIT_PRESETS)
    assert set(get_args(choices.TrainingMask)) <= set(MASK_KINDS)
