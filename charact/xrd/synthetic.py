"""Synthetic diffraction patterns with exact, known parameters (for tests, the demo, benchmarks).

Peak positions follow Bragg's law from the lattice parameters below; relative intensities are
the tabulated powder-pattern values of the cited reference cards. This is not a structure-factor
calculation (the XRD issue brings pymatgen's for that) — it is ground truth for generated data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..core.data import make_spectrum
from ..core.errors import InputError
from ..core.lineshapes import pseudo_voigt

__all__ = ["CUBIC_PHASES", "CU_KA1", "SyntheticPeak", "bragg_two_theta", "synthetic_pattern"]

#: Cu Kα1 wavelength in Å (Hölzer et al., Phys. Rev. A 56, 4554 (1997)).
CU_KA1 = 1.5405929

#: name -> (cubic lattice parameter a in Å, {hkl: relative intensity}).
#: Si: a from CODATA 2018 (5.431020511 Å at 22.5 °C); intensities ICDD PDF 00-027-1402.
#: Cu: a and intensities ICDD PDF 00-004-0836 (Swanson & Tatge, NBS Circular 539, 1953).
CUBIC_PHASES: dict[str, tuple[float, dict[tuple[int, int, int], float]]] = {
    "Si": (
        5.431020511,
        {
            (1, 1, 1): 100,
            (2, 2, 0): 55,
            (3, 1, 1): 30,
            (4, 0, 0): 6,
            (3, 3, 1): 11,
            (4, 2, 2): 12,
            (5, 1, 1): 6,
        },
    ),
    "Cu": (3.6150, {(1, 1, 1): 100, (2, 0, 0): 46, (2, 2, 0): 20, (3, 1, 1): 17, (2, 2, 2): 5}),
}


@dataclass(frozen=True)
class SyntheticPeak:
    """One generated reflection: its phase, hkl, position (deg 2θ) and area (counts·deg)."""

    phase: str
    hkl: tuple[int, int, int]
    d_spacing: float
    two_theta: float
    area: float


def bragg_two_theta(d_spacing: float | np.ndarray, wavelength: float) -> np.ndarray:
    """2θ in degrees of a reflection with spacing ``d_spacing`` (Å): λ = 2 d sin θ."""
    ratio = np.asarray(wavelength / (2.0 * np.asarray(d_spacing, dtype=float)))
    if np.any(ratio >= 1):
        raise InputError("a d-spacing is below λ/2: the reflection is not reachable")
    return np.degrees(2.0 * np.arcsin(ratio))


def synthetic_pattern(
    phases: Mapping[str, float],
    *,
    two_theta: np.ndarray | None = None,
    wavelength: float = CU_KA1,
    fwhm: float = 0.12,
    eta: float = 0.5,
    scale: float = 400.0,
    background: tuple[float, float] = (60.0, -0.3),
    amorphous_si: float = 0.0,
    seed: int | None = 0,
) -> tuple[xr.DataArray, list[SyntheticPeak]]:
    """Generate a powder pattern of cubic phases with pseudo-Voigt peaks and Poisson noise.

    Parameters
    ----------
    phases
        ``{name: weight}`` with names from :data:`CUBIC_PHASES`; weight 0 leaves a phase out.
    two_theta
        Angle grid in degrees (default 20–90° in 0.02° steps).
    wavelength
        Single wavelength in Å (a Kα1-only, monochromated pattern).
    fwhm, eta
        Peak FWHM (deg) and Lorentzian fraction of every peak.
    scale
        Area (counts·deg) of a weight-1 phase's strongest reflection.
    background
        ``(intercept, slope per degree)`` of a linear background in counts.
    amorphous_si
        Area of the broad amorphous-Si hump near 28° 2θ (FWHM 6°) that replaces sharp Si peaks
        when Si is amorphized by lithiation.
    seed
        Seed of the Poisson noise; ``None`` gives the noise-free expectation.

    Returns
    -------
    (xarray.DataArray, list of SyntheticPeak)
        The pattern and the exact peaks used to make it.
    """
    x = np.arange(20.0, 90.0 + 1e-9, 0.02) if two_theta is None else np.asarray(two_theta, float)
    expected = background[0] + background[1] * (x - x[0])
    peaks: list[SyntheticPeak] = []
    for name, weight in phases.items():
        if name not in CUBIC_PHASES:
            raise InputError(f"unknown synthetic phase {name!r}; known: {', '.join(CUBIC_PHASES)}")
        if weight <= 0:
            continue
        a, table = CUBIC_PHASES[name]
        for hkl, rel in table.items():
            d = a / np.sqrt(sum(i * i for i in hkl))
            if wavelength / (2 * d) >= 1:
                continue
            pos = float(bragg_two_theta(d, wavelength))
            if not (x.min() < pos < x.max()):
                continue
            area = scale * weight * rel / 100.0
            peaks.append(SyntheticPeak(name, hkl, float(d), pos, area))
            expected = expected + pseudo_voigt(x, area, pos, fwhm, eta)
    if amorphous_si > 0:
        expected = expected + pseudo_voigt(x, amorphous_si, 28.0, 6.0, 0.0)
    expected = np.clip(expected, 0, None)
    counts = (
        expected if seed is None else np.random.default_rng(seed).poisson(expected).astype(float)
    )
    da = make_spectrum(
        x,
        counts,
        axis="two_theta",
        technique="xrd",
        units="counts",
        metadata={"generator": "charact.xrd.synthetic.synthetic_pattern"},
        attrs={
            "wavelength": wavelength,
            "wavelength_units": "angstrom",
            "radiation_source": "generator",
        },
    )
    return da, sorted(peaks, key=lambda p: p.two_theta)
