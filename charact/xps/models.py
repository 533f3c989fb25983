"""The XPS physics charact ships as data: the species library and relative sensitivity factors.

The species library (``charact/xps/data/species.toml``) lists, for each core-level region,
the SEI-relevant components with their binding-energy window, FWHM range, lineshape and the
formula of the species, each entry cited. Entries are registered in
:data:`charact.core.registry.SPECIES` under ``"<region>:<name>"`` (``"C1s:C-C"``,
``"F1s:LiF"``). Relative sensitivity factors live in ``charact/xps/data/rsf.toml``
(Scofield 1976 for Al Kα).
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

from ..core.errors import InputError
from ..core.lineshapes import get_lineshape
from ..core.registry import SPECIES

__all__ = [
    "Component",
    "component",
    "formula_counts",
    "load_rsf",
    "load_species_library",
    "region_components",
    "rsf_corrections",
    "rsf_sets",
]

#: Shape parameters the library may set, per lineshape, beyond size/center/fwhm.
_SHAPE_KEYS = ("m", "alpha", "beta", "eta", "fwhm_l", "fwhm_g")


@dataclass(frozen=True)
class Component:
    """One fit component: a species' peak in one region.

    Parameters
    ----------
    name
        Component label (``"C-C"``, ``"LiF"``).
    region
        Region key (``"C1s"``).
    species
        Chemical species it belongs to (for species %).
    formula
        Formula of the species (element ratios are checked across regions).
    atoms
        Atoms of the region's element per formula unit contributing to this peak.
    be, be_min, be_max
        Prior centre and allowed window (eV, charge-corrected scale).
    fwhm, fwhm_min, fwhm_max
        Starting FWHM and its range (eV).
    lineshape
        Name of a core lineshape (``gl``, ``sgl``, ``voigt``, ``la``, ``doniach_sunjic`` …).
    shape
        Fixed shape parameters of that lineshape (``{"m": 0.3}``).
    doublet
        ``(splitting_eV, ratio)`` for a spin–orbit doublet: a partner at ``be + splitting``
        with ``ratio`` × the main peak's area and the same FWHM; ``None`` for a singlet.
    cite
        Where the window comes from.
    """

    name: str
    region: str
    species: str = ""
    formula: str = ""
    atoms: float = 1.0
    be: float = math.nan
    be_min: float = -math.inf
    be_max: float = math.inf
    fwhm: float = 1.2
    fwhm_min: float = 0.3
    fwhm_max: float = 4.0
    lineshape: str = "gl"
    shape: dict[str, float] = field(default_factory=dict)
    doublet: tuple[float, float] | None = None
    cite: str = ""

    @property
    def key(self) -> str:
        """Registry key ``"<region>:<name>"``."""
        return f"{self.region}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description (infinite bounds as strings)."""
        out: dict[str, Any] = {}
        for k, v in vars(self).items():
            if isinstance(v, float) and math.isinf(v):
                v = "inf" if v > 0 else "-inf"
            out[k] = list(v) if isinstance(v, tuple) else v
        return out


def _from_entry(e: dict[str, Any], where: str) -> Component:
    try:
        shape = {k: float(e[k]) for k in _SHAPE_KEYS if k in e}
        comp = Component(
            name=str(e["name"]),
            region=str(e["region"]),
            species=str(e.get("species", e["name"])),
            formula=str(e.get("formula", "")),
            atoms=float(e.get("atoms", 1)),
            be=float(e["be"]),
            be_min=float(e.get("be_min", e["be"] - 0.5)),
            be_max=float(e.get("be_max", e["be"] + 0.5)),
            fwhm=float(e.get("fwhm", 0.5 * (e.get("fwhm_min", 0.8) + e.get("fwhm_max", 2.0)))),
            fwhm_min=float(e.get("fwhm_min", 0.3)),
            fwhm_max=float(e.get("fwhm_max", 4.0)),
            lineshape=str(e.get("lineshape", "gl")),
            shape=shape,
            doublet=tuple(float(v) for v in e["doublet"]) if "doublet" in e else None,
            cite=str(e.get("cite", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        name = e.get("name", "?")
        raise InputError(f"{where}: species entry {name!r} is invalid ({exc})") from None
    if not comp.be_min <= comp.be <= comp.be_max:
        raise InputError(
            f"{where}: {comp.key}: be {comp.be} is outside [{comp.be_min}, {comp.be_max}]"
        )
    get_lineshape(comp.lineshape)  # unknown shapes fail here, with close matches
    return comp


@lru_cache(maxsize=8)
def _load(path: str | None) -> tuple[Component, ...]:
    if path is None:
        text = resources.files("charact.xps").joinpath("data/species.toml").read_text("utf-8")
        where = "charact species library"
    else:
        text = Path(path).read_text("utf-8")
        where = path
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from None
    return tuple(_from_entry(e, where) for e in doc.get("species", []))


def load_species_library(path: str | PathLike[str] | None = None) -> list[Component]:
    """The species library: charact's own, or a user's TOML file in the same schema."""
    return list(_load(None if path is None else str(path)))


def _register() -> None:
    for comp in load_species_library():
        SPECIES.register(comp.key, comp, replace=True)


_register()


def region_components(region: str) -> list[Component]:
    """Library components of one region key (``"C1s"``), in library order."""
    want = region.lower()
    return [c for c in load_species_library() if c.region.lower() == want]


_ADHOC = re.compile(r"^\s*(?P<name>[^@]+?)\s*@\s*(?P<be>[-+]?\d+(?:\.\d*)?)\s*$")


def component(spec: str | Component, region: str) -> Component:
    """Resolve a component spec for ``region``.

    ``spec`` is a :class:`Component`, a library name (``"C-C"`` or ``"C1s:C-C"``, matched
    case-insensitively), or an ad-hoc ``"NAME@BE"`` (a GL(30) peak free within ±1 eV of BE,
    FWHM 0.5–3.5 eV).

    Raises
    ------
    InputError
        For a name that is not in the library, listing the region's components.
    """
    if isinstance(spec, Component):
        return spec
    m = _ADHOC.match(spec)
    if m:
        be = float(m.group("be"))
        name = m.group("name")
        return Component(
            name=name,
            region=region,
            species=name,
            be=be,
            be_min=be - 1.0,
            be_max=be + 1.0,
            fwhm=1.5,
            fwhm_min=0.5,
            fwhm_max=3.5,
            lineshape="gl",
            shape={"m": 0.3},
        )
    name = spec.split(":", 1)[1] if ":" in spec else spec
    for c in region_components(region):
        if c.name.lower() == name.strip().lower():
            return c
    known = ", ".join(c.name for c in region_components(region)) or "none"
    raise InputError(
        f"no component {spec!r} in the species library for region {region}; known: {known}",
        hint="give an ad-hoc component as NAME@BE (e.g. 'sp2@284.4')",
    )


def with_window(comp: Component, **changes: Any) -> Component:
    """A copy of ``comp`` with fields changed (e.g. a wider window)."""
    return replace(comp, **changes)


_FORMULA = re.compile(r"([A-Z][a-z]?)(\d*\.?\d*)")


def formula_counts(formula: str) -> dict[str, float]:
    """Atoms per formula unit: ``"Li2CO3"`` → ``{"Li": 2, "C": 1, "O": 3}``."""
    out: dict[str, float] = {}
    for el, n in _FORMULA.findall(formula):
        out[el] = out.get(el, 0.0) + (float(n) if n else 1.0)
    return out


@lru_cache(maxsize=4)
def _rsf_doc() -> dict[str, Any]:
    text = resources.files("charact.xps").joinpath("data/rsf.toml").read_text("utf-8")
    return tomllib.loads(text)


def rsf_sets() -> list[str]:
    """Names of the built-in RSF sets."""
    return sorted(_rsf_doc())


def load_rsf(name_or_path: str | PathLike[str] = "scofield") -> tuple[dict[str, float], str]:
    """An RSF set: ``{region key: factor}`` and its source text.

    ``name_or_path`` is a built-in set (``"scofield"``) or a TOML file with the same layout
    (a table with ``source = "..."`` and ``<region> = <factor>`` lines).

    Built-in sets: ``"scofield"`` (Scofield 1976 cross sections, Al Kα) and ``"thermo"``
    (Avantage's effective factors as a real Avantage quantification applies them: C 1s,
    O 1s, Na 1s only; see ``charact/xps/data/rsf.toml``). A set may prescribe corrections
    (:func:`rsf_corrections`).

    Raises
    ------
    InputError
        For an unknown set or a file that is not valid TOML.
    """
    factors, source, _ = _rsf_table(name_or_path)
    return factors, source


#: Keys of an RSF table that are corrections, not factors.
RSF_CORRECTION_KEYS = ("imfp_exponent", "transmission_exponent")


def rsf_corrections(name_or_path: str | PathLike[str] = "scofield") -> dict[str, float]:
    """The corrections an RSF set prescribes (``imfp_exponent``, ``transmission_exponent``).

    Sets whose factors already include the transmission and IMFP corrections (the
    ``thermo`` set: Avantage's effective factors) say so with both exponents 0; sets that
    prescribe nothing return ``{}`` and the quantification's defaults apply.
    """
    return _rsf_table(name_or_path)[2]


def _rsf_table(name_or_path) -> tuple[dict[str, float], str, dict[str, float]]:
    key = str(name_or_path)
    doc = _rsf_doc()
    if key.lower() in doc:
        table = doc[key.lower()]
    else:
        p = Path(key)
        if not p.is_file():
            raise InputError(
                f"unknown RSF set {key!r}; built-in: {', '.join(rsf_sets())}, or a TOML file path"
            )
        try:
            user = tomllib.loads(p.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{p}: not valid TOML ({exc})") from None
        tables = [v for v in user.values() if isinstance(v, dict)]
        table = tables[0] if tables else user
    source = str(table.get("source", key))
    try:
        factors = {
            k: float(v) for k, v in table.items() if k != "source" and k not in RSF_CORRECTION_KEYS
        }
        corrections = {k: float(table[k]) for k in RSF_CORRECTION_KEYS if k in table}
    except (TypeError, ValueError):
        raise InputError(f"RSF set {key!r}: every factor must be a number") from None
    return factors, source, corrections
