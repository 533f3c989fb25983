"""Every measurement of a project analysed with one command, and samples compared side by side.

:func:`analyze_project` runs each technique's standard analysis (the same library calls as the
``charact <technique>`` quick looks) on every catalogued measurement, with the settings of
``charact.toml`` and the sample's manifest columns (``mass_mg``, ``area_cm2``). Each result is
keyed by the input file's SHA-256 and a hash of the settings, written as JSON under
``.charact/results/`` and recorded in the catalogue, so a second run only redoes what changed.

:func:`compare_samples` reads those results back and sets samples side by side, technique by
technique, with differences and their propagated uncertainties.

This module is cross-technique work, so it lives in :mod:`charact.samples` and imports the
technique packages (never the other way round).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import CharactError, InputError
from ..core.provenance import settings_hash
from ..core.readers import read
from ..core.store import save_json
from .catalog import Catalog

__all__ = [
    "ANALYSES",
    "DEFAULT_EIS_CIRCUIT",
    "AnalyzeReport",
    "analysis_settings",
    "analyze_measurement",
    "analyze_project",
    "compare_samples",
]

#: Equivalent circuit fitted to impedance spectra when ``[echem] circuit`` is not set: a series
#: resistance and two R‖CPE arcs (SEI and charge transfer, ordered by time constant).
DEFAULT_EIS_CIRCUIT = "R0-p(R1,CPE1)-p(R2,CPE2)"

#: The analyses each technique can run; echem decides between them from the data itself.
ANALYSES: dict[str, tuple[str, ...]] = {
    "xrd": ("xrd.identify",),
    "raman": ("raman.fit", "raman.map"),
    "xps": ("xps.depth_profile",),
    "sem": ("sem.size",),
    "echem": ("echem.cycling", "echem.eis"),
}

#: Keys of each ``[technique]`` table of charact.toml that the analyses understand.
_KNOWN_SETTINGS: dict[str, frozenset[str]] = {
    "xrd": frozenset(
        {
            "phases",
            "phases_dir",
            "standard",
            "correction",
            "wavelength",
            "wavelength_ka2",
            "ka2_ratio",
            "profile",
            "goniometer_radius_mm",
            "significance",
            "min_score",
        }
    ),
    "raman": frozenset(
        {
            "model",
            "baseline",
            "baseline_params",
            "crop_range",
            "despike",
            "laser_wavelength",
            "background_degree",
            "y_ratio",
            "si_reference",
            "map_model",
        }
    ),
    "xps": frozenset(
        {
            "regions",
            "components",
            "background",
            "reference",
            "etch_rate",
            "rsf",
            "imfp_exponent",
            "transmission_exponent",
            "monte_carlo",
            "constraints",
        }
    ),
    "sem": frozenset(
        {
            "pixel_size",
            "min_size",
            "threshold",
            "denoise",
            "polarity",
            "watershed",
            "split_depth",
            "exclude_edge",
            "edge_correction",
            "volume_weighted",
            "n_boot",
        }
    ),
    "echem": frozenset(
        {
            "electrode",
            "reference_cycle",
            "mass_mg",
            "area_cm2",
            "circuit",
            "arc_labels",
        }
    ),
}

#: Manifest columns that the cycling analysis takes from the sample (they win over [echem]).
_SAMPLE_COLUMNS = ("mass_mg", "area_cm2")

Progress = Callable[[int, int, str], None]


@dataclass
class AnalyzeReport:
    """What :func:`analyze_project` did.

    ``analysed`` and ``skipped`` hold one dict per measurement (path, sample_id, analysis,
    result_file); ``failed`` holds ``(path, reason)`` pairs; ``missing`` the catalogued files
    that are gone from the folder (their stored results are kept); ``seconds`` the wall time.
    """

    analysed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form of the report."""
        return {
            "analysed": list(self.analysed),
            "skipped": list(self.skipped),
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "missing": list(self.missing),
            "seconds": self.seconds,
        }


# ----------------------------------------------------------------------------- settings


def _config_path(catalog: Catalog) -> Path:
    from .project import CONFIG_NAME

    return catalog.project.root / CONFIG_NAME


def _technique_settings(catalog: Catalog, technique: str) -> dict[str, Any]:
    table = dict(catalog.project.config.techniques.get(technique, {}))
    known = _KNOWN_SETTINGS.get(technique, frozenset())
    unknown = sorted(set(table) - known)
    if unknown:
        raise InputError(
            f"[{technique}] has unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}",
            path=_config_path(catalog),
        )
    return table


def _sample_columns(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {s.sample_id: dict(s.extra) for s in catalog.project.samples}


def analysis_settings(
    analysis: str,
    technique_settings: Mapping[str, Any],
    sample_columns: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings that key one analysis: its name, the technique table, sample columns.

    Parameters
    ----------
    analysis
        Analysis name, e.g. ``"raman.fit"`` (see :data:`ANALYSES`).
    technique_settings
        The ``[technique]`` table of charact.toml.
    sample_columns
        The sample's manifest columns; ``mass_mg`` and ``area_cm2`` are used by
        ``echem.cycling`` (and win over the same keys in ``[echem]``).

    Returns
    -------
    dict
        JSON-friendly settings; :func:`charact.core.provenance.settings_hash` of it is the
        settings part of the result key.
    """
    settings: dict[str, Any] = {"analysis": analysis, **dict(technique_settings)}
    if analysis == "echem.cycling":
        cols = sample_columns or {}
        for key in _SAMPLE_COLUMNS:
            value = cols.get(key, settings.get(key))
            if value not in (None, ""):
                try:
                    settings[key] = float(value)
                except (TypeError, ValueError):
                    raise InputError(
                        f"{key} must be a number, found {value!r}", path="samples manifest"
                    ) from None
    return settings


# ----------------------------------------------------------------------------- analyses


def _resolve(root: Path, value: Any) -> Any:
    """A relative path setting, made absolute against the project root."""
    return str(root / value) if isinstance(value, str) and value else value


def _run_xrd(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..xrd.analyze import identify_phases

    opts = {k: v for k, v in s.items() if k != "analysis"}
    if "phases_dir" in opts:
        opts["phases_dir"] = _resolve(root, opts["phases_dir"])
    if isinstance(opts.get("standard"), str) and opts["standard"].lower() == "none":
        opts["standard"] = None
    return identify_phases(obj, **opts)


def _raman_options(s: Mapping[str, Any]) -> dict[str, Any]:
    crop = s.get("crop_range")
    baseline = s.get("baseline")
    return {
        "baseline": None if baseline in (None, "none") else baseline,
        "baseline_params": s.get("baseline_params"),
        "crop_range": tuple(crop) if crop else None,
        "laser_nm": s.get("laser_wavelength"),
        "background_degree": s.get("background_degree", "auto"),
        "y_ratio": s.get("y_ratio", 0.88),
        "reference": s.get("si_reference", 520.5),
    }


def _run_raman(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..raman.fit import fit_spectrum

    return fit_spectrum(
        obj,
        model=s.get("model", "auto"),
        despike_spectrum=bool(s.get("despike", True)),
        **_raman_options(s),
    )


def _run_raman_map(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..raman.maps import fit_map

    # fit_map has no "auto" model (one model for every pixel): [raman] map_model picks it.
    return fit_map(
        obj,
        model=s.get("map_model", "si-carbon"),
        despike=bool(s.get("despike", True)),
        **_raman_options(s),
    )


def _run_xps(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..xps.depth import fit_depth_profile

    rsf = s.get("rsf", "scofield")
    if isinstance(rsf, str) and rsf.lower().endswith(".toml"):
        rsf = _resolve(root, rsf)
    opts = {
        k: s[k]
        for k in (
            "regions",
            "components",
            "background",
            "reference",
            "imfp_exponent",
            "transmission_exponent",
            "monte_carlo",
            "constraints",
        )
        if k in s
    }
    return fit_depth_profile(obj, etch_rate_nm_per_s=s.get("etch_rate"), rsf=rsf, **opts)


def _run_sem(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..sem.analyze import quantify_particles

    opts = {k: v for k, v in s.items() if k not in ("analysis", "pixel_size")}
    return quantify_particles(obj, **opts)


def _run_cycling(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..echem.cycling import quantify_cycling

    return quantify_cycling(
        obj,
        electrode=s.get("electrode", "auto"),
        mass_mg=s.get("mass_mg"),
        area_cm2=s.get("area_cm2"),
        reference_cycle=int(s.get("reference_cycle", 1)),
    )


@dataclass
class _EISResult:
    """Kramers-Kronig check and circuit fit of one spectrum, as one document."""

    kk: Any
    fit: Any
    imag_sign_source: str

    def to_dict(self) -> dict[str, Any]:
        d = self.fit.to_dict()
        return {
            "analysis": "echem.eis",
            "imag_sign_source": self.imag_sign_source,
            "kk": self.kk.to_dict(),
            **{k: d[k] for k in ("circuit", "parameters", "time_constants_s", "arcs")},
            "statistics": d["statistics"],
            "flags": d["flags"],
        }


def _run_eis(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..echem.eis import check_kramers_kronig, fit_circuit
    from ..echem.io import eis_arrays

    f, z = eis_arrays(obj)
    kk = check_kramers_kronig((f, z))
    labels = s.get("arc_labels")
    fit = fit_circuit((f, z), s.get("circuit", DEFAULT_EIS_CIRCUIT), arc_labels=labels)
    return _EISResult(kk=kk, fit=fit, imag_sign_source=str(obj.attrs.get("imag_sign_source", "")))


_RUNNERS: dict[str, Callable[[Any, Mapping[str, Any], Path], Any]] = {
    "xrd.identify": _run_xrd,
    "raman.fit": _run_raman,
    "raman.map": _run_raman_map,
    "xps.depth_profile": _run_xps,
    "sem.size": _run_sem,
    "echem.cycling": _run_cycling,
    "echem.eis": _run_eis,
}


def _echem_kind(obj: Any, path: str) -> str:
    """``echem.eis`` for impedance data, ``echem.cycling`` for cycling records."""
    names = set(getattr(obj, "data_vars", {}))
    kind = obj.attrs.get("measurement_type")
    if kind == "eis" or (kind is None and {"z_real", "z_imag"} <= names):
        return "echem.eis"
    if kind in (None, "cycling") and {"voltage_volt", "current_ampere"} <= names:
        return "echem.cycling"
    raise InputError(
        f"echem data of type {kind!r}: `charact analyze` handles cycling records and "
        "impedance spectra so far (use the `charact echem` commands for the others)",
        path=path,
    )


def _naming(exc: CharactError, rel: str) -> CharactError:
    """The same error with the file's project-relative path in front of its message."""
    try:
        return type(exc)(f"{rel}: {exc}")
    except TypeError:  # a subclass with another constructor
        return CharactError(f"{rel}: {exc}")


def analyze_measurement(
    measurement: Mapping[str, Any],
    *,
    root: str | Path,
    technique_settings: Mapping[str, Any] | None = None,
    sample_columns: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Run the default analysis of one catalogued measurement.

    Parameters
    ----------
    measurement
        A row of :meth:`Catalog.measurements` (``technique``, ``path``, ``reader``,
        ``sample_id``).
    root
        The project folder the measurement's path is relative to.
    technique_settings
        The ``[technique]`` table of charact.toml.
    sample_columns
        The sample's manifest columns (``mass_mg``, ``area_cm2`` …).

    Returns
    -------
    analysis, settings, document
        The analysis name, the settings that key it and the result document (``to_dict()``).

    Raises
    ------
    CharactError
        The file cannot be read or the analysis fails; the message names the file.
    """
    technique = measurement["technique"]
    if technique not in ANALYSES:
        raise InputError(f"no default analysis for technique {technique!r}")
    unknown = sorted(set(technique_settings or {}) - _KNOWN_SETTINGS[technique])
    if unknown:
        raise InputError(
            f"unknown {technique} setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_KNOWN_SETTINGS[technique]))}"
        )
    path = Path(root) / measurement["path"]
    read_opts: dict[str, Any] = {}
    if technique == "sem" and technique_settings and "pixel_size" in technique_settings:
        read_opts["pixel_size"] = technique_settings["pixel_size"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", RuntimeWarning)  # numerics noise, as in the quick looks
        obj = read(
            path,
            format=measurement.get("reader") or None,
            sample_id=measurement.get("sample_id") or "",
            **read_opts,
        )
        if technique == "echem":
            analysis = _echem_kind(obj, str(path))
        elif technique == "raman" and obj.ndim == 3:
            analysis = "raman.map"
        else:
            analysis = ANALYSES[technique][0]
        settings = analysis_settings(analysis, technique_settings or {}, sample_columns)
        try:
            result = _RUNNERS[analysis](obj, settings, Path(root))
        except CharactError as exc:
            if path.name in str(exc):
                raise
            raise _naming(exc, measurement["path"]) from None
    doc = result.to_dict()
    notes = [str(w.message) for w in caught]
    doc["warnings"] = list(dict.fromkeys(notes))
    doc.setdefault("analysis", analysis)
    doc["sample_id"] = measurement.get("sample_id") or ""
    doc["measurement_id"] = measurement.get("measurement_id", "")
    doc["source_file"] = measurement["path"]
    doc["source_sha256"] = measurement.get("sha256", "")
    doc["analyze_settings"] = settings
    return analysis, settings, doc


# ------------------------------------------------------------------------------ summaries


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _arcs_by_tau(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    arcs = [a for a in doc.get("arcs", []) if _num(a.get("tau_s")) is not None]
    return sorted(arcs, key=lambda a: float(a["tau_s"]))


def _summary(analysis: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The key numbers of a result document, stored as the catalogue's ``parameters``."""
    if analysis == "xrd.identify":
        return {
            "phases_present": list(doc.get("phases_present", [])),
            "si_to_cu_ratio": doc.get("si_to_cu_ratio"),
            "si_to_cu_ratio_stderr": doc.get("si_to_cu_ratio_stderr"),
        }
    if analysis == "raman.fit":
        r, si = doc.get("ratios", {}), doc.get("silicon", {})
        return {
            "ID_IG_height": r.get("ID_IG_height"),
            "ID_IG_height_stderr": r.get("ID_IG_height_stderr"),
            "ID_IG_area": r.get("ID_IG_area"),
            "si_state": si.get("state"),
            "crystalline_fraction": si.get("crystalline_fraction"),
            "model": doc.get("model", {}).get("name"),
        }
    if analysis == "raman.map":
        st = doc.get("statistics", {})
        return {
            "ID_IG_height_mean": st.get("ID_IG_height", {}).get("mean"),
            "ID_IG_height_std": st.get("ID_IG_height", {}).get("std"),
            "crystalline_fraction_mean": st.get("crystalline_fraction", {}).get("mean"),
            "si_state_counts": doc.get("si_state_counts"),
            "pixels_fitted": doc.get("pixels_fitted"),
        }
    if analysis == "xps.depth_profile":
        levels = doc.get("levels", [])
        return {
            "etch_time_s": [lv.get("etch_time_s") for lv in levels],
            "depth_nm": [lv.get("depth_nm") for lv in levels],
            "LiF_percent": [lv.get("species_percent", {}).get("LiF") for lv in levels],
            "transition_depth_nm": doc.get("transition_depth_nm"),
        }
    if analysis == "sem.size":
        unit = "um" if "ecd_um" in doc else "px"
        ecd = doc.get(f"ecd_{unit}", {})
        return {"n_particles": doc.get("n_particles"), f"d50_{unit}": ecd.get("d50")}
    if analysis == "echem.cycling":
        cycles = doc.get("cycles", [])
        first, last = (cycles[0], cycles[-1]) if cycles else ({}, {})
        return {
            "initial_ce": doc.get("initial_ce"),
            "retention": doc.get("retention"),
            "cycles": len(cycles),
            "first_charge_mAh_g": first.get("charge_mAh_g"),
            "last_charge_mAh_g": last.get("charge_mAh_g"),
        }
    if analysis == "echem.eis":
        out: dict[str, Any] = {"kk_valid": doc.get("kk", {}).get("valid")}
        for arc in _arcs_by_tau(doc):
            out[f"{arc['resistor']}_ohm"] = arc.get("R_ohm")
            out[f"{arc['resistor']}_stderr"] = arc.get("R_stderr")
        return out
    return {}


# ------------------------------------------------------------------------------- project


def _existing(catalog: Catalog) -> set[tuple[str, str, tuple[str, ...]]]:
    root = catalog.project.root
    return {
        (r["analysis"], r["settings_hash"], tuple(r["inputs"]))
        for r in catalog.results()
        if r["result_file"] and (root / r["result_file"]).is_file()
    }


def _result_files(catalog: Catalog) -> dict[tuple[str, str, tuple[str, ...]], str]:
    return {
        (r["analysis"], r["settings_hash"], tuple(r["inputs"])): r["result_file"]
        for r in catalog.results()
        if r["result_file"]
    }


def _candidate_keys(
    m: Mapping[str, Any], tech_settings: Mapping[str, Any], columns: Mapping[str, Any]
) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (name, settings_hash(analysis_settings(name, tech_settings, columns)), (m["sha256"],))
        for name in ANALYSES.get(m["technique"], ())
    ]


def analyze_project(
    catalog: Catalog,
    *,
    force: bool = False,
    progress: Progress | None = None,
    ingest: bool = True,
) -> AnalyzeReport:
    """Run the default analysis of every measurement of a project, skipping unchanged ones.

    Each result is keyed by the input's SHA-256 and the hash of its settings (the analysis
    name, the technique's table of charact.toml and, for cycling, the sample's ``mass_mg`` and
    ``area_cm2``). A key already in the catalogue, with its result file present, is skipped;
    otherwise the analysis runs, its document is written atomically as
    ``.charact/results/<analysis>-<measurement_id>-<settings hash>.json`` and recorded with
    :meth:`Catalog.add_result`.

    Parameters
    ----------
    catalog
        The project's catalogue.
    force
        Recompute every result even if it is up to date.
    progress
        ``progress(done, total, current_path)``, called as files are ingested and then as
        measurements are analysed.
    ingest
        Ingest the project first (``skip_errors=True``); files that cannot be read are
        reported as failed.

    Returns
    -------
    AnalyzeReport
        What was analysed, skipped (unchanged) and failed (with the reason); a failure never
        stops the other measurements.
    """
    t0 = time.perf_counter()
    report = AnalyzeReport()
    unreadable: set[str] = set()
    if ingest:
        ingested = catalog.ingest(skip_errors=True, progress=progress)
        report.failed.extend((p, msg) for p, msg in ingested.problems)
        # A catalogued file whose new content cannot be read keeps its old row: not analysed.
        unreadable = {p for p, _ in ingested.problems}
    else:
        catalog.project.reload()
    root = catalog.project.root
    columns = _sample_columns(catalog)
    settings_of: dict[str, dict[str, Any]] = {}
    bad_settings: dict[str, str] = {}
    for tech in ANALYSES:
        try:
            settings_of[tech] = _technique_settings(catalog, tech)
        except CharactError as exc:
            bad_settings[tech] = str(exc)
    done = set() if force else _existing(catalog)
    measurements = [m for m in catalog.measurements() if m["technique"] in ANALYSES]
    results_dir = catalog.project.state_dir / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    for i, m in enumerate(measurements):
        if progress is not None:
            progress(i, len(measurements), m["path"])
        tech = m["technique"]
        if m["path"] in unreadable:
            continue
        if not (root / m["path"]).is_file():
            report.missing.append(m["path"])
            continue
        if tech in bad_settings:
            report.failed.append((m["path"], bad_settings[tech]))
            continue
        sid = m["sample_id"]
        cols = columns.get(sid or "", {})
        entry = {"path": m["path"], "sample_id": sid, "measurement_id": m["measurement_id"]}
        try:
            hits = [k for k in _candidate_keys(m, settings_of[tech], cols) if k in done]
        except CharactError as exc:
            report.failed.append((m["path"], str(exc)))
            continue
        if hits:
            report.skipped.append(entry | {"analysis": hits[0][0]})
            continue
        try:
            analysis, settings, doc = analyze_measurement(
                m, root=root, technique_settings=settings_of[tech], sample_columns=cols
            )
            shash = settings_hash(settings)
            target = results_dir / f"{analysis}-{m['measurement_id']}-{shash}.json"
            save_json(doc, target)
            catalog.add_result(
                analysis=analysis,
                inputs=[m["sha256"]],
                settings=settings,
                parameters=_summary(analysis, doc),
                result_file=target,
                sample_id=sid,
                measurement_id=m["measurement_id"],
            )
        except CharactError as exc:
            report.failed.append((m["path"], str(exc)))
            continue
        except Exception as exc:  # a bug in one analysis must not stop the batch
            report.failed.append(
                (m["path"], f"{m['path']}: unexpected {type(exc).__name__}: {exc} (a bug)")
            )
            continue
        report.analysed.append(
            entry | {"analysis": analysis, "result_file": target.name, "warnings": doc["warnings"]}
        )
    if progress is not None:
        progress(len(measurements), len(measurements), "")
    report.seconds = time.perf_counter() - t0
    return report


# ------------------------------------------------------------------------------- compare


def _current_docs(catalog: Catalog, sample_id: str) -> dict[str, list[dict[str, Any]]]:
    """The result documents of a sample under the current settings, by analysis."""
    import json

    root = catalog.project.root
    files = _result_files(catalog)
    cols = _sample_columns(catalog).get(sample_id, {})
    out: dict[str, list[dict[str, Any]]] = {}
    for m in catalog.measurements(sample_id):
        tech = m["technique"]
        if tech not in ANALYSES:
            continue
        try:
            keys = _candidate_keys(m, _technique_settings(catalog, tech), cols)
        except CharactError:
            continue
        for key in keys:
            rel = files.get(key)
            if rel and (root / rel).is_file():
                try:
                    doc = json.loads((root / rel).read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise CharactError(f"cannot read the stored result ({exc})", path=rel) from None
                out.setdefault(key[0], []).append(doc)
                break
    return out


def _value(v: Any, e: Any = None) -> dict[str, Any]:
    return {"value": v, "stderr": _num(e)}


def _mean(values: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean of several measurements; stderr propagated (and the spread when n > 1)."""
    nums = [x for x in values if _num(x["value"]) is not None]
    if not nums:
        return _value(None)
    n = len(nums)
    mean = sum(float(x["value"]) for x in nums) / n
    errs = [x["stderr"] for x in nums]
    stderr = math.sqrt(sum(e * e for e in errs)) / n if all(e is not None for e in errs) else None
    out = _value(mean, stderr)
    if n > 1:
        out["n"] = n
        out["spread"] = math.sqrt(sum((float(x["value"]) - mean) ** 2 for x in nums) / (n - 1))
    return out


def _difference(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any] | None:
    va, vb = _num(a.get("value")), _num(b.get("value"))
    if va is None or vb is None:
        return None
    ea, eb = a.get("stderr"), b.get("stderr")
    err = math.hypot(ea, eb) if ea is not None and eb is not None else None
    return {"value": vb - va, "stderr": err}


def _row(quantity: str, unit: str, values: dict[str, dict[str, Any]], ids: list[str]) -> dict:
    first = values.get(ids[0])
    diffs: dict[str, Any] = {}
    if first is not None:
        for sid in ids[1:]:
            if sid in values:
                d = _difference(first, values[sid])
                if d is not None:
                    diffs[sid] = d
    return {"quantity": quantity, "unit": unit, "values": values, "differences": diffs}


def _compare_xrd(docs: dict[str, list[dict]], ids: list[str], statements: list[str]) -> dict:
    present: dict[str, set[str]] = {}
    ratio: dict[str, dict[str, Any]] = {}
    for sid in ids:
        ds = docs.get(sid, [])
        if not ds:
            continue
        present[sid] = {p for d in ds for p in d.get("phases_present", [])}
        ratio[sid] = _mean(
            [_value(d.get("si_to_cu_ratio"), d.get("si_to_cu_ratio_stderr")) for d in ds]
        )
    phases = sorted({p for s in present.values() for p in s})
    rows = [
        _row(f"{ph} present", "", {sid: _value(ph in present[sid]) for sid in present}, ids)
        for ph in phases
    ]
    rows.append(_row("Si(111)/Cu(111) intensity ratio", "1", ratio, ids))
    if ids[0] in present and "Si" in present[ids[0]]:
        for sid in ids[1:]:
            if sid in present and "Si" not in present[sid]:
                statements.append(
                    f"XRD: crystalline Si no longer detected in {sid} "
                    f"(present in {ids[0]}, Si/Cu ratio {_fmt_pm(ratio[ids[0]])})"
                )
    return {"rows": rows, "phases_present": {sid: sorted(p) for sid, p in present.items()}}


def _fmt_pm(v: Mapping[str, Any]) -> str:
    x = _num(v.get("value"))
    if x is None:
        return "n/a"
    e = v.get("stderr")
    return f"{x:.4g} ± {e:.2g}" if e is not None else f"{x:.4g}"


def _compare_raman(docs: dict[str, list[dict]], ids: list[str], statements: list[str]) -> dict:
    idig: dict[str, dict[str, Any]] = {}
    xc: dict[str, dict[str, Any]] = {}
    state: dict[str, dict[str, Any]] = {}
    for sid in ids:
        ds = docs.get(sid, [])
        if not ds:
            continue
        idig[sid] = _mean(
            [
                _value(d["ratios"].get("ID_IG_height"), d["ratios"].get("ID_IG_height_stderr"))
                for d in ds
            ]
        )
        xc[sid] = _mean(
            [
                _value(
                    d["silicon"].get("crystalline_fraction"),
                    d["silicon"].get("crystalline_fraction_stderr"),
                )
                for d in ds
            ]
        )
        states = sorted({str(d["silicon"].get("state")) for d in ds})
        state[sid] = _value(", ".join(states))
    rows = [
        _row("I_D/I_G (height)", "1", idig, ids),
        _row("Si state", "", state, ids),
        _row("Si crystalline fraction", "1", xc, ids),
    ]
    first = idig.get(ids[0])
    for sid in ids[1:]:
        if first is None or sid not in idig:
            continue
        d = _difference(first, idig[sid])
        if d is not None and d["value"] != 0:
            word = "lower" if d["value"] < 0 else "higher"
            statements.append(
                f"Raman: I_D/I_G (height) of {sid} is {word} than {ids[0]}: "
                f"{_fmt_pm(idig[sid])} vs {_fmt_pm(first)} (Δ {_fmt_pm(d)})"
            )
    return {"rows": rows}


def _compare_raman_maps(docs: dict[str, list[dict]], ids: list[str]) -> list[dict[str, Any]]:
    """Rows of map statistics: mean over fitted pixels, with the pixel spread (not a stderr)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for sid, maps in docs.items():
        for quantity, key in (
            ("I_D/I_G (height), map mean", "ID_IG_height"),
            ("Si crystalline fraction, map mean", "crystalline_fraction"),
        ):
            st = [d.get("statistics", {}).get(key, {}) for d in maps]
            st = [x for x in st if _num(x.get("mean")) is not None]
            if st:
                n = sum(int(x.get("n", 0)) for x in st)
                mean = sum(float(x["mean"]) * int(x.get("n", 0)) for x in st) / max(n, 1)
                rows.setdefault(quantity, {})[sid] = {
                    "value": mean,
                    "stderr": None,
                    "n": n,
                    "spread": max(float(x.get("std") or 0.0) for x in st),
                }
        counts: dict[str, int] = {}
        for d in maps:
            for state, k in (d.get("si_state_counts") or {}).items():
                counts[state] = counts.get(state, 0) + int(k)
        text = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        rows.setdefault("Si state, map pixels", {})[sid] = _value(text)
    return [_row(q, "" if "state" in q else "1", v, ids) for q, v in rows.items()]


def _compare_xps(docs: dict[str, list[dict]], ids: list[str], statements: list[str]) -> dict:
    profiles: dict[str, Any] = {}
    rows = []
    for sid in ids:
        ds = docs.get(sid, [])
        if not ds:
            continue
        d = ds[0]
        profiles[sid] = {
            "source_file": d.get("source_file"),
            "statement": d.get("statement"),
            "levels": [
                {
                    "etch_time_s": lv.get("etch_time_s"),
                    "depth_nm": lv.get("depth_nm"),
                    "species_percent": lv.get("species_percent", {}),
                    "species_percent_stderr": lv.get("species_percent_stderr", {}),
                }
                for lv in d.get("levels", [])
            ],
        }
    n_levels = max((len(p["levels"]) for p in profiles.values()), default=0)
    for li in range(n_levels):
        values, label = {}, f"LiF % at level {li}"
        for sid, p in profiles.items():
            if li < len(p["levels"]):
                lv = p["levels"][li]
                label = f"LiF % at {lv['etch_time_s']:g} s" + (
                    f" ({lv['depth_nm']:.3g} nm)" if _num(lv["depth_nm"]) is not None else ""
                )
                values[sid] = _value(
                    lv["species_percent"].get("LiF"), lv["species_percent_stderr"].get("LiF")
                )
        rows.append(_row(label, "%", values, ids))
    for sid, p in profiles.items():
        lif = [_num(lv["species_percent"].get("LiF")) for lv in p["levels"]]
        if len(lif) > 1 and all(v is not None for v in lif) and lif[-1] > lif[0]:
            statements.append(
                f"XPS: the LiF share of {sid}'s SEI grows with depth, "
                f"from {lif[0]:.1f} % to {lif[-1]:.1f} %"
            )
    return {"rows": rows, "profiles": profiles}


def _compare_sem(docs: dict[str, list[dict]], ids: list[str], statements: list[str]) -> dict:
    d50: dict[str, dict[str, Any]] = {}
    d50_px: dict[str, dict[str, Any]] = {}
    n: dict[str, dict[str, Any]] = {}
    for sid in ids:
        ds = docs.get(sid, [])
        if not ds:
            continue
        # Images without a pixel size give sizes in pixels: never averaged with µm.
        um = [d for d in ds if "ecd_um" in d]
        px = [d for d in ds if "ecd_um" not in d and "ecd_px" in d]
        if um:
            d50[sid] = _mean([_value(d["ecd_um"].get("d50")) for d in um])
        if px:
            d50_px[sid] = _mean([_value(d["ecd_px"].get("d50")) for d in px])
        n[sid] = _value(sum(int(d.get("n_particles", 0)) for d in ds))
    rows = [_row("D50 (ECD)", "µm", d50, ids)] if d50 else []
    if d50_px:
        rows.append(_row("D50 (ECD), uncalibrated images", "px", d50_px, ids))
    rows.append(_row("particles counted", "", n, ids))
    return {"rows": rows}


def _compare_echem(
    docs: dict[str, dict[str, list[dict]]], ids: list[str], statements: list[str]
) -> dict:
    fields: dict[str, dict[str, dict[str, Any]]] = {}

    def put(name: str, sid: str, v: dict[str, Any]) -> None:
        fields.setdefault(name, {})[sid] = v

    all_cycling = [d for sid in ids for d in docs.get(sid, {}).get("echem.cycling", [])]
    anode = bool(all_cycling) and all(d.get("electrode") == "anode" for d in all_cycling)
    # In an anode half cell the cycler's charge is delithiation and its discharge lithiation.
    names = {"charge": "delithiation", "discharge": "lithiation"} if anode else {}
    for sid in ids:
        cyc = docs.get(sid, {}).get("echem.cycling", [])
        eis = docs.get(sid, {}).get("echem.eis", [])
        if cyc:
            put("initial CE", sid, _mean([_value(d.get("initial_ce")) for d in cyc]))
            firsts = [d["cycles"][0] for d in cyc if d.get("cycles")]
            lasts = [d["cycles"][-1] for d in cyc if d.get("cycles")]
            for which, cycles in (("first", firsts), ("last", lasts)):
                for half in ("charge", "discharge"):
                    put(
                        f"{which} {names.get(half, half)} capacity",
                        sid,
                        _mean([_value(c.get(f"{half}_mAh_g")) for c in cycles]),
                    )
            put("cycles", sid, _value(max(len(d.get("cycles", [])) for d in cyc)))
            put("retention", sid, _mean([_value(d.get("retention")) for d in cyc]))
        if eis:
            arcs = _arcs_by_tau(eis[0])
            # Two arcs: the faster (smaller τ) is the SEI, the slower the charge transfer.
            labels = ["R_SEI", "R_ct"] if len(arcs) == 2 else [a["resistor"] for a in arcs]
            for name, arc in zip(labels, arcs, strict=False):
                put(
                    f"{name} ({arc['resistor']})",
                    sid,
                    _value(arc.get("R_ohm"), arc.get("R_stderr")),
                )
            put("Kramers-Kronig valid", sid, _value(eis[0].get("kk", {}).get("valid")))
    units = {
        "initial CE": "1",
        "retention": "1",
        "cycles": "",
        "Kramers-Kronig valid": "",
    }
    rows = []
    for name, values in fields.items():
        unit = units.get(name, "Ω" if name.startswith("R") else "mAh/g")
        rows.append(_row(name, unit, values, ids))
    return {"rows": rows}


def compare_samples(catalog: Catalog, sample_ids: Sequence[str]) -> dict[str, Any]:
    """Set samples side by side, technique by technique, from their stored results.

    The first sample is the reference: every row holds each sample's value (with its standard
    error where the analysis gives one) and the difference of each other sample from the
    first, with the standard errors added in quadrature where both have one. Run
    :func:`analyze_project` first; only results under the current settings are used.

    Parameters
    ----------
    catalog
        The project's catalogue.
    sample_ids
        Two or more sample IDs; the first is the reference.

    Returns
    -------
    dict
        ``{"samples", "statements", "techniques": {technique: {"rows": [...], ...}}}``; a
        technique appears when at least one sample has a result for it. Each row is
        ``{"quantity", "unit", "values": {id: {"value", "stderr"}}, "differences": {...}}``.

    Raises
    ------
    InputError
        Fewer than two samples, or the same sample twice.
    UnknownSampleError
        A sample ID is not in the catalogue (with close matches).
    """
    ids = [catalog.resolve_sample(s) for s in sample_ids]
    if len(ids) < 2:
        raise InputError(f"compare needs at least two sample IDs, got {len(ids)}")
    if len(set(ids)) != len(ids):
        raise InputError(f"sample IDs repeated in {', '.join(ids)}")
    by_sample = {sid: _current_docs(catalog, sid) for sid in ids}
    statements: list[str] = []
    techniques: dict[str, Any] = {}
    plan = (
        ("xrd", "xrd.identify", _compare_xrd),
        ("raman", "raman.fit", _compare_raman),
        ("xps", "xps.depth_profile", _compare_xps),
        ("sem", "sem.size", _compare_sem),
    )
    for tech, analysis, fn in plan:
        docs = {sid: by_sample[sid][analysis] for sid in ids if by_sample[sid].get(analysis)}
        if docs:
            techniques[tech] = fn(docs, ids, statements)
    maps = {sid: by_sample[sid]["raman.map"] for sid in ids if by_sample[sid].get("raman.map")}
    if maps:
        section = techniques.setdefault("raman", {"rows": []})
        section["rows"].extend(_compare_raman_maps(maps, ids))
    echem = {
        sid: {k: v for k, v in by_sample[sid].items() if k.startswith("echem.")}
        for sid in ids
        if any(k.startswith("echem.") for k in by_sample[sid])
    }
    if echem:
        techniques["echem"] = _compare_echem(echem, ids, statements)
    missing = {
        sid: sorted(t for t in ANALYSES if t not in _techniques_of(by_sample[sid])) for sid in ids
    }
    return {
        "samples": ids,
        "reference": ids[0],
        "statements": statements,
        "techniques": techniques,
        "no_results": {sid: m for sid, m in missing.items() if m},
    }


def _techniques_of(docs: Mapping[str, Any]) -> set[str]:
    return {a.split(".")[0] for a in docs}
