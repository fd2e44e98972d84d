"""The import rule of the training layer: trainers import core, datasets, models and evaluation,
never workflows (the commands and pipelines that call them)."""

import ast
import subprocess
import sys
from pathlib import Path

TRAINERS = Path(__file__).resolve().parents[2] / "trainers"


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_trainers_import_no_workflows():
    crossing = {
        f"{path.name}: {module}"
        for path in TRAINERS.glob("*.py")
        for module in imported_modules(path)
        if module.startswith("terrasynth.workflows")
    }
    assert not crossing


def test_the_cli_reads_the_settings_of_every_trainer_without_torch():
    code = (
        "import sys, terrasynth.trainers.settings; print('torch' in sys.modules, 'lightning' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
