"""Samples set side by side, technique by technique, from their stored results.

:func:`compare_samples` reads the result documents :func:`charact.samples.analyze.analyze_project`
stored under the current settings and sets two or more samples side by side: every row holds
each sample's value (with its standard error where the analysis gives one) and the difference of
each other sample from the first (the reference), standard errors added in quadrature. Plain-
language statements say what changed ("crystalline Si no longer detected", "I_D/I_G lower",
"LiF share grows with depth"), each with its numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import CharactError, InputError
from ..core.provenance import settings_hash
from .analyze import (
    ANALYSES,
    GROUP_ANALYSES,
    _arcs_by_tau,
    _candidate_keys,
    _num,
    _obj,
    _objs,
    _result_files,
    _sample_columns,
    _seq,
    analysis_settings,
    sample_settings,
)
from .catalog import Catalog

__all__ = ["compare_samples", "current_docs", "format_cell", "load_docs"]

#: ``{sample_id: {analysis: [result documents]}}``
SampleDocs = dict[str, list[dict[str, Any]]]

_REPAIR = "run `charact analyze --force` to recompute it"


def _load_doc(root: Path, rel: str) -> dict[str, Any]:
    """One stored result document; a broken or wrongly shaped file is a :class:`CharactError`."""
    try:
        doc = json.loads((root / rel).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CharactError(f"cannot read the stored result ({exc}); {_REPAIR}", path=rel) from None
    if not isinstance(doc, dict):
        raise CharactError(
            f"the stored result is not a result document (a JSON object), found "
            f"{type(doc).__name__}; {_REPAIR}",
            path=rel,
        )
    return doc


class _Scan:
    """What every sample's lookup needs, read once: result files and manifest columns."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.root = catalog.project.root
        self.files = _result_files(catalog)
        self.columns = _sample_columns(catalog)

    def docs(self, sample_id: str, problems: list[str] | None = None) -> SampleDocs:
        catalog, root = self.catalog, self.root
        columns = self.columns.get(sample_id, {})
        out: SampleDocs = {}
        shas: dict[str, set[str]] = {}
        failed: dict[str, str] = {}  # technique -> why its settings do not resolve

        def settings_of(tech: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
            if tech in failed:
                return None
            try:
                return sample_settings(catalog, tech, sample_id, columns)
            except CharactError as exc:
                failed[tech] = str(exc)
                return None

        for m in catalog.measurements(sample_id):
            tech = m["technique"]
            if tech not in ANALYSES:
                continue
            shas.setdefault(tech, set()).add(m["sha256"])
            got = settings_of(tech)
            if got is None:
                continue
            try:
                keys = _candidate_keys(m, *got)
            except CharactError as exc:
                failed.setdefault(tech, str(exc))
                continue
            for key in keys:
                rel = self.files.get(key)
                if rel and (root / rel).is_file():
                    out.setdefault(key[0], []).append(_load_doc(root, rel))
                    break
        # Analyses of several files: the newest result whose inputs are all still catalogued.
        for name in sorted(GROUP_ANALYSES):
            tech = name.split(".")[0]
            if tech not in shas:
                continue
            got = settings_of(tech)
            if got is None:
                continue
            try:
                shash = settings_hash(analysis_settings(name, *got))
            except CharactError as exc:
                failed.setdefault(tech, str(exc))
                continue
            rows = [
                r
                for r in catalog.results(sample_id, analysis=name)
                if r["settings_hash"] == shash
                and set(r["inputs"]) <= shas.get(tech, set())
                and r["result_file"]
                and (root / r["result_file"]).is_file()
            ]
            if rows:
                out[name] = [_load_doc(root, rows[-1]["result_file"])]
        if problems is not None:
            problems.extend(f"{tech}: {why}" for tech, why in sorted(failed.items()))
        return out


def current_docs(
    catalog: Catalog, sample_id: str, *, problems: list[str] | None = None
) -> SampleDocs:
    """The result documents of a sample under the current settings, by analysis.

    Parameters
    ----------
    catalog
        The project's catalogue.
    sample_id
        The sample.
    problems
        When given, each technique whose settings do not resolve (a setting that is not a
        number, an unknown key) is appended to it with the reason; its results are left out.

    Raises
    ------
    CharactError
        A stored result file is unreadable or not a result document (the message names it).
    """
    return _Scan(catalog).docs(sample_id, problems)


def load_docs(
    catalog: Catalog,
    sample_ids: Sequence[str],
    *,
    problems: dict[str, list[str]] | None = None,
) -> dict[str, SampleDocs]:
    """:func:`current_docs` of several samples, the catalogue's result list read once.

    ``problems``, when given, gets ``{sample_id: [reasons]}`` for the samples with settings
    that do not resolve (as for :func:`current_docs`).
    """
    scan = _Scan(catalog)
    out: dict[str, SampleDocs] = {}
    for sid in dict.fromkeys(sample_ids):
        found: list[str] = []
        out[sid] = scan.docs(sid, found)
        if found and problems is not None:
            problems.setdefault(sid, []).extend(found)
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
        present[sid] = {str(p) for d in ds for p in _seq(d.get("phases_present"))}
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


def format_cell(v: Mapping[str, Any] | None) -> str:
    """One comparison value as plain text: ``2.33 ± 0.027 (n=2)``, ``yes``/``no``, ``-``."""
    if not v:
        return ""
    x = v.get("value")
    if isinstance(x, bool):
        return "yes" if x else "no"
    if x is None:
        return "-"
    if _num(x) is None:
        return str(x)
    e = _num(v.get("stderr"))
    text = f"{float(x):.4g}" + (f" ± {e:.2g}" if e is not None else "")
    return text + (f" (n={int(v['n'])})" if v.get("n") else "")


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
                _value(
                    _obj(d.get("ratios")).get("ID_IG_height"),
                    _obj(d.get("ratios")).get("ID_IG_height_stderr"),
                )
                for d in ds
            ]
        )
        xc[sid] = _mean(
            [
                _value(
                    _obj(d.get("silicon")).get("crystalline_fraction"),
                    _obj(d.get("silicon")).get("crystalline_fraction_stderr"),
                )
                for d in ds
            ]
        )
        states = sorted({str(_obj(d.get("silicon")).get("state")) for d in ds})
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
            word = _direction(d)
            statements.append(
                f"Raman: I_D/I_G (height) of {sid} is {word} {ids[0]}: "
                f"{_fmt_pm(idig[sid])} vs {_fmt_pm(first)} (Δ {_fmt_pm(d)})"
            )
    ref_state = state.get(ids[0], {}).get("value") or ""
    for sid in ids[1:]:
        if sid not in state or ids[0] not in xc:
            continue
        other = state[sid]["value"] or ""
        had_c = any(w in ref_state for w in ("crystalline", "mixed"))
        has_c = any(w in other for w in ("crystalline", "mixed"))
        if had_c and not has_c:
            statements.append(
                f"Raman: crystalline Si no longer detected in {sid} (Si state {other}; "
                f"crystalline fraction {_fmt_pm(xc[sid])} vs {_fmt_pm(xc[ids[0]])} "
                f"in {ids[0]}, {ref_state})"
            )
        elif had_c and sid in xc:
            d = _difference(xc[ids[0]], xc[sid])
            if d is not None and d["value"] != 0:
                statements.append(
                    f"Raman: Si crystalline fraction of {sid} is {_direction(d)} {ids[0]}: "
                    f"{_fmt_pm(xc[sid])} vs {_fmt_pm(xc[ids[0]])}"
                )
    return {"rows": rows}


def _direction(d: Mapping[str, Any]) -> str:
    """``lower than`` / ``higher than``, or ``within 2 standard errors of`` when not resolved."""
    e = d.get("stderr")
    if e is not None and abs(d["value"]) <= 2 * e:
        return "within 2 standard errors of"
    return "lower than" if d["value"] < 0 else "higher than"


def _compare_raman_maps(docs: dict[str, list[dict]], ids: list[str]) -> list[dict[str, Any]]:
    """Rows of map statistics: mean over fitted pixels, with the pixel spread (not a stderr)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for sid, maps in docs.items():
        for quantity, key in (
            ("I_D/I_G (height), map mean", "ID_IG_height"),
            ("Si crystalline fraction, map mean", "crystalline_fraction"),
        ):
            st = [_obj(_obj(d.get("statistics")).get(key)) for d in maps]
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
            for state, k in _obj(d.get("si_state_counts")).items():
                if _num(k) is not None:
                    counts[state] = counts.get(state, 0) + int(k)
        text = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        rows.setdefault("Si state, map pixels", {})[sid] = _value(text)
    return [_row(q, "" if "state" in q else "1", v, ids) for q, v in rows.items()]


def _xps_levels(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "etch_time_s": _num(lv.get("etch_time_s")),
            "depth_nm": _num(lv.get("depth_nm")),
            "species_percent": dict(_obj(lv.get("species_percent"))),
            "species_percent_stderr": dict(_obj(lv.get("species_percent_stderr"))),
        }
        for lv in _objs(doc.get("levels"))
    ]


def _compare_xps(docs: dict[str, list[dict]], ids: list[str], statements: list[str]) -> dict:
    """LiF % side by side at the same depth (or etch time), never level number by level number.

    When every profile has depths, each row is a depth that one of the samples was measured
    at, labelled with the etch time(s) of the samples measured there (``"LiF % at 30 s /
    120 s (6 nm)"``; ``etch_time_s`` gives them per sample), and every other sample's value
    there is interpolated linearly between its own levels (never extrapolated past its
    etched range; ``interpolated`` marks such values). Without depths, a row is an etch time,
    and a sample has a value only where it has a level at that very time.
    """
    from .table import _xps_metric  # table imports this module

    profiles: dict[str, Any] = {}
    for sid in ids:
        ds = docs.get(sid, [])
        if not ds:
            continue
        d = ds[0]
        profiles[sid] = {
            "source_file": d.get("source_file"),
            "statement": d.get("statement"),
            "levels": _xps_levels(d),
        }
    by_depth = bool(profiles) and all(
        p["levels"] and all(lv["depth_nm"] is not None for lv in p["levels"])
        for p in profiles.values()
    )
    key = "depth_nm" if by_depth else "etch_time_s"
    at: dict[float, None] = {}
    for p in profiles.values():
        for lv in p["levels"]:
            if lv[key] is not None:
                at[round(lv[key], 6)] = None
    rows = []
    for x in sorted(at):
        values: dict[str, dict[str, Any]] = {}
        times: dict[str, float] = {}  # each sample's own etch time at this depth
        for sid, p in profiles.items():
            own = [lv for lv in p["levels"] if lv[key] is not None and round(lv[key], 6) == x]
            if own:
                lv = own[0]
                values[sid] = _value(
                    lv["species_percent"].get("LiF"), lv["species_percent_stderr"].get("LiF")
                )
                if lv["etch_time_s"] is not None:
                    times[sid] = lv["etch_time_s"]
            elif by_depth:
                v, e = _xps_metric("LiF", x, None)({"xps.depth_profile": [{"levels": p["levels"]}]})
                if v is not None:
                    values[sid] = _value(v, e) | {"interpolated": True}
        if by_depth:
            at_times = " / ".join(f"{t:g} s" for t in sorted(set(times.values())))
            label = f"LiF % at {at_times} ({x:.3g} nm)" if at_times else f"LiF % at {x:.3g} nm"
        else:
            label = f"LiF % at {x:g} s"
        row = _row(label, "%", values, ids)
        row[key] = x
        if by_depth:
            row["etch_time_s"] = times
        rows.append(row)
    for sid, p in profiles.items():
        lif = [_num(lv["species_percent"].get("LiF")) for lv in p["levels"]]
        if len(lif) > 1 and all(v is not None for v in lif) and lif[-1] > lif[0]:
            statements.append(
                f"XPS: the LiF share of {sid}'s SEI grows with depth, "
                f"from {lif[0]:.1f} % to {lif[-1]:.1f} %"
            )
    return {"rows": rows, "profiles": profiles, "matched_by": key}


def _ci_stderr(doc: Mapping[str, Any]) -> float | None:
    """A standard error from the bootstrap 95 % interval of D50 (its width / 3.92)."""
    ci = doc.get("d50_ci95_um")
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(_num(v) is not None for v in ci):
        return (float(ci[1]) - float(ci[0])) / 3.92
    return None


def _compare_sem(docs: dict[str, list[dict]], ids: list[str], statements: list[str]) -> dict:
    d50: dict[str, dict[str, Any]] = {}
    d50_px: dict[str, dict[str, Any]] = {}
    n: dict[str, dict[str, Any]] = {}
    for sid in ids:
        ds = docs.get(sid, [])
        if not ds:
            continue
        # Images without a pixel size give sizes in pixels: never averaged with µm.
        um = [d for d in ds if _obj(d.get("ecd_um"))]
        px = [d for d in ds if not _obj(d.get("ecd_um")) and _obj(d.get("ecd_px"))]
        if um:
            d50[sid] = _mean([_value(d["ecd_um"].get("d50"), _ci_stderr(d)) for d in um])
        if px:
            d50_px[sid] = _mean([_value(d["ecd_px"].get("d50")) for d in px])
        n[sid] = _value(sum(int(_num(d.get("n_particles")) or 0) for d in ds))
    rows = [_row("D50 (ECD)", "µm", d50, ids)] if d50 else []
    for sid in ids[1:]:
        if ids[0] in d50 and sid in d50:
            d = _difference(d50[ids[0]], d50[sid])
            if d is not None and d["value"] != 0:
                statements.append(
                    f"SEM: D50 of {sid} is {_direction(d)} {ids[0]}: "
                    f"{_fmt_pm(d50[sid])} vs {_fmt_pm(d50[ids[0]])} µm"
                )
    for key, label in (("aspect_ratio", "aspect ratio (median)"), ("circularity", "circularity")):
        stat = "median" if key == "aspect_ratio" else "mean"
        values = {
            sid: _mean([_value(_obj(d.get(key)).get(stat)) for d in docs.get(sid, [])])
            for sid in ids
            if docs.get(sid)
        }
        if any(_num(v.get("value")) is not None for v in values.values()):
            rows.append(_row(label, "1", values, ids))
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
            firsts = [_objs(d.get("cycles"))[0] for d in cyc if _objs(d.get("cycles"))]
            lasts = [_objs(d.get("cycles"))[-1] for d in cyc if _objs(d.get("cycles"))]
            for which, cycles in (("first", firsts), ("last", lasts)):
                for half in ("charge", "discharge"):
                    put(
                        f"{which} {names.get(half, half)} capacity",
                        sid,
                        _mean([_value(c.get(f"{half}_mAh_g")) for c in cycles]),
                    )
            put("cycles", sid, _value(max(len(_seq(d.get("cycles"))) for d in cyc)))
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
            put("Kramers-Kronig valid", sid, _value(_obj(eis[0].get("kk")).get("valid")))
            # No DRT peak rows: the DRT of a CPE arc splits its resistance over satellite
            # peaks (the demo's 3.4 ms, 9.3 Ω one beside the true 0.18 ms and 49 ms arcs), so
            # "the largest peaks" are neither the arcs nor comparable between samples. The
            # peaks stay in each EIS result document (``drt.peaks``); the arcs above are
            # the circuit fit's, with standard errors.
        cond = docs.get(sid, {}).get("echem.conductivity", [])
        if cond:
            arr = _obj(cond[0].get("arrhenius"))
            put("activation energy Ea", sid, _value(arr.get("Ea_eV"), arr.get("Ea_stderr")))
            for pt in _objs(cond[0].get("points")):
                t = _num(pt.get("T_K"))
                label = f"σ at {t - 273.15:.0f} °C" if t is not None else f"σ ({pt.get('file')})"
                put(label, sid, _value(pt.get("sigma_S_cm")))
    units = {
        "initial CE": "1",
        "retention": "1",
        "cycles": "",
        "Kramers-Kronig valid": "",
        "activation energy Ea": "eV",
    }
    rows = []
    for name, values in fields.items():
        if name.startswith("σ"):
            unit = "S/cm"
        else:
            unit = units.get(name, "Ω" if name.startswith("R") else "mAh/g")
        rows.append(_row(name, unit, values, ids))
    return {"rows": rows}


def compare_samples(
    catalog: Catalog,
    sample_ids: Sequence[str],
    *,
    docs: Mapping[str, SampleDocs] | None = None,
    problems: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
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
    docs
        ``{sample_id: {analysis: [documents]}}`` already read (:func:`load_docs`); samples
        not in it are read here.
    problems
        ``{sample_id: [reasons]}`` that :func:`load_docs` gave with ``docs``.

    Returns
    -------
    dict
        ``{"samples", "statements", "techniques": {technique: {"rows": [...], ...}}}``; a
        technique appears when at least one sample has a result for it. Each row is
        ``{"quantity", "unit", "values": {id: {"value", "stderr"}}, "differences": {...}}``.
        ``no_results`` lists each sample's techniques without results; ``problems``
        (``{sample_id: ["technique: reason"]}``) the settings that kept results out.

    Raises
    ------
    InputError
        Fewer than two samples, or the same sample twice.
    UnknownSampleError
        A sample ID is not in the catalogue (with close matches).
    CharactError
        A stored result file is unreadable or not a result document (the message names it).
    """
    ids = [catalog.resolve_sample(s) for s in sample_ids]
    if len(ids) < 2:
        raise InputError(f"compare needs at least two sample IDs, got {len(ids)}")
    if len(set(ids)) != len(ids):
        raise InputError(f"sample IDs repeated in {', '.join(ids)}")
    given = dict(docs or {})
    found: dict[str, list[str]] = {k: list(v) for k, v in (problems or {}).items()}
    todo = [sid for sid in ids if sid not in given]
    if todo:
        given.update(load_docs(catalog, todo, problems=found))
    by_sample = {sid: given[sid] for sid in ids}
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
        "problems": {sid: found[sid] for sid in ids if found.get(sid)},
    }


def _techniques_of(docs: Mapping[str, Any]) -> set[str]:
    return {a.split(".")[0] for a in docs}
