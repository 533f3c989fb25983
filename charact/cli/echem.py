"""``charact echem ...``: cycling, CV, impedance (KK, circuits, DRT), conductivity, Arrhenius."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ..core.errors import InputError
from ._common import console, err_console

app = typer.Typer(
    help="Electrochemistry: cycling/CE/rate, CV peaks, EIS (Kramers-Kronig, equivalent "
    "circuits, DRT), conductivity and Arrhenius.",
    no_args_is_help=True,
)

SampleOpt = typer.Option("", "--sample", help="Sample ID to record.")
JsonOpt = typer.Option(None, "--json", help="Write the result document (JSON).")
PlotOpt = typer.Option(None, "--plot", help="Write a figure (.png or .svg).")


def _read(path: Path, sample: str) -> Any:
    import charact.echem  # noqa: F401  (registers the echem readers)

    from ..core.readers import read

    return read(path, technique="echem", sample_id=sample)


def _figure(n: int = 1) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(6 * n, 4))
    return fig, (axes if n > 1 else [axes])


def _save_plot(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    from ..core.store import atomic_write

    ext = path.suffix.lower()
    if ext not in (".png", ".svg"):
        raise InputError(f"--plot {path}: expected a .png or .svg file name")
    fig.tight_layout()
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format=ext[1:], dpi=150, bbox_inches="tight")
    plt.close(fig)


def _fmt(v: Any, nd: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return f"{v:.{nd}g}"


def _save_json(doc: Any, path: Path | None) -> None:
    if path is not None:
        from ..core.store import save_json

        save_json(doc, path)
        console.print(f"wrote {path}")


@app.command()
def cycling(
    file: Path = typer.Argument(..., help="Cycler file (.mpr/.mpt, LAND/Arbin .xlsx, .ndax …)."),
    mass_mg: float = typer.Option(None, "--mass-mg", help="Active mass in mg (for mAh/g)."),
    area_cm2: float = typer.Option(None, "--area-cm2", help="Electrode area in cm² (mAh/cm²)."),
    electrode: str = typer.Option(
        "auto",
        "--electrode",
        help="anode (CE = delithiation/lithiation), cathode "
        "(CE = discharge/charge) or auto (from the voltage range; printed).",
    ),
    reference_cycle: int = typer.Option(1, "--reference-cycle", help="Cycle = 100 % retention."),
    dqdv: bool = typer.Option(False, "--dqdv", help="Also report dQ/dV peak potentials."),
    sample: str = SampleOpt,
    json_path: Path = JsonOpt,
    plot: Path = PlotOpt,
) -> None:
    """Per-cycle capacities, Coulombic efficiency, retention and rate table."""
    from ..echem.cycling import quantify_cycling

    ds = _read(file, sample)
    if ds.attrs.get("measurement_type") == "eis":
        raise InputError(f"{file}: is an impedance file; use `charact echem eis`")
    res = quantify_cycling(
        ds,
        electrode=electrode,
        mass_mg=mass_mg,
        area_cm2=area_cm2,
        reference_cycle=reference_cycle,
        dqdv=dqdv,
    )
    spec = res.mass_mg is not None
    table = Table(title=f"{file.name}: {res.ce_convention}")
    cols = ["cycle", "charge (mAh)", "discharge (mAh)"]
    cols += ["charge (mAh/g)", "discharge (mAh/g)"] if spec else []
    cols += ["CE (%)", "retention (%)"]
    for c in cols:
        table.add_column(c, justify="right")
    # A long test prints its first and last cycles; --json holds every one.
    shown = res.cycles if len(res.cycles) <= 24 else [*res.cycles[:12], None, *res.cycles[-10:]]
    for c in shown:
        if c is None:
            table.add_row("…", *[""] * (len(cols) - 1))
            continue
        row = [str(c["cycle"]), _fmt(c["charge_mAh"]), _fmt(c["discharge_mAh"])]
        if spec:
            row += [_fmt(c["charge_mAh_g"]), _fmt(c["discharge_mAh_g"])]
        ce = c["coulombic_efficiency"]
        ret = c["retention"]
        row += [_fmt(None if ce is None else 100 * ce), _fmt(None if ret is None else 100 * ret)]
        table.add_row(*row)
    console.print(table)
    console.print(f"electrode: {res.electrode} ({res.electrode_source})")
    if res.initial_partial_step:
        p = res.initial_partial_step
        console.print(
            f"initial partial {p['direction']} from OCV: {_fmt(p['capacity_mAh'])} mAh"
            " (not paired with cycle 1)"
        )
    ice = res.initial_ce
    console.print(f"initial CE: {_fmt(None if ice is None else 100 * ice)} %")
    for flag in res.flags:
        console.print(f"[yellow]note:[/yellow] {flag}")
    _save_json(res.to_dict(), json_path)
    if plot is not None:
        from ..echem.cycling import _dqdv, find_half_cycles, voltage_profile
        from ..echem.plot import plot_capacity, plot_dqdv, plot_voltage_profiles

        fig, axes = _figure(3)
        plot_capacity(res, ax=axes[0])
        halves = find_half_cycles(ds)
        chosen = {res.cycles[0]["cycle"], res.cycles[-1]["cycle"]}
        if len(res.cycles) > 1:
            chosen.add(res.cycles[1]["cycle"])
        profiles = []
        for c in res.cycles:
            if c["cycle"] in chosen:
                for hi in c["half_cycles"]:
                    q, v = voltage_profile(ds, halves[hi])
                    profiles.append((q * 1e3, v, f"cycle {c['cycle']} {halves[hi].kind}"))
        plot_voltage_profiles(profiles, ax=axes[1])
        for hi in res.cycles[0]["half_cycles"]:
            with contextlib.suppress(InputError):
                plot_dqdv(_dqdv(ds, halves[hi], 0.03, 3, 400, 0.05), ax=axes[2])
        _save_plot(fig, plot)


@app.command()
def cv(
    files: list[Path] = typer.Argument(..., help="CV file(s) (.mpr/.mpt …), one per scan rate."),
    prominence: float = typer.Option(
        0.005, "--prominence", help="Peak prominence, fraction of the cycle's current range."
    ),
    scan_rates: str = typer.Option(
        None,
        "--scan-rates",
        help="Scan rates in V/s, one per file (default: measured from each record).",
    ),
    n_electrons: int = typer.Option(None, "--n-electrons", help="n for Randles–Sevcik."),
    area_cm2: float = typer.Option(None, "--area-cm2", help="Electrode area for Randles–Sevcik."),
    conc: float = typer.Option(
        None, "--conc-mol-cm3", help="Bulk concentration (mol/cm³) for Randles–Sevcik."
    ),
    sample: str = SampleOpt,
    json_path: Path = JsonOpt,
    plot: Path = PlotOpt,
) -> None:
    """Anodic and cathodic peaks per cycle, tracked over cycles; with several files (scan
    rates), the b-value of each peak (and D by Randles–Sevcik given n, area, concentration)."""
    from ..echem.cv import analyze_scan_rates, find_cv_peaks

    if len(files) == 1:
        given = [
            name
            for name, value in (
                ("--scan-rates", scan_rates),
                ("--n-electrons", n_electrons),
                ("--area-cm2", area_cm2),
                ("--conc-mol-cm3", conc),
            )
            if value is not None
        ]
        if given:
            err_console.print(
                f"[yellow]warning:[/yellow] {', '.join(given)} ignored: the scan-rate analysis "
                "(b-value, Randles–Sevcik) needs several files, one per scan rate",
                highlight=False,
            )
    records = [_read(f, sample) for f in files]
    results = [find_cv_peaks(ds, prominence=prominence) for ds in records]
    for file, res in zip(files, results, strict=True):
        table = Table(title=f"{file.name}: CV peaks (scan rate {_fmt(res.scan_rate_V_s, 3)} V/s)")
        for c in ("cycle", "cathodic peaks (V)", "anodic peaks (V)"):
            table.add_column(c, justify="right")
        for c in res.cycles:
            table.add_row(
                str(c["cycle"]),
                ", ".join(f"{v:.3f}" for v in c["cathodic_peaks_V"]),
                ", ".join(f"{v:.3f}" for v in c["anodic_peaks_V"]),
            )
        console.print(table)
        long = [t for t in res.tracks if len(t["cycles"]) > 1]
        for t in long:
            console.print(
                f"  track {t['name']} ({t['direction']}): cycles {t['cycles'][0]}–"
                f"{t['cycles'][-1]}, E {_fmt(t['mean_E_V'], 3)} V, drift "
                f"{_fmt(1e3 * t['shift_V_per_cycle'], 3)} mV/cycle"
            )
    doc: dict[str, Any] = results[0].to_dict()
    if len(records) > 1:
        rates = _floats(scan_rates, "--scan-rates")
        sr = analyze_scan_rates(
            results,
            scan_rates_V_s=rates,
            n_electrons=n_electrons,
            area_cm2=area_cm2,
            concentration_mol_cm3=conc,
        )
        table = Table(title="peaks over scan rates: i_p = a·v^b")
        for c in ("peak", "E (V) at slowest", "b", "± b", "D (cm²/s)"):
            table.add_column(c, justify="right")
        for p in sr["peaks"]:
            table.add_row(
                f"{p['name']} ({p['direction']})",
                _fmt(p["E_V"][0], 3),
                _fmt(p.get("b"), 3),
                _fmt(p.get("b_stderr"), 2),
                _fmt(p.get("D_cm2_s"), 3),
            )
        console.print(table)
        doc = {
            "analysis": "echem.cv",
            "files": [r.to_dict() for r in results],
            "scan_rate_analysis": sr,
        }
    _save_json(doc, json_path)
    if plot is not None:
        from ..echem.plot import plot_cv

        fig, (ax,) = _figure()
        for ds, res in zip(records, results, strict=True):
            plot_cv(ds, res, ax=ax)
        _save_plot(fig, plot)


@app.command()
def eis(
    file: Path = typer.Argument(..., help="Impedance file (.mpr/.mpt, Gamry .DTA, f/Re/Im CSV)."),
    circuit: str = typer.Option(
        None, "--circuit", help="Circuit string, e.g. 'R0-p(R1,CPE1)-p(R2,CPE2)-W1'."
    ),
    drt: bool = typer.Option(False, "--drt", help="Compute the DRT (λ by GCV and L-curve)."),
    drt_method: str = typer.Option(
        "gcv", "--drt-method", help="λ used for γ: gcv, lcurve, or fixed (with --drt-lambda)."
    ),
    drt_lambda: float = typer.Option(None, "--drt-lambda", help="λ for --drt-method fixed."),
    spectrum: int = typer.Option(
        None, "--spectrum", help="Which spectrum of a multi-spectrum file (default: the only one)."
    ),
    series: bool = typer.Option(
        False, "--series", help="Fit --circuit to every spectrum of the file, warm-started."
    ),
    labels: str = typer.Option(
        None,
        "--arc-labels",
        help="Names of the arcs in τ order, comma separated (e.g. R_SEI,R_ct).",
    ),
    sample: str = SampleOpt,
    json_path: Path = JsonOpt,
    plot: Path = PlotOpt,
) -> None:
    """Kramers-Kronig check, then an equivalent-circuit fit and/or the DRT."""
    from ..echem.drt import fit_drt
    from ..echem.eis import check_kramers_kronig, fit_circuit
    from ..echem.io import eis_arrays

    ds = _read(file, sample)
    if ds.attrs.get("measurement_type") != "eis":
        raise InputError(
            f"{file}: holds no impedance data (found {ds.attrs.get('measurement_type')})"
        )
    if series:
        _eis_series(ds, file, circuit, labels, json_path)
        return
    f, z = eis_arrays(ds, spectrum=spectrum)
    kk = check_kramers_kronig((f, z))
    doc: dict[str, Any] = {
        "analysis": "echem.eis",
        "file": file.name,
        "sample_id": ds.attrs.get("sample_id", ""),
        "imag_sign_source": ds.attrs.get("imag_sign_source", ""),
        "kk": kk.to_dict(),
    }
    console.print(
        f"{file.name}: {f.size} points, {f.min():.3g}-{f.max():.3g} Hz; "
        f"imaginary part: {ds.attrs.get('imag_sign_source', '')}"
    )
    verdict = "valid" if kk.valid else "[red]NOT valid[/red]"
    console.print(
        f"Kramers-Kronig: mu = {kk.mu:.3f} (M = {kk.n_elements}), max residual "
        f"{100 * kk.max_residual:.2f} % -> {verdict}"
    )
    fitres = None
    # the DRT first: the circuit fit reuses its GCV λ for its starting peaks
    drtres = fit_drt((f, z), method=drt_method, lam=drt_lambda) if drt else None
    if circuit:
        arc_labels = [s.strip() for s in labels.split(",")] if labels else None
        fitres = fit_circuit((f, z), circuit, arc_labels=arc_labels, drt=drtres)
        fitres.fit.provenance.update(
            {
                k: ds.attrs.get(k, "")
                for k in ("sample_id", "source_file", "source_sha256", "reader")
            }
        )
        d = fitres.to_dict()
        doc.update(
            circuit=d["circuit"],
            parameters=d["parameters"],
            time_constants_s=d["time_constants_s"],
            arcs=d["arcs"],
            statistics=d["statistics"],
            flags=d["flags"],
        )
        table = Table(title=f"{circuit}")
        for c in ("parameter", "value", "stderr", "units"):
            table.add_column(c, justify="right")
        for n, p in fitres.parameters.items():
            table.add_row(n, _fmt(p.value), _fmt(p.stderr, 2), p.units)
        for a in fitres.arcs:
            table.add_row(
                f"τ {a['name']} ({a['resistor']})", _fmt(a["tau_s"]), _fmt(a["tau_stderr"], 2), "s"
            )
        console.print(table)
        for flag in d["flags"]:
            console.print(f"[yellow]note:[/yellow] {flag}")
    if drtres is not None:
        doc["drt"] = drtres.to_dict()
        console.print(
            f"DRT: λ = {drtres.lam:.3g} ({drtres.method}; GCV {drtres.lambda_gcv:.3g}, "
            f"L-curve {drtres.lambda_lcurve:.3g}), "
            f"R_inf = {drtres.R_inf:.4g} Ω"
        )
        for p in drtres.peaks:
            console.print(
                f"  peak τ = {p['tau_s']:.3g} s (f = {p['f_Hz']:.3g} Hz), R = {p['R_ohm']:.3g} Ω"
            )
    _save_json(doc, json_path)
    if plot is not None:
        from ..echem.plot import plot_bode, plot_drt, plot_nyquist

        n = 3 if drtres is not None else 2
        fig, axes = _figure(n)
        zf = fitres.z_fit if fitres is not None else None
        ff = fitres.frequency if fitres is not None else f
        zz = fitres.z if fitres is not None else z
        plot_nyquist(ff, zz, zf, ax=axes[0])
        plot_bode(ff, zz, zf, ax=axes[1])
        if drtres is not None:
            plot_drt(drtres, ax=axes[2])
        _save_plot(fig, plot)


@app.command()
def symmetric(
    file: Path = typer.Argument(..., help="Li/Li symmetric-cell cycling file."),
    sample: str = SampleOpt,
    json_path: Path = JsonOpt,
) -> None:
    """Overpotential per half cycle, its growth (mV/h) and a soft-short flag."""
    from ..echem.symmetric import quantify_symmetric_cell

    res = quantify_symmetric_cell(_read(file, sample))
    hc = res.half_cycles
    console.print(
        f"{file.name}: {len(hc)} half cycles over {hc[-1]['time_h']:.1f} h; overpotential "
        f"{hc[0]['overpotential_mV']:.1f} -> {hc[-1]['overpotential_mV']:.1f} mV, growth "
        f"{_fmt(res.growth_mV_per_h)} ± {_fmt(res.growth_stderr, 2)} mV/h"
    )
    for flag in res.flags:
        console.print(f"[yellow]note:[/yellow] {flag}")
    _save_json(res.to_dict(), json_path)


def _eis_series(
    ds: Any, file: Path, circuit: str | None, labels: str | None, json_path: Path | None
) -> None:
    from ..echem.eis import check_kramers_kronig, fit_circuit_series
    from ..echem.io import eis_arrays

    if not circuit:
        raise InputError("--series needs --circuit")
    arc_labels = [s.strip() for s in labels.split(",")] if labels else None
    ids = [int(i) for i in sorted(set(ds["spectrum"].values.tolist()))]
    spectra = [eis_arrays(ds, spectrum=i) for i in ids]
    fits = fit_circuit_series(spectra, circuit, arc_labels=arc_labels)
    table = Table(title=f"{file.name}: {circuit}, {len(ids)} spectra (warm-started)")
    names = [a["name"] for a in fits[0].arcs]
    for c in [
        "spectrum",
        "KK valid",
        *[f"R {n} (Ω)" for n in names],
        *[f"τ {n} (s)" for n in names],
    ]:
        table.add_column(c, justify="right")
    rows = []
    for i, sp, fit in zip(ids, spectra, fits, strict=True):
        kk = check_kramers_kronig(sp)
        d = fit.to_dict()
        d.update(spectrum=i, kk=kk.to_dict())
        rows.append(d)
        table.add_row(
            str(i),
            "yes" if kk.valid else "no",
            *[_fmt(a["R_ohm"]) for a in fit.arcs],
            *[_fmt(a["tau_s"]) for a in fit.arcs],
        )
    console.print(table)
    _save_json(
        {"analysis": "echem.eis_series", "file": file.name, "circuit": circuit, "series": rows},
        json_path,
    )


def _floats(text: str | None, what: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{what}: expected comma-separated numbers, got {text!r}") from None


@app.command()
def conductivity(
    files: list[Path] = typer.Argument(..., help="Blocking-electrode impedance files."),
    thickness_um: float = typer.Option(
        None,
        "--thickness-um",
        help="Film thickness in µm (required: no supported file format records it).",
    ),
    area_cm2: float = typer.Option(
        None,
        "--area-cm2",
        help="Electrode area in cm² (default: the area an EC-Lab file's header states, if any).",
    ),
    temperatures: str = typer.Option(
        None,
        "--temperatures",
        help="Temperatures in °C, comma separated, one per file (enables the Arrhenius fit; "
        "no supported file format records the temperature).",
    ),
    form: str = typer.Option("sigma", "--form", help="sigma (ln σ vs 1/T) or sigmaT (ln σT)."),
    sample: str = SampleOpt,
    json_path: Path = JsonOpt,
    plot: Path = PlotOpt,
) -> None:
    """σ = L/(R_b·S) per file, and Ea from an Arrhenius fit over temperatures."""
    from ..echem.conductivity import quantify_conductivity

    spectra = [_read(f, sample) for f in files]
    res = quantify_conductivity(
        spectra,
        thickness_um=thickness_um,
        area_cm2=area_cm2,
        temperatures_C=_floats(temperatures, "--temperatures"),
        form=form,
    )
    table = Table(title="σ = L / (R_b · S)")
    for c in ("file", "T (K)", "R_b (Ω)", "σ (S/cm)"):
        table.add_column(c, justify="right")
    for p in res.points:
        table.add_row(p["file"], _fmt(p.get("T_K")), _fmt(p["R_ohm"]), _fmt(p["sigma_S_cm"]))
    console.print(table)
    if res.arrhenius:
        a = res.arrhenius
        console.print(f"Arrhenius ({a.form}): Ea = {a.Ea_eV:.4f} ± {_fmt(a.Ea_stderr, 2)} eV")
    _save_json(res.to_dict(), json_path)
    if plot is not None and res.arrhenius:
        from ..echem.plot import plot_arrhenius

        fig, (ax,) = _figure()
        plot_arrhenius(
            [p["T_K"] for p in res.points],
            [p["sigma_S_cm"] for p in res.points],
            res.arrhenius,
            ax=ax,
        )
        _save_plot(fig, plot)


@app.command()
def arrhenius(
    t_c: str = typer.Option(..., "--T-C", help="Temperatures in °C, comma separated."),
    sigma: str = typer.Option(..., "--sigma", help="Conductivities in S/cm, comma separated."),
    form: str = typer.Option("sigma", "--form", help="sigma (ln σ vs 1/T) or sigmaT (ln σT)."),
    json_path: Path = JsonOpt,
    plot: Path = PlotOpt,
) -> None:
    """Activation energy from tabulated conductivities."""
    from ..echem.conductivity import fit_arrhenius

    tk = [t + 273.15 for t in _floats(t_c, "--T-C") or []]
    sg = _floats(sigma, "--sigma") or []
    if len(tk) != len(sg):
        raise InputError(f"--T-C has {len(tk)} values but --sigma has {len(sg)}")
    res = fit_arrhenius(tk, sg, form=form)
    console.print(
        f"Ea = {res.Ea_eV:.4f} ± {_fmt(res.Ea_stderr, 2)} eV ({form}: "
        f"{'ln σ' if form == 'sigma' else 'ln σT'} vs 1/T, {res.n} points, "
        f"R² = {res.r2:.4f})"
    )
    doc = {
        "analysis": "echem.arrhenius",
        "points": [{"T_K": t, "sigma_S_cm": s} for t, s in zip(tk, sg, strict=True)],
        "arrhenius": res.to_dict(),
    }
    _save_json(doc, json_path)
    if plot is not None:
        from ..echem.plot import plot_arrhenius

        fig, (ax,) = _figure()
        plot_arrhenius(tk, sg, res, ax=ax)
        _save_plot(fig, plot)
