"""The progress bar of long work (generation, synthesis): what runs, a bar, done of total and the
time left."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


def progress_bar(show: bool = True) -> Progress:
    """A rich :class:`~rich.progress.Progress` of tasks with their description, bar, count and time
    left; nothing is shown unless ``show``."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not show,
    )
