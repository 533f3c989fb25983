"""``charact xps ...``: fit XPS regions and depth profiles from instrument files."""

from __future__ import annotations

import math
import re
from pathlib import Path

import typer
from rich.table import Table

from ..core.errors import InputError
from ._common import console, print_json

app = typer.Typer(
    help="XPS: fit regions and depth profiles (VAMAS, Avantage CSV/XLSX, text).",
    no_args_is_help=True,
)


def _read(path: Path, sample: str):
    import charact.xps  # noqa: F401  (registers the XPS readers)

    from ..core.readers import read

    return read(path, technique="xps", sample_id=sample)


def _save_plot(fig, path: Path) -> None:
    from ..core.store import atomic_write

    ext = path.suffix.lower()
    if ext not in (".png", ".svg"):
        raise InputError(f"--plot {path}: expected a .png or .svg file name")
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=ext[1:], dpi=150, bbox_inches="tight")


def _fmt(v: float, nd: int = 3) -> str:
    return "—" if v is None or not math.isfinite(v) else f"{v:.{nd}f}"


@app.command()
def info(
    files: list[Path] = typer.Argument(..., help="XPS files."),
    json_path: Path = typer.Option(None, "--json", help="Write the summary (JSON)."),
) -> None:
    """List the regions, energy ranges, etch levels and acquisition settings of each file."""
    from ..core.store import save_json
    from ..xps.io import region_names, vendor_fit

    docs = []
    for f in files:
        ds = _read(f, "")
        etch = [float(t) for t in ds["etch_time"].values]
        table = Table(
            title=f"{f.name} ({ds.attrs['reader']}; {ds.sizes['etch_level']} level(s); "
            f"etch times {', '.join(_fmt(t, 0) for t in etch[:8])}"
            f"{' …' if len(etch) > 8 else ''} s)"
        )
        for col in (
            "region",
            "BE range (eV)",
            "points",
            "hν (eV)",
            "pass (eV)",
            "units",
            "vendor fit",
        ):
            table.add_column(col)
        regions = []
        for key in region_names(ds):
            var = ds[key]
            be = ds[var.dims[1]].values
            vendor = vendor_fit(ds, key)
            row = {
                "region": key,
                "name": var.attrs.get("region", key),
                "be_min": float(be.min()),
                "be_max": float(be.max()),
                "points": int(be.size),
                "excitation_energy_eV": var.attrs.get("excitation_energy_eV"),
                "pass_energy_eV": var.attrs.get("pass_energy_eV"),
                "units": var.attrs.get("units"),
                "vendor_components": [v["name"] for v in vendor],
            }
            regions.append(row)
            table.add_row(
                key,
                f"{row['be_min']:.1f}–{row['be_max']:.1f}",
                str(row["points"]),
                _fmt(row["excitation_energy_eV"], 2),
                _fmt(row["pass_energy_eV"], 1),
                str(row["units"]),
                str(len(vendor)) if vendor else "—",
            )
        console.print(table)
        docs.append(
            {
                "file": f.name,
                "reader": ds.attrs["reader"],
                "etch_time_s": etch,
                "instrument": ds.attrs.get("instrument", ""),
                "regions": regions,
            }
        )
    if json_path is not None:
        save_json(docs if len(docs) > 1 else docs[0], json_path)


def _constraints(items: list[str] | None) -> dict[str, float | str]:
    """``["C-O.fwhm=C-C.fwhm", "CO3.be=290"]`` → ``{"C-O.fwhm": "C-C.fwhm", "CO3.be": 290.0}``."""
    out: dict[str, float | str] = {}
    for item in items or []:
        m = re.match(r"^\s*(.+?\.(?:be|fwhm))\s*=\s*(.+?)\s*$", item)
        if not m:
            raise InputError(f"--constraint {item!r}: expected COMPONENT.be=VALUE or .fwhm=EXPR")
        try:
            out[m.group(1)] = float(m.group(2))
        except ValueError:
            out[m.group(1)] = m.group(2)
    return out


@app.command()
def fit(
    files: list[Path] = typer.Argument(
        ..., help="XPS files (VAMAS .vms/.npl, Avantage .csv/.xlsx, text)."
    ),
    region: str = typer.Option(
        None, "--region", help="Region key, e.g. C1s (default: the only one)."
    ),
    components: str = typer.Option(
        None, "--components", help="Comma-separated library names or NAME@BE_eV."
    ),
    background: str = typer.Option(
        "shirley", "--background", help="shirley | active-shirley | tougaard | linear | none"
    ),
    reference: str = typer.Option(
        "C-C=284.8", "--reference", help="Charge reference NAME=BE_eV, shift=EV, or none."
    ),
    level: int = typer.Option(0, "--level", help="Etch level to fit."),
    constraint: list[str] = typer.Option(
        None,
        "--constraint",
        help="Fix or tie (repeatable): C-O.fwhm=C-C.fwhm, CO3.be=290.0, O-C=O.be=C-O.be+2.4",
    ),
    weights: str = typer.Option(
        "poisson", "--weights", help="poisson (counting statistics) | none (unweighted)"
    ),
    monte_carlo: int = typer.Option(
        0,
        "--monte-carlo",
        min=0,
        help="Standard errors from N Monte-Carlo draws of the parameters.",
    ),
    sample: str = typer.Option("", "--sample", help="Sample ID to record."),
    json_path: Path = typer.Option(None, "--json", help="Write the result document (JSON)."),
    plot: Path = typer.Option(None, "--plot", help="Write a figure (.png or .svg)."),
) -> None:
    """Fit one region of each file: positions, FWHM, areas and fractions with standard errors."""
    from ..core.store import save_json
    from ..xps.fit import fit_region

    comps = [c.strip() for c in components.split(",") if c.strip()] if components else None
    constraints = _constraints(constraint)
    docs = []
    fits = []
    for f in files:
        ds = _read(f, sample)
        res = fit_region(
            ds,
            region=region,
            level=level,
            components=comps,
            background=background,
            reference=reference,
            constraints=constraints or None,
            weights=weights,
            monte_carlo=monte_carlo,
        )
        fits.append(res)
        lv = res.levels[0]
        table = Table(
            title=f"{f.name} {res.region} (shift {_fmt(lv.charge_shift_eV, 2)} eV; "
            f"reference: {res.reference})"
        )
        for col in ("component", "BE (eV)", "±", "FWHM (eV)", "area", "fraction", "±"):
            table.add_column(col)
        for c in lv.components:
            table.add_row(
                c.name,
                _fmt(c.be, 2),
                _fmt(c.be_stderr, 2),
                _fmt(c.fwhm, 2),
                _fmt(c.area, 1),
                _fmt(c.fraction, 3),
                _fmt(c.fraction_stderr, 3),
            )
        console.print(table)
        for flag in res.flags:
            console.print(f"[yellow]! {flag}[/yellow]")
        docs.append({"file": str(f.name), **res.to_dict()})
    if json_path is not None:
        save_json(docs if len(docs) > 1 else docs[0], json_path)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ..xps.plot import plot_region_fit

        fig, axes = plt.subplots(len(fits), 1, figsize=(6, 4 * len(fits)), squeeze=False)
        for ax, res in zip(axes[:, 0], fits, strict=True):
            plot_region_fit(res, ax=ax)
        _save_plot(fig, plot)
        plt.close(fig)


@app.command("depth-profile")
def depth_profile(
    files: list[Path] = typer.Argument(..., help="A multi-level XPS file (VAMAS depth profile)."),
    etch_rate: float = typer.Option(None, "--etch-rate", help="Etch rate in nm/s (NM_PER_S)."),
    rsf: str = typer.Option(
        "scofield", "--rsf", help="RSF set: scofield, thermo (Avantage effective), or a TOML file."
    ),
    regions: str = typer.Option(None, "--regions", help="Comma-separated region keys."),
    components: list[str] = typer.Option(
        None,
        "--components",
        help="REGION=NAME,NAME,... (repeatable), e.g. C1s=C-C,C-O,CO3; default: the library.",
    ),
    background: str = typer.Option(
        "shirley", "--background", help="shirley | active-shirley | tougaard | linear | none"
    ),
    reference: str = typer.Option(
        "C-C=284.8", "--reference", help="Charge reference NAME=BE_eV (e.g. LiF=685.2) or shift=EV."
    ),
    monte_carlo: int = typer.Option(
        0,
        "--monte-carlo",
        min=0,
        help="Standard errors from N Monte-Carlo draws of the areas.",
    ),
    constraint: list[str] = typer.Option(
        None,
        "--constraint",
        help="Fix or tie in one region (repeatable): C1s:C-O.fwhm=C-C.fwhm, C1s:CO3.be=290.0",
    ),
    free_positions: bool = typer.Option(
        False, "--free-positions", help="Fit positions per level instead of sharing them."
    ),
    free_fwhm: bool = typer.Option(
        False, "--free-fwhm", help="Fit FWHMs per level instead of sharing them."
    ),
    weights: str = typer.Option(
        "poisson", "--weights", help="poisson (counting statistics) | none (unweighted)"
    ),
    sample: str = typer.Option("", "--sample", help="Sample ID to record."),
    json_path: Path = typer.Option(None, "--json", help="Write the result document (JSON)."),
    plot: Path = typer.Option(None, "--plot", help="Species % vs depth figure (.png or .svg)."),
    plot_fits: Path = typer.Option(
        None, "--plot-fits", help="Every region at every level with its fit (.png or .svg)."
    ),
    print_doc: bool = typer.Option(False, "--print-json", help="Print the document on stdout."),
) -> None:
    """Fit every region over all etch levels jointly and report composition versus depth."""
    from ..core.store import save_json
    from ..xps.depth import fit_depth_profile

    regs = [r.strip() for r in regions.split(",") if r.strip()] if regions else None
    comps: dict[str, list[str]] = {}
    for item in components or []:
        region, sep, names = item.partition("=")
        if not sep or not names.strip():
            raise InputError(f"--components {item!r}: expected REGION=NAME,NAME,...")
        comps[region.strip()] = [n.strip() for n in names.split(",") if n.strip()]
    per_region: dict[str, list[str]] = {}
    for item in constraint or []:
        region, sep, rest = item.partition(":")
        if not sep or not region.strip() or not rest.strip():
            raise InputError(
                f"--constraint {item!r}: expected REGION:COMPONENT.be=VALUE or .fwhm=EXPR "
                "(e.g. C1s:C-O.fwhm=C-C.fwhm)"
            )
        per_region.setdefault(region.strip(), []).append(rest)
    constraints = {r: _constraints(items) for r, items in per_region.items()}
    docs = []
    for f in files:
        ds = _read(f, sample)
        res = fit_depth_profile(
            ds,
            regions=regs,
            components=comps or None,
            background=background,
            reference=reference,
            etch_rate_nm_per_s=etch_rate,
            rsf=rsf,
            monte_carlo=monte_carlo,
            constraints=constraints or None,
            share_positions=not free_positions,
            share_fwhm=not free_fwhm,
            weights=weights,
        )
        species = list(dict.fromkeys(s for q in res.quantification for s in q.species_percent))
        table = Table(title=f"{f.name}: species % of detected atoms (± stderr)")
        table.add_column("species")
        for li in range(len(res.quantification)):
            depth = res.depth_nm[li]
            label = f"{depth:.1f} nm" if math.isfinite(depth) else f"{res.etch_time_s[li]:g} s"
            table.add_column(label if label != "nan s" else f"level {li}", justify="right")
        for s in species:
            table.add_row(
                s,
                *[
                    f"{_fmt(q.species_percent.get(s, math.nan), 1)}"
                    f"±{_fmt(q.species_percent_stderr.get(s, math.nan), 1)}"
                    for q in res.quantification
                ],
            )
        console.print(table)
        console.print(res.statement)
        console.print(f"reference: {res.reference}; RSF: {res.quantification[0].rsf_source}")
        doc = {"file": f.name, **res.to_dict()}
        docs.append(doc)
        if plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from ..xps.plot import plot_species_profile

            fig, ax = plt.subplots(figsize=(7, 4))
            plot_species_profile(res, ax=ax)
            _save_plot(fig, plot)
            plt.close(fig)
        if plot_fits is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from ..xps.plot import plot_depth_fits

            axes = plot_depth_fits(res)
            fig = axes.flat[0].figure
            _save_plot(fig, plot_fits)
            plt.close(fig)
    if json_path is not None:
        save_json(docs if len(docs) > 1 else docs[0], json_path)
    if print_doc:
        print_json(docs if len(docs) > 1 else docs[0])
