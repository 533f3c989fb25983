"""Ionic conductivity of a film between blocking electrodes, and its Arrhenius plot.

σ = L / (R_b · S) with thickness L, area S and bulk resistance R_b. R_b is the real part where
the bulk arc meets the blocking-electrode spike: the minimum of −Im Z over the spectrum; when
the spectrum is a bare spike (no arc resolved), the first points of the spike are extrapolated
linearly to Im Z = 0.

Arrhenius: ln σ = ln σ0 − Ea / (k_B T) (``form="sigma"``), or ln(σT) = ln σ0 − Ea / (k_B T)
(``form="sigmaT"``, the form with a 1/T prefactor); Ea in eV from the slope of a least-squares
line, with its standard error. k_B = 8.617333262e-5 eV/K (CODATA 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ..core.errors import InputError
from ._meta import sample_quantity
from .eis import _spectrum

__all__ = [
    "K_B_EV",
    "ArrheniusResult",
    "ConductivityResult",
    "bulk_resistance",
    "fit_arrhenius",
    "quantify_conductivity",
]

K_B_EV = 8.617333262e-5


def bulk_resistance(data: Any, *, spectrum: int | None = None) -> tuple[float, str]:
    """R_b (Ohm) of a blocking-electrode spectrum and how it was found."""
    f, z, what = _spectrum(data, spectrum)
    cap = z.imag <= 0
    f, z = f[cap], z[cap]
    if f.size < 2:
        raise InputError(f"{what}: fewer than 2 capacitive points; cannot find R_b")
    mim = -z.imag
    k = int(np.argmin(mim))
    if 0 < k < f.size - 1:
        return float(z.real[k]), "real part at the minimum of -Im Z (arc/spike junction)"
    # bare spike: extrapolate the first (highest-frequency) points to -Im Z = 0
    n = min(5, f.size)
    _slope, icpt = np.polyfit(mim[:n], z.real[:n], 1)
    return float(icpt), f"spike extrapolated to Im Z = 0 from the {n} highest frequencies"


@dataclass
class ArrheniusResult:
    Ea_eV: float
    Ea_stderr: float
    sigma0: float
    sigma0_units: str
    form: str
    r2: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in self.__dict__.items()
        }


def fit_arrhenius(temperature_K: Any, sigma_S_cm: Any, *, form: str = "sigma") -> ArrheniusResult:
    """Activation energy from conductivities at several temperatures (module docstring).

    Raises
    ------
    InputError
        Fewer than 2 points, unequal lengths, non-positive σ or T.
    """
    t = np.asarray(temperature_K, float)
    s = np.asarray(sigma_S_cm, float)
    if t.shape != s.shape or t.ndim != 1:
        raise InputError("temperatures and conductivities must be 1-D of equal length")
    if t.size < 2:
        raise InputError(f"an Arrhenius fit needs at least 2 temperatures, got {t.size}")
    if np.any(~np.isfinite(t)) or np.any(~np.isfinite(s)) or np.any(s <= 0) or np.any(t <= 0):
        raise InputError("temperatures (K) and conductivities must be finite and > 0")
    if np.unique(t).size < 2:
        raise InputError("an Arrhenius fit needs at least 2 different temperatures")
    if form == "sigma":
        y, units = np.log(s), "S/cm"
    elif form == "sigmaT":
        y, units = np.log(s * t), "S*K/cm"
    else:
        raise InputError(f"form must be 'sigma' or 'sigmaT', got {form!r}")
    x = 1.0 / t
    lr = stats.linregress(x, y)
    se = float(lr.stderr) if t.size > 2 else math.nan
    return ArrheniusResult(
        Ea_eV=float(-lr.slope * K_B_EV),
        Ea_stderr=se * K_B_EV,
        sigma0=float(math.exp(lr.intercept)),
        sigma0_units=units,
        form=form,
        r2=float(lr.rvalue**2),
        n=int(t.size),
    )


@dataclass
class ConductivityResult:
    points: list[dict[str, Any]]
    thickness_um: float
    area_cm2: float
    arrhenius: ArrheniusResult | None
    flags: list[str] = field(default_factory=list)
    sources: dict[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "analysis": "echem.conductivity",
            "formula": "sigma = L / (R_b * S)",
            "thickness_um": self.thickness_um,
            "area_cm2": self.area_cm2,
            "points": self.points,
            "arrhenius": self.arrhenius.to_dict() if self.arrhenius else None,
            "sources": self.sources,
            "flags": self.flags,
        }


def quantify_conductivity(
    spectra: list[Any],
    *,
    thickness_um: float | None = None,
    area_cm2: float | None = None,
    temperatures_C: list[float] | None = None,
    form: str = "sigma",
) -> ConductivityResult:
    """σ = L/(R_b·S) for each spectrum, and an Arrhenius fit when temperatures are known.

    Parameters
    ----------
    spectra
        Impedance Datasets (or ``(frequency_Hz, Z)`` pairs) of a film between blocking
        electrodes.
    thickness_um, area_cm2
        Film thickness and area. Default: from the first spectrum's attrs (see
        :func:`charact.echem._meta.sample_quantity`; of the readers only EC-Lab's sets one,
        ``area_cm2`` from its header; other attrs are what the caller put there); an error
        when neither says.
    temperatures_C
        One per spectrum. Default: each spectrum's ``temperature_C`` (or ``temperature_K``)
        attr when every spectrum has one (no reader sets it); otherwise no Arrhenius fit.
    """
    first = spectra[0] if spectra else None
    thickness, t_src = sample_quantity(first, "thickness_um", thickness_um)
    area, a_src = sample_quantity(first, "area_cm2", area_cm2)
    missing = [n for n, v in (("thickness_um", thickness), ("area_cm2", area)) if v is None]
    if missing:
        raise InputError(
            f"{' and '.join(missing)} not given and not in the data's attrs; "
            "give --thickness-um/--area-cm2"
        )
    assert thickness is not None and area is not None
    temp_source = "option" if temperatures_C is not None else None
    if temperatures_C is None and spectra:
        found = [sample_quantity(sp, "temperature_C")[0] for sp in spectra]
        if all(t is not None for t in found):
            temperatures_C = [float(t) for t in found]  # type: ignore[arg-type]
            temp_source = "attrs"
    if temperatures_C is not None and len(temperatures_C) != len(spectra):
        raise InputError(
            f"{len(temperatures_C)} temperatures for {len(spectra)} spectra; give one per file"
        )
    points = []
    for k, sp in enumerate(spectra):
        r, how = bulk_resistance(sp)
        if not r > 0:
            raise InputError(f"spectrum {k}: bulk resistance {r:g} Ohm is not positive")
        sigma = (thickness * 1e-4) / (r * area)
        name = (
            sp.attrs.get("source_file", f"spectrum {k}")
            if hasattr(sp, "attrs")
            else f"spectrum {k}"
        )
        pt = {"file": name, "R_ohm": r, "sigma_S_cm": sigma, "method": how}
        if temperatures_C is not None:
            pt["T_K"] = float(temperatures_C[k]) + 273.15
        points.append(pt)
    arr = None
    if temperatures_C is not None and len(points) >= 2:
        arr = fit_arrhenius(
            [p["T_K"] for p in points], [p["sigma_S_cm"] for p in points], form=form
        )
    return ConductivityResult(
        points,
        float(thickness),
        float(area),
        arr,
        sources={"thickness_um": t_src, "area_cm2": a_src, "temperature_C": temp_source},
    )
