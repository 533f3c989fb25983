"""XPS readers: VAMAS (ISO 14976), Thermo Avantage CSV/XLSX exports and plain BE/intensity CSV.

Every reader returns an :class:`xarray.Dataset` with the same layout, chosen so that a depth
profile maps onto it directly:

* one data variable per region, named by its compact region key (``"C1s"``, ``"F1s"``,
  ``"Fe2p"``, ``"Survey"``), on dims ``("etch_level", "binding_energy_<key>")``; a file with
  one spectrum per region has a single etch level;
* coords ``etch_level`` (index, units ``"1"``), ``etch_time`` on ``etch_level`` (s, NaN when
  the file does not say) and one ascending ``binding_energy_<key>`` (eV) per region;
* vendor fits read back from Avantage exports as further variables on the region's dims:
  ``<key>__component_<i>`` (components drawn on top of the background, as Avantage writes
  them), ``<key>__background`` and ``<key>__envelope``, with ``attrs["role"]`` saying which;
* region variables carry ``role="counts"``, ``region`` (name as in the file), ``element``,
  ``transition``, ``excitation_energy_eV``, ``pass_energy_eV``, ``dwell_s``, ``scans``,
  ``abscissa`` (how the file stored the energy), ``blocks`` (JSON, per level) and, for
  CasaXPS-processed VAMAS, ``casa_processing`` (JSON list of the regions/components parsed
  from the ``CASA`` comment lines).

:func:`region_names` lists the regions and :func:`get_region` returns one region at one level
as a 1-D spectrum on ``binding_energy``.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..core.data import make_spectrum
from ..core.errors import AssumptionWarning, CorruptFileError, InputError
from ..core.provenance import charact_version
from ..core.readers import Reader, register_reader
from ..core.store import atomic_write
from ..core.textio import read_numeric_table

__all__ = [
    "get_region",
    "parse_casa_comments",
    "read_avantage_csv",
    "read_avantage_xlsx",
    "read_phi",
    "read_text_xps",
    "read_vamas",
    "region_key",
    "region_names",
    "vendor_fit",
    "write_vamas",
]

VAMAS_MAGIC = "VAMAS Surface Chemical Analysis Standard Data Transfer Format"

# ISO 14976 writes 1e37 for "not known".
_VAMAS_UNKNOWN = 1e36


def region_key(name: str) -> str:
    """Compact key of a region name: ``"C 1s"`` → ``"C1s"``, ``"C1s Scan"`` → ``"C1s"``.

    Keys are valid variable names and are what ``--region`` matches (case-insensitive).
    """
    text = re.sub(r"\bscan\b", "", str(name), flags=re.IGNORECASE)
    key = re.sub(r"[^0-9A-Za-z]+", "", text)
    return key or "region"


def _dataset_attrs(instrument: str, metadata: dict[str, Any], reader: str) -> dict[str, Any]:
    return {
        "sample_id": "",
        "measurement_id": "",
        "technique": "xps",
        "instrument": instrument,
        "source_file": "",
        "source_sha256": "",
        "reader": reader,
        "charact_version": charact_version(),
        "original_metadata": json.dumps(metadata, default=str, ensure_ascii=False),
    }


@dataclass
class _Region:
    """One region at one or more levels, before assembly."""

    name: str
    be: np.ndarray  # ascending
    levels: list[np.ndarray]  # counts per level, on ``be``
    units: str
    attrs: dict[str, Any] = field(default_factory=dict)
    blocks: list[dict[str, Any]] = field(default_factory=list)
    extras: dict[str, tuple[np.ndarray, dict[str, Any]]] = field(default_factory=dict)


def _assemble(
    regions: Sequence[_Region],
    etch_times: Sequence[float],
    *,
    instrument: str,
    metadata: dict[str, Any],
    reader: str,
    path: Path,
) -> xr.Dataset:
    if not regions:
        raise CorruptFileError("no spectra found", path=path)
    nlev = len(etch_times)
    ds = xr.Dataset(
        coords={
            "etch_level": xr.Variable("etch_level", np.arange(nlev), {"units": "1"}),
            "etch_time": xr.Variable(
                "etch_level",
                np.asarray(etch_times, float),
                {"units": "s", "long_name": "etch time"},
            ),
        }
    )
    used: dict[str, int] = {}
    keys = []
    for reg in regions:
        key = region_key(reg.name)
        if key in used:  # two regions with the same name in one level: number them
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 1
        keys.append(key)
        dim = f"binding_energy_{key}"
        data = np.full((nlev, reg.be.size), np.nan)
        for i, y in enumerate(reg.levels):
            data[i] = y
        ds = ds.assign_coords(
            {dim: xr.Variable(dim, reg.be, {"units": "eV", "long_name": "binding energy"})}
        )
        attrs = {
            "units": reg.units,
            "role": "counts",
            "region": reg.name,
            "long_name": f"{reg.name} intensity",
            **reg.attrs,
            "blocks": json.dumps(reg.blocks, default=str),
        }
        ds[key] = xr.Variable(("etch_level", dim), data, attrs)
        for suffix, (values, eattrs) in reg.extras.items():
            ds[f"{key}__{suffix}"] = xr.Variable(
                ("etch_level", dim), np.atleast_2d(values), {"units": reg.units, **eattrs}
            )
    ds.attrs = _dataset_attrs(instrument, metadata, reader)
    ds.attrs["regions"] = json.dumps(keys)
    return ds


def region_names(ds: xr.Dataset) -> list[str]:
    """Keys of the measured regions of a dataset from an XPS reader, in file order."""
    if "regions" in ds.attrs:
        return list(json.loads(ds.attrs["regions"]))
    return [str(k) for k, v in ds.data_vars.items() if v.attrs.get("role") == "counts"]


def _match_region(ds: xr.Dataset, region: str) -> str:
    names = region_names(ds)
    want = region_key(region).lower()
    for n in names:
        if n.lower() == want:
            return n
    raise InputError(
        f"{ds.attrs.get('source_file') or 'dataset'}: no region {region!r}; "
        f"regions are {', '.join(names)}"
    )


def get_region(ds: xr.Dataset, region: str, *, level: int = 0) -> xr.DataArray:
    """One region at one etch level as a 1-D spectrum on an ascending ``binding_energy`` axis.

    Points that are NaN (outside the level's measured range) are dropped. The result carries
    the dataset's provenance attrs, the region's attrs, ``etch_level`` and ``etch_time_s``.

    Raises
    ------
    InputError
        Unknown region (listing the known ones) or level out of range.
    """
    key = _match_region(ds, region)
    var = ds[key]
    nlev = var.sizes["etch_level"]
    if not 0 <= level < nlev:
        raise InputError(f"etch level {level} out of range: the file has {nlev} level(s)")
    dim = var.dims[1]
    y = np.asarray(var.isel(etch_level=level).values, float)
    x = np.asarray(ds[dim].values, float)
    ok = np.isfinite(y)
    attrs = {k: v for k, v in ds.attrs.items() if k != "regions"}
    attrs.update({k: v for k, v in var.attrs.items() if k != "units"})
    attrs["region_key"] = key
    attrs["etch_level"] = int(level)
    attrs["etch_time_s"] = float(ds["etch_time"].values[level])
    da = make_spectrum(
        x[ok], y[ok], axis="binding_energy", technique="xps", units=var.attrs["units"]
    )
    da.attrs.update(attrs)
    return da


# --------------------------------------------------------------------------- VAMAS


class _Lines:
    """Cursor over the lines of a VAMAS file that names what it expected when it runs out."""

    def __init__(self, lines: list[str], start: int, path: Path) -> None:
        self.lines, self.i, self.path = lines, start, path

    def next(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise CorruptFileError(
                f"VAMAS file ends early (truncated?) at line {self.i + 1}: expected {what}",
                path=self.path,
            )
        s = self.lines[self.i].strip()
        self.i += 1
        return s

    def int(self, what: str) -> int:
        s = self.next(what)
        try:
            return int(float(s))
        except ValueError:
            raise CorruptFileError(
                f"line {self.i}: expected an integer ({what}), found {s!r}", path=self.path
            ) from None

    def float(self, what: str) -> float:
        s = self.next(what)
        try:
            return float(s)
        except ValueError:
            raise CorruptFileError(
                f"line {self.i}: expected a number ({what}), found {s!r}", path=self.path
            ) from None


_DEPTH_MODES = ("MAPDP", "MAPSVDP", "SDP", "SDPSV")
_CASA_ITEM = re.compile(r"\(\*(.*?)\*\)|(\S+)")


def _casa_tokens(text: str) -> list[str]:
    return [a if a or b == "" else b for a, b in _CASA_ITEM.findall(text)]


def parse_casa_comments(
    comments: Sequence[str], *, excitation_energy: float | None = None, kinetic: bool = False
) -> dict[str, Any]:
    """Parse CasaXPS processing lines (``CASA region``, ``CASA comp``) of a VAMAS block comment.

    CasaXPS stores positions on the block's own abscissa; when that is kinetic energy and the
    excitation energy is known, ``position_be`` (hν − KE) is added to each component.

    Returns
    -------
    dict
        ``{"regions": [{"name", "background", "start", "end", "rsf", ...}],
        "components": [{"name", "lineshape", "area", "fwhm", "position", "position_be",
        "rsf", "constraints": {...}}]}``.
    """
    regions, comps = [], []
    for line in comments:
        s = line.strip()
        if s.startswith("CASA region"):
            tok = _casa_tokens(s[len("CASA region") :])
            try:
                regions.append(
                    {
                        "name": tok[0],
                        "background": tok[1],
                        "start": float(tok[2]),
                        "end": float(tok[3]),
                        "rsf": float(tok[4]),
                        "raw": s,
                    }
                )
            except (IndexError, ValueError):
                regions.append({"raw": s})
        elif s.startswith("CASA comp"):
            tok = _casa_tokens(s[len("CASA comp") :])
            comp: dict[str, Any] = {"name": tok[0], "lineshape": tok[1], "raw": s}
            # After name and shape come keyword groups: KEY value [min max link ...].
            i = 2
            while i < len(tok):
                key = tok[i]
                if key in ("Area", "MFWHM", "Position") and i + 3 < len(tok):
                    try:
                        comp[{"Area": "area", "MFWHM": "fwhm", "Position": "position"}[key]] = (
                            float(tok[i + 1])
                        )
                        comp.setdefault("constraints", {})[key] = [
                            float(tok[i + 2]),
                            float(tok[i + 3]),
                        ]
                    except ValueError:
                        pass
                    i += 6
                elif key in ("RSF", "MASS", "INDEX", "UNCORRECTEDRSF") and i + 1 < len(tok):
                    try:
                        comp[key.lower()] = float(tok[i + 1])
                    except ValueError:
                        comp[key.lower()] = tok[i + 1]
                    i += 2
                else:
                    i += 1
            if kinetic and excitation_energy and "position" in comp:
                comp["position_be"] = excitation_energy - comp["position"]
            elif "position" in comp:
                comp["position_be"] = comp["position"]
            comps.append(comp)
    return {"regions": regions, "components": comps}


def _vamas_lines(path: Path) -> tuple[list[str], int]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = text.splitlines()
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1  # some exports (Kratos) put blank lines before the magic string
    if start >= len(lines) or not lines[start].strip().startswith(VAMAS_MAGIC):
        raise CorruptFileError(
            f"not a VAMAS file: expected {VAMAS_MAGIC!r} on the first non-blank line", path=path
        )
    return lines, start


def _unknown(v: float) -> float:
    return math.nan if abs(v) >= _VAMAS_UNKNOWN else v


def _ordinate_units(label: str, units: str, signal_mode: str) -> str:
    text = f"{label} {units}".lower()
    if "per second" in text or "c/s" in text or "cps" in text or "/s" in text:
        return "counts/s"
    return "counts"


def read_vamas(path: str | PathLike[str]) -> xr.Dataset:
    """Read a VAMAS (ISO 14976) file: ``.vms``, and PHI MultiPak exports named ``.npl``.

    Supports REGULAR and IRREGULAR scan modes, NORM and depth-profile (SDP, MAPDP …)
    experiment modes, kinetic or binding energy abscissae (KE is converted with the block's
    excitation energy, BE = hν − KE) and leading blank lines. Blocks with the same region
    name in file order become successive etch levels; the etch time (s) is taken from an
    experimental variable whose label mentions etch or sputter, else from a block comment
    line such as ``Etch Time = 60 s``, else NaN.

    Parameters
    ----------
    path
        The file (never written to).

    Returns
    -------
    xarray.Dataset
        See the module docstring for the layout.

    Raises
    ------
    CorruptFileError
        Truncated blocks, block-count mismatch, unknown abscissa units or non-numeric values,
        naming the line.
    """
    p = Path(path)
    lines, start = _vamas_lines(p)
    c = _Lines(lines, start + 1, p)
    header: dict[str, Any] = {"format": lines[start].strip()}
    header["institution"] = c.next("institution identifier")
    header["instrument_model"] = c.next("instrument model identifier")
    header["operator"] = c.next("operator identifier")
    header["experiment"] = c.next("experiment identifier")
    ncom = c.int("number of lines in the comment")
    header["comment"] = [c.next("comment line") for _ in range(ncom)]
    mode = c.next("experiment mode").upper()
    scan_mode = c.next("scan mode").upper()
    if scan_mode not in ("REGULAR", "IRREGULAR"):
        raise CorruptFileError(
            f"line {c.i}: scan mode {scan_mode!r} is not supported (REGULAR or IRREGULAR)",
            path=p,
        )
    header["experiment_mode"], header["scan_mode"] = mode, scan_mode
    if mode in ("MAP", "MAPDP", "NORM", "SDP"):
        header["number_of_regions"] = c.int("number of spectral regions")
    if mode in ("MAP", "MAPDP"):
        header["analysis_positions"] = c.int("number of analysis positions")
        c.int("number of discrete x coordinates")
        c.int("number of discrete y coordinates")
    nexp = c.int("number of experimental variables")
    exp_vars = [(c.next("experimental variable label"), c.next("its units")) for _ in range(nexp)]
    header["experimental_variables"] = exp_vars
    ninc = c.int("number of entries in the parameter inclusion list")
    if ninc != 0:
        raise CorruptFileError(
            f"line {c.i}: a block-parameter inclusion/exclusion list ({ninc} entries) is not "
            "supported; re-export the file with all block parameters",
            path=p,
        )
    nman = c.int("number of manually entered items")
    for _ in range(nman):
        c.next("manually entered item")
    nfut_exp = c.int("number of future-upgrade experiment entries")
    nfut_blk = c.int("number of future-upgrade block entries")
    for _ in range(nfut_exp):
        c.next("future-upgrade experiment entry")
    nblocks = c.int("number of blocks")
    header["number_of_blocks"] = nblocks
    blocks = [_read_vamas_block(c, mode, scan_mode, exp_vars, nfut_blk, k) for k in range(nblocks)]
    # Anything after the last block other than the terminator means the count was wrong.
    rest = [s.strip() for s in lines[c.i :] if s.strip()]
    if rest and rest[0].lower() != "end of experiment":
        raise CorruptFileError(
            f"line {c.i + 1}: the header says {nblocks} block(s) but more data follows "
            f"({rest[0][:40]!r}); block count does not match",
            path=p,
        )
    if not rest:
        raise CorruptFileError(
            "VAMAS file has no 'end of experiment' terminator after the last block (truncated?)",
            path=p,
        )
    return _vamas_dataset(blocks, header, p)


def _read_vamas_block(
    c: _Lines,
    mode: str,
    scan_mode: str,
    exp_vars: list[tuple[str, str]],
    nfut_blk: int,
    k: int,
) -> dict[str, Any]:
    b: dict[str, Any] = {"index": k, "first_line": c.i + 1}
    b["block_id"] = c.next(f"block {k + 1} identifier")
    b["sample_id"] = c.next("sample identifier")
    b["date"] = [c.int(w) for w in ("year", "month", "day", "hours", "minutes", "seconds")]
    b["gmt_offset_h"] = c.float("hours in advance of GMT")
    ncom = c.int("number of lines in the block comment")
    b["comment"] = [c.next("block comment line") for _ in range(ncom)]
    b["technique"] = c.next("technique")
    if mode in ("MAP", "MAPDP"):
        b["x"], b["y"] = c.float("x coordinate"), c.float("y coordinate")
    b["experimental_variables"] = {
        lab: c.next(f"value of experimental variable {lab!r}") for lab, _ in exp_vars
    }
    b["source"] = c.next("analysis source label")
    if mode in _DEPTH_MODES:
        b["sputter_ion_z"] = c.next("sputtering ion atomic number")
        b["sputter_ion_atoms"] = c.next("number of atoms in the sputtering ion")
        b["sputter_ion_charge"] = c.next("sputtering ion charge")
    b["excitation_energy_eV"] = _unknown(c.float("analysis source characteristic energy"))
    b["source_strength"] = _unknown(c.float("analysis source strength"))
    c.float("source beam width x")
    c.float("source beam width y")
    if mode in ("MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM"):
        c.float("field of view x")
        c.float("field of view y")
    if mode in ("MAPSV", "MAPSVDP", "SEM"):
        for w in ("first linescan start x", "start y", "finish x", "finish y", "last x", "last y"):
            c.next(w)
    b["source_polar_angle_deg"] = _unknown(c.float("source polar angle of incidence"))
    c.float("source azimuth")
    b["analyser_mode"] = c.next("analyser mode")
    b["pass_energy_eV"] = _unknown(c.float("analyser pass energy"))
    if b["technique"].upper() == "AES DIFF":
        c.float("differential width")
    c.float("magnification of the analyser transfer lens")
    b["work_function_eV"] = _unknown(c.float("analyser work function"))
    c.float("target bias")
    c.float("analysis width x")
    c.float("analysis width y")
    b["takeoff_polar_deg"] = _unknown(c.float("analyser take-off polar angle"))
    c.float("analyser take-off azimuth")
    # MultiPak pads some labels with NUL characters ("1s\x00")
    b["element"] = c.next("species label").replace("\x00", "").strip()
    b["transition"] = c.next("transition label").replace("\x00", "").strip()
    c.next("charge of the detected particle")
    if scan_mode == "REGULAR":
        b["abscissa_label"] = c.next("abscissa label")
        b["abscissa_units"] = c.next("abscissa units")
        b["abscissa_start"] = c.float("abscissa start")
        b["abscissa_step"] = c.float("abscissa increment")
    ncorr = c.int("number of corresponding variables")
    if ncorr < 1 or (scan_mode == "IRREGULAR" and ncorr < 2):
        raise CorruptFileError(
            f"line {c.i}: block {k + 1} ({b['block_id']!r}) has {ncorr} corresponding "
            "variable(s); at least one ordinate (and the abscissa in IRREGULAR mode) is needed",
            path=c.path,
        )
    b["corresponding"] = [
        (c.next("variable label"), c.next("variable units")) for _ in range(ncorr)
    ]
    b["signal_mode"] = c.next("signal mode")
    b["dwell_s"] = _unknown(c.float("signal collection time"))
    b["scans"] = c.int("number of scans")
    c.next("signal time correction")
    if mode in _DEPTH_MODES:
        b["sputter_energy_eV"] = _unknown(c.float("sputtering source energy"))
        for w in ("beam current", "width x", "width y", "polar angle", "azimuth", "mode"):
            c.next(f"sputtering source {w}")
    c.next("sample normal polar angle of tilt")
    c.next("sample normal tilt azimuth")
    c.next("sample rotation angle")
    nadd = c.int("number of additional numerical parameters")
    b["additional"] = {}
    for _ in range(nadd):
        lab, units, val = c.next("parameter label"), c.next("its units"), c.next("its value")
        b["additional"][lab] = [val, units]
    for _ in range(nfut_blk):
        c.next("future-upgrade block entry")
    nval = c.int("number of ordinate values")
    for _ in range(ncorr):
        c.next("minimum ordinate value")
        c.next("maximum ordinate value")
    if nval % ncorr:
        raise CorruptFileError(
            f"block {k + 1} ({b['block_id']!r}): {nval} ordinate values do not divide into "
            f"{ncorr} corresponding variables",
            path=c.path,
        )
    first = c.i
    if first + nval > len(c.lines):
        raise CorruptFileError(
            f"block {k + 1} ({b['block_id']!r}) is truncated: it declares {nval} values from "
            f"line {first + 1} but the file ends at line {len(c.lines)}",
            path=c.path,
        )
    try:
        vals = np.array([float(s) for s in c.lines[first : first + nval]], dtype=float)
    except ValueError:
        bad = next(
            j for j, s in enumerate(c.lines[first : first + nval]) if not _is_float(s.strip())
        )
        raise CorruptFileError(
            f"line {first + bad + 1}: block {k + 1} ({b['block_id']!r}) expected {nval} "
            f"numbers, found {c.lines[first + bad].strip()[:40]!r} (truncated block?)",
            path=c.path,
        ) from None
    c.i = first + nval
    b["values"] = vals.reshape(-1, ncorr)
    return b


def _is_float(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


_ETCH_RE = re.compile(
    r"(?:etch|sputter)\w*\s*time\s*(?:\(s\))?\s*[:=]?\s*([-+]?\d+(?:\.\d+)?)", re.I
)


def _etch_time(b: dict[str, Any]) -> float:
    for lab, val in b["experimental_variables"].items():
        if re.search(r"etch|sputter", lab, re.I) and _is_float(val):
            return float(val)
    for line in b["comment"]:
        m = _ETCH_RE.search(line)
        if m:
            return float(m.group(1))
    return math.nan


def _block_axis(b: dict[str, Any], path: Path) -> tuple[np.ndarray, np.ndarray, str, str]:
    """Binding-energy axis, counts, units of the counts and how the file stored the energy."""
    vals = b["values"]
    if "abscissa_label" in b:
        label, units = b["abscissa_label"], b["abscissa_units"]
        x = b["abscissa_start"] + b["abscissa_step"] * np.arange(vals.shape[0])
        y = vals[:, 0]
        ylab, yunits = b["corresponding"][0]
    else:  # IRREGULAR: the abscissa is the first corresponding variable
        label, units = b["corresponding"][0]
        x, y = vals[:, 0], vals[:, 1]
        ylab, yunits = b["corresponding"][1]
    low = label.lower()
    if units.strip().lower() != "ev":
        raise CorruptFileError(
            f"block {b['index'] + 1} ({b['block_id']!r}): abscissa {label!r} is in "
            f"{units!r}; expected eV",
            path=path,
        )
    if "kinetic" in low:
        hv = b["excitation_energy_eV"]
        if not math.isfinite(hv):
            raise CorruptFileError(
                f"block {b['index'] + 1} ({b['block_id']!r}): kinetic-energy abscissa but no "
                "excitation energy to convert it to binding energy",
                path=path,
            )
        x, how = hv - x, "kinetic energy (converted: BE = hν − KE)"
    elif "binding" in low:
        how = "binding energy"
    else:
        raise CorruptFileError(
            f"block {b['index'] + 1} ({b['block_id']!r}): unknown abscissa {label!r} "
            "(expected 'Kinetic Energy' or 'Binding Energy')",
            path=path,
        )
    # Counts per second when the file says so; the dwell and scans are kept to undo it.
    units_y = _ordinate_units(ylab, yunits, b["signal_mode"])
    order = np.argsort(x)
    # A corresponding variable labelled "transmission" (SPECS/CasaXPS exports) is the
    # analyser transmission at each point; kept so quantification can divide by it.
    b["_transmission"] = None
    first_y = 0 if "abscissa_label" in b else 1
    for j, (lab, _units) in enumerate(b["corresponding"]):
        if j > first_y and "transmission" in lab.lower():
            b["_transmission"] = vals[:, j][order]
            break
    return x[order], y[order], units_y, how


_ELEMENT_SYMBOL = re.compile(r"^[A-Z][a-z]?$")


def _vamas_region_name(b: Mapping[str, Any]) -> str:
    """Region name of a VAMAS block: species + transition ("C 1s"), else the best label.

    Without a transition, a bare element symbol ("C") says less than the block identifier
    (often "C 1s"), but a species label such as "Survey" says more than an identifier that
    some exporters fill with the intensity unit (SpecsLab Prodigy: "Counts per Second").
    """
    element, transition, block_id = b["element"], b["transition"], b["block_id"].strip()
    if element.lower() in ("", "none", "not specified"):
        return block_id or "region"
    if transition not in ("", "-"):
        return f"{element} {transition}"
    if _ELEMENT_SYMBOL.match(element) and block_id:
        return block_id
    return element


def _vamas_dataset(blocks: list[dict[str, Any]], header: dict[str, Any], p: Path) -> xr.Dataset:
    groups: dict[str, list[dict[str, Any]]] = {}
    for b in blocks:
        name = _vamas_region_name(b)
        groups.setdefault(name, []).append(b)
    nlev = max(len(g) for g in groups.values())
    etch = [math.nan] * nlev
    regions = []
    for name, group in groups.items():
        x0, _, units, how = _block_axis(group[0], p)
        levels, infos = [], []
        trans = np.full((nlev, x0.size), np.nan)
        for lev, b in enumerate(group):
            x, y, _, _ = _block_axis(b, p)
            if b["_transmission"] is not None:
                trans[lev] = np.interp(x0, x, b["_transmission"], left=np.nan, right=np.nan)
            if x.size != x0.size or not np.allclose(x, x0, atol=1e-6):
                warnings.warn(
                    f"{p.name}: region {name!r} level {lev} has a different energy grid; "
                    "interpolated onto the first level's grid",
                    AssumptionWarning,
                    stacklevel=3,
                )
                y = np.interp(x0, x, y, left=np.nan, right=np.nan)
            levels.append(y)
            t = _etch_time(b)
            if math.isfinite(t) and not math.isfinite(etch[lev]):
                etch[lev] = t
            kinetic = "kinetic" in how
            infos.append(
                {
                    "block_id": b["block_id"],
                    "sample_id": b["sample_id"],
                    "first_line": b["first_line"],
                    "date": b["date"],
                    "experimental_variables": b["experimental_variables"],
                    "additional": b["additional"],
                    "comment": b["comment"],
                    "etch_time_s": t,
                    "sputter_energy_eV": b.get("sputter_energy_eV", math.nan),
                    "casa": parse_casa_comments(
                        b["comment"], excitation_energy=b["excitation_energy_eV"], kinetic=kinetic
                    ),
                }
            )
        b0 = group[0]
        casa = [i["casa"] for i in infos]
        attrs = {
            "element": b0["element"],
            "transition": b0["transition"],
            "sample": b0["sample_id"],
            "block_id": b0["block_id"],
            "excitation_energy_eV": float(b0["excitation_energy_eV"]),
            "source": b0["source"],
            "pass_energy_eV": float(b0["pass_energy_eV"]),
            "dwell_s": float(b0["dwell_s"]),
            "scans": int(b0["scans"]),
            "analyser_mode": b0["analyser_mode"],
            "abscissa": how,
            "work_function_eV": float(b0["work_function_eV"]),
            "casa_processing": json.dumps(casa, default=str),
        }
        reg = _Region(name, x0, levels, units, attrs, infos)
        if np.any(np.isfinite(trans)):
            reg.extras["transmission"] = (
                trans,
                {"units": "1", "role": "transmission", "long_name": "analyser transmission"},
            )
        regions.append(reg)
    instrument = " ".join(s for s in (header["institution"], header["instrument_model"]) if s)
    instrument = "" if instrument.lower().startswith("not specified") else instrument
    return _assemble(
        regions, etch, instrument=instrument, metadata=header, reader="xps-vamas", path=p
    )


def _sniff_vamas(head: bytes, path: Path) -> float:
    return 1.0 if VAMAS_MAGIC.encode() in head[:2048] else 0.0


def write_vamas(
    ds: xr.Dataset,
    path: str | PathLike[str],
    *,
    experiment_mode: str = "NORM",
    sputter_energy_eV: float = 500.0,
) -> Path:
    """Write a dataset in this module's layout as a REGULAR, binding-energy VAMAS file.

    Levels are written as successive blocks (etch time as the experimental variable
    ``Etch Time`` in s). ``experiment_mode="SDP"`` writes a sputter depth profile with the
    sputtering ion (Ar+) and source entries ISO 14976 adds in that mode. Used for generated
    depth profiles and examples; atomically written.
    """
    mode = experiment_mode.upper()
    if mode not in ("NORM", "SDP"):
        raise InputError(f"experiment_mode must be NORM or SDP, got {experiment_mode!r}")
    sdp = mode == "SDP"
    keys = region_names(ds)
    blocks = []
    for lev in range(ds.sizes["etch_level"]):
        for key in keys:
            var = ds[key]
            x = np.asarray(ds[var.dims[1]].values, float)
            y = np.asarray(var.values[lev], float)
            if not np.all(np.isfinite(y)):
                raise InputError(f"region {key} level {lev} has NaN counts; cannot write VAMAS")
            step = float(np.mean(np.diff(x)))
            if not np.allclose(np.diff(x), step, rtol=1e-6, atol=1e-9):
                raise InputError(f"region {key}: write_vamas needs an evenly spaced axis")
            region = var.attrs.get("region", key)
            element, _, transition = region.partition(" ")
            t = float(ds["etch_time"].values[lev])
            hv = float(var.attrs.get("excitation_energy_eV", 1486.6))
            pe = float(var.attrs.get("pass_energy_eV", 20.0))
            dwell = float(var.attrs.get("dwell_s", 0.1))
            scans = int(var.attrs.get("scans", 1))
            lines = [
                f"{region} L{lev}",
                ds.attrs.get("sample_id") or "synthetic",
                "2026", "1", "1", "0", "0", "0", "0",
                "1",
                f"Etch Time = {t:g} s",
                "XPS",
                f"{t:.6g}" if math.isfinite(t) else "-1",
                "Al mono",
                *(["18", "1", "1"] if sdp else []),
                f"{hv:.6g}", "1e+037", "1e+037", "1e+037", "54.7", "0",
                "FAT", f"{pe:g}", "1e+037", "4.5", "0", "1e+037", "1e+037", "0", "0",
                element, transition or "-", "-1",
                "Binding Energy", "eV", f"{x[0]:.6f}", f"{step:.6f}",
                "1", "Intensity", "d",
                "pulse counting", f"{dwell:g}", str(scans), "0",
                *([f"{sputter_energy_eV:g}", "1e+037", "1e+037", "1e+037", "45", "0",
                   "continuous"] if sdp else []),
                "0", "0", "0",
                "0",
                str(y.size), f"{y.min():.6g}", f"{y.max():.6g}",
                *[f"{v:.6f}" for v in y],
            ]  # fmt: skip
            blocks.append(lines)
    head = [
        VAMAS_MAGIC + " 1988 May 4",
        "charact", "synthetic", "charact", "generated depth profile",
        "1", "written by charact.xps.io.write_vamas",
        mode, "REGULAR", str(len(keys)),
        "1", "Etch Time", "s",
        "0", "0", "0", "0",
        str(len(blocks)),
    ]  # fmt: skip
    text = "\r\n".join(head + [s for b in blocks for s in b] + ["end of experiment"]) + "\r\n"
    target = Path(path)
    with atomic_write(target) as fh:
        fh.write(text)
    return target


# --------------------------------------------------------------------------- Avantage CSV


_AVANTAGE_HV = re.compile(r"Characteristic Energy eV\s*,\s*([-+0-9.eE]+)")
_AVANTAGE_ACQ = re.compile(r"Acquisition Time s\s*,\s*([-+0-9.eE]+)")


def _sniff_avantage_csv(head: bytes, path: Path) -> float:
    text = head.decode("utf-8", "replace")
    if "Characteristic Energy eV" in text and re.search(r"^BE_", text, re.M):
        return 1.0
    return 0.0


def _vendor_columns(
    names: Sequence[str], region: str
) -> tuple[list[int], int | None, int | None, int | None]:
    comps, bg, env, res = [], None, None, None
    for j, n in enumerate(names):
        low = n.lower().strip()
        if low.startswith(("background", "backgnd")):
            bg = j
        elif low.startswith("envelope"):
            env = j
        elif low.startswith("residual"):
            res = j
        else:
            comps.append(j)
    return comps, bg, env, res


def _region_from_vendor(
    name: str,
    be: np.ndarray,
    counts: np.ndarray,
    vendor: dict[str, np.ndarray],
    comp_names: list[str],
    units: str,
    attrs: dict[str, Any],
) -> _Region:
    order = np.argsort(be)
    be = be[order]
    if np.any(np.diff(be) <= 0):
        raise CorruptFileError(f"region {name!r}: binding energies repeat or are not sorted")
    reg = _Region(name, be, [counts[order]], units, attrs)
    ci = 0
    for label, values in vendor.items():
        v = np.asarray(values, float)[order]
        if label == "background":
            reg.extras["background"] = (v, {"role": "vendor_background"})
        elif label == "envelope":
            reg.extras["envelope"] = (v, {"role": "vendor_envelope"})
        else:
            ci += 1
            reg.extras[f"component_{ci}"] = (
                v,
                {"role": "vendor_component", "component": comp_names[ci - 1]},
            )
    return reg


def read_avantage_csv(path: str | PathLike[str]) -> xr.Dataset:
    """Read a Thermo Avantage "export to CSV" file (one region, optionally with its fit).

    The layout: header lines holding ``Characteristic Energy eV,<hν>,Acquisition Time s,<t>``,
    then a column row ``BE_<region>, CPS_<region>, <region>_1_…, …, Background_…,
    Envelope_…`` and the data. Component columns are read back as drawn by Avantage (on top
    of the background) with ``role="vendor_component"``.
    """
    p = Path(path)
    table = read_numeric_table(p)
    header_text = "\n".join(table.header)
    cols = table.columns
    if not cols or not cols[0].startswith("BE_") or len(cols) < 2:
        raise CorruptFileError(
            "expected an Avantage column row starting 'BE_<region>,CPS_<region>', "
            f"found {cols[:2]}",
            path=p,
        )
    region = cols[0][3:].strip()
    # "F 1s 7": Avantage appends the scan number after the region name.
    name = re.sub(r"\s+\d+$", "", region)
    m = _AVANTAGE_HV.search(header_text)
    hv = float(m.group(1)) if m else math.nan
    if not m:
        warnings.warn(
            f"{p.name}: no 'Characteristic Energy' in the header; excitation energy unknown",
            AssumptionWarning,
            stacklevel=2,
        )
    acq = _AVANTAGE_ACQ.search(header_text)
    data = table.data
    comp_idx, bg, env, _ = _vendor_columns(cols[2:], region)
    vendor: dict[str, np.ndarray] = {}
    comp_names = []
    for j in comp_idx:
        comp_names.append(cols[2 + j])
        vendor[f"c{j}"] = data[:, 2 + j]
    if bg is not None:
        vendor["background"] = data[:, 2 + bg]
    if env is not None:
        vendor["envelope"] = data[:, 2 + env]
    attrs = {
        "element": name.split()[0] if " " in name else name,
        "transition": name.split()[1] if len(name.split()) > 1 else "",
        "excitation_energy_eV": hv,
        "acquisition_time_s": float(acq.group(1)) if acq else math.nan,
        "pass_energy_eV": math.nan,
        "dwell_s": math.nan,
        "scans": -1,
        "abscissa": "binding energy",
        "vendor_components": json.dumps(comp_names),
    }
    reg = _region_from_vendor(name, data[:, 0], data[:, 1], vendor, comp_names, "counts/s", attrs)
    meta = {"header": table.header, "columns": cols}
    return _assemble(
        [reg],
        [math.nan],
        instrument="Thermo Scientific (Avantage export)",
        metadata=meta,
        reader="xps-avantage-csv",
        path=p,
    )


# --------------------------------------------------------------------------- Avantage XLSX


def _sniff_avantage_xlsx(head: bytes, path: Path) -> float:
    if not head.startswith(b"PK\x03\x04") or path.suffix.lower() not in (".xlsx", ".xlsm"):
        return 0.0
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf, zf.open("xl/workbook.xml") as fh:
            book = fh.read(200_000).decode("utf-8", "replace")
    except (zipfile.BadZipFile, OSError, KeyError):
        return 0.0
    sheets = re.findall(r'<sheet[^>]*\bname="([^"]+)"', book)
    # Avantage names its region sheets "<region> Scan" and adds Titles/Peak Table sheets.
    scans = [n for n in sheets if n.strip().lower().endswith(" scan")]
    if scans and any(
        n.strip().lower() in ("titles", "peak table", "quantifications") for n in sheets
    ):
        return 1.0
    return 0.5 if scans else 0.0


def read_avantage_xlsx(path: str | PathLike[str]) -> xr.Dataset:
    """Read a Thermo Avantage Excel export: one sheet per region plus the quantification sheet.

    Each ``<region> Scan`` sheet (and ``Survey``) has a header block, a row starting
    ``Binding Energy (E)`` naming the columns (counts, components, ``Backgnd.``,
    ``Envelope``, ``Residuals``) and a units row, then the data. Vendor components and
    background are zero outside the fitted range in these exports; they are read as NaN
    there. The ``Quantifications`` sheet (name, peak BE, FWHM, area, atomic %) is kept in
    ``attrs["vendor_quantification"]`` (JSON list of rows) and the ``Titles`` sheet in the
    metadata.
    """
    import openpyxl

    p = Path(path)
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise many types for a broken workbook
        raise CorruptFileError(
            f"not a readable .xlsx workbook ({type(exc).__name__}: {exc})", path=p
        ) from None
    try:
        regions, quant, titles = [], [], []
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            if ws.title.strip().lower().startswith("quantification"):
                quant = _xlsx_quant(rows)
                continue
            if ws.title.strip().lower() == "titles":
                titles = [[c for c in r if c is not None] for r in rows if any(r)]
                continue
            reg = _xlsx_region(ws.title, rows, p)
            if reg is not None:
                regions.append(reg)
    finally:
        wb.close()
    if not regions:
        raise CorruptFileError(
            "no Avantage region sheets found (a row starting 'Binding Energy (E)' was expected)",
            path=p,
        )
    meta = {"titles": titles, "sheets": [r.name for r in regions]}
    ds = _assemble(
        regions,
        [math.nan],
        instrument="Thermo Scientific (Avantage export)",
        metadata=meta,
        reader="xps-avantage-xlsx",
        path=p,
    )
    ds.attrs["vendor_quantification"] = json.dumps(quant)
    return ds


def _xlsx_quant(rows: list[list[Any]]) -> list[dict[str, Any]]:
    out = []
    head = None
    for r in rows:
        cells = [c for c in r if c is not None]
        if head is None:
            if any(isinstance(c, str) and c.strip().lower() == "name" for c in cells):
                head = [str(c).strip() for c in r]
            continue
        vals = {
            head[j]: r[j] for j in range(min(len(head), len(r))) if head[j] and r[j] is not None
        }
        name = r[0] if r[0] is not None else vals.get("Name")
        if name is None:
            continue
        # The name sits in the first column, under a blank header cell.
        numbers = [c for c in r[1:] if isinstance(c, int | float)]
        if len(numbers) >= 4:
            out.append(
                {
                    "name": str(name).strip(),
                    "peak_be_eV": float(numbers[0]),
                    "fwhm_eV": float(numbers[1]),
                    "area_cps_eV": float(numbers[2]),
                    "atomic_percent": float(numbers[3]),
                }
            )
    return out


def _xlsx_region(title: str, rows: list[list[Any]], p: Path) -> _Region | None:
    hdr = None
    for i, r in enumerate(rows):
        if r and isinstance(r[0], str) and r[0].strip().lower().startswith("binding energy"):
            hdr = i
            break
    if hdr is None:
        return None
    names = [c for c in rows[hdr][1:] if c is not None]
    data_rows = []
    for r in rows[hdr + 2 :]:
        nums = [c for c in r if c is not None]
        if not nums:
            continue
        if not all(isinstance(c, int | float) for c in nums):
            break
        data_rows.append([float(c) for c in nums])
    if not data_rows:
        raise CorruptFileError(f"sheet {title!r}: no data rows under the column header", path=p)
    width = len(data_rows[0])
    bad = [j for j, r in enumerate(data_rows) if len(r) != width]
    if bad:
        raise CorruptFileError(
            f"sheet {title!r}: data row {hdr + 3 + bad[0]} has {len(data_rows[bad[0]])} values, "
            f"expected {width}",
            path=p,
        )
    data = np.array(data_rows)
    be, counts = data[:, 0], data[:, 1]
    comp_idx, bg, env, _ = _vendor_columns([str(n) for n in names], title)
    vendor: dict[str, np.ndarray] = {}
    comp_names = []
    for j in comp_idx:
        if 2 + j >= width:
            continue
        comp_names.append(str(names[j]).strip())
        v = data[:, 2 + j].copy()
        v[v == 0] = np.nan  # Avantage writes 0 outside the fitted range
        vendor[f"c{j}"] = v
    for label, j in (("background", bg), ("envelope", env)):
        if j is not None and 2 + j < width:
            v = data[:, 2 + j].copy()
            if label == "background":
                v[v == 0] = np.nan
            vendor[label] = v
    name = re.sub(r"\s*scan\s*$", "", title, flags=re.I).strip()
    m = re.match(r"([A-Z][a-z]?)(\d[spdf]\d?)", name)
    attrs = {
        "element": m.group(1) if m else name,
        "transition": m.group(2) if m else "",
        "excitation_energy_eV": math.nan,
        "pass_energy_eV": math.nan,
        "dwell_s": math.nan,
        "scans": -1,
        "abscissa": "binding energy",
        "vendor_components": json.dumps(comp_names),
    }
    return _region_from_vendor(name, be, counts, vendor, comp_names, "counts/s", attrs)


# --------------------------------------------------------------------------- plain text


_XPS_WORDS = re.compile(r"\bBE\b|[Bb]inding|BINDING|\beV\b")


def _sniff_text(head: bytes, path: Path) -> float:
    from ..core.textio import sniff_numeric_table

    parsed = sniff_numeric_table(head, min_columns=2, max_columns=2)
    if parsed is None:
        return 0.0
    data, header = parsed
    if not _XPS_WORDS.search("\n".join(header)):
        return 0.0
    x = data[:, 0]
    step = np.diff(x)
    if x.size < 5 or not (np.all(step > 0) or np.all(step < 0)):
        return 0.0
    return 0.9 if x.min() > -10 and x.max() < 1500 else 0.0


def read_text_xps(
    path: str | PathLike[str], *, region: str | None = None, excitation_energy: float = math.nan
) -> xr.Dataset:
    """Read a plain two-column binding energy / intensity table (CSV, TSV, whitespace).

    The header must say binding energy (``BE``, ``Binding``, ``eV``) so the file is not
    mistaken for another technique's. The region name comes from ``region``, else the
    intensity column's name, else the file name.
    """
    p = Path(path)
    table = read_numeric_table(p)
    if table.data.shape[1] != 2:
        raise CorruptFileError(
            f"expected two columns (binding energy, intensity), found {table.data.shape[1]}",
            path=p,
        )
    name = region or (table.columns[1] if table.columns else "") or p.stem
    name = re.sub(r"^(in|int|intensity)[_ ]?", "", name, flags=re.I) or p.stem
    m = re.search(r"([A-Z][a-z]?)\s*(\d[spdf]\d?)", name)
    if m:
        name = f"{m.group(1)} {m.group(2)}"
    attrs = {
        "element": m.group(1) if m else "",
        "transition": m.group(2) if m else "",
        "excitation_energy_eV": float(excitation_energy),
        "pass_energy_eV": math.nan,
        "dwell_s": math.nan,
        "scans": -1,
        "abscissa": "binding energy",
    }
    x, y = table.data[:, 0], table.data[:, 1]
    order = np.argsort(x)
    if np.any(np.diff(x[order]) <= 0):
        raise CorruptFileError(
            "binding energies repeat; expected a strictly monotonic axis", path=p
        )
    reg = _Region(name, x[order], [y[order]], "counts", attrs)
    meta = {"header": table.header, "columns": table.columns}
    return _assemble([reg], [math.nan], instrument="", metadata=meta, reader="xps-text", path=p)


# --------------------------------------------------------------------------- PHI MultiPak


_PHI_REGDEF = re.compile(r"^SpectralRegDef:\s*(.*)$", re.M)


def _sniff_phi(head: bytes, path: Path) -> float:
    if head.startswith(b"SOFH") and (b"EOFH" in head or b"Technique: XPS" in head):
        return 1.0
    return 0.0


def read_phi(path: str | PathLike[str]) -> xr.Dataset:
    """Read a PHI MultiPak ``.spe`` (spectra) or ``.pro`` (sputter depth profile) file.

    The file is a text header between ``SOFH`` and ``EOFH`` (``Key: value`` lines; the
    regions in ``SpectralRegDef`` lines: number, …, name, …, points, step, start, end, …,
    pass energy) followed by a little-endian binary part. PHI does not publish that binary
    layout; charact reads it as observed in the example files and checks every block
    against the text header before trusting it:

    * 4 int32: (?, number of data groups, bytes of the group headers, offset of the first
      group header);
    * one 96-byte group header (24 int32) per group: [3] region number (0 for non-spectral
      groups), [5] points, [6] cycles (etch levels) or, for non-spectral groups, the number
      of regions, [19] byte count, [20] byte offset of the data from the start of the
      binary part;
    * spectral data as float32, cycle by cycle; the first non-spectral group whose values
      are non-decreasing per region holds the etch (sputter) time of each cycle.

    Intensities are stored as count rates (counts/s) by MultiPak. Etch times are taken in
    seconds (recorded in ``etch_time_source``).

    Raises
    ------
    CorruptFileError
        Missing ``EOFH``, a data block that disagrees with the header or runs past the end
        of the file.
    """
    p = Path(path)
    raw = p.read_bytes()
    end = raw.find(b"EOFH")
    if not raw.startswith(b"SOFH") or end < 0:
        raise CorruptFileError("not a PHI MultiPak file: expected a SOFH ... EOFH header", path=p)
    text = raw[:end].decode("latin-1")
    meta: dict[str, Any] = {}
    for line in text.splitlines()[1:]:
        key, sep, value = line.partition(":")
        if sep:
            meta.setdefault(key.strip(), []).append(value.strip())
    header = {k: v[0] if len(v) == 1 else v for k, v in meta.items()}
    start = end + 4
    while raw[start : start + 1] in (b"\r", b"\n"):
        start += 1
    binary = raw[start:]
    regdefs = {}
    for m in _PHI_REGDEF.finditer(text):
        f = m.group(1).split()
        try:
            regdefs[int(f[0])] = {
                "name": f[2],
                "points": int(f[4]),
                "step": float(f[5]),
                "start": float(f[6]),
                "end": float(f[7]),
                "pass_energy": float(f[11]),
            }
        except (IndexError, ValueError):
            raise CorruptFileError(
                f"cannot parse region definition {m.group(0)!r}", path=p
            ) from None
    if not regdefs:
        raise CorruptFileError("no SpectralRegDef lines in the header", path=p)
    if len(binary) < 16:
        raise CorruptFileError("the binary data part is missing (truncated file?)", path=p)
    _, ngroups, hbytes, hstart = (int(v) for v in np.frombuffer(binary[:16], "<i4"))
    if hbytes != 96 * ngroups or hstart + hbytes > len(binary):
        raise CorruptFileError(
            f"binary header says {ngroups} groups in {hbytes} bytes at {hstart}; expected 96 "
            "bytes per group within the file",
            path=p,
        )
    groups = [
        np.frombuffer(binary[hstart + 96 * g : hstart + 96 * (g + 1)], "<i4").astype(int)
        for g in range(ngroups)
    ]
    spectra: dict[int, np.ndarray] = {}
    others = []
    for g in groups:
        nbytes, offset = g[19], g[20]
        if offset + nbytes > len(binary):
            raise CorruptFileError(
                f"data group {g[0]} runs past the end of the file ({offset}+{nbytes} > "
                f"{len(binary)} bytes; truncated?)",
                path=p,
            )
        values = np.frombuffer(binary[offset : offset + nbytes], "<f4").astype(float)
        if g[3] > 0:
            reg = regdefs.get(g[3])
            npts, ncyc = g[5], g[6]
            if reg is None or reg["points"] != npts or values.size != npts * ncyc:
                raise CorruptFileError(
                    f"data group {g[0]} ({values.size} values, {npts} points x {ncyc} cycles) "
                    f"does not match region {g[3]} of the header",
                    path=p,
                )
            spectra[g[3]] = values.reshape(ncyc, npts)
        else:
            others.append((g, values))
    if not spectra:
        raise CorruptFileError("no spectral data groups found", path=p)
    ncyc = max(v.shape[0] for v in spectra.values())
    etch = [math.nan] * ncyc
    etch_source = "not in file"
    for _g, values in others:
        if values.size == len(spectra) * ncyc and ncyc > 1:
            t = values.reshape(len(spectra), ncyc)
            if np.all(np.diff(t, axis=1) >= 0) and np.all(t >= 0):
                etch = [float(v) + 0.0 for v in t[0]]  # + 0.0 turns -0.0 into 0.0
                etch_source = "PHI sputter-time group (taken as seconds)"
                break
    if ncyc == 1:
        etch = [0.0] if header.get("FileType", "").upper() != "DEPTHPRO" else [math.nan]
        etch_source = "single spectrum"
    src = str(header.get("XraySource", ""))
    m = re.search(r"(\d+\.\d+)", src)
    hv = float(m.group(1)) if m else math.nan
    regions = []
    for num in sorted(spectra):
        reg = regdefs[num]
        x = reg["start"] + reg["step"] * np.arange(reg["points"])
        order = np.argsort(x)
        data = spectra[num][:, order]
        name = reg["name"]
        mm = re.match(r"([A-Z][a-z]?)(\d[spdf]\d?)", name)
        label = f"{mm.group(1)} {mm.group(2)}" if mm else name
        if name.lower().startswith("su"):
            label = "Survey"
        attrs = {
            "element": mm.group(1) if mm else "",
            "transition": mm.group(2) if mm else "",
            "excitation_energy_eV": hv,
            "pass_energy_eV": reg["pass_energy"],
            "dwell_s": math.nan,
            "scans": -1,
            "abscissa": "binding energy",
            "phi_region": name,
            "etch_time_source": etch_source,
        }
        regions.append(_Region(label, x[order], list(data), "counts/s", attrs))
    instrument = " ".join(str(header.get(k, "")) for k in ("Institution", "InstrumentModel"))
    return _assemble(
        regions, etch, instrument=instrument.strip(), metadata=header, reader="xps-phi", path=p
    )


# --------------------------------------------------------------------------- registration

register_reader(
    Reader(
        name="xps-vamas",
        technique="xps",
        description="VAMAS ISO 14976 (.vms; PHI MultiPak .npl), REGULAR/IRREGULAR, KE or BE",
        extensions=(".vms", ".npl", ".vamas"),
        sniff=_sniff_vamas,
        read=read_vamas,
    )
)
register_reader(
    Reader(
        name="xps-avantage-csv",
        technique="xps",
        description="Thermo Avantage CSV export (one region, with components/background/envelope)",
        extensions=(".csv",),
        sniff=_sniff_avantage_csv,
        read=read_avantage_csv,
    )
)
register_reader(
    Reader(
        name="xps-avantage-xlsx",
        technique="xps",
        description="Thermo Avantage Excel export (region sheets with fit, quantification sheet)",
        extensions=(".xlsx",),
        sniff=_sniff_avantage_xlsx,
        read=read_avantage_xlsx,
    )
)
register_reader(
    Reader(
        name="xps-phi",
        technique="xps",
        description="PHI MultiPak .spe spectra and .pro sputter depth profiles",
        extensions=(".spe", ".pro"),
        sniff=_sniff_phi,
        read=read_phi,
    )
)
register_reader(
    Reader(
        name="xps-text",
        technique="xps",
        description="plain binding energy / intensity table (CSV, TSV, whitespace)",
        extensions=(".csv", ".txt", ".dat"),
        sniff=_sniff_text,
        read=read_text_xps,
        options=("region", "excitation_energy"),
    )
)


def _half_cross(xs: np.ndarray, ys: np.ndarray, half: float, a: int, b: int) -> float:
    """Where the line through points a and b crosses ``half``."""
    if ys[a] == ys[b]:
        return float(xs[a])
    return float(xs[a] + (half - ys[a]) * (xs[b] - xs[a]) / (ys[b] - ys[a]))


def vendor_fit(ds: xr.Dataset, region: str, *, level: int = 0) -> list[dict[str, Any]]:
    """The vendor's fitted components of a region, measured from the exported curves.

    Avantage exports components drawn on top of the background; each component's own curve
    is ``component − background``. Its position is the maximum (refined by a parabola through
    the three highest points), its FWHM the width at half maximum (linear interpolation) and
    its area the trapezoid integral, over the fitted range (where the vendor curves are not
    NaN).

    Returns
    -------
    list of dict
        ``{"name", "be", "fwhm", "area", "variable"}`` per component (``variable``: the
        dataset variable holding its curve), in export order; empty when the file holds no
        fit. A component curve with fewer than three finite points is left out.
    """
    key = _match_region(ds, region)
    dim = ds[key].dims[1]
    x = np.asarray(ds[dim].values, float)
    bgname = f"{key}__background"
    out = []
    comps = [v for v in ds.data_vars if str(v).startswith(f"{key}__component_")]
    if not comps or bgname not in ds:
        return out
    bg = np.asarray(ds[bgname].values[level], float)
    for v in comps:
        y = np.asarray(ds[v].values[level], float) - bg
        ok = np.isfinite(y)
        xs, ys = x[ok], y[ok]
        if xs.size < 3:
            continue
        i = int(np.argmax(ys))
        be = float(xs[i])
        if 0 < i < xs.size - 1:
            y0, y1, y2 = ys[i - 1], ys[i], ys[i + 1]
            den = y0 - 2 * y1 + y2
            if den != 0:
                be = float(xs[i] + 0.5 * (y0 - y2) / den * (xs[i + 1] - xs[i]))
        half = ys[i] / 2
        left = i
        while left > 0 and ys[left] > half:
            left -= 1
        right = i
        while right < ys.size - 1 and ys[right] > half:
            right += 1

        if right > left:
            fwhm = _half_cross(xs, ys, half, right, right - 1) - _half_cross(
                xs, ys, half, left, left + 1
            )
        else:
            fwhm = math.nan
        out.append(
            {
                "name": str(ds[v].attrs.get("component", v)),
                "be": be,
                "fwhm": float(fwhm),
                "area": float(np.trapezoid(ys, xs)),
                "variable": str(v),
            }
        )
    return out
