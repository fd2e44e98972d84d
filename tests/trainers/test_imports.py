"""The import rule of the training layer: trainers import core, datasets, models and evaluation,
never workflows (the commands and pipelines that call them)."""

import subprocess
import sys
from pathlib import Path

TRAINERS = Path(__file__).resolve().parents[2] / "trainers"


def test_trainers_import_no_workflows(import_rule):
    assert not import_rule(TRAINERS, ("terrasynth.workflows",))


def test_the_cli_reads_the_settings_of_every_trainer_without_torch():
    code = (
        "import sys, terrasynth.trainers.settings; print('torch' in sys.modules, 'lightning' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
