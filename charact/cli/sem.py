"""``charact sem ...``: particle size distributions and layer thicknesses from SEM images."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import typer

from ..core.errors import InputError
from ._common import console

__all__ = ["app"]

app = typer.Typer(
    help="SEM: calibrated particle size distributions and layer thicknesses.",
    no_args_is_help=True,
)

_PIXEL_HELP = (
    "Pixel size with its unit (e.g. 4.47nm, 0.5um); overrides the file's metadata "
    "(a disagreement above 2% is warned about)."
)
_BAR_HELP = (
    "Physical length of the scale bar in the databar (e.g. 300nm): the bar is measured in "
    "pixels and calibrates files without metadata; with metadata it is a cross-check."
)


def _load(path: Path, pixel_size: str | None, scale_bar: str | None, sample: str) -> Any:
    import charact.sem  # noqa: F401  (registers the SEM readers)
    from charact.core.readers import read
    from charact.sem.calibration import calibrate_from_scale_bar

    opts: dict[str, Any] = {}
    if pixel_size is not None:
        opts["pixel_size"] = pixel_size
    image = read(path, technique="sem", sample_id=sample, **opts)
    if scale_bar is not None:
        with warnings.catch_warnings():  # the same file again: its warnings were given
            warnings.simplefilter("ignore")
            full = read(path, technique="sem", crop_databar=False, **opts)
        rows = int(image.attrs.get("databar_rows", 0))
        top = full.shape[0] - rows if rows else None
        calibrated = calibrate_from_scale_bar(image, full.values, scale_bar, databar_top=top)
        calibrated.attrs.update({k: image.attrs[k] for k in ("source_file", "source_sha256")})
        image = calibrated
    return image


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _outpath(path: Path, stem: str, many: bool) -> Path:
    return path.with_name(f"{path.stem}_{stem}{path.suffix}") if many else path


def _savefig(ax: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    from charact.core.store import atomic_write

    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{path}: plot files must end in .png, .svg or .pdf")
    with atomic_write(path, "wb") as fh:
        ax.figure.savefig(fh, format=path.suffix.lower().lstrip("."), dpi=150)
    plt.close(ax.figure)


@app.command()
def size(
    images: list[Path] = typer.Argument(..., help="SEM image files (TIFF, PNG, JPEG, BMP)."),
    pixel_size: str | None = typer.Option(None, "--pixel-size", help=_PIXEL_HELP),
    scale_bar: str | None = typer.Option(None, "--scale-bar", help=_BAR_HELP),
    bright: bool = typer.Option(
        True, "--bright/--dark", help="Particles brighter (default) or darker than background."
    ),
    min_size: str | None = typer.Option(
        None,
        "--min-size",
        help="Smallest equivalent diameter kept, as a length (50nm) or pixels (8).",
    ),
    no_watershed: bool = typer.Option(
        False, "--no-watershed", help="Do not split touching particles."
    ),
    split_depth: float = typer.Option(
        0.15,
        "--split-depth",
        help="Watershed marker depth as a fraction of the typical particle radius; larger "
        "splits less.",
    ),
    threshold: str = typer.Option("otsu", "--threshold", help="otsu, li or local."),
    local_block: int = typer.Option(
        101,
        "--local-block",
        help="Background window (px) of --threshold local; wider than any particle.",
    ),
    denoise: str = typer.Option("gaussian", "--denoise", help="gaussian, nlmeans or none."),
    denoise_sigma: float = typer.Option(
        1.0, "--denoise-sigma", help="Gaussian denoising width in px."
    ),
    opening: int = typer.Option(
        1, "--opening", help="Radius (px) of the opening that removes speckle; 0 for none."
    ),
    fill_holes: bool = typer.Option(
        True, "--fill-holes/--no-fill-holes", help="Fill holes inside particles."
    ),
    keep_edge: bool = typer.Option(
        False, "--keep-edge", help="Keep particles cut by the image edge."
    ),
    edge_correction: bool = typer.Option(
        True,
        "--edge-correction/--no-edge-correction",
        help="Miles-Lantuejoul weights for excluded edge particles.",
    ),
    volume: bool = typer.Option(False, "--volume", help="Also report volume-weighted D-values."),
    sample: str = typer.Option("", "--sample", help="Sample ID stored with the result."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the result document."),
    plot: Path | None = typer.Option(None, "--plot", help="Histogram with lognormal (PNG/SVG)."),
    overlay: Path | None = typer.Option(None, "--overlay", help="Outlines over the image (PNG)."),
    csv: Path | None = typer.Option(None, "--csv", help="Per-particle table (CSV)."),
) -> None:
    """Particle size distribution: count, ECD mean/D10/D50/D90, shape, lognormal fit."""
    from rich.table import Table

    from charact.core.store import atomic_write, save_json
    from charact.sem.analyze import quantify_particles

    many = len(images) > 1
    docs = []
    results = []
    table = Table(title="SEM particle sizes (ECD; µm, or px where uncalibrated)")
    for col in ("file", "n", "edge", "mean", "D10", "D50", "D90", "D50 95% CI", "lognormal"):
        table.add_column(col, justify="left" if col == "file" else "right")
    for path in images:
        image = _load(path, pixel_size, scale_bar, sample)
        res = quantify_particles(
            image,
            polarity="bright" if bright else "dark",
            min_size=_min_size(min_size),
            watershed=not no_watershed,
            split_depth=split_depth,
            threshold=threshold,
            local_block_px=local_block,
            denoise=denoise,
            denoise_sigma_px=denoise_sigma,
            opening_px=opening,
            fill_holes=fill_holes,
            exclude_edge=not keep_edge,
            edge_correction=edge_correction,
            volume_weighted=volume,
        )
        doc = res.to_dict()
        doc["file"] = str(path)
        docs.append(doc)
        results.append(res)
        _add_size_row(table, path.name, res, doc)
        console.print(
            f"{path.name}: pixel size {_fmt(res.pixel_size_nm)} nm ({res.pixel_size_source})"
            + ("" if res.calibrated else ": sizes in pixels"),
            highlight=False,
        )
        for flag in res.flags:
            console.print(f"[yellow]note:[/yellow] {path.name}: {flag}", highlight=False)
        if overlay is not None:
            from charact.sem.plot import plot_overlay

            _savefig(plot_overlay(image, res), _outpath(overlay, path.stem, many))
        if plot is not None:
            from charact.sem.plot import plot_size_histogram

            _savefig(plot_size_histogram(res), _outpath(plot, path.stem, many))
        if csv is not None:
            with atomic_write(_outpath(csv, path.stem, many)) as fh:
                fh.write(res.to_csv())
    pooled = None
    if many and len({r.unit for r in results}) > 1:
        console.print(
            "[yellow]note:[/yellow] not pooled: some images have a pixel size and some do not",
            highlight=False,
        )
    elif many:
        from charact.sem.analyze import pool_results

        pooled = pool_results(results, volume_weighted=volume)
        _add_size_row(table, f"all {len(results)} images", pooled, pooled.to_dict())
        if plot is not None:
            from charact.sem.plot import plot_size_histogram

            _savefig(plot_size_histogram(pooled), _outpath(plot, "pooled", True))
    console.print(table)
    if json_path is not None:
        if pooled is None:
            save_json(docs[0], json_path)
        else:
            save_json(
                {"analysis": "sem.size", "images": docs, "pooled": pooled.to_dict()}, json_path
            )
        console.print(f"wrote {json_path}")


def _add_size_row(table: Any, name: str, res: Any, doc: dict[str, Any]) -> None:
    u = res.unit
    ecd = doc[f"ecd_{u}"]
    ci = doc[f"d50_ci95_{u}"]
    ln = doc["lognormal"]
    table.add_row(
        name,
        str(res.n_particles),
        str(res.n_excluded_edge),
        _fmt(ecd["mean"]),
        _fmt(ecd["d10"]),
        _fmt(ecd["d50"]),
        _fmt(ecd["d90"]),
        f"{_fmt(ci[0])}–{_fmt(ci[1])}",
        f"{_fmt(ln[f'median_{u}'])} σ{_fmt(ln['sigma'], 2)}",
    )


def _min_size(text: str | None) -> str | float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text


@app.command()
def thickness(
    image_path: Path = typer.Argument(..., help="Cross-section image (layers stacked vertically)."),
    pixel_size: str | None = typer.Option(None, "--pixel-size", help=_PIXEL_HELP),
    scale_bar: str | None = typer.Option(None, "--scale-bar", help=_BAR_HELP),
    layer: int | None = typer.Option(
        None,
        "--layer",
        help="Grey class of the layer to measure: 0 = darkest (default: the band between "
        "two others).",
    ),
    classes: int = typer.Option(3, "--classes", help="Number of grey classes (multi-Otsu)."),
    smooth: float = typer.Option(
        1.0, "--smooth", help="Smoothing (px) of the copy used to find the layer."
    ),
    margin: float | None = typer.Option(
        None,
        "--margin",
        help="Rows fitted on either side of each interface (default: 4 x the fitted blur).",
    ),
    tilt_deg: float = typer.Option(
        0.0,
        "--tilt-deg",
        help="Tilt of the cross-section face from normal to the beam, in degrees "
        "(thickness / cos tilt).",
    ),
    sample: str = typer.Option("", "--sample", help="Sample ID stored with the result."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the result document."),
    plot: Path | None = typer.Option(None, "--plot", help="Interfaces over the image (PNG/SVG)."),
) -> None:
    """Layer thickness of a cross-section: mean, std, min, max over every column."""
    from rich.table import Table

    from charact.core.store import save_json
    from charact.sem.analyze import measure_thickness

    image = _load(image_path, pixel_size, scale_bar, sample)
    res = measure_thickness(
        image,
        layer=layer,
        n_classes=classes,
        tilt_deg=tilt_deg,
        smooth_px=smooth,
        margin_px=margin,
    )
    doc = res.to_dict()
    doc["file"] = str(image_path)
    st = res.stats()
    unit = "µm" if res.unit == "um" else "px"
    table = Table(title=f"SEM layer thickness ({image_path.name}, grey class {res.layer})")
    for col in ("pixel size", "columns", f"mean ({unit})", "std", "min", "max", "blur (px)"):
        table.add_column(col, justify="right")
    table.add_row(
        f"{_fmt(res.pixel_size_nm)} nm ({res.pixel_size_source})",
        str(res.n_columns),
        _fmt(st["mean"]),
        _fmt(st["std"], 3),
        _fmt(st["min"]),
        _fmt(st["max"]),
        _fmt(res.blur_px, 2),
    )
    console.print(table)
    for flag in res.flags:
        console.print(f"[yellow]note:[/yellow] {flag}", highlight=False)
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from charact.sem.plot import plot_thickness, plot_thickness_profile

        ny, nx = image.shape
        _fig, (ax_img, ax_prof) = plt.subplots(
            2,
            1,
            figsize=(8, 8 * ny / max(nx, 1) + 3),
            height_ratios=(max(ny / max(nx, 1), 0.2), 0.35),
            constrained_layout=True,
        )
        plot_thickness(image, res, ax=ax_img)
        plot_thickness_profile(res, ax=ax_prof)
        _savefig(ax_img, plot)
    if json_path is not None:
        save_json(doc, json_path)
        console.print(f"wrote {json_path}")
