"""The ``charact`` command line: one typer app whose commands are thin calls into the library.

Technique commands (``charact xrd ...``, ``charact raman ...``) live in
``charact/cli/<technique>.py`` modules, each exposing a typer app named ``app``; they are added
here when present.

Every error a user can cause is a :class:`~charact.core.errors.CharactError`; :func:`main`
prints its message (no traceback) and exits with status 1.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from ..core.data import TECHNIQUES
from ..core.errors import CharactError, CharactWarning
from ..core.provenance import charact_version
from ._common import console, err_console, print_json, progress_bar

__all__ = ["app", "main"]

app = typer.Typer(
    name="charact",
    help="Quantitative, linked characterization of battery electrodes: XRD, Raman, XPS, SEM, "
    "electrochemistry, joined by sample ID.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
samples_app = typer.Typer(help="Samples of a project and their measurements.", no_args_is_help=True)
app.add_typer(samples_app, name="samples")

ProjectOpt = typer.Option(
    None, "--project", "-p", help="Project folder (default: the nearest folder with charact.toml)."
)


def _version(value: bool) -> None:
    if value:
        console.print(f"charact {charact_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """charact: raw characterization data in, linked quantitative results out."""


def _catalog(project: Path | None) -> Any:
    from ..samples import Catalog, find_project

    root = project if project is not None else find_project()
    return Catalog(root)


@app.command()
def init(
    directory: Path = typer.Argument(..., help="Project folder to create (may exist)."),
    name: str | None = typer.Option(None, help="Project name (default: the folder name)."),
) -> None:
    """Make a project: a commented charact.toml and an empty samples.csv."""
    from ..samples import init_project

    root = init_project(directory, name=name)
    console.print(
        f"Created project in {root}: edit samples.csv, then run `charact ingest {directory}`."
    )


@app.command()
def ingest(
    directory: Path | None = typer.Argument(None, help="Project folder (default: nearest)."),
    skip_errors: bool = typer.Option(
        False, "--skip-errors", help="Ingest what can be read even if some files fail."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
) -> None:
    """Register every readable file of a project and link it to its sample."""
    cat = _catalog(directory)
    with cat, progress_bar("Reading files", enabled=not as_json) as update:
        report = cat.ingest(skip_errors=skip_errors, progress=update)
    if as_json:
        print_json(report.to_dict())
    else:
        from ._common import print_ingest_report

        print_ingest_report(report, cat.project)
    if report.problems:
        raise typer.Exit(1)


@samples_app.command("list")
def samples_list(
    project: Path | None = ProjectOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the samples with their measurement counts per technique."""
    from rich import box
    from rich.table import Table

    with _catalog(project) as cat:
        rows = cat.list_samples()
        unlinked = cat.measurements(unlinked=True)
        known = {r["sample_id"] for r in rows}
        pending = [s.sample_id for s in cat.project.samples if s.sample_id not in known]
    if pending and not as_json:
        err_console.print(
            f"[yellow]note:[/yellow] {len(pending)} sample(s) of {cat.project.config.manifest} "
            f"are not in the catalogue yet ({', '.join(pending[:5])}"
            f"{' …' if len(pending) > 5 else ''}): run `charact ingest`",
            highlight=False,
        )
    if as_json:
        print_json(
            {"project": cat.project.name, "samples": rows, "unlinked_measurements": unlinked}
        )
        return
    # Only the techniques the project has, and fixed-width key columns, so the table fits a
    # terminal: the description is what gets shortened.
    present = [t for t in TECHNIQUES if any(t in r["measurements"] for r in rows)]
    table = Table(title=f"Samples of {cat.project.name}", box=box.SIMPLE_HEAD)

    def fixed(header: str, values: list[str], **kw: Any) -> None:
        width = max([len(header), *map(len, values)])
        table.add_column(header, no_wrap=True, min_width=width, max_width=width, **kw)

    cells = [
        [
            r["sample_id"] if r["in_manifest"] else f"{r['sample_id']} (not in manifest)",
            r["state"],
            _dash(r["cycles"]),
            r["parent"] or "",
            *[str(r["measurements"].get(t, "")) for t in present],
        ]
        for r in rows
    ]
    headers = ["sample", "state", "cycles", "parent", *present]
    widths = [max([len(h), *(len(c[i]) for c in cells)]) for i, h in enumerate(headers)]
    for i, header in enumerate(headers):
        fixed(header, [c[i] for c in cells], justify="right" if i == 2 or i > 3 else "left")
    # The description only when the terminal has room for a useful part of it.
    show_description = console.width >= sum(widths) + 3 * len(widths) + 20
    if show_description:
        table.add_column("description", overflow="ellipsis", no_wrap=True)
    for r, c in zip(rows, cells, strict=True):
        table.add_row(*c, *([r["description"]] if show_description else []))
    console.print(table)
    if unlinked:
        console.print(
            f"{len(unlinked)} measurement(s) are linked to no sample "
            "(add them to samples.csv or adjust [link] patterns in charact.toml)."
        )


def _dash(value: object) -> str:
    return "-" if value in (None, "") else str(value)


@samples_app.command("show")
def samples_show(
    sample_id: str = typer.Argument(..., help="Sample ID."),
    project: Path | None = ProjectOpt,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Show one sample: its manifest entry, relations, measurements and results."""
    from rich.table import Table

    with _catalog(project) as cat:
        info = cat.show_sample(sample_id)
    if as_json:
        print_json(info)
        return
    console.print(f"[bold]{info['sample_id']}[/bold]  {info['description']}")
    console.print(
        f"state: {info['state'] or '-'}   cycles: {_dash(info['cycles'])}"
        f"   parent: {info['parent'] or '-'}   children: {', '.join(info['children']) or '-'}"
    )
    if info["extra"]:
        console.print("  ".join(f"{k}: {v}" for k, v in info["extra"].items()))
    table = Table(title="Measurements")
    for col in ("technique", "file", "reader", "sha256", "conditions"):
        table.add_column(col)
    for m in info["measurements"]:
        cond = ", ".join(f"{k}={v}" for k, v in m["conditions"].items())
        table.add_row(m["technique"], m["path"], m["reader"], m["sha256"][:12] + "…", cond)
    console.print(table)
    if info["results"]:
        console.print(
            f"{len(info['results'])} stored result(s): "
            + ", ".join(sorted({r["analysis"] for r in info["results"]}))
        )


@app.command()
def formats(
    technique: str | None = typer.Option(
        None, help=f"Only one technique ({', '.join(TECHNIQUES)})."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the docs' Markdown table."),
) -> None:
    """List every file format charact reads, with its technique and reader name."""
    from rich.table import Table

    from ..core.readers import formats_markdown, list_formats

    if markdown:
        sys.stdout.write(formats_markdown())
        return
    rows = list_formats(technique)
    if as_json:
        print_json(rows)
        return
    table = Table(title="File formats charact reads")
    for col in ("technique", "reader", "extensions", "format"):
        table.add_column(col)
    for r in sorted(rows, key=lambda r: (r["technique"], r["name"])):
        table.add_row(r["technique"], r["name"], " ".join(r["extensions"]), r["description"])
    console.print(table)


@app.command()
def read(
    file: Path = typer.Argument(..., help="Instrument file."),
    format: str | None = typer.Option(
        None, "--format", "-f", help="Reader name (see `charact formats`)."
    ),
    technique: str | None = typer.Option(None, "--technique", "-t", help="Technique of the file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """Read one file and describe what charact sees in it (dims, ranges, metadata)."""
    from ..core.readers import read as read_file

    obj = read_file(file, format=format, technique=technique)
    summary = {
        "file": str(file),
        "reader": obj.attrs["reader"],
        "technique": obj.attrs["technique"],
        "sha256": obj.attrs["source_sha256"],
        "dims": {str(k): int(v) for k, v in obj.sizes.items()},
        "coords": {
            str(c): {
                "min": float(obj[c].min()),
                "max": float(obj[c].max()),
                "units": obj[c].attrs.get("units", ""),
            }
            for c in obj.dims
            if obj[c].dtype.kind in "fiu"
        },
        "attrs": {k: v for k, v in obj.attrs.items() if k != "original_metadata"},
    }
    if as_json:
        print_json(summary)
        return
    console.print(f"[bold]{file}[/bold]: {summary['technique']} data read by {summary['reader']}")
    for c, info in summary["coords"].items():
        console.print(
            f"  {c}: {info['min']:g} … {info['max']:g} {info['units']} "
            f"({summary['dims'][c]} points)"
        )
    for k, v in summary["attrs"].items():
        if v not in ("", None) and k not in ("source_sha256",):
            console.print(f"  {k}: {v}")


@app.command()
def demo(
    directory: Path = typer.Argument(Path("charact-demo"), help="Folder for the example project."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace an earlier demo project there."
    ),
    seed: int = typer.Option(0, help="Seed of the generated noise."),
) -> None:
    """Write an example project with known ground truth; ingest, analyse, compare, report."""
    from ..demo import make_demo_project
    from ..samples import Catalog

    made = make_demo_project(directory, seed=seed, overwrite=overwrite)
    console.print(
        f"Wrote the example project to {made.root} "
        f"({sum(len(f) for f in made.files.values())} instrument files, "
        f"{len(made.files)} samples).",
        highlight=False,
    )
    with Catalog(made.root) as cat, progress_bar("Reading files") as update:
        report_ = cat.ingest(progress=update)
    from ._common import print_ingest_report

    print_ingest_report(report_, cat.project)
    samples_list(project=made.root, as_json=False)
    analyze(
        directory=made.root,
        force=False,
        as_json=False,
        workers=1,
        scheduler=None,
        figures=True,
    )
    compare(
        ["MSiC-P01", "MSiC-C100", "MSiC-C500"],
        project=made.root,
        json_path=made.root / "compare.json",
        html_path=None,
    )
    report(target=str(made.root), out=made.root / "report.html", project=None)
    truth = made.root / "truth" / "ground_truth.json"
    console.print(f"Ground truth of every generated number: {truth}", highlight=False)
    console.print(
        f"Open the report: {made.root / 'report.html'}\n"
        f"Next: `charact table {made.root}`, `charact compare MSiC-P01 MSiC-C500 -p {made.root}`, "
        f"`charact samples show LATP-F01 -p {made.root}`",
        highlight=False,
    )


@app.command()
def analyze(
    directory: Path | None = typer.Argument(None, help="Project folder (default: nearest)."),
    force: bool = typer.Option(False, "--force", help="Recompute results that are up to date."),
    as_json: bool = typer.Option(False, "--json", help="Print the analyze report as JSON."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Worker processes."),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="dask.distributed scheduler address (tcp://host:8786)."
    ),
    figures: bool = typer.Option(
        True, "--figures/--no-figures", help="Draw a PNG figure beside each result."
    ),
) -> None:
    """Ingest, then run every technique's standard analysis on every measurement.

    Settings come from the technique tables of charact.toml (xrd, raman, xps, sem, echem),
    the per-sample tables [samples."ID".<technique>] and the sample manifest (mass_mg,
    area_cm2, thickness_um). Results unchanged since the last run are skipped; a file that
    fails is reported with its reason and the others still finish.
    """
    from ..samples.analyze import analyze_project

    cat = _catalog(directory)
    with cat, progress_bar("Analysing", enabled=not as_json) as update:
        report = analyze_project(
            cat,
            force=force,
            progress=update,
            workers=workers,
            scheduler=scheduler,
            figures=figures,
        )
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(
            f"Analysed {cat.project.name}: {len(report.analysed)} analysed, "
            f"{len(report.skipped)} skipped (unchanged), {len(report.failed)} failed "
            f"({report.seconds:.1f} s).",
            highlight=False,
        )
        for item in report.analysed:
            notes = f"  ({len(item['warnings'])} note(s))" if item.get("warnings") else ""
            console.print(
                f"  {item['analysis']:<18} {escape(item['path'])}{notes}", highlight=False
            )
        if report.analysed:
            console.print(f"Results: {cat.project.state_dir / 'results'}", highlight=False)
        for path in report.missing:
            err_console.print(
                f"[yellow]missing:[/yellow] {escape(path)} is catalogued but gone; "
                "its stored results are kept",
                highlight=False,
            )
        for path, reason in report.failed:
            reason = reason.removeprefix(f"{path}: ")
            err_console.print(
                f"[red]failed:[/red] {escape(path)}: {escape(reason)}", highlight=False
            )
    if report.failed:
        raise typer.Exit(1)


def _pm_cell(v: dict[str, Any] | None) -> str:
    from ..samples.compare import format_cell

    return escape(format_cell(v))


@app.command()
def compare(
    sample_ids: list[str] = typer.Argument(
        ..., help="Two or more sample IDs; the first is the reference."
    ),
    project: Path | None = ProjectOpt,
    json_path: Path | None = typer.Option(None, "--json", help="Write the comparison (JSON)."),
    html_path: Path | None = typer.Option(
        None, "--html", help="Write the comparison as a self-contained HTML page."
    ),
) -> None:
    """Compare samples side by side, technique by technique, from the stored results."""
    from rich.table import Table

    from ..core.store import save_json
    from ..samples.compare import compare_samples, load_docs

    with _catalog(project) as cat:
        # Read each sample's results once: for the comparison and for the HTML page's figures.
        problems: dict[str, list[str]] = {}
        docs = load_docs(cat, [cat.resolve_sample(s) for s in sample_ids], problems=problems)
        doc = compare_samples(cat, sample_ids, docs=docs, problems=problems)
        if html_path is not None:
            from ..samples.report import write_comparison_html

            write_comparison_html(doc, html_path, docs, project=cat.project.name)
    ids = doc["samples"]
    # Differences get their own columns only when the terminal is wide enough to read them.
    wide = console.width >= 40 + 22 * (2 * len(ids) - 1)
    for tech, section in doc["techniques"].items():
        table = Table(title=tech, title_justify="left")
        table.add_column("quantity", overflow="fold")
        table.add_column("unit")
        for sid in ids:
            table.add_column(sid, justify="right")
        for sid in ids[1:] if wide else []:
            table.add_column(f"Δ {sid}", justify="right")
        for row in section["rows"]:
            table.add_row(
                row["quantity"],
                row["unit"],
                *[_pm_cell(row["values"].get(sid)) for sid in ids],
                *[_pm_cell(row["differences"].get(sid)) for sid in (ids[1:] if wide else [])],
            )
        console.print(table)
    for text in doc["statements"]:
        console.print(f"• {escape(text)}", highlight=False)
    for sid, techs in doc["no_results"].items():
        console.print(f"{sid}: no results for {', '.join(techs)}", highlight=False)
    for sid, reasons in doc["problems"].items():
        for why in reasons:
            err_console.print(
                f"[yellow]note:[/yellow] {escape(sid)}: results left out, {escape(why)}",
                highlight=False,
            )
    if not doc["techniques"]:
        err_console.print(
            "[yellow]note:[/yellow] no stored results for these samples: run `charact analyze`",
            highlight=False,
        )
    if json_path is not None:
        save_json(doc, json_path)
        console.print(f"wrote {json_path}", highlight=False)
    if html_path is not None:
        console.print(f"wrote {html_path}", highlight=False)


@app.command()
def table(
    directory: Path | None = typer.Argument(None, help="Project folder (default: nearest)."),
    metrics: str | None = typer.Option(
        None,
        "--metrics",
        "-m",
        help="Comma-separated metrics, e.g. echem.retention,raman.ID_IG_height,"
        "xps.LiF_percent@10nm (see docs/results.md).",
    ),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write the table as CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """One row per sample, one column per metric from any technique."""
    from rich.table import Table

    from ..core.store import atomic_write
    from ..samples.table import sample_table

    names = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    with _catalog(directory) as cat:
        df = sample_table(cat, names)
    if csv_path is not None:
        with atomic_write(csv_path) as fh:
            df.to_csv(fh)
    if as_json:
        print_json(json.loads(df.reset_index().to_json(orient="records")))
        return
    cols = [c for c in df.columns if not c.endswith("_stderr")]
    out = Table(title="samples × metrics", title_justify="left")
    out.add_column("sample_id")
    for c in cols:
        out.add_column(c, justify="right", overflow="fold")
    for sid, row in df.iterrows():
        cells = []
        for c in cols:
            err = row.get(f"{c}_stderr")
            cells.append(_pm_cell({"value": _plain(row[c]), "stderr": _plain(err)}))
        out.add_row(escape(str(sid)), *cells)
    console.print(out)
    if csv_path is not None:
        console.print(f"wrote {csv_path}", highlight=False)


def _plain(v: Any) -> Any:
    """NaN and numpy scalars as JSON-like Python values."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


@app.command()
def report(
    target: str | None = typer.Argument(
        None, help="Project folder, or a sample ID of the current project (default: nearest)."
    ),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
    project: Path | None = ProjectOpt,
) -> None:
    """A self-contained HTML report: comparisons, then a page per sample with its figures."""
    from ..samples.report import write_report

    sample_ids: list[str] | None = None
    root = project
    if target is not None:
        if Path(target).is_dir():
            root = Path(target)
        else:
            sample_ids = [target]
    with _catalog(root) as cat:
        path = write_report(cat, out, sample_ids)
    console.print(f"wrote {path}", highlight=False)


def _add_technique_apps() -> None:
    """Add ``charact <technique>`` sub-commands from ``charact/cli/<technique>.py`` if present."""
    for tech in TECHNIQUES:
        name = f"{__name__}.{tech}"
        if importlib.util.find_spec(name) is not None:
            module = importlib.import_module(name)
            app.add_typer(module.app, name=tech)


_add_technique_apps()


def _show_warning(
    message: Any,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    label = "warning" if issubclass(category, CharactWarning) else category.__name__
    err_console.print(f"[yellow]{label}:[/yellow] {escape(str(message))}", highlight=False)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``charact`` console script; returns the exit status.

    Usage errors are handled by typer (status 2); a :class:`CharactError` is printed as one
    message without a traceback (status 1). Anything else is a bug and keeps its traceback.
    """
    warnings.showwarning = _show_warning
    try:
        app(args=argv, prog_name="charact")
    except CharactError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BrokenPipeError:  # `charact formats | head`
        return 0
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
