"""Progress bars on stderr for the seeding commands (rich: a live bar on a terminal, the final state
elsewhere)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def progress(done: int, total: int, label: str) -> None:
    """One line redrawn in place, for a loop that reports as it goes (the demo's year)."""
    width = 30
    filled = int(width * done / max(total, 1))
    sys.stderr.write(f"\r  {label:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


@contextmanager
def progress_bars(stream: TextIO | None = None) -> Iterator[Progress]:
    """A rich Progress writing to `stream` (stderr by default): add_task(label, total=n), advance(task, k)."""
    console = Console(file=stream or sys.stderr)
    columns = (
        TextColumn("  {task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bars:
        yield bars
