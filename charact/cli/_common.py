"""Helpers shared by the CLI commands: consoles, JSON output, progress bars, reports."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..core.provenance import _jsonable

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout (plain, no colour: it is for machines)."""
    sys.stdout.write(json.dumps(_jsonable(obj), indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def progress_bar(label: str, *, enabled: bool = True) -> Iterator[Callable[[int, int, str], None]]:
    """Yield ``update(done, total, current)``; draws a bar on a terminal, nothing elsewhere."""
    if not enabled or not err_console.is_terminal:
        yield lambda done, total, current: None
        return
    with Progress(
        TextColumn(f"{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def update(done: int, total: int, current: str) -> None:
            progress.update(task, completed=done, total=total, description=current)

        yield update


def print_ingest_report(report: Any, project: Any) -> None:
    """Human summary of an :class:`~charact.samples.catalog.IngestReport`."""
    parts = [
        f"{len(report.added)} added",
        f"{len(report.unchanged)} unchanged",
    ]
    for label, items in (
        ("changed", report.changed),
        ("moved", report.moved),
        ("relinked", report.relinked),
        ("duplicate", report.duplicates),
        ("ignored", report.ignored),
    ):
        if items:
            parts.append(f"{len(items)} {label}")
    console.print(f"Ingested {project.name}: " + ", ".join(parts) + ".")
    if report.samples_added or report.samples_updated:
        console.print(
            f"Samples: {len(report.samples_added)} new, {len(report.samples_updated)} updated."
        )
    for path in report.changed:
        err_console.print(
            f"[yellow]changed:[/yellow] {path} has new content since it was ingested; "
            "its results will be recomputed",
            highlight=False,
        )
    for old, new in report.moved:
        console.print(f"moved: {old} -> {new}")
    for path, other in report.duplicates:
        console.print(f"duplicate: {path} has the same content as {other}; registered once")
    for path in report.missing:
        err_console.print(
            f"[yellow]missing:[/yellow] {path} was ingested before but is gone; "
            "its catalogue entry is kept",
            highlight=False,
        )
    for path in report.unlinked:
        err_console.print(
            f"[yellow]not linked:[/yellow] {path} matches no sample "
            "(name it in samples.csv or adjust [link] patterns)",
            highlight=False,
        )
    for sid in report.samples_not_in_manifest:
        err_console.print(
            f"[yellow]note:[/yellow] sample {sid} is in the catalogue but no longer "
            "in the manifest; kept",
            highlight=False,
        )
    for _, msg in report.problems:
        err_console.print(f"[red]problem:[/red] {escape(msg)}", highlight=False)
