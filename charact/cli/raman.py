"""``charact raman ...``: fit c-Si, a-Si and carbon D/G bands in spectra and whole maps."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import typer

from ..core.errors import InputError
from ._common import console, err_console, progress_bar

__all__ = ["app"]

app = typer.Typer(
    help="Raman: c-Si / a-Si / carbon D and G bands with uncertainties, spectra and maps.",
    no_args_is_help=True,
)

_MODEL_HELP = (
    "Model: auto (compare candidates by BIC), or a name such as si, c-si, a-si, si-carbon, "
    "carbon-2, carbon-2-bwf, carbon-4, carbon-5, c-si+carbon-5 (see `charact raman models`)."
)
_BASELINE_HELP = (
    "Baseline subtracted before fitting: asls, arpls, airpls, modpoly, imodpoly, snip, linear "
    "(pybaselines), or none (default: only a polynomial fitted with the bands)."
)


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _pm(v: Any, e: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if e is None or (isinstance(e, float) and not math.isfinite(e)):
        return _fmt(v, digits)
    return f"{_fmt(v, digits)} ± {_fmt(e, 2)}"


def _outpath(path: Path, stem: str, many: bool) -> Path:
    return path.with_name(f"{path.stem}_{stem}{path.suffix}") if many else path


def _savefig(fig: Any, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..core.store import atomic_write

    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{path}: plot files must end in .png, .svg or .pdf")
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=path.suffix.lower().lstrip("."), dpi=150)
    plt.close(fig)


def _read(path: Path, sample: str, laser_nm: float | None) -> Any:
    import charact.raman  # noqa: F401  (registers the Raman readers)
    from charact.core.readers import read

    opts = {} if laser_nm is None else {"laser_wavelength": laser_nm}
    return read(path, technique="raman", sample_id=sample, **opts)


def _baseline(name: str | None) -> str | None:
    return None if name in (None, "none") else name


@app.command()
def fit(
    files: list[Path] = typer.Argument(
        ..., help="Raman spectra (text/CSV exports, .spc, single-spectrum .wdf or LabSpec .xml)."
    ),
    model: str = typer.Option("auto", "--model", "-m", help=_MODEL_HELP),
    baseline: str = typer.Option("none", "--baseline", help=_BASELINE_HELP),
    calibrate: Path | None = typer.Option(
        None,
        "--calibrate",
        help="Measured c-Si reference spectrum: shifts the axis so its "
        "phonon sits at --si-reference.",
    ),
    si_reference: float = typer.Option(
        520.5, "--si-reference", help="Unstrained c-Si phonon position in cm^-1."
    ),
    laser_nm: float | None = typer.Option(
        None, "--laser-nm", help="Excitation wavelength in nm (for La; overrides the file)."
    ),
    crop: tuple[float, float] | None = typer.Option(None, "--crop", help="Fit only LO HI (cm^-1)."),
    no_despike: bool = typer.Option(False, "--no-despike", help="Keep cosmic-ray spikes."),
    sample: str = typer.Option("", "--sample", help="Sample ID stored with the result."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the result document."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Write a figure (.png/.svg/.pdf); one per file when several."
    ),
) -> None:
    """Fit band models to spectra; print peaks, I_D/I_G, the Si state and fit quality."""
    from rich.table import Table

    from ..core.store import save_json
    from ..raman.fit import calibrate_shift, fit_spectrum

    calibration = None
    if calibrate is not None:
        calibration = calibrate_shift(_read(calibrate, "", None), reference=si_reference)
        console.print(
            f"calibration: c-Si in {calibrate.name} at {calibration.measured:.3f} ± "
            f"{calibration.measured_stderr:.3f} cm^-1 -> offset {calibration.offset:+.3f} "
            f"cm^-1 (reference {si_reference} cm^-1)"
        )
    docs = []
    many = len(files) > 1
    with progress_bar("Fitting", enabled=many) as update:
        for k, path in enumerate(files):
            update(k, len(files), path.name)
            da = _read(path, sample, laser_nm)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                result = fit_spectrum(
                    da,
                    model=model,
                    baseline=_baseline(baseline),
                    calibration=calibration,
                    laser_nm=laser_nm,
                    crop_range=crop,
                    despike_spectrum=not no_despike,
                    reference=si_reference,
                )
            doc = result.to_dict()
            docs.append(doc)
            table = Table(title=f"{path.name}: model {result.model.name}")
            for col in ("band", "center (cm^-1)", "FWHM (cm^-1)", "height", "area"):
                table.add_column(col, justify="right" if col != "band" else "left")
            for name, p in result.peaks.items():
                table.add_row(
                    name,
                    *[_pm(p[q], p[f"{q}_stderr"]) for q in ("center", "fwhm", "height", "area")],
                )
            console.print(table)
            r, si, c = result.ratios, result.silicon, result.carbon
            if r.get("ID_IG_height") is not None:
                console.print(
                    f"I_D/I_G by height {_pm(r['ID_IG_height'], r['ID_IG_height_stderr'], 3)}"
                    f", by area {_pm(r['ID_IG_area'], r['ID_IG_area_stderr'], 3)}"
                    + (
                        f"; La {_pm(c['La_nm'], c['La_nm_stderr'], 3)} nm"
                        if c.get("La_nm") is not None
                        else ""
                    )
                )
            line = f"Si: {si['state']}"
            if si.get("crystalline_fraction") is not None:
                line += (
                    f", Xc {_pm(si['crystalline_fraction'], si['crystalline_fraction_stderr'], 3)}"
                    f" (y = {si['y']})"
                )
            if si.get("shift_cm-1") is not None:
                line += (
                    f", c-Si shift {_pm(si['shift_cm-1'], si['shift_cm-1_stderr'], 3)} "
                    f"cm^-1 -> stress {_pm(si['stress_MPa'], si['stress_MPa_stderr'], 3)} MPa"
                )
            console.print(line)
            st = doc["fit"]
            console.print(
                f"fit: redchi {_fmt(st['redchi'])}, R² {_fmt(st['r2'])}, BIC {_fmt(st['bic'])}"
                f", baseline {doc['baseline']['method']}"
                + ("" if st["success"] else " [red]did not converge[/red]")
            )
            for flag in doc["flags"]:
                err_console.print(f"[yellow]note:[/yellow] {flag}", highlight=False)
            if plot is not None:
                from ..raman.plot import plot_fit

                ax = plot_fit(result)
                _savefig(ax.figure, _outpath(plot, path.stem, many))
        update(len(files), len(files), "")
    if json_path is not None:
        save_json(docs[0] if len(docs) == 1 else {"results": docs}, json_path)
        console.print(f"wrote {json_path}")


@app.command("map")
def map_(
    file: Path = typer.Argument(
        ..., help="Raman map: long (X Y Wave Intensity) or wide text export, .wdf, LabSpec .xml."
    ),
    out: Path = typer.Option(..., "--out", help="netCDF file for the fitted maps (.nc)."),
    model: str = typer.Option(
        "si-carbon",
        "--model",
        "-m",
        help=_MODEL_HELP + " On maps, auto chooses the model pixel by pixel.",
    ),
    baseline: str = typer.Option("none", "--baseline", help=_BASELINE_HELP),
    calibrate: Path | None = typer.Option(
        None, "--calibrate", help="Measured c-Si reference spectrum for the shift axis."
    ),
    si_reference: float = typer.Option(
        520.5, "--si-reference", help="Unstrained c-Si phonon position in cm^-1."
    ),
    laser_nm: float | None = typer.Option(
        None, "--laser-nm", help="Excitation wavelength in nm (for La)."
    ),
    chunk_pixels: int = typer.Option(
        2500,
        "--chunk-pixels",
        help="Pixels fitted and written per block (whole rows); memory is bounded by one block.",
    ),
    sample: str = typer.Option("", "--sample", help="Sample ID stored with the result."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON summary."),
    plot: Path | None = typer.Option(None, "--plot", help="Write parameter images (.png/.svg)."),
) -> None:
    """Fit every pixel of a map block by block; write the parameter images as netCDF."""
    from rich.table import Table

    from ..core.store import load_netcdf, save_json
    from ..raman.fit import calibrate_shift
    from ..raman.maps import fit_map_to_netcdf

    if out.suffix.lower() not in (".nc", ".nc4", ".h5"):
        raise InputError(f"{out}: the map result is netCDF; name it .nc")
    if plot is not None and plot.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{plot}: plot files must end in .png, .svg or .pdf")
    cube = _read(file, sample, laser_nm)
    if cube.ndim != 3:
        raise InputError(f"{file}: this is a single spectrum, not a map; use `charact raman fit`")
    calibration = None
    if calibrate is not None:
        calibration = calibrate_shift(_read(calibrate, "", None), reference=si_reference)
    ny = int(cube.sizes["y"])
    with (
        progress_bar("Fitting rows", enabled=ny * cube.sizes["x"] > chunk_pixels) as update,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", RuntimeWarning)
        summary = fit_map_to_netcdf(
            cube,
            out,
            chunk_pixels=chunk_pixels,
            progress=lambda done, total: update(done, total, ""),
            model=model,
            baseline=_baseline(baseline),
            calibration=calibration,
            laser_nm=laser_nm,
            reference=si_reference,
        )
    table = Table(
        title=f"{file.name}: {summary['pixels_fitted']}/{summary['pixels']} pixels "
        f"fitted, model {model}"
    )
    for col in ("quantity", "mean", "std", "min", "max"):
        table.add_column(col, justify="left" if col == "quantity" else "right")
    for name, s in summary["statistics"].items():
        if name.endswith(".area"):
            continue
        table.add_row(name, *[_fmt(s[k]) for k in ("mean", "std", "min", "max")])
    console.print(table)
    console.print(
        "Si state: " + ", ".join(f"{k} {v}" for k, v in summary["si_state_counts"].items())
    )
    for region, counts in summary.get("model_choice_counts", {}).items():
        console.print(
            f"models chosen ({region}): " + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        )
    if summary["pixels_failed"]:
        first = summary["pixels_failed"][0]
        err_console.print(
            f"[yellow]note:[/yellow] {len(summary['pixels_failed'])} pixel(s) failed, e.g. "
            f"x={first['x_um']:g} µm, y={first['y_um']:g} µm: {first['reason']}",
            highlight=False,
        )
    console.print(f"wrote {out}")
    if json_path is not None:
        save_json(summary, json_path)
        console.print(f"wrote {json_path}")
    if plot is not None:
        from ..raman.plot import plot_map_overview

        axes = plot_map_overview(load_netcdf(out))
        _savefig(axes[0].figure, plot)


@app.command()
def models(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the band models (names usable with --model, combinable with '+')."""
    from rich.table import Table

    from ..raman.models import MODELS, model_bands
    from ._common import print_json

    rows = [
        {"model": name, "bands": [f"{b.name} ({b.lineshape})" for b in model_bands(name)]}
        for name in MODELS
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="Raman models")
    table.add_column("model")
    table.add_column("bands")
    for r in rows:
        table.add_row(r["model"], ", ".join(r["bands"]))
    console.print(table)
