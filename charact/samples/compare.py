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
from typing import Any

from ..core.errors import CharactError, InputError
from ..core.provenance import settings_hash
from .analyze import (
    ANALYSES,
    GROUP_ANALYSES,
    _arcs_by_tau,
    _candidate_keys,
    _num,
    _result_files,
    _sample_columns,
    analysis_settings,
    sample_settings,
)
from .catalog import Catalog

__all__ = ["compare_samples", "current_docs", "format_cell"]


def current_docs(catalog: Catalog, sample_id: str) -> dict[str, list[dict[str, Any]]]:
    """The result documents of a sample under the current settings, by analysis."""

    root = catalog.project.root
    files = _result_files(catalog)
    columns = _sample_columns(catalog).get(sample_id, {})
    out: dict[str, list[dict[str, Any]]] = {}

    def load(rel: str) -> dict[str, Any]:
        try:
            return json.loads((root / rel).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CharactError(f"cannot read the stored result ({exc})", path=rel) from None

    shas: dict[str, set[str]] = {}
    for m in catalog.measurements(sample_id):
        tech = m["technique"]
        if tech not in ANALYSES:
            continue
        shas.setdefault(tech, set()).add(m["sha256"])
        try:
            settings, cols = sample_settings(catalog, tech, sample_id, columns)
            keys = _candidate_keys(m, settings, cols)
        except CharactError:
            continue
        for key in keys:
            rel = files.get(key)
            if rel and (root / rel).is_file():
                out.setdefault(key[0], []).append(load(rel))
                break
    # Analyses of several files: the newest result whose inputs are all still catalogued.
    for name in sorted(GROUP_ANALYSES):
        tech = name.split(".")[0]
        try:
            settings, cols = sample_settings(catalog, tech, sample_id, columns)
        except CharactError:
            continue
        shash = settings_hash(analysis_settings(name, settings, cols))
        rows = [
            r
            for r in catalog.results(sample_id, analysis=name)
            if r["settings_hash"] == shash
            and set(r["inputs"]) <= shas.get(tech, set())
            and r["result_file"]
            and (root / r["result_file"]).is_file()
        ]
        if rows:
            out[name] = [load(rows[-1]["result_file"])]
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
        um = [d for d in ds if "ecd_um" in d]
        px = [d for d in ds if "ecd_um" not in d and "ecd_px" in d]
        if um:
            d50[sid] = _mean([_value(d["ecd_um"].get("d50"), _ci_stderr(d)) for d in um])
        if px:
            d50_px[sid] = _mean([_value(d["ecd_px"].get("d50")) for d in px])
        n[sid] = _value(sum(int(d.get("n_particles", 0)) for d in ds))
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
            sid: _mean([_value((d.get(key) or {}).get(stat)) for d in docs.get(sid, [])])
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
            # The three largest DRT peaks (by resistance), in order of time constant.
            peaks = (eis[0].get("drt") or {}).get("peaks") or []
            big = sorted(peaks, key=lambda p: -(_num(p.get("R_ohm")) or 0.0))[:3]
            drt_peaks = sorted(big, key=lambda p: _num(p.get("tau_s")) or 0.0)
            for k, peak in enumerate(drt_peaks):
                put(f"DRT peak {k + 1} τ", sid, _value(peak.get("tau_s")))
                put(f"DRT peak {k + 1} R", sid, _value(peak.get("R_ohm")))
        cond = docs.get(sid, {}).get("echem.conductivity", [])
        if cond:
            arr = cond[0].get("arrhenius") or {}
            put("activation energy Ea", sid, _value(arr.get("Ea_eV"), arr.get("Ea_stderr")))
            for pt in cond[0].get("points", []):
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
        elif name.startswith("DRT"):
            unit = "s" if name.endswith("τ") else "Ω"
        else:
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
    by_sample = {sid: current_docs(catalog, sid) for sid in ids}
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
