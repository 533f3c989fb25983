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

import json
import math
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
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
    "GROUP_ANALYSES",
    "AnalyzeReport",
    "analysis_settings",
    "analyze_group",
    "analyze_measurement",
    "analyze_project",
    "file_temperature_C",
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
    "echem": (
        "echem.cycling",
        "echem.eis",
        "echem.cv",
        "echem.symmetric",
        "echem.conductivity",
    ),
}

#: Analyses that take every matching file of a sample together (one result, several inputs).
GROUP_ANALYSES = frozenset({"echem.conductivity"})

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
            "ka2",
            "broad_lines",
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
            "cell",
            "thickness_um",
            "temperature_C",
            "arrhenius_form",
            "short_fraction",
            "drt",
        }
    ),
}

#: Manifest columns that echem analyses take from the sample (they win over [echem]):
#: ``mass_mg`` and ``area_cm2`` for cycling, ``thickness_um`` and ``area_cm2`` for the
#: conductivity of a film between blocking electrodes.
_SAMPLE_COLUMNS = ("mass_mg", "area_cm2", "thickness_um")

#: The [echem] keys each echem analysis depends on (its result key hashes only these, so
#: setting a film thickness does not recompute the cycling summaries).
_RELEVANT: dict[str, frozenset[str]] = {
    "echem.cycling": frozenset({"electrode", "reference_cycle", "mass_mg", "area_cm2", "cell"}),
    "echem.eis": frozenset({"circuit", "arc_labels", "drt", "thickness_um", "cell"}),
    "echem.cv": frozenset({"cell"}),
    "echem.symmetric": frozenset({"short_fraction", "cell"}),
    "echem.conductivity": frozenset(
        {"thickness_um", "area_cm2", "temperature_C", "arrhenius_form"}
    ),
}

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


def _technique_settings(
    catalog: Catalog, technique: str, sample_id: str | None = None
) -> dict[str, Any]:
    """The ``[technique]`` table with the sample's ``[samples."ID".technique]`` over it."""
    table = catalog.project.config.settings(technique, sample_id)
    known = _KNOWN_SETTINGS.get(technique, frozenset())
    unknown = sorted(set(table) - known)
    if unknown:
        where = (
            f'[samples."{sample_id}".{technique}] or [{technique}]'
            if sample_id
            else (f"[{technique}]")
        )
        raise InputError(
            f"{where} has unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}",
            path=_config_path(catalog),
        )
    return table


def _sample_columns(catalog: Catalog) -> dict[str, dict[str, Any]]:
    return {s.sample_id: dict(s.extra) for s in catalog.project.samples}


def sample_settings(
    catalog: Catalog, technique: str, sample_id: str | None, columns: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The technique settings of one sample and the manifest columns that still apply.

    ``[samples."ID".technique]`` overrides the ``[technique]`` table; a key set there also
    wins over the sample's manifest column of the same name.
    """
    pinned = catalog.project.config.overrides.get(sample_id or "", {}).get(technique, {})
    cols = {k: v for k, v in columns.items() if k not in pinned}
    return _technique_settings(catalog, technique, sample_id or None), cols


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
    table = dict(technique_settings)
    if analysis in _RELEVANT:
        table = {k: v for k, v in table.items() if k in _RELEVANT[analysis]}
    settings: dict[str, Any] = {"analysis": analysis, **table}
    if analysis in ("echem.cycling", "echem.conductivity"):
        cols = sample_columns or {}
        for key in _SAMPLE_COLUMNS:
            if key not in _RELEVANT[analysis]:
                continue
            from_manifest = key in cols
            value = cols[key] if from_manifest else settings.get(key)
            if value not in (None, ""):
                try:
                    settings[key] = float(value)
                except (TypeError, ValueError):
                    # Name where the value came from: a manifest column, or charact.toml.
                    where = (
                        f"{key} (samples manifest column)"
                        if from_manifest
                        else f'{key} ([echem] or [samples."ID".echem] of charact.toml)'
                    )
                    raise InputError(
                        f"{where} must be a number, found {value!r}",
                        path="samples manifest" if from_manifest else "charact.toml",
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

    # One model for every pixel by default (fast, comparable maps); [raman] map_model = "auto"
    # chooses per pixel by BIC instead (4-10x the time).
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
    """Kramers-Kronig check, circuit fit and DRT of one spectrum, as one document."""

    kk: Any
    fit: Any
    imag_sign_source: str
    drt: Any = None
    drt_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = self.fit.to_dict()
        out = {
            "analysis": "echem.eis",
            "imag_sign_source": self.imag_sign_source,
            "kk": self.kk.to_dict(),
            **{k: d[k] for k in ("circuit", "parameters", "time_constants_s", "arcs")},
            "statistics": d["statistics"],
            "flags": d["flags"],
        }
        out["drt"] = self.drt.to_dict() if self.drt is not None else None
        if self.drt_error:
            out["flags"] = [*out["flags"], f"DRT not computed: {self.drt_error}"]
        return out

    def to_dataset(self) -> Any:
        """The circuit fit (data, fit, residuals, parameters) as a Dataset."""
        return self.fit.to_dataset()


def _run_eis(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..echem.eis import check_kramers_kronig, fit_circuit
    from ..echem.io import eis_arrays

    f, z = eis_arrays(obj)
    kk = check_kramers_kronig((f, z))
    labels = s.get("arc_labels")
    drt, drt_error = None, ""
    if s.get("drt", True):
        from ..echem.drt import fit_drt

        try:  # first, so the circuit fit reuses its GCV scan for its start values
            drt = fit_drt((f, z))
        except CharactError as exc:  # the circuit fit stands on its own
            drt_error = str(exc)
    fit = fit_circuit((f, z), s.get("circuit", DEFAULT_EIS_CIRCUIT), arc_labels=labels, drt=drt)
    out = _EISResult(kk=kk, fit=fit, imag_sign_source=str(obj.attrs.get("imag_sign_source", "")))
    out.drt, out.drt_error = drt, drt_error
    return out


def _run_cv(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..echem.cv import find_cv_peaks

    return find_cv_peaks(obj)


def _run_symmetric(obj: Any, s: Mapping[str, Any], root: Path) -> Any:
    from ..echem.symmetric import quantify_symmetric_cell

    return quantify_symmetric_cell(obj, short_fraction=float(s.get("short_fraction", 0.5)))


_TEMPERATURE_TOKEN = re.compile(
    r"(?<![0-9A-Za-z.])(-?\d+(?:\.\d+)?)\s*(?:°\s*C|deg\s*C|degC|C)(?![A-Za-z0-9])"
)


def file_temperature_C(obj: Any, path: str | Path) -> float | None:
    """The temperature of an impedance measurement, in °C, or ``None`` when unknown.

    Taken from the data's attributes (``temperature_C``, ``temperature_celsius`` or
    ``temperature_K``) when the file says, otherwise from a token of the file name such as
    ``_30C`` or ``_30degC`` (the way labs name a temperature series).
    """
    attrs = getattr(obj, "attrs", {}) or {}
    for key in ("temperature_C", "temperature_celsius"):
        v = attrs.get(key)
        if isinstance(v, int | float) and math.isfinite(v):
            return float(v)
    v = attrs.get("temperature_K")
    if isinstance(v, int | float) and math.isfinite(v):
        return float(v) - 273.15
    hits = _TEMPERATURE_TOKEN.findall(Path(path).stem.replace("_", " "))
    return float(hits[-1]) if hits else None


@dataclass
class _ConductivityGroup:
    """Conductivity of a film from several spectra (one result document)."""

    result: Any
    files: list[str]

    def to_dict(self) -> dict[str, Any]:
        d = self.result.to_dict()
        d["source_files"] = list(self.files)
        return d


def _run_conductivity(
    objs: Sequence[Any], s: Mapping[str, Any], root: Path, paths: Sequence[str]
) -> Any:
    from ..echem.conductivity import quantify_conductivity

    missing = [k for k in ("thickness_um", "area_cm2") if s.get(k) in (None, "")]
    if missing:
        raise InputError(
            f"conductivity needs {' and '.join(missing)} (a manifest column or [echem] setting)"
        )
    temps: list[float] | None = []
    fixed = s.get("temperature_C")
    for obj, rel in zip(objs, paths, strict=True):
        t = float(fixed) if fixed is not None and len(objs) == 1 else file_temperature_C(obj, rel)
        if t is None:
            temps = None
            break
        temps.append(t)
    order = sorted(range(len(objs)), key=lambda k: temps[k] if temps else k)
    result = quantify_conductivity(
        [objs[k] for k in order],
        thickness_um=float(s["thickness_um"]),
        area_cm2=float(s["area_cm2"]),
        temperatures_C=[temps[k] for k in order] if temps else None,
        form=str(s.get("arrhenius_form", "sigma")),
    )
    return _ConductivityGroup(result=result, files=[paths[k] for k in order])


_RUNNERS: dict[str, Callable[[Any, Mapping[str, Any], Path], Any]] = {
    "xrd.identify": _run_xrd,
    "raman.fit": _run_raman,
    "raman.map": _run_raman_map,
    "xps.depth_profile": _run_xps,
    "sem.size": _run_sem,
    "echem.cycling": _run_cycling,
    "echem.eis": _run_eis,
    "echem.cv": _run_cv,
    "echem.symmetric": _run_symmetric,
}


def _echem_kind(obj: Any, path: str, settings: Mapping[str, Any] | None = None) -> str:
    """Which echem analysis a file gets, from its data and the sample's settings.

    Impedance spectra of a sample with a film thickness (``thickness_um``) are conductivity
    measurements (taken together); other spectra get a circuit fit. Cyclic voltammograms get
    peak finding; cycling records get the cycling summary, or the symmetric-cell analysis
    when the sample's ``cell`` setting is ``"symmetric"``.
    """
    s = settings or {}
    names = set(getattr(obj, "data_vars", {}))
    kind = obj.attrs.get("measurement_type")
    if kind == "eis" or (kind is None and {"z_real", "z_imag"} <= names):
        return "echem.conductivity" if s.get("thickness_um") not in (None, "") else "echem.eis"
    if kind == "cv":
        return "echem.cv"
    if kind in (None, "cycling") and {"voltage_volt", "current_ampere"} <= names:
        cell = str(s.get("cell", "half")).lower()
        if cell not in ("half", "full", "symmetric"):
            raise InputError(f"[echem] cell must be half, full or symmetric, got {cell!r}")
        return "echem.symmetric" if cell == "symmetric" else "echem.cycling"
    raise InputError(
        f"echem data of type {kind!r}: `charact analyze` handles cycling, CV, impedance and "
        "symmetric-cell records (use the `charact echem` commands for the others)",
        path=path,
    )


def _naming(exc: CharactError, rel: str) -> CharactError:
    """The same error with the file's project-relative path in front of its message."""
    try:
        return type(exc)(f"{rel}: {exc}")
    except TypeError:  # a subclass with another constructor
        return CharactError(f"{rel}: {exc}")


def _check_known(technique: str, technique_settings: Mapping[str, Any] | None) -> None:
    if technique not in ANALYSES:
        raise InputError(f"no default analysis for technique {technique!r}")
    unknown = sorted(set(technique_settings or {}) - _KNOWN_SETTINGS[technique])
    if unknown:
        raise InputError(
            f"unknown {technique} setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_KNOWN_SETTINGS[technique]))}"
        )


def _read(measurement: Mapping[str, Any], root: Path, settings: Mapping[str, Any]) -> Any:
    read_opts: dict[str, Any] = {}
    if measurement["technique"] == "sem" and "pixel_size" in settings:
        read_opts["pixel_size"] = settings["pixel_size"]
    if not read_opts:
        from .project import STATE_DIR
        from .readcache import recall

        kept = recall(root / STATE_DIR, measurement.get("sha256", ""))
        if kept is not None:  # decoded at ingest (a slow file): same bytes, same object
            kept.attrs["sample_id"] = measurement.get("sample_id") or ""
            return kept
    return read(
        root / measurement["path"],
        format=measurement.get("reader") or None,
        sample_id=measurement.get("sample_id") or "",
        **read_opts,
    )


def _finish(
    doc: dict[str, Any],
    analysis: str,
    settings: Mapping[str, Any],
    measurement: Mapping[str, Any],
    caught: Sequence[warnings.WarningMessage],
) -> dict[str, Any]:
    doc["warnings"] = list(dict.fromkeys(str(w.message) for w in caught))
    doc.setdefault("analysis", analysis)
    doc["sample_id"] = measurement.get("sample_id") or ""
    doc["measurement_id"] = measurement.get("measurement_id", "")
    doc["source_file"] = measurement["path"]
    doc["source_sha256"] = measurement.get("sha256", "")
    doc["analyze_settings"] = dict(settings)
    return doc


def _draw(analysis: str, obj: Any, result: Any, figure: Path, doc: dict[str, Any]) -> None:
    """Save the analysis figure; a drawing failure is noted, never fatal to the result."""
    from .figures import result_figure

    try:
        result_figure(analysis, obj, result, figure)
        doc["figure"] = figure.name
    except Exception as exc:  # a figure must not lose a computed result
        doc["warnings"].append(f"figure not drawn ({type(exc).__name__}: {exc})")


def _save_dataset(result: Any, path: Path, doc: dict[str, Any]) -> None:
    """Save the result's Dataset as netCDF when it has one; a failure is noted, not fatal."""
    if not hasattr(result, "to_dataset"):
        return
    from ..core.store import save_netcdf

    try:
        ds = result.to_dataset()
        ds.attrs.update(
            {
                "analysis": doc.get("analysis", ""),
                "sample_id": doc.get("sample_id", ""),
                "source_file": str(doc.get("source_file", "")),
            }
        )
        save_netcdf(ds, path)
        doc["dataset"] = path.name
    except Exception as exc:  # arrays are a convenience; the JSON result stands
        doc["warnings"].append(f"netCDF not written ({type(exc).__name__}: {exc})")


def analyze_measurement(
    measurement: Mapping[str, Any],
    *,
    root: str | Path,
    technique_settings: Mapping[str, Any] | None = None,
    sample_columns: Mapping[str, Any] | None = None,
    figure: str | Path | None = None,
    dataset: str | Path | None = None,
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
        The ``[technique]`` table of charact.toml (with the sample's overrides applied).
    sample_columns
        The sample's manifest columns (``mass_mg``, ``area_cm2``, ``thickness_um`` …).
    figure
        Save the analysis figure there (``.png`` or ``.svg``); its name is recorded in the
        document as ``figure``.
    dataset
        Save the result's arrays (``to_dataset()``: fitted curves, maps, per-particle tables)
        there as netCDF; its name is recorded in the document as ``dataset``.

    Returns
    -------
    analysis, settings, document
        The analysis name, the settings that key it and the result document (``to_dict()``).

    Raises
    ------
    CharactError
        The file cannot be read or the analysis fails; the message names the file. An
        impedance spectrum of a film with a thickness is a conductivity measurement: run it
        with :func:`analyze_group`.
    """
    technique = measurement["technique"]
    _check_known(technique, technique_settings)
    root = Path(root)
    path = root / measurement["path"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", RuntimeWarning)  # numerics noise, as in the quick looks
        obj = _read(measurement, root, technique_settings or {})
        merged = dict(technique_settings or {})
        for key in _SAMPLE_COLUMNS:
            if (sample_columns or {}).get(key) not in (None, ""):
                merged[key] = sample_columns[key]  # type: ignore[index]
        if technique == "echem":
            analysis = _echem_kind(obj, str(path), merged)
        elif technique == "raman" and obj.ndim == 3:
            analysis = "raman.map"
        else:
            analysis = ANALYSES[technique][0]
        if analysis in GROUP_ANALYSES:
            return analyze_group(
                [measurement],
                root=root,
                technique_settings=technique_settings,
                sample_columns=sample_columns,
                figure=figure,
                data=[obj],
            )
        settings = analysis_settings(analysis, technique_settings or {}, sample_columns)
        try:
            result = _RUNNERS[analysis](obj, settings, root)
        except CharactError as exc:
            if path.name in str(exc):
                raise
            raise _naming(exc, measurement["path"]) from None
        doc = _finish(result.to_dict(), analysis, settings, measurement, caught)
        if figure is not None:
            _draw(analysis, obj, result, Path(figure), doc)
        if dataset is not None:
            _save_dataset(result, Path(dataset), doc)
    return analysis, settings, doc


def analyze_group(
    measurements: Sequence[Mapping[str, Any]],
    *,
    root: str | Path,
    technique_settings: Mapping[str, Any] | None = None,
    sample_columns: Mapping[str, Any] | None = None,
    figure: str | Path | None = None,
    data: Sequence[Any] | None = None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Run an analysis that takes several files of one sample together.

    So far: the ionic conductivity of a film between blocking electrodes from its impedance
    spectra, σ = L/(R_b·S) per spectrum, and the Arrhenius fit when every file has a
    temperature (:func:`file_temperature_C`).

    Parameters
    ----------
    measurements
        Catalogue rows of the same sample and technique.
    root, technique_settings, sample_columns, figure
        As for :func:`analyze_measurement`.
    data
        The files already read (same order), to avoid reading them twice.

    Returns
    -------
    analysis, settings, document
        ``"echem.conductivity"``, the settings that key it and the result document, whose
        ``source_files`` lists the inputs in temperature order.
    """
    if not measurements:
        raise InputError("no measurements to analyse together")
    technique = measurements[0]["technique"]
    _check_known(technique, technique_settings)
    root = Path(root)
    analysis = "echem.conductivity"
    settings = analysis_settings(analysis, technique_settings or {}, sample_columns)
    paths = [m["path"] for m in measurements]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", RuntimeWarning)
        objs = list(data) if data is not None else [_read(m, root, settings) for m in measurements]
        try:
            result = _run_conductivity(objs, settings, root, paths)
        except CharactError as exc:
            raise _naming(exc, ", ".join(paths)) from None
        first = dict(measurements[0])
        first["path"] = paths[0]
        doc = _finish(result.to_dict(), analysis, settings, first, caught)
        doc["source_sha256"] = sorted(m.get("sha256", "") for m in measurements)
        doc["measurement_id"] = [m.get("measurement_id", "") for m in measurements]
        if figure is not None:
            _draw(analysis, objs[0], result.result, Path(figure), doc)
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


def _obj(v: Any) -> Mapping[str, Any]:
    """``v`` when it is a mapping, else ``{}`` (an optional section of a result document)."""
    return v if isinstance(v, Mapping) else {}


def _seq(v: Any) -> list[Any]:
    """``v`` when it is a list, else ``[]``."""
    return v if isinstance(v, list) else []


def _objs(v: Any) -> list[Mapping[str, Any]]:
    """The mappings of a list (rows of a result document), nothing else."""
    return [x for x in _seq(v) if isinstance(x, Mapping)]


def _arcs_by_tau(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    arcs = [a for a in _objs(doc.get("arcs")) if _num(a.get("tau_s")) is not None]
    return sorted(arcs, key=lambda a: float(a["tau_s"]))


def _summary(analysis: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    """The key numbers of a result document, stored as the catalogue's ``parameters``."""
    if analysis == "xrd.identify":
        return {
            "phases_present": list(_seq(doc.get("phases_present"))),
            "si_to_cu_ratio": doc.get("si_to_cu_ratio"),
            "si_to_cu_ratio_stderr": doc.get("si_to_cu_ratio_stderr"),
        }
    if analysis == "raman.fit":
        r, si = _obj(doc.get("ratios")), _obj(doc.get("silicon"))
        return {
            "ID_IG_height": r.get("ID_IG_height"),
            "ID_IG_height_stderr": r.get("ID_IG_height_stderr"),
            "ID_IG_area": r.get("ID_IG_area"),
            "si_state": si.get("state"),
            "crystalline_fraction": si.get("crystalline_fraction"),
            "model": _obj(doc.get("model")).get("name"),
        }
    if analysis == "raman.map":
        st = _obj(doc.get("statistics"))
        return {
            "ID_IG_height_mean": _obj(st.get("ID_IG_height")).get("mean"),
            "ID_IG_height_std": _obj(st.get("ID_IG_height")).get("std"),
            "crystalline_fraction_mean": _obj(st.get("crystalline_fraction")).get("mean"),
            "si_state_counts": doc.get("si_state_counts"),
            "pixels_fitted": doc.get("pixels_fitted"),
        }
    if analysis == "xps.depth_profile":
        levels = _objs(doc.get("levels"))
        return {
            "etch_time_s": [lv.get("etch_time_s") for lv in levels],
            "depth_nm": [lv.get("depth_nm") for lv in levels],
            "LiF_percent": [_obj(lv.get("species_percent")).get("LiF") for lv in levels],
            "transition_depth_nm": doc.get("transition_depth_nm"),
        }
    if analysis == "sem.size":
        unit = "um" if "ecd_um" in doc else "px"
        ecd = _obj(doc.get(f"ecd_{unit}"))
        return {"n_particles": doc.get("n_particles"), f"d50_{unit}": ecd.get("d50")}
    if analysis == "echem.cycling":
        cycles = _objs(doc.get("cycles"))
        first, last = (cycles[0], cycles[-1]) if cycles else ({}, {})
        return {
            "initial_ce": doc.get("initial_ce"),
            "retention": doc.get("retention"),
            "cycles": len(cycles),
            "first_charge_mAh_g": first.get("charge_mAh_g"),
            "last_charge_mAh_g": last.get("charge_mAh_g"),
        }
    if analysis == "echem.eis":
        out: dict[str, Any] = {"kk_valid": _obj(doc.get("kk")).get("valid")}
        for arc in _arcs_by_tau(doc):
            out[f"{arc['resistor']}_ohm"] = arc.get("R_ohm")
            out[f"{arc['resistor']}_stderr"] = arc.get("R_stderr")
        drt = _obj(doc.get("drt"))
        out["drt_tau_s"] = [p.get("tau_s") for p in _objs(drt.get("peaks"))]
        return out
    if analysis == "echem.conductivity":
        arr = _obj(doc.get("arrhenius"))
        points = _objs(doc.get("points"))
        return {
            "sigma_S_cm": [p.get("sigma_S_cm") for p in points],
            "T_K": [p.get("T_K") for p in points],
            "Ea_eV": arr.get("Ea_eV"),
            "Ea_stderr": arr.get("Ea_stderr"),
        }
    if analysis == "echem.cv":
        return {"cycles": len(_seq(doc.get("cycles")))}
    if analysis == "echem.symmetric":
        return {
            "growth_mV_per_h": doc.get("growth_mV_per_h"),
            "soft_short_at_h": doc.get("soft_short_at_h"),
        }
    return {}


# ------------------------------------------------------------------------------- project


def _readable_result(path: Path) -> bool:
    """Whether a stored result file is a result document (a JSON object), not a torn write."""
    try:
        return isinstance(json.loads(path.read_text(encoding="utf-8")), dict)
    except (OSError, ValueError):
        return False


def _existing(catalog: Catalog) -> set[tuple[str, str, tuple[str, ...]]]:
    """Result keys already done: recorded, with a readable result document on disk.

    A result file that is truncated or not a JSON object counts as missing, so the next run
    computes it again.
    """
    root = catalog.project.root
    return {
        (r["analysis"], r["settings_hash"], tuple(r["inputs"]))
        for r in catalog.results()
        if r["result_file"] and _readable_result(root / r["result_file"])
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
        if name not in GROUP_ANALYSES
    ]


def _group_key(
    ms: Sequence[Mapping[str, Any]], tech_settings: Mapping[str, Any], columns: Mapping[str, Any]
) -> tuple[str, str, tuple[str, ...]]:
    name = "echem.conductivity"
    return (
        name,
        settings_hash(analysis_settings(name, tech_settings, columns)),
        tuple(sorted(m["sha256"] for m in ms)),
    )


def _is_film(tech: str, settings: Mapping[str, Any], columns: Mapping[str, Any]) -> bool:
    """A sample whose impedance spectra are conductivity measurements (it has a thickness)."""
    return tech == "echem" and (
        columns.get("thickness_um") not in (None, "") or settings.get("thickness_um") is not None
    )


def _measurement_type(m: Mapping[str, Any], root: Path) -> str | None:
    """``eis``, ``cv``, ``cycling`` … as recorded at ingest (read again for older rows)."""
    kind = (m.get("conditions") or {}).get("measurement_type")
    if kind:
        return str(kind)
    try:
        obj = read(root / m["path"], format=m.get("reader") or None)
    except CharactError:
        return None
    return obj.attrs.get("measurement_type")


@dataclass
class _Job:
    """One unit of work for a worker: a measurement, or a group of them (conductivity)."""

    measurements: list[dict[str, Any]]
    settings: dict[str, Any]
    columns: dict[str, Any]
    root: str
    results_dir: str
    group: bool = False
    figures: bool = True

    @property
    def label(self) -> str:
        return ", ".join(m["path"] for m in self.measurements)


def _run_job(job: _Job) -> tuple[str, dict[str, Any], dict[str, Any], str] | tuple[str, str]:
    """Run one job (in this process or a worker); never raises.

    Returns ``(analysis, settings, doc, result_file)`` on success and ``(path, reason)`` on
    failure. The result document and its figure are written here, atomically.
    """
    m0 = job.measurements[0]
    mid = m0["measurement_id"]
    results_dir = Path(job.results_dir)
    fig_tmp = results_dir / f".figure-{mid}-{id(job)}.png" if job.figures else None
    nc_tmp = results_dir / f".dataset-{mid}-{id(job)}.nc"
    try:
        if job.group:
            analysis, settings, doc = analyze_group(
                job.measurements,
                root=job.root,
                technique_settings=job.settings,
                sample_columns=job.columns,
                figure=fig_tmp,
            )
        else:
            analysis, settings, doc = analyze_measurement(
                m0,
                root=job.root,
                technique_settings=job.settings,
                sample_columns=job.columns,
                figure=fig_tmp,
                dataset=nc_tmp,
            )
        stem = f"{analysis}-{mid}-{settings_hash(settings)}"
        if fig_tmp is not None and fig_tmp.is_file():
            fig_tmp.replace(results_dir / f"{stem}.png")
            doc["figure"] = f"{stem}.png"
        if nc_tmp.is_file():
            nc_tmp.replace(results_dir / f"{stem}.nc")
            doc["dataset"] = f"{stem}.nc"
        target = results_dir / f"{stem}.json"
        save_json(doc, target)
        return analysis, settings, doc, str(target)
    except CharactError as exc:
        return (job.label, str(exc))
    except Exception as exc:  # a bug in one analysis must not stop the batch
        return (job.label, f"{job.label}: unexpected {type(exc).__name__}: {exc} (a bug)")
    finally:
        for tmp in (fig_tmp, nc_tmp):
            if tmp is not None and tmp.exists():
                tmp.unlink()


class _Serial:
    """The executor interface, run in this process (``workers=1``)."""

    def __init__(self, jobs: Sequence[_Job]) -> None:
        self.jobs = jobs

    def results(self) -> Iterator[tuple[_Job, Any]]:
        for job in self.jobs:
            yield job, _run_job(job)


@contextmanager
def _executor(workers: int, scheduler: str | None) -> Iterator[Any]:
    """A concurrent.futures executor: local processes, or a dask.distributed cluster."""
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise InputError(
                "a dask scheduler address needs dask.distributed: pip install 'charact[maps]'"
            ) from None
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: workers start clean (no inherited catalogue connection or BLAS threads state).
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield pool


def _parallel(jobs: Sequence[_Job], workers: int, scheduler: str | None) -> Iterator[tuple]:
    from concurrent.futures import as_completed

    with _executor(workers, scheduler) as pool:
        futures = {pool.submit(_run_job, job): job for job in jobs}
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                out = fut.result()
            except Exception as exc:  # the worker died (memory, signal): report, go on
                out = (job.label, f"{job.label}: worker failed ({type(exc).__name__}: {exc})")
            yield job, out


def analyze_project(
    catalog: Catalog,
    *,
    force: bool = False,
    progress: Progress | None = None,
    ingest: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
    figures: bool = True,
) -> AnalyzeReport:
    """Run the default analysis of every measurement of a project, skipping unchanged ones.

    Each result is keyed by the input's SHA-256 and the hash of its settings (the analysis
    name, the technique's table of charact.toml with the sample's ``[samples."ID".technique]``
    overrides, and the sample's manifest columns ``mass_mg``, ``area_cm2``, ``thickness_um``
    for echem). A key already in the catalogue, with its result file present, is skipped;
    otherwise the analysis runs, its document is written atomically as
    ``.charact/results/<analysis>-<measurement_id>-<settings hash>.json`` (with its figure
    beside it as ``.png`` and its arrays as ``.nc``) and recorded with
    :meth:`Catalog.add_result`.

    The impedance spectra of a sample with a film thickness (``thickness_um``) are analysed
    together as one conductivity series (``echem.conductivity``; the key holds every input).

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
    workers
        Worker processes (``1``: in this process). Results are identical either way.
    scheduler
        Address of a ``dask.distributed`` scheduler to send the work to instead
        (``tcp://host:8786``; needs the ``maps`` extra).
    figures
        Draw each result's figure (PNG beside its document; ``charact report`` embeds them).

    Returns
    -------
    AnalyzeReport
        What was analysed, skipped (unchanged) and failed (with the reason); a failure never
        stops the other measurements.
    """
    if not (isinstance(workers, int) and workers >= 1):
        raise InputError(f"workers must be a positive integer, got {workers!r}")
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
    done = set() if force else _existing(catalog)
    measurements = [m for m in catalog.measurements() if m["technique"] in ANALYSES]
    results_dir = catalog.project.state_dir / "results"
    results_dir.mkdir(parents=True, exist_ok=True)

    jobs: list[_Job] = []
    films: dict[str, list[dict[str, Any]]] = {}
    film_settings: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for m in measurements:
        tech, sid = m["technique"], m["sample_id"] or ""
        if m["path"] in unreadable:
            continue
        if not (root / m["path"]).is_file():
            report.missing.append(m["path"])
            continue
        entry = {"path": m["path"], "sample_id": sid, "measurement_id": m["measurement_id"]}
        try:
            tech_settings, cols = sample_settings(catalog, tech, sid, columns.get(sid, {}))
            keys = _candidate_keys(m, tech_settings, cols)
        except CharactError as exc:
            report.failed.append((m["path"], str(exc)))
            continue
        hits = [k for k in keys if k in done]
        if hits:
            report.skipped.append(entry | {"analysis": hits[0][0]})
            continue
        if _is_film(tech, tech_settings, cols) and _measurement_type(m, root) == "eis":
            films.setdefault(sid, []).append(dict(m))
            film_settings[sid] = (tech_settings, cols)
            continue
        jobs.append(_Job([dict(m)], tech_settings, cols, str(root), str(results_dir)))
    for sid, ms in films.items():
        tech_settings, cols = film_settings[sid]
        entry = {"path": ", ".join(m["path"] for m in ms), "sample_id": sid}
        try:
            key = _group_key(ms, tech_settings, cols)
        except CharactError as exc:  # one sample's bad setting never stops the others
            report.failed.append((entry["path"], f"{sid}: {exc}"))
            continue
        if key in done:
            report.skipped.append(entry | {"analysis": key[0]})
            continue
        jobs.append(_Job(ms, tech_settings, cols, str(root), str(results_dir), group=True))
    for job in jobs:
        job.figures = figures

    runner = _Serial(jobs).results() if workers == 1 and not scheduler else None
    stream = runner if runner is not None else _parallel(jobs, workers, scheduler)
    for i, (job, out) in enumerate(stream):
        if progress is not None:
            progress(i, len(jobs), job.label)
        if len(out) == 2:
            report.failed.append(out)  # type: ignore[arg-type]
            continue
        analysis, settings, doc, target = out  # type: ignore[misc]
        sid = job.measurements[0]["sample_id"]
        catalog.add_result(
            analysis=analysis,
            inputs=sorted(m["sha256"] for m in job.measurements),
            settings=settings,
            parameters=_summary(analysis, doc),
            result_file=target,
            sample_id=sid,
            measurement_id=job.measurements[0]["measurement_id"],
        )
        report.analysed.append(
            {
                "path": job.label,
                "sample_id": sid,
                "measurement_id": job.measurements[0]["measurement_id"],
                "analysis": analysis,
                "result_file": Path(target).name,
                "warnings": doc["warnings"],
            }
        )
    if progress is not None:
        progress(len(jobs), len(jobs), "")
    report.seconds = time.perf_counter() - t0
    return report
