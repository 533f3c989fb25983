"""Synthetic Raman spectra of Si/C electrodes with exact, known band parameters.

Band positions and widths are typical of the literature for micro-Si/C anodes: c-Si TO phonon
at 520.5 cm^-1 (Lorentzian, FWHM ~4 cm^-1), the amorphous-Si TO band near 475 cm^-1 (Gaussian,
FWHM ~70 cm^-1), and the carbon D (~1350) and G (~1590 cm^-1) bands. The I_D/I_G height ratios
2.33 (pristine) and 1.5 (cycled) are those of the study our demo follows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..core.data import make_spectrum
from ..core.errors import InputError
from ..core.lineshapes import gaussian, lorentzian

__all__ = ["STATES", "RamanBand", "si_carbon_spectrum", "synthetic_spectrum"]


@dataclass(frozen=True)
class RamanBand:
    """One band of a generated spectrum, defined by its height (counts) and FWHM (cm^-1)."""

    name: str
    shape: str  # "lorentzian" or "gaussian"
    center: float
    fwhm: float
    height: float

    @property
    def area(self) -> float:
        """Integrated intensity (counts·cm^-1) from height and FWHM, analytic for both shapes."""
        if self.shape == "lorentzian":
            return self.height * math.pi * self.fwhm / 2.0
        return self.height * self.fwhm * math.sqrt(math.pi / (4.0 * math.log(2.0)))


def synthetic_spectrum(
    bands: list[RamanBand],
    *,
    raman_shift: np.ndarray | None = None,
    baseline: tuple[float, float] = (50.0, 0.02),
    noise: float = 5.0,
    seed: int | None = 0,
    laser_wavelength: float = 532.0,
) -> xr.DataArray:
    """Sum ``bands`` on a linear baseline with Gaussian noise of standard deviation ``noise``."""
    x = np.arange(100.0, 2000.0, 1.0) if raman_shift is None else np.asarray(raman_shift, float)
    y = baseline[0] + baseline[1] * (x - x[0])
    for b in bands:
        if b.shape == "lorentzian":
            y = y + lorentzian(x, b.area, b.center, b.fwhm)
        elif b.shape == "gaussian":
            y = y + gaussian(x, b.area, b.center, b.fwhm)
        else:
            raise InputError(
                f"band {b.name!r}: shape must be lorentzian or gaussian, got {b.shape!r}"
            )
    if seed is not None and noise > 0:
        y = y + np.random.default_rng(seed).normal(0.0, noise, x.size)
    return make_spectrum(
        x,
        y,
        axis="raman_shift",
        technique="raman",
        units="counts",
        metadata={
            "generator": "charact.raman.synthetic.synthetic_spectrum",
            "bands": [vars(b) for b in bands],
        },
        attrs={
            "laser_wavelength": laser_wavelength,
            "laser_wavelength_units": "nm",
            "laser_wavelength_source": "generator",
        },
    )


#: Ground truth of the demo's electrode states: band -> (height, center, fwhm, shape).
STATES: dict[str, list[RamanBand]] = {
    "pristine": [
        RamanBand("c-Si", "lorentzian", 520.5, 4.5, 1200.0),
        RamanBand("D", "lorentzian", 1350.0, 110.0, 233.0),
        RamanBand("G", "lorentzian", 1592.0, 65.0, 100.0),
    ],
    "cycled-100": [
        RamanBand("c-Si", "lorentzian", 518.5, 7.0, 300.0),
        RamanBand("a-Si", "gaussian", 475.0, 70.0, 180.0),
        RamanBand("D", "lorentzian", 1352.0, 120.0, 170.0),
        RamanBand("G", "lorentzian", 1595.0, 70.0, 100.0),
    ],
    "cycled-500": [
        RamanBand("a-Si", "gaussian", 472.0, 75.0, 260.0),
        RamanBand("D", "lorentzian", 1352.0, 125.0, 150.0),
        RamanBand("G", "lorentzian", 1596.0, 72.0, 100.0),
    ],
}


def si_carbon_spectrum(
    state: str, *, seed: int | None = 0, **kwargs: float
) -> tuple[xr.DataArray, list[RamanBand]]:
    """A spectrum of a Si/C electrode in one of :data:`STATES`, with its bands."""
    if state not in STATES:
        raise InputError(f"unknown state {state!r}; known: {', '.join(STATES)}")
    bands = STATES[state]
    return synthetic_spectrum(bands, seed=seed, **kwargs), bands
