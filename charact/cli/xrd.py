"""``charact xrd ...``: identify and index phases, refine lattices, measure the instrument."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from ..core.errors import InputError
from ._common import console, err_console, print_json

__all__ = ["app"]

app = typer.Typer(
    help="XRD: phase identification, indexing (hkl), lattice refinement, crystallite size.",
    no_args_is_help=True,
)

_WL_HELP = (
    "Radiation when the file does not say (or to override it): a Kα1 wavelength in Å "
    "(1.5406, Kα1 only), 'λ1,λ2,ratio' in Å (1.540593,1.544427,0.5), or CuKa (Cu doublet, "
    "Hölzer 1997) / CuKa1 (Cu Kα1 only)."
)
_PHASES_HELP = "Comma-separated reference phases to search (default: the whole library)."
_STD_HELP = (
    "Phase of known lattice that calibrates the zero/displacement correction: auto (Cu when "
    "found, the current collector), none, or a phase name (e.g. Si for a spiked standard)."
)
_KA2_HELP = (
    "Kα2 handling with a doublet: fit (Kα1/Kα2 doublet profiles, default) or strip "
    "(Rachinger stripping, then Kα1 profiles)."
)
_BROAD_HELP = (
    "Also look for broad lines hidden in the shoulders of sharp ones (a nanocrystalline phase "
    "beside a coarse one) in the residual of the first fit."
)
_RANGE_HELP = (
    "Read only this range (Bruker RAW) or scan (.xrdml), 1-based; by default all are read and "
    "joined when their 2θ spans do not overlap."
)
_CORR_HELP = (
    "Correction model: auto (displacement), displacement, zero_shift, zero+displacement, none."
)


def _fmt(x: Any, digits: int = 6) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _pm(v: Any, e: Any, digits: int = 6) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if e is None or (isinstance(e, float) and (not math.isfinite(e) or e == 0)):
        return _fmt(v, digits)
    return f"{_fmt(v, digits)} ± {_fmt(e, 2)}"


def _outpath(path: Path, stem: str, many: bool) -> Path:
    return path.with_name(f"{path.stem}_{stem}{path.suffix}") if many else path


def parse_wavelength(text: str | None) -> dict[str, float] | None:
    """Parse ``--wavelength``: a number, 'λ1,λ2,ratio', CuKa or CuKa1 → radiation options."""
    from ..xrd.io import CU_KA1_HOLZER, CU_KA2_HOLZER

    if text is None:
        return None
    t = text.strip().replace(" ", "")
    named = {
        "cuka": {"wavelength": CU_KA1_HOLZER, "wavelength_ka2": CU_KA2_HOLZER, "ka2_ratio": 0.5},
        "cuka1": {"wavelength": CU_KA1_HOLZER, "ka2_ratio": 0.0},
    }
    if t.lower() in named:
        return named[t.lower()]
    try:
        parts = [float(v) for v in t.split(",")]
    except ValueError:
        raise InputError(
            f"--wavelength {text!r}: expected Å (1.5406), 'λ1,λ2,ratio' or CuKa/CuKa1"
        ) from None
    if len(parts) == 1:
        return {"wavelength": parts[0], "ka2_ratio": 0.0}
    if len(parts) == 3:
        return {"wavelength": parts[0], "wavelength_ka2": parts[1], "ka2_ratio": parts[2]}
    raise InputError(f"--wavelength {text!r}: give 1 or 3 numbers")


def _read(
    path: Path,
    sample: str,
    rad: dict[str, float] | None,
    prm: Path | None,
    scan_range: int | None = None,
) -> Any:
    import charact.xrd  # noqa: F401  (registers the XRD readers)
    from charact.core.readers import find_reader, read

    reader = find_reader(path, technique="xrd")
    opts: dict[str, Any] = {}
    if prm is not None and "instrument_file" in reader.options:
        opts["instrument_file"] = prm
    if rad is not None and reader.name == "xrd-gsas" and prm is None:
        opts["wavelength"] = rad["wavelength"]
    if scan_range is not None:
        opts["scan_range"] = scan_range  # readers without ranges refuse it by name
    return read(path, technique="xrd", sample_id=sample, **opts)


def _save_plot(result: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.store import atomic_write
    from ..xrd.plot import plot_identification

    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{path}: plot files must end in .png, .svg or .pdf")
    fig, ax = plt.subplots(figsize=(11, 6.5))
    plot_identification(result, ax=ax)
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=path.suffix.lower().lstrip("."), dpi=150)
    plt.close(fig)


def _run(
    files: list[Path],
    *,
    phases: str | None,
    phases_dir: Path | None,
    standard: str,
    correction: str,
    wavelength: str | None,
    instrument: Path | None,
    prm: Path | None,
    profile: str,
    radius: float | None,
    sample: str,
    force: bool,
    ka2: str = "fit",
    scan_range: int | None = None,
    broad_lines: bool = False,
) -> list[Any]:
    from ..xrd.analyze import InstrumentProfile, identify_phases
    from ..xrd.phases import load_phase_library

    names = [p.strip() for p in phases.split(",") if p.strip()] if phases else None
    lib = load_phase_library(names, phases_dir=phases_dir)
    rad = parse_wavelength(wavelength)
    inst = None
    if instrument is not None:
        try:
            inst = InstrumentProfile.from_dict(json.loads(instrument.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InputError("no such instrument profile file", path=instrument) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"not JSON ({exc})", path=instrument) from None
    std = None if standard.lower() == "none" else standard
    out = []
    for f in files:
        da = _read(f, sample, rad, prm, scan_range)
        res = identify_phases(
            da,
            library=lib,
            standard=std,
            correction=correction,
            instrument=inst,
            profile=profile,
            ka2=ka2,
            broad_lines=broad_lines,
            goniometer_radius_mm=radius,
            force=names if force and names else (),
            **(rad or {}),
        )
        out.append(res)
    return out


def _print_result(res: Any) -> None:
    from rich.table import Table

    rad = res.radiation
    console.print(
        f"[bold]{res.source_file}[/bold]  λ(Kα1) = {rad.ka1:.6g} Å"
        + (
            f", Kα2 {rad.ka2:.6g} Å × {rad.ka2_ratio:g} ({rad.ka2_handling})"
            if rad.doublet
            else ", Kα1 only"
        )
        + f"  ({rad.source})",
        highlight=False,
    )
    t = Table("phase", "present", "score", "lines", "a (Å)", "b (Å)", "c (Å)", "size (nm)")
    for ph in res.phases:
        if not ph.present and ph.score < 0.25:
            continue
        lat = ph.lattice or {}
        t.add_row(
            ph.name + (" (std)" if ph.role == "standard" else ""),
            "yes" if ph.present else "no",
            f"{ph.score:.2f}",
            f"{ph.lines_matched}/{ph.lines_expected}",
            _pm(lat.get("a"), lat.get("a_stderr")),
            _pm(lat.get("b"), lat.get("b_stderr")) if ph.crystal_system not in ("cubic",) else "",
            _pm(lat.get("c"), lat.get("c_stderr")) if ph.crystal_system != "cubic" else "",
            _fmt(ph.scherrer_nm, 3),
        )
    console.print(t)
    c = res.corrections
    console.print(
        f"correction: {c['model']} ({c['calibrated_on']})"
        + (f", displacement {c['displacement_mm']:.4g} mm" if c.get("displacement_mm") else "")
        + (f", zero {c['zero_shift_deg']:.4g}°" if c.get("zero_shift_deg") else ""),
        highlight=False,
    )
    if res.si_to_cu_ratio is not None:
        console.print(f"Si(111)/Cu(111) integrated intensity: {res.si_to_cu_ratio:.4g}")
    un = res.unindexed_peaks
    if un:
        console.print(
            f"{len(un)} unindexed peak(s) at "
            + ", ".join(f"{p.two_theta:.3f}°" for p in un[:12])
            + (" …" if len(un) > 12 else "")
        )
    for fl in res.flags:
        err_console.print(f"[yellow]note:[/yellow] {fl}", highlight=False)


def _outputs(results: list[Any], json_path: Path | None, plot: Path | None, as_json: bool) -> None:
    from ..core.store import save_json

    many = len(results) > 1
    for res in results:
        stem = Path(res.source_file).stem or "pattern"
        if json_path is not None:
            save_json(res.to_dict(), _outpath(json_path, stem, many))
        if plot is not None:
            _save_plot(res, _outpath(plot, stem, many))
    if as_json:
        docs = [r.to_dict() for r in results]
        print_json(docs[0] if len(docs) == 1 else docs)


FilesArg = typer.Argument(
    ..., help="Diffraction patterns (.brml, .raw, .xrdml, .ras, .XRA, .xy …)."
)


def _report(results: list[Any], json_path: Path | None, plot: Path | None, as_json: bool) -> None:
    """Print each result (unless JSON goes to stdout) and write the requested outputs."""
    if not as_json:
        for r in results:
            _print_result(r)
    _outputs(results, json_path, plot, as_json)


@app.command()
def identify(
    files: list[Path] = FilesArg,
    phases: str | None = typer.Option(None, "--phases", help=_PHASES_HELP),
    phases_dir: Path | None = typer.Option(None, "--phases-dir", help="Folder of extra CIFs."),
    standard: str = typer.Option("auto", "--standard", help=_STD_HELP),
    correction: str = typer.Option("auto", "--correction", help=_CORR_HELP),
    wavelength: str | None = typer.Option(None, "--wavelength", help=_WL_HELP),
    instrument: Path | None = typer.Option(
        None, "--instrument", help="Instrument profile JSON from `charact xrd instrument`."
    ),
    prm: Path | None = typer.Option(None, "--prm", help="GSAS instrument file (.prm) for .XRA."),
    profile: str = typer.Option(
        "pseudo_voigt", "--profile", help="pseudo_voigt or split_pseudo_voigt (asymmetric)."
    ),
    ka2: str = typer.Option("fit", "--ka2", help=_KA2_HELP),
    scan_range: int | None = typer.Option(None, "--scan-range", help=_RANGE_HELP),
    broad_lines: bool = typer.Option(False, "--broad-lines", help=_BROAD_HELP),
    radius: float | None = typer.Option(
        None, "--radius-mm", help="Goniometer radius in mm (default: from the file)."
    ),
    sample: str = typer.Option("", "--sample", help="Sample ID stored in the result."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the result document here."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a figure (.png/.svg/.pdf)."),
    as_json: bool = typer.Option(False, "--print-json", help="Print the document on stdout."),
) -> None:
    """Identify phases, index every peak (hkl), refine lattices and sizes."""
    _report(
        _run(
            files,
            phases=phases,
            phases_dir=phases_dir,
            standard=standard,
            correction=correction,
            wavelength=wavelength,
            instrument=instrument,
            prm=prm,
            profile=profile,
            radius=radius,
            sample=sample,
            force=False,
            ka2=ka2,
            scan_range=scan_range,
            broad_lines=broad_lines,
        ),
        json_path,
        plot,
        as_json,
    )


@app.command()
def refine(
    files: list[Path] = FilesArg,
    phases: str = typer.Option(..., "--phases", help="Phases to refine (taken as present)."),
    phases_dir: Path | None = typer.Option(None, "--phases-dir", help="Folder of extra CIFs."),
    standard: str = typer.Option("auto", "--standard", help=_STD_HELP),
    correction: str = typer.Option("auto", "--correction", help=_CORR_HELP),
    wavelength: str | None = typer.Option(None, "--wavelength", help=_WL_HELP),
    instrument: Path | None = typer.Option(None, "--instrument", help="Instrument profile JSON."),
    prm: Path | None = typer.Option(None, "--prm", help="GSAS instrument file (.prm) for .XRA."),
    profile: str = typer.Option("pseudo_voigt", "--profile", help="Peak profile."),
    ka2: str = typer.Option("fit", "--ka2", help=_KA2_HELP),
    scan_range: int | None = typer.Option(None, "--scan-range", help=_RANGE_HELP),
    broad_lines: bool = typer.Option(False, "--broad-lines", help=_BROAD_HELP),
    radius: float | None = typer.Option(None, "--radius-mm", help="Goniometer radius (mm)."),
    sample: str = typer.Option("", "--sample", help="Sample ID stored in the result."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the result document here."),
    plot: Path | None = typer.Option(None, "--plot", help="Write a figure (.png/.svg/.pdf)."),
    as_json: bool = typer.Option(False, "--print-json", help="Print the document on stdout."),
) -> None:
    """Refine the lattices of named phases (least squares on indexed peaks, with errors)."""
    _report(
        _run(
            files,
            phases=phases,
            phases_dir=phases_dir,
            standard=standard,
            correction=correction,
            wavelength=wavelength,
            instrument=instrument,
            prm=prm,
            profile=profile,
            radius=radius,
            sample=sample,
            force=True,
            ka2=ka2,
            scan_range=scan_range,
            broad_lines=broad_lines,
        ),
        json_path,
        plot,
        as_json,
    )


@app.command()
def instrument(
    file: Path = typer.Argument(..., help="Pattern of a line-profile standard (LaB6, Si …)."),
    standard: str = typer.Option("LaB6", "--standard", help="The standard's phase name."),
    wavelength: str | None = typer.Option(None, "--wavelength", help=_WL_HELP),
    prm: Path | None = typer.Option(None, "--prm", help="GSAS instrument file (.prm)."),
    json_path: Path = typer.Option(..., "--json", help="Write the instrument profile here."),
) -> None:
    """Measure the instrumental FWHM(2θ) (Caglioti U, V, W) from a standard's pattern."""
    from ..core.store import save_json
    from ..xrd.analyze import fit_instrument_profile

    (res,) = _run(
        [file],
        phases=standard,
        phases_dir=None,
        standard="none",
        correction="auto",
        wavelength=wavelength,
        instrument=None,
        prm=prm,
        profile="pseudo_voigt",
        radius=None,
        sample="",
        force=True,
    )
    prof = fit_instrument_profile(res, standard=standard)
    save_json(prof.to_dict(), json_path)
    console.print(
        f"{file.name}: {standard}, {prof.npeaks} peaks → FWHM² = {prof.U:.4g}·tan²θ "
        f"+ {prof.V:.4g}·tanθ + {prof.W:.4g} (deg²); written to {json_path}",
        highlight=False,
    )


@app.command("phases")
def list_phases(
    phases_dir: Path | None = typer.Option(None, "--phases-dir", help="Folder of extra CIFs."),
) -> None:
    """List the reference phases (built-in and from --phases-dir) with their sources."""
    from rich.table import Table

    from ..xrd.phases import load_phase_library

    t = Table("name", "formula", "system", "a", "c", "source")
    for ph in load_phase_library(phases_dir=phases_dir):
        lat = ph.lattice
        t.add_row(
            ph.name, ph.formula, ph.crystal_system, f"{lat['a']:.4f}", f"{lat['c']:.4f}", ph.source
        )
    console.print(t)
